//! What came of a run: one type for the terminal summary, JUnit,
//! `results.json`, baselines and the comparison, so that none of them can
//! say something another does not.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every check held.
    Pass,
    /// Every MUST held; a SHOULD did not, or the broker chose one of two
    /// readings of the spec. Does not fail the job.
    Advisory,
    /// Failed, and no baseline expects it: fails the job.
    Fail,
    /// Failed as the baseline expects.
    Known,
    /// Failed, and the baseline lists it as flaky (failing only sometimes).
    Flaky,
    /// Passed, but the baseline lists it as failing: fails the job until
    /// the entry goes, so that the baseline stays true.
    Fixed,
    /// Not run: the broker lacks what the scenario needs.
    Skipped,
    /// The file could not be loaded.
    Error,
}

impl Outcome {
    /// Every outcome, in the order summaries list them.
    pub const ALL: [Outcome; 8] = [
        Outcome::Pass,
        Outcome::Advisory,
        Outcome::Fail,
        Outcome::Known,
        Outcome::Flaky,
        Outcome::Fixed,
        Outcome::Skipped,
        Outcome::Error,
    ];

    /// The label in the summary table: the ones that fail the job shout.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Advisory => "advisory",
            Outcome::Fail => "FAIL",
            Outcome::Known => "known",
            Outcome::Flaky => "flaky",
            Outcome::Fixed => "FIXED",
            Outcome::Skipped => "skip",
            Outcome::Error => "ERROR",
        }
    }

    /// The name `results.json` and baselines use.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Advisory => "advisory",
            Outcome::Fail => "fail",
            Outcome::Known => "known",
            Outcome::Flaky => "flaky",
            Outcome::Fixed => "fixed",
            Outcome::Skipped => "skipped",
            Outcome::Error => "error",
        }
    }

    pub fn fails_job(self) -> bool {
        matches!(self, Outcome::Fail | Outcome::Fixed | Outcome::Error)
    }

    /// The broker did something the run checks against (whatever a
    /// baseline says of it).
    pub fn failed(self) -> bool {
        matches!(
            self,
            Outcome::Fail | Outcome::Known | Outcome::Flaky | Outcome::Error
        )
    }

    /// How the comparison's matrix shows it: what the broker did, pass,
    /// advisory, fail or skip (a baseline's verdict is in the reason).
    pub fn column(self) -> &'static str {
        match self {
            Outcome::Pass | Outcome::Fixed => "pass",
            Outcome::Advisory => "advisory",
            Outcome::Fail | Outcome::Known | Outcome::Flaky | Outcome::Error => "fail",
            Outcome::Skipped => "skip",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_json() {
        for o in Outcome::ALL {
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(json, format!("\"{}\"", o.name()));
            assert_eq!(serde_json::from_str::<Outcome>(&json).unwrap(), o);
        }
    }

    #[test]
    fn only_new_failures_fixed_entries_and_load_errors_fail_the_job() {
        let failing: Vec<Outcome> = Outcome::ALL.into_iter().filter(|o| o.fails_job()).collect();
        assert_eq!(failing, [Outcome::Fail, Outcome::Fixed, Outcome::Error]);
    }
}
