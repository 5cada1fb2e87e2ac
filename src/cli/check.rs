//! `gauntlet check`: scenario files loaded and checked, not run.

use std::path::PathBuf;

use harness::suite::plan::load_suite;

#[derive(clap::Args)]
pub struct CheckArgs {
    pub paths: Vec<PathBuf>,
}

pub fn check(paths: &[PathBuf]) -> Result<bool, String> {
    let entries = load_suite(paths)?;
    let mut ok = true;
    for e in &entries {
        match &e.scenario {
            Ok(s) => println!(
                "ok    {} ({} steps, {} versions)",
                e.path.display(),
                s.steps.len(),
                s.versions.len()
            ),
            Err(err) => {
                ok = false;
                println!("error {err}");
            }
        }
    }
    Ok(ok)
}
