//! Machine-readable results: JUnit XML for CI systems and JSON.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use record::script::{Outcome, RunResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
    Error,
    /// Not run: the broker lacks what the scenario needs.
    Skipped,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Passed => "pass",
            Status::Failed => "FAIL",
            Status::Error => "ERROR",
            Status::Skipped => "skip",
        }
    }
}

/// One run (or one file that could not be loaded).
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    pub name: String,
    pub file: String,
    pub title: String,
    pub status: Status,
    pub version: Option<String>,
    pub seed: Option<u64>,
    pub message: Option<String>,
    pub step: Option<usize>,
    pub line: Option<u64>,
    pub simulated_ms: u64,
    pub wall_ms: u64,
    pub trace: Option<String>,
    /// What the baseline says of this run: `known failure: ...`, `flaky:
    /// ...`, `fixed: ...`.
    pub baseline: Option<String>,
    /// A failed run drawn as a sequence diagram (its trace, or for a
    /// workload the history around its first violation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagram: Option<crate::diagram::Diagram>,
}

impl Record {
    /// A record with only what every kind has; the constructors add the rest.
    pub(crate) fn new(
        name: &str,
        file: &Path,
        title: &str,
        status: Status,
        message: Option<String>,
    ) -> Record {
        Record {
            name: name.to_owned(),
            file: file.display().to_string(),
            title: title.to_owned(),
            status,
            version: None,
            seed: None,
            message,
            step: None,
            line: None,
            simulated_ms: 0,
            wall_ms: 0,
            trace: None,
            baseline: None,
            diagram: None,
        }
    }

    pub fn from_run(
        name: &str,
        file: &Path,
        title: &str,
        run: &RunResult,
        wall: Duration,
    ) -> Record {
        let (status, message, step, line, trace) = match &run.outcome {
            Outcome::Passed => (Status::Passed, None, None, None, None),
            Outcome::Failed(f) => (
                Status::Failed,
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
            diagram: (!run.passed()).then(|| crate::diagram::Diagram::from_trace(&run.trace)),
            ..Record::new(name, file, title, status, message)
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
        let status = if failed {
            Status::Failed
        } else {
            Status::Passed
        };
        Record {
            version: Some(o.version.to_string()),
            seed: Some(o.seed),
            simulated_ms: o.sim_ms,
            wall_ms: wall.as_millis() as u64,
            trace: failed.then(|| crate::text::workload_failure_report(file, o)),
            diagram: o
                .violations
                .first()
                .map(|v| crate::diagram::Diagram::from_violation(&o.history, v)),
            ..Record::new(name, file, title, status, message)
        }
    }

    pub fn skipped(name: &str, file: &Path, title: &str, version: &str, why: &str) -> Record {
        Record {
            version: Some(version.to_owned()),
            ..Record::new(name, file, title, Status::Skipped, Some(why.to_owned()))
        }
    }

    /// The label in the summary table.
    pub fn label(&self) -> &'static str {
        match (&self.baseline, self.status) {
            (Some(b), _) if b.starts_with("fixed") => "FIXED",
            (Some(b), Status::Failed) if b.starts_with("flaky") => "flaky",
            (Some(_), Status::Failed) => "known",
            (_, s) => s.label(),
        }
    }

    pub fn load_error(id: &str, file: &Path, message: &str) -> Record {
        Record::new(id, file, "", Status::Error, Some(message.to_owned()))
    }
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
        let status = match r.status {
            Status::Passed => TestCaseStatus::success(),
            // A failure the baseline expects does not turn CI red; it is
            // shown as skipped with the baseline's reason and the failure.
            Status::Failed if r.baseline.is_some() && r.label() != "FIXED" => {
                let mut s = TestCaseStatus::skipped();
                let what = r.message.clone().unwrap_or_default();
                s.set_message(format!(
                    "{} — {what}",
                    r.baseline.clone().unwrap_or_default()
                ));
                if let Some(t) = &r.trace {
                    s.set_description(t.clone());
                }
                s
            }
            Status::Skipped => {
                let mut s = TestCaseStatus::skipped();
                if let Some(m) = &r.message {
                    s.set_message(m.clone());
                }
                s
            }
            Status::Failed | Status::Error => {
                let kind = if r.status == Status::Failed {
                    NonSuccessKind::Failure
                } else {
                    NonSuccessKind::Error
                };
                let mut s = TestCaseStatus::non_success(kind);
                if let Some(m) = &r.message {
                    s.set_message(m.clone());
                }
                if let Some(t) = &r.trace {
                    s.set_description(t.clone());
                }
                s
            }
        };
        let mut case = TestCase::new(r.name.clone(), status);
        case.set_classname(r.file.clone());
        case.set_time(Duration::from_millis(r.wall_ms));
        suite.add_test_case(case);
    }
    report.add_test_suite(suite);
    report.to_string().map_err(std::io::Error::other)
}
