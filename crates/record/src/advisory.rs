//! What a run advises: a SHOULD the broker did not follow, or a point where
//! readings of the spec differ and the broker chose one. Never a failure:
//! the spec allows it.

use std::fmt;

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Advisory {
    /// The rule, with its statement id or section.
    pub rule: String,
    /// What was looked for, and what came instead.
    pub what: String,
    /// Where readings differ: each of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub readings: Vec<String>,
    /// The step that found it (0 for what a whole run found).
    pub step: usize,
    /// Where that step is in its file (0 if nowhere).
    pub line: u64,
}

impl fmt::Display for Advisory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.step > 0 {
            write!(f, "step {}: ", self.step)?;
        }
        write!(f, "{} — {}", self.rule, self.what)?;
        if !self.readings.is_empty() {
            write!(f, " (readings: {})", self.readings.join(" / "))?;
        }
        Ok(())
    }
}
