//! Known failures of a broker, for CI: a run listed here may fail without
//! failing the job; if it passes, the job fails until the entry is removed
//! (so the file stays true). A `flaky` entry is reported either way and
//! never fails the job.
//!
//! ```yaml
//! broker: mosquitto
//! known_failures:
//!   "conformance::keepalive_timeout [v5]":
//!     spec: MQTT-3.1.2-22
//!     reason: checks keep alive on a coarse timer
//!     flaky: true
//! ```
//!
//! `gauntlet run --write-baseline FILE` writes a run's failures as such a
//! file; an entry it adds for a new failure says `unreviewed: true` and
//! quotes the failure as its reason until someone writes the real one (the
//! comparison never shows an unreviewed reason as a reviewed one).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use scenario::load::parse_yaml;

use crate::outcome::Outcome;
use crate::results::Record;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Which broker the file describes (informative).
    #[serde(default)]
    pub broker: String,
    #[serde(default)]
    pub known_failures: BTreeMap<String, Entry>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The statement the broker breaks (or that the check is about).
    #[serde(default)]
    pub spec: Option<String>,
    /// What the broker does instead.
    pub reason: String,
    #[serde(default)]
    pub flaky: bool,
    /// Written by `--write-baseline` for a failure nobody has reviewed:
    /// `reason` only quotes what went wrong.
    #[serde(default)]
    pub unreviewed: bool,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("baseline {}: {e}", path.display()))?;
        Baseline::parse(&text, path)
    }

    /// A baseline from its text; errors name `path`:line:column.
    pub fn parse(text: &str, path: &Path) -> Result<Baseline, String> {
        parse_yaml(text, path).map_err(|e| e.to_string())
    }

    pub fn entry(&self, run: &str) -> Option<&Entry> {
        self.known_failures.get(run)
    }

    /// A run's outcome read against the baseline: a listed failure is
    /// known (or flaky), a listed run that passed is fixed, and a flaky one
    /// that passed this time is what it was.
    pub fn judge(&self, run: &str, ran: Outcome) -> Outcome {
        let failed = ran == Outcome::Fail;
        match self.entry(run) {
            None => ran,
            Some(e) if e.flaky => {
                if failed {
                    Outcome::Flaky
                } else {
                    ran
                }
            }
            Some(_) if failed => Outcome::Known,
            Some(_) if matches!(ran, Outcome::Pass | Outcome::Advisory) => Outcome::Fixed,
            Some(_) => ran,
        }
    }

    /// Entries that name no run of the suite: a renamed scenario, a typo.
    pub fn unknown_runs<'a>(&'a self, runs: &[String]) -> Vec<&'a str> {
        self.known_failures
            .keys()
            .filter(|k| !runs.contains(k))
            .map(String::as_str)
            .collect()
    }
}

/// A baseline of `records`' failures, as YAML: each failing run keeps its
/// entry in `old` if it has one (reviewed or not); a new failure gets an
/// entry marked unreviewed whose reason quotes the failure.
pub fn write(broker: &str, records: &[Record], old: Option<&Baseline>) -> String {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let mut out = String::new();
    out.push_str(&format!(
        "# Known failures of {broker}, written by `gauntlet run --write-baseline`.\n\
         # Review each `unreviewed: true` entry: replace its reason with the rule the\n\
         # broker breaks and what it does instead, then delete the `unreviewed` line.\n\
         broker: {}\nknown_failures:\n",
        quote(broker)
    ));
    let mut listed = 0;
    for r in records
        .iter()
        .filter(|r| r.outcome.failed() && r.outcome != Outcome::Error)
    {
        listed += 1;
        out.push_str(&format!("  {}:\n", quote(&r.name)));
        match old.and_then(|b| b.entry(&r.name)) {
            Some(e) => {
                if let Some(spec) = &e.spec {
                    out.push_str(&format!("    spec: {}\n", quote(spec)));
                }
                out.push_str(&format!("    reason: {}\n", quote(&e.reason)));
                if e.flaky {
                    out.push_str("    flaky: true\n");
                }
                if e.unreviewed {
                    out.push_str("    unreviewed: true\n");
                }
            }
            None => {
                let what = r
                    .message
                    .as_deref()
                    .and_then(|m| m.lines().map(str::trim).find(|l| !l.is_empty()))
                    .unwrap_or("failed");
                out.push_str(&format!("    reason: {}\n", quote(what)));
                out.push_str("    unreviewed: true\n");
            }
        }
    }
    if listed == 0 {
        out.push_str("  {}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline() -> Baseline {
        parse_yaml(
            r#"
broker: b
known_failures:
  "a [v5]": { spec: MQTT-1, reason: does x }
  "f [v5]": { reason: timer, flaky: true }
"#,
            Path::new("b.yaml"),
        )
        .unwrap()
    }

    #[test]
    fn judgements() {
        let b = baseline();
        assert_eq!(b.judge("a [v5]", Outcome::Fail), Outcome::Known);
        assert_eq!(b.judge("a [v5]", Outcome::Pass), Outcome::Fixed);
        assert_eq!(b.judge("a [v5]", Outcome::Advisory), Outcome::Fixed);
        assert_eq!(b.judge("f [v5]", Outcome::Pass), Outcome::Pass);
        assert_eq!(b.judge("f [v5]", Outcome::Fail), Outcome::Flaky);
        assert_eq!(b.judge("z [v5]", Outcome::Fail), Outcome::Fail);
        assert_eq!(b.judge("z [v5]", Outcome::Pass), Outcome::Pass);
        assert_eq!(b.judge("a [v5]", Outcome::Skipped), Outcome::Skipped);
        assert_eq!(b.unknown_runs(&["a [v5]".into()]), vec!["f [v5]"]);
    }

    #[test]
    fn a_written_baseline_reads_back_and_excuses_what_it_lists() {
        let old = baseline();
        let mut new = Record::new(
            "n [v5]",
            Path::new("n.yaml"),
            "t",
            Outcome::Fail,
            Some(
                "step 2 (a: expect PUBLISH): no PUBLISH within 5000 ms \"quoted\" # not a comment"
                    .into(),
            ),
        );
        new.seed = Some(1);
        let known = Record::new("a [v5]", Path::new("a.yaml"), "t", Outcome::Known, None);
        let passed = Record::new("p [v5]", Path::new("p.yaml"), "t", Outcome::Pass, None);
        let text = write("b", &[new, known, passed], Some(&old));
        let back = Baseline::parse(&text, Path::new("w.yaml")).expect(&text);
        assert_eq!(back.broker, "b");
        assert_eq!(back.known_failures.len(), 2, "{text}");
        let n = back.entry("n [v5]").expect("the new failure is listed");
        assert!(n.unreviewed);
        assert!(
            n.reason.contains("\"quoted\" # not a comment"),
            "{}",
            n.reason
        );
        let a = back.entry("a [v5]").expect("the old entry stays");
        assert!(!a.unreviewed);
        assert_eq!(
            (a.spec.as_deref(), a.reason.as_str()),
            (Some("MQTT-1"), "does x")
        );
        assert_eq!(back.judge("n [v5]", Outcome::Fail), Outcome::Known);
        assert!(back.entry("p [v5]").is_none());
        // Nothing failed: still a baseline.
        let empty = write("b", &[], None);
        assert!(Baseline::parse(&empty, Path::new("e.yaml"))
            .unwrap()
            .known_failures
            .is_empty());
    }

    #[test]
    fn a_reason_is_required() {
        let e = parse_yaml::<Baseline>(
            "known_failures:\n  \"a [v5]\": { flaky: true }\n",
            Path::new("b.yaml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("b.yaml:2"), "{e}");
        assert!(e.to_string().contains("reason"), "{e}");
    }
}
