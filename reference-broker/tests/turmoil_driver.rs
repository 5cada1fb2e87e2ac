//! The same driver serves turmoil's simulated TCP: a client on another
//! simulated host connects, subscribes and gets its own QoS 1 message back.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use protocol::{
    encode, Connect, Decoder, Packet, Properties, Publish, QoS, Subscribe, Subscription,
    SubscriptionOptions, Version,
};
use reference_broker::server;
use reference_broker::store::MemoryStore;
use reference_broker::{Broker, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn send(stream: &mut turmoil::net::TcpStream, packet: Packet) -> std::io::Result<()> {
    let mut out = BytesMut::new();
    encode(&packet, Version::V5, &mut out).expect("valid packet");
    stream.write_all(&out).await
}

async fn recv(stream: &mut turmoil::net::TcpStream, buf: &mut BytesMut) -> Packet {
    let decoder = Decoder::new(Version::V5);
    loop {
        if let Some(p) = decoder.decode(buf).expect("valid packet from the broker") {
            return p;
        }
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read_buf(buf))
            .await
            .expect("a packet within 5 simulated seconds")
            .expect("read");
        assert!(n > 0, "broker closed the connection");
    }
}

#[test]
fn driver_serves_turmoil_streams() {
    let mut sim = turmoil::Builder::new().rng_seed(7).build();
    sim.host("broker", || async {
        let listener = turmoil::net::TcpListener::bind(("0.0.0.0", 1883)).await?;
        let handle = server::spawn(
            Broker::new(Config::default()),
            Box::new(MemoryStore::new()),
            0,
        );
        loop {
            let (stream, _) = listener.accept().await?;
            handle.serve(stream);
        }
    });
    sim.client("client", async {
        let mut s = turmoil::net::TcpStream::connect(("broker", 1883)).await?;
        let mut buf = BytesMut::new();
        send(
            &mut s,
            Packet::from(Connect {
                version: Version::V5,
                clean_start: true,
                keep_alive: 10,
                properties: Properties::default(),
                client_id: "sim".into(),
                will: None,
                username: None,
                password: None,
            }),
        )
        .await?;
        assert!(matches!(recv(&mut s, &mut buf).await, Packet::ConnAck(a) if !a.reason.is_error()));
        send(
            &mut s,
            Packet::Subscribe(Subscribe {
                packet_id: 1,
                properties: Properties::default(),
                filters: vec![Subscription {
                    filter: "maison/+/temperature".into(),
                    options: SubscriptionOptions {
                        qos: QoS::AtLeastOnce,
                        ..SubscriptionOptions::default()
                    },
                }],
            }),
        )
        .await?;
        assert!(matches!(recv(&mut s, &mut buf).await, Packet::SubAck(_)));
        send(
            &mut s,
            Packet::Publish(Publish {
                dup: false,
                qos: QoS::AtLeastOnce,
                retain: false,
                topic: "maison/salon/temperature".into(),
                packet_id: Some(9),
                properties: Properties::default(),
                payload: Bytes::from_static(b"21.5"),
            }),
        )
        .await?;
        let mut got_ack = false;
        let mut got_message = false;
        for _ in 0..2 {
            match recv(&mut s, &mut buf).await {
                Packet::PubAck(a) => got_ack = a.packet_id == 9,
                Packet::Publish(p) => {
                    got_message = p.topic == "maison/salon/temperature" && &p.payload[..] == b"21.5"
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(got_ack && got_message);
        Ok(())
    });
    sim.run().expect("simulation runs to completion");
}
