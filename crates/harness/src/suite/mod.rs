//! A run of the whole suite: plan the runs ([`plan`]), start the broker
//! under test if there is one, place each run on it, run them on `--jobs`
//! threads longest first ([`schedule`]), and judge each against the
//! baseline ([`judge`]) into records for the reports.
//!
//! This is where the simulated and the real worlds meet; the commands in
//! `cli` only print what it returns.

pub mod judge;
pub mod plan;
pub mod schedule;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use record::script::RunResult;
use report::baseline::Baseline;
use report::results::Record;
use report::text;

use crate::external::session::{self, Session, Verdict};
use judge::Tally;
use plan::{Plan, Planned, WorkloadRun};
use schedule::in_parallel;

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
    /// Wall-clock time one simulated run may take before it is failed.
    pub wall_budget: Duration,
}

/// What one run of the suite found, before anything is printed.
pub struct Executed {
    pub records: Vec<Record>,
    /// Baseline entries that name no run of the suite.
    pub stale: Vec<String>,
    pub whole_suite: bool,
    pub wall: Duration,
    pub sim_ms_total: u64,
    pub counts: std::collections::BTreeMap<&'static str, usize>,
    pub failed_job: usize,
    pub load_errors: usize,
    /// The broker under test (none: the simulation) and its version, if
    /// its profile can tell.
    pub broker: Option<String>,
    pub broker_version: Option<String>,
}

/// What came of a scripted run, in the order runs finish.
enum Done {
    Ran(RunResult, Duration),
    Skipped(String),
}

/// Runs the suite `o` names (scenarios and workloads, in simulation or on
/// the broker) and returns what it found.
pub fn execute(o: &RunOptions) -> Result<Executed, String> {
    let only = plan::parse_version(o.version.as_deref())?;
    let session = o.broker.as_ref().map(Session::start).transpose()?;
    // `$(broker.…)` in a scenario takes what this broker announces.
    let announced = session.as_ref().and_then(|s| {
        eprintln!("broker under test: {}", s.describe());
        match s.announced() {
            Ok(a) => {
                eprintln!(
                    "it announces Receive Maximum {}, Maximum Packet Size {}, Topic Alias Maximum {}",
                    a.receive_maximum, a.maximum_packet_size, a.topic_alias_maximum
                );
                Some(a)
            }
            Err(why) => {
                eprintln!(
                    "no 5.0 CONNACK to read its limits from ({why}); `$(broker.…)` takes the \
                     reference broker's"
                );
                None
            }
        }
    });
    let entries = plan::load_suite_announced(&o.paths, announced.as_ref())?;
    let baseline = o.baseline.as_deref().map(Baseline::load).transpose()?;
    let mut plan = Plan::make(&entries, &o.paths, only, o.filter.as_deref())?;
    let stale = match &baseline {
        Some(b) => b
            .unknown_runs(&plan.all_runs)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        None => Vec::new(),
    };
    // Only a run of the whole suite can say an entry names no run.
    let whole_suite = o.paths.is_empty() && o.filter.is_none() && o.version.is_none();
    if let Some(s) = &session {
        // Timing edges are exact only in simulation; say how a real
        // clock is given room, so that a pass is read for what it shows.
        eprintln!(
            "timing on a real network: each deadline gets {} ms + {}% of slack, and a run's \
             trace notes any expectation met only within it",
            crate::external::world::SLACK_FIXED_MS,
            crate::external::world::SLACK_PERCENT
        );
        plan.place(s);
    }
    // On a broker given by URL, runs that cannot be prefixed go one at a
    // time after the rest, with nothing else running.
    let (parallel, alone) = plan.split_exclusive();
    let workloads = std::mem::take(&mut plan.workloads);
    let bar = progress_bar(o.quiet, parallel.len() + alone.len() + workloads.len());
    let started = Instant::now();
    let judging = (baseline.as_ref(), &bar, o.quiet);
    let mut tally = Tally::default();
    tally.alone_from = parallel.len();
    let offset = parallel.len() + alone.len();
    match &session {
        // On a real broker a workload mostly waits on the clock: it runs
        // beside the scripted runs that share the broker, and is over
        // before any run that must have the broker alone.
        Some(s) => {
            let mut beside = Tally::default();
            std::thread::scope(|scope| {
                let workloads = scope
                    .spawn(|| run_workloads(o, Some(s), &workloads, offset, judging, &mut beside));
                run_scripted(o, Some(s), (&parallel, &[]), judging, &mut tally);
                let _ = workloads.join();
            });
            run_scripted(o, Some(s), (&[], &alone), judging, &mut tally);
            tally.merge(beside);
        }
        None => {
            run_scripted(o, None, (&parallel, &alone), judging, &mut tally);
            run_workloads(o, None, &workloads, offset, judging, &mut tally);
        }
    }
    bar.finish_and_clear();
    let (counts, failed_job, sim_ms_total) =
        (tally.counts.clone(), tally.failed_job, tally.sim_ms_total);
    let mut records = std::mem::take(&mut plan.records);
    records.extend(tally.into_records());
    Ok(Executed {
        records,
        stale,
        whole_suite,
        wall: started.elapsed(),
        sim_ms_total,
        counts,
        failed_job,
        load_errors: plan.load_errors,
        broker: session.as_ref().map(Session::broker_name),
        broker_version: session.as_ref().and_then(Session::broker_version),
    })
}

fn progress_bar(quiet: bool, total: usize) -> ProgressBar {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

type Judging<'a> = (Option<&'a Baseline>, &'a ProgressBar, bool);

/// The scripted runs: those that may share the broker on `--jobs` threads,
/// longest first, then those that must run alone, one at a time.
/// The scripted runs: `(shared, alone)`, numbered in plan order; the
/// alone ones may come in a call of their own, after the shared ones.
fn run_scripted(
    o: &RunOptions,
    session: Option<&Session>,
    (parallel, alone): (&[Planned<'_>], &[Planned<'_>]),
    judging: Judging<'_>,
    tally: &mut Tally,
) {
    let (baseline, bar, _) = judging;
    // Plan order puts the alone runs after the shared ones, which a call
    // of their own does not see: number them from where those end.
    let first = tally.alone_from;
    let work = |p: &Planned| {
        let t = Instant::now();
        match (session, &p.placement) {
            (Some(s), Some(placement)) => match s.run(p.scenario, p.version, o.seed, placement) {
                Verdict::Ran(r) => Done::Ran(r, t.elapsed()),
                Verdict::Skipped(why) => Done::Skipped(why),
            },
            _ => Done::Ran(
                crate::sim::run_within(p.scenario, p.version, o.seed, o.wall_budget),
                t.elapsed(),
            ),
        }
    };
    let mut on_done = |at: usize, p: &Planned, done: Done| {
        bar.set_message(p.name.clone());
        match done {
            Done::Skipped(why) => tally.add(
                at,
                Record::skipped(
                    &p.name,
                    &p.entry.path,
                    &p.scenario.name,
                    &p.version.to_string(),
                    &why,
                ),
            ),
            Done::Ran(result, wall) => {
                let r = Record::from_run(&p.name, &p.entry.path, &p.scenario.name, &result, wall);
                tally.ran(at, r, result.sim_ms, judging, || {
                    let broker = o.broker.as_ref().map(|b| b.broker.as_str());
                    text::failure_report_on(&p.entry.path, &result, broker)
                });
            }
        }
        bar.inc(1);
    };
    // How long each run lasts in simulation, to order them on a real broker.
    let mut simulated = vec![0u64; parallel.len()];
    if session.is_some() && o.jobs > 1 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        in_parallel(
            parallel,
            cores,
            |p| crate::sim::run_within(p.scenario, p.version, o.seed, o.wall_budget).sim_ms,
            |i, ms| simulated[i] = ms,
        );
    }
    let order = schedule::longest_first(parallel, &simulated, baseline);
    let by_length: Vec<&Planned> = order.iter().map(|&i| &parallel[i]).collect();
    in_parallel(
        &by_length,
        o.jobs,
        |p| work(p),
        |k, d| on_done(order[k], &parallel[order[k]], d),
    );
    in_parallel(alone, 1, work, |i, d| on_done(first + i, &alone[i], d));
}

/// The workloads: one run per version at this seed (explore runs many),
/// judged in plan order once all have run.
fn run_workloads(
    o: &RunOptions,
    session: Option<&Session>,
    runs: &[WorkloadRun],
    offset: usize,
    judging: Judging<'_>,
    tally: &mut Tally,
) {
    let (_, bar, _) = judging;
    let mut results = Vec::new();
    in_parallel(
        runs,
        o.jobs,
        |run| {
            let (w, v) = (&run.workload, run.version);
            let t = Instant::now();
            match session {
                Some(s) => match s.run_workload(w, v, o.seed, &s.workload_placement(w, v)) {
                    Verdict::Ran(outcome) => Ok((*outcome, t.elapsed())),
                    Verdict::Skipped(why) => Err(why),
                },
                None => {
                    let faults = crate::workload::run::schedule(w, o.seed);
                    let outcome =
                        crate::workload::run::run_within(w, v, o.seed, &faults, o.wall_budget);
                    Ok((outcome, t.elapsed()))
                }
            }
        },
        |i, r| {
            bar.inc(1);
            results.push((i, r))
        },
    );
    results.sort_by_key(|(i, _)| *i);
    for (i, r) in results {
        let run = &runs[i];
        let (path, name) = (&run.path, &run.name);
        match r {
            Err(why) => tally.add(
                offset + i,
                Record::skipped(
                    name,
                    path,
                    &run.workload.name,
                    &run.version.to_string(),
                    &why,
                ),
            ),
            Ok((outcome, wall)) => {
                let r = Record::from_workload(name, path, &run.workload.name, &outcome, wall);
                tally.ran(offset + i, r, outcome.sim_ms, judging, || {
                    text::workload_failure_report(path, &outcome)
                });
            }
        }
    }
}
