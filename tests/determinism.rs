//! A simulated run is a pure function of (scenario, seed): the same seed
//! gives the same trace byte for byte; another seed may not.

use std::path::Path;

use mqtt_gauntlet::scenario::{load_str, VersionName};
use mqtt_gauntlet::sim;

/// Latency and a cut make the trace depend on the seed.
const SCENARIO: &str = r#"
name: determinism probe
network: { latency: 1ms..40ms }
clients:
  sensor: {}
  dashboard: { clean_start: false, session_expiry: 60 }
steps:
  - dashboard: { connect: {} }
  - dashboard: { subscribe: { "maison/#": 2 } }
  - sensor: { connect: {} }
  - sensor: { publish: { topic: maison/salon/temperature, payload: "21.5", qos: 1, await: true } }
  - sensor: { publish: { topic: maison/cuisine/temperature, payload: "19", qos: 2, await: true } }
  - network: { cut: dashboard }
  - sensor: { publish: { topic: maison/salon/humidity, payload: "40", qos: 1, await: true } }
  - wait: 2s
  - network: { heal: dashboard }
  - dashboard: { connect: { clean_start: false, expect: { session_present: true } } }
  - wait: 1s
"#;

fn trace(seed: u64, version: VersionName) -> String {
    let s = load_str(SCENARIO, Path::new("probe.yaml")).expect("valid scenario");
    let r = sim::run(&s, version, seed);
    assert!(r.passed(), "probe must pass: {:?}\n{}", r.outcome, r.trace);
    r.trace.to_string()
}

#[test]
fn same_seed_same_trace() {
    for version in [VersionName::V311, VersionName::V5] {
        let a = trace(42, version);
        let b = trace(42, version);
        assert!(!a.is_empty());
        assert_eq!(a, b, "two runs with seed 42 differ");
    }
}

#[test]
fn the_seed_drives_the_run() {
    let traces: std::collections::BTreeSet<String> =
        (1..=5).map(|seed| trace(seed, VersionName::V5)).collect();
    assert!(
        traces.len() > 1,
        "five seeds gave one identical trace: the seed is not used"
    );
}
