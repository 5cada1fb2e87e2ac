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

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use scenario::load::parse_yaml;

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
}

/// How a run's outcome reads against the baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judgement {
    Pass,
    /// Failed, and not listed: fails the job.
    NewFailure,
    /// Failed as listed.
    Known,
    /// Listed as flaky (passed or failed).
    Flaky,
    /// Listed as failing, but passed: fails the job until the entry goes.
    Fixed,
}

impl Judgement {
    pub fn fails_job(self) -> bool {
        matches!(self, Judgement::NewFailure | Judgement::Fixed)
    }
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

    pub fn judge(&self, run: &str, passed: bool) -> Judgement {
        match (self.entry(run), passed) {
            (Some(e), _) if e.flaky => Judgement::Flaky,
            (Some(_), true) => Judgement::Fixed,
            (Some(_), false) => Judgement::Known,
            (None, true) => Judgement::Pass,
            (None, false) => Judgement::NewFailure,
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
        assert_eq!(b.judge("a [v5]", false), Judgement::Known);
        assert_eq!(b.judge("a [v5]", true), Judgement::Fixed);
        assert_eq!(b.judge("f [v5]", true), Judgement::Flaky);
        assert_eq!(b.judge("f [v5]", false), Judgement::Flaky);
        assert_eq!(b.judge("z [v5]", false), Judgement::NewFailure);
        assert_eq!(b.judge("z [v5]", true), Judgement::Pass);
        assert!(Judgement::Fixed.fails_job() && Judgement::NewFailure.fails_job());
        assert!(!Judgement::Known.fails_job() && !Judgement::Flaky.fails_job());
        assert_eq!(b.unknown_runs(&["a [v5]".into()]), vec!["f [v5]"]);
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
