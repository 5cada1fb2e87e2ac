//! MQTT over a byte stream, for every world: the scripted client
//! ([`client`]), packets framed over a stream ([`framed`]), the wire
//! monitor every client's connections go through ([`monitor`]), TLS to a
//! real broker ([`tls`]), and what the simulator and the fault proxy
//! share: the loss model ([`loss`]), packets cut out of a byte stream
//! ([`splitter`]) and faults that fall on a packet ([`tripwire`]).
//!
//! It knows the codec and the trace it writes to; it must not know scenarios
//! or verdicts.

pub mod client;
pub mod framed;
pub mod loss;
pub mod monitor;
pub mod splitter;
pub mod tls;
pub mod tripwire;
