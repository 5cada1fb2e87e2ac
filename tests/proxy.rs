//! Each fault of the proxy does what it says, on loopback, against an echo
//! server standing in for a broker.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use mqtt_gauntlet::external::proxy::Proxy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{timeout, Instant};

/// Echoes everything back on every connection.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

async fn setup() -> (Proxy, TcpStream) {
    let upstream = echo_server().await;
    let proxy = Proxy::start(upstream, 7).await.unwrap();
    let client = TcpStream::connect(proxy.addr()).await.unwrap();
    (proxy, client)
}

async fn read_exact_within(s: &mut TcpStream, n: usize, limit: Duration) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    timeout(limit, s.read_exact(&mut buf))
        .await
        .expect("bytes within the deadline")
        .expect("read");
    buf
}

#[tokio::test]
async fn forwards_both_ways() {
    let (_proxy, mut c) = setup().await;
    c.write_all(b"ping").await.unwrap();
    assert_eq!(
        read_exact_within(&mut c, 4, Duration::from_secs(5)).await,
        b"ping"
    );
}

#[tokio::test]
async fn latency_delays_by_at_least_the_minimum_and_keeps_order() {
    let (proxy, mut c) = setup().await;
    proxy.set_latency(Duration::from_millis(40), Duration::from_millis(60));
    let started = Instant::now();
    for i in 0..10u8 {
        c.write_all(&[i]).await.unwrap();
    }
    let got = read_exact_within(&mut c, 10, Duration::from_secs(5)).await;
    // Both directions are delayed: at least twice the minimum.
    assert!(
        started.elapsed() >= Duration::from_millis(80),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        got,
        (0..10).collect::<Vec<u8>>(),
        "jitter must not reorder a stream"
    );
}

#[tokio::test]
async fn cut_is_silent_both_ways_and_a_gap_stays_mute_after_the_heal() {
    let (proxy, mut c) = setup().await;
    let mut quiet = TcpStream::connect(proxy.addr()).await.unwrap();
    c.write_all(b"a").await.unwrap();
    read_exact_within(&mut c, 1, Duration::from_secs(5)).await;
    proxy.cut();
    // Writing still succeeds and nothing comes back: no data, no EOF, no error.
    c.write_all(b"lost").await.unwrap();
    let mut buf = [0u8; 16];
    let r = timeout(Duration::from_millis(300), c.read(&mut buf)).await;
    assert!(r.is_err(), "a cut connection must stay mute, got {r:?}");
    proxy.heal();
    // "lost" left a gap in c's stream: nothing after it can pass, as in the
    // simulator (a stream cannot skip bytes; only keep alive ends it).
    c.write_all(b"b").await.unwrap();
    let r = timeout(Duration::from_millis(300), c.read(&mut buf)).await;
    assert!(
        r.is_err(),
        "a connection with a gap must stay mute, got {r:?}"
    );
    // A connection that sent nothing while cut carries on, and so does a
    // new one.
    quiet.write_all(b"q").await.unwrap();
    assert_eq!(
        read_exact_within(&mut quiet, 1, Duration::from_secs(5)).await,
        b"q"
    );
    let mut fresh = TcpStream::connect(proxy.addr()).await.unwrap();
    fresh.write_all(b"f").await.unwrap();
    assert_eq!(
        read_exact_within(&mut fresh, 1, Duration::from_secs(5)).await,
        b"f"
    );
}

#[tokio::test]
async fn stall_holds_and_resume_delivers_in_order() {
    let (proxy, mut c) = setup().await;
    proxy.stall();
    c.write_all(b"12345").await.unwrap();
    let mut buf = [0u8; 16];
    assert!(timeout(Duration::from_millis(300), c.read(&mut buf))
        .await
        .is_err());
    proxy.resume();
    assert_eq!(
        read_exact_within(&mut c, 5, Duration::from_secs(5)).await,
        b"12345"
    );
}

#[tokio::test]
async fn reset_is_econnreset_for_the_client() {
    let (proxy, mut c) = setup().await;
    c.write_all(b"x").await.unwrap();
    read_exact_within(&mut c, 1, Duration::from_secs(5)).await;
    proxy.reset();
    let mut buf = [0u8; 16];
    let r = timeout(Duration::from_secs(5), c.read(&mut buf))
        .await
        .expect("the reset arrives");
    match r {
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset),
        Ok(n) => panic!("expected ECONNRESET, read {n} bytes (0 = FIN, not RST)"),
    }
}

#[tokio::test]
async fn bandwidth_limits_throughput() {
    let (proxy, mut c) = setup().await;
    proxy.set_bandwidth(Some(20_000));
    let data = vec![7u8; 10_000];
    let started = Instant::now();
    c.write_all(&data).await.unwrap();
    let got = read_exact_within(&mut c, data.len(), Duration::from_secs(10)).await;
    assert_eq!(got, data);
    // 10 kB at 20 kB/s each way takes at least half a second.
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_client_close_reaches_the_server() {
    let (_proxy, mut c) = setup().await;
    c.write_all(b"bye").await.unwrap();
    read_exact_within(&mut c, 3, Duration::from_secs(5)).await;
    c.shutdown().await.unwrap();
    // The echo server sees EOF and closes; the client sees that close.
    let mut buf = [0u8; 4];
    let n = timeout(Duration::from_secs(5), c.read(&mut buf))
        .await
        .expect("close within 5 s")
        .expect("a clean close");
    assert_eq!(n, 0);
}
