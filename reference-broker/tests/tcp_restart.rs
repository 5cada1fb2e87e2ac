//! Restarting the reference broker on the same `--store` directory, after a
//! clean stop (SIGTERM) and after a crash (SIGKILL): nothing the broker
//! acknowledged may be lost, since state is persisted before acks are sent.
//! Sessions (subscriptions, queued and in-flight messages) and retained
//! messages come back; 3.1.1 and 5.0 clients (rumqttc).

mod tcp_support;

use tcp_support::client::{msg, Client, Msg, Opts, Proto};
use tcp_support::{BrokerProcess, Options};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// SIGTERM: clean shutdown.
    Term,
    /// SIGKILL: a crash.
    Kill,
}

const DATA: &str = "restart/data";
const EXACTLY_ONCE: &str = "restart/q2";
const RETAINED: &str = "restart/retained";

fn data(i: usize) -> Vec<u8> {
    format!("data {i}").into_bytes()
}

fn q2(i: usize) -> Vec<u8> {
    format!("exactly once {i}").into_bytes()
}

/// What a subscriber to `DATA` (QoS 1) and `EXACTLY_ONCE` (QoS 2) must get
/// after the restart, in order.
fn expected_queue() -> Vec<Msg> {
    let mut want: Vec<Msg> = (1..=5).map(|i| msg(DATA, &data(i), 1, false)).collect();
    want.extend((1..=2).map(|i| msg(EXACTLY_ONCE, &q2(i), 2, false)));
    want
}

async fn restart(proto: Proto, stop: Stop) {
    let store = tempfile::tempdir().expect("temp dir");
    let t = proto.tag();
    let away_id = format!("{t}-away");
    let lost_id = format!("{t}-lost");
    let unacked_id = format!("{t}-unacked");

    let broker = BrokerProcess::start_with_store(store.path());

    // Away: subscribed, then disconnected normally; its session stays.
    let (mut away, present) =
        Client::connect(&broker, Opts::new(proto, &away_id).persistent()).await;
    assert!(!present);
    away.subscribe(DATA, 1).await;
    away.subscribe(EXACTLY_ONCE, 2).await;
    away.disconnect().await;

    // Lost: subscribed, then its connection killed.
    let (mut lost, _) = Client::connect(&broker, Opts::new(proto, &lost_id).persistent()).await;
    lost.subscribe(DATA, 1).await;
    lost.subscribe(EXACTLY_ONCE, 2).await;
    lost.kill().await;

    // Unacked: connected when the broker stops, with everything delivered to
    // it still unacknowledged (in flight).
    let (mut unacked, _) = Client::connect(
        &broker,
        Opts::new(proto, &unacked_id).persistent().no_acks(),
    )
    .await;
    unacked.subscribe(DATA, 1).await;

    let (mut publisher, _) = Client::connect(&broker, Opts::new(proto, &format!("{t}-pub"))).await;
    for i in 1..=5 {
        publisher.publish(DATA, 1, false, &data(i)).await;
    }
    for i in 1..=2 {
        publisher.publish(EXACTLY_ONCE, 2, false, &q2(i)).await;
    }
    publisher.publish(RETAINED, 1, true, b"kept").await;
    for i in 1..=5 {
        assert_eq!(
            unacked.recv().await,
            msg(DATA, &data(i), 1, false),
            "before the restart"
        );
    }

    // Everything above was acknowledged: stop the broker now.
    match stop {
        Stop::Term => {
            let log = broker.terminate();
            assert!(log.contains("shutting down"), "log:\n{log}");
            // (rumqttc 0.25 cannot decode the broker's DISCONNECT 0x8B,
            // whose Property Length is omitted as §3.14.2.2.1 allows, and
            // reports the close as abrupt: `sigterm_disconnects_v5_clients`
            // checks it on a raw socket.)
            unacked.closed().await;
        }
        Stop::Kill => broker.crash(),
    }
    unacked.kill().await;
    publisher.kill().await;

    let mut broker = BrokerProcess::start_with_store(store.path());
    assert!(
        broker.wait_for_log("restored_sessions=3"),
        "three persistent sessions restored; log:\n{}",
        broker.log()
    );

    let (mut away, present) =
        Client::connect(&broker, Opts::new(proto, &away_id).persistent()).await;
    assert!(present, "{away_id}: Session Present after the restart");
    assert_eq!(
        away.recv_n(7).await,
        expected_queue(),
        "{away_id}: queued while it was away"
    );

    let (mut lost, present) =
        Client::connect(&broker, Opts::new(proto, &lost_id).persistent()).await;
    assert!(present, "{lost_id}: Session Present after the restart");
    assert_eq!(
        lost.recv_n(7).await,
        expected_queue(),
        "{lost_id}: queued after its connection was lost"
    );

    // Unacknowledged messages are sent again, with DUP, in order
    // (MQTT-4.4.0-1, MQTT-3.3.1-1).
    let (mut unacked, present) =
        Client::connect(&broker, Opts::new(proto, &unacked_id).persistent()).await;
    assert!(present, "{unacked_id}: Session Present after the restart");
    for i in 1..=5 {
        assert_eq!(
            unacked.recv_with_dup().await,
            (msg(DATA, &data(i), 1, false), true),
            "{unacked_id}: in flight when the broker stopped"
        );
    }

    // Retained for a new subscriber.
    let (mut fresh, _) = Client::connect(&broker, Opts::new(proto, &format!("{t}-fresh"))).await;
    fresh.subscribe("restart/#", 1).await;
    assert_eq!(fresh.recv().await, msg(RETAINED, b"kept", 1, true));

    // The restored subscriptions still route live messages.
    let (mut publisher, _) = Client::connect(&broker, Opts::new(proto, &format!("{t}-pub"))).await;
    publisher.publish(DATA, 1, false, b"live").await;
    for c in [&mut away, &mut lost, &mut unacked, &mut fresh] {
        assert_eq!(c.recv().await, msg(DATA, b"live", 1, false));
    }
    broker.assert_running();
}

#[tokio::test]
async fn sigterm_v311() {
    restart(Proto::V311, Stop::Term).await
}

#[tokio::test]
async fn sigterm_v5() {
    restart(Proto::V5, Stop::Term).await
}

#[tokio::test]
async fn sigkill_v311() {
    restart(Proto::V311, Stop::Kill).await
}

#[tokio::test]
async fn sigkill_v5() {
    restart(Proto::V5, Stop::Kill).await
}

/// On SIGTERM, a 5.0 client is told DISCONNECT 0x8B Server shutting down
/// before the connection closes (§4.13.2 allows it; the broker promises it).
/// A raw socket: rumqttc 0.25 cannot decode a DISCONNECT without Property
/// Length.
#[test]
fn sigterm_disconnects_v5_clients() {
    use std::io::{Read, Write};
    let broker = BrokerProcess::start();
    let mut s = std::net::TcpStream::connect(broker.addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("read timeout");
    // CONNECT: "MQTT" level 5, Clean Start, Keep Alive 30, no properties,
    // client identifier "raw".
    let body = b"\x00\x04MQTT\x05\x02\x00\x1e\x00\x00\x03raw";
    let mut connect = vec![0x10, body.len() as u8];
    connect.extend_from_slice(body);
    s.write_all(&connect).expect("send CONNECT");
    let mut header = [0u8; 2];
    s.read_exact(&mut header).expect("CONNACK");
    assert_eq!(header[0], 0x20, "CONNACK expected");
    let mut connack = vec![0u8; usize::from(header[1])];
    s.read_exact(&mut connack).expect("CONNACK body");
    assert_eq!(&connack[..2], &[0, 0], "CONNACK: no session, Success");

    broker.terminate();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest)
        .expect("the connection ends in an orderly way, within 5 s");
    assert!(
        rest.len() >= 3 && rest[0] == 0xE0 && rest[2] == 0x8B,
        "DISCONNECT 0x8B expected before the close; got {rest:02x?}"
    );
}

/// A SIGTERM as soon as the address is printed is a clean shutdown too (the
/// handlers are installed before the address is printed). Several tries, as
/// the failure was a race.
#[test]
fn sigterm_right_after_start() {
    for _ in 0..20 {
        BrokerProcess::start().terminate();
    }
}

/// More connections than the broker has file descriptors for: accepting
/// fails for a while (the connections wait in the backlog), and the broker
/// keeps running; once they close, it serves new clients.
#[tokio::test]
async fn survives_running_out_of_file_descriptors() {
    let mut broker = BrokerProcess::start_with(Options {
        max_open_files: Some(48),
        ..Options::default()
    });
    let flood: Vec<std::net::TcpStream> = (0..80)
        .map(|_| std::net::TcpStream::connect(broker.addr).expect("connect (backlog)"))
        .collect();
    assert!(
        broker.wait_for_log("Too many open files"),
        "the broker never ran out of file descriptors; log:\n{}",
        broker.log()
    );
    broker.assert_running();
    drop(flood);

    let (mut sub, _) = Client::connect(&broker, Opts::new(Proto::V5, "after-sub")).await;
    sub.subscribe("fd/#", 1).await;
    let (mut publisher, _) = Client::connect(&broker, Opts::new(Proto::V311, "after-pub")).await;
    publisher.publish("fd/ok", 1, false, b"still here").await;
    assert_eq!(sub.recv().await, msg("fd/ok", b"still here", 1, false));
    broker.assert_running();
}
