//! `gauntlet run`: the suite (or the files given) in simulation or against
//! a real broker, a summary table, results files.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use report::baseline::{self, Baseline};
use report::outcome::Outcome;
use report::results;

use harness::external::session;
use harness::sim::budget::WALL_BUDGET;
use harness::suite::{execute, Executed, RunOptions};

#[derive(clap::Args)]
pub struct RunArgs {
    /// Scenario files or directories.
    pub paths: Vec<PathBuf>,
    /// Seed of the simulation (the same seed gives the same run).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only this MQTT version (3.1.1 or 5).
    #[arg(long)]
    pub version: Option<String>,
    /// Write JUnit XML (junit.xml) and JSON (results.json) here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Only runs whose name contains this.
    #[arg(long)]
    pub filter: Option<String>,
    /// Run against a real broker: `mqtt://HOST:PORT`, `mqtts://HOST:PORT`,
    /// a built-in profile (`reference`, `mosquitto`: started on a free
    /// port and stopped afterwards) or a profile file.
    #[arg(long)]
    pub broker: Option<String>,
    /// Runs at once (each run gets its own client ids and topics).
    #[arg(long, short = 'j', default_value_t = 1)]
    pub jobs: usize,
    /// Known failures of the broker (YAML): they do not fail the run;
    /// a listed failure that now passes does.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    #[command(flatten)]
    pub access: Access,
    /// Wall-clock seconds one simulated run may take before it fails as
    /// over budget (a broker stuck in an endless loop stops the simulation).
    #[arg(long, value_name = "SECONDS", default_value_t = WALL_BUDGET.as_secs())]
    pub wall_budget: u64,
    /// Write the run's failures as a baseline to this file: entries of the
    /// `--baseline` given are kept, a new failure is marked unreviewed with
    /// the failure as its reason (replace it with the rule the broker
    /// breaks and what it does instead).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
}

/// How to reach a real broker beyond where it is.
#[derive(clap::Args)]
pub struct Access {
    /// mqtts://: trust the CA certificates in this PEM file (default:
    /// the web's root CAs).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// mqtts://: accept any certificate (no verification).
    #[arg(long)]
    pub insecure: bool,
    /// User name for clients whose scenario gives none.
    #[arg(long)]
    pub username: Option<String>,
    #[arg(long)]
    pub password: Option<String>,
    /// For a broker given by URL: what it can do beyond what every
    /// broker must, comma-separated (see `gauntlet capabilities`).
    #[arg(long, value_delimiter = ',')]
    pub capabilities: Vec<String>,
}

impl Access {
    pub fn options(&self, broker: String) -> session::Options {
        session::Options {
            broker,
            ca: self.ca.clone(),
            insecure: self.insecure,
            username: self.username.clone(),
            password: self.password.clone(),
            capabilities: self.capabilities.clone(),
        }
    }

    /// Without a broker, none of these may be given.
    pub fn none_without_broker(&self) -> Result<(), String> {
        if self.ca.is_some()
            || self.insecure
            || self.username.is_some()
            || self.password.is_some()
            || !self.capabilities.is_empty()
        {
            return Err(
                "--ca, --insecure, --username, --password and --capabilities need --broker".into(),
            );
        }
        Ok(())
    }
}

/// Checks the options that only make sense together and runs the suite.
pub fn command(a: RunArgs) -> Result<bool, String> {
    let broker = match a.broker {
        Some(broker) => Some(a.access.options(broker)),
        None => {
            a.access.none_without_broker()?;
            None
        }
    };
    let write_baseline = a.write_baseline;
    run(
        RunOptions {
            paths: a.paths,
            seed: a.seed,
            version: a.version,
            report: a.report,
            filter: a.filter,
            broker,
            jobs: a.jobs,
            baseline: a.baseline,
            quiet: false,
            wall_budget: Duration::from_secs(a.wall_budget),
        },
        write_baseline,
    )
}

/// Runs the suite, prints the summary, writes the reports and the
/// baseline asked for, and says whether the job passes.
pub fn run(o: RunOptions, write_baseline: Option<PathBuf>) -> Result<bool, String> {
    let Executed {
        records,
        stale,
        whole_suite,
        wall,
        sim_ms_total,
        counts,
        failed_job,
        load_errors,
        broker,
        broker_version: _,
    } = execute(&o)?;
    let mut out = std::io::stdout().lock();
    // As wide as the longest name (variants have long ones), at least 60.
    let width = records
        .iter()
        .map(|r| r.name.chars().count())
        .fold(60, usize::max);
    let _ = writeln!(out, "{:<width$} {:>6}", "scenario", "result");
    for r in &records {
        let _ = writeln!(out, "{:<width$} {:>6}", r.name, r.label());
    }
    for r in records.iter().filter(|r| !r.queue.is_empty()) {
        let _ = writeln!(out, "total queue {}:", r.name);
        for line in report::text::queue_lines(&r.queue) {
            let _ = writeln!(out, "  {line}");
        }
    }
    for r in records.iter().filter(|r| r.outcome == Outcome::Advisory) {
        let _ = writeln!(
            out,
            "advisory {}: {}",
            r.name,
            r.message.as_deref().unwrap_or("")
        );
    }
    for r in records.iter().filter(|r| r.outcome == Outcome::Skipped) {
        let _ = writeln!(
            out,
            "skipped {}: {}",
            r.name,
            r.message.as_deref().unwrap_or("")
        );
    }
    for r in records.iter().filter(|r| r.baseline.is_some()) {
        let _ = writeln!(
            out,
            "{} {}: {}",
            r.label(),
            r.name,
            r.baseline.as_deref().unwrap_or("")
        );
    }
    let count = |k: &str| counts.get(k).copied().unwrap_or(0);
    let mut extra = String::new();
    for (label, what) in [
        ("advisory", "with advisories"),
        ("skip", "skipped"),
        ("known", "known failures"),
        ("flaky", "flaky failures"),
        ("FIXED", "fixed (remove from the baseline)"),
    ] {
        if count(label) > 0 {
            extra.push_str(&format!(", {} {what}", count(label)));
        }
    }
    let timing = match &broker {
        None => format!(
            "{:.2}s wall, {:.1}s simulated ({:.0}x real time)",
            wall.as_secs_f64(),
            sim_ms_total as f64 / 1000.0,
            if wall.as_secs_f64() > 0.0 {
                sim_ms_total as f64 / 1000.0 / wall.as_secs_f64()
            } else {
                0.0
            }
        ),
        Some(name) => format!("{:.2}s wall against {name}", wall.as_secs_f64()),
    };
    let total = records.len();
    let _ = writeln!(
        out,
        "\n{total} runs: {} passed, {} failed{extra}, {load_errors} files with errors; {timing}",
        count("pass"),
        count("FAIL"),
    );
    for s in &stale {
        let _ = writeln!(out, "baseline entry names no run of the suite: {s:?}");
    }
    if let Some(dir) = &o.report {
        results::write(dir, &records).map_err(|e| format!("report {}: {e}", dir.display()))?;
        let _ = writeln!(out, "reports written to {}", dir.display());
    }
    if let Some(path) = &write_baseline {
        let old = o.baseline.as_deref().map(Baseline::load).transpose()?;
        let name = broker
            .as_deref()
            .unwrap_or("the reference broker in simulation");
        let text = baseline::write(name, &records, old.as_ref());
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        let _ = writeln!(out, "baseline written to {}", path.display());
    }
    let ran_something = records.iter().any(|r| r.outcome != Outcome::Skipped);
    Ok(failed_job == 0 && load_errors == 0 && ran_something && (stale.is_empty() || !whole_suite))
}
