//! gauntlet against real brokers over real TCP: the reference broker served
//! in this process (plain and TLS, given by URL), the `reference` profile
//! (the `reference-broker` binary, started by gauntlet), and mosquitto from
//! its profile with the committed baseline. Real time: these runs take
//! seconds, not milliseconds.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use protocol::{
    Connect, Decoder, Packet, Properties, QoS, Subscribe, Subscription, SubscriptionOptions,
    Version,
};
use reference_broker::store::MemoryStore;
use reference_broker::{server, Broker, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One whole-suite run at a time: they are timing-sensitive and this
/// machine may have two cores.
static SUITE: Mutex<()> = Mutex::new(());

mod common;
use common::{gauntlet, gauntlet_with, text};

/// The reference broker in this process, on a free port, plain TCP or TLS.
struct LocalBroker {
    addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

impl LocalBroker {
    fn start(tls: Option<tokio_rustls::TlsAcceptor>) -> LocalBroker {
        LocalBroker::with_config(tls, Config::default())
    }

    fn with_config(tls: Option<tokio_rustls::TlsAcceptor>, config: Config) -> LocalBroker {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let addr = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let handle = server::spawn(Broker::new(config), Box::new(MemoryStore::new()), 0);
            tokio::spawn(async move {
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    match &tls {
                        None => handle.serve(tcp),
                        Some(acceptor) => {
                            let acceptor = acceptor.clone();
                            let handle = handle.clone();
                            tokio::spawn(async move {
                                if let Ok(s) = acceptor.accept(tcp).await {
                                    handle.serve(s);
                                }
                            });
                        }
                    }
                }
            });
            addr
        });
        LocalBroker {
            addr,
            _runtime: runtime,
        }
    }

    fn url(&self) -> String {
        format!("mqtt://{}", self.addr)
    }
}

/// A self-signed certificate for `localhost`: (acceptor, CA file).
fn tls_acceptor(dir: &Path) -> (tokio_rustls::TlsAcceptor, std::path::PathBuf) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    (tokio_rustls::TlsAcceptor::from(Arc::new(config)), ca)
}

#[test]
fn scenarios_run_against_a_broker_given_by_url() {
    let broker = LocalBroker::start(None);
    let out = gauntlet(&[
        "run",
        "--broker",
        &broker.url(),
        "--jobs",
        "4",
        "scenarios/conformance/qos1_flow.yaml",
        "scenarios/conformance/qos2_flow_subscriber.yaml",
        "scenarios/chaos/qos1_cut_before_delivery.yaml",
        "scenarios/chaos/stall_subscriber.yaml",
    ]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("8 runs: 8 passed, 0 failed"), "{t}");
}

/// The malformed sweep's bytes carry slots for the run's prefixes: every
/// run shares one broker given by URL, eight at a time, and each sees only
/// its own clients' names.
#[test]
fn the_malformed_sweep_runs_in_parallel_on_a_shared_broker() {
    let broker = LocalBroker::start(None);
    let out = gauntlet(&[
        "run",
        "--broker",
        &broker.url(),
        "--jobs",
        "8",
        "scenarios/conformance/malformed.yaml",
    ]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let runs = protocol::malformed::rows(protocol::Version::V311).len()
        + protocol::malformed::rows(protocol::Version::V5).len();
    assert!(
        t.contains(&format!("{runs} runs: {runs} passed, 0 failed")),
        "{t}"
    );
}

#[test]
fn a_scenario_takes_the_limits_the_broker_announces() {
    // A broker whose Receive Maximum is not the reference default (64):
    // the run reads 7 from its CONNACK (the scenario's CONNACK check fails
    // on any other value), sends 7 QoS 2 messages awaiting PUBREL, and the
    // eighth gets DISCONNECT 0x93 at once (or the run would end with an
    // advisory, not a pass).
    let broker = LocalBroker::with_config(
        None,
        Config {
            receive_maximum: 7,
            ..Config::default()
        },
    );
    let out = gauntlet(&[
        "run",
        "--broker",
        &broker.url(),
        "scenarios/conformance/v5/receive_maximum_announced.yaml",
    ]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains(
            "it announces Receive Maximum 7, Maximum Packet Size 1048576, Topic Alias Maximum 16"
        ),
        "{t}"
    );
    assert!(t.contains("1 runs: 1 passed, 0 failed"), "{t}");
}

#[test]
fn what_a_url_broker_cannot_do_is_skipped_with_the_reason() {
    let broker = LocalBroker::start(None);
    let out = gauntlet(&[
        "run",
        "--broker",
        &broker.url(),
        "tests/fixtures/external/needs_restart.yaml",
        "tests/fixtures/external/needs_settings.yaml",
        "tests/fixtures/external/requires_round_robin.yaml",
    ]);
    let t = text(&out);
    // Nothing ran, so nothing passed: that is not a success.
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("4 runs: 0 passed, 0 failed, 4 skipped"), "{t}");
    assert!(
        t.contains("skipped tests::fixtures::external::needs_restart [v5]: needs `persistence` (")
            && t.contains("and `restart` (gauntlet can crash and restart the broker"),
        "{t}"
    );
    assert!(
        t.contains("skipped tests::fixtures::external::needs_settings [v5]: needs broker settings (maximum_qos)"),
        "{t}"
    );
    assert!(
        t.contains("skipped tests::fixtures::external::requires_round_robin [v5]: needs `shared_round_robin`"),
        "{t}"
    );
    // With the capability declared, it runs.
    let out = gauntlet(&[
        "run",
        "--broker",
        &broker.url(),
        "--capabilities",
        "shared_round_robin",
        "tests/fixtures/external/requires_round_robin.yaml",
    ]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_profile_broker_runs_settings_and_restarts_on_a_broker_of_its_own() {
    if !reference_binary_built() {
        return;
    }
    let out = gauntlet(&[
        "run",
        "--broker",
        "reference",
        "tests/fixtures/external/needs_restart.yaml",
        "tests/fixtures/external/needs_settings.yaml",
        "tests/fixtures/external/requires_round_robin.yaml",
    ]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("4 runs: 4 passed, 0 failed"), "{t}");
}

#[test]
fn a_late_broker_is_told_by_how_much_it_missed() {
    let broker = LocalBroker::start(None);
    let out = gauntlet(&[
        "run",
        "--broker",
        &broker.url(),
        "tests/fixtures/external/late_close.yaml",
    ]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    // The run says up front how a real clock is given room.
    assert!(
        t.contains("timing on a real network: each deadline gets 200 ms + 10% of slack"),
        "{t}"
    );
    // 1000 ms + 200 ms + 10%, then it came at about 1.5 s.
    assert!(
        t.contains("expected the broker to close the connection within 1000 ms (+300 ms slack for a real network): it came"),
        "{t}"
    );
    let late: u64 = t
        .split(" ms after the step began, ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no lateness in: {t}"));
    assert!((300..=1000).contains(&late), "late by {late} ms: {t}");
}

/// Subscribes to everything and collects retained messages for a while.
fn retained_on(addr: SocketAddr) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut out = BytesMut::new();
        let connect = Packet::from(Connect {
            version: Version::V5,
            clean_start: true,
            keep_alive: 30,
            properties: Properties::default(),
            client_id: "inspector".into(),
            will: None,
            username: None,
            password: None,
        });
        protocol::encode(&connect, Version::V5, &mut out).unwrap();
        let sub = Subscription {
            filter: "#".into(),
            options: SubscriptionOptions {
                qos: QoS::AtLeastOnce,
                ..SubscriptionOptions::default()
            },
        };
        let subscribe = Packet::Subscribe(Subscribe {
            packet_id: 1,
            properties: Properties::default(),
            filters: vec![sub],
        });
        protocol::encode(&subscribe, Version::V5, &mut out).unwrap();
        s.write_all(&out).await.unwrap();
        let mut buf = BytesMut::new();
        let mut topics = Vec::new();
        let decoder = Decoder::new(Version::V5);
        let _ = tokio::time::timeout(Duration::from_millis(500), async {
            loop {
                if s.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                    break;
                }
                while let Ok(Some(p)) = decoder.decode(&mut buf) {
                    if let Packet::Publish(p) = p {
                        topics.push(p.topic);
                    }
                }
            }
        })
        .await;
        topics
    })
}

#[test]
fn runs_on_a_shared_broker_leave_no_retained_messages() {
    let broker = LocalBroker::start(None);
    let out = gauntlet(&[
        "run",
        "--broker",
        &broker.url(),
        "tests/fixtures/external/retained_left.yaml",
        "scenarios/conformance/retained_set.yaml",
        "scenarios/conformance/will_retain.yaml",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(retained_on(broker.addr), Vec::<String>::new());
}

#[test]
fn workloads_run_on_a_url_broker_under_prefixes_and_leave_nothing_behind() {
    let broker = LocalBroker::start(None);
    let out = gauntlet(&[
        "run",
        "--broker",
        &broker.url(),
        "--jobs",
        "4",
        "tests/fixtures/external/workload_short.yaml",
        "scenarios/chaos/workload_qos1.yaml",
    ]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    // Cuts, resets, stalls and latency through the proxies; every check
    // holds, retained messages included (read back under the prefix).
    assert!(
        t.contains("tests::fixtures::external::workload_short [v3.1.1]             pass"),
        "{t}"
    );
    assert!(
        t.contains("tests::fixtures::external::workload_short [v5]                 pass"),
        "{t}"
    );
    // Broker restarts need a broker gauntlet manages.
    assert!(
        t.contains("skipped chaos::workload_qos1 [v5]: needs `restart`"),
        "{t}"
    );
    // The retained readings were cleared afterwards.
    assert_eq!(retained_on(broker.addr), Vec::<String>::new());
}

#[test]
fn a_workload_failing_on_a_real_broker_reports_the_fault_log() {
    let mut config = Config::default();
    config
        .bugs
        .insert(reference_broker::Bug::RetainedNotReplaced);
    let broker = LocalBroker::with_config(None, config);
    let out = gauntlet(&[
        "run",
        "--broker",
        &broker.url(),
        "--version",
        "5",
        "tests/fixtures/external/workload_short.yaml",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    // Named as the workload wrote them, not as prefixed on the broker.
    assert!(
        t.contains("retained_latest: maison/salon/temperature retains p"),
        "{t}"
    );
    assert!(!t.contains("gauntlet/g"), "{t}");
    let url = broker.url();
    assert!(t.contains(&format!("fault log on {url} (")), "{t}");
    assert!(t.contains("cannot be replayed exactly"), "{t}");
    assert!(
        t.contains(&format!(
            "gauntlet run tests/fixtures/external/workload_short.yaml --broker {url} --seed"
        )),
        "{t}"
    );
}

#[test]
fn compare_writes_one_matrix_of_several_brokers() {
    let good = LocalBroker::start(None);
    let mut config = Config::default();
    config
        .bugs
        .insert(reference_broker::Bug::PlusMatchesManyLevels);
    let bad = LocalBroker::with_config(None, config);
    let dir = tempfile::tempdir().unwrap();
    let out = gauntlet(&[
        "compare",
        "--broker",
        &good.url(),
        "--broker",
        &bad.url(),
        "--out",
        dir.path().to_str().unwrap(),
        "--date",
        "2026-12-04",
        "scenarios/conformance/wildcard_single_level.yaml",
        "scenarios/conformance/qos0_flow.yaml",
    ]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let md = std::fs::read_to_string(dir.path().join("comparison.md")).unwrap();
    assert!(md.contains("gauntlet 0.1.0, seed 1, 2026-12-04."), "{md}");
    assert!(md.contains("## routing"), "{md}");
    assert!(
        md.contains("| conformance::wildcard_single_level [v5] | pass | **fail** |"),
        "{md}"
    );
    assert!(
        md.contains("| conformance::qos0_flow [v3.1.1] | pass | pass |"),
        "{md}"
    );
    // The failure cites the scenario's statements and says what came.
    let line = md
        .lines()
        .find(|l| l.starts_with("- `conformance::wildcard_single_level [v5]`"))
        .unwrap_or_else(|| panic!("no failure line in {md}"));
    assert!(line.contains("MQTT-4.7.1-2"), "{line}");
    // Topics as the scenario wrote them, without the run's prefix.
    assert!(
        line.contains("topic is \"maison/etage/chambre/temperature\""),
        "{line}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("comparison.json")).unwrap())
            .unwrap();
    assert_eq!(json["brokers"].as_array().unwrap().len(), 2);
    assert_eq!(json["brokers"][1]["totals"]["fail"], 2, "{json}");
    assert_eq!(json["rows"].as_array().unwrap().len(), 4);
    // Each failure carries its sequence diagram, in the JSON and the page.
    let failing: Vec<&serde_json::Value> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["cells"][1])
        .filter(|c| c["outcome"] == "fail")
        .collect();
    assert_eq!(failing.len(), 2);
    for cell in &failing {
        let lifelines = cell["diagram"]["lifelines"].as_array().unwrap();
        assert_eq!(lifelines[0], "broker", "{cell}");
        assert!(lifelines.len() >= 2, "{cell}");
    }
    let page = std::fs::read_to_string(dir.path().join("comparison.html")).unwrap();
    assert_eq!(page.matches("<article class=\"failure\"").count(), 2);
    assert_eq!(page.matches("<svg ").count(), 2);
    // Topics read as the scenario wrote them in the diagrams too.
    assert!(
        !page.contains("gauntlet/g"),
        "run prefixes left in the page"
    );
}

#[test]
fn mqtts_verifies_the_broker_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (acceptor, ca) = tls_acceptor(dir.path());
    let broker = LocalBroker::start(Some(acceptor));
    let url = format!("mqtts://localhost:{}", broker.addr.port());
    let scenario = "scenarios/conformance/qos1_flow.yaml";
    let ca = ca.to_str().unwrap();

    let out = gauntlet(&["run", "--broker", &url, "--ca", ca, scenario]);
    assert!(out.status.success(), "with the CA: {}", text(&out));

    // The web's roots do not know this certificate: every connect fails,
    // and the failure says why.
    let out = gauntlet(&["run", "--broker", &url, scenario]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains("UnknownIssuer") || t.contains("certificate"),
        "{t}"
    );

    let out = gauntlet(&["run", "--broker", &url, "--insecure", scenario]);
    assert!(out.status.success(), "--insecure: {}", text(&out));
}

#[test]
fn bad_broker_arguments_are_errors() {
    for (args, says) in [
        (vec!["--broker", "nosuch"], "unknown broker \"nosuch\""),
        (vec!["--broker", "mqtt://h:x"], "the port is not a number"),
        (
            vec!["--broker", "mqtt://127.0.0.1:1", "--ca", "x.pem"],
            "--ca and --insecure are for mqtts://",
        ),
        (vec!["--ca", "x.pem"], "need --broker"),
        (
            vec!["--broker", "mqtt://127.0.0.1:1"],
            "cannot reach mqtt://127.0.0.1:1 (127.0.0.1:1): Connection refused",
        ),
        (
            vec![
                "--broker",
                "mqtt://127.0.0.1:1",
                "--capabilities",
                "teleport",
            ],
            "unknown capability \"teleport\"",
        ),
    ] {
        let mut all = vec!["run"];
        all.extend(args);
        all.push("scenarios/conformance/qos1_flow.yaml");
        let out = gauntlet(&all);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {t}");
        assert!(t.contains(says), "{all:?}: {t}");
    }
}

/// The `reference` profile runs the `reference-broker` binary, which cargo
/// builds next to `gauntlet` for `cargo test --workspace`.
fn reference_binary_built() -> bool {
    let exe = Path::new(env!("CARGO_BIN_EXE_gauntlet"));
    let built = exe.with_file_name("reference-broker").is_file();
    if !built {
        eprintln!(
            "skipped: reference-broker is not built next to gauntlet; \
             run `cargo test --workspace` (or `cargo build -p reference-broker`)"
        );
    }
    built
}

/// A profile whose install step copies the reference broker into the cache
/// (as `npm install` or `pip install` would fetch a broker); `fail` makes a
/// second step fail.
fn installing_profile(dir: &Path, fail: bool) -> std::path::PathBuf {
    let broker = Path::new(env!("CARGO_BIN_EXE_gauntlet")).with_file_name("reference-broker");
    let extra = if fail {
        "    - [sh, -c, \"echo no such package >&2; exit 3\"]\n"
    } else {
        ""
    };
    let text = format!(
        "name: copied\nversions: [3.1.1, 5]\ncapabilities: [qos2, retain, wildcards]\n\
         install:\n  key: copied-1\n  steps:\n    - [cp, {broker}, \"{{cache}}/broker\"]\n{extra}\
         start:\n  command: [\"{{cache}}/broker\", --listen, \"127.0.0.1:{{port}}\"]\n\
         ready: {{ log: listening on }}\n",
        broker = broker.display()
    );
    let path = dir.join(if fail { "failing.yaml" } else { "copied.yaml" });
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_profile_installs_its_broker_into_the_cache_on_first_use_only() {
    if !reference_binary_built() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let env = [("GAUNTLET_CACHE", cache.to_str().unwrap())];
    let profile = installing_profile(dir.path(), false);
    let run = || {
        gauntlet_with(
            &[
                "run",
                "--broker",
                profile.to_str().unwrap(),
                "scenarios/conformance/qos1_flow.yaml",
            ],
            &env,
        )
    };
    let first = run();
    let t = text(&first);
    assert!(first.status.success(), "{t}");
    assert!(t.contains("installing the copied broker into"), "{t}");
    assert!(cache.join("brokers/copied-1/broker").is_file());
    let second = run();
    let t = text(&second);
    assert!(second.status.success(), "{t}");
    assert!(!t.contains("installing"), "installed again: {t}");

    // A failing step names itself and what it printed, and leaves nothing
    // that counts as installed: the next use tries again.
    let failing = installing_profile(dir.path(), true);
    let other = dir.path().join("cache2");
    let env = [("GAUNTLET_CACHE", other.to_str().unwrap())];
    for _ in 0..2 {
        let out = gauntlet_with(
            &[
                "run",
                "--broker",
                failing.to_str().unwrap(),
                "scenarios/conformance/qos1_flow.yaml",
            ],
            &env,
        );
        let t = text(&out);
        assert!(!out.status.success(), "{t}");
        assert!(t.contains("installing the copied broker into"), "{t}");
        assert!(
            t.contains("`sh -c echo no such package >&2; exit 3` failed (exit status: 3)"),
            "{t}"
        );
        assert!(t.contains("no such package"), "{t}");
    }
}

#[test]
fn a_profile_with_a_listener_per_version_gets_each_version_on_its_port() {
    if !reference_binary_built() {
        return;
    }
    // Two reference brokers: a broken one on {port} (3.1.1), a correct one
    // on {port5} (5.0). Only the 3.1.1 run may see the defect.
    let broker = Path::new(env!("CARGO_BIN_EXE_gauntlet")).with_file_name("reference-broker");
    let b = broker.display();
    let yaml = format!(
        "name: split\nversions: [3.1.1, 5]\ncapabilities: [qos2, retain, wildcards]\n\
         start:\n  command: [sh, -c, \"{b} --listen 127.0.0.1:{{port}} --config {{dir}}/bad.yaml & A=$!; \
         {b} --listen 127.0.0.1:{{port5}} & B=$!; trap 'kill $A $B' TERM; wait\"]\n\
         \x20 files:\n    bad.yaml: \"bugs: [plus_matches_many_levels]\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("split.yaml");
    std::fs::write(&profile, yaml).unwrap();
    let out = gauntlet(&[
        "run",
        "--broker",
        profile.to_str().unwrap(),
        "scenarios/conformance/wildcard_single_level.yaml",
    ]);
    let t = text(&out);
    let row = |name: &str, label: &str| format!("{name:<60} {label:>6}");
    assert!(
        t.contains(&row("conformance::wildcard_single_level [v3.1.1]", "FAIL")),
        "{t}"
    );
    assert!(
        t.contains(&row("conformance::wildcard_single_level [v5]", "pass")),
        "{t}"
    );
}

#[test]
fn the_whole_library_passes_against_the_reference_broker_binary() {
    if !reference_binary_built() {
        return;
    }
    let _one = SUITE.lock().unwrap_or_else(|e| e.into_inner());
    let out = gauntlet(&["run", "--broker", "reference", "--jobs", "16"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains(" 0 failed"), "{t}");
}

#[test]
fn the_whole_library_against_mosquitto_matches_its_baseline() {
    if Command::new("mosquitto").arg("-h").output().is_err() {
        eprintln!("skipped: mosquitto is not installed (apt-get install mosquitto)");
        return;
    }
    let _one = SUITE.lock().unwrap_or_else(|e| e.into_inner());
    let out = gauntlet(&[
        "run",
        "--broker",
        "mosquitto",
        "--jobs",
        "16",
        "--baseline",
        "brokers/mosquitto.baseline.yaml",
    ]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
}

#[test]
fn a_baseline_excuses_known_failures_and_flags_fixed_ones() {
    let failing = "tests/fixtures/failing/wrong_payload.yaml";
    // Without a baseline the failures fail the run.
    let out = gauntlet(&["run", failing]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().to_str().unwrap();
    let out = gauntlet(&[
        "run",
        failing,
        "--baseline",
        "tests/fixtures/external/baseline_known.yaml",
        "--report",
        report,
    ]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("known tests::fixtures::failing::wrong_payload [v5]: known failure: the fixture expects"),
        "{t}"
    );
    assert!(
        t.contains("flaky tests::fixtures::failing::wrong_payload [v3.1.1]: flaky: sometimes"),
        "{t}"
    );
    // CI sees them as skipped with the baseline's reason, not as failures.
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert!(junit.contains("failures=\"0\""), "{junit}");
    assert!(
        junit.contains("known failure: the fixture expects"),
        "{junit}"
    );

    // A listed run that passes fails the run until its entry goes.
    let out = gauntlet(&[
        "run",
        failing,
        "scenarios/conformance/qos1_flow.yaml",
        "--baseline",
        "tests/fixtures/external/baseline_stale.yaml",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("FIXED conformance::qos1_flow [v5]"), "{t}");
    assert!(t.contains("1 fixed (remove from the baseline)"), "{t}");

    // A broken baseline is an error with its place.
    std::fs::write(
        dir.path().join("bad.yaml"),
        "known_failures:\n  \"x [v5]\": { flaky: yes }\n",
    )
    .unwrap();
    let bad = dir.path().join("bad.yaml");
    let out = gauntlet(&["run", failing, "--baseline", bad.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("bad.yaml:2:"), "{t}");
}

#[test]
fn a_scenario_needs_the_optional_features_its_steps_use() {
    let broker = LocalBroker::start(None);
    // A broker said to have only shared subscriptions: retained messages,
    // QoS 2 and wildcards are beyond it.
    let out = gauntlet(&[
        "run",
        "--broker",
        &broker.url(),
        "--capabilities",
        "shared_subscriptions",
        "--version",
        "5",
        "scenarios/conformance/retained_set.yaml",
        "scenarios/conformance/qos2_flow_subscriber.yaml",
        "scenarios/conformance/wildcard_single_level.yaml",
        "scenarios/conformance/qos1_flow.yaml",
    ]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("4 runs: 1 passed, 0 failed, 3 skipped"), "{t}");
    assert!(
        t.contains("skipped conformance::retained_set [v5]: needs `retain` ("),
        "{t}"
    );
    assert!(
        t.contains("skipped conformance::qos2_flow_subscriber [v5]: needs `qos2` ("),
        "{t}"
    );
    assert!(
        t.contains("skipped conformance::wildcard_single_level [v5]: needs `wildcards` ("),
        "{t}"
    );
}

#[test]
fn credentials_reach_clients_that_name_no_user() {
    let config = Config {
        allow_anonymous: false,
        users: [("gauntlet".to_string(), "s3cret".to_string())].into(),
        ..Config::default()
    };
    let broker = LocalBroker::with_config(None, config);
    let scenario = "scenarios/conformance/qos1_flow.yaml";
    let out = gauntlet(&["run", "--broker", &broker.url(), scenario]);
    let t = text(&out);
    assert!(!out.status.success(), "anonymous clients are refused: {t}");
    assert!(t.contains("CONNACK"), "{t}");
    let out = gauntlet(&[
        "run",
        "--broker",
        &broker.url(),
        "--username",
        "gauntlet",
        "--password",
        "s3cret",
        scenario,
    ]);
    assert!(out.status.success(), "with credentials: {}", text(&out));
}

#[test]
fn a_broker_that_keeps_nothing_restarts_empty_without_a_store_to_delete() {
    if !reference_binary_built() {
        return;
    }
    // As aedes, amqtt and rumqttd: in memory only, so no `persistence` and
    // no `start.store`; a restart without the store is just a restart.
    let dir = tempfile::tempdir().unwrap();
    let broker = Path::new(env!("CARGO_BIN_EXE_gauntlet")).with_file_name("reference-broker");
    let profile = dir.path().join("in-memory.yaml");
    std::fs::write(
        &profile,
        format!(
            "name: in-memory\nversions: [3.1.1, 5]\ncapabilities: [qos2, retain, wildcards, restart]\n\
             start:\n  command: [{}, --listen, \"127.0.0.1:{{port}}\"]\n\
             ready: {{ log: listening on }}\n",
            broker.display()
        ),
    )
    .unwrap();
    let out = gauntlet(&[
        "run",
        "--broker",
        profile.to_str().unwrap(),
        "scenarios/chaos/broker_restart_empty_store.yaml",
        "scenarios/chaos/broker_restart_keeps_session.yaml",
        // Crashed and stopped: what it forgets is owed to no one, as its
        // profile promises nothing (no `persistence`).
        "scenarios/chaos/workload_upgrade.yaml",
    ]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("6 runs: 4 passed, 0 failed, 2 skipped"), "{t}");
    assert!(
        t.contains("skipped chaos::broker_restart_keeps_session [v5]: needs `persistence`"),
        "{t}"
    );
}

/// A broker of one connection at a time that accepts a CONNECT (5.0) and
/// closes the connection, without a word, on the next packet.
fn silent_closer() -> SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
            let mut buf = [0u8; 512];
            if matches!(s.read(&mut buf), Ok(n) if n > 0) {
                let _ = s.write_all(&[0x20, 0x03, 0x00, 0x00, 0x00]);
                let _ = s.read(&mut buf);
            }
        }
    });
    addr
}

#[test]
fn closing_without_disconnect_is_an_advisory_not_a_failure() {
    let addr = silent_closer();
    let url = format!("mqtt://{addr}");
    let file = "tests/fixtures/external/closes_on_error.yaml";
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report");
    let out = gauntlet(&[
        "run",
        "--broker",
        &url,
        file,
        "--report",
        report.to_str().unwrap(),
    ]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("1 with advisories"), "{t}");
    assert!(
        t.contains("advisory tests::fixtures::external::closes_on_error [v5]: step 3: 5.0 §4.13.1"),
        "{t}"
    );
    assert!(
        t.contains("closed the connection without DISCONNECT"),
        "{t}"
    );
    let json = std::fs::read_to_string(report.join("results.json")).unwrap();
    assert!(json.contains("\"outcome\": \"advisory\""), "{json}");
    let junit = std::fs::read_to_string(report.join("junit.xml")).unwrap();
    assert!(junit.contains("<system-out>advisory: "), "{junit}");
    assert!(!junit.contains("<failure"), "{junit}");

    // The comparison gives it its own column, section and colour.
    let out_dir = dir.path().join("comparison");
    let out = gauntlet(&[
        "compare",
        "--broker",
        &url,
        "--out",
        out_dir.to_str().unwrap(),
        "--date",
        "2026-12-06",
        file,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let md = std::fs::read_to_string(out_dir.join("comparison.md")).unwrap();
    assert!(
        md.contains("| tests::fixtures::external::closes_on_error [v5] | *advisory* |"),
        "{md}"
    );
    assert!(md.contains("## Advisories"), "{md}");
    assert!(
        md.contains("closed the connection without DISCONNECT"),
        "{md}"
    );
    let json = std::fs::read_to_string(out_dir.join("comparison.json")).unwrap();
    assert!(json.contains("\"advisory\": 1"), "totals count it: {json}");
    let html = std::fs::read_to_string(out_dir.join("comparison.html")).unwrap();
    assert!(html.contains("class=\"cell advisory\""), "its own colour");
}

/// A packet that brings the shared broker down fails only the runs on it
/// at the time: gauntlet sees the broker no longer answers a CONNECT,
/// starts it again, and says so in the trace of the run that found it.
#[test]
fn a_broker_brought_down_by_one_run_is_started_again_for_the_next() {
    if !reference_binary_built() {
        return;
    }
    let broker = Path::new(env!("CARGO_BIN_EXE_gauntlet")).with_file_name("reference-broker");
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("fragile.yaml");
    std::fs::write(
        &profile,
        format!(
            "name: fragile\nversions: [3.1.1]\ncapabilities: [qos2, retain, wildcards]\n\
             start:\n  command: [\"{}\", --listen, \"127.0.0.1:{{port}}\", --config, \"{{dir}}/bad.yaml\"]\n\
             \x20 files:\n    bad.yaml: \"bugs: [halts_on_server_packet]\"\n\
             ready: {{ log: listening on, timeout: 10s }}\n",
            broker.display()
        ),
    )
    .unwrap();
    // A client that sends a CONNACK (the defect stops the broker), then a
    // QoS 1 flow that needs a broker that answers.
    let scenarios = dir.path().join("scenarios");
    std::fs::create_dir(&scenarios).unwrap();
    std::fs::write(
        scenarios.join("a_halt.yaml"),
        "name: a CONNACK from a client\nversions: [3.1.1]\nclients:\n  bad: {}\nsteps:\n\
         \x20 - bad: { connect: {} }\n  - bad: { send: { raw: \"20 {len} 00 00\" } }\n\
         \x20 - bad: { expect_closed: {} }\n",
    )
    .unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/conformance/qos1_flow.yaml"),
        scenarios.join("b_after.yaml"),
    )
    .unwrap();
    let report = dir.path().join("report");
    let out = gauntlet(&[
        "run",
        "--broker",
        profile.to_str().unwrap(),
        "--jobs",
        "1",
        "--version",
        "3.1.1",
        "--report",
        report.to_str().unwrap(),
        scenarios.to_str().unwrap(),
    ]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    // The run after it passes; the one during which the broker went down
    // held every step, and says (as an advisory: which run beside it
    // brought the broker down cannot be known) that it was started again.
    assert!(
        t.contains("2 runs: 1 passed, 0 failed, 1 with advisories"),
        "{t}"
    );
    assert!(
        t.contains("the broker stopped answering a CONNECT") && t.contains("started it again"),
        "{t}"
    );
}

#[test]
fn explore_on_a_real_broker_reproduces_and_shrinks_with_confirmation() {
    let mut config = Config::default();
    config
        .bugs
        .insert(reference_broker::Bug::NoRedeliveryOnResume);
    let bad = LocalBroker::with_config(None, config);
    let good = LocalBroker::start(None);
    let file = "tests/fixtures/external/explore_cut_after_delivery.yaml";
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let exported = dir.path().join("exported.yaml");
    let out = gauntlet(&[
        "explore",
        file,
        "--broker",
        &bad.url(),
        "--seeds",
        "1",
        "--confirm",
        "2",
        "--shrink",
        "1",
        "--out",
        out_dir,
        "--export",
        exported.to_str().unwrap(),
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains(&format!("on {}", bad.url())), "{t}");
    assert!(t.contains("FAIL seed 1 [v5] (2 faults)"), "{t}");
    assert!(t.contains("reproduced 2 of 2 runs"), "{t}");
    assert!(
        t.contains("shrunk: 1 of 2 faults still break at_least_once"),
        "{t}"
    );
    assert!(t.contains("kept only what failed in each of 2 runs"), "{t}");
    assert!(t.contains(", after the PUBLISH s1 receives"), "{t}");
    assert!(
        t.contains(&format!("--broker {} --seeds 1 --version 5", bad.url())),
        "{t}"
    );
    let written = dir.path().join("explore_cut_after_delivery-seed1-v5.yaml");
    let yaml = std::fs::read_to_string(&written).unwrap();
    assert!(
        yaml.contains("after: { received: PUBLISH, count: 1, by: s1 }"),
        "{yaml}"
    );
    assert!(!yaml.contains("fault: latency"), "{yaml}");

    // The correct broker passes it, shrunk file and all.
    for f in [file, written.to_str().unwrap()] {
        let out = gauntlet(&["explore", f, "--broker", &good.url(), "--seeds", "1"]);
        assert!(out.status.success(), "{}", text(&out));
    }

    // The failure, exported as a scripted scenario, fails on the broken
    // broker and passes on the correct one (and in simulation).
    let scenario = exported.to_str().unwrap();
    let yaml = std::fs::read_to_string(&exported).unwrap();
    assert!(yaml.contains("network: { cut: s1 }"), "{yaml}");
    let on_bad = gauntlet(&["run", scenario, "--broker", &bad.url()]);
    assert_eq!(on_bad.status.code(), Some(1), "{yaml}\n{}", text(&on_bad));
    let on_good = gauntlet(&["run", scenario, "--broker", &good.url()]);
    assert!(on_good.status.success(), "{yaml}\n{}", text(&on_good));
    let in_sim = gauntlet(&["run", scenario]);
    assert!(in_sim.status.success(), "{yaml}\n{}", text(&in_sim));
}

#[test]
fn over_tls_the_proxy_holds_the_session_and_packet_faults_still_fall() {
    // The clients speak plain MQTT to their proxies, which hold the TLS
    // sessions with the broker: the packets are seen, so a fault waiting
    // for one falls, and the defect it aims at shows as over plain TCP.
    let dir = tempfile::tempdir().unwrap();
    let (acceptor, ca) = tls_acceptor(dir.path());
    let mut config = Config::default();
    config
        .bugs
        .insert(reference_broker::Bug::NoRedeliveryOnResume);
    let bad = LocalBroker::with_config(Some(acceptor), config);
    let url = format!("mqtts://localhost:{}", bad.addr.port());
    let out = gauntlet(&[
        "explore",
        "tests/fixtures/external/explore_cut_after_delivery.yaml",
        "--broker",
        &url,
        "--ca",
        ca.to_str().unwrap(),
        "--seeds",
        "1",
        "--confirm",
        "1",
        "--shrink",
        "0",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("cut s1 for 1000 ms, after the PUBLISH s1 receives (PUBLISH topic="),
        "the trigger saw the PUBLISH inside TLS: {t}"
    );
    assert!(t.contains("at_least_once"), "{t}");
}

#[test]
fn a_profile_that_is_not_shared_gives_every_run_a_broker_of_its_own() {
    if !reference_binary_built() {
        return;
    }
    // The same reference broker twice, counting its starts: shared (the
    // default), then with `shared: false`.
    let broker = Path::new(env!("CARGO_BIN_EXE_gauntlet")).with_file_name("reference-broker");
    let dir = tempfile::tempdir().unwrap();
    let starts = |label: &str, shared: &str| -> usize {
        let log = dir.path().join(format!("starts-{label}"));
        let yaml = format!(
            "name: counted\nversions: [3.1.1]\ncapabilities: [qos2, retain, wildcards]\n{shared}\
             start:\n  command: [sh, -c, \"echo start >> {log}; exec {b} --listen 127.0.0.1:{{port}}\"]\n",
            log = log.display(),
            b = broker.display(),
        );
        let profile = dir.path().join("counted.yaml");
        std::fs::write(&profile, yaml).unwrap();
        let out = gauntlet(&[
            "run",
            "--broker",
            profile.to_str().unwrap(),
            "scenarios/conformance/wildcard_single_level.yaml",
            "scenarios/conformance/retained_set.yaml",
        ]);
        let t = text(&out);
        assert!(out.status.success(), "{t}");
        assert!(t.contains("4 runs: 2 passed, 0 failed, 2 skipped"), "{t}");
        std::fs::read_to_string(&log).unwrap().lines().count()
    };
    let together = starts("together", "");
    let apart = starts("apart", "shared: false\n");
    // Each of the two runs had a broker of its own on top of whatever the
    // session starts for itself.
    assert_eq!(apart, together + 2, "shared: {together}, apart: {apart}");
}
