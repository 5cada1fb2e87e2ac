//! PUBLISH at QoS 0, 1 and 2 in both directions, exactly-once delivery,
//! downgrades, retransmission on resume, offline queueing and ordering.

mod support;

use protocol::{Ack, Packet, QoS, ReasonCode, Version};
use reference_broker::Config;
use support::*;

#[test]
fn mqtt_4_3_1_to_3_qos_0_1_2_both_directions() {
    for v in VERSIONS {
        for q in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let mut h = Harness::default_config();
            let s = h.connect(v, "s");
            h.subscribe(s, "t", QoS::ExactlyOnce);
            let p = h.connect(v, "p");
            // Inbound flow: PUBACK / PUBREC-PUBREL-PUBCOMP with the same
            // packet id (3.1.1 MQTT-4.3.2-2, MQTT-4.3.3-2; 5.0 MQTT-4.3.2-4,
            // MQTT-4.3.3-8, -11) — checked inside `publish`.
            h.publish(p, "t", b"hello", q, false);
            let got = h.publishes(s);
            assert_eq!(got.len(), 1, "{v} {q:?}");
            let m = &got[0];
            assert_eq!(m.qos, q);
            assert_eq!(&m.payload[..], b"hello");
            assert_eq!(m.topic, "t");
            assert!(
                !m.dup,
                "MQTT-4.3.1-1 / -4.3.2-1 / -4.3.3-1: DUP 0 first time"
            );
            assert!(!m.retain);
            match q {
                // MQTT-2.3.1-5 (3.1.1) / MQTT-2.2.1-2 (5.0).
                QoS::AtMostOnce => assert_eq!(m.packet_id, None),
                // Non-zero packet id (MQTT-2.2.1-4).
                _ => assert!(m.packet_id.is_some_and(|id| id != 0)),
            }
            // Outbound flow: the subscriber completes it; nothing more is sent.
            h.ack(s, m);
            h.expect_nothing(s);
            assert!(h.broker.session("s").unwrap().outflight.is_empty());
        }
    }
}

#[test]
fn outbound_packet_ids_unused_while_in_flight() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let s = h.connect(v, "s");
        h.subscribe(s, "t", QoS::AtLeastOnce);
        let p = h.connect(v, "p");
        for i in 0..5 {
            h.publish(p, "t", format!("{i}").as_bytes(), QoS::AtLeastOnce, false);
        }
        let got = h.publishes(s);
        let mut ids: Vec<u16> = got.iter().map(|p| p.packet_id.unwrap()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(
            ids.len(),
            5,
            "MQTT-2.3.1-4 / MQTT-2.2.1-4: distinct ids in flight"
        );
    }
}

#[test]
fn mqtt_4_3_3_10_qos2_inbound_resend_before_pubrel_not_delivered_twice() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let s = h.connect(v, "s");
        h.subscribe(s, "t", QoS::ExactlyOnce);
        let p = h.connect(v, "p");
        let mut m = publish("t", b"once", QoS::ExactlyOnce);
        m.packet_id = Some(7);
        h.send(p, Packet::Publish(m.clone()));
        assert_eq!(h.recv(p), vec![Packet::PubRec(Ack::new(7))]);
        // The same packet id again (DUP set, as a client resending would).
        m.dup = true;
        h.send(p, Packet::Publish(m.clone()));
        assert_eq!(
            h.recv(p),
            vec![Packet::PubRec(Ack::new(7))],
            "PUBREC'd again"
        );
        h.send(p, Packet::Publish(m.clone()));
        assert_eq!(h.recv(p), vec![Packet::PubRec(Ack::new(7))]);
        // 3.1.1 MQTT-4.3.3-2 / 5.0 MQTT-4.3.3-10: delivered once only.
        assert_eq!(payloads(&h.publishes(s)), vec!["once"]);
        h.send(p, Packet::PubRel(Ack::new(7)));
        assert_eq!(h.recv(p), vec![Packet::PubComp(Ack::new(7))]);
        // After PUBCOMP the id starts a new message (5.0 MQTT-4.3.3-12).
        m.dup = false;
        m.payload = "again".into();
        h.send(p, Packet::Publish(m));
        assert_eq!(h.recv(p), vec![Packet::PubRec(Ack::new(7))]);
        assert_eq!(payloads(&h.publishes(s)), vec!["again"]);
    }
}

#[test]
fn qos2_receipt_survives_reconnect_until_pubrel() {
    // 3.1.1 MQTT-4.3.3-2 / 5.0 MQTT-4.3.3-10 across connections of one session.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let s = h.connect(v, "s");
        h.subscribe(s, "t", QoS::AtMostOnce);
        let (p, _) = h.connect_persistent(v, "p");
        let mut m = publish("t", b"once", QoS::ExactlyOnce);
        m.packet_id = Some(3);
        h.send(p, Packet::Publish(m.clone()));
        assert_eq!(h.recv(p), vec![Packet::PubRec(Ack::new(3))]);
        h.drop_connection(p);
        let (p, ack) = h.connect_persistent(v, "p");
        assert!(ack.session_present);
        m.dup = true;
        h.send(p, Packet::Publish(m));
        assert_eq!(h.recv(p), vec![Packet::PubRec(Ack::new(3))]);
        h.send(p, Packet::PubRel(Ack::new(3)));
        assert_eq!(h.recv(p), vec![Packet::PubComp(Ack::new(3))]);
        assert_eq!(payloads(&h.publishes(s)), vec!["once"]);
    }
}

#[test]
fn pubrel_for_unknown_id_still_answered() {
    // 3.1.1 MQTT-4.3.3-2 / 5.0 MQTT-4.3.3-11: PUBREL → PUBCOMP; 5.0 says
    // 0x92 Packet Identifier not found.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let c = h.connect(v, "c");
        h.send(c, Packet::PubRel(Ack::new(9)));
        let mut expected = Ack::new(9);
        if v == Version::V5 {
            expected.reason = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
        }
        assert_eq!(h.recv(c), vec![Packet::PubComp(expected)]);
        assert!(!h.is_closed(c));
    }
}

#[test]
fn mqtt_3_8_4_6_delivery_qos_is_min_of_publish_and_subscription() {
    for v in VERSIONS {
        for sq in 0..=2 {
            for pq in 0..=2 {
                let mut h = Harness::default_config();
                let s = h.connect(v, "s");
                h.subscribe(s, "t", qos(sq));
                let p = h.connect(v, "p");
                h.publish(p, "t", b"x", qos(pq), false);
                let got = h.publishes(s);
                assert_eq!(got.len(), 1);
                // 3.1.1 MQTT-3.8.4-6 / 5.0 MQTT-3.8.4-8.
                assert_eq!(got[0].qos, qos(sq.min(pq)), "{v} sub {sq} pub {pq}");
            }
        }
    }
}

#[test]
fn maximum_qos_grants_lower_and_downgrades() {
    let config = Config {
        maximum_qos: 1,
        ..Config::default()
    };
    for v in VERSIONS {
        let mut h = Harness::new(config.clone());
        let s = h.connect(v, "s");
        // 5.0 MQTT-3.2.2-10: QoS 2 subscriptions accepted, granted lower.
        let ack = h.subscribe_with(s, vec![sub("t", QoS::ExactlyOnce)]);
        assert_eq!(ack.reasons, vec![ReasonCode::GRANTED_QOS_1]);
        let p = h.connect(v, "p");
        h.publish(p, "t", b"x", QoS::AtLeastOnce, false);
        assert_eq!(h.publishes(s)[0].qos, QoS::AtLeastOnce);
        // A PUBLISH above Maximum QoS is refused (5.0 DISCONNECT 0x9B, §3.2.2.3.4).
        let mut m = publish("t", b"x", QoS::ExactlyOnce);
        m.packet_id = Some(1);
        h.send(p, Packet::Publish(m));
        let got = h.recv(p);
        if v == Version::V5 {
            assert_eq!(disconnect_reason(&got), Some(ReasonCode::QOS_NOT_SUPPORTED));
        }
        assert!(h.is_closed(p));
    }
}

/// Unacknowledged QoS 1 and 2 messages are resent with DUP=1 and the same
/// packet ids, in the order first sent; PUBREL is resent for messages past
/// PUBREC (3.1.1 MQTT-4.4.0-1, MQTT-4.6.0-1, MQTT-3.3.1-1; 5.0 the same ids).
#[test]
fn unacknowledged_resent_with_dup_in_order_on_resume() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let (s, _) = h.connect_persistent(v, "s");
        h.subscribe(s, "t", QoS::ExactlyOnce);
        let p = h.connect(v, "p");
        h.publish(p, "t", b"a", QoS::AtLeastOnce, false);
        h.publish(p, "t", b"b", QoS::ExactlyOnce, false);
        h.publish(p, "t", b"c", QoS::ExactlyOnce, false);
        h.publish(p, "t", b"d", QoS::AtLeastOnce, false);
        let first = h.publishes(s);
        assert_eq!(payloads(&first), vec!["a", "b", "c", "d"]);
        // "c" gets as far as PUBREC; the others are not acknowledged.
        let c_id = first[2].packet_id.unwrap();
        h.send(s, Packet::PubRec(Ack::new(c_id)));
        assert_eq!(h.recv(s), vec![Packet::PubRel(Ack::new(c_id))]);
        h.drop_connection(s);

        let (s, ack) = h.connect_persistent(v, "s");
        assert!(ack.session_present);
        let got = h.recv(s);
        let mut expected = Vec::new();
        for (i, m) in first.iter().enumerate() {
            if i == 2 {
                // MQTT-4.3.3-6 (5.0): no PUBLISH once PUBREL is sent.
                expected.push(Packet::PubRel(Ack::new(c_id)));
            } else {
                let mut m = m.clone();
                m.dup = true;
                expected.push(Packet::Publish(m));
            }
        }
        assert_eq!(got, expected, "{v}");
        // Completing them leaves nothing in flight, and nothing is sent again.
        for p in &got {
            match p {
                Packet::Publish(m) => h.ack(s, m),
                Packet::PubRel(a) => h.send(s, Packet::PubComp(Ack::new(a.packet_id))),
                _ => unreachable!(),
            }
        }
        h.expect_nothing(s);
        assert!(h.broker.session("s").unwrap().outflight.is_empty());
        h.drop_connection(s);
        let (s, _) = h.connect_persistent(v, "s");
        h.expect_nothing(s);
    }
}

#[test]
fn dup_from_publisher_is_not_propagated() {
    // 3.1.1 MQTT-3.3.1-3 / 5.0 MQTT-3.3.1-3.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let s = h.connect(v, "s");
        h.subscribe(s, "t", QoS::AtLeastOnce);
        let p = h.connect(v, "p");
        let mut m = publish("t", b"x", QoS::AtLeastOnce);
        m.dup = true;
        h.publish_packet(p, m);
        assert!(!h.publishes(s)[0].dup);
    }
}

/// Offline sessions get QoS 1 and 2 messages queued, not QoS 0
/// (3.1.1 MQTT-3.1.2-5; 5.0 MQTT-3.1.2-23, §4.1).
#[test]
fn offline_queueing_of_qos_1_and_2_not_0() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let (s, _) = h.connect_persistent(v, "s");
        h.subscribe(s, "t", QoS::ExactlyOnce);
        h.disconnect(s);
        let p = h.connect(v, "p");
        h.publish(p, "t", b"q0", QoS::AtMostOnce, false);
        h.publish(p, "t", b"q1", QoS::AtLeastOnce, false);
        h.publish(p, "t", b"q2", QoS::ExactlyOnce, false);
        assert_eq!(h.broker.session("s").unwrap().queue.len(), 2);
        let (s, ack) = h.connect_persistent(v, "s");
        assert!(ack.session_present);
        let got = h.publishes(s);
        assert_eq!(payloads(&got), vec!["q1", "q2"]);
        assert_eq!(got[0].qos, QoS::AtLeastOnce);
        assert_eq!(got[1].qos, QoS::ExactlyOnce);
        assert!(!got[0].dup, "first transmission");
    }
}

#[test]
fn offline_queue_bounded_newest_dropped_and_counted() {
    // 3.1.1 MQTT-3.1.2-5 (queued; limits allowed); MQTT-4.6.0-5: what is kept stays in order.
    let config = Config {
        max_queued_messages: 3,
        ..Config::default()
    };
    for v in VERSIONS {
        let mut h = Harness::new(config.clone());
        let (s, _) = h.connect_persistent(v, "s");
        h.subscribe(s, "t", QoS::AtLeastOnce);
        h.disconnect(s);
        let p = h.connect(v, "p");
        for i in 0..5 {
            h.publish(p, "t", format!("m{i}").as_bytes(), QoS::AtLeastOnce, false);
        }
        assert_eq!(h.broker.stats().messages_dropped_queue_full, 2);
        assert_eq!(h.broker.session("s").unwrap().dropped, 2);
        let (s, _) = h.connect_persistent(v, "s");
        assert_eq!(payloads(&h.publishes(s)), vec!["m0", "m1", "m2"]);
    }
}

#[test]
fn max_queued_messages_0_still_delivers_to_connected_clients() {
    // MQTT-4.5.0-1: a matching subscriber gets the message.
    // The queue bound is on messages waiting "beyond those in flight"
    // (Config::max_queued_messages): a connected client with room in flight
    // gets its messages even when nothing may wait.
    let config = Config {
        max_queued_messages: 0,
        ..Config::default()
    };
    for v in VERSIONS {
        let mut h = Harness::new(config.clone());
        let (s, _) = h.connect_persistent(v, "s");
        h.subscribe(s, "t", QoS::AtLeastOnce);
        let p = h.connect(v, "p");
        h.publish(p, "t", b"live", QoS::AtLeastOnce, false);
        assert_eq!(payloads(&h.publishes(s)), vec!["live"]);
        h.disconnect(s);
        h.publish(p, "t", b"offline", QoS::AtLeastOnce, false);
        assert_eq!(h.broker.stats().messages_dropped_queue_full, 1);
    }
}

/// Messages on one topic from one publisher arrive in order, at each QoS and
/// mixed, live and after queueing (3.1.1 MQTT-4.6.0-5/-6; 5.0 MQTT-4.6.0-5/-6).
#[test]
fn ordering_per_topic() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let (s, _) = h.connect_persistent(v, "s");
        h.subscribe(s, "t", QoS::ExactlyOnce);
        let p = h.connect(v, "p");
        let n = 50;
        for i in 0..n {
            h.publish(
                p,
                "t",
                format!("{i}").as_bytes(),
                qos(1 + (i % 2) as u8),
                false,
            );
        }
        // More than max_inflight (32): the rest wait and follow in order.
        let mut all = Vec::new();
        loop {
            let got = h.receive_and_ack(s);
            if got.is_empty() {
                break;
            }
            all.extend(got);
        }
        let expected: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        assert_eq!(payloads(&all), expected, "{v} live");

        h.drop_connection(s);
        for i in 0..n {
            h.publish(p, "t", format!("{i}").as_bytes(), QoS::AtLeastOnce, false);
        }
        let (s, _) = h.connect_persistent(v, "s");
        let mut all = Vec::new();
        loop {
            let got = h.receive_and_ack(s);
            if got.is_empty() {
                break;
            }
            all.extend(got);
        }
        assert_eq!(payloads(&all), expected, "{v} queued");
    }
}

#[test]
fn max_inflight_bounds_unacknowledged_messages() {
    // 5.0 MQTT-4.9.0-1/-2 (3.1.1 has no flow control; max_inflight is the broker's own bound).
    let config = Config {
        max_inflight: 2,
        ..Config::default()
    };
    for v in VERSIONS {
        let mut h = Harness::new(config.clone());
        let s = h.connect(v, "s");
        h.subscribe(s, "t", QoS::AtLeastOnce);
        let p = h.connect(v, "p");
        for i in 0..4 {
            h.publish(p, "t", format!("{i}").as_bytes(), QoS::AtLeastOnce, false);
        }
        let got = h.publishes(s);
        assert_eq!(payloads(&got), vec!["0", "1"]);
        h.ack(s, &got[0]);
        assert_eq!(payloads(&h.publishes(s)), vec!["2"]);
    }
}

#[test]
fn mqtt_4_4_0_2_error_pubrec_ends_the_flow() {
    let mut h = Harness::default_config();
    let s = h.connect(Version::V5, "s");
    h.subscribe(s, "t", QoS::ExactlyOnce);
    let p = h.connect(Version::V5, "p");
    h.publish(p, "t", b"x", QoS::ExactlyOnce, false);
    let m = &h.publishes(s)[0];
    let mut rec = Ack::new(m.packet_id.unwrap());
    rec.reason = ReasonCode::UNSPECIFIED_ERROR;
    h.send(s, Packet::PubRec(rec));
    h.expect_nothing(s);
    assert!(h.broker.session("s").unwrap().outflight.is_empty());
}

#[test]
fn mqtt_3_3_2_3_topic_name_sent_matches_filter_and_is_the_publishers() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let s = h.connect(v, "s");
        h.subscribe(s, "a/+/c", QoS::AtMostOnce);
        let p = h.connect(v, "p");
        h.publish(p, "a/b/c", b"x", QoS::AtMostOnce, false);
        h.publish(p, "a/b/d", b"y", QoS::AtMostOnce, false);
        let got = h.publishes(s);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].topic, "a/b/c");
    }
}
