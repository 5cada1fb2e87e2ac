//! `gauntlet explore`: a workload over many seeds, in parallel, and the
//! smallest fault schedule that still breaks a failing seed, written out as
//! a workload with fixed faults that replays it.

use std::ops::RangeInclusive;

use super::run;
use record::workload::{Outcome, ScheduledFault};
use scenario::workload::Workload;
use scenario::VersionName;

/// `1..10000` (both ends included) or a single seed `42`.
pub fn parse_seeds(s: &str) -> Result<RangeInclusive<u64>, String> {
    let bad = || format!("--seeds {s:?}: expected FIRST..LAST (e.g. 1..10000) or one seed");
    match s.split_once("..") {
        Some((a, b)) => {
            let a: u64 = a.trim().parse().map_err(|_| bad())?;
            let b: u64 = b
                .trim()
                .trim_start_matches('=')
                .parse()
                .map_err(|_| bad())?;
            if a > b {
                return Err(bad());
            }
            Ok(a..=b)
        }
        None => {
            let a: u64 = s.trim().parse().map_err(|_| bad())?;
            Ok(a..=a)
        }
    }
}

/// `i/n`: the i-th of n shares (1-based), as cargo-nextest's `count:i/n`.
pub fn parse_partition(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("--partition {s:?}: expected i/n with 1 <= i <= n (e.g. 2/4)");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let i: u64 = i.trim().parse().map_err(|_| bad())?;
    let n: u64 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || i == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

/// The seeds of `range` in share `i` of `n`: every n-th, starting at the
/// i-th, so shares are the same size and together cover the range.
pub fn seeds(range: RangeInclusive<u64>, partition: Option<(u64, u64)>) -> Vec<u64> {
    let (i, n) = partition.unwrap_or((1, 1));
    range
        .enumerate()
        .filter(|(k, _)| *k as u64 % n == i - 1)
        .map(|(_, s)| s)
        .collect()
}

fn checks_broken(o: &Outcome) -> Vec<&'static str> {
    let mut c: Vec<&'static str> = o.violations.iter().map(|v| v.check).collect();
    c.sort_unstable();
    c.dedup();
    c
}

/// The smallest schedule (fewest faults, then shortest) that still breaks
/// one of the checks `failed` broke: single faults, then pairs, are tried
/// alone; then faults are dropped one at a time while the failure stays,
/// and each remaining fault is shortened by halves.
pub fn shrink(w: &Workload, failed: &Outcome) -> Outcome {
    shrink_with(failed, 1, |faults| {
        run::run(w, failed.version, failed.seed, faults)
    })
    .outcome
}

/// What shrinking found: the smallest failing run, and how many times
/// each candidate was run to be kept.
pub struct Shrunk {
    pub outcome: Outcome,
    pub confirm: usize,
    /// Runs made while shrinking.
    pub runs: usize,
}

/// The same over any runner (a real broker's runs vary from one to the
/// next): a candidate is kept only if it fails in each of `confirm` runs.
pub fn shrink_with(
    failed: &Outcome,
    confirm: usize,
    mut run: impl FnMut(&[ScheduledFault]) -> Outcome,
) -> Shrunk {
    let confirm = confirm.max(1);
    let wanted = checks_broken(failed);
    let breaks =
        |o: &Outcome| o.error.is_none() && checks_broken(o).iter().any(|c| wanted.contains(c));
    let mut runs = 0;
    // Every run of the candidate must fail; the first pass ends the trial.
    let mut fails = |faults: &[ScheduledFault]| -> Option<Outcome> {
        let mut last = None;
        for _ in 0..confirm {
            runs += 1;
            let o = run(faults);
            if !breaks(&o) {
                return None;
            }
            last = Some(o);
        }
        last
    };
    let mut best = failed.clone();
    // A failure often hangs on one or two faults whose timing only holds
    // while the others stay (they move every later random draw), so
    // dropping one at a time can stall early: try the small schedules first.
    if let Some(o) = smallest_subset(&best.faults, &mut fails) {
        best = o;
    }
    loop {
        let mut progress = false;
        let mut i = 0;
        while i < best.faults.len() {
            let mut fewer = best.faults.clone();
            fewer.remove(i);
            match fails(&fewer) {
                Some(o) => {
                    best = o;
                    progress = true;
                }
                None => i += 1,
            }
        }
        for i in 0..best.faults.len() {
            let has_length = best.faults[i].kind.lasts();
            while has_length && best.faults[i].length_ms > 100 {
                let mut shorter = best.faults.clone();
                shorter[i].length_ms /= 2;
                let Some(o) = fails(&shorter) else {
                    break;
                };
                best = o;
                progress = true;
            }
        }
        if !progress {
            return Shrunk {
                outcome: best,
                confirm,
                runs,
            };
        }
    }
}

/// How many of `times` runs of a failed run's schedule fail as it did
/// (the failed run itself counts as one).
pub fn reproduce(
    failed: &Outcome,
    times: usize,
    mut run: impl FnMut(&[ScheduledFault]) -> Outcome,
) -> usize {
    let wanted = checks_broken(failed);
    let again = times.saturating_sub(1);
    1 + (0..again)
        .filter(|_| {
            let o = run(&failed.faults);
            o.error.is_none() && checks_broken(&o).iter().any(|c| wanted.contains(c))
        })
        .count()
}

/// Schedules this long or shorter get every pair tried (n²/2 runs).
const PAIRS_UP_TO: usize = 24;

/// The first one- or two-fault subset of `faults` for which `fails` gives
/// an outcome, singles before pairs, earlier faults first.
fn smallest_subset<T>(
    faults: &[ScheduledFault],
    mut fails: impl FnMut(&[ScheduledFault]) -> Option<T>,
) -> Option<T> {
    let n = faults.len();
    if n <= 1 {
        return None;
    }
    for f in faults {
        if let Some(o) = fails(std::slice::from_ref(f)) {
            return Some(o);
        }
    }
    if n <= 2 || n > PAIRS_UP_TO {
        return None;
    }
    for i in 0..n {
        for j in i + 1..n {
            if let Some(o) = fails(&[faults[i].clone(), faults[j].clone()]) {
                return Some(o);
            }
        }
    }
    None
}

fn ms(v: u64) -> String {
    if v.is_multiple_of(1000) {
        format!("{}s", v / 1000)
    } else {
        format!("{v}ms")
    }
}

/// The workload file `original` with its faults replaced by `faults`
/// (fixed), named for the seed it came from. Its traffic is the seed's, so
/// it replays with `--seeds SEED`.
pub fn fixed_yaml(
    original: &str,
    file: &str,
    seed: u64,
    version: VersionName,
    faults: &[ScheduledFault],
    why: &str,
) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "# Shrunk by `gauntlet explore` from {file}, seed {seed}, MQTT {version}: {why}\n\
         # Replay: gauntlet explore THIS_FILE --seeds {seed} --version {version}\n"
    ));
    let mut skipping = false;
    // A knob of the other version only would make the file fail to load.
    let other_only: &[&str] = match version {
        VersionName::V5 => &["resend:"],
        VersionName::V311 => &["message_expiry:", "receive_maximum:", "session_expiry:"],
    };
    let mut muting = false;
    for line in original.lines() {
        let top_level = !line.starts_with([' ', '\t', '#', '-']) && !line.trim().is_empty();
        let knob = line
            .strip_prefix("  ")
            .filter(|l| !l.starts_with([' ', '#']));
        if let Some(k) = knob {
            muting = other_only.iter().any(|o| k.starts_with(o));
        } else if top_level {
            muting = false;
        }
        if muting {
            out.push_str(&format!("# (not in MQTT {version}) {line}\n"));
            continue;
        }
        if top_level {
            skipping = line.starts_with("faults:") || line.starts_with("versions:");
            if skipping {
                continue;
            }
            if let Some(name) = line.strip_prefix("name:") {
                let name = name.trim().trim_matches('"');
                out.push_str(&format!("name: \"{name} (seed {seed}, shrunk)\"\n"));
                continue;
            }
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&format!("versions: [{version}]\n"));
    if faults.is_empty() {
        out.push_str("faults: []\n");
    } else {
        out.push_str("faults:\n");
    }
    for f in faults {
        let kind = f.kind.name();
        out.push_str(&format!("  - {{ at: {}, fault: {kind}", ms(f.at_ms)));
        if let Some(t) = &f.target {
            out.push_str(&format!(", target: {t}"));
        }
        if f.kind.lasts() {
            out.push_str(&format!(", length: {}", ms(f.length_ms)));
        }
        if let Some(t) = &f.after {
            let how = if t.sent { "sent" } else { "received" };
            out.push_str(&format!(
                ", after: {{ {how}: {}, count: {}, by: {} }}",
                t.packet, t.count, t.by
            ));
        }
        out.push_str(" }\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges_and_partitions() {
        assert_eq!(parse_seeds("1..10000").unwrap(), 1..=10000);
        assert_eq!(parse_seeds("7").unwrap(), 7..=7);
        assert!(parse_seeds("9..1").is_err());
        assert!(parse_seeds("a..b").is_err());
        assert_eq!(parse_partition("2/4").unwrap(), (2, 4));
        assert!(parse_partition("0/4").is_err());
        assert!(parse_partition("5/4").is_err());
        let all: Vec<u64> = (1..=4).flat_map(|i| seeds(1..=10, Some((i, 4)))).collect();
        let mut sorted = all.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..=10).collect::<Vec<_>>());
        assert_eq!(seeds(1..=10, Some((2, 4))), vec![2, 6, 10]);
    }
}
