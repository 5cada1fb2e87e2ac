//! Table-driven tests of malformed packets: each row is decoded both with
//! `decode_exact` and with `Decoder::decode`, and must fail in both with the
//! exact `ErrorKind` and the exact rule (statement id or section) it breaks.
//!
//! Rules are judged against `spec/mqtt-3.1.1-statements.tsv`,
//! `spec/mqtt-5.0-statements.tsv` and the section structure of the two
//! specifications. A row whose expectation the codec does not meet is kept
//! with the expectation the specification calls for.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use bytes::{Bytes, BytesMut};
use protocol::raw::RawPacket;
use protocol::ErrorKind;
use protocol::ErrorKind as K;
use protocol::PacketType as T;
use protocol::PropertyId as P;
use protocol::Version::{V311, V5};
use protocol::{
    decode_exact, encode, Ack, Auth, ConnAck, Connect, DecodeError, Decoder, Disconnect, Packet,
    Properties, Publish, QoS, ReasonCode, RetainHandling, SubAck, Subscribe, Subscription,
    SubscriptionOptions, UnsubAck, Unsubscribe, Version, Will,
};

/// One malformed input and the error it must produce.
struct Case {
    name: &'static str,
    version: Version,
    bytes: Bytes,
    kind: ErrorKind,
    rule: &'static str,
}

fn case(
    name: &'static str,
    version: Version,
    bytes: impl AsRef<[u8]>,
    kind: ErrorKind,
    rule: &'static str,
) -> Case {
    Case {
        name,
        version,
        bytes: Bytes::copy_from_slice(bytes.as_ref()),
        kind,
        rule,
    }
}

/// Appends a Property Length and the property bytes.
trait Props {
    fn props(self, p: &[u8]) -> Self;
}

impl Props for RawPacket {
    fn props(self, p: &[u8]) -> RawPacket {
        self.varint(p.len() as u32).bytes(p)
    }
}

fn raw(packet: &Packet, version: Version) -> RawPacket {
    RawPacket::from_packet(packet, version).expect("a valid packet encodes")
}

fn connect_packet(version: Version) -> Packet {
    connect(Connect {
        version,
        clean_start: true,
        keep_alive: 60,
        properties: Properties::default(),
        client_id: "c".into(),
        will: None,
        username: None,
        password: None,
    })
}

fn connect(c: Connect) -> Packet {
    Packet::from(c)
}

/// Properties set field by field (directly, or through `DerefMut`).
fn with_props(set: impl FnOnce(&mut Properties)) -> Properties {
    let mut p = Properties::default();
    set(&mut p);
    p
}

/// CONNECT up to the end of its variable header (with an empty property list
/// in 5.0), with these Connect Flags.
fn connect_head(version: Version, flags: u8) -> RawPacket {
    let r = RawPacket::new(1, 0)
        .string("MQTT")
        .u8(version.level())
        .u8(flags)
        .u16(60);
    match version {
        V311 => r,
        V5 => r.u8(0),
    }
}

/// A 5.0 CONNECT (clean start, client id "c") carrying these properties.
fn connect5(props: &[u8]) -> Bytes {
    RawPacket::new(1, 0)
        .string("MQTT")
        .u8(5)
        .u8(0x02)
        .u16(60)
        .props(props)
        .string("c")
        .build()
}

/// A 5.0 CONNECT with a will carrying these will properties.
fn connect5_will(will_props: &[u8]) -> Bytes {
    connect_head(V5, 0x06)
        .string("c")
        .props(will_props)
        .string("w")
        .binary(b"m")
        .build()
}

/// A 5.0 CONNACK (accepted, no session) carrying these properties.
fn connack5(props: &[u8]) -> Bytes {
    RawPacket::new(2, 0).u8(0).u8(0).props(props).build()
}

/// A 5.0 QoS 0 PUBLISH to "t" carrying these properties.
fn publish5(props: &[u8]) -> Bytes {
    RawPacket::new(3, 0)
        .string("t")
        .props(props)
        .bytes(b"x")
        .build()
}

/// A SUBSCRIBE (id 1, no properties) with one filter given as raw bytes.
fn subscribe(version: Version, filter: &[u8], options: u8) -> Bytes {
    let r = RawPacket::new(8, 2).u16(1);
    let r = match version {
        V311 => r,
        V5 => r.u8(0),
    };
    r.binary(filter).u8(options).build()
}

/// A 5.0 SUBSCRIBE (id 1, filter "a/b") carrying these properties.
fn subscribe5(props: &[u8]) -> Bytes {
    RawPacket::new(8, 2)
        .u16(1)
        .props(props)
        .string("a/b")
        .u8(1)
        .build()
}

/// An UNSUBSCRIBE (id 1, no properties) with one filter.
fn unsubscribe(version: Version, filter: &str) -> Bytes {
    let r = RawPacket::new(10, 2).u16(1);
    let r = match version {
        V311 => r,
        V5 => r.u8(0),
    };
    r.string(filter).build()
}

fn cases() -> Vec<Case> {
    let puback = Packet::PubAck(Ack::new(1));
    let pubrec = Packet::PubRec(Ack::new(1));
    let pubrel = Packet::PubRel(Ack::new(1));
    let pubcomp = Packet::PubComp(Ack::new(1));
    let connack = Packet::ConnAck(ConnAck::default());
    let suback = Packet::SubAck(SubAck {
        packet_id: 1,
        properties: Properties::default(),
        reasons: vec![ReasonCode::GRANTED_QOS_1],
    });
    let unsuback = |version| {
        Packet::UnsubAck(UnsubAck {
            packet_id: 1,
            properties: Properties::default(),
            reasons: match version {
                V311 => vec![],
                V5 => vec![ReasonCode::SUCCESS],
            },
        })
    };
    let subscribe_ok = Packet::Subscribe(Subscribe {
        packet_id: 1,
        properties: Properties::default(),
        filters: vec![Subscription {
            filter: "a/b".into(),
            options: SubscriptionOptions::default(),
        }],
    });
    let unsubscribe_ok = Packet::Unsubscribe(Unsubscribe {
        packet_id: 1,
        properties: Properties::default(),
        filters: vec!["a/b".into()],
    });
    let flags = |packet: T, flags: u8| K::ReservedFlags { packet, flags };
    let truncated = |field: &'static str| K::Truncated { field };
    let value = |property: P, value: u32| K::PropertyValue { property, value };
    let not_allowed = |property: P, packet: T| K::PropertyNotAllowed { property, packet };
    let reason = |packet: T, code: u8| K::InvalidReasonCode { packet, code };
    let shared = K::SharedSubscriptionInvalid;

    vec![
        // ---- Fixed header: packet type -------------------------------------
        case(
            "packet type 0 (3.1.1)",
            V311,
            [0x00, 0x00],
            K::ReservedPacketType(0),
            "MQTT 3.1.1 §2.2.1",
        ),
        case(
            "packet type 0 (5.0)",
            V5,
            [0x00, 0x00],
            K::ReservedPacketType(0),
            "MQTT 5.0 §2.1.2",
        ),
        case(
            "AUTH (type 15) is reserved in 3.1.1",
            V311,
            [0xF0, 0x00],
            K::ReservedPacketType(15),
            "MQTT 3.1.1 §2.2.1",
        ),
        // ---- Fixed header: reserved flags ----------------------------------
        case(
            "CONNECT flags 0001 (3.1.1)",
            V311,
            raw(&connect_packet(V311), V311).flags(0b0001).build(),
            flags(T::Connect, 0b0001),
            "MQTT-2.2.2-1",
        ),
        case(
            "CONNECT flags 1000 (5.0)",
            V5,
            raw(&connect_packet(V5), V5).flags(0b1000).build(),
            flags(T::Connect, 0b1000),
            "MQTT-2.1.3-1",
        ),
        case(
            "CONNACK flags 0010 (3.1.1)",
            V311,
            raw(&connack, V311).flags(0b0010).build(),
            flags(T::ConnAck, 0b0010),
            "MQTT-2.2.2-1",
        ),
        case(
            "CONNACK flags 0001 (5.0)",
            V5,
            raw(&connack, V5).flags(0b0001).build(),
            flags(T::ConnAck, 0b0001),
            "MQTT-2.1.3-1",
        ),
        case(
            "PUBACK flags 0010 (3.1.1)",
            V311,
            raw(&puback, V311).flags(0b0010).build(),
            flags(T::PubAck, 0b0010),
            "MQTT-2.2.2-1",
        ),
        case(
            "PUBACK flags 0100 (5.0)",
            V5,
            raw(&puback, V5).flags(0b0100).build(),
            flags(T::PubAck, 0b0100),
            "MQTT-2.1.3-1",
        ),
        case(
            "PUBREC flags 1111 (3.1.1)",
            V311,
            raw(&pubrec, V311).flags(0b1111).build(),
            flags(T::PubRec, 0b1111),
            "MQTT-2.2.2-1",
        ),
        case(
            "PUBREL flags 0000 (3.1.1)",
            V311,
            raw(&pubrel, V311).flags(0b0000).build(),
            flags(T::PubRel, 0b0000),
            "MQTT-3.6.1-1",
        ),
        case(
            "PUBREL flags 0011 (5.0)",
            V5,
            raw(&pubrel, V5).flags(0b0011).build(),
            flags(T::PubRel, 0b0011),
            "MQTT-3.6.1-1",
        ),
        case(
            "PUBCOMP flags 0010 (5.0)",
            V5,
            raw(&pubcomp, V5).flags(0b0010).build(),
            flags(T::PubComp, 0b0010),
            "MQTT-2.1.3-1",
        ),
        case(
            "SUBSCRIBE flags 0000 (3.1.1)",
            V311,
            raw(&subscribe_ok, V311).flags(0b0000).build(),
            flags(T::Subscribe, 0b0000),
            "MQTT-3.8.1-1",
        ),
        case(
            "SUBSCRIBE flags 1010 (5.0)",
            V5,
            raw(&subscribe_ok, V5).flags(0b1010).build(),
            flags(T::Subscribe, 0b1010),
            "MQTT-3.8.1-1",
        ),
        case(
            "SUBACK flags 0010 (3.1.1)",
            V311,
            raw(&suback, V311).flags(0b0010).build(),
            flags(T::SubAck, 0b0010),
            "MQTT-2.2.2-1",
        ),
        case(
            "UNSUBSCRIBE flags 0000 (3.1.1)",
            V311,
            raw(&unsubscribe_ok, V311).flags(0b0000).build(),
            flags(T::Unsubscribe, 0b0000),
            "MQTT-3.10.1-1",
        ),
        case(
            "UNSUBSCRIBE flags 0110 (5.0)",
            V5,
            raw(&unsubscribe_ok, V5).flags(0b0110).build(),
            flags(T::Unsubscribe, 0b0110),
            "MQTT-3.10.1-1",
        ),
        case(
            "UNSUBACK flags 0010 (5.0)",
            V5,
            raw(&unsuback(V5), V5).flags(0b0010).build(),
            flags(T::UnsubAck, 0b0010),
            "MQTT-2.1.3-1",
        ),
        case(
            "PINGREQ flags 0001 (3.1.1)",
            V311,
            [0xC1, 0x00],
            flags(T::PingReq, 0b0001),
            "MQTT-2.2.2-1",
        ),
        case(
            "PINGREQ flags 0010 (5.0)",
            V5,
            [0xC2, 0x00],
            flags(T::PingReq, 0b0010),
            "MQTT-2.1.3-1",
        ),
        case(
            "PINGRESP flags 1000 (3.1.1)",
            V311,
            [0xD8, 0x00],
            flags(T::PingResp, 0b1000),
            "MQTT-2.2.2-1",
        ),
        case(
            "DISCONNECT flags 0001 (3.1.1)",
            V311,
            [0xE1, 0x00],
            flags(T::Disconnect, 0b0001),
            "MQTT-3.14.1-1",
        ),
        case(
            "DISCONNECT flags 0010 (5.0)",
            V5,
            [0xE2, 0x00],
            flags(T::Disconnect, 0b0010),
            "MQTT-3.14.1-1",
        ),
        case(
            "AUTH flags 0001 (5.0)",
            V5,
            [0xF1, 0x00],
            flags(T::Auth, 0b0001),
            "MQTT-3.15.1-1",
        ),
        // ---- Fixed header: PUBLISH flags -----------------------------------
        case(
            "PUBLISH QoS 3 (3.1.1)",
            V311,
            RawPacket::new(3, 0b0110).string("t").u16(1).build(),
            K::InvalidQoS(3),
            "MQTT-3.3.1-4",
        ),
        case(
            "PUBLISH QoS 3 with DUP and RETAIN (5.0)",
            V5,
            RawPacket::new(3, 0b1111).string("t").u16(1).u8(0).build(),
            K::InvalidQoS(3),
            "MQTT-3.3.1-4",
        ),
        case(
            "PUBLISH DUP with QoS 0 (3.1.1)",
            V311,
            RawPacket::new(3, 0b1000).string("t").build(),
            K::DupWithQoS0,
            "MQTT-3.3.1-2",
        ),
        case(
            "PUBLISH DUP with QoS 0 and RETAIN (5.0)",
            V5,
            RawPacket::new(3, 0b1001).string("t").u8(0).build(),
            K::DupWithQoS0,
            "MQTT-3.3.1-2",
        ),
        // ---- Fixed header: Remaining Length --------------------------------
        case(
            "Remaining Length of 5 bytes (3.1.1)",
            V311,
            RawPacket::new(12, 0)
                .remaining_length_bytes(&[0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
                .build(),
            K::RemainingLengthTooLong,
            "MQTT 3.1.1 §2.2.3",
        ),
        case(
            "Remaining Length of 5 bytes (5.0)",
            V5,
            RawPacket::new(3, 0)
                .remaining_length_bytes(&[0x80, 0x80, 0x80, 0x80, 0x01])
                .build(),
            K::RemainingLengthTooLong,
            "MQTT 5.0 §1.5.5",
        ),
        case(
            "Remaining Length 0x80 0x00 (3.1.1)",
            V311,
            RawPacket::new(12, 0)
                .remaining_length_bytes(&[0x80, 0x00])
                .build(),
            K::NonMinimalVarInt,
            "MQTT 3.1.1 §2.2.3",
        ),
        case(
            "Remaining Length 0x80 0x00 (5.0)",
            V5,
            RawPacket::new(12, 0)
                .remaining_length_bytes(&[0x80, 0x00])
                .build(),
            K::NonMinimalVarInt,
            "MQTT-1.5.5-1",
        ),
        case(
            "Remaining Length 3 in three bytes (5.0)",
            V5,
            RawPacket::new(3, 0)
                .remaining_length_bytes(&[0x83, 0x80, 0x00])
                .string("t")
                .build(),
            K::NonMinimalVarInt,
            "MQTT-1.5.5-1",
        ),
        case(
            "Property Length 0x80 0x00 in PUBACK (5.0)",
            V5,
            RawPacket::new(4, 0)
                .u16(1)
                .u8(0x10)
                .bytes(&[0x80, 0x00])
                .build(),
            K::NonMinimalVarInt,
            "MQTT-1.5.5-1",
        ),
        // ---- CONNECT: variable header --------------------------------------
        case(
            "CONNECT protocol name MQTX (3.1.1)",
            V311,
            RawPacket::new(1, 0)
                .string("MQTX")
                .u8(4)
                .u8(2)
                .u16(60)
                .string("c")
                .build(),
            K::ProtocolName("MQTX".into()),
            "MQTT-3.1.2-1",
        ),
        case(
            "CONNECT protocol name MQIsdp (5.0 decoder)",
            V5,
            RawPacket::new(1, 0)
                .string("MQIsdp")
                .u8(3)
                .u8(2)
                .u16(60)
                .string("c")
                .build(),
            K::ProtocolName("MQIsdp".into()),
            "MQTT-3.1.2-1",
        ),
        case(
            "CONNECT protocol level 3 (3.1.1 decoder)",
            V311,
            RawPacket::new(1, 0)
                .string("MQTT")
                .u8(3)
                .u8(2)
                .u16(60)
                .string("c")
                .build(),
            K::UnsupportedProtocolLevel(3),
            "MQTT-3.1.2-2",
        ),
        case(
            "CONNECT protocol level 6 (5.0 decoder)",
            V5,
            RawPacket::new(1, 0)
                .string("MQTT")
                .u8(6)
                .u8(2)
                .u16(60)
                .u8(0)
                .string("c")
                .build(),
            K::UnsupportedProtocolLevel(6),
            "MQTT-3.1.2-2",
        ),
        case(
            "CONNECT reserved flag (3.1.1)",
            V311,
            connect_head(V311, 0x03).string("c").build(),
            K::ConnectReservedFlag,
            "MQTT-3.1.2-3",
        ),
        case(
            "CONNECT reserved flag (5.0)",
            V5,
            connect_head(V5, 0x01).string("c").build(),
            K::ConnectReservedFlag,
            "MQTT-3.1.2-3",
        ),
        case(
            "CONNECT will QoS 1 without will flag (3.1.1)",
            V311,
            connect_head(V311, 0x0A).string("c").build(),
            K::WillQoSWithoutWill,
            "MQTT-3.1.2-13",
        ),
        case(
            "CONNECT will QoS 2 without will flag (5.0)",
            V5,
            connect_head(V5, 0x12).string("c").build(),
            K::WillQoSWithoutWill,
            "MQTT-3.1.2-11",
        ),
        case(
            "CONNECT will retain without will flag (3.1.1)",
            V311,
            connect_head(V311, 0x22).string("c").build(),
            K::WillRetainWithoutWill,
            "MQTT-3.1.2-15",
        ),
        case(
            "CONNECT will retain without will flag (5.0)",
            V5,
            connect_head(V5, 0x22).string("c").build(),
            K::WillRetainWithoutWill,
            "MQTT-3.1.2-13",
        ),
        case(
            "CONNECT will QoS 3 (3.1.1)",
            V311,
            connect_head(V311, 0x1E)
                .string("c")
                .string("w")
                .binary(b"m")
                .build(),
            K::InvalidQoS(3),
            "MQTT-3.1.2-14",
        ),
        case(
            "CONNECT will QoS 3 (5.0)",
            V5,
            connect_head(V5, 0x1E)
                .string("c")
                .u8(0)
                .string("w")
                .binary(b"m")
                .build(),
            K::InvalidQoS(3),
            "MQTT-3.1.2-12",
        ),
        case(
            "CONNECT password without user name (3.1.1)",
            V311,
            connect_head(V311, 0x42).string("c").binary(b"p").build(),
            K::PasswordWithoutUsername,
            "MQTT-3.1.2-22",
        ),
        // ---- CONNECT: payload fields missing -------------------------------
        case(
            "CONNECT without client id (3.1.1)",
            V311,
            connect_head(V311, 0x02).build(),
            truncated("client identifier"),
            "MQTT-3.1.3-3",
        ),
        case(
            "CONNECT with half a client id length (5.0)",
            V5,
            connect_head(V5, 0x02).u8(0).build(),
            truncated("client identifier"),
            "MQTT-3.1.3-3",
        ),
        case(
            "CONNECT will flag without will topic (3.1.1)",
            V311,
            connect_head(V311, 0x06).string("c").build(),
            truncated("will topic"),
            "MQTT-3.1.2-9",
        ),
        case(
            "CONNECT will flag without will properties (5.0)",
            V5,
            connect_head(V5, 0x06).string("c").build(),
            truncated("property length"),
            "MQTT-3.1.2-9",
        ),
        case(
            "CONNECT will flag without will topic (5.0)",
            V5,
            connect_head(V5, 0x06).string("c").u8(0).build(),
            truncated("will topic"),
            "MQTT-3.1.2-9",
        ),
        case(
            "CONNECT will flag without will payload (3.1.1)",
            V311,
            connect_head(V311, 0x06).string("c").string("w").build(),
            truncated("will payload"),
            "MQTT-3.1.2-9",
        ),
        case(
            "CONNECT user name flag without user name (3.1.1)",
            V311,
            connect_head(V311, 0x82).string("c").build(),
            truncated("user name"),
            "MQTT-3.1.2-19",
        ),
        case(
            "CONNECT user name flag without user name (5.0)",
            V5,
            connect_head(V5, 0x82).string("c").build(),
            truncated("user name"),
            "MQTT-3.1.2-17",
        ),
        case(
            "CONNECT password flag without password (3.1.1)",
            V311,
            connect_head(V311, 0xC2).string("c").string("u").build(),
            truncated("password"),
            "MQTT-3.1.2-21",
        ),
        case(
            "CONNECT password flag without password (5.0)",
            V5,
            connect_head(V5, 0x42).string("c").build(),
            truncated("password"),
            "MQTT-3.1.2-19",
        ),
        // ---- CONNECT: strings ----------------------------------------------
        case(
            "CONNECT client id with encoded surrogate ED A0 80 (3.1.1)",
            V311,
            connect_head(V311, 0x02).binary(&[0xED, 0xA0, 0x80]).build(),
            K::InvalidUtf8 {
                field: "client identifier",
            },
            "MQTT-1.5.3-1",
        ),
        case(
            "CONNECT client id with overlong C0 80 (5.0)",
            V5,
            connect_head(V5, 0x02).binary(&[b'a', 0xC0, 0x80]).build(),
            K::InvalidUtf8 {
                field: "client identifier",
            },
            "MQTT-1.5.4-1",
        ),
        case(
            "CONNECT client id with U+0000 (3.1.1)",
            V311,
            connect_head(V311, 0x02).binary(b"a\0b").build(),
            K::NullCharacter {
                field: "client identifier",
            },
            "MQTT-1.5.3-2",
        ),
        case(
            "CONNECT user name with byte FF (5.0)",
            V5,
            connect_head(V5, 0x82).string("c").binary(&[0xFF]).build(),
            K::InvalidUtf8 { field: "user name" },
            "MQTT-1.5.4-1",
        ),
        case(
            "CONNECT will topic with '#' (3.1.1)",
            V311,
            connect_head(V311, 0x06)
                .string("c")
                .string("a/#")
                .binary(b"m")
                .build(),
            K::WildcardInTopicName,
            "MQTT-4.7.1-1",
        ),
        case(
            "CONNECT will topic with '+' (5.0)",
            V5,
            connect_head(V5, 0x06)
                .string("c")
                .u8(0)
                .string("a/+")
                .binary(b"m")
                .build(),
            K::WildcardInTopicName,
            "MQTT-4.7.0-1",
        ),
        case(
            "CONNECT empty will topic (5.0)",
            V5,
            connect_head(V5, 0x06)
                .string("c")
                .u8(0)
                .string("")
                .binary(b"m")
                .build(),
            K::EmptyTopic {
                field: "topic name",
            },
            "MQTT-4.7.3-1",
        ),
        case(
            "CONNECT will topic with U+0000 (3.1.1)",
            V311,
            connect_head(V311, 0x06)
                .string("c")
                .binary(b"a\0")
                .binary(b"m")
                .build(),
            K::NullCharacter {
                field: "will topic",
            },
            "MQTT-1.5.3-2",
        ),
        case(
            "CONNECT with 2 bytes after the last field (3.1.1)",
            V311,
            connect_head(V311, 0x02).string("c").u16(0).build(),
            K::TrailingBytes { count: 2 },
            "MQTT-3.1.4-1",
        ),
        case(
            "CONNECT with 1 byte after the password (5.0)",
            V5,
            connect_head(V5, 0xC2)
                .string("c")
                .string("u")
                .binary(b"p")
                .u8(0)
                .build(),
            K::TrailingBytes { count: 1 },
            "MQTT-3.1.4-1",
        ),
        // ---- CONNECT: properties -------------------------------------------
        case(
            "CONNECT with Topic Alias (5.0)",
            V5,
            connect5(&[0x23, 0x00, 0x01]),
            not_allowed(P::TopicAlias, T::Connect),
            "MQTT 5.0 §2.2.2.2",
        ),
        case(
            "CONNECT with unknown property 0x04 (5.0)",
            V5,
            connect5(&[0x04, 0x00]),
            K::UnknownProperty(0x04),
            "MQTT 5.0 §2.2.2.2",
        ),
        case(
            "CONNECT Receive Maximum 0 (5.0)",
            V5,
            connect5(&[0x21, 0x00, 0x00]),
            value(P::ReceiveMaximum, 0),
            "MQTT 5.0 §3.1.2.11.3",
        ),
        case(
            "CONNECT Maximum Packet Size 0 (5.0)",
            V5,
            connect5(&[0x27, 0x00, 0x00, 0x00, 0x00]),
            value(P::MaximumPacketSize, 0),
            "MQTT 5.0 §3.1.2.11.4",
        ),
        case(
            "CONNECT Request Problem Information 2 (5.0)",
            V5,
            connect5(&[0x17, 0x02]),
            value(P::RequestProblemInformation, 2),
            "MQTT 5.0 §3.1.2.11.7",
        ),
        case(
            "CONNECT Request Response Information 2 (5.0)",
            V5,
            connect5(&[0x19, 0x02]),
            value(P::RequestResponseInformation, 2),
            "MQTT 5.0 §3.1.2.11.6",
        ),
        case(
            "CONNECT Session Expiry Interval twice (5.0)",
            V5,
            connect5(&[0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2]),
            K::DuplicateProperty(P::SessionExpiryInterval),
            "MQTT 5.0 §2.2.2.2",
        ),
        case(
            "CONNECT Authentication Data without Method (5.0)",
            V5,
            connect5(&[0x16, 0x00, 0x01, 0xAA]),
            K::AuthDataWithoutMethod,
            "MQTT 5.0 §3.1.2.11.10",
        ),
        case(
            "CONNECT Property Length past the end of the packet (5.0)",
            V5,
            RawPacket::new(1, 0)
                .string("MQTT")
                .u8(5)
                .u8(2)
                .u16(60)
                .varint(20)
                .string("c")
                .build(),
            truncated("properties"),
            "MQTT 5.0 §2.1.4",
        ),
        case(
            "CONNECT User Property name with U+0000 (5.0)",
            V5,
            connect5(&[0x26, 0x00, 0x01, 0x00, 0x00, 0x01, b'v']),
            K::NullCharacter {
                field: "User Property name",
            },
            "MQTT-1.5.4-2",
        ),
        case(
            "CONNECT User Property value with surrogate (5.0)",
            V5,
            connect5(&[0x26, 0x00, 0x01, b'k', 0x00, 0x03, 0xED, 0xA0, 0x80]),
            K::InvalidUtf8 {
                field: "User Property value",
            },
            "MQTT-1.5.4-1",
        ),
        case(
            "CONNECT will properties with Topic Alias (5.0)",
            V5,
            connect5_will(&[0x23, 0x00, 0x01]),
            not_allowed(P::TopicAlias, T::Connect),
            "MQTT 5.0 §2.2.2.2",
        ),
        case(
            "CONNECT will Payload Format Indicator 2 (5.0)",
            V5,
            connect5_will(&[0x01, 0x02]),
            value(P::PayloadFormatIndicator, 2),
            // The Will Properties' own section (3.1.3.2.3), not PUBLISH's (3.3.2.3.2).
            "MQTT 5.0 §3.1.3.2.3",
        ),
        // ---- CONNACK -------------------------------------------------------
        case(
            "CONNACK acknowledge flags 0x02 (3.1.1)",
            V311,
            [0x20, 0x02, 0x02, 0x00],
            K::ConnAckFlagsReserved(0x02),
            "MQTT 3.1.1 §3.2.2.1",
        ),
        case(
            "CONNACK acknowledge flags 0x80 (5.0)",
            V5,
            [0x20, 0x03, 0x80, 0x00, 0x00],
            K::ConnAckFlagsReserved(0x80),
            "MQTT-3.2.2-1",
        ),
        case(
            "CONNACK return code 6 (3.1.1)",
            V311,
            [0x20, 0x02, 0x00, 0x06],
            reason(T::ConnAck, 6),
            "MQTT 3.1.1 §3.2.2.3",
        ),
        case(
            "CONNACK reason code 0x01 (5.0)",
            V5,
            [0x20, 0x03, 0x00, 0x01, 0x00],
            reason(T::ConnAck, 0x01),
            "MQTT-3.2.2-8",
        ),
        case(
            "CONNACK session present with return code 5 (3.1.1)",
            V311,
            [0x20, 0x02, 0x01, 0x05],
            K::SessionPresentWithError,
            "MQTT-3.2.2-4",
        ),
        case(
            "CONNACK session present with 0x87 (5.0)",
            V5,
            [0x20, 0x03, 0x01, 0x87, 0x00],
            K::SessionPresentWithError,
            "MQTT-3.2.2-6",
        ),
        case(
            "CONNACK of length 3 (3.1.1)",
            V311,
            [0x20, 0x03, 0x00, 0x00, 0x00],
            K::TrailingBytes { count: 1 },
            "MQTT 3.1.1 §2.2.3",
        ),
        case(
            "CONNACK Maximum QoS 2 (5.0)",
            V5,
            connack5(&[0x24, 0x02]),
            value(P::MaximumQoS, 2),
            "MQTT 5.0 §3.2.2.3.4",
        ),
        case(
            "CONNACK Retain Available 2 (5.0)",
            V5,
            connack5(&[0x25, 0x02]),
            value(P::RetainAvailable, 2),
            "MQTT 5.0 §3.2.2.3.5",
        ),
        case(
            "CONNACK Receive Maximum 0 (5.0)",
            V5,
            connack5(&[0x21, 0x00, 0x00]),
            value(P::ReceiveMaximum, 0),
            // CONNACK's own Receive Maximum section, not CONNECT's (3.1.2.11.3).
            "MQTT 5.0 §3.2.2.3.3",
        ),
        case(
            "CONNACK Maximum Packet Size 0 (5.0)",
            V5,
            connack5(&[0x27, 0x00, 0x00, 0x00, 0x00]),
            value(P::MaximumPacketSize, 0),
            // CONNACK's own Maximum Packet Size section, not CONNECT's (3.1.2.11.4).
            "MQTT 5.0 §3.2.2.3.6",
        ),
        case(
            "CONNACK with Will Delay Interval (5.0)",
            V5,
            connack5(&[0x18, 0, 0, 0, 1]),
            not_allowed(P::WillDelayInterval, T::ConnAck),
            "MQTT 5.0 §2.2.2.2",
        ),
        // ---- PUBLISH -------------------------------------------------------
        case(
            "PUBLISH topic with '+' (3.1.1)",
            V311,
            RawPacket::new(3, 0).string("a/+").build(),
            K::WildcardInTopicName,
            "MQTT-3.3.2-2",
        ),
        case(
            "PUBLISH topic '#' (5.0)",
            V5,
            RawPacket::new(3, 0).string("#").u8(0).build(),
            K::WildcardInTopicName,
            "MQTT-3.3.2-2",
        ),
        case(
            "PUBLISH empty topic (3.1.1)",
            V311,
            RawPacket::new(3, 0).string("").bytes(b"x").build(),
            K::EmptyTopic {
                field: "topic name",
            },
            "MQTT-4.7.3-1",
        ),
        case(
            "PUBLISH empty topic without Topic Alias (5.0)",
            V5,
            RawPacket::new(3, 0)
                .string("")
                .props(&[0x01, 0x01])
                .bytes(b"x")
                .build(),
            K::EmptyTopic {
                field: "topic name",
            },
            "MQTT-4.7.3-1",
        ),
        case(
            "PUBLISH topic with surrogate ED A0 80 (3.1.1)",
            V311,
            RawPacket::new(3, 0).binary(&[0xED, 0xA0, 0x80]).build(),
            K::InvalidUtf8 {
                field: "topic name",
            },
            "MQTT-1.5.3-1",
        ),
        case(
            "PUBLISH topic with overlong C0 80 (5.0)",
            V5,
            RawPacket::new(3, 0).binary(&[0xC0, 0x80]).u8(0).build(),
            K::InvalidUtf8 {
                field: "topic name",
            },
            "MQTT-1.5.4-1",
        ),
        case(
            "PUBLISH topic with U+0000 (5.0)",
            V5,
            RawPacket::new(3, 0).binary(b"a\0").u8(0).build(),
            K::NullCharacter {
                field: "topic name",
            },
            "MQTT-1.5.4-2",
        ),
        case(
            "PUBLISH QoS 1 with packet id 0 (3.1.1)",
            V311,
            RawPacket::new(3, 0b0010).string("t").u16(0).build(),
            K::ZeroPacketId,
            "MQTT-2.3.1-1",
        ),
        case(
            "PUBLISH QoS 1 with packet id 0 (5.0)",
            V5,
            RawPacket::new(3, 0b0010).string("t").u16(0).u8(0).build(),
            K::ZeroPacketId,
            "MQTT-2.2.1-3",
        ),
        case(
            "PUBLISH with no topic name (3.1.1)",
            V311,
            [0x30, 0x00],
            truncated("topic name"),
            "MQTT-3.3.2-1",
        ),
        case(
            "PUBLISH topic length past the end of the packet (5.0)",
            V5,
            RawPacket::new(3, 0).binary_with_length(10, b"ab").build(),
            truncated("topic name"),
            "MQTT-3.3.2-1",
        ),
        case(
            "PUBLISH QoS 2 with half a packet id (3.1.1)",
            V311,
            RawPacket::new(3, 0b0100).string("t").u8(1).build(),
            truncated("packet identifier"),
            "MQTT 3.1.1 §2.2.3",
        ),
        case(
            "PUBLISH Topic Alias 0 (5.0)",
            V5,
            publish5(&[0x23, 0x00, 0x00]),
            value(P::TopicAlias, 0),
            "MQTT-3.3.2-8",
        ),
        case(
            "PUBLISH Payload Format Indicator 2 (5.0)",
            V5,
            publish5(&[0x01, 0x02]),
            value(P::PayloadFormatIndicator, 2),
            "MQTT 5.0 §3.3.2.3.2",
        ),
        case(
            "PUBLISH with Will Delay Interval (5.0)",
            V5,
            publish5(&[0x18, 0, 0, 0, 5]),
            not_allowed(P::WillDelayInterval, T::Publish),
            "MQTT 5.0 §2.2.2.2",
        ),
        case(
            "PUBLISH Response Topic with wildcard (5.0)",
            V5,
            publish5(&[0x08, 0x00, 0x03, b'a', b'/', b'#']),
            K::WildcardInTopicName,
            "MQTT-3.3.2-14",
        ),
        case(
            "PUBLISH Message Expiry Interval twice (5.0)",
            V5,
            publish5(&[0x02, 0, 0, 0, 1, 0x02, 0, 0, 0, 1]),
            K::DuplicateProperty(P::MessageExpiryInterval),
            "MQTT 5.0 §2.2.2.2",
        ),
        case(
            "PUBLISH unknown property 0x7F (5.0)",
            V5,
            publish5(&[0x7F, 0x00]),
            K::UnknownProperty(0x7F),
            "MQTT 5.0 §2.2.2.2",
        ),
        case(
            "PUBLISH Content Type with overlong C0 80 (5.0)",
            V5,
            publish5(&[0x03, 0x00, 0x02, 0xC0, 0x80]),
            K::InvalidUtf8 {
                field: "Content Type",
            },
            "MQTT-1.5.4-1",
        ),
        case(
            "PUBLISH Subscription Identifier 0 (5.0)",
            V5,
            publish5(&[0x0B, 0x00]),
            value(P::SubscriptionIdentifier, 0),
            // PUBLISH's own Subscription Identifier section, not SUBSCRIBE's (3.8.2.1.2).
            "MQTT 5.0 §3.3.2.3.8",
        ),
        case(
            "PUBLISH Property Length past the end of the packet (5.0)",
            V5,
            RawPacket::new(3, 0).string("t").varint(5).u8(0x01).build(),
            truncated("properties"),
            "MQTT 5.0 §2.1.4",
        ),
        case(
            "PUBLISH property value past the Property Length (5.0)",
            V5,
            publish5(&[0x02, 0x00, 0x00]),
            truncated("Message Expiry Interval"),
            "MQTT 5.0 §2.1.4",
        ),
        case(
            "PUBLISH Content Type past the Property Length into the payload (5.0)",
            V5,
            RawPacket::new(3, 0)
                .string("t")
                .props(&[0x03, 0x00, 0x05, b'a'])
                .bytes(b"bcdef")
                .build(),
            truncated("Content Type"),
            "MQTT 5.0 §2.1.4",
        ),
        case(
            "PUBLISH Correlation Data past the Property Length into the payload (5.0)",
            V5,
            RawPacket::new(3, 0)
                .string("t")
                .props(&[0x09, 0x00, 0x04, b'a'])
                .bytes(b"bcdef")
                .build(),
            truncated("Correlation Data"),
            "MQTT 5.0 §2.1.4",
        ),
        case(
            "PUBLISH Subscription Identifier cut by the Property Length (5.0)",
            V5,
            RawPacket::new(3, 0)
                .string("t")
                .props(&[0x0B, 0x80])
                .bytes(&[0x01, b'x'])
                .build(),
            truncated("Subscription Identifier"),
            "MQTT 5.0 §2.1.4",
        ),
        case(
            "CONNECT will User Property past the will Property Length (5.0)",
            V5,
            connect_head(V5, 0x06)
                .string("c")
                .props(&[0x26, 0x00, 0x01, b'k', 0x00, 0x05])
                .string("w")
                .binary(b"m")
                .build(),
            truncated("User Property value"),
            "MQTT-3.1.2-9",
        ),
        // ---- PUBACK / PUBREC / PUBREL / PUBCOMP ----------------------------
        case(
            "PUBACK packet id 0 (3.1.1)",
            V311,
            RawPacket::new(4, 0).u16(0).build(),
            K::ZeroPacketId,
            "MQTT-2.3.1-6",
        ),
        case(
            "PUBACK packet id 0 (5.0)",
            V5,
            RawPacket::new(4, 0).u16(0).build(),
            K::ZeroPacketId,
            "MQTT-2.2.1-5",
        ),
        case(
            "PUBACK of length 3 (3.1.1)",
            V311,
            RawPacket::new(4, 0).u16(1).u8(0).build(),
            K::TrailingBytes { count: 1 },
            "MQTT 3.1.1 §2.2.3",
        ),
        case(
            "PUBACK of length 1 (3.1.1)",
            V311,
            RawPacket::new(4, 0).u8(1).build(),
            truncated("packet identifier"),
            "MQTT 3.1.1 §2.2.3",
        ),
        case(
            "PUBACK reason code 0x01 (5.0)",
            V5,
            RawPacket::new(4, 0).u16(1).u8(0x01).build(),
            reason(T::PubAck, 0x01),
            "MQTT-3.4.2-1",
        ),
        case(
            "PUBREC reason code 0x92 (5.0)",
            V5,
            RawPacket::new(5, 0).u16(1).u8(0x92).build(),
            reason(T::PubRec, 0x92),
            "MQTT-3.5.2-1",
        ),
        case(
            "PUBREL reason code 0x10 (5.0)",
            V5,
            RawPacket::new(6, 2).u16(1).u8(0x10).u8(0).build(),
            reason(T::PubRel, 0x10),
            "MQTT-3.6.2-1",
        ),
        case(
            "PUBCOMP reason code 0x80 (5.0)",
            V5,
            RawPacket::new(7, 0).u16(1).u8(0x80).build(),
            reason(T::PubComp, 0x80),
            "MQTT-3.7.2-1",
        ),
        case(
            "PUBACK with Topic Alias (5.0)",
            V5,
            RawPacket::new(4, 0)
                .u16(1)
                .u8(0)
                .props(&[0x23, 0x00, 0x01])
                .build(),
            not_allowed(P::TopicAlias, T::PubAck),
            "MQTT 5.0 §2.2.2.2",
        ),
        case(
            "PUBCOMP with a byte after its properties (5.0)",
            V5,
            RawPacket::new(7, 0).u16(1).u8(0).u8(0).u8(0xAA).build(),
            K::TrailingBytes { count: 1 },
            "MQTT 5.0 §2.1.4",
        ),
        // ---- SUBSCRIBE -----------------------------------------------------
        case(
            "SUBSCRIBE packet id 0 (3.1.1)",
            V311,
            RawPacket::new(8, 2).u16(0).string("a").u8(0).build(),
            K::ZeroPacketId,
            "MQTT-2.3.1-1",
        ),
        case(
            "SUBSCRIBE packet id 0 (5.0)",
            V5,
            RawPacket::new(8, 2).u16(0).u8(0).string("a").u8(0).build(),
            K::ZeroPacketId,
            "MQTT-2.2.1-3",
        ),
        case(
            "SUBSCRIBE without filters (3.1.1)",
            V311,
            RawPacket::new(8, 2).u16(1).build(),
            K::NoTopicFilters,
            "MQTT-3.8.3-3",
        ),
        case(
            "SUBSCRIBE without filters (5.0)",
            V5,
            RawPacket::new(8, 2).u16(1).u8(0).build(),
            K::NoTopicFilters,
            "MQTT-3.8.3-2",
        ),
        case(
            "SUBSCRIBE options bit 2 (no local) in 3.1.1",
            V311,
            subscribe(V311, b"a", 0x04),
            K::SubscriptionOptionsReserved(0x04),
            "MQTT-3.8.3-4",
        ),
        case(
            "SUBSCRIBE options bit 7 (3.1.1)",
            V311,
            subscribe(V311, b"a", 0x81),
            K::SubscriptionOptionsReserved(0x81),
            "MQTT-3.8.3-4",
        ),
        case(
            "SUBSCRIBE options bit 6 (5.0)",
            V5,
            subscribe(V5, b"a", 0x40),
            K::SubscriptionOptionsReserved(0x40),
            "MQTT-3.8.3-5",
        ),
        case(
            "SUBSCRIBE QoS 3 (3.1.1)",
            V311,
            subscribe(V311, b"a", 0x03),
            K::InvalidQoS(3),
            "MQTT-3.8.3-4",
        ),
        case(
            "SUBSCRIBE QoS 3 (5.0)",
            V5,
            subscribe(V5, b"a", 0x03),
            K::InvalidQoS(3),
            "MQTT 5.0 §3.8.3.1",
        ),
        case(
            "SUBSCRIBE retain handling 3 (5.0)",
            V5,
            subscribe(V5, b"a", 0x31),
            K::RetainHandlingInvalid,
            "MQTT 5.0 §3.8.3.1",
        ),
        case(
            "SUBSCRIBE no local on a shared subscription (5.0)",
            V5,
            subscribe(V5, b"$share/g/a", 0x05),
            K::NoLocalOnSharedSubscription,
            "MQTT-3.8.3-4",
        ),
        case(
            "SUBSCRIBE filter a/#/b (3.1.1)",
            V311,
            subscribe(V311, b"a/#/b", 0),
            K::MultiLevelWildcardNotLast,
            "MQTT-4.7.1-2",
        ),
        case(
            "SUBSCRIBE filter #/a (5.0)",
            V5,
            subscribe(V5, b"#/a", 0),
            K::MultiLevelWildcardNotLast,
            "MQTT-4.7.1-1",
        ),
        case(
            "SUBSCRIBE filter a# (3.1.1)",
            V311,
            subscribe(V311, b"a#", 0),
            K::MultiLevelWildcardNotLast,
            "MQTT-4.7.1-2",
        ),
        case(
            "SUBSCRIBE filter a/b# (5.0)",
            V5,
            subscribe(V5, b"a/b#", 0),
            K::MultiLevelWildcardNotLast,
            "MQTT-4.7.1-1",
        ),
        case(
            "SUBSCRIBE filter a+/b (3.1.1)",
            V311,
            subscribe(V311, b"a+/b", 0),
            K::SingleLevelWildcardNotAlone,
            "MQTT-4.7.1-3",
        ),
        case(
            "SUBSCRIBE filter a+/b (5.0)",
            V5,
            subscribe(V5, b"a+/b", 0),
            K::SingleLevelWildcardNotAlone,
            "MQTT-4.7.1-2",
        ),
        case(
            "SUBSCRIBE empty filter (3.1.1)",
            V311,
            subscribe(V311, b"", 0),
            K::EmptyTopic {
                field: "topic filter",
            },
            "MQTT-4.7.3-1",
        ),
        case(
            "SUBSCRIBE empty filter (5.0)",
            V5,
            subscribe(V5, b"", 0),
            K::EmptyTopic {
                field: "topic filter",
            },
            "MQTT-4.7.3-1",
        ),
        case(
            "SUBSCRIBE filter with overlong C0 80 (3.1.1)",
            V311,
            subscribe(V311, &[b'a', 0xC0, 0x80], 0),
            K::InvalidUtf8 {
                field: "topic filter",
            },
            "MQTT-1.5.3-1",
        ),
        case(
            "SUBSCRIBE filter with surrogate ED A0 80 (5.0)",
            V5,
            subscribe(V5, &[0xED, 0xA0, 0x80], 0),
            K::InvalidUtf8 {
                field: "topic filter",
            },
            "MQTT-1.5.4-1",
        ),
        case(
            "SUBSCRIBE filter with U+0000 (5.0)",
            V5,
            subscribe(V5, b"a/\0", 0),
            K::NullCharacter {
                field: "topic filter",
            },
            "MQTT-1.5.4-2",
        ),
        case(
            "SUBSCRIBE $share//a (5.0)",
            V5,
            subscribe(V5, b"$share//a", 0),
            shared("empty share name"),
            "MQTT-4.8.2-1",
        ),
        case(
            "SUBSCRIBE $share/g+/a (5.0)",
            V5,
            subscribe(V5, b"$share/g+/a", 0),
            shared("wildcard in share name"),
            "MQTT-4.8.2-2",
        ),
        case(
            "SUBSCRIBE $share/g (5.0)",
            V5,
            subscribe(V5, b"$share/g", 0),
            shared("no topic filter after the share name"),
            "MQTT-4.8.2-2",
        ),
        case(
            "SUBSCRIBE $share/g/ (5.0)",
            V5,
            subscribe(V5, b"$share/g/", 0),
            shared("no topic filter after the share name"),
            "MQTT-4.8.2-2",
        ),
        case(
            "SUBSCRIBE filter without options byte (3.1.1)",
            V311,
            RawPacket::new(8, 2).u16(1).string("a").build(),
            truncated("subscription options"),
            "MQTT 3.1.1 §2.2.3",
        ),
        case(
            "SUBSCRIBE two Subscription Identifiers (5.0)",
            V5,
            subscribe5(&[0x0B, 0x01, 0x0B, 0x02]),
            K::DuplicateProperty(P::SubscriptionIdentifier),
            "MQTT 5.0 §2.2.2.2",
        ),
        case(
            "SUBSCRIBE Subscription Identifier 0 (5.0)",
            V5,
            subscribe5(&[0x0B, 0x00]),
            value(P::SubscriptionIdentifier, 0),
            "MQTT 5.0 §3.8.2.1.2",
        ),
        case(
            "SUBSCRIBE with Topic Alias (5.0)",
            V5,
            subscribe5(&[0x23, 0x00, 0x01]),
            not_allowed(P::TopicAlias, T::Subscribe),
            "MQTT 5.0 §2.2.2.2",
        ),
        // ---- SUBACK --------------------------------------------------------
        case(
            "SUBACK packet id 0 (3.1.1)",
            V311,
            RawPacket::new(9, 0).u16(0).u8(0).build(),
            K::ZeroPacketId,
            "MQTT-2.3.1-7",
        ),
        case(
            "SUBACK packet id 0 (5.0)",
            V5,
            RawPacket::new(9, 0).u16(0).u8(0).u8(0).build(),
            K::ZeroPacketId,
            "MQTT-2.2.1-6",
        ),
        case(
            "SUBACK return code 0x03 (3.1.1)",
            V311,
            RawPacket::new(9, 0).u16(1).u8(0x00).u8(0x03).build(),
            reason(T::SubAck, 0x03),
            "MQTT-3.9.3-2",
        ),
        case(
            "SUBACK return code 0x87 (3.1.1 has only 0x80 for failure)",
            V311,
            RawPacket::new(9, 0).u16(1).u8(0x87).build(),
            reason(T::SubAck, 0x87),
            "MQTT-3.9.3-2",
        ),
        case(
            "SUBACK reason code 0x11 (5.0)",
            V5,
            RawPacket::new(9, 0).u16(1).u8(0).u8(0x11).build(),
            reason(T::SubAck, 0x11),
            "MQTT-3.9.3-2",
        ),
        case(
            "SUBACK without return codes (3.1.1)",
            V311,
            RawPacket::new(9, 0).u16(1).build(),
            K::EmptyAcknowledgement,
            "MQTT-3.8.4-5",
        ),
        // ---- UNSUBSCRIBE ---------------------------------------------------
        case(
            "UNSUBSCRIBE packet id 0 (3.1.1)",
            V311,
            RawPacket::new(10, 2).u16(0).string("a").build(),
            K::ZeroPacketId,
            "MQTT-2.3.1-1",
        ),
        case(
            "UNSUBSCRIBE packet id 0 (5.0)",
            V5,
            RawPacket::new(10, 2).u16(0).u8(0).string("a").build(),
            K::ZeroPacketId,
            "MQTT-2.2.1-3",
        ),
        case(
            "UNSUBSCRIBE without filters (3.1.1)",
            V311,
            RawPacket::new(10, 2).u16(1).build(),
            K::NoTopicFilters,
            "MQTT-3.10.3-2",
        ),
        case(
            "UNSUBSCRIBE without filters (5.0)",
            V5,
            RawPacket::new(10, 2).u16(1).u8(0).build(),
            K::NoTopicFilters,
            "MQTT-3.10.3-2",
        ),
        case(
            "UNSUBSCRIBE filter +a (3.1.1)",
            V311,
            unsubscribe(V311, "+a"),
            K::SingleLevelWildcardNotAlone,
            "MQTT-4.7.1-3",
        ),
        case(
            "UNSUBSCRIBE filter a/#/b (5.0)",
            V5,
            unsubscribe(V5, "a/#/b"),
            K::MultiLevelWildcardNotLast,
            "MQTT-4.7.1-1",
        ),
        case(
            "UNSUBSCRIBE $share/g (5.0)",
            V5,
            unsubscribe(V5, "$share/g"),
            shared("no topic filter after the share name"),
            "MQTT-4.8.2-2",
        ),
        // ---- UNSUBACK ------------------------------------------------------
        case(
            "UNSUBACK packet id 0 (3.1.1)",
            V311,
            RawPacket::new(11, 0).u16(0).build(),
            K::ZeroPacketId,
            "MQTT-2.3.1-7",
        ),
        case(
            "UNSUBACK of length 3 (3.1.1)",
            V311,
            RawPacket::new(11, 0).u16(1).u8(0).build(),
            K::TrailingBytes { count: 1 },
            "MQTT 3.1.1 §2.2.3",
        ),
        case(
            "UNSUBACK reason code 0x02 (5.0)",
            V5,
            RawPacket::new(11, 0).u16(1).u8(0).u8(0x02).build(),
            reason(T::UnsubAck, 0x02),
            "MQTT-3.11.3-2",
        ),
        case(
            "UNSUBACK without reason codes (5.0)",
            V5,
            RawPacket::new(11, 0).u16(1).u8(0).build(),
            K::EmptyAcknowledgement,
            "MQTT-3.11.3-2",
        ),
        // ---- PINGREQ / PINGRESP --------------------------------------------
        case(
            "PINGREQ with a body (3.1.1)",
            V311,
            [0xC0, 0x01, 0x00],
            K::TrailingBytes { count: 1 },
            "MQTT 3.1.1 §2.2.3",
        ),
        case(
            "PINGREQ with a body (5.0)",
            V5,
            [0xC0, 0x02, 0x00, 0x00],
            K::TrailingBytes { count: 2 },
            "MQTT 5.0 §2.1.4",
        ),
        case(
            "PINGRESP with a body (5.0)",
            V5,
            [0xD0, 0x01, 0x00],
            K::TrailingBytes { count: 1 },
            "MQTT 5.0 §2.1.4",
        ),
        // ---- DISCONNECT / AUTH ---------------------------------------------
        case(
            "DISCONNECT with a body (3.1.1)",
            V311,
            [0xE0, 0x01, 0x00],
            K::TrailingBytes { count: 1 },
            "MQTT 3.1.1 §2.2.3",
        ),
        case(
            "DISCONNECT reason code 0x01 (5.0)",
            V5,
            [0xE0, 0x01, 0x01],
            reason(T::Disconnect, 0x01),
            "MQTT-3.14.2-1",
        ),
        case(
            "DISCONNECT with Topic Alias (5.0)",
            V5,
            RawPacket::new(14, 0)
                .u8(0)
                .props(&[0x23, 0x00, 0x01])
                .build(),
            not_allowed(P::TopicAlias, T::Disconnect),
            "MQTT 5.0 §2.2.2.2",
        ),
        case(
            "AUTH reason code 0x04 (5.0)",
            V5,
            [0xF0, 0x01, 0x04],
            reason(T::Auth, 0x04),
            "MQTT-3.15.2-1",
        ),
        case(
            "AUTH Authentication Method twice (5.0)",
            V5,
            RawPacket::new(15, 0)
                .u8(0x18)
                .props(&[0x15, 0x00, 0x01, b'x', 0x15, 0x00, 0x01, b'y'])
                .build(),
            K::DuplicateProperty(P::AuthenticationMethod),
            "MQTT 5.0 §2.2.2.2",
        ),
    ]
}

/// Decodes `bytes` with `Decoder::decode` and checks it is refused.
fn decoder_error(decoder: Decoder, bytes: &[u8]) -> Result<DecodeError, String> {
    let mut buf = BytesMut::from(bytes);
    match decoder.decode(&mut buf) {
        Err(e) => Ok(e),
        Ok(Some(p)) => Err(format!("Decoder::decode accepted it: {p:?}")),
        Ok(None) => Err("Decoder::decode wants more bytes".into()),
    }
}

/// Checks one row; `Err` describes every way it went wrong.
fn check(c: &Case) -> Result<(), String> {
    let exact = match decode_exact(&c.bytes, c.version) {
        Err(e) => e,
        Ok(p) => return Err(format!("decode_exact accepted it: {p:?}")),
    };
    let streamed = decoder_error(Decoder::new(c.version), &c.bytes)?;
    let mut problems = Vec::new();
    if exact != streamed {
        problems.push(format!(
            "decode_exact and Decoder::decode disagree: {exact:?} vs {streamed:?}"
        ));
    }
    if exact.kind != c.kind {
        problems.push(format!("kind {:?}, expected {:?}", exact.kind, c.kind));
    }
    let rule = exact.rule.to_string();
    if rule != c.rule {
        problems.push(format!("rule {rule:?}, expected {:?}", c.rule));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[test]
fn malformed_packets_are_refused_with_the_rule_they_break() {
    let failures: Vec<String> = cases()
        .iter()
        .filter_map(|c| {
            check(c).err().map(|why| {
                format!(
                    "  {} [{}] {:02X?}\n      {why}",
                    c.name,
                    c.version,
                    &c.bytes[..]
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        cases().len(),
        failures.join("\n")
    );
}

#[test]
fn the_table_is_large_and_its_names_unique() {
    let cases = cases();
    assert!(cases.len() >= 60, "only {} rows", cases.len());
    let mut seen = HashSet::new();
    for c in &cases {
        assert!(seen.insert(c.name), "duplicate row name {:?}", c.name);
    }
}

/// Statement ids of one spec file.
fn statement_ids(file: &str) -> HashSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../spec")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut lines = text.lines();
    assert_eq!(
        lines.next().map(|h| h.split('\t').next()),
        Some(Some("id")),
        "{file} has no header"
    );
    let ids: HashSet<String> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
        .collect();
    assert!(ids.len() > 100, "{file} has only {} statements", ids.len());
    ids
}

#[test]
fn every_expected_statement_exists_in_its_version_of_the_spec() {
    let specs: HashMap<Version, HashSet<String>> = [
        (V311, statement_ids("mqtt-3.1.1-statements.tsv")),
        (V5, statement_ids("mqtt-5.0-statements.tsv")),
    ]
    .into_iter()
    .collect();
    let rules = cases()
        .into_iter()
        .map(|c| (c.name, c.version, c.rule))
        .chain(too_large().into_iter().map(|c| (c.name, c.version, c.rule)));
    let mut statements = 0;
    for (name, version, rule) in rules {
        if rule.starts_with("MQTT-") {
            statements += 1;
            assert!(
                specs[&version].contains(rule),
                "{name}: {rule} is not a statement of MQTT {version}"
            );
        } else {
            let prefix = format!("MQTT {version} §");
            assert!(
                rule.starts_with(&prefix),
                "{name}: section rule {rule:?} does not start with {prefix:?}"
            );
        }
    }
    assert!(statements > 0);
}

// ---- Packet size limit -----------------------------------------------------

struct TooLarge {
    name: &'static str,
    version: Version,
    max: usize,
    bytes: Bytes,
    size: usize,
    rule: &'static str,
}

fn too_large() -> Vec<TooLarge> {
    let publish = |n: usize| RawPacket::new(3, 0).string("t").bytes(&vec![0; n]).build();
    vec![
        TooLarge {
            name: "PUBLISH of 11 bytes, limit 10 (3.1.1)",
            version: V311,
            max: 10,
            bytes: publish(6),
            size: 11,
            rule: "MQTT 3.1.1 §2.2.3",
        },
        TooLarge {
            name: "PUBLISH of 11 bytes, limit 10 (5.0)",
            version: V5,
            max: 10,
            bytes: publish(6),
            size: 11,
            rule: "MQTT 5.0 §3.1.2.11.4",
        },
        TooLarge {
            name: "PINGREQ over a limit of 1 (5.0)",
            version: V5,
            max: 1,
            bytes: Bytes::from_static(&[0xC0, 0x00]),
            size: 2,
            rule: "MQTT 5.0 §3.1.2.11.4",
        },
        TooLarge {
            name: "header of a 16388-byte PUBLISH alone, limit 1000 (3.1.1)",
            version: V311,
            max: 1000,
            bytes: Bytes::from_static(&[0x30, 0x80, 0x80, 0x01]),
            size: 16388,
            rule: "MQTT 3.1.1 §2.2.3",
        },
    ]
}

#[test]
fn packets_over_the_size_limit_are_refused_before_their_body_arrives() {
    for c in too_large() {
        let decoder = Decoder::new(c.version).with_max_packet_size(c.max);
        let err = decoder_error(decoder, &c.bytes).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(
            err.kind,
            K::PacketTooLarge {
                size: c.size,
                max: c.max
            },
            "{}",
            c.name
        );
        assert_eq!(err.rule.to_string(), c.rule, "{}", c.name);
        // Refused without consuming anything.
        let mut buf = BytesMut::from(&c.bytes[..]);
        assert!(decoder.decode(&mut buf).is_err());
        assert_eq!(&buf[..], &c.bytes[..], "{}: buffer changed", c.name);
    }
}

#[test]
fn a_packet_exactly_at_the_size_limit_is_accepted() {
    let bytes = RawPacket::new(3, 0).string("t").bytes(&[0; 6]).build();
    assert_eq!(bytes.len(), 11);
    for version in [V311, V5] {
        let decoder = Decoder::new(version).with_max_packet_size(11);
        let mut buf = BytesMut::from(&bytes[..]);
        // (5.0 reads the first zero byte after the topic as the Property Length.)
        let result = decoder.decode(&mut buf);
        assert!(
            matches!(result, Ok(Some(Packet::Publish(_)))),
            "[{version}] {result:?}"
        );
        assert!(buf.is_empty());
    }
}

// ---- Inputs the strict decoder must accept --------------------------------

#[test]
fn v5_accepts_a_password_without_a_user_name() {
    let bytes = connect_head(V5, 0x42).string("c").binary(b"secret").build();
    match decode_exact(&bytes, V5) {
        Ok(Packet::Connect(c)) => {
            assert_eq!(c.version, V5);
            assert_eq!(c.username, None);
            assert_eq!(c.password.as_deref(), Some(&b"secret"[..]));
        }
        other => panic!("expected a CONNECT, got {other:?}"),
    }
    // The same flags are refused in 3.1.1 (the MQTT-3.1.2-22 row above).
    let bytes311 = connect_head(V311, 0x42)
        .string("c")
        .binary(b"secret")
        .build();
    assert_eq!(
        decode_exact(&bytes311, V311).map_err(|e| e.kind),
        Err(K::PasswordWithoutUsername)
    );
}

#[test]
fn v5_accepts_an_empty_topic_name_with_a_topic_alias() {
    let bytes = RawPacket::new(3, 0b0010)
        .string("")
        .u16(7)
        .props(&[0x23, 0x00, 0x05])
        .bytes(b"hello")
        .build();
    for decoded in [
        decode_exact(&bytes, V5),
        Decoder::new(V5)
            .decode(&mut BytesMut::from(&bytes[..]))
            .map(|p| p.expect("a whole packet")),
    ] {
        match decoded {
            Ok(Packet::Publish(p)) => {
                assert_eq!(p.topic, "");
                assert_eq!(p.properties.topic_alias, Some(5));
                assert_eq!(p.packet_id, Some(7));
                assert_eq!(&p.payload[..], b"hello");
            }
            other => panic!("expected a PUBLISH, got {other:?}"),
        }
    }
}

#[test]
fn v311_treats_share_filters_as_ordinary_filters() {
    // Valid ordinary filters; in 5.0 only the first is a valid shared subscription.
    for filter in ["$share/g/a", "$share//a", "$share/g"] {
        let bytes = subscribe(V311, filter.as_bytes(), 1);
        match decode_exact(&bytes, V311) {
            Ok(Packet::Subscribe(s)) => {
                assert_eq!(s.filters.len(), 1);
                assert_eq!(s.filters[0].filter, filter);
                assert_eq!(s.filters[0].options.qos, QoS::AtLeastOnce);
            }
            other => panic!("{filter}: expected a SUBSCRIBE, got {other:?}"),
        }
        let bytes = unsubscribe(V311, filter);
        assert!(
            matches!(decode_exact(&bytes, V311), Ok(Packet::Unsubscribe(_))),
            "{filter}: UNSUBSCRIBE refused"
        );
        let in_v5 = decode_exact(&subscribe(V5, filter.as_bytes(), 1), V5);
        assert_eq!(in_v5.is_ok(), filter == "$share/g/a", "{filter}: {in_v5:?}");
    }
}

#[test]
fn a_byte_order_mark_is_kept_in_strings() {
    // MQTT-1.5.3-3 / MQTT-1.5.4-3: EF BB BF is U+FEFF and is not stripped.
    for version in [V311, V5] {
        let r = RawPacket::new(3, 0).binary(b"\xEF\xBB\xBFa/b");
        let r = match version {
            V311 => r,
            V5 => r.u8(0),
        };
        match decode_exact(&r.build(), version) {
            Ok(Packet::Publish(p)) => assert_eq!(p.topic, "\u{FEFF}a/b"),
            other => panic!("[{version}] expected a PUBLISH, got {other:?}"),
        }
    }
}

// ---- Incomplete input ------------------------------------------------------

fn valid_packets() -> Vec<(Version, Packet)> {
    let will = |properties| Will {
        topic: "last/will".into(),
        payload: Bytes::from_static(b"gone"),
        qos: QoS::AtLeastOnce,
        retain: true,
        properties,
    };
    vec![
        (
            V311,
            connect(Connect {
                version: V311,
                clean_start: false,
                keep_alive: 30,
                properties: Properties::default(),
                client_id: "client-1".into(),
                will: Some(will(Properties::default())),
                username: Some("user".into()),
                password: Some(Bytes::from_static(b"pass")),
            }),
        ),
        (
            V5,
            connect(Connect {
                version: V5,
                clean_start: true,
                keep_alive: 0,
                properties: with_props(|p| {
                    p.session_expiry_interval = Some(3600);
                    p.receive_maximum = Some(10);
                    p.authentication_method = Some("SCRAM".into());
                    p.authentication_data = Some(Bytes::from_static(b"\x01\x02"));
                    p.user_properties = vec![("k".into(), "v".into())];
                }),
                client_id: "".into(),
                will: Some(will(with_props(|p| {
                    p.will_delay_interval = Some(5);
                    p.payload_format_indicator = Some(1);
                    p.content_type = Some("text/plain".into());
                }))),
                username: None,
                password: Some(Bytes::from_static(b"pw")),
            }),
        ),
        (
            V5,
            Packet::ConnAck(ConnAck {
                session_present: true,
                reason: ReasonCode::SUCCESS,
                properties: with_props(|p| {
                    p.maximum_qos = Some(1);
                    p.topic_alias_maximum = Some(16);
                    p.assigned_client_identifier = Some("auto-7".into());
                }),
            }),
        ),
        (
            V311,
            Packet::Publish(Publish {
                dup: true,
                qos: QoS::AtLeastOnce,
                retain: false,
                topic: "a/b".into(),
                packet_id: Some(42),
                properties: Properties::default(),
                // Remaining Length in two bytes.
                payload: Bytes::from(vec![0xA5; 300]),
            }),
        ),
        (
            V5,
            Packet::Publish(Publish {
                dup: false,
                qos: QoS::ExactlyOnce,
                retain: true,
                topic: "sensors/1".into(),
                packet_id: Some(65535),
                properties: with_props(|p| {
                    p.topic_alias = Some(3);
                    p.subscription_identifiers = vec![1, 200_000];
                    p.response_topic = Some("reply/here".into());
                    p.user_properties = vec![("a".into(), "1".into()), ("a".into(), "2".into())];
                }),
                // Remaining Length in three bytes.
                payload: Bytes::from(vec![0x5A; 17_000]),
            }),
        ),
        (
            V5,
            Packet::PubAck(Ack {
                packet_id: 9,
                reason: ReasonCode::NO_MATCHING_SUBSCRIBERS,
                properties: with_props(|p| {
                    p.reason_string = Some("nobody".into());
                }),
            }),
        ),
        (V311, Packet::PubRel(Ack::new(9))),
        (
            V5,
            Packet::Subscribe(Subscribe {
                packet_id: 5,
                properties: with_props(|p| {
                    p.subscription_identifiers = vec![12];
                }),
                filters: vec![
                    Subscription {
                        filter: "a/+/c".into(),
                        options: SubscriptionOptions {
                            qos: QoS::ExactlyOnce,
                            no_local: true,
                            retain_as_published: true,
                            retain_handling: RetainHandling::DoNotSend,
                        },
                    },
                    Subscription {
                        filter: "$share/g/#".into(),
                        options: SubscriptionOptions::default(),
                    },
                ],
            }),
        ),
        (
            V311,
            Packet::SubAck(SubAck {
                packet_id: 5,
                properties: Properties::default(),
                reasons: vec![ReasonCode::GRANTED_QOS_2, ReasonCode::UNSPECIFIED_ERROR],
            }),
        ),
        (
            V5,
            Packet::Unsubscribe(Unsubscribe {
                packet_id: 6,
                properties: Properties::default(),
                filters: vec!["a/#".into(), "b".into()],
            }),
        ),
        (
            V5,
            Packet::UnsubAck(UnsubAck {
                packet_id: 6,
                properties: Properties::default(),
                reasons: vec![ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED],
            }),
        ),
        (V311, Packet::PingReq),
        (
            V5,
            Packet::Disconnect(Disconnect {
                reason: ReasonCode::DISCONNECT_WITH_WILL,
                properties: with_props(|p| {
                    p.session_expiry_interval = Some(0);
                }),
            }),
        ),
        (
            V5,
            Packet::Auth(Auth {
                reason: ReasonCode::CONTINUE_AUTHENTICATION,
                properties: with_props(|p| {
                    p.authentication_method = Some("SCRAM".into());
                    p.authentication_data = Some(Bytes::from_static(b"challenge"));
                }),
            }),
        ),
    ]
}

#[test]
fn every_strict_prefix_of_a_valid_packet_is_incomplete_and_left_untouched() {
    for (version, packet) in valid_packets() {
        let mut encoded = BytesMut::new();
        encode(&packet, version, &mut encoded).expect("a valid packet encodes");
        let bytes = encoded.freeze();
        let decoder = Decoder::new(version);

        // The whole packet decodes to itself and is consumed.
        let mut whole = BytesMut::from(&bytes[..]);
        assert_eq!(
            decoder.decode(&mut whole),
            Ok(Some(packet.clone())),
            "{packet:?}"
        );
        assert!(whole.is_empty());

        for len in 0..bytes.len() {
            let prefix = &bytes[..len];
            let mut buf = BytesMut::from(prefix);
            let result = decoder.decode(&mut buf);
            assert!(
                matches!(result, Ok(None)),
                "{} [{version}] prefix of {len}/{} bytes: {result:?}",
                packet.packet_type(),
                bytes.len()
            );
            assert_eq!(buf.len(), len, "{} prefix {len}", packet.packet_type());
            assert!(
                buf[..] == *prefix,
                "{} prefix {len}: bytes changed",
                packet.packet_type()
            );
        }
    }
}

/// The library's table (`protocol::malformed`): every row renders, the
/// decoder refuses every row that is malformed as bytes (the rest decode,
/// and only the connection's state makes them wrong), each row names its
/// rule, and no label is used twice in a version.
/// A label names one run file for both versions: its rows agree on how
/// they are sent and whether the close is required or advised.
#[test]
fn a_label_means_the_same_in_both_versions() {
    use protocol::malformed::rows;
    for r5 in rows(V5) {
        if let Some(r3) = rows(V311).into_iter().find(|r| r.label == r5.label) {
            assert_eq!(r3.sent, r5.sent, "{}", r5.label);
            assert_eq!(r3.expect, r5.expect, "{}", r5.label);
            assert_eq!(r3.forwarded_as_is, r5.forwarded_as_is, "{}", r5.label);
        }
    }
}

#[test]
fn the_library_table_is_refused_by_the_decoder_row_by_row() {
    use protocol::malformed::{rows, Expect};
    use protocol::template::Template;
    for version in [V311, V5] {
        let rows = rows(version);
        assert!(rows.len() >= 60, "{version}: only {} rows", rows.len());
        let statements = statement_ids(match version {
            V311 => "mqtt-3.1.1-statements.tsv",
            V5 => "mqtt-5.0-statements.tsv",
        });
        let mut labels = HashSet::new();
        for r in &rows {
            assert!(
                labels.insert(&r.label),
                "{version}: label {:?} twice",
                r.label
            );
            let bytes = Template::parse(&r.template).unwrap().render().unwrap();
            let decoded = decode_exact(&bytes, version);
            assert_eq!(
                decoded.is_err(),
                r.decoded.is_some(),
                "{version} {}: {decoded:?}",
                r.label
            );
            assert!(
                !r.rule.is_empty(),
                "{version} {}: no rule ({decoded:?})",
                r.label
            );
            if r.rule.starts_with("MQTT-") {
                assert!(
                    statements.contains(&r.rule),
                    "{version} {}: no statement {}",
                    r.label,
                    r.rule
                );
            }
            for id in &r.also {
                assert!(
                    statements.contains(*id),
                    "{version} {}: no statement {id}",
                    r.label
                );
            }
            if let Expect::Advisory(why) = &r.expect {
                assert!(!why.is_empty());
            }
        }
    }
}
