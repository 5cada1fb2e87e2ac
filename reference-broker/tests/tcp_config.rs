//! The binary's settings over real TCP: password file, refused filters, and
//! clear errors for bad configuration files.

mod tcp_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use protocol::{
    encode, Connect, Decoder, Packet, Properties, QoS, ReasonCode, Subscribe, Subscription,
    SubscriptionOptions, Version,
};
use tcp_support::{BrokerProcess, Options};

/// A blocking client speaking our codec, with a deadline on every read.
struct Raw {
    stream: TcpStream,
    buf: BytesMut,
    version: Version,
}

impl Raw {
    fn connect(broker: &BrokerProcess, version: Version) -> Raw {
        let stream = TcpStream::connect(broker.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("read timeout");
        Raw {
            stream,
            buf: BytesMut::new(),
            version,
        }
    }

    fn send(&mut self, packet: &Packet) {
        let mut out = BytesMut::new();
        encode(packet, self.version, &mut out).expect("encodes");
        self.stream.write_all(&out).expect("write");
    }

    fn recv(&mut self) -> Packet {
        let decoder = Decoder::new(self.version);
        loop {
            if let Some(p) = decoder
                .decode(&mut self.buf)
                .expect("broker sent a valid packet")
            {
                return p;
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).expect("read within 5 s");
            assert!(n > 0, "connection closed while waiting for a packet");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn connect_packet(version: Version, user: Option<&str>, password: Option<&str>) -> Packet {
    Packet::from(Connect {
        version,
        clean_start: true,
        keep_alive: 30,
        properties: Properties::default(),
        client_id: "config-test".into(),
        will: None,
        username: user.map(str::to_owned),
        password: password.map(|p| Bytes::copy_from_slice(p.as_bytes())),
    })
}

fn connack_reason(
    broker: &BrokerProcess,
    version: Version,
    user: Option<&str>,
    pw: Option<&str>,
) -> ReasonCode {
    let mut c = Raw::connect(broker, version);
    c.send(&connect_packet(version, user, pw));
    match c.recv() {
        Packet::ConnAck(a) => a.reason,
        other => panic!("expected CONNACK, got {other:?}"),
    }
}

#[test]
fn password_file_is_enforced() {
    let broker = BrokerProcess::start_with(Options {
        passwords: Some("# users\nalice:s3cret\n\nbob:other:with:colons\n"),
        config: Some("allow_anonymous: false\n"),
        ..Options::default()
    });
    for version in [Version::V311, Version::V5] {
        assert_eq!(
            connack_reason(&broker, version, Some("alice"), Some("s3cret")),
            ReasonCode::SUCCESS
        );
        assert_eq!(
            connack_reason(&broker, version, Some("bob"), Some("other:with:colons")),
            ReasonCode::SUCCESS,
            "only the first ':' separates user and password"
        );
        // 3.1.1 return code 4 / 5.0 0x86 Bad User Name or Password.
        assert_eq!(
            connack_reason(&broker, version, Some("alice"), Some("wrong")),
            ReasonCode::BAD_USER_NAME_OR_PASSWORD
        );
        // 3.1.1 return code 5 / 5.0 0x87 Not authorized.
        assert_eq!(
            connack_reason(&broker, version, None, None),
            ReasonCode::NOT_AUTHORIZED
        );
    }
}

#[test]
fn refused_filters_fail_at_subscribe() {
    let broker = BrokerProcess::start_with(Options {
        config: Some("refused_filters: [\"forbidden/#\"]\n"),
        ..Options::default()
    });
    for (version, refusal) in [
        (Version::V311, ReasonCode::UNSPECIFIED_ERROR),
        (Version::V5, ReasonCode::NOT_AUTHORIZED),
    ] {
        let mut c = Raw::connect(&broker, version);
        c.send(&connect_packet(version, None, None));
        assert!(matches!(c.recv(), Packet::ConnAck(a) if a.reason == ReasonCode::SUCCESS));
        let sub = |filter: &str| Subscription {
            filter: filter.into(),
            options: SubscriptionOptions {
                qos: QoS::AtLeastOnce,
                ..SubscriptionOptions::default()
            },
        };
        c.send(&Packet::Subscribe(Subscribe {
            packet_id: 7,
            properties: Properties::default(),
            filters: vec![sub("forbidden/x"), sub("allowed/x"), sub("forbidden/#")],
        }));
        match c.recv() {
            Packet::SubAck(s) => {
                assert_eq!(s.packet_id, 7);
                assert_eq!(s.reasons, vec![refusal, ReasonCode::GRANTED_QOS_1, refusal]);
            }
            other => panic!("expected SUBACK, got {other:?}"),
        }
    }
}

fn run_binary(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_reference-broker"))
        .args(args)
        .output()
        .expect("run reference-broker");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_config_files_are_refused_with_their_location() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = [
        (
            "unknown.yaml",
            "max_packet_size: 1000\nmax_inflihgt: 3\n",
            "2:",
        ),
        ("type.yaml", "receive_maximum: lots\n", "1:"),
        ("range.yaml", "maximum_qos: 3\n", "maximum_qos"),
        (
            "filter.yaml",
            "refused_filters: [\"a/#/b\"]\n",
            "refused_filters",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write config");
        let (ok, stderr) = run_binary(&[
            "--listen",
            "127.0.0.1:0",
            "--config",
            path.to_str().unwrap(),
        ]);
        assert!(!ok, "{name} must be refused");
        assert!(
            stderr.contains(name),
            "{name}: the error names the file: {stderr}"
        );
        assert!(
            stderr.contains(expected),
            "{name}: expected {expected:?} in {stderr}"
        );
    }
    let passwords = dir.path().join("passwords");
    std::fs::write(&passwords, "alice:x\nno-colon-here\n").expect("write");
    let (ok, stderr) = run_binary(&[
        "--listen",
        "127.0.0.1:0",
        "--password-file",
        passwords.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("passwords:2:"), "line number in {stderr}");
}
