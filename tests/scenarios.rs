//! Every scenario file × version is one test, named like
//! `conformance::qos1_flow [v5]`, so `cargo test` runs the whole library and
//! `cargo test qos2` filters it (cargo-nextest works too).

use std::path::PathBuf;

use libtest_mimic::{Arguments, Failed, Trial};
use mqtt_gauntlet::cli::failure_report;
use mqtt_gauntlet::runner;
use mqtt_gauntlet::suite;

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
    let entries = match suite::load_all(&[root]) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cannot list scenarios: {e}");
            std::process::exit(2);
        }
    };
    let seed = seed();
    let mut trials = Vec::new();
    for entry in entries {
        match entry.scenario {
            Err(e) => {
                let message = e.to_string();
                trials.push(Trial::test(format!("{} [load]", entry.id), move || {
                    Err(Failed::from(message))
                }));
            }
            Ok(scenario) => {
                for &version in &scenario.versions {
                    let name = format!("{} [{}]", entry.id, version.label());
                    let scenario = scenario.clone();
                    let path = entry.path.clone();
                    trials.push(Trial::test(name, move || {
                        let result = runner::run(&scenario, version, seed);
                        if result.passed() {
                            Ok(())
                        } else {
                            Err(Failed::from(failure_report(&path, &result)))
                        }
                    }));
                }
            }
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
