//! What the runner needs from the world a scenario runs in: the simulated
//! one (`sim::World`) or real TCP to a real broker (`external::TcpWorld`).
//! Time is in milliseconds since the run began, simulated or real.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use crate::net::client::Shared;
use record::trace::{Kind, Trace};

pub trait Backend {
    fn now_ms(&self) -> u64;

    fn trace(&self) -> Rc<RefCell<Trace>>;

    fn log(&self, who: &str, kind: Kind) {
        let at = self.now_ms();
        self.trace().borrow_mut().push(at, who, kind);
    }

    /// The client named `name` (every scenario client exists).
    fn client(&self, name: &str) -> Rc<Shared>;

    /// Runs until `done` holds (true) or `deadline_ms` passes (false). An
    /// error is the world itself failing (a host's software, the broker
    /// process), not a broken expectation.
    fn run_until(
        &mut self,
        deadline_ms: u64,
        done: &mut dyn FnMut() -> bool,
    ) -> Result<bool, String>;

    fn run_for(&mut self, ms: u64) -> Result<(), String> {
        let until = self.now_ms() + ms;
        self.run_until(until, &mut || false).map(|_| ())
    }

    fn cut(&mut self, client: &str);
    fn heal(&mut self, client: &str);
    fn stall(&mut self, client: &str);
    fn resume(&mut self, client: &str);
    fn reset(&mut self, client: &str);
    fn set_latency(&mut self, client: &str, min: Duration, max: Duration);
    fn set_loss(&mut self, client: &str, rate: f64);

    fn crash_broker(&mut self) -> Result<(), String>;
    /// Shuts the broker down cleanly and leaves it down.
    fn stop_broker(&mut self) -> Result<(), String>;
    fn restart_broker(&mut self, keep_store: bool) -> Result<(), String>;

    /// The run is over: leave the broker as a well-behaved client would.
    fn finish(&mut self) {}

    /// What the network did with each packet so far, where the world
    /// knows (the simulated one does); empty otherwise.
    fn carried(&self) -> Vec<record::carried::Carried> {
        Vec::new()
    }

    /// Extra time a deadline of `within_ms` gets: none in simulation; on a
    /// real network, room for scheduling and the broker's timers.
    fn slack_ms(&self, _within_ms: u64) -> u64 {
        0
    }
}
