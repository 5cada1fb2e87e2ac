//! The simulated broker's side of a connection, watched for packet
//! triggers: every packet a client sent is reported the moment the broker
//! reads it, so a fault "after p1 sends a PUBREL" falls once the broker has
//! the PUBREL and before its answer leaves (what the fault proxy does in
//! front of a real broker). Bytes pass untouched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use protocol::Version;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::net::splitter::Splitter;
use crate::net::tripwire::{LinkFault, Tripwires};

/// A connection the broker serves, with the client it comes from.
pub struct Tapped<S> {
    inner: S,
    client: String,
    splitter: Splitter,
    version: Version,
    tripwires: Tripwires,
}

impl<S> Tapped<S> {
    pub fn new(inner: S, client: String, tripwires: Tripwires) -> Tapped<S> {
        Tapped {
            inner,
            client,
            splitter: Splitter::default(),
            version: Version::V5,
            tripwires,
        }
    }
}

/// Applies a triggered link fault from inside the simulation, at once
/// (and notes it in the network's log, which tells from it what the fault
/// did to each packet).
pub fn apply(fault: &LinkFault) {
    use super::netlog::{link_changed, LinkChange};
    match fault {
        LinkFault::Cut(c) => {
            turmoil::partition(
                crate::net::client::BROKER_HOST,
                super::client_host(c).as_str(),
            );
            link_changed(c, LinkChange::Cut);
        }
        LinkFault::Stall(c) => {
            turmoil::hold(
                crate::net::client::BROKER_HOST,
                super::client_host(c).as_str(),
            );
            link_changed(c, LinkChange::Hold);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tapped<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            let this = &mut *self;
            for frame in this.splitter.push(&buf.filled()[before..]) {
                if frame.packet == Some(protocol::PacketType::Connect) {
                    // The protocol level: the eighth byte of a CONNECT
                    // whose Remaining Length takes one or two bytes.
                    let level = frame.bytes.iter().skip(2).nth(6).copied();
                    this.version = if level == Some(4) {
                        Version::V311
                    } else {
                        Version::V5
                    };
                }
                let now = turmoil::sim_elapsed().map_or(0, |d| d.as_millis() as u64);
                let version = this.version;
                let arrival = this
                    .tripwires
                    .arrived(&this.client, true, frame.packet, now, || {
                        frame.label(version)
                    });
                for f in &arrival.link {
                    apply(f);
                }
            }
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tapped<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
