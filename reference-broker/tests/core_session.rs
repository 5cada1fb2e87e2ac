//! Session lifetime across connections, and determinism: one input sequence
//! gives one output sequence, byte for byte.

mod support;

use protocol::{Ack, Packet, QoS, SubscriptionOptions, Version};
use reference_broker::store::Store;
use reference_broker::{Action, Config};
use support::*;

#[test]
fn v311_clean_session_0_never_expires() {
    // 3.1.1 MQTT-4.1.0-1, MQTT-3.1.2-4.
    let mut h = Harness::default_config();
    let (s, _) = h.connect_persistent(Version::V311, "s");
    h.subscribe(s, "t", QoS::AtLeastOnce);
    h.drop_connection(s);
    h.advance(365 * 24 * 3_600_000);
    assert!(h.broker.session("s").is_some());
    assert_eq!(h.broker.poll_timeout(), None);
}

#[test]
fn session_kept_through_keep_alive_timeout_and_messages_queued() {
    // 3.1.1 MQTT-3.1.2-5, MQTT-3.1.2-24; 5.0 MQTT-3.1.2-23, MQTT-3.1.2-22.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let mut c = persistent(v, "s");
        c.keep_alive = 2;
        let (s, _) = h.connect_ack(c);
        h.subscribe(s, "t", QoS::AtLeastOnce);
        h.advance(3_000);
        assert!(h.is_closed(s));
        let p = h.connect(v, "p");
        h.publish(p, "t", b"while away", QoS::AtLeastOnce, false);
        let (s, ack) = h.connect_persistent(v, "s");
        assert!(ack.session_present);
        assert_eq!(payloads(&h.publishes(s)), vec!["while away"]);
    }
}

#[test]
fn a_session_may_be_resumed_in_the_other_version() {
    // 3.1.1 MQTT-3.1.3-2 / 5.0 MQTT-3.1.3-2, MQTT-3.1.2-5: sessions are found by client id.
    let mut h = Harness::default_config();
    let (s, _) = h.connect_persistent(Version::V311, "s");
    h.subscribe(s, "t", QoS::AtLeastOnce);
    h.drop_connection(s);
    let p = h.connect(Version::V5, "p");
    h.publish(p, "t", b"x", QoS::AtLeastOnce, false);
    let (s, ack) = h.connect_persistent(Version::V5, "s");
    assert!(ack.session_present);
    let got = h.publishes(s);
    assert_eq!(payloads(&got), vec!["x"]);
    assert_eq!(h.broker.session("s").unwrap().version, Version::V5);
}

#[test]
fn takeover_of_a_clean_session_starts_afresh() {
    // 3.1.1 MQTT-3.1.2-6, MQTT-3.2.2-3; 5.0 MQTT-3.2.2-3.
    // The old connection's session ends with it (expiry 0 / CleanSession 1),
    // so a new connection with Clean Start 0 finds none.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let old = h.connect(v, "s");
        h.subscribe(old, "t", QoS::AtLeastOnce);
        let (new, ack) = h.connect_persistent(v, "s");
        assert!(h.is_closed(old));
        assert!(!ack.session_present);
        assert!(h.broker.session("s").unwrap().subscriptions.is_empty());
        assert!(!h.is_closed(new));
    }
}

#[test]
fn messages_in_flight_at_takeover_are_resent_on_the_new_connection() {
    // MQTT-4.4.0-1, MQTT-3.3.1-1.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let (old, _) = h.connect_persistent(v, "s");
        h.subscribe(old, "t", QoS::AtLeastOnce);
        let p = h.connect(v, "p");
        h.publish(p, "t", b"x", QoS::AtLeastOnce, false);
        let first = h.publishes(old);
        let (new, _) = h.connect_persistent(v, "s");
        let got = h.publishes(new);
        assert_eq!(got.len(), 1);
        assert!(got[0].dup);
        assert_eq!(got[0].packet_id, first[0].packet_id);
        // A PUBACK on the new connection completes it.
        h.send(new, Packet::PubAck(Ack::new(got[0].packet_id.unwrap())));
        assert!(h.broker.session("s").unwrap().outflight.is_empty());
    }
}

// ---- determinism ---------------------------------------------------------------

/// A scenario touching most of the broker: both versions, wills, keep alive,
/// shared subscriptions, aliases, retained messages, QoS 2, takeover,
/// queueing and expiry.
fn scenario(h: &mut Harness) {
    let (a, _) = h.connect_persistent(Version::V5, "a");
    let b = h.connect(Version::V311, "b");
    let mut cc = connect(Version::V5, "c");
    cc.keep_alive = 3;
    cc.properties.topic_alias_maximum = Some(4);
    cc.properties.receive_maximum = Some(2);
    cc.will = Some(will("wills/c", b"c died", QoS::AtLeastOnce, true));
    let (c, _) = h.connect_ack(cc);
    h.subscribe(a, "$share/g/jobs/+", QoS::ExactlyOnce);
    h.subscribe(c, "$share/g/jobs/+", QoS::AtLeastOnce);
    h.subscribe(b, "#", QoS::ExactlyOnce);
    h.subscribe_with(
        c,
        vec![sub_opts(
            "news/#",
            SubscriptionOptions {
                qos: QoS::ExactlyOnce,
                no_local: true,
                retain_as_published: true,
                ..Default::default()
            },
        )],
    );
    for i in 0..6u8 {
        let mut m = publish(&format!("jobs/{}", i % 2), &[i], qos(i % 3));
        m.retain = i % 2 == 0;
        if i == 3 {
            m.properties.message_expiry_interval = Some(1);
        }
        if m.qos != QoS::AtMostOnce {
            m.packet_id = Some(100 + u16::from(i));
        }
        h.send(a, Packet::Publish(m));
        h.advance(250);
    }
    h.recv(a);
    for i in 0..4u8 {
        h.publish(a, "news/x", &[i], QoS::ExactlyOnce, true);
    }
    h.recv(a);
    h.receive_and_ack(b);
    h.drop_connection(a);
    h.publish(b, "jobs/9", b"queued", QoS::AtLeastOnce, false);
    h.advance(5_000); // c's keep alive runs out: will
    let (a, _) = h.connect_persistent(Version::V5, "a");
    h.receive_and_ack(a);
    h.send_raw(a, &[0x30, 0x03, 0x00, 0x01]); // malformed
    h.advance(10_000);
    let late = h.open(Version::V311);
    h.advance(10_000); // connect timeout
    h.send(late, Packet::PingReq);
    h.shutdown();
}

#[test]
fn same_inputs_give_byte_identical_actions() {
    // No spec statement: the core's own promise (broker/mod.rs docs).
    let mut one = Harness::default_config();
    scenario(&mut one);
    let mut two = Harness::default_config();
    scenario(&mut two);
    assert!(one.log.len() > 50, "the scenario does something");
    assert!(one.log.iter().any(|a| matches!(a, Action::Close { .. })));
    assert_eq!(one.log, two.log);
    assert_eq!(one.store.load().unwrap(), two.store.load().unwrap());
    assert_eq!(one.broker.stats(), two.broker.stats());
}

#[test]
fn same_inputs_after_restore_give_identical_actions() {
    // No spec statement: the core's own promise (broker/mod.rs docs).
    let run = || {
        let mut h = Harness::new(Config::default());
        let (s, _) = h.connect_persistent(Version::V5, "s");
        h.subscribe(s, "t", QoS::ExactlyOnce);
        let p = h.connect(Version::V311, "p");
        for i in 0..5u8 {
            h.publish(p, "t", &[i], qos(1 + i % 2), i == 0);
        }
        let mut h = h.restart(Config::default());
        let (s, _) = h.connect_persistent(Version::V5, "s");
        h.receive_and_ack(s);
        h.log
    };
    assert_eq!(run(), run());
}

// ---- timers due when an input arrives -------------------------------------------
// The driver may hand the broker an input stamped after a deadline before it
// calls `handle_timeout` for that deadline; the outcome must not depend on
// which comes first.

#[test]
fn mqtt_4_1_0_2_expired_session_not_resumed_even_before_the_timeout_runs() {
    let mut h = Harness::default_config();
    let mut c = persistent(Version::V5, "s");
    c.properties.session_expiry_interval = Some(10);
    let (s, _) = h.connect_ack(c.clone());
    h.subscribe(s, "t", QoS::AtLeastOnce);
    h.drop_connection(s);
    h.advance_silently(10_000);
    let (_, ack) = h.connect_ack(c);
    assert!(!ack.session_present);
    assert!(h.broker.session("s").unwrap().subscriptions.is_empty());
}

#[test]
fn mqtt_3_1_2_8_due_will_published_even_if_the_reconnect_comes_first() {
    let mut h = Harness::default_config();
    let w = h.connect(Version::V5, "w");
    h.subscribe(w, "will", QoS::AtMostOnce);
    let mut c = persistent(Version::V5, "s");
    let mut wm = will("will", b"late", QoS::AtMostOnce, false);
    wm.properties.will_delay_interval = Some(5);
    c.will = Some(wm);
    let (s, _) = h.connect_ack(c.clone());
    h.drop_connection(s);
    h.advance_silently(5_000);
    c.will = None;
    h.connect_ack(c);
    assert_eq!(payloads(&h.publishes(w)), vec!["late"]);
}

#[test]
fn keep_alive_expired_before_a_late_packet_is_processed() {
    // 3.1.1 MQTT-3.1.2-24 / 5.0 MQTT-3.1.2-22.
    for v in VERSIONS {
        let mut h = Harness::default_config();
        let mut c = connect(v, "s");
        c.keep_alive = 10;
        let (s, _) = h.connect_ack(c);
        h.advance_silently(15_000);
        h.send(s, Packet::PingReq);
        assert!(h.is_closed(s), "{v}");
        assert!(!h.recv(s).contains(&Packet::PingResp));
    }
}
