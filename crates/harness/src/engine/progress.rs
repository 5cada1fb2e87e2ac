//! Where a run stands, readable from another thread while it runs: what a
//! watchdog reports when a run does not end (see `sim::budget`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Where a run stands, readable from another thread while it runs.
#[derive(Debug, Default)]
pub struct Progress {
    sim_ms: AtomicU64,
    /// The scripted step under way: number, line, text.
    step: Mutex<Option<(usize, u64, String)>>,
}

impl Progress {
    pub fn set_sim_ms(&self, ms: u64) {
        self.sim_ms.store(ms, Ordering::Relaxed);
    }

    pub fn sim_ms(&self) -> u64 {
        self.sim_ms.load(Ordering::Relaxed)
    }

    pub fn set_step(&self, number: usize, line: u64, text: &str) {
        if let Ok(mut s) = self.step.lock() {
            *s = Some((number, line, text.to_owned()));
        }
    }

    pub fn step(&self) -> Option<(usize, u64, String)> {
        self.step.lock().ok().and_then(|s| s.clone())
    }
}
