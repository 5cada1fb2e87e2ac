//! The fault proxy understands MQTT: in front of the reference broker over
//! real loopback TCP, it logs what became of each packet both ways, and a
//! packet trigger fires its fault between the packet that fired it and the
//! next — whichever way the packet went.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use mqtt_gauntlet::external::proxy::{ApplyLink, Control, Proxy};
use mqtt_gauntlet::net::tripwire::{LinkFault, Tripwires};
use mqtt_gauntlet::record::carried::{Carried, Fate, Toward};
use mqtt_gauntlet::record::workload::Trigger;
use protocol::{Connect, Packet, PacketType, Publish, QoS, Version};
use reference_broker::store::MemoryStore;
use reference_broker::{server, Broker, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

async fn broker() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = server::spawn(
        Broker::new(Config::default()),
        Box::new(MemoryStore::new()),
        0,
    );
    tokio::spawn(server::serve_listener(listener, handle));
    addr
}

fn bytes(p: &Packet, version: Version) -> Vec<u8> {
    let mut out = BytesMut::new();
    protocol::encode(p, version, &mut out).unwrap();
    out.to_vec()
}

/// Every packet that arrives within `limit`.
async fn read_packets(s: &mut TcpStream, version: Version, limit: Duration) -> Vec<Packet> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let decoder = protocol::Decoder::new(version);
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        while let Some(p) = decoder.decode(&mut buf).unwrap() {
            out.push(p);
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return out,
        }
    }
}

/// A proxy for client `c1` in front of a fresh broker, watched by
/// `tripwires`, and a connected MQTT 5.0 client through it.
async fn setup(tripwires: &Tripwires) -> (Proxy, TcpStream) {
    let upstream = broker().await;
    let proxy = Proxy::start_for(upstream, 7, "c1", std::time::Instant::now(), None)
        .await
        .unwrap();
    let control: Control = proxy.control();
    let apply: ApplyLink = Arc::new(move |f| match f {
        LinkFault::Cut(_) => control.cut(),
        LinkFault::Stall(_) => control.stall(),
    });
    proxy.watch(tripwires.clone(), apply);
    let mut c = TcpStream::connect(proxy.addr()).await.unwrap();
    let connect = Packet::Connect(Box::new(Connect {
        version: Version::V5,
        clean_start: true,
        keep_alive: 0,
        properties: Default::default(),
        client_id: "c1".into(),
        will: None,
        username: None,
        password: None,
    }));
    c.write_all(&bytes(&connect, Version::V5)).await.unwrap();
    let got = read_packets(&mut c, Version::V5, Duration::from_millis(300)).await;
    assert!(matches!(got.as_slice(), [Packet::ConnAck(_)]), "{got:?}");
    (proxy, c)
}

fn publish(id: u16) -> Vec<u8> {
    let p = Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: "a/b".into(),
        packet_id: Some(id),
        properties: Default::default(),
        payload: vec![b'x'; 3].into(),
    });
    bytes(&p, Version::V5)
}

fn labelled<'a>(log: &'a [Carried], start: &str) -> Vec<&'a Carried> {
    log.iter().filter(|c| c.label.starts_with(start)).collect()
}

#[tokio::test]
async fn a_cut_fired_by_the_second_puback_received_loses_the_third() {
    let tripwires = Tripwires::default();
    let (proxy, mut c) = setup(&tripwires).await;
    let trigger = Trigger {
        by: "c1".into(),
        sent: false,
        packet: PacketType::PubAck,
        count: 2,
    };
    tripwires.arm(
        0,
        "cut c1 for 5000 ms".into(),
        trigger,
        Some(LinkFault::Cut("c1".into())),
    );
    // Three messages in one write: the broker answers each at once.
    let mut all = publish(1);
    all.extend(publish(2));
    all.extend(publish(3));
    c.write_all(&all).await.unwrap();
    let got = read_packets(&mut c, Version::V5, Duration::from_millis(500)).await;
    let ids: Vec<u16> = got
        .iter()
        .filter_map(|p| match p {
            Packet::PubAck(a) => Some(a.packet_id),
            _ => None,
        })
        .collect();
    assert_eq!(
        ids,
        vec![1, 2],
        "the client gets the PUBACKs up to the one that fired"
    );
    assert_eq!(tripwires.take_fired().len(), 1);

    let log = proxy.log();
    let acks = labelled(&log, "PUBACK");
    assert_eq!(acks.len(), 3, "{log:#?}");
    assert!(acks
        .iter()
        .all(|a| a.toward == Toward::Client && a.conn == 1));
    assert!(matches!(acks[0].fate, Fate::Passed { .. }));
    assert!(matches!(acks[1].fate, Fate::Passed { .. }));
    assert_eq!(acks[1].fired.as_deref(), Some("cut c1 for 5000 ms"));
    assert_eq!(acks[2].fate, Fate::Lost, "{log:#?}");
    let publishes = labelled(&log, "PUBLISH");
    assert_eq!(publishes.len(), 3);
    assert!(publishes
        .iter()
        .all(|p| p.toward == Toward::Broker && matches!(p.fate, Fate::Passed { .. })));
    assert_eq!(labelled(&log, "CONNECT").len(), 1);
    assert_eq!(labelled(&log, "CONNACK").len(), 1);
}

#[tokio::test]
async fn a_stall_fired_by_a_packet_the_client_sent_falls_once_the_broker_has_it() {
    let tripwires = Tripwires::default();
    let (proxy, mut c) = setup(&tripwires).await;
    let trigger = Trigger {
        by: "c1".into(),
        sent: true,
        packet: PacketType::Publish,
        count: 2,
    };
    tripwires.arm(
        0,
        "stall c1 for 5000 ms".into(),
        trigger,
        Some(LinkFault::Stall("c1".into())),
    );
    let mut all = publish(1);
    all.extend(publish(2));
    all.extend(publish(3));
    c.write_all(&all).await.unwrap();
    let got = read_packets(&mut c, Version::V5, Duration::from_millis(500)).await;
    // The second PUBLISH reached the broker, the stall fell, and nothing
    // moved after it: at most the first PUBACK, if it beat the second
    // PUBLISH through the proxy.
    assert!(got.len() <= 1, "{got:?}");
    let log = proxy.log();
    let publishes = labelled(&log, "PUBLISH");
    assert!(matches!(publishes[0].fate, Fate::Passed { .. }));
    assert!(matches!(publishes[1].fate, Fate::Passed { .. }));
    assert!(publishes[1].fired.is_some());
    assert_eq!(
        publishes[2].fate,
        Fate::Pending,
        "held by the stall: {log:#?}"
    );
    // Once the stall ends, what it held arrives: the third PUBLISH is held,
    // then answered.
    proxy.resume();
    let got = read_packets(&mut c, Version::V5, Duration::from_millis(500)).await;
    assert!(got
        .iter()
        .any(|p| matches!(p, Packet::PubAck(a) if a.packet_id == 3)));
    let log = proxy.log();
    assert!(matches!(
        labelled(&log, "PUBLISH")[2].fate,
        Fate::Held { .. }
    ));
}

#[tokio::test]
async fn a_packet_cut_short_goes_on_at_once_and_is_logged_when_whole() {
    let tripwires = Tripwires::default();
    let (proxy, mut c) = setup(&tripwires).await;
    let p = publish(9);
    let (head, tail) = p.split_at(4);
    c.write_all(head).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        labelled(&proxy.log(), "PUBLISH").is_empty(),
        "not a packet yet"
    );
    c.write_all(tail).await.unwrap();
    let got = timeout(
        Duration::from_secs(2),
        read_packets(&mut c, Version::V5, Duration::from_millis(300)),
    )
    .await
    .unwrap();
    assert!(matches!(got.as_slice(), [Packet::PubAck(a)] if a.packet_id == 9));
    assert_eq!(labelled(&proxy.log(), "PUBLISH").len(), 1);
}
