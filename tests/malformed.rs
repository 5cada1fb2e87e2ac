//! The malformed sweep (`scenarios/conformance/malformed.yaml`), generated
//! from the codec's table: a reference broker built to ignore one rule
//! fails exactly the runs of that rule, and every other run still passes.

use std::collections::BTreeSet;
use std::path::Path;

use mqtt_gauntlet::scenario::{Scenario, VersionName};
use protocol::malformed::rows;
use protocol::template::Template;
use protocol::{decode_exact, ErrorKind, Version};
use reference_broker::Bug;

fn sweep() -> Vec<Scenario> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/conformance/malformed.yaml");
    mqtt_gauntlet::scenario::load_variants(&file).expect("the sweep loads")
}

/// `label [version]` of each run whose row the decoder refuses with a kind
/// `pick` accepts.
fn runs_of(pick: impl Fn(&ErrorKind) -> bool) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for v in [Version::V311, Version::V5] {
        for r in rows(v) {
            let bytes = Template::parse(&r.template).unwrap().render().unwrap();
            if decode_exact(&bytes, v).is_err_and(|e| pick(&e.kind)) {
                out.insert(format!("{} [{:?}]", r.label, VersionName::from(v)));
            }
        }
    }
    out
}

/// The runs that fail on a broker with `bug`.
fn failing_with(scenarios: &[Scenario], bug: Bug) -> BTreeSet<String> {
    let mut failed = BTreeSet::new();
    for s in scenarios {
        let mut s = s.clone();
        s.broker.bugs.insert(bug);
        for v in s.versions.clone() {
            let o = mqtt_gauntlet::sim::run(&s, v, 1);
            if !o.passed() {
                failed.insert(format!("{} [{v:?}]", s.variant.clone().unwrap_or_default()));
            }
        }
    }
    failed
}

#[test]
fn the_sweep_has_a_run_per_row_and_version() {
    let scenarios = sweep();
    let runs: usize = scenarios.iter().map(|s| s.versions.len()).sum();
    assert_eq!(runs, rows(Version::V311).len() + rows(Version::V5).len());
    assert!(runs > 200, "{runs} runs");
}

#[test]
fn a_broker_that_ignores_reserved_flags_fails_exactly_the_flag_runs() {
    // Except AUTH's: an AUTH on a connection without enhanced
    // authentication is closed for anyway, flags mended or not.
    let want: BTreeSet<String> = runs_of(|k| matches!(k, ErrorKind::ReservedFlags { .. }))
        .into_iter()
        .filter(|r| !r.starts_with("AUTH"))
        .collect();
    assert!(want.len() > 30, "{want:?}");
    assert_eq!(failing_with(&sweep(), Bug::ReservedFlagsIgnored), want);
}

#[test]
fn a_broker_that_reads_qos_3_as_qos_1_fails_exactly_the_publish_qos_3_runs() {
    let want: BTreeSet<String> = runs_of(|k| matches!(k, ErrorKind::InvalidQoS(3)))
        .into_iter()
        .filter(|r| r.starts_with("PUBLISH"))
        .collect();
    assert_eq!(want.len(), 4, "{want:?}");
    assert_eq!(failing_with(&sweep(), Bug::Qos3ReadAsQos1), want);
}

#[test]
fn a_broker_that_ignores_a_second_connect_fails_exactly_its_runs() {
    let want: BTreeSet<String> = ["CONNECT a second time [V311]", "CONNECT a second time [V5]"]
        .map(String::from)
        .into();
    assert_eq!(failing_with(&sweep(), Bug::SecondConnectIgnored), want);
}

/// `gauntlet run --filter malformed` runs the sweep and nothing else: one
/// run per row and version, each named after its row.
#[test]
fn the_filter_malformed_runs_the_sweep_alone() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(["run", "--filter", "malformed"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("gauntlet runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let runs = rows(Version::V311).len() + rows(Version::V5).len();
    assert!(
        stdout.contains(&format!("{runs} runs: {runs} passed, 0 failed")),
        "{stdout}"
    );
    assert!(
        stdout.contains("conformance::malformed [v5, PUBACK flags 0001]"),
        "{stdout}"
    );
    let others = stdout
        .lines()
        .filter(|l| l.ends_with("pass") && !l.starts_with("conformance::malformed ["))
        .count();
    assert_eq!(others, 0, "{stdout}");
}
