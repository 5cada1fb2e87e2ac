//! Each run's verdict against the baseline of known failures, written on its
//! record, announced as it comes, and counted.

use std::collections::BTreeMap;

use indicatif::ProgressBar;
use report::baseline::{Baseline, Judgement};
use report::results::{Record, Status};

/// Judges a run against the baseline (without one: a pass, or a new
/// failure) and writes the verdict on its record.
pub fn judge(baseline: Option<&Baseline>, r: &mut Record) -> Judgement {
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

/// What the terminal hears of a run as it ends: a new failure in full
/// (`report` makes it only then), a run the baseline should no longer
/// list. Nothing when `quiet`.
pub fn announce(
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

/// The records of a suite's runs as they finish, each at its place in the
/// plan, with the counts the summary shows.
#[derive(Default)]
pub struct Tally {
    results: Vec<(usize, Record)>,
    pub counts: BTreeMap<&'static str, usize>,
    /// Runs that fail the job (new failures, fixed ones still listed).
    pub failed_job: usize,
    pub sim_ms_total: u64,
}

impl Tally {
    /// A run that ran: judged, announced, counted.
    pub fn ran(
        &mut self,
        at: usize,
        mut record: Record,
        sim_ms: u64,
        judging: (Option<&Baseline>, &ProgressBar, bool),
        report: impl FnOnce() -> String,
    ) {
        let (baseline, bar, quiet) = judging;
        self.sim_ms_total += sim_ms;
        let judgement = judge(baseline, &mut record);
        announce(bar, quiet, judgement, &record.name.clone(), report);
        if judgement.fails_job() {
            self.failed_job += 1;
        }
        self.add(at, record);
    }

    /// A record as it is (a skipped run).
    pub fn add(&mut self, at: usize, record: Record) {
        *self.counts.entry(record.label()).or_default() += 1;
        self.results.push((at, record));
    }

    /// The records in plan order.
    pub fn into_records(mut self) -> Vec<Record> {
        self.results.sort_by_key(|(i, _)| *i);
        self.results.into_iter().map(|(_, r)| r).collect()
    }
}
