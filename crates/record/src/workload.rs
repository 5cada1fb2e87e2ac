//! What a workload run leaves: its fault schedule, its history, the
//! violations the checkers found, and whether the world itself failed.

use serde::Serialize;

use scenario::workload::FaultKind;
use scenario::VersionName;

use crate::advisory::Advisory;
use crate::history::History;
use crate::violation::Violation;

/// One fault of a schedule: what, on whom, when, for how long.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScheduledFault {
    pub at_ms: u64,
    pub kind: FaultKind,
    /// The client it hits (none for the broker).
    pub target: Option<String>,
    pub length_ms: u64,
}

impl ScheduledFault {
    /// The fault without its time, for the history (which has its own).
    pub fn what(&self) -> String {
        let kind = match self.kind {
            FaultKind::Cut => "cut",
            FaultKind::Stall => "stall",
            FaultKind::Reset => "reset",
            FaultKind::Latency => "latency",
            FaultKind::BrokerRestart => "broker restart",
        };
        let mut s = kind.to_owned();
        if let Some(t) = &self.target {
            s.push(' ');
            s.push_str(t);
        }
        if matches!(
            self.kind,
            FaultKind::Cut | FaultKind::Stall | FaultKind::Latency
        ) {
            s.push_str(&format!(" for {} ms", self.length_ms));
        }
        s
    }
}

impl std::fmt::Display for ScheduledFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.3}s {}", self.at_ms as f64 / 1000.0, self.what())
    }
}

#[derive(Clone, Debug)]
pub struct Outcome {
    pub version: VersionName,
    pub seed: u64,
    pub faults: Vec<ScheduledFault>,
    pub history: History,
    pub violations: Vec<Violation>,
    pub sim_ms: u64,
    /// The world itself failed (a host's software); not a broker verdict.
    pub error: Option<String>,
    /// What else the run has to say (a clean-up that failed).
    pub notes: Vec<String>,
    /// The real broker it ran against (none: the reference broker in
    /// simulation, where the seed replays it exactly).
    pub broker: Option<String>,
    /// What the run advises (SHOULDs the broker did not follow).
    pub advisories: Vec<Advisory>,
    /// The statements its checkers assert (sorted): what a passing run
    /// covers.
    pub asserted: Vec<String>,
}

impl Outcome {
    /// A run that could not be made, and why.
    pub fn failed(
        version: VersionName,
        seed: u64,
        faults: &[ScheduledFault],
        error: String,
    ) -> Outcome {
        Outcome {
            version,
            seed,
            faults: faults.to_vec(),
            history: History::default(),
            violations: Vec::new(),
            sim_ms: 0,
            error: Some(error),
            notes: Vec::new(),
            broker: None,
            advisories: Vec::new(),
            asserted: Vec::new(),
        }
    }

    pub fn passed(&self) -> bool {
        self.violations.is_empty() && self.error.is_none()
    }
}
