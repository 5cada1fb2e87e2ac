//! Wall time of the whole library against mosquitto (started from its
//! profile) with `--jobs 1` and `--jobs 8`: real time, so this measures how
//! well runs overlap, not CPU. `cargo bench --bench external`; needs
//! mosquitto installed.

use std::process::Command;
use std::time::Instant;

fn main() {
    if Command::new("mosquitto").arg("-h").output().is_err() {
        eprintln!("skipped: mosquitto is not installed");
        return;
    }
    // `cargo bench` passes --bench; a filter, if any, picks the job counts.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    for jobs in ["1", "8", "16"] {
        if filter.as_deref().is_some_and(|f| f != jobs) {
            continue;
        }
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
            .args(["run", "--broker", "mosquitto", "--jobs", jobs])
            .args(["--baseline", "brokers/mosquitto.baseline.yaml"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("gauntlet runs");
        let wall = start.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let summary = stdout
            .lines()
            .find(|l| l.contains(" runs: "))
            .unwrap_or("(no summary)");
        println!(
            "mosquitto, --jobs {jobs:>2}: {:>7.1} s wall; {summary}",
            wall.as_secs_f64()
        );
    }
}
