//! A promise the broker broke, as a checker found it in a workload's history.

use std::fmt;

use serde::Serialize;

use crate::history::{Ms, MsgId};

/// A promise the broker broke, as found in a history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The checker's name (`exactly_once`, ...).
    pub check: &'static str,
    /// The message concerned, if one is.
    pub message: Option<MsgId>,
    pub publisher: Option<String>,
    pub subscriber: Option<String>,
    /// When it became a violation (the duplicate delivery, the publish that
    /// was never delivered, ...).
    pub at: Ms,
    /// One line: what was promised and what happened instead.
    pub what: String,
    /// Faults around `at` (`History::faults_near(at, 5_000)`).
    pub faults: Vec<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.check, self.what)?;
        if !self.faults.is_empty() {
            write!(f, "\n  faults around: {}", self.faults.join("; "))?;
        }
        Ok(())
    }
}
