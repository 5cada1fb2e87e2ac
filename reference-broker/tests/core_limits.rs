//! Bad input: malformed packets close the connection (5.0: DISCONNECT with a
//! reason first when already connected), fragmented input is reassembled,
//! and no byte sequence makes the broker panic.

mod support;

use protocol::raw::RawPacket;
use protocol::{Packet, QoS, ReasonCode, Version};
use support::*;

/// Sends `bytes` on a connected client; checks the connection is closed and,
/// in 5.0, that a DISCONNECT with `v5_reason` came first (§4.13,
/// MQTT-4.13.1-1). 3.1.1 closes without sending anything (MQTT-4.8.0-1).
fn assert_rejected(v: Version, bytes: &[u8], v5_reason: ReasonCode, what: &str) {
    let mut h = Harness::default_config();
    let c = h.connect(v, "c");
    h.send_raw(c, bytes);
    let got = h.recv(c);
    match v {
        Version::V311 => assert!(got.is_empty(), "{what}: {got:?}"),
        Version::V5 => {
            assert_eq!(got.len(), 1, "{what}: {got:?}");
            assert_eq!(disconnect_reason(&got), Some(v5_reason), "{what}");
        }
    }
    assert!(h.is_closed(c), "{v} {what}: closed");
    // Anything after is ignored, and the session is gone (clean start).
    h.send_raw(c, &[0xC0, 0x00]);
    h.expect_nothing(c);
    assert!(h.broker.session("c").is_none());
}

fn props(v: Version) -> &'static [u8] {
    match v {
        Version::V311 => &[],
        Version::V5 => &[0],
    }
}

#[test]
fn malformed_packets_close_the_connection() {
    let m = ReasonCode::MALFORMED_PACKET;
    for v in VERSIONS {
        // PUBLISH with QoS 3 (3.1.1 MQTT-3.3.1-4; 5.0 MQTT-3.3.1-4).
        let b = RawPacket::new(3, 0b0110)
            .string("t")
            .u16(1)
            .bytes(props(v))
            .build();
        assert_rejected(v, &b, m, "QoS 3");
        // SUBSCRIBE with reserved flags 0000 (MQTT-3.8.1-1).
        let b = RawPacket::new(8, 0)
            .u16(1)
            .bytes(props(v))
            .string("t")
            .u8(0)
            .build();
        assert_rejected(v, &b, m, "SUBSCRIBE flags");
        // UNSUBSCRIBE with reserved flags 0000 (MQTT-3.10.1-1).
        let b = RawPacket::new(10, 0)
            .u16(1)
            .bytes(props(v))
            .string("t")
            .build();
        assert_rejected(v, &b, m, "UNSUBSCRIBE flags");
        // PINGREQ with flags (3.1.1 MQTT-2.2.2-2; 5.0 MQTT-2.1.3-1).
        assert_rejected(v, &[0xC1, 0x00], m, "PINGREQ flags");
        // DISCONNECT with flags (MQTT-3.14.1-1).
        assert_rejected(v, &[0xE1, 0x00], m, "DISCONNECT flags");
        // A Remaining Length of five bytes (5.0 MQTT-1.5.5-1; 3.1.1 §2.2.3).
        assert_rejected(
            v,
            &[0xC0, 0x80, 0x80, 0x80, 0x80, 0x01],
            m,
            "Remaining Length",
        );
        // Invalid UTF-8 in a topic name (3.1.1 MQTT-1.5.3-1; 5.0 MQTT-1.5.4-1).
        let b = RawPacket::new(3, 0)
            .binary(&[0xC3, 0x28])
            .bytes(props(v))
            .build();
        assert_rejected(v, &b, m, "invalid UTF-8");
        // A null character in a topic name (MQTT-4.7.3-2).
        let b = RawPacket::new(3, 0).binary(b"a\0b").bytes(props(v)).build();
        assert_rejected(v, &b, m, "U+0000");
        // A string longer than the packet.
        let b = RawPacket::new(3, 0).binary_with_length(50, b"abc").build();
        assert_rejected(v, &b, m, "string past the end");
        // SUBSCRIBE with QoS 3 (3.1.1 MQTT-3.8.3-4).
        let b = RawPacket::new(8, 2)
            .u16(1)
            .bytes(props(v))
            .string("t")
            .u8(3)
            .build();
        assert_rejected(v, &b, m, "SUBSCRIBE QoS 3");
        // A PUBACK one byte short.
        assert_rejected(v, &[0x40, 0x01, 0x00], m, "short PUBACK");
        // Packet type 0 (reserved).
        assert_rejected(v, &[0x00, 0x00], m, "type 0");
    }
    // AUTH does not exist in 3.1.1.
    assert_rejected(Version::V311, &[0xF0, 0x00], m, "AUTH in 3.1.1");
}

#[test]
fn protocol_errors_in_packets() {
    for v in VERSIONS {
        // A wildcard in a PUBLISH topic (3.1.1 MQTT-3.3.2-2; 5.0 0x90).
        let b = RawPacket::new(3, 0).string("a/+").bytes(props(v)).build();
        assert_rejected(v, &b, ReasonCode::TOPIC_NAME_INVALID, "wildcard topic");
        // SUBSCRIBE without a filter (3.1.1 MQTT-3.8.3-3; 5.0 MQTT-3.8.3-2).
        let b = RawPacket::new(8, 2).u16(1).bytes(props(v)).build();
        assert_rejected(v, &b, ReasonCode::PROTOCOL_ERROR, "no filters");
        // UNSUBSCRIBE without a filter (MQTT-3.10.3-2).
        let b = RawPacket::new(10, 2).u16(1).bytes(props(v)).build();
        assert_rejected(v, &b, ReasonCode::PROTOCOL_ERROR, "no filters");
    }
    // 5.0: a duplicated property.
    let b = RawPacket::new(3, 0)
        .string("t")
        .varint(4)
        .bytes(&[0x01, 0x00, 0x01, 0x00])
        .build();
    assert_rejected(Version::V5, &b, ReasonCode::PROTOCOL_ERROR, "duplicate");
}

#[test]
fn fragmented_input_is_reassembled() {
    // 5.0 MQTT-4.2-1: an ordered byte stream, split anywhere.
    for v in VERSIONS {
        // The same exchange in one write and one byte at a time.
        let mut stream = Vec::new();
        stream.extend(protocol::encode_to_vec(&connect(v, "c").into(), v).unwrap());
        let s = protocol::Subscribe {
            packet_id: 1,
            properties: Default::default(),
            filters: vec![sub("t", QoS::AtLeastOnce)],
        };
        stream.extend(protocol::encode_to_vec(&Packet::Subscribe(s), v).unwrap());
        let mut m = publish("t", b"hello", QoS::AtLeastOnce);
        m.packet_id = Some(2);
        stream.extend(protocol::encode_to_vec(&Packet::Publish(m), v).unwrap());
        stream.extend(protocol::encode_to_vec(&Packet::PingReq, v).unwrap());

        let mut whole = Harness::default_config();
        let c = whole.open(v);
        whole.send_raw(c, &stream);
        let expected = whole.recv(c);
        assert_eq!(expected.len(), 5, "{expected:?}"); // CONNACK SUBACK PUBACK PUBLISH PINGRESP

        let mut split = Harness::default_config();
        let c = split.open(v);
        for b in &stream {
            split.send_raw(c, std::slice::from_ref(b));
        }
        assert_eq!(split.recv(c), expected);
    }
}

#[test]
fn data_after_close_is_ignored() {
    // 3.1.1 MQTT-4.8.0-1 / 5.0 MQTT-3.14.4-1: nothing more on a closed connection.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let c = h.connect(v, "c");
        h.drop_connection(c);
        h.send(c, Packet::PingReq);
        h.drop_connection(c);
        h.advance(100_000);
        assert_eq!(h.broker.connection_count(), 0);
    }
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Valid packets a client might send, to mutate.
fn samples(v: Version) -> Vec<Vec<u8>> {
    let mut m = publish("a/b", b"payload", QoS::ExactlyOnce);
    m.packet_id = Some(9);
    if v == Version::V5 {
        m.properties.user_properties = vec![("k".into(), "v".into())];
        m.properties.topic_alias = Some(1);
        m.properties.message_expiry_interval = Some(5);
    }
    let mut w = connect(v, "fuzz");
    w.will = Some(will("w", b"x", QoS::AtLeastOnce, true));
    w.keep_alive = 5;
    let packets = vec![
        Packet::from(w),
        Packet::Publish(m),
        Packet::Subscribe(protocol::Subscribe {
            packet_id: 3,
            properties: Default::default(),
            filters: vec![
                sub("a/#", QoS::ExactlyOnce),
                sub("$share/g/x", QoS::AtMostOnce),
            ],
        }),
        Packet::Unsubscribe(protocol::Unsubscribe {
            packet_id: 4,
            properties: Default::default(),
            filters: vec!["a/#".into()],
        }),
        Packet::PubRel(protocol::Ack::new(9)),
        Packet::PubAck(protocol::Ack::new(1)),
        Packet::PubRec(protocol::Ack::new(1)),
        Packet::PubComp(protocol::Ack::new(1)),
        Packet::PingReq,
        Packet::Disconnect(Default::default()),
    ];
    packets
        .iter()
        .map(|p| protocol::encode_to_vec(p, v).unwrap())
        .collect()
}

#[test]
fn never_panics_on_garbage_or_mutated_packets() {
    // 3.1.1 MQTT-4.8.0-1 / 5.0 MQTT-4.13.1-1: bad input closes the connection; the broker survives.
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for v in VERSIONS {
        let samples = samples(v);
        for round in 0..10_000 {
            let mut h = Harness::default_config();
            // Another client subscribed to everything, so routing runs too.
            let watcher = h.connect(v, "watcher");
            h.subscribe(watcher, "#", QoS::ExactlyOnce);
            let c = h.open(v);
            // Usually start with a good CONNECT, so the connected state is
            // exercised; sometimes not.
            if round % 4 != 0 {
                h.send_raw(c, &samples[0]);
            }
            for _ in 0..1 + rng.below(6) {
                let mut bytes = samples[rng.below(samples.len())].clone();
                match rng.below(4) {
                    0 => {
                        // Flip some bits.
                        for _ in 0..1 + rng.below(3) {
                            let i = rng.below(bytes.len());
                            bytes[i] ^= 1 << rng.below(8);
                        }
                    }
                    1 => {
                        // Random bytes.
                        let n = rng.below(40);
                        bytes = (0..n).map(|_| rng.next() as u8).collect();
                    }
                    2 => {
                        // Cut short, then something else.
                        let keep = rng.below(bytes.len());
                        bytes.truncate(keep);
                    }
                    _ => {}
                }
                h.send_raw(c, &bytes);
                // Decoded strictly: the broker must only send valid packets,
                // whatever it got. A mutated CONNECT may have switched the
                // version, and an unsupported protocol level is answered in
                // the 3.1.1 format: either version may be the right one.
                let bytes = h.take_bytes(c);
                if let (Err(a), Err(b)) = (
                    try_decode_all(&bytes, Version::V311),
                    try_decode_all(&bytes, Version::V5),
                ) {
                    panic!("round {round}: {a} / {b}");
                }
                h.recv(watcher);
                let _ = h.is_closed(c); // asserts nothing was sent after Close
            }
            h.advance(rng.below(20_000) as u64);
            h.drop_connection(c);
            h.recv(watcher);
        }
    }
}
