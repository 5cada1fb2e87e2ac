//! `gauntlet replay`: one scenario or workload again from its seed, with its
//! whole trace or history, and optionally drawn as sequence diagrams.

use std::path::{Path, PathBuf};

use record::script::Outcome;
use report::diagram::Diagram;
use report::html::ReplayRun;
use report::text::failure_report;
use scenario::discover;

use super::write_page;
use harness::suite::plan::parse_version;

#[derive(clap::Args)]
pub struct ReplayArgs {
    pub file: PathBuf,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The version to replay (default: each the scenario lists).
    #[arg(long)]
    pub version: Option<String>,
    /// Also write the runs as sequence diagrams to this HTML file.
    #[arg(long)]
    pub html: Option<PathBuf>,
}

/// `gauntlet replay`: the scenario again from its seed, with its whole
/// trace; `html` also draws each run as a sequence diagram in that file.
pub fn replay(
    file: &Path,
    seed: u64,
    version: Option<&str>,
    html: Option<&Path>,
) -> Result<bool, String> {
    if discover::is_workload_file(file) {
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
        let result = harness::sim::run(&s, v, seed);
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
        let pages: Vec<ReplayRun> = runs
            .iter()
            .map(|r| ReplayRun {
                title: format!("{} [{}] seed {seed}", s.name, r.version.label()),
                passed: r.passed(),
                message: match &r.outcome {
                    Outcome::Passed => None,
                    Outcome::Failed(f) => {
                        Some(format!("step {} ({}): {}", f.step, f.step_text, f.message))
                    }
                },
                diagram: Diagram::from_trace(&r.trace),
                trace: r.trace.to_string(),
            })
            .collect();
        let text = report::html::replay(&s.name, &file.display().to_string(), seed, &pages);
        write_page(out, &text)?;
    }
    Ok(all_passed)
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
    use harness::workload::run;
    let only = parse_version(version)?;
    let w = scenario::workload::load_file(file).map_err(|e| e.to_string())?;
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
        let message = (!o.passed()).then(|| report::text::workload_failure_report(file, &o));
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
            None => Diagram::from_history(&o.history, &clients, report::diagram::MAX_ROWS),
        };
        pages.push(ReplayRun {
            title: format!("{} [{}] seed {seed}", w.name, v.label()),
            passed: o.passed(),
            message,
            diagram,
            trace: history,
        });
    }
    if let Some(out) = html {
        let text = report::html::replay(&w.name, &file.display().to_string(), seed, &pages);
        write_page(out, &text)?;
    }
    Ok(all_passed)
}
