//! Taps on both ends of every simulated connection, so the world can tell
//! what the network did with each packet ([`super::fate`] reads them).
//!
//! turmoil says nothing about the segments it drops: a cut (`partition`)
//! empties the link silently. What each end wrote and read says it
//! instead: TCP delivers a prefix of what was sent, in order, so the bytes
//! one end wrote that the other never read are exactly what was lost.
//! A tap wraps a stream and records, with the simulated time, every byte
//! written, how many bytes had been read by each read, and when the
//! stream was dropped; the world records when it cut, healed, stalled and
//! released each link. The broker's crate knows nothing of this: the world
//! wraps the streams its listener accepts before handing them over.
//!
//! Cheap by design (a copy of each write and one entry per read, under an
//! uncontended lock); nothing is decoded until the world is asked.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::client_host;
use super::triggers::Watch;
use crate::net::tripwire::Tripwires;

/// Which end of a connection a tap sits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Broker,
}

/// What one end of one connection did.
#[derive(Debug)]
pub(crate) struct End {
    pub side: Side,
    /// The client's socket address: the same at both ends, so it pairs
    /// them (turmoil hands out a host's ports in turn, never one in use).
    pub client_addr: SocketAddr,
    /// The client it belongs to (its host's name, as the scenario or
    /// workload names it).
    pub client: String,
    /// Everything written, in order.
    pub written: Vec<u8>,
    /// When each write ended, and how many bytes had been written by then.
    pub writes: Vec<(u64, usize)>,
    /// When each read ended, and how many bytes had been read by then.
    pub reads: Vec<(u64, usize)>,
    pub read_total: usize,
    /// When the stream was dropped (closed, or its host crashed).
    pub closed_ms: Option<u64>,
}

/// What the world did to a client's link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkChange {
    /// Partitioned: segments in flight and sent from now on are dropped.
    Cut,
    Heal,
    /// Held: segments wait until released.
    Hold,
    Release,
}

/// Every end tapped in one world, and what happened to the links.
#[derive(Debug, Default)]
pub(crate) struct Taps {
    /// The world's time at its last step, for a stream dropped outside any
    /// host (a crash).
    pub now_ms: u64,
    pub ends: Vec<End>,
    /// (when, client, what), in the order they happened.
    pub links: Vec<(u64, String, LinkChange)>,
}

pub(crate) type SharedTaps = Arc<Mutex<Taps>>;

thread_local! {
    /// The taps of the world stepping on this thread: the clients' software
    /// reaches them through here (a `Connector` does not know its world).
    static CURRENT: RefCell<Option<SharedTaps>> = const { RefCell::new(None) };
}

/// Makes `taps` the ones streams opened on this thread from now on go to.
pub(crate) fn install(taps: &SharedTaps) {
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        if !c.as_ref().is_some_and(|t| Arc::ptr_eq(t, taps)) {
            *c = Some(taps.clone());
        }
    });
}

/// Forgets `taps` if they are the current ones (their world is gone).
pub(crate) fn uninstall(taps: &SharedTaps) {
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        if c.as_ref().is_some_and(|t| Arc::ptr_eq(t, taps)) {
            *c = None;
        }
    });
}

pub(crate) fn lock(taps: &SharedTaps) -> std::sync::MutexGuard<'_, Taps> {
    // A panic while holding the lock leaves nothing half-written that
    // matters: the log is evidence, not state.
    taps.lock().unwrap_or_else(|e| e.into_inner())
}

fn now(taps: &Taps) -> u64 {
    turmoil::sim_elapsed().map_or(taps.now_ms, |d| d.as_millis() as u64)
}

/// The client a simulated address belongs to, by its host's name.
fn client_of(addr: SocketAddr) -> String {
    let host = turmoil::reverse_lookup(addr.ip()).unwrap_or_else(|| addr.ip().to_string());
    let prefix = client_host("");
    host.strip_prefix(&prefix).unwrap_or(&host).to_owned()
}

/// A stream whose traffic is recorded in its world's taps.
pub(crate) struct Tap<S> {
    inner: S,
    taps: SharedTaps,
    end: usize,
    /// The broker's end, when packet triggers are armed: what it reads is
    /// framed for them too.
    watch: Option<Watch>,
}

impl<S> Tap<S> {
    fn new(inner: S, taps: SharedTaps, side: Side, client_addr: SocketAddr) -> Tap<S> {
        let client = client_of(client_addr);
        let end = {
            let mut t = lock(&taps);
            t.ends.push(End {
                side,
                client_addr,
                client,
                written: Vec::new(),
                writes: Vec::new(),
                reads: Vec::new(),
                read_total: 0,
                closed_ms: None,
            });
            t.ends.len() - 1
        };
        Tap {
            inner,
            taps,
            end,
            watch: None,
        }
    }
}

/// The broker's end of an accepted connection from `peer`, tapped; what
/// it reads also goes to `tripwires`, if packet triggers are armed.
pub(crate) fn broker_end<S>(
    taps: &SharedTaps,
    stream: S,
    peer: SocketAddr,
    tripwires: Option<Tripwires>,
) -> Tap<S> {
    let mut tap = Tap::new(stream, taps.clone(), Side::Broker, peer);
    tap.watch = tripwires.map(|t| Watch::new(client_of(peer), t));
    tap
}

/// A client's end of a new connection, tapped if a world is stepping on
/// this thread (always, in simulation).
pub(crate) fn client_end(stream: turmoil::net::TcpStream) -> Box<dyn crate::net::client::Stream> {
    let taps = CURRENT.with(|c| c.borrow().clone());
    match (taps, stream.local_addr()) {
        (Some(taps), Ok(addr)) => Box::new(Tap::new(stream, taps, Side::Client, addr)),
        _ => Box::new(stream),
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            let this = &mut *self;
            let at = {
                let mut t = lock(&this.taps);
                let at = now(&t);
                let end = &mut t.ends[this.end];
                end.read_total += n;
                let total = end.read_total;
                end.reads.push((at, total));
                at
            };
            // Outside the lock: a fault it triggers notes itself there.
            if let Some(w) = this.watch.as_mut() {
                w.read(&buf.filled()[before..], at);
            }
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            if n > 0 {
                let mut t = lock(&self.taps);
                let at = now(&t);
                let end = &mut t.ends[self.end];
                end.written.extend_from_slice(&buf[..n]);
                let total = end.written.len();
                end.writes.push((at, total));
            }
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S> Drop for Tap<S> {
    fn drop(&mut self) {
        let mut t = lock(&self.taps);
        let at = now(&t);
        t.ends[self.end].closed_ms.get_or_insert(at);
    }
}

/// Notes that `client`'s link changed now, from inside the simulation (a
/// fault a packet triggered): the world's own changes go through
/// `World::link`.
pub fn link_changed(client: &str, change: LinkChange) {
    if let Some(taps) = CURRENT.with(|c| c.borrow().clone()) {
        let mut t = lock(&taps);
        let at = now(&t);
        t.links.push((at, client.to_owned(), change));
    }
}
