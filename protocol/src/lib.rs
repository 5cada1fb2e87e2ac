//! A strict MQTT 3.1.1 and 5.0 codec for conformance testing.
//!
//! - [`Decoder`] reads packets and refuses every malformed one with a
//!   [`DecodeError`] that names the rule it breaks ([`Rule`]).
//! - [`encode`] writes valid packets; [`raw::RawPacket`] writes anything at all.
//! - [`topic`] validates topic names and filters and matches them.

pub mod decode;
pub mod encode;
pub mod error;
pub mod malformed;
pub mod packet;
pub mod properties;
pub mod raw;
pub mod reason;
pub mod template;
pub mod topic;
pub mod types;
mod wire;

pub use decode::{decode_exact, read_fixed_header, Decoder, FixedHeader, MAX_PACKET_SIZE};
pub use encode::{encode, encode_to_vec};
pub use error::{DecodeError, EncodeError, ErrorKind, Rule};
pub use packet::*;
pub use properties::{Properties, PropertyContext, PropertyId, PropertyValues};
pub use reason::ReasonCode;
pub use types::{PacketType, QoS, Version};
pub use wire::VARINT_MAX;
