//! The simulated broker's side of a connection, watched for packet
//! triggers: every packet a client sent is reported the moment the broker
//! reads it, so a fault "after p1 sends a PUBREL" falls once the broker has
//! the PUBREL and before its answer leaves (what the fault proxy does in
//! front of a real broker). The broker's tap in [`super::netlog`], which
//! sees every byte it reads, hands them over; bytes pass untouched.

use protocol::Version;

use crate::net::splitter::Splitter;
use crate::net::tripwire::{LinkFault, Tripwires};

/// What the broker reads on one connection, framed for packet triggers:
/// the broker's tap ([`super::netlog`]) hands it every byte it reads.
pub(crate) struct Watch {
    client: String,
    splitter: Splitter,
    version: Version,
    tripwires: Tripwires,
}

impl Watch {
    pub(crate) fn new(client: String, tripwires: Tripwires) -> Watch {
        Watch {
            client,
            splitter: Splitter::default(),
            version: Version::V5,
            tripwires,
        }
    }

    /// Bytes the broker just read at `now`: each packet they complete is
    /// reported, and a link fault it triggers is applied before the
    /// broker can answer it.
    pub(crate) fn read(&mut self, bytes: &[u8], now: u64) {
        for frame in self.splitter.push(bytes) {
            if frame.packet == Some(protocol::PacketType::Connect) {
                // The protocol level: the eighth byte of a CONNECT whose
                // Remaining Length takes one or two bytes.
                let level = frame.bytes.iter().skip(2).nth(6).copied();
                self.version = if level == Some(4) {
                    Version::V311
                } else {
                    Version::V5
                };
            }
            let version = self.version;
            let arrival = self
                .tripwires
                .arrived(&self.client, true, frame.packet, now, || {
                    frame.label(version)
                });
            for f in &arrival.link {
                apply(f);
            }
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
