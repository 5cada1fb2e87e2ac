//! The reference broker over real loopback TCP with rumqttc clients, MQTT
//! 3.1.1 (`rumqttc`) and 5.0 (`rumqttc::v5`): every scenario runs once per
//! version (`<scenario>::v311`, `<scenario>::v5`).
//!
//! Every wait has a deadline: a broker that misbehaves fails a test, it never
//! hangs it.

mod tcp_support;

use tcp_support::client::{msg, Client, Msg, Opts, Proto};
use tcp_support::BrokerProcess;

/// Runs a scenario once per protocol version: `name::v311` and `name::v5`.
macro_rules! both_versions {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn v311() {
                super::$name(super::Proto::V311).await
            }

            #[tokio::test]
            async fn v5() {
                super::$name(super::Proto::V5).await
            }
        }
    )*};
}

both_versions!(
    qos_round_trips,
    wildcard_routing,
    retained_messages,
    will_on_lost_connection,
    persistent_session_redelivery,
);

/// QoS 0, 1 and 2 from a publisher to a subscriber at QoS 2 (delivered at the
/// QoS published) and one at QoS 1 (delivered at most at QoS 1,
/// MQTT-3.8.4-6 / 5.0 MQTT-3.8.4-8).
async fn qos_round_trips(proto: Proto) {
    let mut broker = BrokerProcess::start();
    let t = proto.tag();
    let topic = format!("gauntlet/{t}/qos");
    let (mut sub2, _) = Client::connect(&broker, Opts::new(proto, &format!("{t}-sub2"))).await;
    sub2.subscribe(&topic, 2).await;
    let (mut sub1, _) = Client::connect(&broker, Opts::new(proto, &format!("{t}-sub1"))).await;
    sub1.subscribe(&topic, 1).await;
    let (mut publisher, _) = Client::connect(&broker, Opts::new(proto, &format!("{t}-pub"))).await;

    for qos in 0..=2u8 {
        let payload = format!("payload at QoS {qos}");
        publisher
            .publish(&topic, qos, false, payload.as_bytes())
            .await;
        assert_eq!(
            sub2.recv().await,
            msg(&topic, payload.as_bytes(), qos, false),
            "subscriber at QoS 2"
        );
        assert_eq!(
            sub1.recv().await,
            msg(&topic, payload.as_bytes(), qos.min(1), false),
            "subscriber at QoS 1"
        );
    }

    // Several in a row keep their order (MQTT-4.6.0-6 / 5.0 MQTT-4.6.0-6).
    for i in 0..10 {
        publisher
            .publish(&topic, 1, false, format!("n{i}").as_bytes())
            .await;
    }
    let got: Vec<Vec<u8>> = sub2
        .recv_n(10)
        .await
        .into_iter()
        .map(|m| m.payload)
        .collect();
    let want: Vec<Vec<u8>> = (0..10).map(|i| format!("n{i}").into_bytes()).collect();
    assert_eq!(got, want, "order of QoS 1 messages");
    let got: Vec<Vec<u8>> = sub1
        .recv_n(10)
        .await
        .into_iter()
        .map(|m| m.payload)
        .collect();
    assert_eq!(got, want, "order of QoS 1 messages");

    // A subscriber also gets its own messages (no No Local here).
    sub2.publish(&topic, 2, false, b"echo").await;
    assert_eq!(sub2.recv().await, msg(&topic, b"echo", 2, false));
    assert_eq!(sub1.recv().await, msg(&topic, b"echo", 1, false));
    broker.assert_running();
}

/// `+` matches one level, `#` any number including the parent, and filters
/// starting with a wildcard do not match `$` topics (MQTT-4.7.2-1).
async fn wildcard_routing(proto: Proto) {
    let mut broker = BrokerProcess::start();
    let t = proto.tag();
    let filters = [
        "maison/+/temperature",
        "maison/#",
        "#",
        "+/temperature",
        "$maison/#",
    ];
    let mut subs = Vec::new();
    for (i, filter) in filters.iter().enumerate() {
        let (mut c, _) = Client::connect(&broker, Opts::new(proto, &format!("{t}-sub{i}"))).await;
        c.subscribe(filter, 1).await;
        subs.push(c);
    }
    let (mut publisher, _) = Client::connect(&broker, Opts::new(proto, &format!("{t}-pub"))).await;
    let topics = [
        "maison/salon/temperature",
        "maison/salon/humidite",
        "maison/cuisine/four/temperature",
        "maison",
        "jardin/temperature",
        "$maison/temperature",
        // Sentinels: after them, nothing else is coming.
        "maison/fin/temperature",
        "fin/temperature",
    ];
    for topic in topics {
        publisher.publish(topic, 1, false, topic.as_bytes()).await;
    }
    let expected: [&[&str]; 5] = [
        &["maison/salon/temperature", "maison/fin/temperature"],
        &[
            "maison/salon/temperature",
            "maison/salon/humidite",
            "maison/cuisine/four/temperature",
            "maison",
            "maison/fin/temperature",
        ],
        &[
            "maison/salon/temperature",
            "maison/salon/humidite",
            "maison/cuisine/four/temperature",
            "maison",
            "jardin/temperature",
            "maison/fin/temperature",
            "fin/temperature",
        ],
        &["jardin/temperature", "fin/temperature"],
        &["$maison/temperature"],
    ];
    for ((sub, filter), want) in subs.iter_mut().zip(filters).zip(expected) {
        let got = sub.recv_n(want.len()).await;
        let got: Vec<&str> = got.iter().map(|m| m.topic.as_str()).collect();
        assert_eq!(got, want, "messages for a subscription to {filter:?}");
    }
    broker.assert_running();
}

/// A retained message goes to later subscribers with RETAIN set; a newer one
/// replaces it; an empty retained payload clears it (MQTT-3.3.1-5..-7,
/// -10, -11 / 5.0 MQTT-3.3.1-5..-7). Live deliveries carry RETAIN 0 unless
/// Retain As Published (MQTT-3.3.1-9 / 5.0 MQTT-3.3.1-12).
async fn retained_messages(proto: Proto) {
    let mut broker = BrokerProcess::start();
    let t = proto.tag();
    let topic = format!("maison/{t}/salon/temperature");
    let filter = format!("maison/{t}/#");
    let (mut publisher, _) = Client::connect(&broker, Opts::new(proto, &format!("{t}-pub"))).await;
    publisher.publish(&topic, 1, true, b"19.0").await;
    publisher.publish(&topic, 1, true, b"21.5").await;

    let (mut late, _) = Client::connect(&broker, Opts::new(proto, &format!("{t}-late"))).await;
    late.subscribe(&filter, 1).await;
    assert_eq!(
        late.recv().await,
        msg(&topic, b"21.5", 1, true),
        "retained message to a new subscriber (the newest one only)"
    );

    // A live retained publication reaches a current subscriber with RETAIN 0.
    publisher.publish(&topic, 1, true, b"22.0").await;
    assert_eq!(late.recv().await, msg(&topic, b"22.0", 1, false));

    // Cleared by an empty retained payload.
    publisher.publish(&topic, 1, true, b"").await;
    let cleared = late.recv().await;
    assert_eq!(
        (cleared.topic.as_str(), cleared.payload.len()),
        (topic.as_str(), 0)
    );

    let (mut later, _) = Client::connect(&broker, Opts::new(proto, &format!("{t}-later"))).await;
    later.subscribe(&filter, 1).await;
    let sentinel = format!("maison/{t}/fin");
    publisher.publish(&sentinel, 1, false, b"fin").await;
    assert_eq!(
        later.recv().await,
        msg(&sentinel, b"fin", 1, false),
        "nothing retained after an empty retained payload"
    );
    broker.assert_running();
}

/// The will is published when the connection is lost without DISCONNECT
/// (MQTT-3.1.2-8) and discarded after a normal DISCONNECT (MQTT-3.1.2-10 /
/// 5.0 MQTT-3.1.2-10, MQTT-3.14.4-3).
async fn will_on_lost_connection(proto: Proto) {
    let mut broker = BrokerProcess::start();
    let t = proto.tag();
    let (mut watcher, _) = Client::connect(&broker, Opts::new(proto, &format!("{t}-watch"))).await;
    watcher.subscribe(&format!("will/{t}/#"), 1).await;

    let lost_topic = format!("will/{t}/lost");
    let (lost, _) = Client::connect(
        &broker,
        Opts::new(proto, &format!("{t}-lost")).will(&lost_topic, b"connection lost", 1),
    )
    .await;
    lost.kill().await;
    assert_eq!(
        watcher.recv().await,
        msg(&lost_topic, b"connection lost", 1, false),
        "will after the connection was killed"
    );

    let clean_topic = format!("will/{t}/clean");
    let (clean, _) = Client::connect(
        &broker,
        Opts::new(proto, &format!("{t}-clean")).will(&clean_topic, b"must not appear", 1),
    )
    .await;
    clean.disconnect().await;
    let (mut publisher, _) = Client::connect(&broker, Opts::new(proto, &format!("{t}-pub"))).await;
    let sentinel = format!("will/{t}/sentinel");
    publisher.publish(&sentinel, 1, false, b"after").await;
    assert_eq!(
        watcher.recv().await,
        msg(&sentinel, b"after", 1, false),
        "no will after a normal DISCONNECT"
    );
    broker.assert_running();
}

/// A persistent session keeps its subscription and queues QoS 1 messages
/// while its client is away (MQTT-3.1.2-4/-5 / 5.0 MQTT-3.1.2-5, §4.1); on
/// reconnection CONNACK says Session Present (MQTT-3.2.2-2 / 5.0
/// MQTT-3.2.2-3) and the messages follow, in order.
async fn persistent_session_redelivery(proto: Proto) {
    let mut broker = BrokerProcess::start();
    let t = proto.tag();
    let id = format!("{t}-persistent");
    let topic = format!("persist/{t}/data");
    let gone = format!("persist/{t}/gone");

    let (mut publisher, _) = Client::connect(&broker, Opts::new(proto, &format!("{t}-pub"))).await;
    publisher.subscribe(&gone, 1).await;

    let (mut sub, present) = Client::connect(
        &broker,
        Opts::new(proto, &id).persistent().will(&gone, b"gone", 1),
    )
    .await;
    assert!(!present, "no session existed yet");
    sub.subscribe(&topic, 1).await;
    sub.kill().await;
    // The will proves the broker has seen the connection go.
    assert_eq!(publisher.recv().await, msg(&gone, b"gone", 1, false));

    let payloads: Vec<String> = (1..=5).map(|i| format!("while away {i}")).collect();
    for p in &payloads {
        publisher.publish(&topic, 1, false, p.as_bytes()).await;
    }

    let (mut sub, present) = Client::connect(&broker, Opts::new(proto, &id).persistent()).await;
    assert!(present, "CONNACK Session Present after reconnecting");
    let got = sub.recv_n(payloads.len()).await;
    let want: Vec<Msg> = payloads
        .iter()
        .map(|p| msg(&topic, p.as_bytes(), 1, false))
        .collect();
    assert_eq!(got, want, "messages queued while the client was away");

    // The subscription itself survived too.
    publisher.publish(&topic, 1, false, b"live").await;
    assert_eq!(sub.recv().await, msg(&topic, b"live", 1, false));
    sub.disconnect().await;

    // Clean Session / Clean Start discards it.
    let (_fresh, present) = Client::connect(&broker, Opts::new(proto, &id)).await;
    assert!(!present, "Clean Start must not resume the session");
    broker.assert_running();
}

/// A 3.1.1 publisher and a 5.0 subscriber, and the other way round.
#[tokio::test]
async fn cross_version_routing() {
    let mut broker = BrokerProcess::start();
    let (mut sub5, _) = Client::connect(&broker, Opts::new(Proto::V5, "x-sub5")).await;
    sub5.subscribe("x/#", 2).await;
    let (mut sub4, _) = Client::connect(&broker, Opts::new(Proto::V311, "x-sub4")).await;
    sub4.subscribe("x/#", 2).await;
    let (mut pub4, _) = Client::connect(&broker, Opts::new(Proto::V311, "x-pub4")).await;
    let (mut pub5, _) = Client::connect(&broker, Opts::new(Proto::V5, "x-pub5")).await;
    for qos in 0..=2u8 {
        pub4.publish("x/from4", qos, false, b"3.1.1").await;
        let want = msg("x/from4", b"3.1.1", qos, false);
        assert_eq!(sub5.recv().await, want);
        assert_eq!(sub4.recv().await, want);
        pub5.publish("x/from5", qos, false, b"5.0").await;
        let want = msg("x/from5", b"5.0", qos, false);
        assert_eq!(sub4.recv().await, want);
        assert_eq!(sub5.recv().await, want);
    }
    broker.assert_running();
}
