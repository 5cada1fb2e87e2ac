//! The commands behind `gauntlet`: each returns whether everything passed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::baseline::{Baseline, Judgement};
use crate::external::session::{self, Placement, Session, Verdict};
use crate::report::{self, Record, Status};
use crate::runner::{self, Outcome, RunResult};
use crate::scenario::{self, VersionName};
use crate::suite;

pub struct RunOptions {
    pub paths: Vec<PathBuf>,
    pub seed: u64,
    pub version: Option<String>,
    pub report: Option<PathBuf>,
    pub filter: Option<String>,
    /// Run against this real broker instead of the simulation.
    pub broker: Option<session::Options>,
    /// Runs at once.
    pub jobs: usize,
    pub baseline: Option<PathBuf>,
    /// No progress bar and no failure reports while running (`compare`
    /// writes its own report).
    pub quiet: bool,
}

/// What one run of the suite found, before anything is printed.
pub struct Executed {
    pub records: Vec<Record>,
    /// Baseline entries that name no run of the suite.
    pub stale: Vec<String>,
    pub whole_suite: bool,
    pub wall: std::time::Duration,
    pub sim_ms_total: u64,
    pub counts: std::collections::BTreeMap<&'static str, usize>,
    pub failed_job: usize,
    pub load_errors: usize,
    /// The broker under test (none: the simulation) and its version, if
    /// its profile can tell.
    pub broker: Option<String>,
    pub broker_version: Option<String>,
}

fn parse_version(v: Option<&str>) -> Result<Option<VersionName>, String> {
    match v {
        None => Ok(None),
        Some("3.1.1" | "311" | "v3.1.1") => Ok(Some(VersionName::V311)),
        Some("5" | "5.0" | "v5") => Ok(Some(VersionName::V5)),
        Some(other) => Err(format!("unknown version {other:?}: use 3.1.1 or 5")),
    }
}

/// The command that runs this scenario and version again, with its trace.
pub fn replay_command(path: &Path, seed: u64, version: VersionName) -> String {
    format!(
        "gauntlet replay {} --seed {seed} --version {version}",
        path.display()
    )
}

/// What a failed run prints: where, what, the end of the trace, how to replay.
pub fn failure_report(path: &Path, run: &RunResult) -> String {
    failure_report_on(path, run, None)
}

/// The same for a run against a real broker (`broker`: what `--broker`
/// said), where only a re-run is possible: real timing differs each time.
pub fn failure_report_on(path: &Path, run: &RunResult, broker: Option<&str>) -> String {
    let Outcome::Failed(f) = &run.outcome else {
        return String::new();
    };
    let mut s = String::new();
    let place = if f.line > 0 {
        format!("{}:{}", path.display(), f.line)
    } else {
        path.display().to_string()
    };
    s.push_str(&format!(
        "  at {place}: step {} ({})\n",
        f.step, f.step_text
    ));
    s.push_str(&format!("  {}\n", f.message));
    s.push_str("  trace (last 20 events):\n");
    for line in run.trace.tail(20).lines() {
        s.push_str(&format!("    {line}\n"));
    }
    match broker {
        None => s.push_str(&format!(
            "  seed {}; replay with: {}\n",
            run.seed,
            replay_command(path, run.seed, run.version)
        )),
        Some(b) => s.push_str(&format!(
            "  seed {}; run it again with: gauntlet run {} --broker {b} --seed {} --version {} \
             (real timing differs from run to run)\n",
            run.seed,
            path.display(),
            run.seed,
            run.version
        )),
    }
    s
}

/// The files under `paths`, or under `scenarios/` when none are given.
fn load_suite(paths: &[PathBuf]) -> Result<Vec<suite::Entry>, String> {
    if paths.is_empty() {
        suite::load_all(&[PathBuf::from("scenarios")])
    } else {
        suite::load_all(paths)
    }
}

type WorkloadRun = (
    PathBuf,
    crate::workload::model::Workload,
    VersionName,
    String,
);

/// The workload files under the run's paths, one run per version (every
/// run's name goes into `all_runs`, chosen or not).
fn plan_workloads(
    o: &RunOptions,
    only: Option<VersionName>,
    records: &mut Vec<Record>,
    load_errors: &mut usize,
    all_runs: &mut Vec<String>,
) -> Result<Vec<WorkloadRun>, String> {
    let paths = if o.paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        o.paths.clone()
    };
    let mut runs = Vec::new();
    for path in suite::discover_workloads(&paths)? {
        let id = suite::scenario_id(&path);
        match crate::workload::model::load_file(&path) {
            Err(e) => {
                *load_errors += 1;
                eprintln!("error: {e}");
                records.push(Record::load_error(&id, &path, &e.to_string()));
            }
            Ok(w) => {
                for &v in &w.versions {
                    let name = format!("{id} [{}]", v.label());
                    all_runs.push(name.clone());
                    if only.is_some_and(|o| o != v)
                        || o.filter.as_deref().is_some_and(|f| !name.contains(f))
                    {
                        continue;
                    }
                    runs.push((path.clone(), w.clone(), v, name));
                }
            }
        }
    }
    Ok(runs)
}

/// How long a run takes at least: the time its steps wait on purpose.
fn least_duration_ms(s: &scenario::Scenario) -> u64 {
    use scenario::{ClientAction, Step};
    s.steps
        .iter()
        .map(|step| match &step.value {
            Step::Wait(d) => d.millis(),
            Step::Client {
                action: ClientAction::ExpectNothing(d),
                ..
            } => d.millis(),
            _ => 0,
        })
        .sum()
}

/// Judges a run against the baseline (without one: a pass, or a new
/// failure) and writes the verdict on its record.
fn judge(baseline: Option<&Baseline>, r: &mut Record) -> Judgement {
    let passed = r.status == Status::Passed;
    let Some(b) = baseline else {
        return if passed {
            Judgement::Pass
        } else {
            Judgement::NewFailure
        };
    };
    let judgement = b.judge(&r.name, passed);
    if let Some(e) = b.entry(&r.name) {
        match judgement {
            Judgement::Known => r.baseline = Some(format!("known failure: {}", e.reason)),
            // A flaky run that passed this time reads as a pass.
            Judgement::Flaky if !passed => r.baseline = Some(format!("flaky: {}", e.reason)),
            Judgement::Fixed => {
                r.baseline = Some(format!("fixed: {}", e.reason));
                r.status = Status::Failed;
                r.message = Some(
                    "passed, but the baseline lists it as a known failure: remove the entry".into(),
                );
            }
            _ => {}
        }
    }
    judgement
}

/// What the terminal hears of a run as it ends: new failures in full, runs
/// the baseline should no longer list.
/// Prints a new failure (or a fixed one) as it happens, unless `quiet`.
fn announce(
    bar: &ProgressBar,
    quiet: bool,
    j: Judgement,
    name: &str,
    report: impl FnOnce() -> String,
) {
    if quiet {
        return;
    }
    match j {
        Judgement::NewFailure => bar.suspend(|| {
            eprintln!("FAIL {name}");
            eprint!("{}", report());
        }),
        Judgement::Fixed => bar.suspend(|| {
            eprintln!("FIXED {name}: passed, but the baseline lists it as a known failure")
        }),
        _ => {}
    }
}

/// One run to do: a scenario file's version.
struct Planned<'a> {
    entry: &'a suite::Entry,
    scenario: &'a scenario::Scenario,
    version: VersionName,
    name: String,
    /// Where it runs on a real broker (decided once).
    placement: Option<Placement>,
}

/// What came of a run, in the order runs finish.
enum Done {
    Ran(RunResult, std::time::Duration),
    Skipped(String),
}

/// Runs `work` on each of `items` with `jobs` threads; `report` sees each
/// result (with its index) as it comes, on the calling thread.
fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    work: impl Fn(&T) -> R + Sync,
    mut report: impl FnMut(usize, R),
) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                if tx.send((i, work(item))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            report(i, r);
        }
    });
}

pub fn run(o: RunOptions) -> Result<bool, String> {
    let Executed {
        records,
        stale,
        whole_suite,
        wall,
        sim_ms_total,
        counts,
        failed_job,
        load_errors,
        broker,
        broker_version: _,
    } = execute(&o)?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{:<60} {:>6}", "scenario", "result");
    for r in &records {
        let _ = writeln!(out, "{:<60} {:>6}", r.name, r.label());
    }
    for r in records.iter().filter(|r| r.status == Status::Skipped) {
        let _ = writeln!(
            out,
            "skipped {}: {}",
            r.name,
            r.message.as_deref().unwrap_or("")
        );
    }
    for r in records.iter().filter(|r| r.baseline.is_some()) {
        let _ = writeln!(
            out,
            "{} {}: {}",
            r.label(),
            r.name,
            r.baseline.as_deref().unwrap_or("")
        );
    }
    let count = |k: &str| counts.get(k).copied().unwrap_or(0);
    let mut extra = String::new();
    for (label, what) in [
        ("skip", "skipped"),
        ("known", "known failures"),
        ("flaky", "flaky failures"),
        ("FIXED", "fixed (remove from the baseline)"),
    ] {
        if count(label) > 0 {
            extra.push_str(&format!(", {} {what}", count(label)));
        }
    }
    let timing = match &broker {
        None => format!(
            "{:.2}s wall, {:.1}s simulated ({:.0}x real time)",
            wall.as_secs_f64(),
            sim_ms_total as f64 / 1000.0,
            if wall.as_secs_f64() > 0.0 {
                sim_ms_total as f64 / 1000.0 / wall.as_secs_f64()
            } else {
                0.0
            }
        ),
        Some(name) => format!("{:.2}s wall against {name}", wall.as_secs_f64()),
    };
    let total = records.len();
    let _ = writeln!(
        out,
        "\n{total} runs: {} passed, {} failed{extra}, {load_errors} files with errors; {timing}",
        count("pass"),
        count("FAIL"),
    );
    for s in &stale {
        let _ = writeln!(out, "baseline entry names no run of the suite: {s:?}");
    }
    if let Some(dir) = &o.report {
        report::write(dir, &records).map_err(|e| format!("report {}: {e}", dir.display()))?;
        let _ = writeln!(out, "reports written to {}", dir.display());
    }
    let ran_something = records.iter().any(|r| r.status != Status::Skipped);
    Ok(failed_job == 0 && load_errors == 0 && ran_something && (stale.is_empty() || !whole_suite))
}

/// Runs the suite `o` names (scenarios and workloads, in simulation or on
/// the broker) and returns what it found.
pub fn execute(o: &RunOptions) -> Result<Executed, String> {
    let only = parse_version(o.version.as_deref())?;
    let entries = load_suite(&o.paths)?;
    let baseline = o.baseline.as_deref().map(Baseline::load).transpose()?;
    let mut planned = Vec::new();
    let mut records = Vec::new();
    let mut load_errors = 0;
    let mut all_runs = Vec::new();
    for e in &entries {
        match &e.scenario {
            Err(err) => {
                load_errors += 1;
                eprintln!("error: {err}");
                records.push(Record::load_error(&e.id, &e.path, &err.to_string()));
            }
            Ok(s) => {
                for &v in &s.versions {
                    let name = e.run_name(v);
                    all_runs.push(name.clone());
                    if only.is_some_and(|o| o != v) {
                        continue;
                    }
                    if o.filter.as_deref().is_some_and(|f| !name.contains(f)) {
                        continue;
                    }
                    planned.push(Planned {
                        entry: e,
                        scenario: s,
                        version: v,
                        name,
                        placement: None,
                    });
                }
            }
        }
    }
    let workload_runs = plan_workloads(o, only, &mut records, &mut load_errors, &mut all_runs)?;
    let mut stale = Vec::new();
    if let Some(b) = &baseline {
        stale = b
            .unknown_runs(&all_runs)
            .into_iter()
            .map(str::to_owned)
            .collect();
    }
    // Only a run of the whole suite can say an entry names no run.
    let whole_suite = o.paths.is_empty() && o.filter.is_none() && o.version.is_none();
    let session = o.broker.as_ref().map(Session::start).transpose()?;
    if let Some(s) = &session {
        eprintln!("broker under test: {}", s.describe());
    }
    // On a broker given by URL, runs that cannot be prefixed go one at a
    // time after the rest, with nothing else running.
    if let Some(s) = &session {
        for p in &mut planned {
            p.placement = Some(s.placement(p.scenario, p.version));
        }
    }
    let (parallel, alone): (Vec<Planned>, Vec<Planned>) = planned
        .into_iter()
        .partition(|p| !matches!(p.placement, Some(Placement::Exclusive(_))));
    let total = parallel.len() + alone.len() + workload_runs.len();
    let bar = if o.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let work = |p: &Planned| {
        let t = Instant::now();
        match (&session, &p.placement) {
            (Some(s), Some(placement)) => match s.run(p.scenario, p.version, o.seed, placement) {
                Verdict::Ran(r) => Done::Ran(r, t.elapsed()),
                Verdict::Skipped(why) => Done::Skipped(why),
            },
            _ => Done::Ran(runner::run(p.scenario, p.version, o.seed), t.elapsed()),
        }
    };
    let mut results: Vec<(usize, Record)> = Vec::new();
    let mut failed_job = 0;
    let mut sim_ms_total = 0;
    let mut counts = std::collections::BTreeMap::<&'static str, usize>::new();
    let mut on_done = |offset: usize, list: &[Planned], i: usize, done: Done| {
        let p = &list[i];
        bar.set_message(p.name.clone());
        let record = match done {
            Done::Skipped(why) => Record::skipped(
                &p.name,
                &p.entry.path,
                &p.scenario.name,
                &p.version.to_string(),
                &why,
            ),
            Done::Ran(result, wall) => {
                sim_ms_total += result.sim_ms;
                let mut r =
                    Record::from_run(&p.name, &p.entry.path, &p.scenario.name, &result, wall);
                let judgement = judge(baseline.as_ref(), &mut r);
                announce(&bar, o.quiet, judgement, &p.name, || {
                    let broker = o.broker.as_ref().map(|b| b.broker.as_str());
                    failure_report_on(&p.entry.path, &result, broker)
                });
                if judgement.fails_job() {
                    failed_job += 1;
                }
                r
            }
        };
        *counts.entry(record.label()).or_default() += 1;
        results.push((offset + i, record));
        bar.inc(1);
    };
    // Longest first, so that no long run starts last and holds up the end.
    // On a real broker a run lasts about as long as it does against the
    // reference broker in simulation (a fraction of a second to find out);
    // one the baseline expects to fail will likely also wait out a deadline.
    let mut simulated = vec![0u64; parallel.len()];
    if session.is_some() && o.jobs > 1 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        in_parallel(
            &parallel,
            cores,
            |p| runner::run(p.scenario, p.version, o.seed).sim_ms,
            |i, ms| simulated[i] = ms,
        );
    }
    let expected_ms = |i: usize| {
        let p = &parallel[i];
        let deadline = baseline
            .as_ref()
            .and_then(|b| b.entry(&p.name))
            .map_or(0, |_| {
                p.scenario
                    .timeout
                    .map_or(runner::DEFAULT_TIMEOUT_MS, |d| d.millis())
            });
        simulated[i].max(least_duration_ms(p.scenario)) + deadline
    };
    let mut order: Vec<usize> = (0..parallel.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(expected_ms(i)));
    let by_length: Vec<&Planned> = order.iter().map(|&i| &parallel[i]).collect();
    in_parallel(
        &by_length,
        o.jobs,
        |p| work(p),
        |k, d| on_done(0, &parallel, order[k], d),
    );
    in_parallel(&alone, 1, work, |i, d| {
        on_done(parallel.len(), &alone, i, d)
    });
    // Workloads: one run per version at this seed (explore runs many).
    let offset = parallel.len() + alone.len();
    let mut workload_results = Vec::new();
    in_parallel(
        &workload_runs,
        o.jobs,
        |(_, w, v, _)| {
            let t = Instant::now();
            match &session {
                Some(s) => match s.run_workload(w, *v, o.seed, &s.workload_placement(w, *v)) {
                    Verdict::Ran(outcome) => Ok((*outcome, t.elapsed())),
                    Verdict::Skipped(why) => Err(why),
                },
                None => {
                    let faults = crate::workload::run::schedule(w, o.seed);
                    let outcome = crate::workload::run::run(w, *v, o.seed, &faults);
                    Ok((outcome, t.elapsed()))
                }
            }
        },
        |i, r| {
            bar.inc(1);
            workload_results.push((i, r))
        },
    );
    bar.finish_and_clear();
    workload_results.sort_by_key(|(i, _)| *i);
    for (i, r) in workload_results {
        let (path, w, v, name) = &workload_runs[i];
        let record = match r {
            Err(why) => Record::skipped(name, path, &w.name, &v.to_string(), &why),
            Ok((outcome, wall)) => {
                sim_ms_total += outcome.sim_ms;
                let mut r = Record::from_workload(name, path, &w.name, &outcome, wall);
                let judgement = judge(baseline.as_ref(), &mut r);
                announce(&bar, o.quiet, judgement, name, || {
                    crate::workload::run::failure_report(path, &outcome)
                });
                if judgement.fails_job() {
                    failed_job += 1;
                }
                r
            }
        };
        *counts.entry(record.label()).or_default() += 1;
        results.push((offset + i, record));
    }
    results.sort_by_key(|(i, _)| *i);
    records.extend(results.into_iter().map(|(_, r)| r));
    Ok(Executed {
        records,
        stale,
        whole_suite,
        wall: started.elapsed(),
        sim_ms_total,
        counts,
        failed_job,
        load_errors,
        broker: session.as_ref().map(Session::broker_name),
        broker_version: session.as_ref().and_then(Session::broker_version),
    })
}

/// `gauntlet replay`: the scenario again from its seed, with its whole
/// trace; `html` also draws each run as a sequence diagram in that file.
pub fn replay(
    file: &Path,
    seed: u64,
    version: Option<&str>,
    html: Option<&Path>,
) -> Result<bool, String> {
    if suite::is_workload_file(file) {
        return replay_workload(file, seed, version, html);
    }
    let only = parse_version(version)?;
    let s = scenario::load_file(file).map_err(|e| e.to_string())?;
    let mut all_passed = true;
    let mut runs = Vec::new();
    for &v in &s.versions {
        if only.is_some_and(|o| o != v) {
            continue;
        }
        let result = runner::run(&s, v, seed);
        println!("# {} [{}] seed {seed}", s.name, v.label());
        print!("{}", result.trace);
        match &result.outcome {
            Outcome::Passed => println!("PASSED ({} ms simulated)", result.sim_ms),
            Outcome::Failed(_) => {
                all_passed = false;
                println!("FAILED");
                print!("{}", failure_report(file, &result));
            }
        }
        runs.push(result);
    }
    if let Some(out) = html {
        let pages: Vec<crate::html::ReplayRun> = runs
            .iter()
            .map(|r| crate::html::ReplayRun {
                title: format!("{} [{}] seed {seed}", s.name, r.version.label()),
                passed: r.passed(),
                message: match &r.outcome {
                    Outcome::Passed => None,
                    Outcome::Failed(f) => {
                        Some(format!("step {} ({}): {}", f.step, f.step_text, f.message))
                    }
                },
                diagram: crate::diagram::Diagram::from_trace(&r.trace),
                trace: r.trace.to_string(),
            })
            .collect();
        let text = crate::html::replay(&s.name, &file.display().to_string(), seed, &pages);
        write_page(out, &text)?;
    }
    Ok(all_passed)
}

fn write_page(out: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(out, text).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!("written: {}", out.display());
    Ok(())
}

/// `gauntlet replay` of a workload: the seed's traffic and fault schedule
/// again, its history, and what the checkers found. Drawn, a failing run
/// shows the story of its first violation; a passing one its history.
fn replay_workload(
    file: &Path,
    seed: u64,
    version: Option<&str>,
    html: Option<&Path>,
) -> Result<bool, String> {
    use crate::diagram::Diagram;
    use crate::workload::{model, run};
    let only = parse_version(version)?;
    let w = model::load_file(file).map_err(|e| e.to_string())?;
    let clients = run::clients(&w);
    let mut all_passed = true;
    let mut pages = Vec::new();
    for &v in &w.versions {
        if only.is_some_and(|o| o != v) {
            continue;
        }
        let o = run::run(&w, v, seed, &run::schedule(&w, seed));
        let history = Diagram::from_history(&o.history, &clients, usize::MAX).text();
        println!("# {} [{}] seed {seed}", w.name, v.label());
        print!("{history}");
        let message = (!o.passed()).then(|| run::failure_report(file, &o));
        match &message {
            None => println!(
                "PASSED ({} events, {} ms simulated)",
                o.history.events.len(),
                o.sim_ms
            ),
            Some(report) => {
                all_passed = false;
                println!("FAILED");
                print!("{report}");
            }
        }
        let diagram = match o.violations.first() {
            Some(violation) => Diagram::from_violation(&o.history, violation),
            None => Diagram::from_history(&o.history, &clients, crate::diagram::MAX_ROWS),
        };
        pages.push(crate::html::ReplayRun {
            title: format!("{} [{}] seed {seed}", w.name, v.label()),
            passed: o.passed(),
            message,
            diagram,
            trace: history,
        });
    }
    if let Some(out) = html {
        let text = crate::html::replay(&w.name, &file.display().to_string(), seed, &pages);
        write_page(out, &text)?;
    }
    Ok(all_passed)
}

pub fn check(paths: &[PathBuf]) -> Result<bool, String> {
    let entries = load_suite(paths)?;
    let mut ok = true;
    for e in &entries {
        match &e.scenario {
            Ok(s) => println!(
                "ok    {} ({} steps, {} versions)",
                e.path.display(),
                s.steps.len(),
                s.versions.len()
            ),
            Err(err) => {
                ok = false;
                println!("error {err}");
            }
        }
    }
    Ok(ok)
}

pub fn coverage(paths: &[PathBuf], show_missing: bool) -> Result<bool, String> {
    let entries = load_suite(paths)?;
    let mut ok = true;
    for e in &entries {
        if let Err(err) = &e.scenario {
            ok = false;
            eprintln!("error: {err}");
        }
    }
    let scenarios: Vec<&scenario::Scenario> = entries
        .iter()
        .filter_map(|e| e.scenario.as_ref().ok())
        .collect();
    for c in crate::coverage::compute(scenarios.iter().copied()) {
        println!(
            "MQTT {}: {} of {} normative statements checked ({:.0}%)",
            c.version,
            c.cited.len(),
            c.total,
            c.percent()
        );
        if show_missing {
            for id in &c.missing {
                let text = crate::spec::statement(c.version.protocol(), id)
                    .map(|s| s.text)
                    .unwrap_or("");
                let short: String = text.chars().take(100).collect();
                println!("  not checked: {id}  {short}");
            }
        }
    }
    Ok(ok)
}

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
}

/// `gauntlet explore`: every seed of the range (or of this share of it),
/// failures reported with their violations, the first ones shrunk.
pub fn explore(o: ExploreOptions) -> Result<bool, String> {
    use crate::workload::{explore, model, run};
    let only = parse_version(o.version.as_deref())?;
    let w = model::load_file(&o.file).map_err(|e| e.to_string())?;
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
    let jobs_list: Vec<(u64, VersionName)> = seeds
        .iter()
        .flat_map(|&s| versions.iter().map(move |&v| (s, v)))
        .collect();
    let bar = ProgressBar::new(jobs_list.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut failures: Vec<run::Outcome> = Vec::new();
    let mut sim_ms = 0;
    in_parallel(
        &jobs_list,
        o.jobs,
        |&(seed, v)| run::run(&w, v, seed, &run::schedule(&w, seed)),
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
    let wall = started.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    for f in &failures {
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
        for v in f.violations.iter().take(5) {
            for line in v.to_string().lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
        if f.violations.len() > 5 {
            let _ = writeln!(out, "  ... and {} more violations", f.violations.len() - 5);
        }
    }
    for f in failures.iter().filter(|f| f.error.is_none()).take(o.shrink) {
        let small = explore::shrink(&w, f);
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
            &text,
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
    }
    let _ = writeln!(
        out,
        "\n{} runs ({} seeds x {} versions{}): {} failed; {:.2}s wall, {:.1}s simulated ({:.0} seeds/s)",
        jobs_list.len(),
        seeds.len(),
        versions.len(),
        partition.map_or(String::new(), |(i, n)| format!(", share {i}/{n}")),
        failures.len(),
        wall,
        sim_ms as f64 / 1000.0,
        if wall > 0.0 { jobs_list.len() as f64 / wall } else { 0.0 }
    );
    Ok(failures.is_empty())
}

#[derive(clap::Args)]
pub struct CompareOptions {
    /// Scenario files or directories (default: everything under scenarios/).
    pub paths: Vec<PathBuf>,
    /// A broker to compare: a profile (`reference`, `mosquitto`, `aedes`,
    /// `amqtt`, or a profile file) or a URL; give it once per broker.
    #[arg(long = "broker", required = true)]
    pub brokers: Vec<String>,
    /// Runs at once on each broker.
    #[arg(long, short = 'j', default_value_t = 8)]
    pub jobs: usize,
    /// Where comparison.md and comparison.json go.
    #[arg(long, default_value = "comparison")]
    pub out: PathBuf,
    /// Seed of each run's fault schedules.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where `<broker>.baseline.yaml` files are looked for: a listed
    /// failure's reviewed reason replaces the raw one.
    #[arg(long, default_value = "brokers")]
    pub baselines: PathBuf,
    /// The date the report shows (default: today, UTC).
    #[arg(long)]
    pub date: Option<String>,
}

/// Today's date (UTC) as YYYY-MM-DD: only for a report's heading.
fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `gauntlet compare`: the library against each broker in turn, one matrix.
pub fn compare(o: CompareOptions) -> Result<bool, String> {
    let entries = load_suite(&o.paths)?;
    let mut spec = crate::compare::SpecIds::new();
    for e in &entries {
        if let Ok(s) = &e.scenario {
            for &v in &s.versions {
                let ids = s.spec.ids_for(v).into_iter().map(str::to_owned).collect();
                spec.insert(e.run_name(v), ids);
            }
        }
    }
    let mut results = Vec::new();
    for broker in &o.brokers {
        let path = o.baselines.join(format!("{broker}.baseline.yaml"));
        let baseline_path = path.is_file().then_some(path);
        let baseline = baseline_path.as_deref().map(Baseline::load).transpose()?;
        eprintln!("comparing: {broker}");
        let executed = execute(&RunOptions {
            paths: o.paths.clone(),
            seed: o.seed,
            version: None,
            report: None,
            filter: None,
            broker: Some(session::Options {
                broker: broker.clone(),
                ..session::Options::default()
            }),
            jobs: o.jobs,
            baseline: baseline_path,
            quiet: true,
        })?;
        results.push((broker.clone(), executed, baseline));
    }
    let runs: Vec<crate::compare::BrokerRun<'_>> = results
        .iter()
        .map(|(name, e, b)| crate::compare::BrokerRun {
            name: name.clone(),
            version: e.broker_version.clone(),
            records: &e.records,
            baseline: b.as_ref(),
        })
        .collect();
    let date = o.date.clone().unwrap_or_else(today);
    let c = crate::compare::build(&runs, &spec, env!("CARGO_PKG_VERSION"), &date, o.seed);
    std::fs::create_dir_all(&o.out).map_err(|e| format!("{}: {e}", o.out.display()))?;
    let md = o.out.join("comparison.md");
    std::fs::write(&md, crate::compare::markdown(&c))
        .map_err(|e| format!("{}: {e}", md.display()))?;
    let json = o.out.join("comparison.json");
    let text = serde_json::to_string_pretty(&c).map_err(|e| e.to_string())?;
    std::fs::write(&json, text).map_err(|e| format!("{}: {e}", json.display()))?;
    let html = o.out.join("comparison.html");
    std::fs::write(&html, crate::html::comparison(&c))
        .map_err(|e| format!("{}: {e}", html.display()))?;
    let mut out = std::io::stdout().lock();
    for b in &c.brokers {
        let _ = writeln!(
            out,
            "{:<12} {:<40} {:>4} pass {:>4} fail {:>4} skip",
            b.name,
            b.version.as_deref().unwrap_or("?"),
            b.totals.pass,
            b.totals.fail,
            b.totals.skip
        );
    }
    let _ = writeln!(
        out,
        "written: {}, {} and {}",
        md.display(),
        html.display(),
        json.display()
    );
    Ok(true)
}
