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
    /// The variant to replay, of a file with `vary:`, as its run's name
    /// shows it after the version: `--variant "first=a/#, qos=2"`
    /// (default: every variant).
    #[arg(long)]
    pub variant: Option<String>,
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
    variant: Option<&str>,
    html: Option<&Path>,
) -> Result<bool, String> {
    if discover::is_workload_file(file) {
        if variant.is_some() {
            return Err(format!("{}: a workload has no variants", file.display()));
        }
        return replay_workload(file, seed, version, html);
    }
    let only = parse_version(version)?;
    let all = scenario::load_variants(file).map_err(|e| e.to_string())?;
    let chosen: Vec<&scenario::Scenario> = all
        .iter()
        .filter(|s| variant.is_none_or(|want| s.variant.as_deref() == Some(want)))
        .collect();
    if chosen.is_empty() {
        let labels: Vec<String> = all
            .iter()
            .filter_map(|s| s.variant.as_ref().map(|l| format!("  {l}")))
            .collect();
        return Err(if labels.is_empty() {
            format!("{}: the file has no variants (no vary:)", file.display())
        } else {
            format!(
                "{}: no variant {:?}; its variants are:\n{}",
                file.display(),
                variant.unwrap_or_default(),
                labels.join("\n")
            )
        });
    }
    let Some(first) = chosen.first() else {
        return Ok(true);
    };
    let mut all_passed = true;
    let mut runs = Vec::new();
    for s in &chosen {
        all_passed &= replay_one(file, s, seed, only, &mut runs);
    }
    if let Some(out) = html {
        let text = report::html::replay(&first.name, &file.display().to_string(), seed, &runs);
        write_page(out, &text)?;
    }
    Ok(all_passed)
}

/// Each chosen version of one scenario (or variant): its trace printed, its
/// page kept for the HTML.
fn replay_one(
    file: &Path,
    s: &scenario::Scenario,
    seed: u64,
    only: Option<scenario::VersionName>,
    pages: &mut Vec<ReplayRun>,
) -> bool {
    let mut all_passed = true;
    for &v in &s.versions {
        if only.is_some_and(|o| o != v) {
            continue;
        }
        let result = harness::sim::run(s, v, seed);
        let title = format!(
            "{} seed {seed}",
            discover::run_name(&s.name, v, s.variant.as_deref())
        );
        println!("# {title}");
        print!("{}", result.trace);
        match &result.outcome {
            Outcome::Passed => println!("PASSED ({} ms simulated)", result.sim_ms),
            Outcome::Failed(_) => {
                all_passed = false;
                println!("FAILED");
                print!("{}", failure_report(file, &result));
            }
        }
        pages.push(ReplayRun {
            title,
            passed: result.passed(),
            message: match &result.outcome {
                Outcome::Passed => None,
                Outcome::Failed(f) => {
                    Some(format!("step {} ({}): {}", f.step, f.step_text, f.message))
                }
            },
            diagram: Diagram::of_run(&result),
            trace: result.trace.to_string(),
        });
    }
    all_passed
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
            Some(violation) => Diagram::of_violation(&o, violation),
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
