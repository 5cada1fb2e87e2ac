//! Many runs at once: a pool of threads, and the order that keeps it busy
//! to the end (the longest runs first).

use report::baseline::Baseline;

use super::plan::{least_duration_ms, Planned};
use crate::engine::DEFAULT_TIMEOUT_MS;

/// Runs `work` on each of `items` with `jobs` threads; `report` sees each
/// result (with its index) as it comes, on the calling thread.
pub fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    work: impl Fn(&T) -> R + Sync,
    mut report: impl FnMut(usize, R),
) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                if tx.send((i, work(item))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            report(i, r);
        }
    });
}

/// The indices of `runs`, longest first, so that no long run starts last
/// and holds up the end. `simulated[i]` is how long run `i` took against
/// the reference broker in simulation (0 if not measured): on a real
/// broker a run lasts about as long; one the baseline expects to fail
/// will likely also wait out a deadline.
pub fn longest_first(
    runs: &[Planned<'_>],
    simulated: &[u64],
    baseline: Option<&Baseline>,
) -> Vec<usize> {
    let expected_ms = |i: usize| {
        let p = &runs[i];
        let deadline = baseline.and_then(|b| b.entry(&p.name)).map_or(0, |_| {
            p.scenario
                .timeout
                .map_or(DEFAULT_TIMEOUT_MS, |d| d.millis())
        });
        simulated[i].max(least_duration_ms(p.scenario)) + deadline
    };
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(expected_ms(i)));
    order
}
