//! The broker's policies: topics a client may not publish to, client
//! identifiers it refuses, and one copy per overlapping subscription.

mod support;

use protocol::{Ack, Packet, Properties, QoS, ReasonCode, SubscriptionOptions, Version};
use reference_broker::Config;
use support::*;

const VERSIONS: [Version; 2] = [Version::V311, Version::V5];

fn refusing(topics: &[&str]) -> Config {
    Config {
        refused_topics: topics.iter().map(|t| t.to_string()).collect(),
        ..Config::default()
    }
}

#[test]
fn a_refused_publish_reaches_nobody_and_is_not_retained() {
    for v in VERSIONS {
        let mut h = Harness::new(refusing(&["cave/#"]));
        let sub = h.connect(v, "sub");
        h.subscribe(sub, "#", QoS::ExactlyOnce);
        let p = h.connect(v, "p");
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
            let mut m = publish("cave/humidite", b"80", qos);
            m.retain = true;
            m.packet_id = (qos != QoS::AtMostOnce).then_some(3);
            h.send(p, Packet::Publish(m));
        }
        let acks = h.recv(p);
        // 3.1.1 can only acknowledge (MQTT-3.3.5-2); 5.0 says 0x87.
        let reason = match v {
            Version::V311 => ReasonCode::SUCCESS,
            Version::V5 => ReasonCode::NOT_AUTHORIZED,
        };
        let mut ack = Ack::new(3);
        ack.reason = reason;
        assert_eq!(acks, vec![Packet::PubAck(ack)], "{v:?}");
        h.publish(p, "salon", b"21", QoS::AtLeastOnce, false);
        let got = h.publishes(sub);
        assert_eq!(got.len(), 1, "{v:?}: {got:?}");
        assert_eq!(got[0].topic, "salon");
        let late = h.connect(v, "late");
        h.subscribe(late, "cave/#", QoS::AtLeastOnce);
        h.expect_nothing(late);
        assert!(!h.is_closed(p));
    }
}

#[test]
fn a_refused_qos2_publish_frees_its_identifier_in_5_0_only() {
    for v in VERSIONS {
        let mut h = Harness::new(refusing(&["cave/#"]));
        let sub = h.connect(v, "sub");
        h.subscribe(sub, "#", QoS::ExactlyOnce);
        let p = h.connect(v, "p");
        let mut m = publish("cave/humidite", b"81", QoS::ExactlyOnce);
        m.packet_id = Some(7);
        h.send(p, Packet::Publish(m));
        let rec = h.take_packet(p, |p| matches!(p, Packet::PubRec(_)));
        let mut again = publish("salon", b"21", QoS::ExactlyOnce);
        again.packet_id = Some(7);
        h.send(p, Packet::Publish(again));
        let forwarded = h.publishes(sub);
        match v {
            Version::V5 => {
                let mut no = Ack::new(7);
                no.reason = ReasonCode::NOT_AUTHORIZED;
                assert_eq!(rec, Packet::PubRec(no));
                // MQTT-4.3.3-9: identifier 7 is free, so this is a new message.
                assert_eq!(forwarded.len(), 1, "{forwarded:?}");
                assert_eq!(forwarded[0].topic, "salon");
            }
            Version::V311 => {
                // Acknowledged as if delivered: 7 awaits PUBREL, and the
                // second PUBLISH is a resend of it, delivered nowhere.
                assert_eq!(rec, Packet::PubRec(Ack::new(7)));
                assert!(forwarded.is_empty(), "{forwarded:?}");
                h.send(p, Packet::PubRel(Ack::new(7)));
                let comp = h.take_packet(p, |p| matches!(p, Packet::PubComp(_)));
                assert_eq!(comp, Packet::PubComp(Ack::new(7)));
            }
        }
    }
}

#[test]
fn a_client_id_without_an_allowed_prefix_is_refused_and_closed() {
    let config = Config {
        client_id_prefixes: vec!["capteur-".into(), "sonde-".into()],
        ..Config::default()
    };
    for v in VERSIONS {
        let mut h = Harness::new(config.clone());
        let (c, got) = h.connect_with(connect(v, "intrus-1"));
        match got.as_slice() {
            [Packet::ConnAck(a)] => assert_eq!(a.reason, ReasonCode::CLIENT_IDENTIFIER_NOT_VALID),
            other => panic!("{v:?}: expected CONNACK 0x85 / 0x02, got {other:?}"),
        }
        assert!(h.is_closed(c), "{v:?}");
        h.connect(v, "capteur-1");
        h.connect(v, "sonde-2");
        // An identifier the broker assigns is its own, not the client's choice.
        if v == Version::V5 {
            h.connect(v, "");
        }
    }
}

#[test]
fn overlapping_subscriptions_get_a_copy_each_with_their_own_identifier() {
    let config = Config {
        copy_per_subscription: true,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let c = h.connect(Version::V5, "c");
    let opts = |qos| SubscriptionOptions {
        qos,
        ..SubscriptionOptions::default()
    };
    let id = |n| {
        let mut p = Properties::default();
        p.subscription_identifiers = vec![n];
        p
    };
    h.subscribe_props(c, vec![sub_opts("a/#", opts(QoS::AtLeastOnce))], id(1));
    h.subscribe_props(c, vec![sub_opts("a/+", opts(QoS::ExactlyOnce))], id(2));
    h.subscribe(c, "a/b", QoS::AtMostOnce);
    let p = h.connect(Version::V5, "p");
    h.publish(p, "a/b", b"x", QoS::ExactlyOnce, false);
    let mut got: Vec<(QoS, Vec<u32>)> = h
        .publishes(c)
        .into_iter()
        .map(|p| (p.qos, p.properties.subscription_identifiers.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (QoS::AtMostOnce, vec![]),
            (QoS::AtLeastOnce, vec![1]),
            (QoS::ExactlyOnce, vec![2]),
        ]
    );
}
