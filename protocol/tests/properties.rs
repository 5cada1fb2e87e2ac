//! Property tests of the codec: round trips of every valid packet of both
//! versions, robustness against arbitrary and mutated input, the packet size
//! limit, a bound on what decoding allocates, and topic matching against a
//! reference model.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestRunner;

use common::{any_valid_packet, encode_valid, version, Gen, VERSIONS};
use protocol::packet::{Connect, Publish, Will};
use protocol::topic::{matches, validate_filter, validate_name};
use protocol::{
    decode_exact, encode, read_fixed_header, DecodeError, Decoder, ErrorKind, Packet, Properties,
    PropertyValues, QoS, Version, MAX_PACKET_SIZE, VARINT_MAX,
};

// ---------------------------------------------------------------------------
// A counting allocator: bytes live and the peak, per thread, so that tests
// running in parallel do not see each other's allocations.

struct CountingAllocator;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn on_alloc(size: usize) {
    // `try_with`: the allocator also runs while thread locals are torn down.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + size as isize;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn on_free(size: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get() - size as isize));
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            on_alloc(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            on_alloc(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        on_free(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Count the new block before freeing the old: a moving realloc holds both.
            on_alloc(new_size);
            on_free(layout.size());
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Runs `f`; returns its result and the most bytes it held allocated at once
/// on this thread beyond what was allocated before.
fn peak_allocation<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(start));
    let result = f();
    let peak = PEAK.with(Cell::get);
    (result, (peak - start).max(0) as usize)
}

// ---------------------------------------------------------------------------
// Helpers.

fn put_varint(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let mut b = (value & 0x7F) as u8;
        value >>= 7;
        if value > 0 {
            b |= 0x80;
        }
        out.push(b);
        if value == 0 {
            return;
        }
    }
}

/// The version a decoded packet is written back as: a CONNECT carries its own.
fn version_of(packet: &Packet, decoder: Version) -> Version {
    match packet {
        Packet::Connect(c) => c.version,
        _ => decoder,
    }
}

/// Decodes packets off `buf` until it needs more bytes or fails. Every packet
/// the decoder accepts must be one the encoder writes and reads back unchanged:
/// whatever is valid enough to decode is valid enough to encode.
fn decode_all(decoder: Decoder, buf: &mut BytesMut) -> Result<(), TestCaseError> {
    loop {
        let before = buf.len();
        match decoder.decode(buf) {
            Ok(None) => {
                prop_assert_eq!(buf.len(), before, "Ok(None) must consume nothing");
                return Ok(());
            }
            Err(_) => return Ok(()),
            Ok(Some(packet)) => {
                prop_assert!(buf.len() < before, "a packet consumes bytes");
                let v = version_of(&packet, decoder.version);
                let bytes = protocol::encode_to_vec(&packet, v).map_err(|e| {
                    TestCaseError::fail(format!(
                        "decoder ({}) accepted a packet the encoder refuses ({e}): {packet:?}",
                        decoder.version
                    ))
                })?;
                prop_assert_eq!(
                    decode_exact(&bytes, v),
                    Ok(packet),
                    "re-encoded packet reads back differently"
                );
            }
        }
    }
}

/// Checks every reading path gives back `packet` from its encoding.
fn check_round_trip(packet: &Packet, version: Version) -> Result<(), TestCaseError> {
    let bytes = encode_valid(packet, version);

    // `encode` appends after what the buffer already holds.
    let mut out = BytesMut::from(&b"prefix"[..]);
    encode(packet, version, &mut out).expect("encode_to_vec accepted it");
    prop_assert_eq!(&out[..6], b"prefix");
    prop_assert_eq!(&out[6..], &bytes[..]);

    let header = read_fixed_header(&bytes, version, MAX_PACKET_SIZE)
        .expect("valid header")
        .expect("complete header");
    prop_assert_eq!(header.packet_type, packet.packet_type());
    prop_assert_eq!(header.packet_len(), bytes.len());

    let decoder = Decoder::new(version);
    let mut buf = BytesMut::from(&bytes[..]);
    prop_assert_eq!(decoder.decode(&mut buf), Ok(Some(packet.clone())));
    prop_assert!(buf.is_empty(), "{} bytes left over", buf.len());

    let frozen = Bytes::from(bytes.clone());
    prop_assert_eq!(
        decoder.decode_bytes(&frozen),
        Ok(Some((packet.clone(), bytes.len())))
    );
    prop_assert_eq!(decode_exact(&bytes, version), Ok(packet.clone()));
    Ok(())
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, u8),
    Remove(Index),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 1..=255u8).prop_map(|(i, m)| Mutation::Flip(i, m)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => any::<Index>().prop_map(Mutation::Remove),
        2 => any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(bytes: &mut Vec<u8>, mutations: &[Mutation]) {
    for m in mutations {
        if bytes.is_empty() {
            return;
        }
        let len = bytes.len();
        match *m {
            Mutation::Flip(ref i, mask) => bytes[i.index(len)] ^= mask,
            Mutation::Set(ref i, b) => bytes[i.index(len)] = b,
            Mutation::Insert(ref i, b) => bytes.insert(i.index(len + 1), b),
            Mutation::Remove(ref i) => {
                bytes.remove(i.index(len));
            }
            Mutation::Truncate(ref i) => bytes.truncate(i.index(len)),
        }
    }
}

/// A valid packet's encoding with a few bytes flipped, set, inserted or cut.
fn mutated_packet() -> impl Strategy<Value = Vec<u8>> {
    (any_valid_packet(), vec(mutation(), 1..4)).prop_map(|((v, p), mutations)| {
        let mut bytes = encode_valid(&p, v);
        mutate(&mut bytes, &mutations);
        bytes
    })
}

/// What decoding `input` may allocate: four bytes per input byte, plus 4 KiB
/// for fixed costs (error values, the shared buffer header, small vectors).
/// A length or count read from the input and trusted for an up-front
/// allocation (up to 64 KiB for a string, 256 MiB for a Variable Byte Integer)
/// would exceed it.
fn allocation_bound(input_len: usize) -> usize {
    4 * input_len + 4096
}

fn decode_measured(input: &[u8], version: Version, max: usize) -> usize {
    let mut buf = BytesMut::from(input);
    let decoder = Decoder::new(version).with_max_packet_size(max);
    let ((), peak) = peak_allocation(|| {
        // Each packet is dropped before the next is read, as a reader would.
        while let Ok(Some(packet)) = decoder.decode(&mut buf) {
            drop(packet);
        }
    });
    peak
}

// ---------------------------------------------------------------------------
// Round trips.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn round_trip_v311(packet in Gen::valid(Version::V311).packet()) {
        check_round_trip(&packet, Version::V311)?;
    }

    #[test]
    fn round_trip_v5(packet in Gen::valid(Version::V5).packet()) {
        check_round_trip(&packet, Version::V5)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Two packets back to back come off the buffer one at a time, each
    /// consuming exactly its own bytes.
    #[test]
    fn back_to_back(
        (v, first, second) in version().prop_flat_map(|v| {
            (Just(v), Gen::valid(v).packet(), Gen::valid(v).packet())
        })
    ) {
        let a = encode_valid(&first, v);
        let b = encode_valid(&second, v);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&a);
        buf.extend_from_slice(&b);
        let decoder = Decoder::new(v);
        prop_assert_eq!(decoder.decode(&mut buf), Ok(Some(first)));
        prop_assert_eq!(&buf[..], &b[..]);
        prop_assert_eq!(decoder.decode(&mut buf), Ok(Some(second)));
        prop_assert!(buf.is_empty());
        prop_assert_eq!(decoder.decode(&mut buf), Ok(None));

        let joined = Bytes::from([a.as_slice(), b.as_slice()].concat());
        let (_, len) = decoder.decode_bytes(&joined).unwrap().unwrap();
        prop_assert_eq!(len, a.len());
    }

    /// Bytes arriving in two parts: nothing is consumed and `Ok(None)` returned
    /// until the packet is complete.
    #[test]
    fn split_delivery((v, packet) in any_valid_packet(), cut in any::<Index>()) {
        let bytes = encode_valid(&packet, v);
        let cut = cut.index(bytes.len());
        let decoder = Decoder::new(v);
        let mut buf = BytesMut::from(&bytes[..cut]);
        prop_assert_eq!(decoder.decode(&mut buf), Ok(None));
        prop_assert_eq!(buf.len(), cut);
        buf.extend_from_slice(&bytes[cut..]);
        prop_assert_eq!(decoder.decode(&mut buf), Ok(Some(packet)));
        prop_assert!(buf.is_empty());
    }

}
/// Encodes `packet` after a prefix: refused, the buffer is as it was; accepted,
/// it decodes back unchanged.
fn check_loose(packet: &Packet, v: Version) -> Result<(), TestCaseError> {
    let mut out = BytesMut::from(&b"prefix"[..]);
    match encode(packet, v, &mut out) {
        Err(_) => prop_assert_eq!(&out[..], b"prefix"),
        Ok(()) => {
            let mut buf = out.split_off(6);
            prop_assert_eq!(Decoder::new(v).decode(&mut buf), Ok(Some(packet.clone())));
            prop_assert!(buf.is_empty());
        }
    }
    Ok(())
}

/// Packets built without the rules (U+0000, wildcards in names, packet
/// identifier 0, any reason code, properties where they are not allowed, 5.0
/// fields in 3.1.1, ...): whatever `encode` accepts, `decode` gives back
/// unchanged ("Anything `encode` accepts, `decode` gives back unchanged",
/// encode.rs). Each packet type of each version gets its own run, so that
/// rare combinations of one loose field among valid ones still come up.
#[test]
fn encode_accepts_only_what_decode_gives_back() {
    let mut failures = Vec::new();
    for v in VERSIONS {
        let g = Gen::loose(v);
        for t in g.types() {
            let mut runner = TestRunner::new(ProptestConfig::with_cases(300));
            if let Err(e) = runner.run(&g.of_type(t), |packet| check_loose(&packet, v)) {
                failures.push(format!("{v} {t}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// MQTT-1.5.4-2: no UTF-8 Encoded String holds U+0000, and the Response Topic
/// is one (and a topic name, MQTT-4.7.3-2). `encode` refuses U+0000 in every
/// other string, so it must here too rather than write a packet `decode`
/// refuses as malformed.
#[test]
fn response_topic_with_null_character_is_not_encoded() {
    let properties = || {
        Properties::from(PropertyValues {
            response_topic: Some("reply\0to".into()),
            ..PropertyValues::default()
        })
    };
    let publish = Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: false,
        topic: "t".into(),
        packet_id: None,
        properties: properties(),
        payload: Bytes::new(),
    });
    let connect = Packet::from(Connect {
        version: Version::V5,
        clean_start: true,
        keep_alive: 0,
        properties: Properties::default(),
        client_id: "c".into(),
        will: Some(Will {
            topic: "t".into(),
            payload: Bytes::new(),
            qos: QoS::AtMostOnce,
            retain: false,
            properties: properties(),
        }),
        username: None,
        password: None,
    });
    for packet in [publish, connect] {
        let encoded = protocol::encode_to_vec(&packet, Version::V5);
        assert!(
            encoded.is_err(),
            "encode wrote {encoded:02X?}, which decodes as {:?}",
            encoded.as_deref().map(|b| decode_exact(b, Version::V5))
        );
    }
}

// ---------------------------------------------------------------------------
// Robustness: any input gives Ok or Err, never a panic.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in vec(any::<u8>(), 0..512),
        max in prop_oneof![0..600usize, Just(MAX_PACKET_SIZE)],
    ) {
        for v in VERSIONS {
            decode_all(Decoder::new(v), &mut BytesMut::from(&bytes[..]))?;
            decode_all(Decoder::new(v).with_max_packet_size(max), &mut BytesMut::from(&bytes[..]))?;
            let _ = Decoder::new(v).decode_bytes(&Bytes::from(bytes.clone()));
            let _ = decode_exact(&bytes, v);
            let _ = read_fixed_header(&bytes, v, max);
        }
    }

    #[test]
    fn mutated_packets_never_panic(bytes in mutated_packet()) {
        for v in VERSIONS {
            decode_all(Decoder::new(v), &mut BytesMut::from(&bytes[..]))?;
            let _ = Decoder::new(v).decode_bytes(&Bytes::from(bytes.clone()));
            let _ = decode_exact(&bytes, v);
        }
    }
}

// ---------------------------------------------------------------------------
// The size limit is applied to the fixed header, before the body arrives.

fn assert_too_large(
    result: Result<Option<Packet>, DecodeError>,
    size: usize,
    max: usize,
) -> Result<(), TestCaseError> {
    match result {
        Err(e) => prop_assert_eq!(e.kind, ErrorKind::PacketTooLarge { size, max }),
        Ok(p) => prop_assert!(
            false,
            "{size}-byte packet over a {max}-byte limit gave {p:?}"
        ),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn oversized_packet_refused_from_its_header(
        (v, packet) in any_valid_packet(),
        limit in any::<Index>(),
    ) {
        let bytes = encode_valid(&packet, v);
        let max = limit.index(bytes.len());
        let header = read_fixed_header(&bytes, v, MAX_PACKET_SIZE).unwrap().unwrap();
        let decoder = Decoder::new(v).with_max_packet_size(max);

        let mut header_only = BytesMut::from(&bytes[..header.header_len]);
        assert_too_large(decoder.decode(&mut header_only), bytes.len(), max)?;
        let mut whole = BytesMut::from(&bytes[..]);
        assert_too_large(decoder.decode(&mut whole), bytes.len(), max)?;

        // Exactly at the limit is fine.
        let mut whole = BytesMut::from(&bytes[..]);
        let at_limit = Decoder::new(v).with_max_packet_size(bytes.len());
        prop_assert_eq!(at_limit.decode(&mut whole), Ok(Some(packet)));
    }

    /// Any declared Remaining Length: over the limit is an error from the header
    /// alone; within it, the decoder waits for the body without consuming.
    #[test]
    fn declared_length_checked_against_limit(
        (v, packet) in any_valid_packet(),
        remaining in prop_oneof![0..300u32, 0..=VARINT_MAX, Just(VARINT_MAX)],
        max in prop_oneof![0..400usize, 0..=MAX_PACKET_SIZE, Just(MAX_PACKET_SIZE)],
    ) {
        let mut header = vec![encode_valid(&packet, v)[0]];
        put_varint(&mut header, remaining);
        let size = header.len() + remaining as usize;
        let mut buf = BytesMut::from(&header[..]);
        let (result, peak) = peak_allocation(|| {
            Decoder::new(v).with_max_packet_size(max).decode(&mut buf)
        });
        prop_assert!(peak < 1024, "{peak} bytes allocated reading a header");
        if size > max {
            assert_too_large(result, size, max)?;
        } else if remaining > 0 {
            prop_assert_eq!(result, Ok(None));
            prop_assert_eq!(buf.len(), header.len());
        }
    }
}

// ---------------------------------------------------------------------------
// Allocation: decoding never trusts a declared length for an up-front allocation.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn decoding_arbitrary_bytes_allocates_little(bytes in vec(any::<u8>(), 0..512)) {
        for v in VERSIONS {
            let peak = decode_measured(&bytes, v, 1024);
            prop_assert!(
                peak <= allocation_bound(bytes.len()),
                "{peak} bytes allocated decoding {} bytes as {v}", bytes.len()
            );
        }
    }

    #[test]
    fn decoding_mutated_packets_allocates_little(bytes in mutated_packet()) {
        for v in VERSIONS {
            let peak = decode_measured(&bytes, v, 1024);
            prop_assert!(
                peak <= allocation_bound(bytes.len().min(1024)),
                "{peak} bytes allocated decoding {} bytes as {v}", bytes.len()
            );
        }
    }
}

/// Lengths and counts that promise far more than the input holds.
#[test]
fn declared_lengths_do_not_allocate() {
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    // A PUBLISH announcing 256 MiB, of which 3 bytes arrived.
    let mut publish = vec![0x30];
    put_varint(&mut publish, VARINT_MAX);
    publish.extend_from_slice(&[0x00, 0x01, b'a']);
    cases.push(("huge remaining length", publish));
    // A string declaring 65535 bytes in a 6-byte packet.
    cases.push((
        "huge string length",
        vec![0x30, 0x04, 0xFF, 0xFF, b'a', b'b'],
    ));
    // A property length of 256 MiB in a small PUBLISH.
    cases.push((
        "huge property length",
        vec![0x30, 0x08, 0x00, 0x01, b't', 0xFF, 0xFF, 0xFF, 0x7F, 0x00],
    ));
    // A SUBACK whose properties claim 16383 bytes.
    cases.push((
        "huge suback",
        vec![0x90, 0x05, 0x00, 0x01, 0xFF, 0x7F, 0x00],
    ));
    for (what, bytes) in cases {
        for v in VERSIONS {
            for max in [1024, MAX_PACKET_SIZE] {
                let peak = decode_measured(&bytes, v, max);
                assert!(
                    peak <= 1024,
                    "{what}: {peak} bytes allocated decoding {} bytes as {v}",
                    bytes.len()
                );
            }
        }
    }
}

/// The densest input: a 5.0 CONNACK of nothing but empty user properties (5
/// bytes each on the wire, a 48-byte `(String, String)` in memory).
#[test]
fn dense_user_properties_allocate_in_proportion() {
    for max in [1024usize, 64 * 1024] {
        let pairs = (max - 8) / 5;
        let mut props = Vec::new();
        for _ in 0..pairs {
            props.extend_from_slice(&[0x26, 0, 0, 0, 0]);
        }
        let mut body = vec![0x00, 0x00];
        put_varint(&mut body, props.len() as u32);
        body.extend_from_slice(&props);
        let mut bytes = vec![0x20];
        put_varint(&mut bytes, body.len() as u32);
        bytes.extend_from_slice(&body);
        assert!(bytes.len() <= max);

        let mut buf = BytesMut::from(&bytes[..]);
        let decoder = Decoder::new(Version::V5).with_max_packet_size(max);
        let (decoded, peak) = peak_allocation(|| decoder.decode(&mut buf));
        match decoded {
            Ok(Some(Packet::ConnAck(c))) => assert_eq!(c.properties.user_properties.len(), pairs),
            other => panic!("{other:?}"),
        }
        // Linear in the input, never from a declared count: 48 bytes of pair
        // per 5 input bytes, up to twice that while the vector grows (a moving
        // realloc holds the old and the new block). Measured: 18472 bytes for
        // a 1022-byte packet, which the 4x bound of the random inputs would not cover.
        let bound = 24 * bytes.len() + 4096;
        assert!(
            peak <= bound,
            "{peak} bytes allocated for a {}-byte packet (bound {bound})",
            bytes.len()
        );
    }
}

// ---------------------------------------------------------------------------
// Topic matching against a reference model.

/// MQTT §4.7, read literally: a filter's levels match a name's levels one for
/// one, `+` matching any one level (the empty one included); a last `#`
/// matches whatever follows, no level at all included (so `a/#` matches `a`).
/// Filters starting with a wildcard do not match names starting with `$`
/// (MQTT-4.7.2-1).
fn model_matches(filter: &str, name: &str) -> bool {
    if name.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let f: Vec<&str> = filter.split('/').collect();
    let n: Vec<&str> = name.split('/').collect();
    let level = |(fl, nl): (&&str, &&str)| *fl == "+" || fl == nl;
    match f.split_last() {
        Some((&"#", parents)) => {
            n.len() >= parents.len() && parents.iter().zip(n.iter()).all(level)
        }
        _ => f.len() == n.len() && f.iter().zip(n.iter()).all(level),
    }
}

const MODEL_FILTER_LEVELS: &[&str] = &["a", "b", "$SYS", "", "+", "#"];
const MODEL_NAME_LEVELS: &[&str] = &["a", "b", "$SYS", ""];

fn levels(alphabet: &'static [&'static str]) -> impl Strategy<Value = String> {
    vec(proptest::sample::select(alphabet), 1..5).prop_map(|l| l.join("/"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn topic_matching_agrees_with_model(
        filter in levels(MODEL_FILTER_LEVELS),
        name in levels(MODEL_NAME_LEVELS),
    ) {
        if validate_filter(&filter, false).is_ok() && validate_name(&name).is_ok() {
            prop_assert_eq!(
                matches(&filter, &name),
                model_matches(&filter, &name),
                "filter {:?} name {:?}", filter, name
            );
        }
    }
}

#[test]
fn topic_matching_spec_examples() {
    let cases: &[(&str, &str, bool)] = &[
        // §4.7.1.2: multi-level wildcard.
        ("sport/tennis/player1/#", "sport/tennis/player1", true),
        (
            "sport/tennis/player1/#",
            "sport/tennis/player1/ranking",
            true,
        ),
        (
            "sport/tennis/player1/#",
            "sport/tennis/player1/score/wimbledon",
            true,
        ),
        ("sport/tennis/player1/#", "sport/tennis/player2", false),
        ("sport/#", "sport", true),
        ("#", "sport/tennis", true),
        // §4.7.1.3: single-level wildcard.
        ("sport/tennis/+", "sport/tennis/player1", true),
        ("sport/tennis/+", "sport/tennis/player2", true),
        ("sport/tennis/+", "sport/tennis/player1/ranking", false),
        ("sport/+", "sport", false),
        ("sport/+", "sport/", true),
        ("+/+", "/finance", true),
        ("/+", "/finance", true),
        ("+", "/finance", false),
        // §4.7.2: topics beginning with $.
        ("#", "$SYS/monitor/Clients", false),
        ("+/monitor/Clients", "$SYS/monitor/Clients", false),
        ("$SYS/#", "$SYS/monitor/Clients", true),
        ("$SYS/monitor/+", "$SYS/monitor/Clients", true),
        ("$SYS/#", "$SYS", true),
        // §4.7.3: case-sensitive, and the empty level is a level.
        ("ACCOUNTS", "Accounts", false),
        ("a/b", "a//b", false),
        ("a//b", "a//b", true),
        ("a/+/b", "a//b", true),
    ];
    for &(filter, name, expected) in cases {
        assert!(validate_filter(filter, false).is_ok(), "{filter}");
        assert!(validate_name(name).is_ok(), "{name}");
        assert_eq!(matches(filter, name), expected, "{filter} vs {name}");
        assert_eq!(
            model_matches(filter, name),
            expected,
            "model: {filter} vs {name}"
        );
    }
}
