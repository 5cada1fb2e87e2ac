//! Each run's verdict against the baseline of known failures, written on its
//! record, announced as it comes, and counted.

use std::collections::BTreeMap;

use indicatif::ProgressBar;
use report::baseline::Baseline;
use report::outcome::Outcome;
use report::results::Record;

/// Judges a run against the baseline (without one it stays what it was)
/// and writes the verdict on its record.
pub fn judge(baseline: Option<&Baseline>, r: &mut Record) -> Outcome {
    let Some(b) = baseline else {
        return r.outcome;
    };
    let ran = r.outcome;
    let judged = b.judge(&r.name, ran);
    if let Some(e) = b.entry(&r.name) {
        let unreviewed = if e.unreviewed { " (unreviewed)" } else { "" };
        match judged {
            Outcome::Known => {
                r.baseline = Some(format!("known failure{unreviewed}: {}", e.reason));
            }
            Outcome::Flaky => r.baseline = Some(format!("flaky{unreviewed}: {}", e.reason)),
            Outcome::Fixed => {
                r.baseline = Some(format!("fixed: {}", e.reason));
                let what = match ran {
                    Outcome::Advisory => "passed (with an advisory)",
                    _ => "passed",
                };
                r.message = Some(format!(
                    "{what}, but the baseline lists it as a known failure: remove the entry"
                ));
            }
            _ => {}
        }
    }
    r.outcome = judged;
    judged
}

/// What the terminal hears of a run as it ends: a new failure in full
/// (`report` makes it only then), a run the baseline should no longer
/// list. Nothing when `quiet`.
pub fn announce(
    bar: &ProgressBar,
    quiet: bool,
    outcome: Outcome,
    name: &str,
    report: impl FnOnce() -> String,
) {
    if quiet {
        return;
    }
    match outcome {
        Outcome::Fail => bar.suspend(|| {
            eprintln!("FAIL {name}");
            eprint!("{}", report());
        }),
        Outcome::Fixed => bar.suspend(|| {
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
    /// Where the runs that need the broker alone begin in plan order.
    pub alone_from: usize,
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
        let outcome = judge(baseline, &mut record);
        announce(bar, quiet, outcome, &record.name.clone(), report);
        if outcome.fails_job() {
            self.failed_job += 1;
        }
        self.add(at, record);
    }

    /// A record as it is (a skipped run).
    pub fn add(&mut self, at: usize, record: Record) {
        *self.counts.entry(record.label()).or_default() += 1;
        self.results.push((at, record));
    }

    /// Takes in what another tally of the same suite counted.
    pub fn merge(&mut self, other: Tally) {
        for (k, n) in other.counts {
            *self.counts.entry(k).or_default() += n;
        }
        self.failed_job += other.failed_job;
        self.sim_ms_total += other.sim_ms_total;
        self.results.extend(other.results);
    }

    /// The records in plan order.
    pub fn into_records(mut self) -> Vec<Record> {
        self.results.sort_by_key(|(i, _)| *i);
        self.results.into_iter().map(|(_, r)| r).collect()
    }
}
