//! MQTT 5.0 only: subscription identifiers and options, shared subscriptions,
//! topic aliases, flow control, maximum packet size, message expiry,
//! forwarded properties, DISCONNECT reasons, AUTH.

mod support;

use bytes::Bytes;
use protocol::raw::RawPacket;
use protocol::{
    Ack, Auth, Packet, Properties, QoS, ReasonCode, RetainHandling, SubscriptionOptions, Version,
};
use reference_broker::Config;
use support::*;

const V5: Version = Version::V5;

fn opts(qos: QoS) -> SubscriptionOptions {
    SubscriptionOptions {
        qos,
        ..SubscriptionOptions::default()
    }
}

fn with_sub_id(id: u32) -> Properties {
    let mut p = Properties::default();
    p.subscription_identifiers = vec![id];
    p
}

#[test]
fn mqtt_3_3_4_3_subscription_identifiers() {
    let mut h = Harness::default_config();
    let c = h.connect(V5, "c");
    h.subscribe_props(c, vec![sub("a/+", QoS::AtLeastOnce)], with_sub_id(42));
    h.subscribe(c, "b", QoS::AtLeastOnce);
    let p = h.connect(V5, "p");
    h.publish(p, "a/x", b"1", QoS::AtMostOnce, false);
    h.publish(p, "b", b"2", QoS::AtMostOnce, false);
    let got = h.publishes(c);
    assert_eq!(got[0].properties.subscription_identifiers, vec![42]);
    assert!(got[1].properties.subscription_identifiers.is_empty());
    // Retained messages sent on subscribe carry it too.
    h.publish(p, "r", b"kept", QoS::AtMostOnce, true);
    h.subscribe_props(c, vec![sub("r", QoS::AtMostOnce)], with_sub_id(7));
    let got = h.publishes(c);
    assert_eq!(got[0].properties.subscription_identifiers, vec![7]);
    // A replacing SUBSCRIBE without an identifier removes it (MQTT-3.8.4-3).
    h.subscribe(c, "a/+", QoS::AtLeastOnce);
    h.publish(p, "a/x", b"3", QoS::AtMostOnce, false);
    assert!(h.publishes(c)[0]
        .properties
        .subscription_identifiers
        .is_empty());
}

#[test]
fn mqtt_3_3_4_6_subscription_identifier_in_client_publish_is_protocol_error() {
    let mut h = Harness::default_config();
    let c = h.connect(V5, "c");
    let mut m = publish("t", b"x", QoS::AtMostOnce);
    m.properties.subscription_identifiers = vec![1];
    h.send(c, Packet::Publish(m));
    assert_eq!(
        disconnect_reason(&h.recv(c)),
        Some(ReasonCode::PROTOCOL_ERROR)
    );
    assert!(h.is_closed(c));
}

#[test]
fn mqtt_3_3_1_12_and_13_retain_as_published() {
    let mut h = Harness::default_config();
    let c = h.connect(V5, "c");
    h.subscribe_with(
        c,
        vec![
            sub_opts(
                "rap",
                SubscriptionOptions {
                    retain_as_published: true,
                    ..opts(QoS::AtMostOnce)
                },
            ),
            sub("plain", QoS::AtMostOnce),
        ],
    );
    let p = h.connect(V5, "p");
    h.publish(p, "rap", b"x", QoS::AtMostOnce, true);
    h.publish(p, "rap", b"y", QoS::AtMostOnce, false);
    h.publish(p, "plain", b"z", QoS::AtMostOnce, true);
    let got = h.publishes(c);
    assert_eq!(
        got.iter().map(|m| m.retain).collect::<Vec<_>>(),
        vec![true, false, false]
    );
}

#[test]
fn mqtt_3_3_1_9_to_11_retain_handling() {
    let mut h = Harness::default_config();
    let p = h.connect(V5, "p");
    h.publish(p, "r", b"kept", QoS::AtMostOnce, true);
    let c = h.connect(V5, "c");
    let with = |rh| {
        vec![sub_opts(
            "r",
            SubscriptionOptions {
                retain_handling: rh,
                ..opts(QoS::AtMostOnce)
            },
        )]
    };
    // 0: at every subscribe.
    h.subscribe_with(c, with(RetainHandling::SendAtSubscribe));
    assert_eq!(h.publishes(c).len(), 1);
    h.subscribe_with(c, with(RetainHandling::SendAtSubscribe));
    assert_eq!(h.publishes(c).len(), 1);
    // 1: only when the subscription is new.
    h.subscribe_with(c, with(RetainHandling::SendIfNew));
    h.expect_nothing(c);
    h.unsubscribe(c, &["r"]);
    h.subscribe_with(c, with(RetainHandling::SendIfNew));
    assert_eq!(h.publishes(c).len(), 1);
    // 2: never.
    h.unsubscribe(c, &["r"]);
    h.subscribe_with(c, with(RetainHandling::DoNotSend));
    h.expect_nothing(c);
}

#[test]
fn shared_subscriptions_round_robin_one_copy_per_group() {
    // 5.0 §4.8.2, MQTT-4.8.2-3.
    let mut h = Harness::default_config();
    let a = h.connect(V5, "a");
    let b = h.connect(V5, "b");
    let other = h.connect(V5, "other");
    let plain = h.connect(V5, "plain");
    h.subscribe(a, "$share/g/t/+", QoS::AtLeastOnce);
    h.subscribe(b, "$share/g/t/+", QoS::AtLeastOnce);
    h.subscribe(other, "$share/h/t/+", QoS::AtLeastOnce);
    h.subscribe(plain, "t/+", QoS::AtLeastOnce);
    let p = h.connect(V5, "p");
    for i in 0..6 {
        h.publish(p, "t/x", format!("{i}").as_bytes(), QoS::AtLeastOnce, false);
    }
    let ga = payloads(&h.receive_and_ack(a));
    let gb = payloads(&h.receive_and_ack(b));
    // One copy per group, alternating between its two members.
    assert_eq!(ga.len() + gb.len(), 6);
    assert_eq!(ga.len(), 3);
    assert_eq!(gb.len(), 3);
    assert!(ga.iter().all(|m| !gb.contains(m)));
    // Every group and every plain subscriber gets all of them.
    assert_eq!(h.receive_and_ack(other).len(), 6);
    assert_eq!(h.receive_and_ack(plain).len(), 6);
}

#[test]
fn shared_subscription_prefers_connected_members_and_no_retained() {
    let mut h = Harness::default_config();
    let p = h.connect(V5, "p");
    h.publish(p, "t", b"old", QoS::AtMostOnce, true);
    let (a, _) = h.connect_persistent(V5, "a");
    let b = h.connect(V5, "b");
    h.subscribe(a, "$share/g/t", QoS::AtLeastOnce);
    h.subscribe(b, "$share/g/t", QoS::AtLeastOnce);
    // No retained messages for a shared subscription (§4.8.2).
    h.expect_nothing(a);
    h.expect_nothing(b);
    h.disconnect(a);
    for i in 0..3 {
        h.publish(p, "t", format!("{i}").as_bytes(), QoS::AtLeastOnce, false);
    }
    assert_eq!(h.receive_and_ack(b).len(), 3);
    assert!(h.broker.session("a").unwrap().queue.is_empty());
}

#[test]
fn mqtt_3_8_3_4_no_local_on_shared_subscription_is_protocol_error() {
    let mut h = Harness::default_config();
    let c = h.connect(V5, "c");
    // SUBSCRIBE id 1, no properties, "$share/g/t" with No Local (0x04).
    let bytes = RawPacket::new(8, 2)
        .u16(1)
        .varint(0)
        .string("$share/g/t")
        .u8(0x04)
        .build();
    h.send_raw(c, &bytes);
    assert_eq!(
        disconnect_reason(&h.recv(c)),
        Some(ReasonCode::PROTOCOL_ERROR)
    );
    assert!(h.is_closed(c));
}

// ---- topic aliases ------------------------------------------------------------

fn aliased(topic: &str, alias: u16, payload: &[u8]) -> protocol::Publish {
    let mut m = publish(topic, payload, QoS::AtMostOnce);
    m.properties.topic_alias = Some(alias);
    m
}

#[test]
fn mqtt_3_3_2_12_inbound_topic_alias_set_then_used() {
    let mut h = Harness::default_config();
    let s = h.connect(V5, "s");
    h.subscribe(s, "long/topic/name", QoS::AtMostOnce);
    let c = h.connect(V5, "c");
    h.send(c, Packet::Publish(aliased("long/topic/name", 16, b"1")));
    h.send(c, Packet::Publish(aliased("", 16, b"2")));
    // Re-mapping the alias to another topic is allowed.
    h.send(c, Packet::Publish(aliased("elsewhere", 16, b"3")));
    h.send(c, Packet::Publish(aliased("", 16, b"4")));
    let got = h.publishes(s);
    assert_eq!(payloads(&got), vec!["1", "2"]);
    assert!(got.iter().all(|m| m.topic == "long/topic/name"));
    assert!(
        got.iter().all(|m| m.properties.topic_alias.is_none()),
        "aliases are per connection, not forwarded"
    );
    assert!(!h.is_closed(c));

    // Not carried to another connection (MQTT-3.3.2-7).
    h.drop_connection(c);
    let c = h.connect(V5, "c");
    h.send(c, Packet::Publish(aliased("", 16, b"5")));
    assert_eq!(
        disconnect_reason(&h.recv(c)),
        Some(ReasonCode::PROTOCOL_ERROR)
    );
    assert!(h.is_closed(c));
}

#[test]
fn unknown_inbound_topic_alias_is_protocol_error() {
    // 5.0 §3.3.2.3.4: an alias with no mapping is a Protocol Error; MQTT-4.13.1-1.
    let mut h = Harness::default_config();
    let c = h.connect(V5, "c");
    h.send(c, Packet::Publish(aliased("", 3, b"x")));
    let got = h.recv(c);
    assert_eq!(disconnect_reason(&got), Some(ReasonCode::PROTOCOL_ERROR));
    assert!(h.is_closed(c));
}

#[test]
fn inbound_topic_alias_above_maximum_is_0x94() {
    // MQTT-3.2.2-17 / MQTT-3.3.2-9 for the client; the server answers 0x94.
    let mut h = Harness::default_config();
    let c = h.connect(V5, "c");
    h.send(c, Packet::Publish(aliased("t", 17, b"x")));
    assert_eq!(
        disconnect_reason(&h.recv(c)),
        Some(ReasonCode::TOPIC_ALIAS_INVALID)
    );
    assert!(h.is_closed(c));

    // With Topic Alias Maximum 0 any alias is invalid (MQTT-3.2.2-18).
    let config = Config {
        topic_alias_maximum: 0,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let (c, ack) = h.connect_ack(connect(V5, "c"));
    assert_eq!(ack.properties.topic_alias_maximum, None);
    h.send(c, Packet::Publish(aliased("t", 1, b"x")));
    assert_eq!(
        disconnect_reason(&h.recv(c)),
        Some(ReasonCode::TOPIC_ALIAS_INVALID)
    );
}

#[test]
fn outbound_topic_aliases_when_client_allows() {
    let mut h = Harness::default_config();
    let mut p = connect(V5, "s");
    p.properties.topic_alias_maximum = Some(1);
    let (s, _) = h.connect_ack(p);
    h.subscribe(s, "#", QoS::AtMostOnce);
    let p = h.connect(V5, "p");
    h.publish(p, "a/b", b"1", QoS::AtMostOnce, false);
    h.publish(p, "a/b", b"2", QoS::AtMostOnce, false);
    h.publish(p, "c", b"3", QoS::AtMostOnce, false);
    let got = h.publishes(s);
    // First: topic and the new alias; then the alias alone (empty topic).
    assert_eq!(got[0].topic, "a/b");
    assert_eq!(got[0].properties.topic_alias, Some(1));
    assert_eq!(got[1].topic, "");
    assert_eq!(got[1].properties.topic_alias, Some(1));
    // No alias above the client's maximum (MQTT-3.1.2-26, MQTT-3.3.2-11).
    assert_eq!(got[2].topic, "c");
    assert_eq!(got[2].properties.topic_alias, None);

    // Topic Alias Maximum absent: no aliases at all (MQTT-3.1.2-27).
    let s2 = h.connect(V5, "s2");
    h.subscribe(s2, "#", QoS::AtMostOnce);
    h.publish(p, "a/b", b"4", QoS::AtMostOnce, false);
    h.publish(p, "a/b", b"5", QoS::AtMostOnce, false);
    assert!(h
        .publishes(s2)
        .iter()
        .all(|m| m.topic == "a/b" && m.properties.topic_alias.is_none()));
}

// ---- flow control and sizes ---------------------------------------------------

#[test]
fn mqtt_3_3_4_9_receive_maximum_respected_outbound() {
    let mut h = Harness::default_config();
    let mut p = connect(V5, "s");
    p.properties.receive_maximum = Some(2);
    let (s, _) = h.connect_ack(p);
    h.subscribe(s, "t", QoS::ExactlyOnce);
    let p = h.connect(V5, "p");
    for i in 0..5 {
        h.publish(
            p,
            "t",
            format!("{i}").as_bytes(),
            qos(1 + (i % 2) as u8),
            false,
        );
    }
    // QoS 0 is not counted (MQTT-4.9.0-2): it still goes out.
    h.publish(p, "t", b"q0", QoS::AtMostOnce, false);
    let got = h.publishes(s);
    assert_eq!(payloads(&got), vec!["0", "1", "q0"]);
    // PUBACK frees a slot.
    h.ack(s, &got[0]);
    let got2 = h.publishes(s);
    assert_eq!(payloads(&got2), vec!["2"]);
    // A QoS 2 message frees its slot at PUBCOMP, not PUBREC.
    let id = got[1].packet_id.unwrap();
    h.send(s, Packet::PubRec(Ack::new(id)));
    assert_eq!(h.recv(s), vec![Packet::PubRel(Ack::new(id))]);
    h.send(s, Packet::PubComp(Ack::new(id)));
    assert_eq!(payloads(&h.publishes(s)), vec!["3"]);
    // Other packets are not held back (MQTT-3.3.4-10).
    h.send(s, Packet::PingReq);
    assert_eq!(h.recv(s), vec![Packet::PingResp]);
}

#[test]
fn inbound_packet_too_large_is_0x95() {
    // 5.0 MQTT-3.2.2-15 (client side), §3.2.2.3.6; 3.1.1 MQTT-4.8.0-1.
    let config = Config {
        max_packet_size: 100,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let (c, ack) = h.connect_ack(connect(V5, "c"));
    assert_eq!(ack.properties.maximum_packet_size, Some(100));
    h.send(
        c,
        Packet::Publish(publish("t", &[0u8; 200], QoS::AtMostOnce)),
    );
    assert_eq!(
        disconnect_reason(&h.recv(c)),
        Some(ReasonCode::PACKET_TOO_LARGE)
    );
    assert!(h.is_closed(c));
    // 3.1.1: closed.
    let c = h.connect(Version::V311, "d");
    h.send(
        c,
        Packet::Publish(publish("t", &[0u8; 200], QoS::AtMostOnce)),
    );
    h.expect_nothing(c);
    assert!(h.is_closed(c));
}

#[test]
fn mqtt_3_1_2_24_and_25_outbound_larger_than_client_maximum_dropped() {
    let mut h = Harness::default_config();
    let mut p = connect(V5, "s");
    p.properties.maximum_packet_size = Some(64);
    let (s, _) = h.connect_ack(p);
    h.subscribe(s, "t", QoS::AtLeastOnce);
    let p = h.connect(V5, "p");
    h.publish(p, "t", &[b'x'; 100], QoS::AtLeastOnce, false);
    h.publish(p, "t", b"small", QoS::AtLeastOnce, false);
    let got = h.publishes(s);
    assert_eq!(payloads(&got), vec!["small"]);
    // Behaves as if the big one was delivered: nothing left for it.
    h.ack(s, &got[0]);
    assert!(h.broker.session("s").unwrap().outflight.is_empty());
    assert!(h.broker.session("s").unwrap().queue.is_empty());
}

#[test]
fn mqtt_3_1_2_24_topic_alias_does_not_push_a_publish_over_the_maximum() {
    // A PUBLISH that fits without a topic alias but not with one: it must go
    // without the alias rather than exceed the client's Maximum Packet Size.
    let mut h = Harness::default_config();
    let p = h.connect(V5, "p");
    let probe_size = |payload_len: usize| {
        let m = publish("t", &vec![b'x'; payload_len], QoS::AtMostOnce);
        protocol::encode_to_vec(&Packet::Publish(m), V5)
            .unwrap()
            .len()
    };
    let max = probe_size(20) as u32;
    let mut c = connect(V5, "s");
    c.properties.maximum_packet_size = Some(max);
    c.properties.topic_alias_maximum = Some(5);
    let (s, _) = h.connect_ack(c);
    h.subscribe(s, "t", QoS::AtMostOnce);
    h.publish(p, "t", &[b'x'; 20], QoS::AtMostOnce, false);
    let bytes = h.take_bytes(s);
    assert!(!bytes.is_empty(), "delivered");
    assert!(bytes.len() <= max as usize, "{} > {max}", bytes.len());
}

#[test]
fn disconnect_reason_string_respects_client_maximum_packet_size() {
    // MQTT-3.14.2-3: no Reason String if it would make DISCONNECT too large.
    let mut h = Harness::default_config();
    let mut c = connect(V5, "s");
    c.properties.maximum_packet_size = Some(10);
    let (s, _) = h.connect_ack(c);
    h.send(s, Packet::Auth(Auth::default()));
    let bytes = h.take_bytes(s);
    assert!(bytes.len() <= 10, "{bytes:?}");
    assert!(h.is_closed(s));
}

// ---- message expiry -------------------------------------------------------------

#[test]
fn mqtt_3_3_2_5_expired_while_queued_not_delivered() {
    let mut h = Harness::default_config();
    let (s, _) = h.connect_persistent(V5, "s");
    h.subscribe(s, "t", QoS::AtLeastOnce);
    h.disconnect(s);
    let p = h.connect(V5, "p");
    let mut m = publish("t", b"short", QoS::AtLeastOnce);
    m.properties.message_expiry_interval = Some(2);
    h.publish_packet(p, m);
    h.publish(p, "t", b"forever", QoS::AtLeastOnce, false);
    h.advance(2_000);
    let (s, _) = h.connect_persistent(V5, "s");
    let got = h.publishes(s);
    assert_eq!(payloads(&got), vec!["forever"]);
    assert_eq!(got[0].properties.message_expiry_interval, None);
    assert_eq!(h.broker.stats().messages_expired, 1);
}

#[test]
fn mqtt_3_3_2_6_forwarded_with_remaining_interval() {
    let mut h = Harness::default_config();
    let (s, _) = h.connect_persistent(V5, "s");
    h.subscribe(s, "t", QoS::AtLeastOnce);
    h.disconnect(s);
    let p = h.connect(V5, "p");
    let mut m = publish("t", b"x", QoS::AtLeastOnce);
    m.properties.message_expiry_interval = Some(10);
    m.retain = true;
    h.publish_packet(p, m);
    h.advance(3_000);
    let (s, _) = h.connect_persistent(V5, "s");
    let got = h.publishes(s);
    assert_eq!(got[0].properties.message_expiry_interval, Some(7));
    // Retained copies count down too, and vanish for new subscribers when expired.
    let late = h.connect(V5, "late");
    h.subscribe(late, "t", QoS::AtLeastOnce);
    assert_eq!(
        h.publishes(late)[0].properties.message_expiry_interval,
        Some(7)
    );
    h.advance(7_000);
    let later = h.connect(V5, "later");
    h.subscribe(later, "t", QoS::AtLeastOnce);
    h.expect_nothing(later);
}

// ---- properties passed through -------------------------------------------------

#[test]
fn mqtt_3_3_2_4_and_15_to_20_properties_forwarded_unaltered() {
    let mut h = Harness::default_config();
    let s = h.connect(V5, "s");
    h.subscribe(s, "t", QoS::AtLeastOnce);
    let v311 = h.connect(Version::V311, "old");
    h.subscribe(v311, "t", QoS::AtLeastOnce);
    let p = h.connect(V5, "p");
    let mut m = publish("t", b"{}", QoS::AtLeastOnce);
    let props = &mut *m.properties;
    props.payload_format_indicator = Some(1);
    props.content_type = Some("application/json".into());
    props.response_topic = Some("reply/here".into());
    props.correlation_data = Some(Bytes::from_static(&[0, 1, 2, 255]));
    props.user_properties = vec![
        ("z".into(), "1".into()),
        ("a".into(), "2".into()),
        ("z".into(), "0".into()),
    ];
    let sent = m.properties.clone();
    h.publish_packet(p, m);
    let got = h.publishes(s);
    assert_eq!(
        got[0].properties, sent,
        "same values, same user property order"
    );
    // A 3.1.1 subscriber gets the message without properties.
    let got = h.publishes(v311);
    assert_eq!(&got[0].payload[..], b"{}");
}

#[test]
fn will_properties_forwarded() {
    // 5.0 MQTT-3.1.3-10, MQTT-3.3.2-6 (expiry counted from publication, §3.1.3.2.4).
    let mut h = Harness::default_config();
    let s = h.connect(V5, "s");
    h.subscribe(s, "w", QoS::AtMostOnce);
    let mut c = connect(V5, "c");
    let mut w = will("w", b"gone", QoS::AtMostOnce, false);
    w.properties.content_type = Some("text/plain".into());
    w.properties.user_properties = vec![("k".into(), "v".into())];
    w.properties.message_expiry_interval = Some(30);
    c.will = Some(w);
    let (c, _) = h.connect_ack(c);
    h.advance(10_000);
    h.drop_connection(c);
    let got = h.publishes(s);
    assert_eq!(
        got[0].properties.content_type.as_deref(),
        Some("text/plain")
    );
    assert_eq!(
        got[0].properties.user_properties,
        vec![("k".to_string(), "v".to_string())]
    );
    // Counted from publication, not from CONNECT.
    assert_eq!(got[0].properties.message_expiry_interval, Some(30));
}

// ---- DISCONNECT and AUTH ---------------------------------------------------------

#[test]
fn server_disconnect_carries_a_reason_string() {
    let mut h = Harness::default_config();
    let c = h.connect(V5, "c");
    h.send(c, Packet::Auth(Auth::default()));
    let got = h.recv(c);
    match got.as_slice() {
        [Packet::Disconnect(d)] => {
            // MQTT-4.12.0-7: AUTH without an Authentication Method → 0x82.
            assert_eq!(d.reason, ReasonCode::PROTOCOL_ERROR);
            assert!(d.properties.reason_string.is_some());
            // MQTT-3.14.2-2: no Session Expiry Interval from the server.
            assert_eq!(d.properties.session_expiry_interval, None);
        }
        other => panic!("{other:?}"),
    }
    assert!(h.is_closed(c));
}

#[test]
fn client_disconnect_with_reason_string_accepted() {
    // 5.0 MQTT-3.14.4-3 (no reply, no will for 0x00), §3.14.2.2.3.
    let mut h = Harness::default_config();
    let c = h.connect(V5, "c");
    let mut d = protocol::Disconnect::default();
    d.properties.reason_string = Some("bye".into());
    h.send(c, Packet::Disconnect(d));
    h.expect_nothing(c);
    assert!(h.is_closed(c));
}

#[test]
fn server_only_packets_from_client_are_protocol_errors() {
    // 5.0 MQTT-4.13.1-1, §4.13.
    for p in [
        Packet::PingResp,
        Packet::ConnAck(Default::default()),
        Packet::SubAck(protocol::SubAck {
            packet_id: 1,
            properties: Properties::default(),
            reasons: vec![ReasonCode::SUCCESS],
        }),
    ] {
        let mut h = Harness::default_config();
        let c = h.connect(V5, "c");
        h.send(c, p);
        assert_eq!(
            disconnect_reason(&h.recv(c)),
            Some(ReasonCode::PROTOCOL_ERROR)
        );
        assert!(h.is_closed(c));
    }
}

#[test]
fn qos2_above_receive_maximum_is_0x93() {
    // 5.0 MQTT-3.3.4-7 (client side), §3.3.4: the server answers 0x93.
    let config = Config {
        receive_maximum: 2,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let (c, ack) = h.connect_ack(connect(V5, "c"));
    assert_eq!(ack.properties.receive_maximum, Some(2));
    for id in 1..=3u16 {
        let mut m = publish("t", b"x", QoS::ExactlyOnce);
        m.packet_id = Some(id);
        h.send(c, Packet::Publish(m));
    }
    let got = h.recv(c);
    assert_eq!(
        got[..2],
        [Packet::PubRec(Ack::new(1)), Packet::PubRec(Ack::new(2))]
    );
    assert_eq!(
        disconnect_reason(&got),
        Some(ReasonCode::RECEIVE_MAXIMUM_EXCEEDED)
    );
    assert!(h.is_closed(c));
}

#[test]
fn mqtt_3_3_4_9_receive_maximum_respected_when_resending_on_resume() {
    // The send quota starts at the new connection's Receive Maximum
    // (MQTT-4.9.0-1/-2): resent messages count against it like new ones.
    let mut h = Harness::default_config();
    let (s, _) = h.connect_persistent(V5, "s");
    h.subscribe(s, "t", QoS::AtLeastOnce);
    let p = h.connect(V5, "p");
    for i in 0..4 {
        h.publish(p, "t", format!("{i}").as_bytes(), QoS::AtLeastOnce, false);
    }
    let first = h.publishes(s);
    assert_eq!(first.len(), 4);
    h.drop_connection(s);
    h.publish(p, "t", b"4", QoS::AtLeastOnce, false);

    let mut c = persistent(V5, "s");
    c.properties.receive_maximum = Some(2);
    let (s, _) = h.connect_ack(c);
    let mut seen = Vec::new();
    loop {
        let got = h.publishes(s);
        if got.is_empty() {
            break;
        }
        assert!(
            got.len() <= 2,
            "at most Receive Maximum unacknowledged: {got:?}"
        );
        for m in &got {
            h.ack(s, m);
        }
        seen.extend(got);
    }
    assert_eq!(payloads(&seen), vec!["0", "1", "2", "3", "4"]);
    // The resent ones keep their ids and carry DUP; the queued one does not.
    for (old, new) in first.iter().zip(&seen) {
        assert_eq!(old.packet_id, new.packet_id);
        assert!(new.dup);
    }
    assert!(!seen[4].dup);
}

#[test]
fn mqtt_3_1_2_25_in_flight_message_too_large_for_the_new_connection_is_discarded() {
    let mut h = Harness::default_config();
    let (s, _) = h.connect_persistent(V5, "s");
    h.subscribe(s, "t", QoS::AtLeastOnce);
    let p = h.connect(V5, "p");
    h.publish(p, "t", &[b'x'; 200], QoS::AtLeastOnce, false);
    h.publish(p, "t", b"small", QoS::AtLeastOnce, false);
    assert_eq!(h.publishes(s).len(), 2);
    h.drop_connection(s);
    let mut c = persistent(V5, "s");
    c.properties.maximum_packet_size = Some(100);
    let (s, _) = h.connect_ack(c);
    let got = h.publishes(s);
    assert_eq!(payloads(&got), vec!["small"]);
    h.ack(s, &got[0]);
    // Behaves as if the large one was delivered: nothing is left in flight.
    assert!(h.broker.session("s").unwrap().outflight.is_empty());
}
