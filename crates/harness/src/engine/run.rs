//! Runs a scripted scenario in a world (simulated or real), one version and
//! one seed at a time, and says exactly what went wrong: which step, what was
//! expected, what came instead, with the trace as evidence.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use protocol::{Packet, Version};
use record::advisory::Advisory;
use record::script::{Failure, Outcome, RunResult};
use record::trace::{describe, Kind, Trace};
use scenario::{
    BrokerAction, ClientAction, ClientSpec, NetworkAction, Scenario, Step, VersionName,
};

use super::backend::Backend;
use super::broker_ids::BrokerIds;
use super::progress::Progress;
use crate::net::client::{Command, Shared};

/// Deadline of an `expect` when the scenario names none.
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;

/// Runs `scenario` in the world `make` builds (with every scenario client).
pub fn run_with<B: Backend>(
    scenario: &Scenario,
    version: VersionName,
    seed: u64,
    make: impl FnOnce() -> Result<B, String>,
) -> RunResult {
    run_watched(scenario, version, seed, &Progress::default(), make)
}

/// The same, telling `progress` which step is under way as it goes.
pub fn run_watched<B: Backend>(
    scenario: &Scenario,
    version: VersionName,
    seed: u64,
    progress: &Progress,
    make: impl FnOnce() -> Result<B, String>,
) -> RunResult {
    let trace_cell: Rc<std::cell::RefCell<Trace>> = Rc::default();
    let mut sim_ms = 0;
    let mut advisories = Vec::new();
    let mut asserted = BTreeSet::new();
    let mut current = (0usize, 0u64, String::new());
    let mut carried = Vec::new();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let world = match make() {
            Ok(w) => w,
            Err(message) => {
                return Outcome::Failed(Failure {
                    step: 0,
                    line: 0,
                    step_text: "start".into(),
                    message,
                })
            }
        };
        let mut r = Runner::new(scenario, version, world);
        let trace = r.world.trace();
        let result = r.run_steps(&mut current, progress);
        sim_ms = r.world.now_ms();
        advisories = std::mem::take(&mut r.advisories);
        asserted = std::mem::take(&mut r.asserted);
        r.world.finish();
        carried = r.world.carried();
        *trace_cell.borrow_mut() = trace.borrow().clone();
        result
    }))
    .unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        Outcome::Failed(Failure {
            step: current.0,
            line: current.1,
            step_text: current.2.clone(),
            message: format!("internal error (a bug in gauntlet): {what}"),
        })
    });
    let trace = trace_cell.borrow().clone();
    RunResult {
        version,
        variant: scenario.variant.clone(),
        seed,
        outcome,
        trace,
        sim_ms,
        advisories,
        asserted: asserted.into_iter().collect(),
        carried,
    }
}

pub(super) struct ClientCtx {
    pub(super) spec: ClientSpec,
    pub(super) next_id: u16,
    pub(super) broker_ids: BrokerIds,
}

impl ClientCtx {
    pub(super) fn next_packet_id(&mut self) -> u16 {
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        id
    }
}

pub(super) struct Runner<'a, B: Backend> {
    pub(super) scenario: &'a Scenario,
    pub(super) version: Version,
    pub(super) world: B,
    pub(super) clients: BTreeMap<String, ClientCtx>,
    pub(super) timeout_ms: u64,
    /// The step under way: number and line, for what it advises.
    pub(super) step: (usize, u64),
    /// What the run advises so far.
    pub(super) advisories: Vec<Advisory>,
    /// The statements asserted by the steps that held so far.
    pub(super) asserted: BTreeSet<String>,
}

pub(super) type StepResult = Result<(), String>;

impl<'a, B: Backend> Runner<'a, B> {
    pub(super) fn new(scenario: &'a Scenario, version: VersionName, mut world: B) -> Runner<'a, B> {
        if let Some(rate) = scenario.network.loss {
            for name in scenario.clients.keys() {
                world.set_loss(name, rate.0);
            }
        }
        let clients = scenario
            .clients
            .iter()
            .map(|(name, spec)| {
                (
                    name.clone(),
                    ClientCtx {
                        spec: spec.clone(),
                        next_id: 1,
                        broker_ids: BrokerIds::default(),
                    },
                )
            })
            .collect();
        Runner {
            scenario,
            version: version.protocol(),
            world,
            clients,
            timeout_ms: scenario.timeout.map_or(DEFAULT_TIMEOUT_MS, |d| d.millis()),
            step: (0, 0),
            advisories: Vec::new(),
            asserted: BTreeSet::new(),
        }
    }

    pub(super) fn run_steps(
        &mut self,
        current: &mut (usize, u64, String),
        progress: &Progress,
    ) -> Outcome {
        let budget_ms = self.sim_budget_ms();
        // Let the broker bind its port before anyone connects.
        if let Err(e) = self.world.run_for(1) {
            return Outcome::Failed(Failure {
                step: 0,
                line: 0,
                step_text: "start".into(),
                message: e,
            });
        }
        let version = match self.version {
            Version::V311 => VersionName::V311,
            Version::V5 => VersionName::V5,
        };
        for (i, step) in self.scenario.steps.iter().enumerate() {
            if let Step::Client { only: Some(v), .. } = &step.value {
                if *v != version {
                    continue;
                }
            }
            let text = step_text(&step.value);
            *current = (i + 1, step.at.line(), text.clone());
            progress.set_step(i + 1, step.at.line(), &text);
            self.step = (i + 1, step.at.line());
            self.world
                .log("runner", Kind::Step(format!("step {}: {text}", i + 1)));
            let advised = self.advisories.len();
            // A breach the wire monitor saw during the step (on any
            // client) fails it, whatever the step itself made of it.
            let result = self.exec(&step.value).and_then(|()| {
                let now = self.world.now_ms();
                if now > budget_ms {
                    return Err(format!(
                        "the run passed its time budget of {:.3}s (what its steps wait on \
                         purpose plus each step's deadline) at {:.3}s",
                        budget_ms as f64 / 1000.0,
                        now as f64 / 1000.0
                    ));
                }
                Ok(())
            });
            let result = self.first_breach().map_or(result, Err);
            self.take_wire_advice();
            // A step's statements count once it held (an advisory that did
            // not hold asserted nothing).
            if let (Ok(()), Step::Client { spec, .. }) = (&result, &step.value) {
                if self.advisories.len() == advised {
                    self.asserted
                        .extend(spec.ids_for(version).into_iter().map(str::to_owned));
                }
            }
            if let Err(message) = result {
                self.world.log("runner", Kind::Failed(message.clone()));
                return Outcome::Failed(Failure {
                    step: i + 1,
                    line: step.at.line(),
                    step_text: text,
                    message,
                });
            }
        }
        // Every packet the broker sent held to the rules the wire monitor
        // checked it against: a passing run asserts them too.
        for name in self.clients.keys() {
            let shared = self.world.client(name);
            let state = shared.state.borrow();
            self.asserted
                .extend(state.monitor.checked().iter().map(|id| (*id).to_owned()));
        }
        Outcome::Passed
    }

    fn sim_budget_ms(&self) -> u64 {
        time_budget_ms(self.scenario, self.timeout_ms, |ms| self.world.slack_ms(ms))
    }

    pub(super) fn exec(&mut self, step: &Step) -> StepResult {
        match step {
            Step::Wait(d) => self.world.run_for(d.millis()),
            Step::Network(n) => {
                match n {
                    NetworkAction::Cut(c) => self.world.cut(c),
                    NetworkAction::Heal(c) => self.world.heal(c),
                    NetworkAction::Stall(c) => self.world.stall(c),
                    NetworkAction::Resume(c) => self.world.resume(c),
                    NetworkAction::Reset(c) => self.world.reset(c),
                    NetworkAction::Loss { client, rate } => self.world.set_loss(client, rate.0),
                    NetworkAction::Latency { client, range } => {
                        self.world.set_latency(client, range.min.0, range.max.0)
                    }
                }
                // Faults take effect in the next tick.
                self.world.run_for(1)
            }
            Step::Broker(BrokerAction::Crash) => {
                self.world.crash_broker()?;
                self.world.run_for(1)
            }
            Step::Broker(BrokerAction::Stop) => {
                self.world.stop_broker()?;
                self.world.run_for(1)
            }
            Step::Broker(BrokerAction::Restart { keep_store }) => {
                self.world.restart_broker(*keep_store)?;
                // Give it a tick to listen again.
                self.world.run_for(1)
            }
            Step::Client {
                name,
                action,
                advisory,
                ..
            } => {
                let mut result = self.client_step(name, action);
                if let (Err(what), Some(a)) = (&result, advisory) {
                    self.advise(&a.rule, what.clone(), a.readings.clone());
                    result = Ok(());
                }
                let shared = self.shared(name);
                let error = shared.state.borrow().protocol_error.clone();
                match (result, error) {
                    (Err(e), _) => Err(e),
                    (Ok(()), Some(e)) => Err(format!("the broker sent a malformed packet: {e}")),
                    (Ok(()), None) => Ok(()),
                }
            }
        }
    }

    /// Records what the step advises (a SHOULD not followed, a reading of
    /// the spec the broker did not choose); the run goes on.
    pub(super) fn advise(&mut self, rule: &str, what: String, readings: Vec<String>) {
        self.world.log(
            "runner",
            Kind::Advisory(format!("advisory: {rule} — {what}")),
        );
        self.advisories.push(Advisory {
            rule: rule.to_owned(),
            what,
            readings,
            step: self.step.0,
            line: self.step.1,
        });
    }

    /// What the clients' monitors found that breaks no MUST, as advisories
    /// of the step under way.
    fn take_wire_advice(&mut self) {
        let names: Vec<String> = self.clients.keys().cloned().collect();
        for name in names {
            let found = std::mem::take(&mut self.shared(&name).state.borrow_mut().advised);
            for b in found {
                let what = format!("{} ({}); sent to {name}", b.packet, b.why);
                self.advise(b.rule, what, Vec::new());
            }
        }
    }

    /// The earliest breach of a MUST the monitor found on any client, as
    /// the run's failure message.
    fn first_breach(&self) -> Option<String> {
        self.clients
            .keys()
            .filter_map(|name| {
                let shared = self.shared(name);
                let s = shared.state.borrow();
                s.breaches
                    .first()
                    .map(|(at, b)| (*at, format!("{b}; sent to {name}")))
            })
            .min_by_key(|(at, _)| *at)
            .map(|(_, message)| message)
    }

    pub(super) fn client_ctx(&mut self, name: &str) -> Result<&mut ClientCtx, String> {
        self.clients
            .get_mut(name)
            .ok_or_else(|| format!("no client named {name:?}"))
    }

    /// The broker's identifier for a scenario's number (see `broker_ids`).
    pub(super) fn broker_id(&self, name: &str, n: u16) -> u16 {
        self.clients.get(name).map_or(n, |c| c.broker_ids.actual(n))
    }

    pub(super) fn shared(&self, name: &str) -> Rc<Shared> {
        self.world.client(name)
    }

    /// When the scenario's default deadline runs out, from now.
    pub(super) fn deadline(&self) -> u64 {
        self.world.now_ms() + self.timeout_ms
    }

    /// Queues a packet and lets the client write it.
    pub(super) fn send(&mut self, name: &str, packet: &Packet) -> StepResult {
        let mut out = BytesMut::new();
        protocol::encode(packet, self.version, &mut out)
            .map_err(|e| format!("cannot encode {}: {e}", packet.packet_type()))?;
        self.send_bytes(name, out.freeze(), describe(packet))
    }

    pub(super) fn send_bytes(&mut self, name: &str, bytes: Bytes, label: String) -> StepResult {
        let shared = self.shared(name);
        if !shared.state.borrow().connected {
            return Err(format!("{name} is not connected; cannot send {label}"));
        }
        shared.command(Command::Send { bytes, label });
        self.settle(&shared)
    }

    /// Runs until the client has carried out its commands.
    pub(super) fn settle(&mut self, shared: &Rc<Shared>) -> StepResult {
        let deadline = self.deadline();
        let done = self.world.run_until(deadline, &mut || shared.idle())?;
        if done {
            Ok(())
        } else {
            Err(format!(
                "the client was still busy after {} ms",
                self.timeout_ms
            ))
        }
    }

    /// Waits for a packet that `wanted` accepts and takes it out of the
    /// inbox; packets before it stay for later `expect` steps.
    pub(super) fn await_packet(
        &mut self,
        name: &str,
        what: &str,
        wanted: impl Fn(&Packet) -> bool,
    ) -> Result<Packet, String> {
        let within = self.timeout_ms;
        self.await_packet_within(name, what, within, false, wanted)
    }

    pub(super) fn await_packet_within(
        &mut self,
        name: &str,
        what: &str,
        within: u64,
        timing: bool,
        wanted: impl Fn(&Packet) -> bool,
    ) -> Result<Packet, String> {
        let shared = self.shared(name);
        let (found, late) = self.timed_wait(within, timing, &mut || {
            let s = shared.state.borrow();
            s.inbox.iter().any(&wanted) || s.closed
        })?;
        let mut s = shared.state.borrow_mut();
        if let Some(i) = s.inbox.iter().position(&wanted) {
            return Ok(s.inbox.remove(i).expect("position is valid"));
        }
        let seen: Vec<String> = s.inbox.iter().map(describe).collect();
        let seen = if seen.is_empty() {
            String::new()
        } else {
            format!(" (received instead: {})", seen.join("; "))
        };
        if !found || !s.closed {
            Err(format!("no {what} within {within} ms{late}{seen}"))
        } else {
            Err(format!("connection closed while waiting for {what}{seen}"))
        }
    }

    /// Waits up to `within` ms (plus the backend's slack) for `done`. On a
    /// real network a miss of a `timing` expectation (one with its own
    /// `within:`) is measured: the note says how late it came, or that it
    /// had not come after twice the time. A default deadline is generous
    /// already, and measuring would double what a failure costs.
    pub(super) fn timed_wait(
        &mut self,
        within: u64,
        timing: bool,
        done: &mut dyn FnMut() -> bool,
    ) -> Result<(bool, String), String> {
        let start = self.world.now_ms();
        let slack = self.world.slack_ms(within);
        if self.world.run_until(start + within + slack, done)? {
            let took = self.world.now_ms() - start;
            if took > within {
                self.world.log(
                    "runner",
                    Kind::Event(format!(
                        "late by {} ms, within the {slack} ms slack for a real network",
                        took - within
                    )),
                );
            }
            return Ok((true, String::new()));
        }
        if slack == 0 || !timing {
            return Ok((false, String::new()));
        }
        let more = within.min(10_000);
        let came = self.world.run_until(self.world.now_ms() + more, done)?;
        let took = self.world.now_ms() - start;
        let note = if came {
            format!(
                " (+{slack} ms slack for a real network): it came {took} ms after the step began, {} ms late",
                took - within
            )
        } else {
            format!(" (+{slack} ms slack for a real network), still not met {took} ms after the step began")
        };
        Ok((false, note))
    }
}

/// A short description of a step for traces and failure reports.
pub fn step_text(step: &Step) -> String {
    match step {
        Step::Wait(d) => format!("wait {d}"),
        Step::Network(n) => match n {
            NetworkAction::Cut(c) => format!("network: cut {c}"),
            NetworkAction::Heal(c) => format!("network: heal {c}"),
            NetworkAction::Stall(c) => format!("network: stall {c}"),
            NetworkAction::Resume(c) => format!("network: resume {c}"),
            NetworkAction::Reset(c) => format!("network: reset {c}"),
            NetworkAction::Loss { client, rate } => format!("network: loss {client} {rate}"),
            NetworkAction::Latency { client, range } => {
                format!("network: latency {client} {}..{}", range.min, range.max)
            }
        },
        Step::Broker(BrokerAction::Crash) => "broker: crash".into(),
        Step::Broker(BrokerAction::Stop) => "broker: stop".into(),
        Step::Broker(BrokerAction::Restart { keep_store: true }) => "broker: restart".into(),
        Step::Broker(BrokerAction::Restart { keep_store: false }) => {
            "broker: restart with an empty store".into()
        }
        Step::Client { name, action, .. } => {
            let what = match action {
                ClientAction::Connect(_) => "connect".to_string(),
                ClientAction::Subscribe(s) => {
                    let f: Vec<String> = s
                        .filters
                        .iter()
                        .map(|(f, o)| format!("{f}:{}", o.qos))
                        .collect();
                    format!("subscribe {}", f.join(" "))
                }
                ClientAction::Unsubscribe(f) => format!("unsubscribe {}", f.join(" ")),
                ClientAction::Publish(p) => format!("publish {} qos={}", p.topic, p.qos),
                ClientAction::Disconnect(d) if d.abrupt => "disconnect (abrupt)".into(),
                ClientAction::Disconnect(_) => "disconnect".into(),
                ClientAction::Send(_) => "send".into(),
                ClientAction::Expect(e) => format!("expect {}", e.packet.name()),
                ClientAction::ExpectNothing(d) => format!("expect nothing for {d}"),
                ClientAction::ExpectClosed(_) => "expect closed".into(),
            };
            format!("{name}: {what}")
        }
    }
}

/// The longest a scripted run may take: what its steps wait on purpose,
/// each other step's deadline (`timeout_ms` unless it names one, plus the
/// world's `slack` for a real network), and a minute for everything in
/// between. Every step keeps its own deadline, so only a run gone wrong in
/// gauntlet itself (or a world whose clock runs away) passes it.
pub fn time_budget_ms(scenario: &Scenario, timeout_ms: u64, slack: impl Fn(u64) -> u64) -> u64 {
    let deadline = |within: Option<u64>| {
        let ms = within.unwrap_or(timeout_ms);
        ms.saturating_add(slack(ms))
    };
    let steps: u64 = scenario
        .steps
        .iter()
        .map(|s| match &s.value {
            Step::Wait(d) => d.millis(),
            Step::Client { action, .. } => match action {
                ClientAction::ExpectNothing(d) => d.millis(),
                ClientAction::Expect(e) => deadline(e.within.map(|d| d.millis())),
                ClientAction::ExpectClosed(c) => deadline(c.within.map(|d| d.millis())),
                _ => deadline(None),
            },
            Step::Network(_) | Step::Broker(_) => 1,
        })
        .fold(0u64, u64::saturating_add);
    steps.saturating_add(60_000)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn the_time_budget_is_the_waits_and_deadlines_and_a_minute() {
        let s = scenario::load_str(
            "name: b\nclients: {a: {}}\nsteps:\n\
             - a: { connect: {} }\n\
             - wait: 2s\n\
             - a: { expect: { publish: {}, within: 30s } }\n\
             - a: { expect_nothing: 1s }\n\
             - network: { cut: a }\n",
            Path::new("b.yaml"),
        )
        .expect("loads");
        // connect 5 s, wait 2 s, expect 30 s, nothing 1 s, cut 1 ms, + 60 s.
        assert_eq!(time_budget_ms(&s, 5_000, |_| 0), 98_001);
        // On a real network each deadline gets its slack.
        assert_eq!(
            time_budget_ms(&s, 5_000, |ms| ms / 10),
            98_001 + 500 + 3_000
        );
    }
}
