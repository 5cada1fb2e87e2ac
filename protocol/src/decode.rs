//! Strict decoding: every malformed input is an error naming the rule it breaks.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::{DecodeError, ErrorKind, Rule};
use crate::packet::*;
use crate::properties::{Properties, PropertyContext};
use crate::reason::ReasonCode;
use crate::topic::{self, TopicError};
use crate::types::{PacketType, QoS, Version};
use crate::wire::{read_varint, Reader, VarInt, VARINT_MAX};

/// The largest packet the encoding can express: type byte, four length bytes,
/// and the largest Remaining Length.
pub const MAX_PACKET_SIZE: usize = 1 + 4 + VARINT_MAX as usize;

/// The first byte and length of a packet, read before its body arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedHeader {
    pub packet_type: PacketType,
    pub flags: u8,
    /// Bytes taken by the type byte and the Remaining Length.
    pub header_len: usize,
    pub remaining_len: usize,
}

impl FixedHeader {
    /// The whole packet's size on the wire.
    pub fn packet_len(&self) -> usize {
        self.header_len + self.remaining_len
    }
}

/// Reads and checks a fixed header. `Ok(None)`: not enough bytes yet.
///
/// The packet type, its flags and the size limit are checked here, before the
/// body is waited for or buffered, so an oversized packet costs nothing.
pub fn read_fixed_header(
    buf: &[u8],
    version: Version,
    max_packet_size: usize,
) -> Result<Option<FixedHeader>, DecodeError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let packet_type = PacketType::from_nibble(first >> 4)
        .filter(|t| !(version == Version::V311 && *t == PacketType::Auth))
        .ok_or_else(|| {
            DecodeError::new(
                ErrorKind::ReservedPacketType(first >> 4),
                Rule::pick(version, "2.2.1", "2.1.2"),
            )
        })?;
    let flags = first & 0x0F;
    let fail = |kind, rule| DecodeError {
        kind,
        rule,
        packet: Some(packet_type),
    };
    match packet_type.required_flags() {
        Some(required) if flags != required => {
            let rule = match packet_type {
                PacketType::PubRel => Rule::Statement("MQTT-3.6.1-1"),
                PacketType::Subscribe => Rule::Statement("MQTT-3.8.1-1"),
                PacketType::Unsubscribe => Rule::Statement("MQTT-3.10.1-1"),
                PacketType::Disconnect => Rule::Statement("MQTT-3.14.1-1"),
                PacketType::Auth => Rule::Statement("MQTT-3.15.1-1"),
                _ => Rule::pick(version, "MQTT-2.2.2-1", "MQTT-2.1.3-1"),
            };
            return Err(fail(
                ErrorKind::ReservedFlags {
                    packet: packet_type,
                    flags,
                },
                rule,
            ));
        }
        Some(_) => {}
        None => {
            let qos = (flags >> 1) & 0b11;
            if qos == 3 {
                return Err(fail(
                    ErrorKind::InvalidQoS(3),
                    Rule::Statement("MQTT-3.3.1-4"),
                ));
            }
            if qos == 0 && flags & 0b1000 != 0 {
                return Err(fail(
                    ErrorKind::DupWithQoS0,
                    Rule::Statement("MQTT-3.3.1-2"),
                ));
            }
        }
    }
    let (remaining_len, len_bytes) = match read_varint(&buf[1..], version) {
        Ok(VarInt::Value { value, len }) => (value as usize, len),
        Ok(VarInt::Incomplete) => return Ok(None),
        Err(mut e) => {
            e.packet = Some(packet_type);
            return Err(e);
        }
    };
    let header = FixedHeader {
        packet_type,
        flags,
        header_len: 1 + len_bytes,
        remaining_len,
    };
    if header.packet_len() > max_packet_size {
        return Err(fail(
            ErrorKind::PacketTooLarge {
                size: header.packet_len(),
                max: max_packet_size,
            },
            Rule::pick(version, "2.2.3", "3.1.2.11.4"),
        ));
    }
    Ok(Some(header))
}

/// Decodes packets of one version, refusing any larger than a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoder {
    pub version: Version,
    pub max_packet_size: usize,
}

impl Decoder {
    pub fn new(version: Version) -> Decoder {
        Decoder {
            version,
            max_packet_size: MAX_PACKET_SIZE,
        }
    }

    pub fn with_max_packet_size(mut self, max: usize) -> Decoder {
        self.max_packet_size = max;
        self
    }

    /// Takes one packet off the front of `buf`. `Ok(None)` means more bytes
    /// are needed, and nothing was consumed.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Packet>, DecodeError> {
        let Some(h) = read_fixed_header(buf, self.version, self.max_packet_size)? else {
            return Ok(None);
        };
        if buf.len() < h.packet_len() {
            return Ok(None);
        }
        buf.advance(h.header_len);
        let body = buf.split_to(h.remaining_len).freeze();
        decode_body(&h, &body, 0, self.version).map(Some)
    }

    /// Decodes the packet at the start of `buf` without consuming it: the
    /// packet and its length, or `Ok(None)` if `buf` holds only part of it.
    /// Binary fields of the packet are slices of `buf`.
    pub fn decode_bytes(&self, buf: &Bytes) -> Result<Option<(Packet, usize)>, DecodeError> {
        let Some(h) = read_fixed_header(buf, self.version, self.max_packet_size)? else {
            return Ok(None);
        };
        if buf.len() < h.packet_len() {
            return Ok(None);
        }
        decode_body(&h, buf, h.header_len, self.version).map(|p| Some((p, h.packet_len())))
    }
}

/// Decodes exactly one whole packet held in `bytes`.
pub fn decode_exact(bytes: &[u8], version: Version) -> Result<Packet, DecodeError> {
    let bytes = Bytes::copy_from_slice(bytes);
    let decoder = Decoder::new(version);
    match decoder.decode_bytes(&bytes)? {
        Some((packet, len)) if len == bytes.len() => Ok(packet),
        Some((packet, len)) => Err(DecodeError {
            kind: ErrorKind::TrailingBytes {
                count: bytes.len() - len,
            },
            rule: Rule::pick(version, "2.2.3", "2.1.4"),
            packet: Some(packet.packet_type()),
        }),
        None => {
            let packet = read_fixed_header(&bytes, version, MAX_PACKET_SIZE)
                .ok()
                .flatten()
                .map(|h| h.packet_type);
            Err(DecodeError {
                kind: ErrorKind::Truncated {
                    field: "packet (fewer bytes than its Remaining Length)",
                },
                rule: Rule::pick(version, "2.2.3", "2.1.4"),
                packet,
            })
        }
    }
}

/// Replaces the rule of a "runs past the end" error with a field's own rule.
fn missing(
    version: Version,
    v311: &'static str,
    v5: &'static str,
) -> impl Fn(DecodeError) -> DecodeError {
    move |mut e| {
        if matches!(e.kind, ErrorKind::Truncated { .. }) {
            e.rule = Rule::pick(version, v311, v5);
        }
        e
    }
}

/// Decodes the body of the packet `h` heads, which starts at `buf[start]`.
fn decode_body(
    h: &FixedHeader,
    buf: &Bytes,
    start: usize,
    version: Version,
) -> Result<Packet, DecodeError> {
    let mut r = Reader::new(buf, start, start + h.remaining_len, version, h.packet_type);
    let packet = match h.packet_type {
        PacketType::Connect => Packet::Connect(Box::new(connect(&mut r)?)),
        PacketType::ConnAck => Packet::ConnAck(connack(&mut r)?),
        PacketType::Publish => Packet::Publish(publish(&mut r, h.flags)?),
        PacketType::PubAck => Packet::PubAck(ack(&mut r)?),
        PacketType::PubRec => Packet::PubRec(ack(&mut r)?),
        PacketType::PubRel => Packet::PubRel(ack(&mut r)?),
        PacketType::PubComp => Packet::PubComp(ack(&mut r)?),
        PacketType::Subscribe => Packet::Subscribe(subscribe(&mut r)?),
        PacketType::SubAck => Packet::SubAck(suback(&mut r)?),
        PacketType::Unsubscribe => Packet::Unsubscribe(unsubscribe(&mut r)?),
        PacketType::UnsubAck => Packet::UnsubAck(unsuback(&mut r)?),
        PacketType::PingReq => Packet::PingReq,
        PacketType::PingResp => Packet::PingResp,
        PacketType::Disconnect => Packet::Disconnect(disconnect(&mut r)?),
        PacketType::Auth => Packet::Auth(auth(&mut r)?),
    };
    let trailing = if h.packet_type == PacketType::Connect {
        ("MQTT-3.1.4-1", "MQTT-3.1.4-1")
    } else {
        ("2.2.3", "2.1.4")
    };
    r.finish(trailing.0, trailing.1)?;
    Ok(packet)
}

fn properties(r: &mut Reader, ctx: PropertyContext) -> Result<Properties, DecodeError> {
    if r.version == Version::V5 {
        Properties::decode(r, ctx)
    } else {
        Ok(Properties::default())
    }
}

fn packet_properties(r: &mut Reader) -> Result<Properties, DecodeError> {
    let t = r.packet;
    properties(r, PropertyContext::Packet(t))
}

fn nonzero_id(r: &mut Reader, v311: &'static str, v5: &'static str) -> Result<u16, DecodeError> {
    let id = r.u16("packet identifier")?;
    if id == 0 {
        return Err(r.err_v(ErrorKind::ZeroPacketId, v311, v5));
    }
    Ok(id)
}

fn reason(r: &mut Reader, rule: &'static str) -> Result<ReasonCode, DecodeError> {
    let code = ReasonCode(r.u8("reason code")?);
    if !code.is_allowed(r.packet, r.version) {
        return Err(r.err(
            ErrorKind::InvalidReasonCode {
                packet: r.packet,
                code: code.0,
            },
            Rule::Statement(rule),
        ));
    }
    Ok(code)
}

/// A topic name read by `Reader::string`, which has already refused U+0000
/// and anything over 65535 bytes.
fn topic_name(
    r: &Reader,
    name: &str,
    wildcard: (&'static str, &'static str),
) -> Result<(), DecodeError> {
    if name.is_empty() {
        return Err(r.err(
            ErrorKind::EmptyTopic {
                field: "topic name",
            },
            Rule::Statement("MQTT-4.7.3-1"),
        ));
    }
    if topic::has_wildcard(name) {
        return Err(r.err_v(ErrorKind::WildcardInTopicName, wildcard.0, wildcard.1));
    }
    Ok(())
}

fn topic_filter(r: &Reader, filter: &str) -> Result<(), DecodeError> {
    let shared = r.version == Version::V5;
    topic::validate_filter(filter, shared).map_err(|e| match e {
        TopicError::MultiLevelNotLast => r.err_v(
            ErrorKind::MultiLevelWildcardNotLast,
            "MQTT-4.7.1-2",
            "MQTT-4.7.1-1",
        ),
        TopicError::SingleLevelNotAlone => r.err_v(
            ErrorKind::SingleLevelWildcardNotAlone,
            "MQTT-4.7.1-3",
            "MQTT-4.7.1-2",
        ),
        TopicError::SharedEmptyGroup => r.err(
            ErrorKind::SharedSubscriptionInvalid("empty share name"),
            Rule::Statement("MQTT-4.8.2-1"),
        ),
        TopicError::SharedGroupWildcard => r.err(
            ErrorKind::SharedSubscriptionInvalid("wildcard in share name"),
            Rule::Statement("MQTT-4.8.2-2"),
        ),
        TopicError::SharedNoFilter => r.err(
            ErrorKind::SharedSubscriptionInvalid("no topic filter after the share name"),
            Rule::Statement("MQTT-4.8.2-2"),
        ),
        TopicError::Empty
        | TopicError::TooLong
        | TopicError::NullCharacter
        | TopicError::WildcardInName => r.err(
            ErrorKind::EmptyTopic {
                field: "topic filter",
            },
            Rule::Statement("MQTT-4.7.3-1"),
        ),
    })
}

fn connect(r: &mut Reader) -> Result<Connect, DecodeError> {
    let name = r.string("protocol name")?;
    if name != "MQTT" {
        return Err(r.err(
            ErrorKind::ProtocolName(name),
            Rule::Statement("MQTT-3.1.2-1"),
        ));
    }
    let level = r.u8("protocol level")?;
    let version = Version::from_level(level).ok_or_else(|| {
        r.err(
            ErrorKind::UnsupportedProtocolLevel(level),
            Rule::Statement("MQTT-3.1.2-2"),
        )
    })?;
    r.version = version;
    let flags = r.u8("connect flags")?;
    if flags & 0x01 != 0 {
        return Err(r.err(
            ErrorKind::ConnectReservedFlag,
            Rule::Statement("MQTT-3.1.2-3"),
        ));
    }
    let will_flag = flags & 0x04 != 0;
    let will_qos = (flags >> 3) & 0b11;
    let will_retain = flags & 0x20 != 0;
    let has_password = flags & 0x40 != 0;
    let has_username = flags & 0x80 != 0;
    if !will_flag && will_qos != 0 {
        return Err(r.err_v(
            ErrorKind::WillQoSWithoutWill,
            "MQTT-3.1.2-13",
            "MQTT-3.1.2-11",
        ));
    }
    if !will_flag && will_retain {
        return Err(r.err_v(
            ErrorKind::WillRetainWithoutWill,
            "MQTT-3.1.2-15",
            "MQTT-3.1.2-13",
        ));
    }
    if will_qos == 3 {
        return Err(r.err_v(ErrorKind::InvalidQoS(3), "MQTT-3.1.2-14", "MQTT-3.1.2-12"));
    }
    if version == Version::V311 && has_password && !has_username {
        return Err(r.err(
            ErrorKind::PasswordWithoutUsername,
            Rule::Statement("MQTT-3.1.2-22"),
        ));
    }
    let keep_alive = r.u16("keep alive")?;
    let properties = packet_properties(r)?;
    if properties.authentication_data.is_some() && properties.authentication_method.is_none() {
        return Err(r.err(
            ErrorKind::AuthDataWithoutMethod,
            Rule::Section(Version::V5, "3.1.2.11.10"),
        ));
    }
    let client_id = r.string("client identifier").map_err(missing(
        r.version,
        "MQTT-3.1.3-3",
        "MQTT-3.1.3-3",
    ))?;
    let will = if will_flag {
        let will_properties = self::properties(r, PropertyContext::Will).map_err(missing(
            r.version,
            "MQTT-3.1.2-9",
            "MQTT-3.1.2-9",
        ))?;
        let topic =
            r.string("will topic")
                .map_err(missing(r.version, "MQTT-3.1.2-9", "MQTT-3.1.2-9"))?;
        topic_name(r, &topic, ("MQTT-4.7.1-1", "MQTT-4.7.0-1"))?;
        let payload =
            r.binary("will payload")
                .map_err(missing(r.version, "MQTT-3.1.2-9", "MQTT-3.1.2-9"))?;
        Some(Will {
            topic,
            payload,
            qos: QoS::from_u8(will_qos).unwrap_or_default(),
            retain: will_retain,
            properties: will_properties,
        })
    } else {
        None
    };
    let username = if has_username {
        Some(
            r.string("user name")
                .map_err(missing(r.version, "MQTT-3.1.2-19", "MQTT-3.1.2-17"))?,
        )
    } else {
        None
    };
    let password = if has_password {
        Some(
            r.binary("password")
                .map_err(missing(r.version, "MQTT-3.1.2-21", "MQTT-3.1.2-19"))?,
        )
    } else {
        None
    };
    Ok(Connect {
        version,
        clean_start: flags & 0x02 != 0,
        keep_alive,
        properties,
        client_id,
        will,
        username,
        password,
    })
}

fn connack(r: &mut Reader) -> Result<ConnAck, DecodeError> {
    let flags = r.u8("acknowledge flags")?;
    if flags & 0xFE != 0 {
        return Err(r.err_v(
            ErrorKind::ConnAckFlagsReserved(flags),
            "3.2.2.1",
            "MQTT-3.2.2-1",
        ));
    }
    let session_present = flags & 0x01 != 0;
    let code = r.u8("return code")?;
    let reason = match r.version {
        Version::V311 => ReasonCode::from_v311_connack(code),
        Version::V5 => Some(ReasonCode(code)).filter(|c| c.is_allowed(r.packet, r.version)),
    }
    .ok_or_else(|| {
        r.err_v(
            ErrorKind::InvalidReasonCode {
                packet: r.packet,
                code,
            },
            "3.2.2.3",
            "MQTT-3.2.2-8",
        )
    })?;
    if session_present && code != 0 {
        return Err(r.err_v(
            ErrorKind::SessionPresentWithError,
            "MQTT-3.2.2-4",
            "MQTT-3.2.2-6",
        ));
    }
    let properties = packet_properties(r)?;
    Ok(ConnAck {
        session_present,
        reason,
        properties,
    })
}

fn publish(r: &mut Reader, flags: u8) -> Result<Publish, DecodeError> {
    let qos = QoS::from_u8((flags >> 1) & 0b11).unwrap_or_default();
    let topic =
        r.string("topic name")
            .map_err(missing(r.version, "MQTT-3.3.2-1", "MQTT-3.3.2-1"))?;
    let packet_id = if qos == QoS::AtMostOnce {
        None
    } else {
        Some(nonzero_id(r, "MQTT-2.3.1-1", "MQTT-2.2.1-3")?)
    };
    let properties = packet_properties(r)?;
    // 5.0: an empty topic name stands for the one a Topic Alias maps to.
    if !(topic.is_empty() && properties.topic_alias.is_some()) {
        topic_name(r, &topic, ("MQTT-3.3.2-2", "MQTT-3.3.2-2"))?;
    }
    Ok(Publish {
        dup: flags & 0b1000 != 0,
        qos,
        retain: flags & 0b0001 != 0,
        topic,
        packet_id,
        properties,
        payload: r.rest(),
    })
}

fn ack(r: &mut Reader) -> Result<Ack, DecodeError> {
    let packet_id = nonzero_id(r, "MQTT-2.3.1-6", "MQTT-2.2.1-5")?;
    // 5.0: Reason Code and Property Length may each be left off when the
    // packet ends (Remaining Length 2 or 3).
    if r.version == Version::V311 || r.is_empty() {
        return Ok(Ack::new(packet_id));
    }
    let rule = match r.packet {
        PacketType::PubAck => "MQTT-3.4.2-1",
        PacketType::PubRec => "MQTT-3.5.2-1",
        PacketType::PubRel => "MQTT-3.6.2-1",
        _ => "MQTT-3.7.2-1",
    };
    let reason = reason(r, rule)?;
    let properties = if r.is_empty() {
        Properties::default()
    } else {
        packet_properties(r)?
    };
    Ok(Ack {
        packet_id,
        reason,
        properties,
    })
}

fn subscribe(r: &mut Reader) -> Result<Subscribe, DecodeError> {
    let packet_id = nonzero_id(r, "MQTT-2.3.1-1", "MQTT-2.2.1-3")?;
    let properties = packet_properties(r)?;
    if r.is_empty() {
        return Err(r.err_v(ErrorKind::NoTopicFilters, "MQTT-3.8.3-3", "MQTT-3.8.3-2"));
    }
    let mut filters = Vec::new();
    while !r.is_empty() {
        let filter = r.string("topic filter")?;
        let o = r.u8("subscription options")?;
        let reserved = match r.version {
            Version::V311 => 0xFC,
            Version::V5 => 0xC0,
        };
        if o & reserved != 0 {
            return Err(r.err_v(
                ErrorKind::SubscriptionOptionsReserved(o),
                "MQTT-3.8.3-4",
                "MQTT-3.8.3-5",
            ));
        }
        let qos = QoS::from_u8(o & 0b11)
            .ok_or_else(|| r.err_v(ErrorKind::InvalidQoS(3), "MQTT-3.8.3-4", "3.8.3.1"))?;
        let retain_handling = match (o >> 4) & 0b11 {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendIfNew,
            2 => RetainHandling::DoNotSend,
            _ => return Err(r.err_v(ErrorKind::RetainHandlingInvalid, "3.8.3.1", "3.8.3.1")),
        };
        topic_filter(r, &filter)?;
        let no_local = o & 0b0100 != 0;
        if no_local && matches!(topic::SharedFilter::parse(&filter), Ok(Some(_))) {
            return Err(r.err(
                ErrorKind::NoLocalOnSharedSubscription,
                Rule::Statement("MQTT-3.8.3-4"),
            ));
        }
        filters.push(Subscription {
            filter,
            options: SubscriptionOptions {
                qos,
                no_local,
                retain_as_published: o & 0b1000 != 0,
                retain_handling,
            },
        });
    }
    Ok(Subscribe {
        packet_id,
        properties,
        filters,
    })
}

fn reason_list(
    r: &mut Reader,
    empty: (&'static str, &'static str),
    rule: &'static str,
) -> Result<Vec<ReasonCode>, DecodeError> {
    if r.is_empty() {
        return Err(r.err_v(ErrorKind::EmptyAcknowledgement, empty.0, empty.1));
    }
    let mut reasons = Vec::with_capacity(r.remaining());
    while !r.is_empty() {
        reasons.push(reason(r, rule)?);
    }
    Ok(reasons)
}

fn suback(r: &mut Reader) -> Result<SubAck, DecodeError> {
    let packet_id = nonzero_id(r, "MQTT-2.3.1-7", "MQTT-2.2.1-6")?;
    let properties = packet_properties(r)?;
    let reasons = reason_list(r, ("MQTT-3.8.4-5", "MQTT-3.9.3-2"), "MQTT-3.9.3-2")?;
    Ok(SubAck {
        packet_id,
        properties,
        reasons,
    })
}

fn unsubscribe(r: &mut Reader) -> Result<Unsubscribe, DecodeError> {
    let packet_id = nonzero_id(r, "MQTT-2.3.1-1", "MQTT-2.2.1-3")?;
    let properties = packet_properties(r)?;
    if r.is_empty() {
        return Err(r.err_v(ErrorKind::NoTopicFilters, "MQTT-3.10.3-2", "MQTT-3.10.3-2"));
    }
    let mut filters = Vec::new();
    while !r.is_empty() {
        let filter = r.string("topic filter")?;
        topic_filter(r, &filter)?;
        filters.push(filter);
    }
    Ok(Unsubscribe {
        packet_id,
        properties,
        filters,
    })
}

fn unsuback(r: &mut Reader) -> Result<UnsubAck, DecodeError> {
    let packet_id = nonzero_id(r, "MQTT-2.3.1-7", "MQTT-2.2.1-6")?;
    let properties = packet_properties(r)?;
    let reasons = match r.version {
        Version::V311 => Vec::new(),
        Version::V5 => reason_list(r, ("3.11.3", "MQTT-3.11.3-2"), "MQTT-3.11.3-2")?,
    };
    Ok(UnsubAck {
        packet_id,
        properties,
        reasons,
    })
}

/// DISCONNECT and AUTH: Reason Code and properties may be left off.
///
/// DISCONNECT may stop after its Reason Code (§3.14.2.2.1); AUTH may leave
/// out only both together, so after a Reason Code its Property Length is
/// required (§3.15.2.1).
fn reason_and_properties(
    r: &mut Reader,
    rule: &'static str,
) -> Result<(ReasonCode, Properties), DecodeError> {
    if r.version == Version::V311 || r.is_empty() {
        return Ok((ReasonCode::SUCCESS, Properties::default()));
    }
    let reason = reason(r, rule)?;
    let properties = if r.is_empty() && r.packet == PacketType::Disconnect {
        Properties::default()
    } else {
        packet_properties(r)?
    };
    Ok((reason, properties))
}

fn disconnect(r: &mut Reader) -> Result<Disconnect, DecodeError> {
    let (reason, properties) = reason_and_properties(r, "MQTT-3.14.2-1")?;
    Ok(Disconnect { reason, properties })
}

fn auth(r: &mut Reader) -> Result<Auth, DecodeError> {
    let (reason, properties) = reason_and_properties(r, "MQTT-3.15.2-1")?;
    Ok(Auth { reason, properties })
}
