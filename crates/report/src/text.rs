//! What the terminal shows of a failed run: where it failed, what was
//! expected and what came, the evidence, and the command that replays it.

use std::path::Path;

use record::history::Event;
use record::script::{Outcome, RunResult};
use record::workload;
use scenario::VersionName;

/// The command that runs this scenario and version (and variant) again,
/// with its trace.
pub fn replay_command(
    path: &Path,
    seed: u64,
    version: VersionName,
    variant: Option<&str>,
) -> String {
    let mut s = format!(
        "gauntlet replay {} --seed {seed} --version {version}",
        path.display()
    );
    if let Some(v) = variant {
        s.push_str(&format!(" --variant {}", shell_quoted(v)));
    }
    s
}

/// `s` as one word for a POSIX shell.
fn shell_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// What a failed run prints: where, what, the end of the trace, how to replay.
pub fn failure_report(path: &Path, run: &RunResult) -> String {
    failure_report_on(path, run, None)
}

/// The same for a run against a real broker (`broker`: what `--broker`
/// said), where only a re-run is possible: real timing differs each time.
pub fn failure_report_on(path: &Path, run: &RunResult, broker: Option<&str>) -> String {
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
    match broker {
        None => s.push_str(&format!(
            "  seed {}; replay with: {}\n",
            run.seed,
            replay_command(path, run.seed, run.version, run.variant.as_deref())
        )),
        Some(b) => s.push_str(&format!(
            "  seed {}; run it again with: gauntlet run {} --broker {b} --seed {} --version {}{} \
             (real timing differs from run to run)\n",
            run.seed,
            path.display(),
            run.seed,
            run.version,
            match &run.variant {
                Some(v) => format!(" --filter {}", shell_quoted(&format!(", {v}]"))),
                None => String::new(),
            }
        )),
    }
    s
}

/// What a failed workload run prints: the world's error or the violations
/// (the first ten), the fault schedule, and how to explore it again.
/// A run's total-queue summary, a line per QoS:
/// `QoS 1: 200 attempted, 200 acknowledged, 600 delivered, 0 lost, ...`.
pub fn queue_lines(queue: &[workload::QueueLine]) -> Vec<String> {
    queue
        .iter()
        .map(|q| {
            let acknowledged = if q.qos == 0 {
                "-".to_string()
            } else {
                q.acknowledged.to_string()
            };
            format!(
                "QoS {}: {} attempted, {acknowledged} acknowledged, {} delivered, {} lost, \
                 {} dropped, {} duplicated, {} unexpected, {} recovered",
                q.qos,
                q.attempted,
                q.delivered,
                q.lost,
                q.dropped,
                q.duplicated,
                q.unexpected,
                q.recovered
            )
        })
        .collect()
}

pub fn workload_failure_report(file: &Path, o: &workload::Outcome) -> String {
    let mut s = String::new();
    for line in queue_lines(&o.queue) {
        s.push_str(&format!("  total queue {line}\n"));
    }
    if let Some(e) = &o.error {
        s.push_str(&format!("  {e}\n"));
    }
    for v in o.violations.iter().take(10) {
        for line in v.to_string().lines() {
            s.push_str(&format!("  {line}\n"));
        }
    }
    if o.violations.len() > 10 {
        s.push_str(&format!(
            "  ... and {} more violations\n",
            o.violations.len() - 10
        ));
    }
    for n in &o.notes {
        s.push_str(&format!("  note: {n}\n"));
    }
    match &o.broker {
        None => {
            s.push_str(&format!("  fault schedule ({} faults):\n", o.faults.len()));
            for f in &o.faults {
                s.push_str(&format!("    {f}\n"));
            }
            s.push_str(&format!(
                "  seed {}; shrink and replay with: gauntlet explore {} --seeds {} --version {}\n",
                o.seed,
                file.display(),
                o.seed,
                o.version
            ));
        }
        Some(broker) => {
            // On a real broker the faults land wherever real time puts
            // them: the log says where they fell, and the seed only gives
            // the same schedule again.
            s.push_str(&format!(
                "  fault log on {broker} ({} faults applied):\n",
                o.faults.len()
            ));
            for e in &o.history.events {
                if let Event::Fault { at, what } = e {
                    s.push_str(&format!("    {:.3}s {what}\n", *at as f64 / 1000.0));
                }
            }
            s.push_str(&format!(
                "  seed {}: on a real broker a run cannot be replayed exactly; the same schedule \
                 again: gauntlet run {} --broker {broker} --seed {} --version {}\n",
                o.seed,
                file.display(),
                o.seed,
                o.version
            ));
        }
    }
    s
}
