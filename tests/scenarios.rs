//! Every scenario file × version (× variant) is one test, named like
//! `conformance::qos1_flow [v5]`, so `cargo test` runs the whole library and
//! `cargo test qos2` filters it (cargo-nextest works too). Workloads are
//! tests too, one run per version at the suite's seed; `GAUNTLET_EXPLORE=N`
//! adds, for each, a short explore over the N seeds after it (the library
//! as the mutation score's test command: `scripts/mutants`).
//!
//! The reference broker is held to more than a real broker: a run against
//! it that draws an advisory fails too. Against a real broker an advisory
//! is a SHOULD not taken or a reading the spec allows; the reference broker
//! takes every SHOULD and the strictest reading, so one there is a
//! regression (the DISCONNECT 0x8E a takeover sends, the 0x82 before a
//! protocol-error close, ...) that would otherwise go unseen.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use mqtt_gauntlet::record::advisory::Advisory;
use mqtt_gauntlet::report::text::{failure_report, workload_failure_report};
use mqtt_gauntlet::scenario::discover as suite;
use mqtt_gauntlet::sim;
use mqtt_gauntlet::workload;

/// How many more seeds of each workload to explore (`GAUNTLET_EXPLORE`).
fn explore() -> u64 {
    std::env::var("GAUNTLET_EXPLORE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The seed of the suite; `GAUNTLET_SEED` overrides it.
fn seed() -> u64 {
    std::env::var("GAUNTLET_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

fn main() {
    let args = Arguments::from_args();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let entries = match suite::load_all(std::slice::from_ref(&root)) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cannot list scenarios: {e}");
            std::process::exit(2);
        }
    };
    let seed = seed();
    let mut trials = Vec::new();
    for entry in entries {
        match &entry.scenario {
            Err(e) => {
                let message = e.to_string();
                trials.push(Trial::test(format!("{} [load]", entry.id), move || {
                    Err(Failed::from(message))
                }));
            }
            Ok(scenario) => {
                for &version in &scenario.versions {
                    let name = entry.run_name(version);
                    let scenario = scenario.clone();
                    let path = entry.path.clone();
                    trials.push(Trial::test(name, move || {
                        let result = sim::run(&scenario, version, seed);
                        if !result.passed() {
                            Err(Failed::from(failure_report(&path, &result)))
                        } else {
                            strict(&path, &result.advisories).map_err(Failed::from)
                        }
                    }));
                }
            }
        }
    }
    let workloads = match suite::discover_workloads(std::slice::from_ref(&root)) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("cannot list workloads: {e}");
            std::process::exit(2);
        }
    };
    for path in workloads {
        let id = suite::scenario_id(&path);
        match mqtt_gauntlet::scenario::workload::load_file(&path) {
            Err(e) => {
                let message = e.to_string();
                trials.push(Trial::test(format!("{id} [load]"), move || {
                    Err(Failed::from(message))
                }));
            }
            Ok(w) => {
                for &version in &w.versions {
                    let (w, path) = (w.clone(), path.clone());
                    let name = format!("{id} [{}]", version.label());
                    trials.push(Trial::test(name, move || {
                        let faults = workload::run::schedule(&w, seed);
                        let o = workload::run::run(&w, version, seed, &faults);
                        if !o.passed() {
                            Err(Failed::from(workload_failure_report(&path, &o)))
                        } else {
                            strict(&path, &o.advisories).map_err(Failed::from)
                        }
                    }));
                }
                let seeds = seed + 1..=seed + explore();
                if !seeds.is_empty() {
                    let (w, path) = (w.clone(), path.clone());
                    let name = format!("{id} [explore {}..{}]", seeds.start(), seeds.end());
                    trials.push(Trial::test(name, move || {
                        for s in seeds.clone() {
                            for &version in &w.versions {
                                let faults = workload::run::schedule(&w, s);
                                let o = workload::run::run(&w, version, s, &faults);
                                if !o.passed() {
                                    return Err(Failed::from(workload_failure_report(&path, &o)));
                                }
                                strict(&path, &o.advisories)
                                    .map_err(|e| Failed::from(format!("seed {s}: {e}")))?;
                            }
                        }
                        Ok(())
                    }));
                }
            }
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

/// A run of the reference broker passes only without advisories.
fn strict(path: &Path, advisories: &[Advisory]) -> Result<(), String> {
    if advisories.is_empty() {
        return Ok(());
    }
    let n = advisories.len();
    let mut text = format!(
        "{}: the reference broker drew {n} {} (it takes every SHOULD and the strictest reading):",
        path.display(),
        if n == 1 { "advisory" } else { "advisories" }
    );
    for a in advisories {
        text.push_str(&format!("\n  {a}"));
    }
    Err(text)
}
