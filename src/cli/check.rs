//! `gauntlet check`: every file `gauntlet run` would load — scripted
//! scenarios and workloads — loaded and checked, not run; every mistake of
//! each file on a line of its own.

use std::path::PathBuf;

use harness::suite::plan::paths_or_default;
use scenario::discover;

#[derive(clap::Args)]
pub struct CheckArgs {
    pub paths: Vec<PathBuf>,
}

pub fn check(paths: &[PathBuf]) -> Result<bool, String> {
    let mut ok = true;
    for path in discover::discover_any(&paths_or_default(paths))? {
        let loaded = if discover::is_workload_file(&path) {
            scenario::workload::load_file(&path).map(|w| {
                format!(
                    "workload: {} publishers, {} subscribers, {} messages, {} versions",
                    w.workload.publishers,
                    w.workload.subscribers,
                    w.workload.messages,
                    w.versions.len()
                )
            })
        } else {
            scenario::load_variants(&path).map(|all| {
                let runs: usize = all.iter().map(|s| s.versions.len()).sum();
                match all.as_slice() {
                    [s] if s.variant.is_none() => {
                        format!("{} steps, {} versions", s.steps.len(), s.versions.len())
                    }
                    _ => format!("{} variants, {runs} runs", all.len()),
                }
            })
        };
        match loaded {
            Ok(what) => println!("ok    {} ({what})", path.display()),
            Err(errors) => {
                ok = false;
                for e in errors.errors() {
                    println!("error {e}");
                }
            }
        }
    }
    Ok(ok)
}
