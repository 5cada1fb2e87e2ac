//! A close the broker decides, over real TCP: the peer reads the reason
//! (DISCONNECT, a refusing CONNACK) and then the end of the stream, and may
//! go on writing for a moment without drawing a reset — the broker reads
//! and drops what still comes. A reset can overtake the reason on a real
//! network (Paho's interoperability `test_flow_control2` reads ECONNRESET
//! instead of DISCONNECT 0x93); on loopback it shows as the peer's next
//! write failing.

mod tcp_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use protocol::{encode, Connect, Decoder, Packet, Properties, Publish, QoS, ReasonCode, Version};
use tcp_support::{BrokerProcess, Options};

fn bytes(p: &Packet) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(p, Version::V5, &mut out).expect("encodes");
    out.to_vec()
}

fn connect(id: &str, username: Option<&str>) -> Packet {
    Packet::from(Connect {
        version: Version::V5,
        clean_start: true,
        keep_alive: 0,
        properties: Properties::default(),
        client_id: id.into(),
        will: None,
        username: username.map(str::to_owned),
        password: username.map(|_| Bytes::from_static(b"wrong")),
    })
}

fn qos2(id: u16) -> Vec<u8> {
    bytes(&Packet::Publish(Publish {
        dup: false,
        qos: QoS::ExactlyOnce,
        retain: false,
        topic: "maison/entree/porte".into(),
        packet_id: Some(id),
        properties: Properties::default(),
        payload: Bytes::from_static(&[0u8; 512]),
    }))
}

/// Everything the broker sends until the stream ends, decoded, and how it
/// ended: `Ok` for the end of the stream, `Err` for a reset or a timeout.
fn read_to_end(mut stream: TcpStream) -> (Vec<Packet>, Result<(), String>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    let mut buf = BytesMut::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        match stream.read(&mut chunk) {
            Ok(0) => break Ok(()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => break Err(format!("{:?}: {e}", e.kind())),
        }
    };
    let decoder = Decoder::new(Version::V5);
    let mut packets = Vec::new();
    while let Ok(Some(p)) = decoder.decode(&mut buf) {
        packets.push(p);
    }
    (packets, end)
}

/// Writes `first`, gives the broker a moment to answer and close, writes
/// `then` (as a client does that goes on with what it has to send, not
/// knowing yet), and only then reads: by the time it reads, the bytes that
/// reached a closed socket may have brought back a reset, which takes the
/// unread reply with it.
fn write_close_write(stream: &mut TcpStream, first: &[Vec<u8>], then: &[Vec<u8>]) {
    for c in first {
        stream.write_all(c).expect("the first packets are written");
    }
    thread::sleep(Duration::from_millis(100));
    for c in then {
        if stream.write_all(c).is_err() {
            break;
        }
    }
    thread::sleep(Duration::from_millis(100));
}

/// After the broker's close, the peer can still write for a moment without
/// a reset: the broker reads and drops what comes (without that, the first
/// write after the close brings back a reset and the next one fails).
fn still_writable(stream: &mut TcpStream) -> Result<(), String> {
    for i in 0..2 {
        stream
            .write_all(&qos2(1000 + i))
            .map_err(|e| format!("write {i} after the close: {e}"))?;
        thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

#[test]
fn receive_maximum_exceeded_is_read_before_the_close_while_the_client_writes() {
    let broker = BrokerProcess::start_with(Options {
        config: Some("receive_maximum: 2\n"),
        ..Options::default()
    });
    for round in 0..5 {
        let mut stream = TcpStream::connect(broker.addr).expect("connect");
        stream
            .write_all(&bytes(&connect(&format!("flow{round}"), None)))
            .expect("CONNECT");
        // Three QoS 2 messages awaiting PUBREL where two are allowed; more
        // after the broker has closed, before the client reads.
        let first: Vec<Vec<u8>> = (1..=3).map(qos2).collect();
        let then: Vec<Vec<u8>> = (4..=50).map(qos2).collect();
        write_close_write(&mut stream, &first, &then);
        let (packets, end) = read_to_end(stream.try_clone().expect("clone"));
        assert_eq!(still_writable(&mut stream), Ok(()), "round {round}");
        assert!(
            matches!(packets.first(), Some(Packet::ConnAck(a)) if a.reason == ReasonCode::SUCCESS),
            "round {round}: {packets:?}"
        );
        assert!(
            packets.iter().any(|p| matches!(p, Packet::Disconnect(d)
                if d.reason == ReasonCode::RECEIVE_MAXIMUM_EXCEEDED)),
            "round {round}: no DISCONNECT 0x93 before the end ({end:?}): {packets:?}"
        );
        assert_eq!(end, Ok(()), "round {round}: the stream ended with a reset");
    }
}

#[test]
fn a_refusing_connack_is_read_before_the_close_while_the_client_writes() {
    let broker = BrokerProcess::start_with(Options {
        passwords: Some("salon:secret\n"),
        ..Options::default()
    });
    for round in 0..5 {
        let mut stream = TcpStream::connect(broker.addr).expect("connect");
        // A CONNECT with a wrong password; more packets after the broker has
        // refused it and closed, before the client reads.
        let first = vec![bytes(&connect(&format!("refused{round}"), Some("salon")))];
        let then: Vec<Vec<u8>> = (1..=50).map(qos2).collect();
        write_close_write(&mut stream, &first, &then);
        let (packets, end) = read_to_end(stream.try_clone().expect("clone"));
        assert_eq!(still_writable(&mut stream), Ok(()), "round {round}");
        assert!(
            matches!(packets.first(), Some(Packet::ConnAck(a)) if a.reason.0 >= 0x80),
            "round {round}: no refusing CONNACK before the end ({end:?}): {packets:?}"
        );
        assert_eq!(end, Ok(()), "round {round}: the stream ended with a reset");
    }
}
