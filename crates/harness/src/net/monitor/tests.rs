//! Each rule of the monitor, on packets fed directly: the breach it finds,
//! and the legitimate behaviour it must not blame.

use bytes::Bytes;
use protocol::{
    Ack, Auth, ConnAck, Connect, Disconnect, Packet, Properties, Publish, QoS, ReasonCode, SubAck,
    Subscribe, Subscription, SubscriptionOptions, UnsubAck, Unsubscribe, Version,
};

use super::{Breach, ClientIds, Level, Monitor};

fn connect(version: Version, id: &str, clean_start: bool) -> Connect {
    Connect {
        version,
        clean_start,
        keep_alive: 60,
        properties: Properties::default(),
        client_id: id.into(),
        will: None,
        username: None,
        password: None,
    }
}

fn connack(session_present: bool) -> Packet {
    Packet::ConnAck(ConnAck {
        session_present,
        ..ConnAck::default()
    })
}

fn publish(topic: &str, qos: u8, id: Option<u16>, dup: bool, payload: &str) -> Packet {
    Packet::Publish(Publish {
        dup,
        qos: QoS::from_u8(qos).unwrap(),
        retain: false,
        topic: topic.into(),
        packet_id: id,
        properties: Properties::default(),
        payload: Bytes::from(payload.to_owned()),
    })
}

fn subscribe(id: u16, filters: &[(&str, u8)]) -> Packet {
    Packet::Subscribe(Subscribe {
        packet_id: id,
        properties: Properties::default(),
        filters: filters
            .iter()
            .map(|(f, q)| Subscription {
                filter: (*f).into(),
                options: SubscriptionOptions {
                    qos: QoS::from_u8(*q).unwrap(),
                    ..SubscriptionOptions::default()
                },
            })
            .collect(),
    })
}

fn suback(id: u16, codes: &[u8]) -> Packet {
    Packet::SubAck(SubAck {
        packet_id: id,
        properties: Properties::default(),
        reasons: codes.iter().map(|&c| ReasonCode(c)).collect(),
    })
}

/// A monitor whose client has connected with `c` and been accepted.
fn accepted_with(c: Connect) -> Monitor {
    let mut m = Monitor::new(c.version, ClientIds::default());
    m.on_connection_opened();
    m.on_sent(&Packet::from(c));
    assert_eq!(m.on_received(&connack(false), 5), []);
    m
}

fn accepted(version: Version) -> Monitor {
    accepted_with(connect(version, "c", true))
}

fn rules(breaches: &[Breach]) -> Vec<&'static str> {
    breaches.iter().map(|b| b.rule).collect()
}

/// The rules `p` breaks when it arrives (`len` bytes on the wire).
fn recv(m: &mut Monitor, p: &Packet) -> Vec<&'static str> {
    rules(&m.on_received(p, 10))
}

#[test]
fn a_qos0_publish_has_dup_0_and_no_packet_id() {
    for v in [Version::V311, Version::V5] {
        let mut m = accepted(v);
        assert_eq!(
            recv(&mut m, &publish("a", 0, None, false, "x")),
            [] as [&str; 0]
        );
        assert_eq!(
            recv(&mut m, &publish("a", 0, None, true, "x")),
            ["MQTT-3.3.1-2"]
        );
        let id_rule = if v == Version::V5 {
            "MQTT-2.2.1-2"
        } else {
            "MQTT-2.3.1-5"
        };
        assert_eq!(
            recv(&mut m, &publish("a", 0, Some(3), false, "x")),
            [id_rule]
        );
    }
}

#[test]
fn a_qos1_publish_needs_a_non_zero_packet_id() {
    let mut m = accepted(Version::V5);
    assert_eq!(
        recv(&mut m, &publish("a", 1, Some(0), false, "x")),
        ["MQTT-2.2.1-4"]
    );
    let mut m = accepted(Version::V311);
    assert_eq!(
        recv(&mut m, &publish("a", 1, None, false, "x")),
        ["MQTT-2.3.1-1"]
    );
}

#[test]
fn a_packet_id_in_flight_is_not_reused_until_acknowledged() {
    for v in [Version::V311, Version::V5] {
        let mut m = accepted(v);
        assert!(recv(&mut m, &publish("a", 1, Some(1), false, "one")).is_empty());
        let b = m.on_received(&publish("a", 1, Some(1), false, "two"), 10);
        let rule = if v == Version::V5 {
            "MQTT-2.2.1-4"
        } else {
            "MQTT-2.3.1-4"
        };
        assert_eq!(rules(&b), [rule], "[{v}]");
        assert!(b[0].why.contains("no PUBACK yet"), "{}", b[0]);
        // After the PUBACK the id is free again.
        m.on_sent(&Packet::PubAck(Ack::new(1)));
        assert!(recv(&mut m, &publish("a", 1, Some(1), false, "three")).is_empty());
    }
}

#[test]
fn a_qos2_id_stays_in_use_until_pubcomp() {
    let mut m = accepted(Version::V311);
    assert!(recv(&mut m, &publish("a", 2, Some(7), false, "one")).is_empty());
    m.on_sent(&Packet::PubRec(Ack::new(7)));
    assert_eq!(recv(&mut m, &Packet::PubRel(Ack::new(7))), [] as [&str; 0]);
    let b = m.on_received(&publish("a", 2, Some(7), false, "two"), 10);
    assert_eq!(rules(&b), ["MQTT-2.3.1-4"]);
    assert!(b[0].why.contains("no PUBCOMP yet"), "{}", b[0]);
    m.on_sent(&Packet::PubComp(Ack::new(7)));
    assert!(recv(&mut m, &publish("a", 2, Some(7), false, "three")).is_empty());
    // A PUBREC with an error code ends the flow too (5.0 §2.2.1).
    let mut m = accepted(Version::V5);
    recv(&mut m, &publish("a", 2, Some(7), false, "one"));
    m.on_sent(&Packet::PubRec(Ack {
        reason: ReasonCode::UNSPECIFIED_ERROR,
        ..Ack::new(7)
    }));
    assert!(recv(&mut m, &publish("a", 2, Some(7), false, "two")).is_empty());
}

#[test]
fn a_redelivery_with_dup_1_may_reuse_its_id_and_a_resend_without_dup_may_not() {
    let mut m = accepted(Version::V5);
    recv(&mut m, &publish("a", 1, Some(1), false, "one"));
    assert!(recv(&mut m, &publish("a", 1, Some(1), true, "one")).is_empty());
    let b = m.on_received(&publish("a", 1, Some(1), false, "one"), 10);
    assert_eq!(rules(&b), ["MQTT-2.2.1-4"]);
    assert!(b[0].why.contains("MQTT-3.3.1-1"), "{}", b[0]);
    // DUP 1 on another message is no redelivery.
    assert_eq!(
        recv(&mut m, &publish("b", 1, Some(1), true, "other")),
        ["MQTT-2.2.1-4"]
    );
}

#[test]
fn in_flight_ids_survive_a_reconnect_of_a_kept_session() {
    let mut m = accepted_with(connect(Version::V5, "c", false));
    recv(&mut m, &publish("a", 1, Some(4), false, "one"));
    m.on_connection_closed();
    m.on_connection_opened();
    m.on_sent(&Packet::from(connect(Version::V5, "c", false)));
    assert!(recv(&mut m, &connack(true)).is_empty());
    // The resend, then a new message on the same id before the PUBACK.
    assert!(recv(&mut m, &publish("a", 1, Some(4), true, "one")).is_empty());
    assert_eq!(
        recv(&mut m, &publish("a", 1, Some(4), false, "two")),
        ["MQTT-2.2.1-4"]
    );
}

#[test]
fn a_connect_left_without_answer_may_have_begun_the_session_found_present_next() {
    // The CONNECT on the second connection may have reached the broker
    // after the session expired and begun an empty one, which the third
    // resumes: id 4 is free there.
    let after_unanswered = |answered: bool| {
        let mut m = accepted_with(connect(Version::V5, "c", false));
        recv(&mut m, &publish("a", 2, Some(4), false, "one"));
        m.on_connection_opened();
        m.on_sent(&Packet::from(connect(Version::V5, "c", false)));
        if answered {
            recv(&mut m, &connack(true));
        }
        m.on_connection_opened();
        m.on_sent(&Packet::from(connect(Version::V5, "c", false)));
        recv(&mut m, &connack(true));
        recv(&mut m, &publish("a", 2, Some(4), false, "two"))
    };
    assert!(after_unanswered(false).is_empty());
    assert_eq!(after_unanswered(true), ["MQTT-2.2.1-4"]);
}

#[test]
fn a_new_session_or_another_clients_use_of_the_id_clears_what_was_in_flight() {
    // No session present: nothing is in flight any more.
    let mut m = accepted_with(connect(Version::V5, "c", false));
    recv(&mut m, &publish("a", 1, Some(4), false, "one"));
    m.on_connection_opened();
    m.on_sent(&Packet::from(connect(Version::V5, "c", false)));
    recv(&mut m, &connack(false));
    assert!(recv(&mut m, &publish("a", 1, Some(4), false, "two")).is_empty());
    // Another client took the session over meanwhile (and may have
    // acknowledged id 4): the monitor no longer knows what is in flight.
    let ids = ClientIds::default();
    let mut a = Monitor::new(Version::V5, ids.clone());
    let mut b = Monitor::new(Version::V5, ids);
    a.on_connection_opened();
    a.on_sent(&Packet::from(connect(Version::V5, "same", false)));
    recv(&mut a, &connack(false));
    recv(&mut a, &publish("a", 1, Some(4), false, "one"));
    b.on_connection_opened();
    b.on_sent(&Packet::from(connect(Version::V5, "same", false)));
    recv(&mut b, &connack(true));
    b.on_sent(&Packet::PubAck(Ack::new(4)));
    a.on_connection_opened();
    a.on_sent(&Packet::from(connect(Version::V5, "same", false)));
    recv(&mut a, &connack(true));
    assert!(recv(&mut a, &publish("a", 1, Some(4), false, "two")).is_empty());
}

#[test]
fn no_more_unacknowledged_messages_than_the_receive_maximum() {
    let mut c = connect(Version::V5, "c", true);
    c.properties.receive_maximum = Some(2);
    let mut m = accepted_with(c);
    assert!(recv(&mut m, &publish("a", 1, Some(1), false, "1")).is_empty());
    assert!(recv(&mut m, &publish("a", 2, Some(2), false, "2")).is_empty());
    let b = m.on_received(&publish("a", 1, Some(3), false, "3"), 10);
    assert_eq!(rules(&b), ["MQTT-3.3.4-9"]);
    assert!(b[0].why.contains("Receive Maximum of 2"), "{}", b[0]);
    // A PUBREC does not end a QoS 2 flow, the PUBCOMP does.
    m.on_sent(&Packet::PubAck(Ack::new(3)));
    m.on_sent(&Packet::PubRec(Ack::new(2)));
    assert_eq!(
        recv(&mut m, &publish("a", 1, Some(4), false, "4")),
        ["MQTT-3.3.4-9"]
    );
    m.on_sent(&Packet::PubAck(Ack::new(4)));
    m.on_sent(&Packet::PubComp(Ack::new(2)));
    m.on_sent(&Packet::PubAck(Ack::new(1)));
    assert!(recv(&mut m, &publish("a", 1, Some(5), false, "5")).is_empty());
    assert!(recv(&mut m, &publish("a", 1, Some(6), false, "6")).is_empty());
}

#[test]
fn acknowledging_an_earlier_connections_message_gives_the_quota_one_back() {
    let mut c = connect(Version::V5, "c", false);
    c.properties.receive_maximum = Some(1);
    let mut m = accepted_with(c.clone());
    recv(&mut m, &publish("a", 1, Some(1), false, "old"));
    m.on_connection_opened();
    m.on_sent(&Packet::from(c));
    recv(&mut m, &connack(true));
    // The broker sends a new message first (quota 0 now), then gets the
    // PUBACK of the old one it never resent here (quota 1 again, §4.9).
    assert!(recv(&mut m, &publish("a", 1, Some(2), false, "new")).is_empty());
    m.on_sent(&Packet::PubAck(Ack::new(1)));
    assert!(recv(&mut m, &publish("a", 1, Some(3), false, "newer")).is_empty());
}

#[test]
fn no_packet_over_the_clients_maximum_packet_size() {
    let mut c = connect(Version::V5, "c", true);
    c.properties.maximum_packet_size = Some(100);
    let mut m = accepted_with(c);
    let p = publish("a", 0, None, false, "x");
    assert!(rules(&m.on_received(&p, 100)).is_empty());
    let b = m.on_received(&p, 101);
    assert_eq!(rules(&b), ["MQTT-3.1.2-24"]);
    assert!(b[0].why.contains("101 bytes"), "{}", b[0]);
}

#[test]
fn topic_aliases_stay_within_the_clients_maximum() {
    let with_alias = |topic: &str, alias: u16| {
        let mut p = publish(topic, 0, None, false, "x");
        if let Packet::Publish(p) = &mut p {
            p.properties.topic_alias = Some(alias);
        }
        p
    };
    // None allowed when the client set no maximum.
    let mut m = accepted(Version::V5);
    assert_eq!(recv(&mut m, &with_alias("a", 1)), ["MQTT-3.1.2-27"]);
    let mut c = connect(Version::V5, "c", true);
    c.properties.topic_alias_maximum = Some(2);
    let mut m = accepted_with(c);
    assert!(recv(&mut m, &with_alias("a", 2)).is_empty());
    assert!(recv(&mut m, &with_alias("", 2)).is_empty());
    assert_eq!(recv(&mut m, &with_alias("b", 3)), ["MQTT-3.3.2-11"]);
    // An alias never set on this connection: an advisory (no MUST).
    let b = m.on_received(&with_alias("", 1), 10);
    assert_eq!(rules(&b), ["MQTT 5.0 §3.3.2.3.4"]);
    assert_eq!(b[0].level, Level::Advisory);
}

#[test]
fn nothing_but_auth_before_connack() {
    for v in [Version::V311, Version::V5] {
        let mut m = Monitor::new(v, ClientIds::default());
        m.on_connection_opened();
        // Before the client's CONNECT nothing else is judged ...
        assert!(recv(&mut m, &Packet::PingResp).is_empty());
        // ... but a 5.0 DISCONNECT needs a CONNACK before it, whatever
        // the client sent instead of CONNECT.
        let before = recv(&mut m, &Packet::Disconnect(Disconnect::default()));
        match v {
            Version::V5 => assert_eq!(before, ["MQTT-3.14.0-1"]),
            Version::V311 => assert!(before.is_empty()),
        }
        m.on_sent(&Packet::from(connect(v, "c", true)));
        assert_eq!(recv(&mut m, &Packet::PingResp), ["MQTT-3.2.0-1"]);
        assert!(recv(&mut m, &connack(false)).is_empty());
        assert!(recv(&mut m, &Packet::PingResp).is_empty());
    }
    let mut m = Monitor::new(Version::V5, ClientIds::default());
    m.on_connection_opened();
    let mut c = connect(Version::V5, "c", true);
    c.properties.authentication_method = Some("SCRAM".into());
    m.on_sent(&Packet::from(c));
    let mut auth = Auth {
        reason: ReasonCode::CONTINUE_AUTHENTICATION,
        properties: Properties::default(),
    };
    auth.properties.authentication_method = Some("SCRAM".into());
    assert!(recv(&mut m, &Packet::Auth(auth)).is_empty());
    assert_eq!(
        recv(&mut m, &Packet::Disconnect(Disconnect::default())),
        ["MQTT-3.14.0-1"]
    );
}

#[test]
fn auth_only_for_a_client_that_asked_for_it() {
    let mut m = Monitor::new(Version::V5, ClientIds::default());
    m.on_connection_opened();
    m.on_sent(&Packet::from(connect(Version::V5, "c", true)));
    let auth = Packet::Auth(Auth {
        reason: ReasonCode::CONTINUE_AUTHENTICATION,
        properties: Properties::default(),
    });
    assert_eq!(recv(&mut m, &auth), ["MQTT-4.12.0-6"]);
}

#[test]
fn auth_and_a_successful_connack_repeat_the_method_of_the_connect() {
    let with = |method: Option<&str>| {
        let mut p = Properties::default();
        p.authentication_method = method.map(str::to_owned);
        p
    };
    let auth = |method| {
        Packet::Auth(Auth {
            reason: ReasonCode::CONTINUE_AUTHENTICATION,
            properties: with(method),
        })
    };
    let connack = |reason, method| {
        Packet::ConnAck(ConnAck {
            reason,
            properties: with(method),
            ..ConnAck::default()
        })
    };
    let start = || {
        let mut m = Monitor::new(Version::V5, ClientIds::default());
        m.on_connection_opened();
        let mut c = connect(Version::V5, "c", true);
        c.properties.authentication_method = Some("SCRAM".into());
        m.on_sent(&Packet::from(c));
        m
    };
    let mut m = start();
    assert!(recv(&mut m, &auth(Some("SCRAM"))).is_empty());
    assert!(recv(&mut m, &connack(ReasonCode::SUCCESS, Some("SCRAM"))).is_empty());
    let mut m = start();
    assert_eq!(recv(&mut m, &auth(Some("OTHER"))), ["MQTT-4.12.0-5"]);
    assert_eq!(recv(&mut m, &auth(None)), ["MQTT-4.12.0-5"]);
    assert_eq!(
        recv(&mut m, &connack(ReasonCode::SUCCESS, None)),
        ["MQTT-4.12.0-5"]
    );
    // A refusal need not carry it.
    let mut m = start();
    assert!(recv(&mut m, &connack(ReasonCode::NOT_AUTHORIZED, None)).is_empty());
}

#[test]
fn one_connack_and_nothing_after_a_refusal_in_5() {
    let mut m = accepted(Version::V5);
    assert_eq!(recv(&mut m, &connack(false)), ["MQTT-3.2.0-2"]);
    let mut m = Monitor::new(Version::V5, ClientIds::default());
    m.on_connection_opened();
    m.on_sent(&Packet::from(connect(Version::V5, "c", true)));
    let refused = Packet::ConnAck(ConnAck {
        reason: ReasonCode::NOT_AUTHORIZED,
        ..ConnAck::default()
    });
    assert!(recv(&mut m, &refused).is_empty());
    assert_eq!(recv(&mut m, &Packet::PingResp), ["MQTT-3.2.0-1"]);
}

#[test]
fn nothing_after_the_brokers_disconnect() {
    let mut m = accepted(Version::V5);
    let d = Packet::Disconnect(Disconnect {
        reason: ReasonCode::SESSION_TAKEN_OVER,
        ..Disconnect::default()
    });
    assert!(recv(&mut m, &d).is_empty());
    assert_eq!(
        recv(&mut m, &publish("a", 0, None, false, "x")),
        ["MQTT-3.14.4-1"]
    );
    // A new connection starts afresh.
    m.on_connection_opened();
    m.on_sent(&Packet::from(connect(Version::V5, "c", true)));
    assert!(recv(&mut m, &connack(false)).is_empty());
    assert!(recv(&mut m, &publish("a", 0, None, false, "x")).is_empty());
}

#[test]
fn a_3_1_1_disconnect_from_the_server_is_an_advisory() {
    let mut m = accepted(Version::V311);
    let b = m.on_received(&Packet::Disconnect(Disconnect::default()), 2);
    assert_eq!(rules(&b), ["MQTT 3.1.1 §2.2.1"]);
    assert_eq!(b[0].level, Level::Advisory);
    let mut m = accepted(Version::V5);
    let b = m.on_received(&subscribe(1, &[("a", 0)]), 10);
    assert_eq!(b[0].level, Level::Advisory);
}

#[test]
fn reason_codes_valid_for_the_packet_and_the_server() {
    let mut m = accepted(Version::V5);
    let with_will = Packet::Disconnect(Disconnect {
        reason: ReasonCode::DISCONNECT_WITH_WILL,
        ..Disconnect::default()
    });
    assert_eq!(recv(&mut m, &with_will), ["MQTT-3.14.2-1"]);
    let mut m = accepted(Version::V5);
    let reauth = Packet::Auth(Auth {
        reason: ReasonCode::RE_AUTHENTICATE,
        properties: Properties::default(),
    });
    // Re-authenticate is the client's; and the client asked for no AUTH.
    assert_eq!(recv(&mut m, &reauth), ["MQTT-3.15.2-1", "MQTT-4.12.0-6"]);
    let bad_puback = Packet::PubAck(Ack {
        reason: ReasonCode(0x8F),
        ..Ack::new(1)
    });
    assert_eq!(recv(&mut m, &bad_puback), ["MQTT-3.4.2-1"]);
    let mut m = accepted(Version::V311);
    m.on_sent(&subscribe(1, &[("a", 1)]));
    assert_eq!(recv(&mut m, &suback(1, &[0x83])), ["MQTT-3.9.3-2"]);
}

#[test]
fn connack_session_present_follows_clean_start_and_the_code() {
    let mut m = Monitor::new(Version::V311, ClientIds::default());
    m.on_connection_opened();
    m.on_sent(&Packet::from(connect(Version::V311, "c", true)));
    assert_eq!(recv(&mut m, &connack(true)), ["MQTT-3.2.2-1"]);
}

#[test]
fn one_suback_code_per_filter() {
    let mut m = accepted(Version::V5);
    m.on_sent(&subscribe(1, &[("a", 1), ("b", 1)]));
    assert_eq!(recv(&mut m, &suback(1, &[1])), ["MQTT-3.8.4-6"]);
    m.on_sent(&Packet::Unsubscribe(Unsubscribe {
        packet_id: 2,
        properties: Properties::default(),
        filters: vec!["a".into(), "b".into()],
    }));
    let unsuback = Packet::UnsubAck(UnsubAck {
        packet_id: 2,
        properties: Properties::default(),
        reasons: vec![ReasonCode::SUCCESS],
    });
    assert_eq!(recv(&mut m, &unsuback), ["MQTT-3.11.3-2"]);
}

#[test]
fn delivered_qos_within_the_granted_qos() {
    for v in [Version::V311, Version::V5] {
        let mut m = accepted(v);
        m.on_sent(&subscribe(
            1,
            &[("maison/+/temp", 2), ("maison/salon/#", 0)],
        ));
        // A retained message may come before the SUBACK: not judged yet.
        assert!(recv(
            &mut m,
            &publish("maison/salon/temp", 2, Some(9), false, "r")
        )
        .is_empty());
        assert!(recv(&mut m, &suback(1, &[1, 0])).is_empty());
        m.on_sent(&Packet::PubAck(Ack::new(9)));
        // The highest grant among matching subscriptions counts.
        assert!(recv(
            &mut m,
            &publish("maison/salon/temp", 1, Some(1), false, "a")
        )
        .is_empty());
        let rule = if v == Version::V5 {
            "MQTT-3.8.4-8"
        } else {
            "MQTT-3.8.4-6"
        };
        assert_eq!(
            recv(
                &mut m,
                &publish("maison/salon/temp", 2, Some(2), false, "b")
            ),
            [rule]
        );
        assert_eq!(
            recv(
                &mut m,
                &publish("maison/salon/light", 1, Some(3), false, "c")
            ),
            [rule]
        );
        // A topic no subscription matches is not judged here.
        assert!(recv(&mut m, &publish("garage", 2, Some(4), false, "d")).is_empty());
    }
}

#[test]
fn a_grant_is_never_lowered_and_shared_subscriptions_match_on_their_filter() {
    let mut m = accepted(Version::V5);
    m.on_sent(&subscribe(1, &[("$share/g/a/+", 2)]));
    recv(&mut m, &suback(1, &[2]));
    m.on_sent(&subscribe(2, &[("$share/g/a/+", 0)]));
    recv(&mut m, &suback(2, &[0]));
    // Messages queued under the first grant may still come at QoS 2.
    assert!(recv(&mut m, &publish("a/b", 2, Some(1), false, "x")).is_empty());
    let mut m = accepted(Version::V5);
    m.on_sent(&subscribe(1, &[("$share/g/a/+", 1)]));
    recv(&mut m, &suback(1, &[1]));
    assert_eq!(
        recv(&mut m, &publish("a/b", 2, Some(1), false, "x")),
        ["MQTT-3.8.4-8"]
    );
}

#[test]
fn a_resumed_session_the_monitor_did_not_see_is_not_judged_for_granted_qos() {
    let mut m = accepted_with(connect(Version::V5, "c", false));
    m.on_sent(&subscribe(1, &[("a", 0)]));
    recv(&mut m, &suback(1, &[0]));
    // A fresh monitor resuming the same session knows none of it.
    let mut fresh = Monitor::new(Version::V5, ClientIds::default());
    fresh.on_connection_opened();
    fresh.on_sent(&Packet::from(connect(Version::V5, "c", false)));
    recv(&mut fresh, &connack(true));
    assert!(recv(&mut fresh, &publish("a", 2, Some(1), false, "x")).is_empty());
    // Its own session, resumed, it knows.
    m.on_connection_opened();
    m.on_sent(&Packet::from(connect(Version::V5, "c", false)));
    recv(&mut m, &connack(true));
    assert_eq!(
        recv(&mut m, &publish("a", 2, Some(1), false, "x")),
        ["MQTT-3.8.4-8"]
    );
}

#[test]
fn after_the_clients_own_violation_only_what_binds_the_server_regardless_is_judged() {
    let mut c = connect(Version::V5, "c", true);
    c.properties.receive_maximum = Some(1);
    c.properties.maximum_packet_size = Some(50);
    let mut m = accepted_with(c);
    recv(&mut m, &publish("a", 1, Some(1), false, "x"));
    // A malformed packet (a PUBACK with a reason code that is no PUBACK
    // code): the broker may have read it as it liked.
    m.on_sent_bytes(&[0x40, 0x03, 0x00, 0x01, 0xFF]);
    assert!(recv(&mut m, &publish("a", 1, Some(1), false, "y")).is_empty());
    assert!(recv(&mut m, &publish("a", 1, Some(2), false, "z")).is_empty());
    assert_eq!(
        recv(&mut m, &Packet::Disconnect(Disconnect::default())),
        [] as [&str; 0]
    );
    // What no client conduct excuses still counts.
    assert_eq!(
        rules(&m.on_received(&Packet::PingResp, 51)),
        ["MQTT-3.14.4-1", "MQTT-3.1.2-24"]
    );
}

#[test]
fn a_second_connect_or_a_packet_before_connect_is_the_clients_fault() {
    let mut m = accepted(Version::V311);
    m.on_sent(&Packet::from(connect(Version::V311, "c", true)));
    assert!(recv(&mut m, &connack(false)).is_empty());
    let mut m = Monitor::new(Version::V311, ClientIds::default());
    m.on_connection_opened();
    m.on_sent(&Packet::PingReq);
    m.on_sent(&Packet::from(connect(Version::V311, "c", true)));
    assert!(recv(&mut m, &Packet::PingResp).is_empty());
}

#[test]
fn sent_bytes_are_read_as_packets_even_in_pieces() {
    let mut m = Monitor::new(Version::V311, ClientIds::default());
    m.on_connection_opened();
    let mut bytes = bytes::BytesMut::new();
    protocol::encode(
        &Packet::from(connect(Version::V311, "c", true)),
        Version::V311,
        &mut bytes,
    )
    .unwrap();
    let (a, b) = bytes.split_at(5);
    m.on_sent_bytes(a);
    // Not yet a CONNECT: not judged.
    assert!(recv(&mut m, &Packet::PingResp).is_empty());
    m.on_sent_bytes(b);
    assert_eq!(recv(&mut m, &Packet::PingResp), ["MQTT-3.2.0-1"]);
}

#[test]
fn nothing_is_judged_after_the_broker_sent_bytes_that_do_not_decode() {
    let mut m = accepted(Version::V5);
    m.on_received_malformed();
    assert!(recv(&mut m, &publish("a", 0, None, true, "x")).is_empty());
}

/// What a run asserts when it passes: every rule a packet was weighed
/// against, whether or not it could have broken it.
#[test]
fn the_rules_checked_are_kept_for_coverage() {
    let mut c = connect(Version::V5, "c", true);
    c.properties.maximum_packet_size = Some(64);
    let mut m = accepted_with(c);
    m.on_sent(&subscribe(1, &[("a", 1)]));
    assert!(recv(&mut m, &suback(1, &[1])).is_empty());
    assert!(recv(&mut m, &publish("a", 1, Some(1), false, "x")).is_empty());
    let checked: Vec<&str> = m.checked().iter().copied().collect();
    for id in [
        "MQTT-3.2.0-1",
        "MQTT-3.1.2-24",
        "MQTT-3.9.2-1",
        "MQTT-3.9.3-2",
        "MQTT-2.2.1-4",
        "MQTT-3.3.4-9",
        "MQTT-3.8.4-8",
        "MQTT-3.1.2-27",
    ] {
        assert!(checked.contains(&id), "{id}: {checked:?}");
    }
    // No DISCONNECT came: the rule on what follows one was never weighed.
    assert!(!checked.contains(&"MQTT-3.14.4-1"));
    let m = accepted(Version::V311);
    assert!(!m.checked().contains("MQTT-3.1.2-24"));
}

#[test]
fn a_server_disconnect_carries_no_session_expiry() {
    let mut m = accepted(Version::V5);
    let mut d = Disconnect::default();
    d.properties.session_expiry_interval = Some(10);
    assert_eq!(recv(&mut m, &Packet::Disconnect(d)), ["MQTT-3.14.2-2"]);
    let mut m = accepted(Version::V5);
    assert!(recv(&mut m, &Packet::Disconnect(Disconnect::default())).is_empty());
    assert!(m.checked().contains("MQTT-3.14.2-2"));
    // What a strict decoder let through counts as checked.
    for id in [
        "MQTT-1.5.5-1",
        "MQTT-2.1.3-1",
        "MQTT-3.2.2-1",
        "MQTT-2.2.2-1",
    ] {
        assert!(m.checked().contains(id), "{id}");
    }
}

#[test]
fn no_reason_string_on_an_ack_to_a_client_that_asked_for_no_problem_information() {
    let mut c = connect(Version::V5, "c", true);
    c.properties.request_problem_information = Some(0);
    let mut m = accepted_with(c);
    let mut ack = Ack::new(1);
    ack.reason = ReasonCode(0x10);
    ack.properties.reason_string = Some("no one listens".into());
    m.on_sent(&publish("a", 1, Some(1), false, "x"));
    assert_eq!(recv(&mut m, &Packet::PubAck(ack)), ["MQTT-3.1.2-29"]);
    // On a PUBLISH, CONNACK or DISCONNECT it may; a client that did not
    // say 0 may get one anywhere.
    let mut d = Disconnect::default();
    d.properties.reason_string = Some("bye".into());
    assert!(recv(&mut m, &Packet::Disconnect(d)).is_empty());
    let mut m = accepted(Version::V5);
    let mut ack = Ack::new(1);
    ack.properties.reason_string = Some("fine".into());
    m.on_sent(&publish("a", 1, Some(1), false, "x"));
    assert!(recv(&mut m, &Packet::PubAck(ack)).is_empty());
}
