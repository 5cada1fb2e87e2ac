//! The commands behind `gauntlet`: each returns whether everything passed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::report::{self, Record};
use crate::runner::{self, Outcome, RunResult};
use crate::scenario::{self, VersionName};
use crate::suite;

pub struct RunOptions {
    pub paths: Vec<PathBuf>,
    pub seed: u64,
    pub version: Option<String>,
    pub report: Option<PathBuf>,
    pub filter: Option<String>,
}

fn parse_version(v: Option<&str>) -> Result<Option<VersionName>, String> {
    match v {
        None => Ok(None),
        Some("3.1.1" | "311" | "v3.1.1") => Ok(Some(VersionName::V311)),
        Some("5" | "5.0" | "v5") => Ok(Some(VersionName::V5)),
        Some(other) => Err(format!("unknown version {other:?}: use 3.1.1 or 5")),
    }
}

/// The command that runs this scenario and version again, with its trace.
pub fn replay_command(path: &Path, seed: u64, version: VersionName) -> String {
    format!(
        "gauntlet replay {} --seed {seed} --version {version}",
        path.display()
    )
}

/// What a failed run prints: where, what, the end of the trace, how to replay.
pub fn failure_report(path: &Path, run: &RunResult) -> String {
    let Outcome::Failed(f) = &run.outcome else {
        return String::new();
    };
    let mut s = String::new();
    let place = if f.line > 0 {
        format!("{}:{}", path.display(), f.line)
    } else {
        path.display().to_string()
    };
    s.push_str(&format!(
        "  at {place}: step {} ({})\n",
        f.step, f.step_text
    ));
    s.push_str(&format!("  {}\n", f.message));
    s.push_str("  trace (last 20 events):\n");
    for line in run.trace.tail(20).lines() {
        s.push_str(&format!("    {line}\n"));
    }
    s.push_str(&format!(
        "  seed {}; replay with: {}\n",
        run.seed,
        replay_command(path, run.seed, run.version)
    ));
    s
}

/// The files under `paths`, or under `scenarios/` when none are given.
fn load_suite(paths: &[PathBuf]) -> Result<Vec<suite::Entry>, String> {
    if paths.is_empty() {
        suite::load_all(&[PathBuf::from("scenarios")])
    } else {
        suite::load_all(paths)
    }
}

pub fn run(o: RunOptions) -> Result<bool, String> {
    let only = parse_version(o.version.as_deref())?;
    let entries = load_suite(&o.paths)?;
    let mut planned = Vec::new();
    let mut records = Vec::new();
    let mut load_errors = 0;
    for e in &entries {
        match &e.scenario {
            Err(err) => {
                load_errors += 1;
                eprintln!("error: {err}");
                records.push(Record::load_error(&e.id, &e.path, &err.to_string()));
            }
            Ok(s) => {
                for &v in &s.versions {
                    let name = e.run_name(v);
                    if only.is_some_and(|o| o != v) {
                        continue;
                    }
                    if o.filter.as_deref().is_some_and(|f| !name.contains(f)) {
                        continue;
                    }
                    planned.push((e, s, v, name));
                }
            }
        }
    }
    let bar = ProgressBar::new(planned.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut sim_ms_total = 0;
    for (e, s, v, name) in &planned {
        bar.set_message(name.clone());
        let t = Instant::now();
        let result = runner::run(s, *v, o.seed);
        let wall = t.elapsed();
        sim_ms_total += result.sim_ms;
        if !result.passed() {
            bar.suspend(|| {
                eprintln!("FAIL {name}");
                eprint!("{}", failure_report(&e.path, &result));
            });
            failures.push(name.clone());
        }
        records.push(Record::from_run(name, &e.path, &s.name, &result, wall));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let wall = started.elapsed();
    let passed = planned.len() - failures.len();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{:<60} {:>6}", "scenario", "result");
    for r in &records {
        let _ = writeln!(out, "{:<60} {:>6}", r.name, r.status.label());
    }
    let _ = writeln!(
        out,
        "\n{} runs: {passed} passed, {} failed, {load_errors} files with errors; {:.2}s wall, {:.1}s simulated ({:.0}x real time)",
        planned.len(),
        failures.len(),
        wall.as_secs_f64(),
        sim_ms_total as f64 / 1000.0,
        if wall.as_secs_f64() > 0.0 {
            sim_ms_total as f64 / 1000.0 / wall.as_secs_f64()
        } else {
            0.0
        }
    );
    if let Some(dir) = &o.report {
        report::write(dir, &records).map_err(|e| format!("report {}: {e}", dir.display()))?;
        let _ = writeln!(out, "reports written to {}", dir.display());
    }
    Ok(failures.is_empty() && load_errors == 0 && !planned.is_empty())
}

pub fn replay(file: &Path, seed: u64, version: Option<&str>) -> Result<bool, String> {
    let only = parse_version(version)?;
    let s = scenario::load_file(file).map_err(|e| e.to_string())?;
    let mut all_passed = true;
    for &v in &s.versions {
        if only.is_some_and(|o| o != v) {
            continue;
        }
        let result = runner::run(&s, v, seed);
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
    }
    Ok(all_passed)
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
    for c in crate::coverage::compute(scenarios.iter().copied()) {
        println!(
            "MQTT {}: {} of {} normative statements checked ({:.0}%)",
            c.version,
            c.cited.len(),
            c.total,
            c.percent()
        );
        if show_missing {
            for id in &c.missing {
                let text = crate::spec::statement(c.version.protocol(), id)
                    .map(|s| s.text)
                    .unwrap_or("");
                let short: String = text.chars().take(100).collect();
                println!("  not checked: {id}  {short}");
            }
        }
    }
    Ok(ok)
}
