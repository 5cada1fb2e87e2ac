//! A fault-injecting TCP proxy: put between one client and a real broker, it
//! forwards bytes both ways and, on command, delays them (latency and
//! jitter), holds them (stall/resume), drops them silently (cut — both ends
//! see a live but mute connection; a direction that lost bytes stays mute
//! after the heal, since a stream cannot skip a gap: as in the simulator,
//! only keep alive ends it), resets the connection (RST to both ends), or
//! limits bandwidth. Order within a connection is always kept, as
//! TCP keeps it. Jitter comes from a seed, so the schedule is reproducible
//! even if the real network's timing is not.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::net::loss::SplitMix64;

/// The faults in force on a proxy's connections.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Per-chunk delay, picked uniformly in `[min, max]`.
    pub latency: (Duration, Duration),
    pub stalled: bool,
    pub cut: bool,
    /// Bytes per second in each direction; `None` is unlimited.
    pub bandwidth: Option<u64>,
}

struct Shared {
    faults: watch::Sender<Faults>,
    /// Bumped by `reset`: every connection opened before it is reset.
    resets: watch::Sender<u64>,
    rng: Mutex<SplitMix64>,
}

/// Controls a running proxy. Dropping it stops accepting new connections;
/// connections already open go on.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Proxy {
    /// Listens on a free loopback port and forwards each connection to
    /// `upstream`.
    pub async fn start(upstream: SocketAddr, seed: u64) -> io::Result<Proxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            faults: watch::Sender::new(Faults::default()),
            resets: watch::Sender::new(0),
            rng: Mutex::new(SplitMix64::new(seed)),
        });
        let accept_shared = shared.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    // Out of descriptors or similar: try again shortly.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let shared = accept_shared.clone();
                tokio::spawn(async move {
                    match TcpStream::connect(upstream).await {
                        Ok(server) => serve(client, server, shared).await,
                        Err(e) => {
                            tracing::debug!(error = %e, "proxy: upstream refused; resetting the client");
                            let _ =
                                socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO));
                        }
                    }
                });
            }
        });
        Ok(Proxy {
            addr,
            shared,
            accept,
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn faults(&self) -> Faults {
        self.shared.faults.borrow().clone()
    }

    fn update(&self, f: impl FnOnce(&mut Faults)) {
        self.shared.faults.send_modify(f);
    }

    pub fn set_latency(&self, min: Duration, max: Duration) {
        self.update(|f| f.latency = (min, max.max(min)));
    }

    pub fn stall(&self) {
        self.update(|f| f.stalled = true);
    }

    pub fn resume(&self) {
        self.update(|f| f.stalled = false);
    }

    /// Bytes in flight and from now on are dropped silently, both ways; a
    /// direction of a connection that lost bytes drops everything after
    /// too, healed or not (new connections after the heal pass).
    pub fn cut(&self) {
        self.update(|f| f.cut = true);
    }

    pub fn heal(&self) {
        self.update(|f| f.cut = false);
    }

    pub fn set_bandwidth(&self, bytes_per_second: Option<u64>) {
        self.update(|f| f.bandwidth = bytes_per_second.filter(|&b| b > 0));
    }

    /// Every open connection is reset (RST to the client and the broker).
    pub fn reset(&self) {
        self.shared.resets.send_modify(|n| *n += 1);
    }
}

/// One client connection: two one-way pipes. An end that closes is passed
/// on as a close (FIN); a reset resets both ends (RST), never a FIN first.
async fn serve(client: TcpStream, server: TcpStream, shared: Arc<Shared>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_rd, client_wr) = client.into_split();
    let (server_rd, server_wr) = server.into_split();
    let (up, down) = tokio::join!(
        pipe(client_rd, server_wr, shared.clone()),
        pipe(server_rd, client_wr, shared)
    );
    if up.reset || down.reset {
        for end in [&up, &down] {
            // Linger 0: the close that follows sends RST instead of FIN.
            let _ = socket2::SockRef::from(AsRef::<TcpStream>::as_ref(&end.from))
                .set_linger(Some(Duration::ZERO));
        }
        for end in [up, down] {
            if let Some(wr) = end.to {
                // Dropping a write half would shut it down (FIN) first.
                wr.forget();
            }
        }
    }
}

struct PipeEnd {
    from: OwnedReadHalf,
    to: Option<OwnedWriteHalf>,
    reset: bool,
}

/// Forwards `from` to `to` with the faults in force, until the source ends
/// (then the close is passed on) or a reset.
async fn pipe(mut from: OwnedReadHalf, to: OwnedWriteHalf, shared: Arc<Shared>) -> PipeEnd {
    let mut faults = shared.faults.subscribe();
    let mut resets = shared.resets.subscribe();
    resets.mark_unchanged();
    // Chunks with the time they may be delivered, in order; `None` asks the
    // writer to stop and hand the write half back.
    let (tx, rx) = mpsc::unbounded_channel::<Option<(Bytes, Instant)>>();
    // This direction lost bytes to a cut: nothing after them can pass.
    let gap = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn(write_loop(to, rx, shared.clone(), gap.clone()));
    let mut buf = vec![0u8; 16 * 1024];
    let mut last_at = Instant::now();
    let reset = loop {
        tokio::select! {
            r = from.read(&mut buf) => match r {
                Ok(0) | Err(_) => break false,
                Ok(n) => {
                    let f = faults.borrow_and_update().clone();
                    if f.cut || gap.load(Ordering::Relaxed) {
                        gap.store(true, Ordering::Relaxed);
                        continue;
                    }
                    let delay = pick_delay(&shared, f.latency);
                    // Never before an earlier chunk: TCP keeps order.
                    let at = (Instant::now() + delay).max(last_at);
                    last_at = at;
                    let _ = tx.send(Some((Bytes::copy_from_slice(&buf[..n]), at)));
                }
            },
            _ = resets.changed() => break true,
        }
    };
    let _ = tx.send(None);
    let to = writer.await.ok().map(|(to, _)| to);
    let mut to = to;
    if !reset {
        // The source closed: pass the close on.
        if let Some(w) = to.as_mut() {
            let _ = w.shutdown().await;
        }
    }
    PipeEnd { from, to, reset }
}

fn pick_delay(shared: &Shared, (min, max): (Duration, Duration)) -> Duration {
    let span = max.saturating_sub(min).as_micros() as u64;
    if span == 0 {
        return min;
    }
    let mut rng = shared.rng.lock().unwrap_or_else(|e| e.into_inner());
    min + Duration::from_micros(rng.next_u64() % (span + 1))
}

/// Delivers chunks at their time, holding them while stalled and dropping
/// them while cut (and after, once this direction has a gap). Stops at `None` (or a reset) and returns the write half.
async fn write_loop(
    mut to: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Option<(Bytes, Instant)>>,
    shared: Arc<Shared>,
    gap: Arc<AtomicBool>,
) -> (OwnedWriteHalf, ()) {
    let mut faults = shared.faults.subscribe();
    let mut resets = shared.resets.subscribe();
    resets.mark_unchanged();
    while let Some(Some((chunk, at))) = rx.recv().await {
        let deliver = async {
            tokio::time::sleep_until(at).await;
            loop {
                if !faults.borrow_and_update().stalled {
                    break;
                }
                if faults.changed().await.is_err() {
                    break;
                }
            }
        };
        tokio::select! {
            () = deliver => {}
            _ = resets.changed() => return (to, ()),
        }
        let f = faults.borrow().clone();
        if f.cut || gap.load(Ordering::Relaxed) {
            gap.store(true, Ordering::Relaxed);
            continue;
        }
        let written = match f.bandwidth {
            None => to.write_all(&chunk).await,
            // Each slice waits for the time the link needs to carry it.
            Some(rate) => {
                let slice = (rate / 10).clamp(1, 16 * 1024) as usize;
                let mut result = Ok(());
                for part in chunk.chunks(slice) {
                    let micros = part.len() as u64 * 1_000_000 / rate;
                    tokio::time::sleep(Duration::from_micros(micros)).await;
                    result = to.write_all(part).await;
                    if result.is_err() {
                        break;
                    }
                }
                result
            }
        };
        if written.is_err() {
            break;
        }
    }
    (to, ())
}
