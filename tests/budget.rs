//! Budgets of simulated runs: a broker that never yields (the reference
//! broker with the defect `endless_loop_on_empty_level`, which hangs routing
//! a topic such as `maison//temperature`) stops turmoil from stepping; the
//! run must end as a failure naming its wall-clock budget, never a hang.
//!
//! Each stuck run leaves a thread spinning until this test binary exits, so
//! these tests live in a binary of their own.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use mqtt_gauntlet::scenario::{load_file, VersionName};
use mqtt_gauntlet::{sim, workload};
use reference_broker::Bug;

const BUDGET: Duration = Duration::from_secs(3);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_scripted_run_on_a_broker_that_never_yields_fails_naming_its_budget() {
    // A library scenario that knows nothing of hangs: it publishes to
    // maison//temperature and expects the subscriber to get it.
    let mut s =
        load_file(&root().join("scenarios/conformance/wildcard_single_level.yaml")).expect("loads");
    let correct = sim::run_within(&s, VersionName::V5, 1, BUDGET);
    assert!(correct.passed(), "{:?}", correct.outcome);

    s.broker.bugs.insert(Bug::EndlessLoopOnEmptyLevel);
    let r = sim::run_within(&s, VersionName::V5, 1, BUDGET);
    let mqtt_gauntlet::record::script::Outcome::Failed(f) = &r.outcome else {
        panic!("a stuck broker cannot pass");
    };
    assert!(
        f.message.contains("wall-clock budget of 3 s"),
        "names the budget: {}",
        f.message
    );
    assert!(f.message.contains("stopped advancing at"), "{}", f.message);
    // The step it was stuck in: the publish to the empty-level topic or
    // the expectation after it, where the broker routes it.
    assert!(f.step > 0 && f.line > 0, "{f:?}");
    assert!(
        r.trace.to_string().contains("wall-clock budget"),
        "the trace says so too"
    );
}

#[test]
fn a_workload_on_a_broker_that_never_yields_fails_naming_its_budget() {
    let w = mqtt_gauntlet::scenario::workload::load_file(
        &root().join("tests/fixtures/budget/workload_empty_level.yaml"),
    )
    .expect("loads");
    let faults = workload::run::schedule(&w, 1);
    let o = workload::run::run_within(&w, VersionName::V5, 1, &faults, BUDGET);
    let error = o.error.as_deref().expect("a stuck broker is an error");
    assert!(error.contains("wall-clock budget of 3 s"), "{error}");
    assert!(!o.passed());

    let mut fine = w.clone();
    fine.broker.bugs.clear();
    let o = workload::run::run_within(&fine, VersionName::V5, 1, &faults, BUDGET);
    assert!(o.passed(), "{:?} {:?}", o.error, o.violations);
}

#[test]
fn gauntlet_run_reports_a_stuck_run_and_carries_on() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("budget-cli");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text =
        std::fs::read_to_string(root().join("scenarios/conformance/wildcard_single_level.yaml"))
            .unwrap();
    // The same scenario on the broken broker, and one that stays correct.
    let broken = text.replacen(
        "\nclients:",
        "\nbroker: { bugs: [endless_loop_on_empty_level] }\nclients:",
        1,
    );
    assert_ne!(
        broken, text,
        "the scenario has a clients: key to put the broker before"
    );
    std::fs::write(dir.join("stuck.yaml"), broken).unwrap();
    std::fs::write(dir.join("fine.yaml"), text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(["run", "--wall-budget", "3", "--version", "5"])
        .arg(&dir)
        .current_dir(root())
        .output()
        .expect("gauntlet runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");
    assert!(stderr.contains("wall-clock budget of 3 s"), "{stderr}");
}
