//! Cuts a byte stream into MQTT packets without judging them, for those
//! that watch a connection from the middle (the fault proxy, the
//! simulator's tap at the broker): each packet's type and bytes, whatever
//! its body holds. Strictness is the decoder's job, not a bystander's: a
//! packet the decoder refuses still passes, whole, as one frame.
//!
//! Only a Remaining Length that is no number (a fifth continuation byte)
//! leaves the stream unframeable; from then on the splitter hands the bytes
//! on as they come, unlabelled.

use bytes::{Buf, Bytes, BytesMut};
use protocol::{PacketType, Version};

/// One packet as it went by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// None for a reserved type (0, or 15 in 3.1.1) or bytes after the
    /// stream stopped being frameable.
    pub packet: Option<PacketType>,
    pub bytes: Bytes,
}

impl Frame {
    /// The packet as the trace describes it; what does not decode is named
    /// by its type and size.
    pub fn label(&self, version: Version) -> String {
        match protocol::decode_exact(&self.bytes, version) {
            Ok(p) => record::trace::describe(&p),
            Err(_) => match self.packet {
                Some(t) => format!("{t} (malformed, {} bytes)", self.bytes.len()),
                None => format!("{} bytes (not a packet)", self.bytes.len()),
            },
        }
    }
}

/// One direction of one connection.
#[derive(Default)]
pub struct Splitter {
    buf: BytesMut,
    lost_framing: bool,
}

impl Splitter {
    /// Takes bytes as they arrive; returns the packets they complete, in
    /// order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Frame> {
        if self.lost_framing {
            return vec![Frame {
                packet: None,
                bytes: Bytes::copy_from_slice(bytes),
            }];
        }
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            match frame_len(&self.buf) {
                Length::Whole(n) if n <= self.buf.len() => {
                    let bytes = self.buf.split_to(n).freeze();
                    out.push(Frame {
                        packet: PacketType::from_nibble(bytes[0] >> 4),
                        bytes,
                    });
                }
                Length::Whole(_) | Length::NotYet => return out,
                Length::Unframeable => {
                    self.lost_framing = true;
                    if self.buf.has_remaining() {
                        out.push(Frame {
                            packet: None,
                            bytes: self.buf.split().freeze(),
                        });
                    }
                    return out;
                }
            }
        }
    }

    /// Bytes received but not yet a whole packet.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

enum Length {
    Whole(usize),
    NotYet,
    Unframeable,
}

fn frame_len(buf: &[u8]) -> Length {
    if buf.is_empty() {
        return Length::NotYet;
    }
    let mut value = 0usize;
    for i in 0..4 {
        let Some(&b) = buf.get(1 + i) else {
            return Length::NotYet;
        };
        value |= usize::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Length::Whole(1 + i + 1 + value);
        }
    }
    Length::Unframeable
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_split_across_reads_and_joined_in_one_come_out_whole() {
        let mut s = Splitter::default();
        // PINGREQ, then a PUBACK split in two reads, then a PUBLISH with a
        // two-byte Remaining Length (130 bytes of body).
        let mut publish = vec![0x30, 0x82, 0x01, 0x00, 0x01, b'a'];
        publish.resize(3 + 130, 0x55);
        assert_eq!(s.push(&[0xC0, 0x00, 0x40]).len(), 1);
        assert_eq!(s.pending(), 1);
        let mut rest = vec![0x02, 0x00, 0x07];
        rest.extend_from_slice(&publish);
        let frames = s.push(&rest);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].packet, Some(PacketType::PubAck));
        assert_eq!(&frames[0].bytes[..], &[0x40, 0x02, 0x00, 0x07]);
        assert_eq!(frames[1].packet, Some(PacketType::Publish));
        assert_eq!(frames[1].bytes.len(), 133);
        assert_eq!(s.pending(), 0);
    }

    #[test]
    fn a_malformed_packet_passes_whole_and_a_length_that_is_no_number_ends_framing() {
        let mut s = Splitter::default();
        // PUBACK with reserved flags: the decoder refuses it, the splitter not.
        let frames = s.push(&[0x41, 0x02, 0x00, 0x01]);
        assert_eq!(frames[0].packet, Some(PacketType::PubAck));
        assert!(frames[0].label(Version::V311).contains("malformed"));
        let frames = s.push(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x02]);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].packet, None);
        assert_eq!(frames[0].bytes.len(), 7);
        let frames = s.push(&[0xC0, 0x00]);
        assert_eq!(frames[0].packet, None, "no framing after the gap");
    }

    #[test]
    fn a_good_packet_is_labelled_as_the_trace_describes_it() {
        let mut s = Splitter::default();
        let frames = s.push(&[0x40, 0x02, 0x00, 0x07]);
        assert_eq!(frames[0].label(Version::V311), "PUBACK id=7");
    }
}
