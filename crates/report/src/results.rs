//! Machine-readable results: JUnit XML for CI systems and JSON.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use record::advisory::Advisory;
use record::script::{self, RunResult};

pub use crate::outcome::Outcome;

/// One run (or one file that could not be loaded).
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    pub name: String,
    pub file: String,
    pub title: String,
    /// What came of it; the summary, JUnit and the comparison say the same.
    pub outcome: Outcome,
    pub version: Option<String>,
    pub seed: Option<u64>,
    pub message: Option<String>,
    pub step: Option<usize>,
    pub line: Option<u64>,
    pub simulated_ms: u64,
    pub wall_ms: u64,
    pub trace: Option<String>,
    /// What the baseline says of this run: `known failure: ...`, `flaky:
    /// ...`, `fixed: ...` (with `(unreviewed)` for an entry nobody has
    /// given its reason yet).
    pub baseline: Option<String>,
    /// What the run advises: SHOULDs the broker did not follow, readings
    /// of the spec it did not choose (the outcome is `advisory` when it
    /// passed with any).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub advisories: Vec<Advisory>,
    /// The statements the run asserted and saw hold (for coverage).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub asserted: Vec<String>,
    /// A failed run drawn as a sequence diagram (its trace, or for a
    /// workload the history around its first violation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagram: Option<crate::diagram::Diagram>,
    /// A workload run's total-queue summary, per QoS.
    #[serde(rename = "total_queue", skip_serializing_if = "Vec::is_empty")]
    pub queue: Vec<record::workload::QueueLine>,
    /// A failed workload run's whole history, for whoever digs into it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<record::history::History>,
}

impl Record {
    /// A record with only what every kind has; the constructors add the rest.
    pub(crate) fn new(
        name: &str,
        file: &Path,
        title: &str,
        outcome: Outcome,
        message: Option<String>,
    ) -> Record {
        Record {
            name: name.to_owned(),
            file: file.display().to_string(),
            title: title.to_owned(),
            outcome,
            version: None,
            seed: None,
            message,
            step: None,
            line: None,
            simulated_ms: 0,
            wall_ms: 0,
            trace: None,
            baseline: None,
            advisories: Vec::new(),
            asserted: Vec::new(),
            diagram: None,
            queue: Vec::new(),
            history: None,
        }
    }

    pub fn from_run(
        name: &str,
        file: &Path,
        title: &str,
        run: &RunResult,
        wall: Duration,
    ) -> Record {
        let (outcome, message, step, line, trace) = match &run.outcome {
            script::Outcome::Passed if !run.advisories.is_empty() => (
                Outcome::Advisory,
                Some(advice(&run.advisories)),
                None,
                None,
                Some(run.trace.to_string()),
            ),
            script::Outcome::Passed => (Outcome::Pass, None, None, None, None),
            script::Outcome::Failed(f) => (
                Outcome::Fail,
                Some(format!("step {} ({}): {}", f.step, f.step_text, f.message)),
                Some(f.step),
                Some(f.line),
                Some(run.trace.to_string()),
            ),
        };
        Record {
            version: Some(run.version.to_string()),
            seed: Some(run.seed),
            step,
            line,
            simulated_ms: run.sim_ms,
            wall_ms: wall.as_millis() as u64,
            trace,
            advisories: run.advisories.clone(),
            asserted: run.asserted.clone(),
            diagram: (!run.passed()).then(|| crate::diagram::Diagram::of_run(run)),
            ..Record::new(name, file, title, outcome, message)
        }
    }

    pub fn from_workload(
        name: &str,
        file: &Path,
        title: &str,
        o: &record::workload::Outcome,
        wall: Duration,
    ) -> Record {
        let failed = !o.passed();
        let message = o
            .error
            .clone()
            .or_else(|| o.violations.first().map(|v| v.to_string()))
            .map(|m| match o.violations.len() {
                0 | 1 => m,
                n => format!("{m} (and {} more violations)", n - 1),
            });
        let outcome = if failed { Outcome::Fail } else { Outcome::Pass };
        Record {
            version: Some(o.version.to_string()),
            seed: Some(o.seed),
            simulated_ms: o.sim_ms,
            wall_ms: wall.as_millis() as u64,
            trace: failed.then(|| crate::text::workload_failure_report(file, o)),
            advisories: o.advisories.clone(),
            asserted: o.asserted.clone(),
            diagram: o
                .violations
                .first()
                .map(|v| crate::diagram::Diagram::of_violation(o, v)),
            queue: o.queue.clone(),
            history: failed.then(|| o.history.clone()),
            ..Record::new(name, file, title, outcome, message)
        }
    }

    pub fn skipped(name: &str, file: &Path, title: &str, version: &str, why: &str) -> Record {
        Record {
            version: Some(version.to_owned()),
            ..Record::new(name, file, title, Outcome::Skipped, Some(why.to_owned()))
        }
    }

    /// The label in the summary table.
    pub fn label(&self) -> &'static str {
        self.outcome.label()
    }

    pub fn load_error(id: &str, file: &Path, message: &str) -> Record {
        Record::new(id, file, "", Outcome::Error, Some(message.to_owned()))
    }
}

/// What a run advises, in one line each.
fn advice(advisories: &[Advisory]) -> String {
    let lines: Vec<String> = advisories.iter().map(|a| a.to_string()).collect();
    lines.join("\n")
}

pub fn write(dir: &Path, records: &[Record]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(records).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("results.json"), json)?;
    std::fs::write(dir.join("junit.xml"), junit(records)?)?;
    Ok(())
}

fn junit(records: &[Record]) -> std::io::Result<String> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("gauntlet");
    let mut suite = TestSuite::new("scenarios");
    for r in records {
        let with = |mut s: TestCaseStatus, message: Option<String>| {
            if let Some(m) = message {
                s.set_message(m);
            }
            if let Some(t) = &r.trace {
                s.set_description(t.clone());
            }
            s
        };
        let status = match r.outcome {
            Outcome::Pass => TestCaseStatus::success(),
            // Passed; what the broker should do but did not is in the
            // test's output, where CI shows it without turning red.
            Outcome::Advisory => TestCaseStatus::success(),
            // A failure the baseline expects does not turn CI red; it is
            // shown as skipped with the baseline's reason and the failure.
            Outcome::Known | Outcome::Flaky => {
                let what = r.message.clone().unwrap_or_default();
                let note = r.baseline.clone().unwrap_or_default();
                with(TestCaseStatus::skipped(), Some(format!("{note} — {what}")))
            }
            Outcome::Skipped => with(TestCaseStatus::skipped(), r.message.clone()),
            Outcome::Fail | Outcome::Fixed => with(
                TestCaseStatus::non_success(NonSuccessKind::Failure),
                r.message.clone(),
            ),
            Outcome::Error => with(
                TestCaseStatus::non_success(NonSuccessKind::Error),
                r.message.clone(),
            ),
        };
        let mut case = TestCase::new(r.name.clone(), status);
        if r.outcome == Outcome::Advisory {
            case.set_system_out(format!("advisory: {}", r.message.as_deref().unwrap_or("")));
        }
        case.set_classname(r.file.clone());
        case.set_time(Duration::from_millis(r.wall_ms));
        suite.add_test_case(case);
    }
    report.add_test_suite(suite);
    report.to_string().map_err(std::io::Error::other)
}
