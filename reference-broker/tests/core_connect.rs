//! CONNECT / CONNACK, session takeover, keep alive and the connect timeout,
//! against the sans-I/O core. Each test names the statements it checks.

mod support;

use bytes::Bytes;
use protocol::raw::RawPacket;
use protocol::{ConnAck, Packet, Properties, QoS, ReasonCode, Version};
use reference_broker::Config;
use support::*;

fn connack(packets: &[Packet]) -> &ConnAck {
    match packets.first() {
        Some(Packet::ConnAck(a)) => a,
        other => panic!("expected CONNACK, got {other:?}"),
    }
}

/// A refused CONNECT: one CONNACK with this reason and Session Present 0,
/// then the connection closed (MQTT-3.2.2-4/-5, 5.0 MQTT-3.2.2-6/-7).
fn assert_refused(h: &mut Harness, c: Client, got: &[Packet], reason: ReasonCode) {
    assert_eq!(got.len(), 1, "{got:?}");
    let ack = connack(got);
    assert_eq!(ack.reason, reason, "{:?}", c.version);
    assert!(!ack.session_present);
    assert!(h.is_closed(c));
    assert!(h.broker.session("x").is_none());
}

#[test]
fn mqtt_3_1_4_4_and_5_success() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let (c, got) = h.connect_with(connect(v, "x"));
        let ack = connack(&got);
        // 3.1.1 MQTT-3.1.4-4 / 5.0 MQTT-3.1.4-5: CONNACK 0x00; MQTT-3.2.0-1 first.
        assert_eq!(got.len(), 1);
        assert_eq!(ack.reason, ReasonCode::SUCCESS);
        assert!(!ack.session_present);
        assert!(!h.is_closed(c));
        if v == Version::V5 {
            // The broker's limits are announced (§3.2.2.3).
            assert_eq!(ack.properties.receive_maximum, Some(64));
            assert_eq!(ack.properties.topic_alias_maximum, Some(16));
            assert_eq!(ack.properties.maximum_packet_size, Some(1024 * 1024));
            assert_eq!(ack.properties.assigned_client_identifier, None);
            assert_eq!(ack.properties.server_keep_alive, None);
        } else {
            assert!(ack.properties.is_empty());
        }
        // MQTT-3.12.4-1: PINGREQ answered.
        h.send(c, Packet::PingReq);
        assert_eq!(h.recv(c), vec![Packet::PingResp]);
    }
}

#[test]
fn bad_user_name_or_password() {
    // 3.1.1 return code 4 (0x86 here); 5.0 0x86. MQTT-3.1.4-2 (5.0).
    let mut config = Config::default();
    config.users.insert("alice".into(), "secret".into());
    for v in VERSIONS {
        for (user, pass) in [("alice", "wrong"), ("bob", "secret")] {
            let mut h = Harness::new(config.clone());
            let mut p = connect(v, "x");
            p.username = Some(user.into());
            p.password = Some(Bytes::from(pass));
            let (c, got) = h.connect_with(p);
            assert_refused(&mut h, c, &got, ReasonCode::BAD_USER_NAME_OR_PASSWORD);
        }
        // User name without password.
        let mut h = Harness::new(config.clone());
        let mut p = connect(v, "x");
        p.username = Some("alice".into());
        let (c, got) = h.connect_with(p);
        assert_refused(&mut h, c, &got, ReasonCode::BAD_USER_NAME_OR_PASSWORD);
        // The right password.
        let mut h = Harness::new(config.clone());
        let mut p = connect(v, "x");
        p.username = Some("alice".into());
        p.password = Some(Bytes::from("secret"));
        h.connect_ack(p);
    }
}

#[test]
fn not_authorized_without_user_when_anonymous_refused() {
    // 3.1.1 MQTT-3.2.2-4/-5 (return code 5); 5.0 MQTT-3.1.4-2, MQTT-3.2.2-6/-7.
    let config = Config {
        allow_anonymous: false,
        ..Config::default()
    };
    for v in VERSIONS {
        let mut h = Harness::new(config.clone());
        let (c, got) = h.connect_with(connect(v, "x"));
        // 3.1.1 return code 5 / 5.0 0x87.
        assert_refused(&mut h, c, &got, ReasonCode::NOT_AUTHORIZED);
        // On the wire, 3.1.1 carries return code 5.
        if v == Version::V311 {
            let mut h = Harness::new(config.clone());
            let c = h.open(v);
            h.send(c, connect(v, "x"));
            assert_eq!(&h.take_bytes(c)[..], &[0x20, 2, 0, 5]);
        }
    }
}

#[test]
fn mqtt_3_1_3_8_v311_empty_client_id_with_clean_session_0_identifier_rejected() {
    let mut h = Harness::default_config();
    let c = h.open(Version::V311);
    let mut p = connect(Version::V311, "");
    p.clean_start = false;
    h.send(c, p);
    // Return code 0x02 (Identifier rejected), then closed.
    assert_eq!(&h.take_bytes(c)[..], &[0x20, 2, 0, 2]);
    assert!(h.is_closed(c));
}

#[test]
fn mqtt_4_12_0_1_authentication_method_refused_with_0x8c() {
    let mut h = Harness::default_config();
    let mut p = connect(Version::V5, "x");
    p.properties.authentication_method = Some("SCRAM-SHA-1".into());
    let (c, got) = h.connect_with(p);
    assert_refused(&mut h, c, &got, ReasonCode::BAD_AUTHENTICATION_METHOD);
}

#[test]
fn mqtt_3_2_2_12_will_qos_above_maximum_qos_refused() {
    let config = Config {
        maximum_qos: 1,
        ..Config::default()
    };
    let mut h = Harness::new(config.clone());
    let mut p = connect(Version::V5, "x");
    p.will = Some(will("w", b"gone", QoS::ExactlyOnce, false));
    let (c, got) = h.connect_with(p);
    assert_refused(&mut h, c, &got, ReasonCode::QOS_NOT_SUPPORTED);
    // The CONNACK of a 5.0 broker with Maximum QoS 1 says so (MQTT-3.2.2-9).
    let (_, ack) = h.connect_ack(connect(Version::V5, "y"));
    assert_eq!(ack.properties.maximum_qos, Some(1));

    // 3.1.1 has no return code for this: closed without CONNACK
    // (MQTT-3.2.2-6 in 3.1.1).
    let mut h = Harness::new(config);
    let mut p = connect(Version::V311, "x");
    p.will = Some(will("w", b"gone", QoS::ExactlyOnce, false));
    let (c, got) = h.connect_with(p);
    assert!(got.is_empty(), "{got:?}");
    assert!(h.is_closed(c));
}

#[test]
fn mqtt_3_2_2_13_will_retain_refused_when_retain_unavailable() {
    let config = Config {
        retain_available: false,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let mut p = connect(Version::V5, "x");
    p.will = Some(will("w", b"gone", QoS::AtMostOnce, true));
    let (c, got) = h.connect_with(p);
    assert_refused(&mut h, c, &got, ReasonCode::RETAIN_NOT_SUPPORTED);
}

#[test]
fn max_connections_refused_as_server_unavailable_or_busy() {
    // 3.1.1 MQTT-3.2.2-4/-5; 5.0 MQTT-3.2.2-6/-7, MQTT-3.2.2-8.
    let config = Config {
        max_connections: 1,
        ..Config::default()
    };
    for v in VERSIONS {
        let mut h = Harness::new(config.clone());
        h.connect(v, "first");
        let (c, got) = h.connect_with(connect(v, "x"));
        let expected = match v {
            Version::V311 => ReasonCode::SERVER_UNAVAILABLE, // return code 3
            Version::V5 => ReasonCode::SERVER_BUSY,
        };
        assert_refused(&mut h, c, &got, expected);
    }
}

#[test]
fn mqtt_3_1_2_2_unsupported_protocol_level_connack_1_then_close() {
    for level in [3u8, 6, 0] {
        let mut h = Harness::default_config();
        let c = h.open(Version::V311);
        let bytes = RawPacket::new(1, 0)
            .string("MQTT")
            .u8(level)
            .u8(0x02)
            .u16(0)
            .string("x")
            .build();
        h.send_raw(c, &bytes);
        assert_eq!(&h.take_bytes(c)[..], &[0x20, 2, 0, 1], "level {level}");
        assert!(h.is_closed(c));
        assert_eq!(h.broker.connection_count(), 0);
    }
}

#[test]
fn mqtt_3_1_0_1_first_packet_not_connect_closed_without_anything() {
    for v in VERSIONS {
        for first in [
            Packet::PingReq,
            Packet::Publish(publish("a", b"x", QoS::AtMostOnce)),
            Packet::Disconnect(Default::default()),
        ] {
            let mut h = Harness::default_config();
            let c = h.open(v);
            h.send(c, first.clone());
            assert!(h.take_bytes(c).is_empty(), "{first:?}");
            assert!(h.is_closed(c));
        }
    }
}

#[test]
fn mqtt_3_1_4_1_malformed_connect_closed_without_connack() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let c = h.open(v);
        // Reserved connect flag set (MQTT-3.1.2-3).
        let bytes = RawPacket::new(1, 0)
            .string("MQTT")
            .u8(v.level())
            .u8(0x03)
            .u16(0)
            .bytes(if v == Version::V5 { &[0] } else { &[] })
            .string("x")
            .build();
        h.send_raw(c, &bytes);
        assert!(h.take_bytes(c).is_empty());
        assert!(h.is_closed(c));
    }
}

#[test]
fn mqtt_3_1_0_2_second_connect_is_a_protocol_error() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let mut p = connect(v, "x");
        p.will = Some(will("w", b"gone", QoS::AtMostOnce, false));
        let (c, _) = h.connect_ack(p);
        let watcher = h.connect(v, "watcher");
        h.subscribe(watcher, "w", QoS::AtMostOnce);
        h.send(c, connect(v, "x"));
        let got = h.recv(c);
        match v {
            Version::V311 => assert!(got.is_empty(), "{got:?}"),
            // 5.0: DISCONNECT 0x82 first (§4.13).
            Version::V5 => assert_eq!(disconnect_reason(&got), Some(ReasonCode::PROTOCOL_ERROR)),
        }
        assert!(h.is_closed(c));
        // A protocol error is not a normal disconnect: the will goes out.
        assert_eq!(payloads(&h.publishes(watcher)), vec!["gone"]);
    }
}

#[test]
fn mqtt_3_1_4_5_nothing_processed_after_a_refused_connect() {
    let config = Config {
        allow_anonymous: false,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let c = h.open(Version::V311);
    let mut bytes = protocol::encode_to_vec(&connect(Version::V311, "x").into(), Version::V311)
        .expect("encodes");
    bytes.extend(protocol::encode_to_vec(&Packet::PingReq, Version::V311).unwrap());
    h.send_raw(c, &bytes);
    assert_eq!(&h.take_bytes(c)[..], &[0x20, 2, 0, 5]);
    assert!(h.is_closed(c));
}

#[test]
fn mqtt_3_1_3_6_empty_client_id_v311_clean_session_gets_one_assigned() {
    let mut h = Harness::default_config();
    let (_, ack) = h.connect_ack(connect(Version::V311, ""));
    assert!(!ack.session_present);
    assert_eq!(h.broker.sessions().count(), 1);
}

#[test]
fn mqtt_3_2_2_16_empty_client_id_v5_gets_assigned_client_identifier() {
    let mut h = Harness::default_config();
    let (_, a) = h.connect_ack(connect(Version::V5, ""));
    let (_, b) = h.connect_ack(connect(Version::V5, ""));
    let a = a
        .properties
        .assigned_client_identifier
        .clone()
        .expect("assigned");
    let b = b
        .properties
        .assigned_client_identifier
        .clone()
        .expect("assigned");
    assert_ne!(a, b, "unique");
    assert!(h.broker.session(&a).is_some());
    assert!(h.broker.session(&b).is_some());
    // 5.0 also accepts Clean Start 0 with an empty id (a new session).
    let mut p = connect(Version::V5, "");
    p.clean_start = false;
    let (_, ack) = h.connect_ack(p);
    assert!(!ack.session_present);
}

#[test]
fn mqtt_3_2_2_16_assigned_identifier_is_not_one_in_use() {
    // A client took the name the broker would assign next: the broker must
    // pick another, not hand over (or take over) that client's session.
    let mut h = Harness::default_config();
    let (owner, _) = h.connect_persistent(Version::V5, "gauntlet-1");
    h.subscribe(owner, "mine", QoS::AtLeastOnce);
    let (c, ack) = h.connect_ack(persistent(Version::V5, ""));
    assert!(!ack.session_present);
    let assigned = ack.properties.assigned_client_identifier.clone().unwrap();
    assert_ne!(assigned, "gauntlet-1");
    assert!(
        !h.is_closed(owner),
        "the owner of gauntlet-1 was not taken over"
    );
    assert!(!h.is_closed(c));
}

#[test]
fn mqtt_3_1_4_2_and_3_session_takeover_closes_the_old_connection() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let (old, _) = h.connect_persistent(v, "x");
        h.subscribe(old, "t", QoS::AtLeastOnce);
        let (new, ack) = h.connect_persistent(v, "x");
        let got = h.recv(old);
        match v {
            Version::V311 => assert!(got.is_empty(), "{got:?}"),
            // 5.0 MQTT-3.1.4-3: DISCONNECT 0x8E to the old connection.
            Version::V5 => {
                assert_eq!(got.len(), 1);
                assert_eq!(
                    disconnect_reason(&got),
                    Some(ReasonCode::SESSION_TAKEN_OVER)
                );
            }
        }
        assert!(h.is_closed(old));
        assert!(!h.is_closed(new));
        assert!(ack.session_present, "the session continues");
        // Messages now go to the new connection only.
        let p = h.connect(v, "p");
        h.publish(p, "t", b"m", QoS::AtLeastOnce, false);
        assert_eq!(payloads(&h.publishes(new)), vec!["m"]);
        assert!(h.take_bytes(old).is_empty());
    }
}

#[test]
fn clean_session_discards_state_and_session_present_flag() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        // No session yet: Session Present 0 (3.1.1 MQTT-3.2.2-3 / 5.0 MQTT-3.2.2-3).
        let (c, ack) = h.connect_persistent(v, "x");
        assert!(!ack.session_present);
        h.subscribe(c, "t", QoS::AtLeastOnce);
        h.disconnect(c);
        // Kept session: Session Present 1 (3.1.1 MQTT-3.2.2-2, MQTT-3.1.2-4; 5.0 MQTT-3.1.2-5).
        let (c, ack) = h.connect_persistent(v, "x");
        assert!(ack.session_present);
        assert!(h
            .broker
            .session("x")
            .unwrap()
            .subscriptions
            .contains_key("t"));
        h.disconnect(c);
        // Clean start: state discarded, Session Present 0 (3.1.1 MQTT-3.1.2-6,
        // MQTT-3.2.2-1; 5.0 MQTT-3.1.2-4, MQTT-3.2.2-2).
        let (c, ack) = h.connect_ack(connect(v, "x"));
        assert!(!ack.session_present);
        assert!(h.broker.session("x").unwrap().subscriptions.is_empty());
        h.disconnect(c);
        // A clean session (3.1.1) / expiry 0 (5.0) ends with the connection.
        assert!(h.broker.session("x").is_none());
        let (_, ack) = h.connect_persistent(v, "x");
        assert!(!ack.session_present);
    }
}

#[test]
fn mqtt_3_1_2_23_v5_session_expiry_interval() {
    let mut h = Harness::default_config();
    let mut p = persistent(Version::V5, "x");
    p.properties.session_expiry_interval = Some(10);
    let (c, _) = h.connect_ack(p.clone());
    h.subscribe(c, "t", QoS::AtLeastOnce);
    h.disconnect(c);
    // Kept while the interval runs...
    h.advance(9_999);
    assert!(h.broker.session("x").is_some());
    let (c, ack) = h.connect_ack(p.clone());
    assert!(ack.session_present);
    h.disconnect(c);
    // ...and discarded after it (MQTT-4.1.0-2).
    h.advance(10_000);
    assert!(h.broker.session("x").is_none());
    let (_, ack) = h.connect_ack(p);
    assert!(!ack.session_present);
}

#[test]
fn v5_session_expiry_changed_on_disconnect() {
    let mut h = Harness::default_config();
    let (c, _) = h.connect_persistent(Version::V5, "x");
    let mut d = protocol::Disconnect::default();
    d.properties.session_expiry_interval = Some(0);
    h.send(c, Packet::Disconnect(d));
    assert!(h.is_closed(c));
    assert!(
        h.broker.session("x").is_none(),
        "expiry 0 at DISCONNECT ends it"
    );

    // §3.14.2.2.2: 0 on CONNECT, non-zero on DISCONNECT is a Protocol Error.
    let c = h.connect(Version::V5, "y");
    let mut d = protocol::Disconnect::default();
    d.properties.session_expiry_interval = Some(60);
    h.send(c, Packet::Disconnect(d));
    assert_eq!(
        disconnect_reason(&h.recv(c)),
        Some(ReasonCode::PROTOCOL_ERROR)
    );
    assert!(h.is_closed(c));
}

#[test]
fn v5_max_session_expiry_is_announced() {
    // 5.0 §3.2.2.3.2: the Session Expiry Interval the server uses goes in CONNACK; MQTT-3.1.2-23.
    let config = Config {
        max_session_expiry: Some(60),
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let (_, ack) = h.connect_persistent(Version::V5, "x");
    assert_eq!(ack.properties.session_expiry_interval, Some(60));
    assert_eq!(h.broker.session("x").unwrap().expiry_interval, 60);
}

/// Keep alive 10 s: still open at 14.99 s (1.49×... of the limit), closed at
/// 15 s (1.5×), will published (3.1.1 MQTT-3.1.2-24 / 5.0 MQTT-3.1.2-22).
#[test]
fn keep_alive_enforced_at_one_and_a_half_times() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let mut p = connect(v, "x");
        p.keep_alive = 10;
        p.will = Some(will("w", b"gone", QoS::AtMostOnce, false));
        let (c, _) = h.connect_ack(p);
        let watcher = h.connect(v, "watcher");
        h.subscribe(watcher, "w", QoS::AtMostOnce);
        assert_eq!(h.broker.poll_timeout(), Some(h.now + 15_000));

        // Any packet restarts the count.
        h.advance(14_000);
        h.send(c, Packet::PingReq);
        assert_eq!(h.recv(c), vec![Packet::PingResp]);
        h.advance(14_900);
        assert!(!h.is_closed(c), "{v}: open at 1.49 × keep alive");
        h.advance(99);
        assert!(!h.is_closed(c));
        h.advance(1);
        assert!(h.is_closed(c), "{v}: closed at 1.5 × keep alive");
        let got = h.recv(c);
        match v {
            Version::V311 => assert!(got.is_empty()),
            Version::V5 => assert_eq!(
                disconnect_reason(&got),
                Some(ReasonCode::KEEP_ALIVE_TIMEOUT)
            ),
        }
        assert_eq!(payloads(&h.publishes(watcher)), vec!["gone"]);
    }
}

#[test]
fn keep_alive_0_is_never_enforced() {
    // 3.1.1 MQTT-3.1.2-24 / 5.0 MQTT-3.1.2-22 apply to a non-zero Keep Alive only (§3.1.2.10).
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let c = h.connect(v, "x");
        assert_eq!(h.broker.poll_timeout(), None);
        h.advance(10_000_000);
        assert!(!h.is_closed(c));
    }
}

#[test]
fn mqtt_3_2_2_21_server_keep_alive() {
    let config = Config {
        server_keep_alive: Some(5),
        ..Config::default()
    };
    // 5.0: announced in CONNACK and used instead of the client's.
    let mut h = Harness::new(config.clone());
    let mut p = connect(Version::V5, "x");
    p.keep_alive = 60;
    let (c, ack) = h.connect_ack(p);
    assert_eq!(ack.properties.server_keep_alive, Some(5));
    h.advance(7_499);
    assert!(!h.is_closed(c));
    h.advance(1);
    assert!(h.is_closed(c));

    // 3.1.1 has no Server Keep Alive: the client's value holds.
    let mut h = Harness::new(config);
    let mut p = connect(Version::V311, "x");
    p.keep_alive = 60;
    let (c, ack) = h.connect_ack(p);
    assert!(ack.properties.is_empty());
    h.advance(89_999);
    assert!(!h.is_closed(c));
    h.advance(1);
    assert!(h.is_closed(c));
}

#[test]
fn no_connect_within_10_seconds_closes() {
    // §3.1 (3.1.1) / §4.8 (5.0): a server SHOULD close a connection that sends no CONNECT in a reasonable time; MQTT-3.1.0-1.
    let mut h = Harness::default_config();
    let c = h.open(Version::V5);
    assert_eq!(h.broker.poll_timeout(), Some(10_000));
    h.advance(9_999);
    assert!(!h.is_closed(c));
    h.advance(1);
    assert!(h.is_closed(c));
    assert!(h.take_bytes(c).is_empty());
    assert_eq!(h.broker.connection_count(), 0);
    // A CONNECT that arrives in pieces in time is fine.
    let c = h.open(Version::V311);
    let bytes = protocol::encode_to_vec(&connect(Version::V311, "x").into(), Version::V311)
        .expect("encodes");
    h.send_raw(c, &bytes[..3]);
    h.advance(5_000);
    h.send_raw(c, &bytes[3..]);
    h.advance(5_000);
    assert!(!h.is_closed(c));
    assert!(matches!(h.recv(c).as_slice(), [Packet::ConnAck(_)]));
}

#[test]
fn v5_connack_carries_properties_only_when_not_default() {
    // 5.0 MQTT-3.2.2-9, §3.2.2.3.5, .11, .12, .13: only limits that differ from the default are announced.
    let config = Config {
        retain_available: false,
        wildcard_subscription_available: false,
        subscription_identifiers_available: false,
        shared_subscription_available: false,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let (_, ack) = h.connect_ack(connect(Version::V5, "x"));
    let p: &Properties = &ack.properties;
    assert_eq!(p.retain_available, Some(0));
    assert_eq!(p.wildcard_subscription_available, Some(0));
    assert_eq!(p.subscription_identifier_available, Some(0));
    assert_eq!(p.shared_subscription_available, Some(0));
    assert_eq!(p.maximum_qos, None);
}

#[test]
fn shutdown_closes_everyone_v5_told_0x8b() {
    // 5.0 MQTT-3.14.2-1 (0x8B is a DISCONNECT reason), MQTT-3.14.4-2; MQTT-3.14.0-1.
    let mut h = Harness::default_config();
    let a = h.connect(Version::V311, "a");
    let b = h.connect(Version::V5, "b");
    h.shutdown();
    assert!(h.recv(a).is_empty());
    assert_eq!(
        disconnect_reason(&h.recv(b)),
        Some(ReasonCode::SERVER_SHUTTING_DOWN)
    );
    assert!(h.is_closed(a) && h.is_closed(b));
}
