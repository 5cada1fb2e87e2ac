//! `gauntlet coverage`: which normative statements the scenarios check.

use std::path::PathBuf;

use harness::suite::plan::load_suite;

#[derive(clap::Args)]
pub struct CoverageArgs {
    pub paths: Vec<PathBuf>,
    /// Also list the statements no scenario checks.
    #[arg(long)]
    pub missing: bool,
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
    for c in report::coverage::compute(scenarios.iter().copied()) {
        println!(
            "MQTT {}: {} of {} normative statements checked ({:.0}%)",
            c.version,
            c.cited.len(),
            c.total,
            c.percent()
        );
        if show_missing {
            for id in &c.missing {
                let text = scenario::spec::statement(c.version.protocol(), id)
                    .map(|s| s.text)
                    .unwrap_or("");
                let short: String = text.chars().take(100).collect();
                println!("  not checked: {id}  {short}");
            }
        }
    }
    Ok(ok)
}
