//! What a run of the suite will do: every scripted scenario and workload
//! under the given paths, one run per version, narrowed by `--version` and
//! `--filter`; files that do not load become records of their own.

use std::path::{Path, PathBuf};

use report::results::Record;
use scenario::discover::{self, Entry};
use scenario::workload::Workload;
use scenario::{ClientAction, Scenario, Step, VersionName};

use crate::external::session::{Placement, Session};

/// `--version`'s value.
pub fn parse_version(v: Option<&str>) -> Result<Option<VersionName>, String> {
    match v {
        None => Ok(None),
        Some("3.1.1" | "311" | "v3.1.1") => Ok(Some(VersionName::V311)),
        Some("5" | "5.0" | "v5") => Ok(Some(VersionName::V5)),
        Some(other) => Err(format!("unknown version {other:?}: use 3.1.1 or 5")),
    }
}

/// The paths a command was given, or `scenarios/` when none were.
pub fn paths_or_default(paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        paths.to_vec()
    }
}

/// The scripted scenario files under `paths` (or `scenarios/`), loaded.
pub fn load_suite(paths: &[PathBuf]) -> Result<Vec<Entry>, String> {
    load_suite_announced(paths, None)
}

/// [`load_suite`] for a broker that announced `announced` (`$(broker.…)`).
pub fn load_suite_announced(
    paths: &[PathBuf],
    announced: Option<&scenario::Announced>,
) -> Result<Vec<Entry>, String> {
    discover::load_all_announced(&paths_or_default(paths), announced)
}

/// One run to do: a scenario file's version.
pub struct Planned<'a> {
    pub entry: &'a Entry,
    pub scenario: &'a Scenario,
    pub version: VersionName,
    pub name: String,
    /// Where it runs on a real broker (decided once).
    pub placement: Option<Placement>,
}

/// One workload run to do: a workload file's version.
pub struct WorkloadRun {
    pub path: PathBuf,
    pub workload: Workload,
    pub version: VersionName,
    pub name: String,
}

/// Everything a run of the suite will do, and the files it could not load.
pub struct Plan<'a> {
    pub scripted: Vec<Planned<'a>>,
    pub workloads: Vec<WorkloadRun>,
    /// Records of files that did not load.
    pub records: Vec<Record>,
    pub load_errors: usize,
    /// The name of every run of the files, chosen or not (a baseline entry
    /// that names none of them is stale).
    pub all_runs: Vec<String>,
}

impl<'a> Plan<'a> {
    pub fn make(
        entries: &'a [Entry],
        paths: &[PathBuf],
        only: Option<VersionName>,
        filter: Option<&str>,
    ) -> Result<Plan<'a>, String> {
        let mut plan = Plan {
            scripted: Vec::new(),
            workloads: Vec::new(),
            records: Vec::new(),
            load_errors: 0,
            all_runs: Vec::new(),
        };
        let chosen = |v: VersionName, name: &str| {
            only.is_none_or(|o| o == v) && filter.is_none_or(|f| name.contains(f))
        };
        for e in entries {
            match &e.scenario {
                Err(err) => plan.load_error(&e.id, &e.path, &err.to_string()),
                Ok(s) => {
                    for &v in &s.versions {
                        let name = e.run_name(v);
                        plan.all_runs.push(name.clone());
                        if chosen(v, &name) {
                            plan.scripted.push(Planned {
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
        }
        for path in discover::discover_workloads(&paths_or_default(paths))? {
            let id = discover::scenario_id(&path);
            match scenario::workload::load_file(&path) {
                Err(e) => plan.load_error(&id, &path, &e.to_string()),
                Ok(w) => {
                    for &v in &w.versions {
                        let name = format!("{id} [{}]", v.label());
                        plan.all_runs.push(name.clone());
                        if chosen(v, &name) {
                            plan.workloads.push(WorkloadRun {
                                path: path.clone(),
                                workload: w.clone(),
                                version: v,
                                name,
                            });
                        }
                    }
                }
            }
        }
        Ok(plan)
    }

    fn load_error(&mut self, id: &str, path: &Path, message: &str) {
        self.load_errors += 1;
        // One line per mistake of the file, each marked.
        for line in message.lines() {
            eprintln!("error: {line}");
        }
        self.records.push(Record::load_error(id, path, message));
    }

    /// Decides where each scripted run goes on the broker under test.
    pub fn place(&mut self, session: &Session) {
        for p in &mut self.scripted {
            p.placement = Some(session.placement(p.scenario, p.version));
        }
    }

    /// The scripted runs that may share the broker with others, and those
    /// that must run alone after them (on a broker given by URL, runs that
    /// cannot be prefixed).
    pub fn split_exclusive(&mut self) -> (Vec<Planned<'a>>, Vec<Planned<'a>>) {
        std::mem::take(&mut self.scripted)
            .into_iter()
            .partition(|p| !matches!(p.placement, Some(Placement::Exclusive(_))))
    }
}

/// How long a run takes at least: the time its steps wait on purpose.
pub fn least_duration_ms(s: &Scenario) -> u64 {
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
