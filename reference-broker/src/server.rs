//! The tokio driver: one task owns the [`Broker`] and the store; each network
//! connection is a pair of read/write loops feeding it. Any `AsyncRead +
//! AsyncWrite` stream works, so the same code serves `tokio::net` and
//! `turmoil::net`.
//!
//! Memory stays bounded: events into the broker go through a bounded channel
//! (readers wait when it is full), and each connection's outgoing queue holds
//! at most `OUTGOING_CAPACITY` packets — a client that stops reading while
//! more pile up is disconnected, as a network failure.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::broker::{Action, Broker, ConnId, Millis};
use crate::store::Store;

const EVENT_CAPACITY: usize = 1024;
const OUTGOING_CAPACITY: usize = 4096;
const READ_BUFFER: usize = 16 * 1024;
/// How long a shutdown waits for connections to write what they were left
/// with (5.0 DISCONNECT 0x8B) and close.
const SHUTDOWN_DRAIN: Duration = Duration::from_secs(2);
/// How long a connection the broker closed goes on reading (and dropping)
/// what its peer still sends, so that the reason it was sent reaches the
/// peer before a reset can.
const CLOSE_DRAIN: Duration = Duration::from_secs(1);
/// Pause after accept fails for lack of resources (file descriptors).
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

enum Event {
    Open(oneshot::Sender<(ConnId, mpsc::Receiver<Out>)>),
    Data(ConnId, Bytes),
    Closed(ConnId),
    Shutdown(oneshot::Sender<()>),
}

enum Out {
    Data(Bytes),
    Close,
}

/// A running broker. Cheap to clone; every clone feeds the same broker.
#[derive(Clone)]
pub struct BrokerHandle {
    events: mpsc::Sender<Event>,
    /// Each connection task holds a receiver, so `closed()` completes once
    /// every connection is done.
    connections: Arc<watch::Sender<()>>,
}

/// The broker's clock: `epoch_ms` plus the time since the driver started, on
/// tokio's clock (simulated under turmoil). The binary passes wall-clock
/// milliseconds as the epoch so stored deadlines survive a restart; a
/// simulation passes a fixed epoch.
#[derive(Clone, Copy, Debug)]
struct Clock {
    start: Instant,
    epoch_ms: Millis,
}

impl Clock {
    fn now(&self) -> Millis {
        self.epoch_ms + self.start.elapsed().as_millis() as Millis
    }

    fn instant(&self, at: Millis) -> Instant {
        self.start + Duration::from_millis(at.saturating_sub(self.epoch_ms))
    }
}

/// Starts the broker task on the current tokio runtime.
pub fn spawn(broker: Broker, store: Box<dyn Store>, epoch_ms: Millis) -> BrokerHandle {
    let (tx, rx) = mpsc::channel(EVENT_CAPACITY);
    let clock = Clock {
        start: Instant::now(),
        epoch_ms,
    };
    tokio::spawn(async move {
        if let Err(e) = run(broker, store, rx, clock).await {
            tracing::error!(error = %e, "broker stopped: cannot persist state");
        }
    });
    BrokerHandle {
        events: tx,
        connections: Arc::new(watch::channel(()).0),
    }
}

impl BrokerHandle {
    /// Serves one accepted connection until it closes.
    pub fn serve<S>(&self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let events = self.events.clone();
        let alive = self.connections.subscribe();
        tokio::spawn(async move {
            let _alive = alive;
            let (reply, opened) = oneshot::channel();
            if events.send(Event::Open(reply)).await.is_err() {
                return;
            }
            let Ok((id, outgoing)) = opened.await else {
                return;
            };
            connection(stream, id, events, outgoing).await;
        });
    }

    /// Closes every connection (5.0 clients get DISCONNECT 0x8B) and stops
    /// the broker; returns once state is persisted and the connections have
    /// written what they were left with and closed (or `SHUTDOWN_DRAIN` has
    /// passed: a client that does not read does not hold up the shutdown).
    pub async fn shutdown(&self) {
        let (done, finished) = oneshot::channel();
        if self.events.send(Event::Shutdown(done)).await.is_ok() {
            let _ = finished.await;
        }
        let _ = tokio::time::timeout(SHUTDOWN_DRAIN, self.connections.closed()).await;
    }
}

/// Accepts connections from a tokio listener until the broker stops (which,
/// short of `shutdown`, only a store failure does). A failure to accept one
/// connection — the peer already gone, or no file descriptor left — is
/// logged and accepting goes on: it must not bring the broker down.
pub async fn serve_listener(
    listener: tokio::net::TcpListener,
    handle: BrokerHandle,
) -> io::Result<()> {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = handle.events.closed() => return Ok(()),
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                tracing::debug!(%peer, "accepted");
                handle.serve(stream);
            }
            Err(e) if is_connection_error(&e) => {
                tracing::debug!(error = %e, "connection failed before accept");
            }
            Err(e) => {
                // Out of file descriptors or memory: the pending connections
                // wait in the backlog until some close.
                tracing::warn!(error = %e, "cannot accept connections; retrying");
                tokio::time::sleep(ACCEPT_RETRY).await;
            }
        }
    }
}

/// Errors that concern only the connection being accepted.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

async fn run(
    mut broker: Broker,
    mut store: Box<dyn Store>,
    mut events: mpsc::Receiver<Event>,
    clock: Clock,
) -> io::Result<()> {
    let mut outgoing: BTreeMap<ConnId, mpsc::Sender<Out>> = BTreeMap::new();
    let mut shutdown_done = None;
    loop {
        let event = match broker.poll_timeout() {
            Some(at) => tokio::select! {
                e = events.recv() => e,
                _ = tokio::time::sleep_until(clock.instant(at)) => None,
            },
            None => events.recv().await,
        };
        let now = clock.now();
        match event {
            None if events.is_closed() => {
                broker.handle_shutdown(now);
            }
            None => broker.handle_timeout(now),
            Some(Event::Open(reply)) => {
                let id = broker.handle_open(now);
                let (tx, rx) = mpsc::channel(OUTGOING_CAPACITY);
                if reply.send((id, rx)).is_ok() {
                    outgoing.insert(id, tx);
                } else {
                    broker.handle_close(id, now);
                }
            }
            Some(Event::Data(id, data)) => broker.handle_data(id, &data, now),
            Some(Event::Closed(id)) => {
                outgoing.remove(&id);
                broker.handle_close(id, now);
            }
            Some(Event::Shutdown(done)) => {
                broker.handle_shutdown(now);
                shutdown_done = Some(done);
            }
        }
        // Persist first: nothing is acknowledged before it is stored.
        let changes = broker.take_changes();
        if !changes.is_empty() {
            store.apply(&changes)?;
        }
        while let Some(action) = broker.poll_action() {
            match action {
                Action::Send { conn, data } => {
                    let Some(tx) = outgoing.get(&conn) else {
                        continue;
                    };
                    if tx.try_send(Out::Data(data)).is_err() {
                        tracing::warn!(?conn, "client not reading; disconnecting");
                        outgoing.remove(&conn);
                        broker.handle_close(conn, now);
                    }
                }
                Action::Close { conn } => {
                    if let Some(tx) = outgoing.remove(&conn) {
                        let _ = tx.try_send(Out::Close);
                    }
                }
            }
        }
        // A close for a slow client may have changed state: persist that too.
        let changes = broker.take_changes();
        if !changes.is_empty() {
            store.apply(&changes)?;
        }
        if let Some(done) = shutdown_done.take() {
            let _ = done.send(());
            return Ok(());
        }
        if events.is_closed() && outgoing.is_empty() {
            return Ok(());
        }
    }
}

async fn connection<S>(
    stream: S,
    id: ConnId,
    events: mpsc::Sender<Event>,
    mut outgoing: mpsc::Receiver<Out>,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let reader = async {
        let mut buf = vec![0u8; READ_BUFFER];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let data = Bytes::copy_from_slice(&buf[..n]);
                    if events.send(Event::Data(id, data)).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    // True when the broker asked for the close.
    let writer = async {
        while let Some(out) = outgoing.recv().await {
            match out {
                Out::Data(b) => {
                    if wr.write_all(&b).await.is_err() {
                        return false;
                    }
                }
                Out::Close => {
                    let _ = wr.flush().await;
                    let _ = wr.shutdown().await;
                    return true;
                }
            }
        }
        // The broker dropped this connection's queue: it already knows.
        true
    };
    let broker_closed = tokio::select! {
        _ = reader => false,
        closed = writer => closed,
    };
    if !broker_closed {
        let _ = events.send(Event::Closed(id)).await;
        return;
    }
    // The write side is shut (FIN) after the DISCONNECT or refusing CONNACK.
    // Closing a socket with input still unread sends a reset, which can
    // overtake those bytes: the peer would read ECONNRESET, not the reason.
    // So read and drop what still comes, until the peer closes too or a
    // moment has passed.
    let mut buf = vec![0u8; READ_BUFFER];
    let _ = tokio::time::timeout(CLOSE_DRAIN, async {
        while let Ok(n) = rd.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}
