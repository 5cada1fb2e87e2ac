//! SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK, topic matching, overlapping
//! and refused subscriptions, retained messages and wills.

mod support;

use protocol::{Disconnect, Packet, Properties, QoS, ReasonCode, SubscriptionOptions, Version};
use reference_broker::Config;
use support::*;

#[test]
fn mqtt_3_8_4_1_suback_per_filter_in_order() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let c = h.connect(v, "c");
        // 3.1.1 MQTT-3.8.4-1/-2/-4/-5, MQTT-3.9.3-1; 5.0 MQTT-3.8.4-1/-2/-5/-6/-7, MQTT-3.9.3-1.
        let ack = h.subscribe_with(
            c,
            vec![
                sub("a", QoS::ExactlyOnce),
                sub("b/+", QoS::AtMostOnce),
                sub("c/#", QoS::AtLeastOnce),
            ],
        );
        assert_eq!(
            ack.reasons,
            vec![
                ReasonCode::GRANTED_QOS_2,
                ReasonCode::GRANTED_QOS_0,
                ReasonCode::GRANTED_QOS_1
            ]
        );
        assert_eq!(h.broker.session("c").unwrap().subscriptions.len(), 3);
    }
}

#[test]
fn mqtt_3_10_4_unsubscribe_and_unsuback() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let c = h.connect(v, "c");
        h.subscribe(c, "a/+", QoS::AtLeastOnce);
        h.subscribe(c, "b", QoS::AtLeastOnce);
        // MQTT-3.10.4-1: compared character by character, no matching: "a/x"
        // does not remove "a/+".
        let ack = h.unsubscribe(c, &["a/x", "b"]);
        match v {
            Version::V311 => assert!(ack.reasons.is_empty()),
            // 5.0 MQTT-3.11.3-1/-2.
            Version::V5 => assert_eq!(
                ack.reasons,
                vec![ReasonCode::NO_SUBSCRIPTION_EXISTED, ReasonCode::SUCCESS]
            ),
        }
        let p = h.connect(v, "p");
        h.publish(p, "b", b"gone", QoS::AtMostOnce, false);
        h.publish(p, "a/x", b"kept", QoS::AtMostOnce, false);
        // MQTT-3.10.4-2: no new messages for a removed subscription.
        assert_eq!(payloads(&h.publishes(c)), vec!["kept"]);
        // MQTT-3.10.4-5: UNSUBACK even when nothing was removed.
        let ack = h.unsubscribe(c, &["nothing"]);
        if v == Version::V5 {
            assert_eq!(ack.reasons, vec![ReasonCode::NO_SUBSCRIPTION_EXISTED]);
        }
    }
}

#[test]
fn mqtt_3_10_4_3_unsubscribe_completes_deliveries_in_flight() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let c = h.connect(v, "c");
        h.subscribe(c, "t", QoS::ExactlyOnce);
        let p = h.connect(v, "p");
        h.publish(p, "t", b"x", QoS::ExactlyOnce, false);
        let m = h.publishes(c).remove(0);
        h.unsubscribe(c, &["t"]);
        h.ack(c, &m); // PUBREC → PUBREL → PUBCOMP still works.
        assert!(h.broker.session("c").unwrap().outflight.is_empty());
    }
}

#[test]
fn wildcards_match_per_section_4_7() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let c = h.connect(v, "c");
        h.subscribe(c, "sport/tennis/+", QoS::AtMostOnce);
        h.subscribe(c, "news/#", QoS::AtMostOnce);
        h.subscribe(c, "+/+/x", QoS::AtMostOnce);
        let p = h.connect(v, "p");
        for (topic, hit) in [
            ("sport/tennis/player1", true),
            ("sport/tennis/player1/ranking", false),
            ("sport/tennis", false),
            ("news", true), // "#" includes the parent level
            ("news/a/b/c", true),
            ("newsy", false),
            ("a/b/x", true),
            ("a/b/x/y", false),
            ("/b/x", true),            // an empty level is a level
            ("Sport/tennis/p", false), // case-sensitive, MQTT-4.7.3-4
        ] {
            h.publish(p, topic, b"x", QoS::AtMostOnce, false);
            let got = h.publishes(c);
            assert_eq!(got.len(), usize::from(hit), "{v} {topic}");
        }
    }
}

#[test]
fn mqtt_4_7_2_1_dollar_topics_not_matched_by_leading_wildcards() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let c = h.connect(v, "c");
        h.subscribe(c, "#", QoS::AtMostOnce);
        h.subscribe(c, "+/info", QoS::AtMostOnce);
        let d = h.connect(v, "d");
        h.subscribe(d, "$SYS/#", QoS::AtMostOnce);
        h.subscribe(d, "$SYS/+", QoS::AtMostOnce);
        let p = h.connect(v, "p");
        h.publish(p, "$SYS/info", b"sys", QoS::AtMostOnce, false);
        h.publish(p, "x/info", b"plain", QoS::AtMostOnce, false);
        assert_eq!(payloads(&h.publishes(c)), vec!["plain"]);
        // An explicit "$SYS" level matches; one copy for two filters.
        assert_eq!(payloads(&h.publishes(d)), vec!["sys"]);
    }
}

/// One copy per session at the highest QoS of its matching subscriptions
/// (3.1.1 MQTT-3.3.5-1; 5.0 MQTT-3.3.4-2), and in 5.0 with every
/// subscription identifier (MQTT-3.3.4-3/-4).
#[test]
fn overlapping_subscriptions_one_copy_at_max_qos() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let c = h.connect(v, "c");
        if v == Version::V5 {
            let mut props = Properties::default();
            props.subscription_identifiers = vec![1];
            h.subscribe_props(c, vec![sub("a/+", QoS::AtMostOnce)], props);
            let mut props = Properties::default();
            props.subscription_identifiers = vec![2];
            h.subscribe_props(c, vec![sub("a/#", QoS::ExactlyOnce)], props);
            h.subscribe(c, "+/b", QoS::AtLeastOnce);
        } else {
            h.subscribe(c, "a/+", QoS::AtMostOnce);
            h.subscribe(c, "a/#", QoS::ExactlyOnce);
            h.subscribe(c, "+/b", QoS::AtLeastOnce);
        }
        let p = h.connect(v, "p");
        h.publish(p, "a/b", b"x", QoS::ExactlyOnce, false);
        let got = h.publishes(c);
        assert_eq!(got.len(), 1, "{v}: one copy");
        assert_eq!(got[0].qos, QoS::ExactlyOnce);
        if v == Version::V5 {
            let mut ids = got[0].properties.subscription_identifiers.clone();
            ids.sort();
            assert_eq!(ids, vec![1, 2]);
        }
    }
}

#[test]
fn mqtt_3_8_4_3_identical_filter_replaces_subscription() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let c = h.connect(v, "c");
        h.subscribe(c, "t", QoS::ExactlyOnce);
        h.subscribe(c, "t", QoS::AtMostOnce);
        assert_eq!(h.broker.session("c").unwrap().subscriptions.len(), 1);
        let p = h.connect(v, "p");
        h.publish(p, "t", b"x", QoS::ExactlyOnce, false);
        let got = h.publishes(c);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].qos, QoS::AtMostOnce);
    }
}

#[test]
fn refused_filters_get_0x80_or_0x87() {
    let config = Config {
        refused_filters: vec!["secret/#".into(), "exact".into()],
        ..Config::default()
    };
    for v in VERSIONS {
        let mut h = Harness::new(config.clone());
        let c = h.connect(v, "c");
        let ack = h.subscribe_with(
            c,
            vec![
                sub("secret/a", QoS::AtLeastOnce),
                sub("open", QoS::AtLeastOnce),
                sub("exact", QoS::AtMostOnce),
                sub("secret/#", QoS::AtMostOnce),
            ],
        );
        // 3.1.1 0x80 Failure (MQTT-3.9.3-2); 5.0 0x87 Not authorized.
        let no = match v {
            Version::V311 => ReasonCode::UNSPECIFIED_ERROR,
            Version::V5 => ReasonCode::NOT_AUTHORIZED,
        };
        assert_eq!(ack.reasons, vec![no, ReasonCode::GRANTED_QOS_1, no, no]);
        assert_eq!(
            h.broker
                .session("c")
                .unwrap()
                .subscriptions
                .keys()
                .collect::<Vec<_>>(),
            vec!["open"]
        );
        assert!(!h.is_closed(c));
    }
}

#[test]
fn v5_unsupported_features_refused_in_suback() {
    // 5.0 MQTT-3.9.3-2 with 0xA2, 0x9E, 0xA1 (§3.9.3); 3.1.1 MQTT-3.8.3-2 in spirit.
    let config = Config {
        wildcard_subscription_available: false,
        subscription_identifiers_available: false,
        shared_subscription_available: false,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let c = h.connect(Version::V5, "c");
    let ack = h.subscribe_with(
        c,
        vec![
            sub("a/+", QoS::AtMostOnce),
            sub("$share/g/a", QoS::AtMostOnce),
        ],
    );
    assert_eq!(
        ack.reasons,
        vec![
            ReasonCode::WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED,
            ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED
        ]
    );
    let mut props = Properties::default();
    props.subscription_identifiers = vec![5];
    let ack = h.subscribe_props(c, vec![sub("a", QoS::AtMostOnce)], props);
    assert_eq!(
        ack.reasons,
        vec![ReasonCode::SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED]
    );
}

// ---- retained messages ------------------------------------------------------

#[test]
fn retained_store_replace_clear() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let p = h.connect(v, "p");
        // Store (3.1.1 MQTT-3.3.1-5; 5.0 MQTT-3.3.1-5).
        h.publish(p, "r", b"one", QoS::AtLeastOnce, true);
        assert_eq!(&h.broker.retained("r").unwrap().payload[..], b"one");
        // Replace.
        h.publish(p, "r", b"two", QoS::AtMostOnce, true);
        assert_eq!(&h.broker.retained("r").unwrap().payload[..], b"two");
        // RETAIN 0 neither stores nor clears (3.1.1 MQTT-3.3.1-12; 5.0 MQTT-3.3.1-8).
        h.publish(p, "r", b"plain", QoS::AtMostOnce, false);
        assert_eq!(&h.broker.retained("r").unwrap().payload[..], b"two");

        let s = h.connect(v, "s");
        h.subscribe(s, "r", QoS::ExactlyOnce);
        // Sent on subscribe with RETAIN 1 (3.1.1 MQTT-3.3.1-6/-8; 5.0 MQTT-3.3.1-9).
        let got = h.publishes(s);
        assert_eq!(payloads(&got), vec!["two"]);
        assert!(got[0].retain);
        assert_eq!(got[0].qos, QoS::AtMostOnce, "the QoS it was stored with");

        // Forwarded on an established subscription with RETAIN 0
        // (3.1.1 MQTT-3.3.1-9; 5.0 MQTT-3.3.1-12).
        h.publish(p, "r", b"three", QoS::AtLeastOnce, true);
        let got = h.receive_and_ack(s);
        assert_eq!(payloads(&got), vec!["three"]);
        assert!(!got[0].retain);

        // Empty payload clears, and is still forwarded
        // (3.1.1 MQTT-3.3.1-10/-11; 5.0 MQTT-3.3.1-6/-7).
        h.publish(p, "r", b"", QoS::AtMostOnce, true);
        assert!(h.broker.retained("r").is_none());
        let got = h.publishes(s);
        assert_eq!(got.len(), 1);
        assert!(got[0].payload.is_empty());
        let s2 = h.connect(v, "s2");
        h.subscribe(s2, "r", QoS::AtMostOnce);
        h.expect_nothing(s2);
    }
}

#[test]
fn retained_sent_for_every_matching_topic_at_min_qos() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let p = h.connect(v, "p");
        h.publish(p, "r/1", b"a", QoS::ExactlyOnce, true);
        h.publish(p, "r/2", b"b", QoS::AtLeastOnce, true);
        h.publish(p, "other", b"c", QoS::AtLeastOnce, true);
        let s = h.connect(v, "s");
        h.subscribe(s, "r/+", QoS::AtLeastOnce);
        let got = h.publishes(s);
        assert_eq!(payloads(&got), vec!["a", "b"]);
        assert!(got.iter().all(|m| m.retain && m.qos == QoS::AtLeastOnce));
        // A retained message survives the session that published it
        // (3.1.1 MQTT-3.1.2-7).
        h.disconnect(p);
        assert!(h.broker.retained("r/1").is_some());
    }
}

#[test]
fn resubscribe_resends_retained() {
    // 3.1.1 MQTT-3.8.4-3 / 5.0 MQTT-3.8.4-4 with Retain Handling 0.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let p = h.connect(v, "p");
        h.publish(p, "r", b"x", QoS::AtMostOnce, true);
        let s = h.connect(v, "s");
        h.subscribe(s, "r", QoS::AtMostOnce);
        assert_eq!(h.publishes(s).len(), 1);
        h.subscribe(s, "r", QoS::AtMostOnce);
        assert_eq!(h.publishes(s).len(), 1);
    }
}

#[test]
fn retain_unavailable_refuses_retained_publish() {
    // 5.0 MQTT-3.2.2-14 (client side); the server answers 0x9A (§3.2.2.3.5).
    let config = Config {
        retain_available: false,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let p = h.connect(Version::V5, "p");
    let mut m = publish("r", b"x", QoS::AtMostOnce);
    m.retain = true;
    h.send(p, Packet::Publish(m));
    assert_eq!(
        disconnect_reason(&h.recv(p)),
        Some(ReasonCode::RETAIN_NOT_SUPPORTED)
    );
    assert!(h.is_closed(p));
    assert!(h.broker.retained("r").is_none());
}

// ---- wills ---------------------------------------------------------------------

/// A client with a will, and a watcher subscribed to the will topic.
fn with_will(h: &mut Harness, v: Version, w: protocol::Will) -> (Client, Client) {
    let watcher = h.connect(v, "watcher");
    h.subscribe(watcher, "w/#", QoS::ExactlyOnce);
    let mut p = connect(v, "x");
    p.will = Some(w);
    let (c, _) = h.connect_ack(p);
    (c, watcher)
}

#[test]
fn will_published_on_network_close() {
    // 3.1.1 MQTT-3.1.2-8; 5.0 MQTT-3.1.2-8.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let (c, watcher) = with_will(&mut h, v, will("w/x", b"gone", QoS::AtMostOnce, false));
        h.drop_connection(c);
        let got = h.publishes(watcher);
        assert_eq!(payloads(&got), vec!["gone"]);
        assert_eq!(got[0].topic, "w/x");
        // Removed once published (3.1.1 MQTT-3.1.2-10).
        assert!(h.broker.session("x").is_none());
    }
}

#[test]
fn will_published_on_protocol_error() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let (c, watcher) = with_will(&mut h, v, will("w/x", b"gone", QoS::AtMostOnce, false));
        // A PUBLISH with QoS 3 (3.1.1 MQTT-3.3.1-4).
        h.send_raw(c, &[0x36, 0x04, 0, 1, b'a', 0]);
        assert!(h.is_closed(c));
        assert_eq!(payloads(&h.publishes(watcher)), vec!["gone"]);
    }
}

#[test]
fn will_not_published_on_normal_disconnect() {
    // 3.1.1 MQTT-3.14.4-3, MQTT-3.1.2-10; 5.0 MQTT-3.14.4-3.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let (c, watcher) = with_will(&mut h, v, will("w/x", b"gone", QoS::AtMostOnce, false));
        h.disconnect(c);
        h.advance(1_000_000);
        h.expect_nothing(watcher);
    }
}

#[test]
fn will_qos_and_retain() {
    // 3.1.1 MQTT-3.1.2-16/-17; 5.0 MQTT-3.1.2-14/-15.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let (c, watcher) = with_will(&mut h, v, will("w/r", b"gone", QoS::AtLeastOnce, true));
        h.drop_connection(c);
        let got = h.receive_and_ack(watcher);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].qos, QoS::AtLeastOnce);
        assert!(!got[0].retain, "forwarded on an established subscription");
        let stored = h.broker.retained("w/r").expect("retained");
        assert_eq!(&stored.payload[..], b"gone");
        let late = h.connect(v, "late");
        h.subscribe(late, "w/r", QoS::AtLeastOnce);
        let got = h.publishes(late);
        assert!(got[0].retain);
        assert_eq!(got[0].qos, QoS::AtLeastOnce);

        // Will Retain 0: not retained (MQTT-3.1.2-16 / -14).
        let mut h = Harness::default_config();
        let (c, _) = with_will(&mut h, v, will("w/n", b"gone", QoS::AtMostOnce, false));
        h.drop_connection(c);
        assert!(h.broker.retained("w/n").is_none());
    }
}

#[test]
fn will_reaches_offline_kept_sessions() {
    // MQTT-4.5.0-1; 3.1.1 MQTT-3.1.2-5.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let (s, _) = h.connect_persistent(v, "s");
        h.subscribe(s, "w/#", QoS::AtLeastOnce);
        h.disconnect(s);
        let mut p = connect(v, "x");
        p.will = Some(will("w/x", b"gone", QoS::AtLeastOnce, false));
        let (c, _) = h.connect_ack(p);
        h.drop_connection(c);
        let (s, _) = h.connect_persistent(v, "s");
        assert_eq!(payloads(&h.publishes(s)), vec!["gone"]);
    }
}

#[test]
fn v5_will_delay_interval() {
    let mut h = Harness::default_config();
    let watcher = h.connect(Version::V5, "watcher");
    h.subscribe(watcher, "w", QoS::AtMostOnce);
    let mut p = persistent(Version::V5, "x");
    let mut w = will("w", b"late", QoS::AtMostOnce, false);
    w.properties.will_delay_interval = Some(5);
    p.will = Some(w);

    // Published once the delay has passed (MQTT-3.1.2-8).
    let (c, _) = h.connect_ack(p.clone());
    h.drop_connection(c);
    h.advance(4_999);
    h.expect_nothing(watcher);
    h.advance(1);
    assert_eq!(payloads(&h.publishes(watcher)), vec!["late"]);

    // Cancelled by a reconnection before the delay (MQTT-3.1.3-9).
    let (c, _) = h.connect_ack(p.clone());
    h.drop_connection(c);
    h.advance(3_000);
    let mut again = p.clone();
    again.will = None;
    let (c, ack) = h.connect_ack(again);
    assert!(ack.session_present);
    h.advance(10_000);
    h.expect_nothing(watcher);
    h.drop_connection(c);
    h.advance(10_000);
    h.expect_nothing(watcher);

    // Published early when the session ends first (§3.1.3.2.2).
    let mut short = p.clone();
    short.properties.session_expiry_interval = Some(2);
    let (c, _) = h.connect_ack(short);
    h.drop_connection(c);
    h.advance(1_999);
    h.expect_nothing(watcher);
    h.advance(1);
    assert_eq!(payloads(&h.publishes(watcher)), vec!["late"]);
    assert!(h.broker.session("x").is_none());
}

#[test]
fn v5_disconnect_with_will_message_publishes_will() {
    // 5.0 MQTT-3.1.2-8, §3.14.2.1 (0x04 Disconnect with Will Message).
    let mut h = Harness::default_config();
    let (c, watcher) = with_will(
        &mut h,
        Version::V5,
        will("w/x", b"gone", QoS::AtMostOnce, false),
    );
    h.send(
        c,
        Packet::Disconnect(Disconnect {
            reason: ReasonCode::DISCONNECT_WITH_WILL,
            properties: Properties::default(),
        }),
    );
    assert!(h.is_closed(c));
    assert_eq!(payloads(&h.publishes(watcher)), vec!["gone"]);
}

#[test]
fn mqtt_3_14_4_3_v5_only_normal_disconnection_discards_the_will() {
    // 5.0 MQTT-3.14.4-3 / MQTT-3.1.2-10: the will is discarded on DISCONNECT
    // with 0x00 only; a client that disconnects reporting an error keeps it.
    for reason in [ReasonCode::UNSPECIFIED_ERROR, ReasonCode::PROTOCOL_ERROR] {
        let mut h = Harness::default_config();
        let (c, watcher) = with_will(
            &mut h,
            Version::V5,
            will("w/x", b"gone", QoS::AtMostOnce, false),
        );
        h.send(
            c,
            Packet::Disconnect(Disconnect {
                reason,
                properties: Properties::default(),
            }),
        );
        assert!(h.is_closed(c));
        assert_eq!(payloads(&h.publishes(watcher)), vec!["gone"], "{reason:?}");
    }
}

#[test]
fn will_on_takeover() {
    // The old connection is closed by the server: its will is published
    // (3.1.1 §3.1.2.5 "closed by the server"), unless delayed and the
    // session continues (5.0 MQTT-3.1.3-9).
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let watcher = h.connect(v, "watcher");
        h.subscribe(watcher, "w", QoS::AtMostOnce);
        let mut p = persistent(v, "x");
        p.will = Some(will("w", b"gone", QoS::AtMostOnce, false));
        h.connect_ack(p.clone());
        p.will = None;
        h.connect_ack(p);
        assert_eq!(payloads(&h.publishes(watcher)), vec!["gone"]);
    }
    let mut h = Harness::default_config();
    let watcher = h.connect(Version::V5, "watcher");
    h.subscribe(watcher, "w", QoS::AtMostOnce);
    let mut p = persistent(Version::V5, "x");
    let mut w = will("w", b"gone", QoS::AtMostOnce, false);
    w.properties.will_delay_interval = Some(5);
    p.will = Some(w);
    h.connect_ack(p.clone());
    h.connect_ack(p);
    h.advance(60_000);
    h.expect_nothing(watcher);
}

#[test]
fn v5_no_local_and_retain_as_published_options() {
    let mut h = Harness::default_config();
    let c = h.connect(Version::V5, "c");
    h.subscribe_with(
        c,
        vec![sub_opts(
            "t",
            SubscriptionOptions {
                qos: QoS::AtMostOnce,
                no_local: true,
                ..Default::default()
            },
        )],
    );
    // MQTT-3.8.3-3: not sent back to the publisher.
    h.publish(c, "t", b"mine", QoS::AtMostOnce, false);
    h.expect_nothing(c);
    let other = h.connect(Version::V5, "other");
    h.publish(other, "t", b"theirs", QoS::AtMostOnce, false);
    assert_eq!(payloads(&h.publishes(c)), vec!["theirs"]);
}
