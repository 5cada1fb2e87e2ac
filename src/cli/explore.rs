//! `gauntlet explore`: a workload over many seeds, failures listed, the
//! first ones shrunk and written as workloads that replay them — in
//! simulation, or against a real broker (`--broker`), where each failure
//! is run again to say how often it reproduces and shrinking keeps only
//! what fails every time (`--confirm`).

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use harness::external::session::{Placement, Session, Verdict};
use harness::sim::budget::WALL_BUDGET;
use harness::workload::{explore, run};
use indicatif::{ProgressBar, ProgressStyle};
use record::workload::{Outcome, ScheduledFault};
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
    /// Run against a real broker instead of the simulated reference broker:
    /// `mqtt://HOST:PORT`, `mqtts://HOST:PORT`, a built-in profile or a
    /// profile file. Faults go through a fault proxy per client, packet
    /// triggers (`on_packets`, `after`) included.
    #[arg(long)]
    pub broker: Option<String>,
    /// How many runs each failure gets to say how often it reproduces,
    /// and each shrinking candidate must fail in all of to be kept.
    /// Default: 3 against a real broker, 1 in simulation (a seed replays
    /// exactly there).
    #[arg(long, value_name = "K")]
    pub confirm: Option<usize>,
    /// Write the first failure (shrunk, unless --shrink 0) as a scripted
    /// scenario to this file: its publisher and subscriber, the message,
    /// the faults at the stage of its flow where they fell, and the
    /// expectation that failed — a regression test for every later
    /// `gauntlet run`, on any broker.
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    #[command(flatten)]
    pub access: super::run::Access,
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
    let broker = match &o.broker {
        Some(b) => Some(Session::start(&o.access.options(b.clone()))?),
        None => {
            o.access.none_without_broker()?;
            None
        }
    };
    let confirm = o
        .confirm
        .unwrap_or(if broker.is_some() { 3 } else { 1 })
        .max(1);
    let runner = Runner {
        w: &w,
        session: broker.as_ref(),
        budget,
    };
    let (failures, skipped, sim_ms) = run_seeds(&runner, &runs, o.jobs);
    let wall = started.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    if let Some(s) = &broker {
        let _ = writeln!(out, "on {}", s.describe());
    }
    for (run, why) in &skipped {
        let _ = writeln!(out, "skipped seed {} [{}]: {why}", run.0, run.1.label());
    }
    for f in &failures {
        print_failure(&mut out, f);
        if confirm > 1 && f.error.is_none() {
            let n = explore::reproduce(f, confirm, |faults| runner.run(f.version, f.seed, faults));
            let _ = writeln!(out, "  reproduced {n} of {confirm} runs");
        }
    }
    let mut first = None;
    for f in failures.iter().filter(|f| f.error.is_none()).take(o.shrink) {
        let small = shrink_and_write(&o, &runner, &text, f, confirm, &mut out)?;
        first.get_or_insert(small);
    }
    if let Some(path) = &o.export {
        let failed = first.or_else(|| failures.iter().find(|f| f.error.is_none()).cloned());
        match failed {
            Some(f) => export(&o, &w, path, &f, &mut out)?,
            None => {
                let _ = writeln!(out, "\nnothing to export: no run failed a check");
            }
        }
    }
    let _ = writeln!(
        out,
        "\n{} runs ({} seeds x {} versions{}): {} failed{}; {:.2}s wall, {}",
        runs.len(),
        seeds.len(),
        versions.len(),
        partition.map_or(String::new(), |(i, n)| format!(", share {i}/{n}")),
        failures.len(),
        if skipped.is_empty() {
            String::new()
        } else {
            format!(", {} skipped", skipped.len())
        },
        wall,
        if broker.is_some() {
            format!("{:.1}s of runs on the broker", sim_ms as f64 / 1000.0)
        } else {
            format!(
                "{:.1}s simulated ({:.0} seeds/s)",
                sim_ms as f64 / 1000.0,
                if wall > 0.0 {
                    runs.len() as f64 / wall
                } else {
                    0.0
                }
            )
        }
    );
    if !skipped.is_empty() && skipped.len() == runs.len() {
        return Err(format!(
            "nothing ran on {}: {}",
            broker.as_ref().map_or(String::new(), |s| s.describe()),
            skipped[0].1
        ));
    }
    Ok(failures.is_empty())
}

/// Where a workload's runs are made: in simulation, or on a real broker.
struct Runner<'a> {
    w: &'a Workload,
    session: Option<&'a Session>,
    budget: Duration,
}

impl Runner<'_> {
    /// One run with this schedule; on a broker that cannot take it, why.
    fn try_run(
        &self,
        v: VersionName,
        seed: u64,
        faults: &[ScheduledFault],
    ) -> Result<Outcome, String> {
        let Some(session) = self.session else {
            return Ok(run::run_within(self.w, v, seed, faults, self.budget));
        };
        match session.workload_placement(self.w, v) {
            Placement::Skip(why) => Err(why),
            placement => match session.run_workload_faults(self.w, v, seed, faults, &placement) {
                Verdict::Ran(o) => Ok(*o),
                Verdict::Skipped(why) => Err(why),
            },
        }
    }

    fn run(&self, v: VersionName, seed: u64, faults: &[ScheduledFault]) -> Outcome {
        self.try_run(v, seed, faults)
            .unwrap_or_else(|why| Outcome::failed(v, seed, faults, format!("skipped: {why}")))
    }

    /// Runs that must not overlap (a broker used unprefixed) go one at a
    /// time.
    fn jobs(&self, v: &[VersionName], jobs: usize) -> usize {
        match self.session {
            Some(s)
                if v.iter().any(|&v| {
                    matches!(s.workload_placement(self.w, v), Placement::Exclusive(_))
                }) =>
            {
                1
            }
            _ => jobs,
        }
    }
}

/// Every (seed, version) run on `jobs` threads behind a progress bar: the
/// failing outcomes in seed order, the runs skipped and why, and the
/// simulated time of them all.
#[allow(clippy::type_complexity)]
fn run_seeds(
    runner: &Runner,
    runs: &[(u64, VersionName)],
    jobs: usize,
) -> (Vec<Outcome>, Vec<((u64, VersionName), String)>, u64) {
    let bar = ProgressBar::new(runs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut failures: Vec<Outcome> = Vec::new();
    let mut skipped = Vec::new();
    let mut sim_ms = 0;
    let versions: Vec<VersionName> = runs.iter().map(|r| r.1).collect();
    in_parallel(
        runs,
        runner.jobs(&versions, jobs),
        |&(seed, v)| runner.try_run(v, seed, &run::schedule(runner.w, seed)),
        |i, outcome| {
            match outcome {
                Ok(outcome) => {
                    sim_ms += outcome.sim_ms;
                    if !outcome.passed() {
                        bar.set_message(format!("{} failing", failures.len() + 1));
                        failures.push(outcome);
                    }
                }
                Err(why) => skipped.push((runs[i], why)),
            }
            bar.inc(1);
        },
    );
    bar.finish_and_clear();
    failures.sort_by_key(|f| (f.seed, f.version.to_string()));
    skipped.sort_by_key(|(r, _)| (r.0, r.1.to_string()));
    (failures, skipped, sim_ms)
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
    runner: &Runner,
    text: &str,
    f: &Outcome,
    confirm: usize,
    out: &mut impl Write,
) -> Result<Outcome, String> {
    let shrunk = explore::shrink_with(f, confirm, |faults| runner.run(f.version, f.seed, faults));
    let small = shrunk.outcome;
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
    if confirm > 1 {
        let _ = writeln!(
            out,
            "  kept only what failed in each of {confirm} runs ({} runs in all)",
            shrunk.runs
        );
    }
    for fault in &small.faults {
        let _ = writeln!(out, "  {fault}");
    }
    if let Some(v) = small.violations.first() {
        for line in v.to_string().lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    let on = o
        .broker
        .as_ref()
        .map_or(String::new(), |b| format!(" --broker {b}"));
    let _ = writeln!(
        out,
        "  written to {}\n  replay: gauntlet explore {}{on} --seeds {} --version {}",
        path.display(),
        path.display(),
        f.seed,
        f.version
    );
    Ok(small)
}

/// Writes failure `f` as a scripted scenario to `path`.
fn export(
    o: &ExploreOptions,
    w: &Workload,
    path: &std::path::Path,
    f: &Outcome,
    out: &mut impl Write,
) -> Result<(), String> {
    let yaml = harness::workload::export::scenario(w, &o.file.display().to_string(), f)
        .map_err(|e| format!("--export: seed {} [{}]: {e}", f.seed, f.version.label()))?;
    std::fs::write(path, yaml).map_err(|e| format!("{}: {e}", path.display()))?;
    let _ = writeln!(
        out,
        "\nseed {} [{}] exported as a scripted scenario to {}\n  run it: gauntlet run {}{}",
        f.seed,
        f.version.label(),
        path.display(),
        path.display(),
        o.broker
            .as_ref()
            .map_or(String::new(), |b| format!(" --broker {b}"))
    );
    Ok(())
}
