//! Decode and encode speed for three representative packets. (How many heap
//! allocations a decode makes is asserted in tests/allocations.rs.)

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use protocol::{
    encode, Connect, Decoder, Packet, Properties, PropertyValues, Publish, QoS, Version, Will,
};

fn publish(payload_len: usize) -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: "maison/salon/temperature".into(),
        packet_id: Some(42),
        properties: Properties::default(),
        payload: Bytes::from(vec![b'x'; payload_len]),
    })
}

fn connect_with_will() -> Packet {
    let properties = Properties::from(PropertyValues {
        session_expiry_interval: Some(3600),
        receive_maximum: Some(100),
        maximum_packet_size: Some(65536),
        topic_alias_maximum: Some(10),
        user_properties: vec![("site".into(), "maison".into())],
        ..PropertyValues::default()
    });
    Packet::from(Connect {
        version: Version::V5,
        clean_start: false,
        keep_alive: 30,
        properties,
        client_id: "sensor-salon-01".into(),
        will: Some(Will {
            topic: "maison/salon/status".into(),
            payload: Bytes::from_static(b"offline"),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: Properties::from(PropertyValues {
                will_delay_interval: Some(5),
                content_type: Some("text/plain".into()),
                ..PropertyValues::default()
            }),
        }),
        username: Some("sensor".into()),
        password: Some(Bytes::from_static(b"secret")),
    })
}

fn encoded(packet: &Packet, version: Version) -> Bytes {
    let mut out = BytesMut::new();
    encode(packet, version, &mut out).expect("valid packet");
    // A shared buffer, as a network read hands it over: slicing it allocates nothing.
    let bytes = out.freeze();
    let _ = bytes.slice(..);
    bytes
}

fn cases() -> Vec<(&'static str, Packet, Version)> {
    // 2 (fixed header) + 26 (topic) + 2 (packet id) + 34 (payload) = 64 bytes.
    vec![
        ("publish_qos1_64B_v311", publish(34), Version::V311),
        ("publish_qos1_1KiB_v5", publish(1024), Version::V5),
        ("connect_will_props_v5", connect_with_will(), Version::V5),
    ]
}

fn bench(c: &mut Criterion) {
    for (name, packet, version) in cases() {
        let bytes = encoded(&packet, version);
        let decoder = Decoder::new(version);
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("decode", |b| {
            b.iter(|| decoder.decode_bytes(black_box(&bytes)).unwrap())
        });
        let mut out = BytesMut::with_capacity(4096);
        group.bench_function("encode", |b| {
            b.iter(|| {
                out.clear();
                encode(black_box(&packet), version, &mut out).unwrap();
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
