//! The whole scenario library in release mode: runs per wall second and
//! simulated seconds per wall second. `cargo bench --bench suite`.

use std::path::PathBuf;
use std::time::Instant;

use mqtt_gauntlet::scenario::discover as suite;
use mqtt_gauntlet::sim;

fn main() {
    // cargo bench passes --bench; nothing else to parse.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let entries = suite::load_all(&[root]).expect("scenarios load");
    let scenarios: Vec<_> = entries
        .iter()
        .filter_map(|e| e.scenario.as_ref().ok().map(|s| (e, s)))
        .collect();
    let rounds = 3;
    let mut best = f64::MAX;
    let mut runs = 0;
    let mut sim_ms = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        runs = 0;
        sim_ms = 0;
        for (entry, s) in &scenarios {
            for &v in &s.versions {
                let r = sim::run(s, v, 1);
                assert!(r.passed(), "{} failed", entry.run_name(v));
                runs += 1;
                sim_ms += r.sim_ms;
            }
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!(
        "suite: {runs} runs, {:.1} s simulated, best of {rounds}: {best:.3} s wall = {:.0} runs/s, {:.0}x real time",
        sim_ms as f64 / 1000.0,
        runs as f64 / best,
        sim_ms as f64 / 1000.0 / best
    );
}
