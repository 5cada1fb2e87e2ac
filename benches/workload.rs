//! Seeds per wall second of the standard QoS 1 workload (5 publishers, 3
//! subscribers, 200 messages, 30 simulated seconds with a random fault
//! every 2 to 6 s), one thread and all cores. `cargo bench --bench workload`.

use std::path::Path;
use std::time::Instant;

use mqtt_gauntlet::scenario::workload as model;
use mqtt_gauntlet::scenario::VersionName;
use mqtt_gauntlet::workload::run;

fn main() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/chaos/workload_qos1.yaml");
    let w = model::load_file(&file).expect("the workload loads");
    let seeds: Vec<u64> = (1..=100).collect();
    let one = |seed: u64| {
        let o = run::run(&w, VersionName::V5, seed, &run::schedule(&w, seed));
        assert!(o.passed(), "seed {seed} fails: {:?}", o.violations.first());
        o.sim_ms
    };
    let start = Instant::now();
    let sim: u64 = seeds.iter().map(|&s| one(s)).sum();
    let wall = start.elapsed().as_secs_f64();
    println!(
        "1 thread:  {:.1} seeds/s, {:.0}x real time ({} seeds, {:.1} s wall)",
        seeds.len() as f64 / wall,
        sim as f64 / 1000.0 / wall,
        seeds.len(),
        wall
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..cores {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&seed) = seeds.get(i) else { break };
                one(seed);
            });
        }
    });
    let wall = start.elapsed().as_secs_f64();
    println!(
        "{cores} threads: {:.1} seeds/s ({:.1} s wall)",
        seeds.len() as f64 / wall,
        wall
    );
}
