//! What a scripted run leaves: its verdict (the failing step, what was
//! expected and what came), its trace and what the network carried.

use scenario::VersionName;

use crate::advisory::Advisory;
use crate::carried::Carried;
use crate::trace::Trace;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// 1-based position in `steps`.
    pub step: usize,
    /// Where the step is in the file (0 if unknown).
    pub line: u64,
    pub step_text: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed(Failure),
}

#[derive(Clone, Debug)]
pub struct RunResult {
    pub version: VersionName,
    /// The variant run, of a scenario file with `vary:`.
    pub variant: Option<String>,
    pub seed: u64,
    pub outcome: Outcome,
    pub trace: Trace,
    /// Simulated time the run took.
    pub sim_ms: u64,
    /// What the run advises (its advisory steps that did not hold).
    pub advisories: Vec<Advisory>,
    /// The statements its steps asserted and saw hold (sorted): what a
    /// passing run covers.
    pub asserted: Vec<String>,
    /// What the network did with each packet (in simulation, from taps on
    /// both ends of every connection; empty where nothing logged it).
    pub carried: Vec<Carried>,
}

impl RunResult {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }
}
