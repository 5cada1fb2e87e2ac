//! A builder for any bytes at all: wrong flags, wrong lengths, bad strings,
//! packets a state machine would refuse. Conformance scenarios need to send
//! what a correct encoder never would.
//!
//! ```
//! use protocol::raw::RawPacket;
//! // A SUBSCRIBE with reserved flags 0000 instead of 0010.
//! let bytes = RawPacket::new(8, 0).u16(1).string("a/b").u8(1).build();
//! assert_eq!(&bytes[..2], &[0x80, 8]);
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use crate::encode::encode;
use crate::error::EncodeError;
use crate::packet::Packet;
use crate::types::Version;
use crate::wire::put_varint;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Length {
    /// The body's real length, minimally encoded.
    Auto,
    /// A declared value, minimally encoded, whatever the body holds.
    Declared(u32),
    /// These exact bytes (non-minimal, over-long, truncated...).
    Bytes(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawPacket {
    first: u8,
    length: Length,
    body: BytesMut,
}

impl RawPacket {
    /// A packet of type `packet_type` (0..=15) with fixed-header `flags` (0..=15).
    pub fn new(packet_type: u8, flags: u8) -> RawPacket {
        RawPacket::first_byte((packet_type << 4) | (flags & 0x0F))
    }

    /// A packet whose first byte is exactly `b`.
    pub fn first_byte(b: u8) -> RawPacket {
        RawPacket {
            first: b,
            length: Length::Auto,
            body: BytesMut::new(),
        }
    }

    /// Starts from a valid packet, to change one thing about it.
    pub fn from_packet(packet: &Packet, version: Version) -> Result<RawPacket, EncodeError> {
        let mut out = BytesMut::new();
        encode(packet, version, &mut out)?;
        let first = out[0];
        let mut len_bytes = 1;
        while out[len_bytes] & 0x80 != 0 {
            len_bytes += 1;
        }
        Ok(RawPacket {
            first,
            length: Length::Auto,
            body: out.split_off(1 + len_bytes),
        })
    }

    /// Replaces the low nibble of the first byte.
    pub fn flags(mut self, flags: u8) -> RawPacket {
        self.first = (self.first & 0xF0) | (flags & 0x0F);
        self
    }

    /// Declares a Remaining Length other than the body's.
    pub fn remaining_length(mut self, n: u32) -> RawPacket {
        self.length = Length::Declared(n);
        self
    }

    /// Writes these bytes where the Remaining Length goes.
    pub fn remaining_length_bytes(mut self, bytes: &[u8]) -> RawPacket {
        self.length = Length::Bytes(bytes.to_vec());
        self
    }

    pub fn u8(mut self, v: u8) -> RawPacket {
        self.body.put_u8(v);
        self
    }

    pub fn u16(mut self, v: u16) -> RawPacket {
        self.body.put_u16(v);
        self
    }

    pub fn u32(mut self, v: u32) -> RawPacket {
        self.body.put_u32(v);
        self
    }

    /// A Variable Byte Integer, minimally encoded (values above 2^28-1 are
    /// written with as many groups as they need, which no decoder accepts).
    pub fn varint(mut self, v: u32) -> RawPacket {
        put_varint(&mut self.body, v);
        self
    }

    /// Bytes with no length prefix.
    pub fn bytes(mut self, b: &[u8]) -> RawPacket {
        self.body.put_slice(b);
        self
    }

    /// A length-prefixed string (its length truncated to 16 bits).
    pub fn string(self, s: &str) -> RawPacket {
        self.binary(s.as_bytes())
    }

    /// A length-prefixed field of any bytes, such as invalid UTF-8.
    pub fn binary(mut self, b: &[u8]) -> RawPacket {
        self.body.put_u16(b.len() as u16);
        self.body.put_slice(b);
        self
    }

    /// A length prefix that disagrees with the bytes that follow it.
    pub fn binary_with_length(mut self, declared: u16, b: &[u8]) -> RawPacket {
        self.body.put_u16(declared);
        self.body.put_slice(b);
        self
    }

    /// Drops the last `n` bytes of the body.
    pub fn truncate(mut self, n: usize) -> RawPacket {
        let keep = self.body.len().saturating_sub(n);
        self.body.truncate(keep);
        self
    }

    pub fn build(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.body.len() + 5);
        out.put_u8(self.first);
        match &self.length {
            Length::Auto => put_varint(&mut out, self.body.len() as u32),
            Length::Declared(n) => put_varint(&mut out, *n),
            Length::Bytes(b) => out.put_slice(b),
        }
        out.put_slice(&self.body);
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::Ack;

    #[test]
    fn writes_exactly_what_it_is_told() {
        let b = RawPacket::new(3, 0b0110)
            .string("a")
            .u16(1)
            .bytes(b"xy")
            .build();
        assert_eq!(&b[..], &[0x36, 7, 0, 1, b'a', 0, 1, b'x', b'y']);
    }

    #[test]
    fn lengths_can_lie() {
        let b = RawPacket::new(12, 0).remaining_length(5).build();
        assert_eq!(&b[..], &[0xC0, 5]);
        let b = RawPacket::new(12, 0)
            .remaining_length_bytes(&[0x80, 0x80, 0x80, 0x80, 0x01])
            .build();
        assert_eq!(&b[..], &[0xC0, 0x80, 0x80, 0x80, 0x80, 0x01]);
        let b = RawPacket::new(3, 0).binary_with_length(9, b"ab").build();
        assert_eq!(&b[..], &[0x30, 4, 0, 9, b'a', b'b']);
    }

    #[test]
    fn starts_from_a_valid_packet() {
        let ack = Packet::PubRel(Ack::new(300));
        let good = RawPacket::from_packet(&ack, Version::V311).unwrap().build();
        assert_eq!(&good[..], &[0x62, 2, 1, 44]);
        let bad = RawPacket::from_packet(&ack, Version::V311)
            .unwrap()
            .flags(0)
            .truncate(1)
            .build();
        assert_eq!(&bad[..], &[0x60, 1, 1]);
    }
}
