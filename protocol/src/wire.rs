//! Primitive field reading and writing (MQTT 3.1.1 §1.5, MQTT 5.0 §1.5).

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, EncodeError, ErrorKind, Rule};
use crate::types::{PacketType, Version};

/// The largest value a Variable Byte Integer can hold (four 7-bit groups).
pub const VARINT_MAX: u32 = 268_435_455;

/// The outcome of reading a Variable Byte Integer from a prefix of `buf`.
pub(crate) enum VarInt {
    Value { value: u32, len: usize },
    Incomplete,
}

/// Reads a Variable Byte Integer, refusing more than four bytes and non-minimal
/// encodings (MQTT 5.0 MQTT-1.5.5-1; 3.1.1 §2.2.3 defines only the minimal form).
pub(crate) fn read_varint(buf: &[u8], version: Version) -> Result<VarInt, DecodeError> {
    let mut value: u32 = 0;
    for i in 0..4 {
        let Some(&b) = buf.get(i) else {
            return Ok(VarInt::Incomplete);
        };
        value |= u32::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            // A final zero byte after a continuation adds nothing: non-minimal.
            if i > 0 && b == 0 {
                return Err(DecodeError::new(
                    ErrorKind::NonMinimalVarInt,
                    Rule::pick(version, "2.2.3", "MQTT-1.5.5-1"),
                ));
            }
            return Ok(VarInt::Value { value, len: i + 1 });
        }
    }
    Err(DecodeError::new(
        ErrorKind::RemainingLengthTooLong,
        Rule::pick(version, "2.2.3", "1.5.5"),
    ))
}

pub(crate) fn put_varint(out: &mut BytesMut, mut value: u32) {
    loop {
        let mut b = (value & 0x7F) as u8;
        value >>= 7;
        if value > 0 {
            b |= 0x80;
        }
        out.put_u8(b);
        if value == 0 {
            break;
        }
    }
}

/// Writes what `body` writes, preceded by its length as a Variable Byte
/// Integer, in one pass: the body goes after a 4-byte gap that is then closed.
pub(crate) fn with_varint_prefix<E>(
    out: &mut BytesMut,
    body: impl FnOnce(&mut BytesMut) -> Result<(), E>,
) -> Result<usize, E>
where
    E: From<EncodeError>,
{
    let start = out.len();
    out.put_slice(&[0; 4]);
    body(out)?;
    let len = out.len() - start - 4;
    if len > VARINT_MAX as usize {
        out.truncate(start);
        return Err(EncodeError::TooLarge(len).into());
    }
    let mut prefix = BytesMut::with_capacity(4);
    put_varint(&mut prefix, len as u32);
    let n = prefix.len();
    out[start..start + n].copy_from_slice(&prefix);
    out.copy_within(start + 4.., start + n);
    out.truncate(start + n + len);
    Ok(len)
}

pub(crate) fn put_str(out: &mut BytesMut, s: &str, packet: PacketType) -> Result<(), EncodeError> {
    put_binary(out, s.as_bytes(), packet)
}

pub(crate) fn put_binary(
    out: &mut BytesMut,
    b: &[u8],
    packet: PacketType,
) -> Result<(), EncodeError> {
    let len = u16::try_from(b.len()).map_err(|_| EncodeError::Invalid {
        packet,
        why: format!("a field of {} bytes exceeds 65535", b.len()),
    })?;
    out.put_u16(len);
    out.put_slice(b);
    Ok(())
}

/// A cursor over the body of one packet, borrowing the input. Binary fields
/// come out as slices of the input (no copy); strings are validated and
/// copied once.
pub(crate) struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
    end: usize,
    pub version: Version,
    pub packet: PacketType,
}

impl<'a> Reader<'a> {
    /// Reads `buf[start..end]`.
    pub fn new(
        buf: &'a Bytes,
        start: usize,
        end: usize,
        version: Version,
        packet: PacketType,
    ) -> Reader<'a> {
        Reader {
            buf,
            pos: start,
            end,
            version,
            packet,
        }
    }

    pub fn remaining(&self) -> usize {
        self.end - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub fn err(&self, kind: ErrorKind, rule: Rule) -> DecodeError {
        DecodeError {
            kind,
            rule,
            packet: Some(self.packet),
        }
    }

    /// An error whose rule differs by version.
    pub fn err_v(&self, kind: ErrorKind, v311: &'static str, v5: &'static str) -> DecodeError {
        self.err(kind, Rule::pick(self.version, v311, v5))
    }

    pub fn truncated(&self, field: &'static str) -> DecodeError {
        self.err_v(ErrorKind::Truncated { field }, "2.2.3", "2.1.4")
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(self.truncated(field));
        }
        let buf: &'a Bytes = self.buf;
        let b = &buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    /// The rest of the packet, sharing the input's memory.
    pub fn rest(&mut self) -> Bytes {
        let b = self.buf.slice(self.pos..self.end);
        self.pos = self.end;
        b
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, field)?[0])
    }

    pub fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(4, field)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn varint(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        match read_varint(&self.buf[self.pos..self.end], self.version) {
            Ok(VarInt::Value { value, len }) => {
                self.pos += len;
                Ok(value)
            }
            Ok(VarInt::Incomplete) => Err(self.truncated(field)),
            Err(mut e) => {
                e.packet = Some(self.packet);
                Err(e)
            }
        }
    }

    /// Binary Data, sharing the input's memory.
    pub fn binary(&mut self, field: &'static str) -> Result<Bytes, DecodeError> {
        let len = usize::from(self.u16(field)?);
        if self.remaining() < len {
            return Err(self.truncated(field));
        }
        let b = self.buf.slice(self.pos..self.pos + len);
        self.pos += len;
        Ok(b)
    }

    /// A UTF-8 Encoded String: well-formed, no surrogates (Rust's UTF-8
    /// validation refuses them), no U+0000.
    pub fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let len = usize::from(self.u16(field)?);
        let raw = self.take(len, field)?;
        let s = std::str::from_utf8(raw).map_err(|_| {
            self.err_v(
                ErrorKind::InvalidUtf8 { field },
                "MQTT-1.5.3-1",
                "MQTT-1.5.4-1",
            )
        })?;
        if s.contains('\0') {
            return Err(self.err_v(
                ErrorKind::NullCharacter { field },
                "MQTT-1.5.3-2",
                "MQTT-1.5.4-2",
            ));
        }
        Ok(s.to_owned())
    }

    /// Splits off the next `n` bytes as a reader of their own.
    pub fn sub(&mut self, n: usize, field: &'static str) -> Result<Reader<'a>, DecodeError> {
        if self.remaining() < n {
            return Err(self.truncated(field));
        }
        let start = self.pos;
        self.pos += n;
        Ok(Reader::new(
            self.buf,
            start,
            start + n,
            self.version,
            self.packet,
        ))
    }

    pub fn finish(&self, v311: &'static str, v5: &'static str) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.err_v(
                ErrorKind::TrailingBytes {
                    count: self.remaining(),
                },
                v311,
                v5,
            ))
        }
    }
}
