//! `gauntlet coverage`: which broker statements of each version the library
//! asserts, counted from a run of it in simulation.

use std::path::PathBuf;

use harness::sim::budget::WALL_BUDGET;
use harness::suite::{execute, RunOptions};
use report::coverage;

#[derive(clap::Args)]
pub struct CoverageArgs {
    pub paths: Vec<PathBuf>,
    /// Also list the statements no passing run asserts.
    #[arg(long)]
    pub missing: bool,
    /// Write the coverage, section by section, as Markdown to this file.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

pub fn coverage(a: &CoverageArgs) -> Result<bool, String> {
    let executed = execute(&RunOptions {
        paths: a.paths.clone(),
        seed: 1,
        version: None,
        report: None,
        filter: None,
        broker: None,
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        baseline: None,
        quiet: true,
        wall_budget: WALL_BUDGET,
    })?;
    let c = coverage::compute(&executed.records);
    for v in &c {
        println!(
            "MQTT {}: {} of {} broker statements asserted by a passing run ({:.0}%)",
            v.version,
            v.asserted.len(),
            v.total,
            v.percent()
        );
        if a.missing {
            for id in &v.missing {
                let text = scenario::spec::statement(v.version.protocol(), id)
                    .map(|s| s.text)
                    .unwrap_or("");
                let short: String = text.chars().take(100).collect();
                println!("  not asserted: {id}  {short}");
            }
        }
    }
    if let Some(path) = &a.markdown {
        let failed = executed
            .records
            .iter()
            .filter(|r| r.outcome.failed())
            .count();
        let note = format!(
            "Counted from `gauntlet coverage` over {} runs of the library in simulation \
             (seed 1; {failed} not passing).",
            executed.records.len()
        );
        std::fs::write(path, coverage::markdown(&c, &note))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        println!("written: {}", path.display());
    }
    Ok(executed.load_errors == 0)
}
