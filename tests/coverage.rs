//! Coverage counts what passing runs assert: a statement id on a step that
//! held counts for the version the step ran on; an id only listed in a
//! file's `spec:`, on a step of a failing run, or on an advisory step that
//! did not hold, counts for nothing.

use std::path::Path;
use std::time::Duration;

use mqtt_gauntlet::report::coverage;
use mqtt_gauntlet::report::results::Record;
use mqtt_gauntlet::scenario::{load_str, VersionName};
use mqtt_gauntlet::sim;

fn records(yaml: &str) -> Vec<Record> {
    let s = load_str(yaml, Path::new("c.yaml")).expect("loads");
    s.versions
        .iter()
        .map(|&v| {
            let run = sim::run(&s, v, 1);
            Record::from_run(
                &format!("c [{}]", v.label()),
                Path::new("c.yaml"),
                &s.name,
                &run,
                Duration::ZERO,
            )
        })
        .collect()
}

fn asserted(records: &[Record], version: VersionName) -> Vec<&'static str> {
    coverage::compute(records)
        .into_iter()
        .find(|c| c.version == version)
        .unwrap()
        .asserted
        .keys()
        .copied()
        .collect()
}

#[test]
fn an_id_only_the_file_lists_is_not_covered() {
    let r = records(
        "name: cited, never asserted\nspec: [MQTT-3.3.1-5]\nclients: { c: {} }\n\
         steps:\n  - c: { connect: {} }\n",
    );
    assert!(r.iter().all(|r| r.outcome.name() == "pass"));
    for v in [VersionName::V311, VersionName::V5] {
        assert!(!asserted(&r, v).contains(&"MQTT-3.3.1-5"), "{v:?}");
    }
}

/// The wire monitor checks every packet the broker sends; a passing run
/// asserts the rules it checked them against, and only those.
#[test]
fn a_passing_run_asserts_what_the_wire_monitor_checked() {
    let r = records("name: connect only\nclients: { c: {} }\nsteps:\n  - c: { connect: {} }\n");
    assert!(asserted(&r, VersionName::V311).contains(&"MQTT-3.2.0-1"));
    let v5 = asserted(&r, VersionName::V5);
    for id in [
        "MQTT-3.2.0-1",
        "MQTT-3.2.0-2",
        "MQTT-3.14.0-1",
        "MQTT-4.12.0-6",
    ] {
        assert!(v5.contains(&id), "{id}: {v5:?}");
    }
    // No packet was checked against a Maximum Packet Size: none asserted.
    assert!(!v5.contains(&"MQTT-3.1.2-24"), "{v5:?}");
    let r = records(
        "name: small packets\nversions: [5]\nclients: { c: { maximum_packet_size: 512 } }\n\
         steps:\n  - c: { connect: {} }\n  - c: { subscribe: { a: 1 } }\n",
    );
    let v5 = asserted(&r, VersionName::V5);
    for id in [
        "MQTT-3.1.2-24",
        "MQTT-3.9.2-1",
        "MQTT-3.9.2-2",
        "MQTT-3.2.2-19",
    ] {
        assert!(v5.contains(&id), "{id}: {v5:?}");
    }
    // Nothing of a failing run counts, the monitor's checks included.
    let r = records(
        "name: failing\nversions: [5]\nclients: { c: {} }\n\
         steps:\n  - c: { connect: {} }\n  - c: { expect: { publish: {}, within: 100ms } }\n",
    );
    assert!(r[0].outcome.name() == "fail");
    assert!(asserted(&r, VersionName::V5).is_empty());
}

#[test]
fn an_id_on_a_step_that_held_counts_for_the_versions_it_ran_on() {
    let r = records(
        "name: asserted\nclients: { s: {}, d: {} }\nsteps:\n\
         \x20 - d: { connect: {} }\n\
         \x20 - d: { subscribe: { maison/+: 1 } }\n\
         \x20 - s: { connect: {} }\n\
         \x20 - s: { publish: { topic: maison/salon, payload: \"1\", qos: 1 } }\n\
         \x20 - d: { expect: { publish: { topic: maison/salon, payload: \"1\" } } }\n\
         \x20   spec: [MQTT-3.3.2-3]\n\
         \x20 - d: { expect_nothing: 200ms }\n\
         \x20   only: 5\n\
         \x20   spec: [MQTT-3.3.4-2]\n",
    );
    assert!(
        r.iter().all(|r| r.outcome.name() == "pass"),
        "{:?}",
        r[0].message
    );
    // (The wire monitor's rules count too; see the test above.)
    let v311 = asserted(&r, VersionName::V311);
    assert!(v311.contains(&"MQTT-3.3.2-3") && !v311.contains(&"MQTT-3.3.4-2"));
    let v5 = asserted(&r, VersionName::V5);
    assert!(v5.contains(&"MQTT-3.3.2-3") && v5.contains(&"MQTT-3.3.4-2"));
}

#[test]
fn a_failing_run_and_an_advisory_that_did_not_hold_assert_nothing() {
    // The first expectation holds, the second fails: the run fails, and
    // what held before does not count either.
    let failing = records(
        "name: failing\nversions: [5]\nclients: { d: {} }\nsteps:\n\
         \x20 - d: { connect: {} }\n\
         \x20   spec: [MQTT-3.2.0-1]\n\
         \x20 - d: { expect: { publish: {}, within: 100ms } }\n\
         \x20   spec: [MQTT-3.3.2-3]\n",
    );
    assert_eq!(failing[0].outcome.name(), "fail");
    assert!(asserted(&failing, VersionName::V5).is_empty());
    let advisory = records(
        "name: advisory\nversions: [5]\nclients: { d: {} }\nsteps:\n\
         \x20 - d: { connect: {} }\n\
         \x20   spec: [MQTT-3.2.0-1]\n\
         \x20 - d: { expect: { publish: {}, within: 100ms } }\n\
         \x20   spec: [MQTT-3.3.2-3]\n\
         \x20   advisory: { rule: \"a pretended SHOULD\" }\n",
    );
    assert_eq!(advisory[0].outcome.name(), "advisory");
    let v5 = asserted(&advisory, VersionName::V5);
    assert!(v5.contains(&"MQTT-3.2.0-1") && !v5.contains(&"MQTT-3.3.2-3"));
}
