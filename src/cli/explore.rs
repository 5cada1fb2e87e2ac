//! `gauntlet explore`: a workload over many seeds, failures listed, the
//! first ones shrunk and written as workloads that replay them.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use harness::sim::budget::WALL_BUDGET;
use harness::workload::{explore, run};
use indicatif::{ProgressBar, ProgressStyle};
use record::workload::Outcome;
use scenario::workload::Workload;
use scenario::VersionName;

use harness::suite::plan::parse_version;
use harness::suite::schedule::in_parallel;

#[derive(clap::Args)]
pub struct ExploreOptions {
    /// A workload file (with a top-level `workload:`).
    pub file: PathBuf,
    /// Seeds, FIRST..LAST (both included) or one seed.
    #[arg(long, default_value = "1..100")]
    pub seeds: String,
    /// Seeds run at once (each is single-threaded).
    #[arg(long, short = 'j', default_value_t = std::thread::available_parallelism().map_or(1, |n| n.get()))]
    pub jobs: usize,
    /// Only share i of n of the seeds (i/n, as cargo-nextest's
    /// --partition count:i/n), to split a range across CI machines.
    #[arg(long)]
    pub partition: Option<String>,
    /// Only this MQTT version (3.1.1 or 5).
    #[arg(long)]
    pub version: Option<String>,
    /// Where shrunk schedules are written, as workload files.
    #[arg(long, default_value = "shrunk")]
    pub out: PathBuf,
    /// How many failing seeds to shrink (0: none).
    #[arg(long, default_value_t = 1)]
    pub shrink: usize,
    /// Wall-clock seconds one simulated run may take before it fails as
    /// over budget (a broker stuck in an endless loop stops the simulation).
    #[arg(long, value_name = "SECONDS", default_value_t = WALL_BUDGET.as_secs())]
    pub wall_budget: u64,
}

/// `gauntlet explore`: every seed of the range (or of this share of it),
/// failures reported with their violations, the first ones shrunk.
pub fn explore(o: ExploreOptions) -> Result<bool, String> {
    let only = parse_version(o.version.as_deref())?;
    let w = scenario::workload::load_file(&o.file).map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(&o.file).map_err(|e| e.to_string())?;
    let range = explore::parse_seeds(&o.seeds)?;
    let partition = o
        .partition
        .as_deref()
        .map(explore::parse_partition)
        .transpose()?;
    let seeds = explore::seeds(range, partition);
    let versions: Vec<VersionName> = w
        .versions
        .iter()
        .copied()
        .filter(|v| only.is_none_or(|o| o == *v))
        .collect();
    let runs: Vec<(u64, VersionName)> = seeds
        .iter()
        .flat_map(|&s| versions.iter().map(move |&v| (s, v)))
        .collect();
    let started = Instant::now();
    let budget = Duration::from_secs(o.wall_budget);
    let (failures, sim_ms) = run_seeds(&w, &runs, o.jobs, budget);
    let wall = started.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    for f in &failures {
        print_failure(&mut out, f);
    }
    for f in failures.iter().filter(|f| f.error.is_none()).take(o.shrink) {
        shrink_and_write(&o, &w, &text, f, &mut out)?;
    }
    let _ = writeln!(
        out,
        "\n{} runs ({} seeds x {} versions{}): {} failed; {:.2}s wall, {:.1}s simulated ({:.0} seeds/s)",
        runs.len(),
        seeds.len(),
        versions.len(),
        partition.map_or(String::new(), |(i, n)| format!(", share {i}/{n}")),
        failures.len(),
        wall,
        sim_ms as f64 / 1000.0,
        if wall > 0.0 { runs.len() as f64 / wall } else { 0.0 }
    );
    Ok(failures.is_empty())
}

/// Every (seed, version) run on `jobs` threads behind a progress bar: the
/// failing outcomes in seed order, and the simulated time of them all.
fn run_seeds(
    w: &Workload,
    runs: &[(u64, VersionName)],
    jobs: usize,
    budget: Duration,
) -> (Vec<Outcome>, u64) {
    let bar = ProgressBar::new(runs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut failures: Vec<Outcome> = Vec::new();
    let mut sim_ms = 0;
    in_parallel(
        runs,
        jobs,
        |&(seed, v)| run::run_within(w, v, seed, &run::schedule(w, seed), budget),
        |_, outcome| {
            sim_ms += outcome.sim_ms;
            if !outcome.passed() {
                bar.set_message(format!("{} failing", failures.len() + 1));
                failures.push(outcome);
            }
            bar.inc(1);
        },
    );
    bar.finish_and_clear();
    failures.sort_by_key(|f| (f.seed, f.version.to_string()));
    (failures, sim_ms)
}

fn print_failure(out: &mut impl Write, f: &Outcome) {
    let _ = writeln!(
        out,
        "FAIL seed {} [{}] ({} faults)",
        f.seed,
        f.version.label(),
        f.faults.len()
    );
    if let Some(e) = &f.error {
        let _ = writeln!(out, "  {e}");
    }
    for line in report::text::queue_lines(&f.queue) {
        let _ = writeln!(out, "  total queue {line}");
    }
    for v in f.violations.iter().take(5) {
        for line in v.to_string().lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    if f.violations.len() > 5 {
        let _ = writeln!(out, "  ... and {} more violations", f.violations.len() - 5);
    }
}

/// Shrinks a failure to the fewest and shortest faults that still break
/// the same checks, writes that schedule as a workload of fixed faults
/// under `--out`, and says how to replay it.
fn shrink_and_write(
    o: &ExploreOptions,
    w: &Workload,
    text: &str,
    f: &Outcome,
    out: &mut impl Write,
) -> Result<(), String> {
    let small = explore::shrink(w, f);
    let checks: Vec<&str> = {
        let mut c: Vec<&str> = small.violations.iter().map(|v| v.check).collect();
        c.dedup();
        c
    };
    let why = format!(
        "{} of {} faults still break {}",
        small.faults.len(),
        f.faults.len(),
        checks.join(", ")
    );
    std::fs::create_dir_all(&o.out).map_err(|e| format!("{}: {e}", o.out.display()))?;
    let stem = o
        .file
        .file_stem()
        .map_or("workload".into(), |s| s.to_string_lossy().into_owned());
    let path = o.out.join(format!(
        "{stem}-seed{}-v{}.yaml",
        f.seed,
        f.version.label().trim_start_matches('v')
    ));
    let yaml = explore::fixed_yaml(
        text,
        &o.file.display().to_string(),
        f.seed,
        f.version,
        &small.faults,
        &why,
    );
    std::fs::write(&path, yaml).map_err(|e| format!("{}: {e}", path.display()))?;
    let _ = writeln!(
        out,
        "\nseed {} [{}] shrunk: {why}",
        f.seed,
        f.version.label()
    );
    for fault in &small.faults {
        let _ = writeln!(out, "  {fault}");
    }
    if let Some(v) = small.violations.first() {
        for line in v.to_string().lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    let _ = writeln!(
        out,
        "  written to {}\n  replay: gauntlet explore {} --seeds {} --version {}",
        path.display(),
        path.display(),
        f.seed,
        f.version
    );
    Ok(())
}
