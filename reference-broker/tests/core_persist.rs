//! Persistence: take_changes → MemoryStore::apply → load → Broker::restore.
//! Sessions (subscriptions, messages in flight and queued, QoS 2 receipts,
//! wills) and retained messages survive a crash
//! (3.1.1 MQTT-4.1.0-1, MQTT-3.1.2-4/-5; 5.0 MQTT-3.1.2-23, MQTT-4.1.0-1).

mod support;

use protocol::{Ack, Packet, QoS, SubscriptionOptions, Version};
use reference_broker::store::Store;
use reference_broker::Config;
use support::*;

#[test]
fn subscriptions_and_retained_survive_a_restart() {
    // 3.1.1 MQTT-3.1.2-4, MQTT-3.1.2-7, MQTT-3.2.2-2; 5.0 MQTT-3.1.2-5, MQTT-3.2.2-3.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let (s, _) = h.connect_persistent(v, "s");
        h.subscribe(s, "a/+", QoS::AtLeastOnce);
        h.subscribe(s, "b", QoS::ExactlyOnce);
        let p = h.connect(v, "p");
        h.publish(p, "r", b"kept", QoS::AtLeastOnce, true);
        h.drop_connection(s);
        let before = h.broker.session("s").cloned().unwrap();

        let mut h = h.restart(Config::default());
        // The restored session is the one that was stored.
        assert_eq!(h.broker.session("s"), Some(&before));
        assert!(
            h.broker.session("p").is_none(),
            "clean sessions are not stored"
        );
        assert_eq!(&h.broker.retained("r").unwrap().payload[..], b"kept");

        let (s, ack) = h.connect_persistent(v, "s");
        assert!(ack.session_present, "{v}");
        let p = h.connect(v, "p");
        h.publish(p, "a/x", b"1", QoS::AtLeastOnce, false);
        h.publish(p, "b", b"2", QoS::ExactlyOnce, false);
        let got = h.publishes(s);
        assert_eq!(payloads(&got), vec!["1", "2"]);
        assert_eq!(got[1].qos, QoS::ExactlyOnce);
        let late = h.connect(v, "late");
        h.subscribe(late, "r", QoS::AtLeastOnce);
        let got = h.publishes(late);
        assert!(got[0].retain);
        assert_eq!(&got[0].payload[..], b"kept");
    }
}

#[test]
fn in_flight_and_queued_messages_survive_and_resume() {
    // MQTT-4.4.0-1, MQTT-3.3.1-1, MQTT-4.6.0-1; 3.1.1 MQTT-3.1.2-5.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let (s, _) = h.connect_persistent(v, "s");
        h.subscribe(s, "t", QoS::ExactlyOnce);
        let p = h.connect(v, "p");
        h.publish(p, "t", b"a", QoS::AtLeastOnce, false);
        h.publish(p, "t", b"b", QoS::ExactlyOnce, false);
        let first = h.publishes(s);
        // "b" gets as far as PUBREL.
        let b_id = first[1].packet_id.unwrap();
        h.send(s, Packet::PubRec(Ack::new(b_id)));
        assert_eq!(h.recv(s), vec![Packet::PubRel(Ack::new(b_id))]);
        h.drop_connection(s);
        // Queued while offline.
        h.publish(p, "t", b"c", QoS::AtLeastOnce, false);
        h.publish(p, "t", b"d", QoS::ExactlyOnce, false);

        let mut h = h.restart(Config::default());
        let (s, ack) = h.connect_persistent(v, "s");
        assert!(ack.session_present);
        let got = h.recv(s);
        let mut a = first[0].clone();
        a.dup = true;
        assert_eq!(got[0], Packet::Publish(a), "{v}: resent with DUP, same id");
        assert_eq!(got[1], Packet::PubRel(Ack::new(b_id)));
        let rest: Vec<_> = got[2..]
            .iter()
            .map(|p| match p {
                Packet::Publish(m) => m.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(payloads(&rest), vec!["c", "d"]);
        assert!(rest.iter().all(|m| !m.dup));
        // Their packet ids are not the ones still in flight.
        for m in &rest {
            assert_ne!(m.packet_id, first[0].packet_id);
            assert_ne!(m.packet_id, Some(b_id));
        }
    }
}

#[test]
fn qos2_receipts_survive_a_restart() {
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let s = h.connect(v, "s");
        h.subscribe(s, "t", QoS::AtMostOnce);
        let (p, _) = h.connect_persistent(v, "p");
        let mut m = publish("t", b"once", QoS::ExactlyOnce);
        m.packet_id = Some(5);
        h.send(p, Packet::Publish(m.clone()));
        assert_eq!(h.recv(p), vec![Packet::PubRec(Ack::new(5))]);
        assert_eq!(payloads(&h.publishes(s)), vec!["once"]);

        let mut h = h.restart(Config::default());
        let s = h.connect(v, "s");
        h.subscribe(s, "t", QoS::AtMostOnce);
        let (p, ack) = h.connect_persistent(v, "p");
        assert!(ack.session_present);
        m.dup = true;
        h.send(p, Packet::Publish(m));
        // MQTT-4.3.3-10 (5.0) / MQTT-4.3.3-2 (3.1.1): acknowledged, not
        // delivered again.
        assert_eq!(h.recv(p), vec![Packet::PubRec(Ack::new(5))]);
        h.expect_nothing(s);
        h.send(p, Packet::PubRel(Ack::new(5)));
        assert_eq!(h.recv(p), vec![Packet::PubComp(Ack::new(5))]);
    }
}

#[test]
fn connected_sessions_lose_their_connection_in_a_crash_and_wills_go_out() {
    // MQTT-3.1.2-8: the crash closed the connection without DISCONNECT.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let (w, _) = h.connect_persistent(v, "watcher");
        h.subscribe(w, "will/#", QoS::AtLeastOnce);
        h.drop_connection(w);
        let mut c = persistent(v, "x");
        c.will = Some(will("will/x", b"crashed", QoS::AtLeastOnce, true));
        h.connect_ack(c);

        // The broker dies with "x" connected.
        let mut h = h.restart(Config::default());
        assert!(h.broker.session("x").unwrap().conn.is_none());
        assert_eq!(
            &h.broker.retained("will/x").unwrap().payload[..],
            b"crashed"
        );
        let (w, _) = h.connect_persistent(v, "watcher");
        assert_eq!(payloads(&h.publishes(w)), vec!["crashed"]);
        let (_, ack) = h.connect_persistent(v, "x");
        assert!(ack.session_present);
    }
}

#[test]
fn a_clean_session_connected_at_a_crash_has_its_will_published_at_the_restart() {
    // MQTT-3.1.2-8: the crash closed the connection without DISCONNECT; the
    // session ended with it, the will did not. 5.0: a Will Delay Interval
    // longer than the (zero) session expiry is cut short by the session's end.
    for v in VERSIONS {
        for delay in [None, Some(30)] {
            let mut h = Harness::default_config();
            let (w, _) = h.connect_persistent(v, "watcher");
            h.subscribe(w, "will/#", QoS::AtLeastOnce);
            h.drop_connection(w);
            let mut c = connect(v, "x");
            let mut wm = will("will/x", b"crashed", QoS::AtLeastOnce, false);
            if v == Version::V5 {
                wm.properties.will_delay_interval = delay;
            }
            c.will = Some(wm);
            h.connect_ack(c);
            // A clean session without a will is still not stored.
            h.connect(v, "plain");

            let mut h = h.restart(Config::default());
            assert!(h.broker.session("x").is_none(), "{v}: the session ended");
            assert!(h.broker.session("plain").is_none(), "{v}");
            let (w, _) = h.connect_persistent(v, "watcher");
            let got = h.publishes(w);
            assert_eq!(payloads(&got), vec!["crashed"], "{v} {delay:?}");
            h.send(w, Packet::PubAck(Ack::new(got[0].packet_id.unwrap())));
            // Published once: the ended session left the store with its will.
            let mut h = h.restart(Config::default());
            let (w, _) = h.connect_persistent(v, "watcher");
            h.expect_nothing(w);
        }
    }
}

#[test]
fn a_clean_session_that_disconnects_leaves_nothing_for_a_restart() {
    // MQTT-3.1.2-10: DISCONNECT removes the will; the session ends with the
    // connection, so the store must forget it.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let (w, _) = h.connect_persistent(v, "watcher");
        h.subscribe(w, "will/#", QoS::AtLeastOnce);
        h.drop_connection(w);
        let mut c = connect(v, "x");
        c.will = Some(will("will/x", b"crashed", QoS::AtLeastOnce, false));
        let (x, _) = h.connect_ack(c);
        h.send(x, Packet::Disconnect(Default::default()));

        let mut h = h.restart(Config::default());
        assert!(h.broker.session("x").is_none(), "{v}");
        let (w, _) = h.connect_persistent(v, "watcher");
        h.expect_nothing(w);
    }
}

#[test]
fn v5_delayed_will_and_session_expiry_continue_after_restart() {
    // 5.0 MQTT-3.1.2-8, MQTT-4.1.0-2.
    let mut h = Harness::default_config();
    let (w, _) = h.connect_persistent(Version::V5, "watcher");
    h.subscribe(w, "will", QoS::AtLeastOnce);
    let mut c = persistent(Version::V5, "x");
    c.properties.session_expiry_interval = Some(100);
    let mut wm = will("will", b"late", QoS::AtLeastOnce, false);
    wm.properties.will_delay_interval = Some(10);
    c.will = Some(wm);
    let (x, _) = h.connect_ack(c);
    h.drop_connection(x);
    h.advance(4_000);

    let mut h = h.restart(Config::default());
    let (w, _) = h.connect_persistent(Version::V5, "watcher");
    h.advance(5_999);
    h.expect_nothing(w);
    h.advance(1);
    assert_eq!(payloads(&h.receive_and_ack(w)), vec!["late"]);
    // The session expires 100 s after the disconnection, not after restart.
    h.advance(100_000 - 10_000 - 1);
    assert!(h.broker.session("x").is_some());
    h.advance(1);
    assert!(h.broker.session("x").is_none());
    assert!(h
        .store
        .load()
        .unwrap()
        .sessions
        .iter()
        .all(|s| s.client_id != "x"));
}

#[test]
fn ended_sessions_and_cleared_retained_leave_the_store() {
    // 3.1.1 MQTT-3.1.2-6, MQTT-3.3.1-11; 5.0 MQTT-3.1.2-4, MQTT-3.3.1-7.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let (s, _) = h.connect_persistent(v, "s");
        h.publish(s, "r", b"x", QoS::AtMostOnce, true);
        h.disconnect(s);
        let snap = h.store.load().unwrap();
        assert_eq!(snap.sessions.len(), 1);
        assert_eq!(snap.retained.len(), 1);
        // Clean start ends the session; an empty retained message clears.
        let s = h.connect(v, "s");
        h.publish(s, "r", b"", QoS::AtMostOnce, true);
        h.disconnect(s);
        let snap = h.store.load().unwrap();
        assert!(snap.sessions.is_empty(), "{:?}", snap.sessions);
        assert!(snap.retained.is_empty());
        let h = h.restart(Config::default());
        assert!(h.broker.session("s").is_none());
        assert!(h.broker.retained("r").is_none());
    }
}

#[test]
fn v5_subscription_options_and_message_properties_survive() {
    // 5.0 MQTT-3.3.4-3, MQTT-3.3.2-6, MQTT-3.3.2-16/-18, MQTT-3.8.3-3, MQTT-3.3.1-13.
    let mut h = Harness::default_config();
    let (s, _) = h.connect_persistent(Version::V5, "s");
    let mut props = protocol::Properties::default();
    props.subscription_identifiers = vec![77];
    h.subscribe_props(
        s,
        vec![sub_opts(
            "t",
            SubscriptionOptions {
                qos: QoS::AtLeastOnce,
                no_local: true,
                retain_as_published: true,
                retain_handling: protocol::RetainHandling::SendIfNew,
            },
        )],
        props,
    );
    h.disconnect(s);
    let p = h.connect(Version::V5, "p");
    let mut m = publish("t", b"x", QoS::AtLeastOnce);
    m.retain = true;
    m.properties.user_properties = vec![("b".into(), "1".into()), ("a".into(), "2".into())];
    m.properties.correlation_data = Some(bytes::Bytes::from_static(b"\x00\xff"));
    m.properties.message_expiry_interval = Some(60);
    h.publish_packet(p, m);
    h.advance(10_000);

    let mut h = h.restart(Config::default());
    h.advance(10_000);
    let (s, _) = h.connect_persistent(Version::V5, "s");
    let got = h.publishes(s);
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert!(m.retain, "retain as published kept");
    assert_eq!(m.properties.subscription_identifiers, vec![77]);
    assert_eq!(
        m.properties.user_properties,
        vec![
            ("b".to_string(), "1".to_string()),
            ("a".to_string(), "2".to_string())
        ]
    );
    assert_eq!(
        m.properties.correlation_data.as_deref(),
        Some(&b"\x00\xff"[..])
    );
    assert_eq!(m.properties.message_expiry_interval, Some(40));
    // No Local survived: the subscriber's own message is not sent back.
    h.publish(s, "t", b"own", QoS::AtMostOnce, false);
    h.expect_nothing(s);
}

#[test]
fn restored_session_state_equals_stored_state() {
    // MQTT-4.1.0-1: Session State kept for the whole session.
    // Every change is written before the actions it explains: at any point
    // the store's view, restored, is the live state of disconnected sessions.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let (s, _) = h.connect_persistent(v, "s");
        h.subscribe(s, "t", QoS::ExactlyOnce);
        let p = h.connect(v, "p");
        for i in 0..5u8 {
            h.publish(p, "t", &[i], qos(1 + i % 2), i == 4);
        }
        let got = h.publishes(s);
        h.ack(s, &got[0]);
        h.send(s, Packet::PubRec(Ack::new(got[1].packet_id.unwrap())));
        h.drop_connection(s);
        h.publish(p, "t", b"queued", QoS::AtLeastOnce, false);
        let live = h.broker.session("s").cloned().unwrap();
        let restored = h.restart(Config::default());
        assert_eq!(restored.broker.session("s"), Some(&live), "{v}");
        assert_eq!(restored.broker.retained("t"), h.broker.retained("t"));
    }
}

#[test]
fn v5_a_second_crash_does_not_restart_the_clocks() {
    // The loss of the connection, noticed at restore, is itself stored: a
    // second crash must not move the session's expiry or a delayed will
    // (MQTT-4.1.0-2, MQTT-3.1.2-8).
    let mut h = Harness::default_config();
    let (w, _) = h.connect_persistent(Version::V5, "watcher");
    h.subscribe(w, "will", QoS::AtLeastOnce);
    h.drop_connection(w);
    let mut c = persistent(Version::V5, "x");
    c.properties.session_expiry_interval = Some(100);
    let mut wm = will("will", b"late", QoS::AtLeastOnce, false);
    wm.properties.will_delay_interval = Some(60);
    c.will = Some(wm);
    h.connect_ack(c);

    let mut h = h.restart(Config::default()); // t = 0: "x" lost its connection
    h.advance(50_000);
    let mut h = h.restart(Config::default()); // t = 50 s
    h.advance(9_999);
    assert!(h.broker.session("x").unwrap().will.is_some());
    h.advance(1); // t = 60 s: the will is due
    assert!(h.broker.session("x").unwrap().will.is_none());
    h.advance(39_999);
    assert!(h.broker.session("x").is_some());
    h.advance(1); // t = 100 s: the session ends
    assert!(h.broker.session("x").is_none());
    let (w, _) = h.connect_persistent(Version::V5, "watcher");
    assert_eq!(payloads(&h.publishes(w)), vec!["late"]);
}
