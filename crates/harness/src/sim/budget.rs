//! Budgets of a simulated run. A run is a pure function of (scenario, seed)
//! and normally ends on its own, but a broker under simulation that never
//! yields keeps turmoil from stepping: without a budget the run would spin
//! at full CPU with no output until killed. Each simulated run therefore
//! goes on a thread of its own while the caller waits at most a wall-clock
//! budget; past it the run ends as a failure that names the budget and
//! where the simulated world stood (the stuck thread is left behind: a
//! thread cannot be stopped, and it ends with the process).

use std::sync::{mpsc, Arc};
use std::time::Duration;

use crate::engine::Progress;

/// Wall-clock time one simulated run may take unless told otherwise: far
/// above what any library run needs (well under a second in a release
/// build, a few seconds in a debug one on a loaded machine).
pub const WALL_BUDGET: Duration = Duration::from_secs(120);

/// The run did not end within its wall-clock budget (or could not be
/// watched at all).
#[derive(Debug)]
pub struct OverBudget {
    /// What went wrong, naming the budget.
    pub message: String,
    /// Simulated time when the world last advanced.
    pub sim_ms: u64,
    /// The scripted step under way, if any.
    pub step: Option<(usize, u64, String)>,
}

/// Runs `work` on a thread of its own and waits for it at most `budget`.
pub fn within<T: Send + 'static>(
    budget: Duration,
    work: impl FnOnce(Arc<Progress>) -> T + Send + 'static,
) -> Result<T, OverBudget> {
    let progress = Arc::new(Progress::default());
    let (tx, rx) = mpsc::channel();
    let theirs = progress.clone();
    let spawned = std::thread::Builder::new()
        .name("gauntlet-sim".into())
        .spawn(move || {
            let _ = tx.send(work(theirs));
        });
    let over = |message: String| OverBudget {
        message,
        sim_ms: progress.sim_ms(),
        step: progress.step(),
    };
    if let Err(e) = spawned {
        return Err(over(format!(
            "cannot start a thread to run it under its wall-clock budget: {e}"
        )));
    }
    rx.recv_timeout(budget).map_err(|_| {
        over(format!(
            "the run passed its wall-clock budget of {} s: the simulated world stopped \
             advancing at {:.3}s (a host that never yields, such as a broker in an endless \
             loop, keeps the simulation from stepping)",
            budget.as_secs_f64(),
            progress.sim_ms() as f64 / 1000.0
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_that_ends_gives_its_result() {
        let r = within(Duration::from_secs(60), |p| {
            p.set_sim_ms(42);
            7
        });
        assert_eq!(r.unwrap(), 7);
    }

    #[test]
    fn a_run_that_never_ends_is_over_budget_with_where_it_stood() {
        let r = within(Duration::from_millis(200), |p| {
            p.set_sim_ms(1_234);
            p.set_step(3, 12, "sensor: publish a//b");
            loop {
                std::thread::park();
            }
        });
        let over: OverBudget = r.expect_err("never ends");
        assert_eq!(over.sim_ms, 1_234);
        assert_eq!(over.step, Some((3, 12, "sensor: publish a//b".into())));
        assert!(
            over.message.contains("wall-clock budget of 0.2 s"),
            "{}",
            over.message
        );
        assert!(over.message.contains("at 1.234s"), "{}", over.message);
    }
}
