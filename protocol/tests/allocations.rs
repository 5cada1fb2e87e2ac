//! Decoding makes at most one heap allocation per packet: payloads and binary
//! fields are slices of the input, only the topic string is copied.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::{Bytes, BytesMut};
use protocol::{encode, Decoder, Packet, Properties, Publish, QoS, Version};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (out, ALLOCATIONS.with(Cell::get) - before)
}

fn publish(payload: usize) -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: "maison/salon/temperature".into(),
        packet_id: Some(7),
        properties: Properties::default(),
        payload: Bytes::from(vec![1u8; payload]),
    })
}

#[test]
fn publish_decode_allocates_once_and_shares_the_payload() {
    for version in [Version::V311, Version::V5] {
        for payload in [34, 1024, 65536] {
            let mut out = BytesMut::new();
            encode(&publish(payload), version, &mut out).unwrap();
            let input = out.freeze();
            let _shared = input.clone(); // as a network buffer already is
            let decoder = Decoder::new(version);
            let (decoded, n) = allocations_during(|| decoder.decode_bytes(&input));
            let (packet, _) = decoded.unwrap().unwrap();
            assert_eq!(n, 1, "{version} PUBLISH with {payload}-byte payload");
            let Packet::Publish(p) = packet else {
                panic!("not a PUBLISH")
            };
            // The payload points into the input buffer: no copy was made.
            let range = input.as_ptr_range();
            assert!(range.contains(&p.payload.as_ptr()));
        }
    }
}

#[test]
fn stream_decode_allocates_once_per_publish() {
    let mut stream = BytesMut::new();
    for _ in 0..10 {
        encode(&publish(34), Version::V311, &mut stream).unwrap();
    }
    let decoder = Decoder::new(Version::V311);
    // The first split of a fresh buffer turns it into a shared one (one allocation).
    let first = decoder.decode(&mut stream).unwrap();
    assert!(first.is_some());
    let mut packets = Vec::with_capacity(16);
    let (_, n) = allocations_during(|| {
        while let Some(p) = decoder.decode(&mut stream).unwrap() {
            packets.push(p);
        }
    });
    assert_eq!(packets.len(), 9);
    assert_eq!(n, 9, "one allocation (the topic) per packet");
}
