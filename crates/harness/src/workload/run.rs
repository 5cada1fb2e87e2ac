//! Runs a workload in the simulated world (or any [`WorkloadWorld`]):
//! starts the clients the seed planned ([`super::plan`]), applies the faults
//! as time passes (a packet fault when its packet comes), heals everything
//! at the end, lets the clients drain, and checks the history.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use super::check;
use super::client::{self, Client, Naming, Order};
use super::plan::roles;
pub use super::plan::{clients, schedule};
use super::probe::{self, Probe, Retained, RetainedReading, PROBE};
use super::wire::{Wire, WireLog};
use crate::engine::backend::Backend;
use crate::engine::Progress;
use crate::net::client::Connector;
use crate::net::monitor::ClientIds;
use crate::net::tripwire::{Fired, LinkFault, Tripwires};
use crate::sim::{budget, World};
use record::history::{Event, History, Roles};
use record::workload::{Outcome, ScheduledFault};
use scenario::workload::Check;
use scenario::workload::{FaultKind, Persistence, Sessions, Workload};
use scenario::VersionName;

/// Workloads time nothing finer than a Keep Alive of seconds and faults of
/// half a second or more. Nearly all of a run's cost is turmoil and tokio
/// work done per host per step (profiled: our code is under 2 %), so the
/// step length sets the speed: 10 ms steps run 5 times fewer of them than
/// the scripted scenarios' 2 ms, and still order every packet that a check
/// could tell apart (latencies are rounded to the step).
pub const TICK: Duration = Duration::from_millis(10);

/// The name of the client that watches the publishers' wills.
pub const WILL_WATCHER: &str = "w";

/// Runs `w` with the fault schedule `faults` (normally `schedule(w, seed)`;
/// shrinking passes a smaller one), within the default wall-clock budget.
/// Never panics.
pub fn run(w: &Workload, version: VersionName, seed: u64, faults: &[ScheduledFault]) -> Outcome {
    run_within(w, version, seed, faults, budget::WALL_BUDGET)
}

/// The same within `wall` of wall-clock time: past it the run fails,
/// naming the budget and where the simulated world stood.
pub fn run_within(
    w: &Workload,
    version: VersionName,
    seed: u64,
    faults: &[ScheduledFault],
    wall: Duration,
) -> Outcome {
    let (owned, schedule) = (Arc::new(w.clone()), faults.to_vec());
    budget::within(wall, move |progress| {
        guarded(version, seed, &schedule, || {
            run_inner(&owned, version, seed, &schedule, progress)
        })
    })
    .unwrap_or_else(|over| {
        let mut o = Outcome::failed(version, seed, faults, over.message);
        o.sim_ms = over.sim_ms;
        o
    })
}

/// `f`'s outcome; a panic in it (a bug in gauntlet) becomes the run's error.
pub fn guarded(
    version: VersionName,
    seed: u64,
    faults: &[ScheduledFault],
    f: impl FnOnce() -> Outcome,
) -> Outcome {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    result.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        Outcome::failed(
            version,
            seed,
            faults,
            format!("internal error (a bug in gauntlet): {what}"),
        )
    })
}

/// The world a workload runs in: the simulated one, or real TCP to a real
/// broker through a fault proxy per client.
pub trait WorkloadWorld: Backend {
    /// How the client `name` reaches the broker.
    fn connector(&self, name: &str) -> Connector;

    /// Starts `name`'s software (in simulation on a host of its own, which
    /// a reset starts again from scratch).
    fn start<F, Fut>(&mut self, name: &str, software: F)
    where
        F: Fn() -> Fut + 'static,
        Fut: std::future::Future<Output = turmoil::Result> + 'static;

    /// Lets one step of time pass.
    fn advance(&mut self) -> Result<(), String>;

    /// From now on, packets on every client's link are reported to
    /// `tripwires` as they arrive. Returns how a client applies a link
    /// fault fired by what it receives, if the world leaves that to the
    /// clients (simulation; the fault proxy watches both ways itself).
    fn watch_packets(&mut self, tripwires: &Tripwires) -> Option<crate::net::tripwire::Apply>;

    /// Whether a restart keeps the broker's store, for a broker promised
    /// to keep its state (`promised`) or not: the simulated broker keeps
    /// exactly what it is promised to; a real one keeps what it keeps.
    fn keeps_store(&self, promised: bool) -> bool;
}

impl WorkloadWorld for World {
    fn connector(&self, _name: &str) -> Connector {
        Connector::Sim
    }

    fn start<F, Fut>(&mut self, name: &str, software: F)
    where
        F: Fn() -> Fut + 'static,
        Fut: std::future::Future<Output = turmoil::Result> + 'static,
    {
        self.add_host(name, software);
    }

    fn advance(&mut self) -> Result<(), String> {
        self.step()
    }

    fn watch_packets(&mut self, tripwires: &Tripwires) -> Option<crate::net::tripwire::Apply> {
        self.report_packets_to(tripwires.clone());
        Some(crate::sim::triggers::apply)
    }

    fn keeps_store(&self, promised: bool) -> bool {
        promised
    }
}

fn run_inner(
    w: &Workload,
    version: VersionName,
    seed: u64,
    faults: &[ScheduledFault],
    progress: Arc<Progress>,
) -> Outcome {
    let latency = w.network.latency.map(|r| (r.min.0, r.max.0));
    let mut world = World::with_tick(
        seed,
        w.broker.clone(),
        latency,
        &[],
        version.protocol(),
        TICK,
    );
    world.watch(progress);
    run_on(
        world,
        w,
        version,
        seed,
        faults,
        &Naming::default(),
        false,
        w.persistence,
    )
}

/// Runs `w` in `world`: starts the clients, applies the faults as time
/// passes, heals everything, drains, reads the retained messages if asked
/// to, and checks the history. With `leave`, the clients DISCONNECT after
/// the run (on a real broker, so that no will is published and nothing is
/// left connected). `promise` is what the broker keeps across a restart.
#[allow(clippy::too_many_arguments)]
pub fn run_on<W: WorkloadWorld>(
    mut world: W,
    w: &Workload,
    version: VersionName,
    seed: u64,
    faults: &[ScheduledFault],
    naming: &Naming,
    leave: bool,
    promise: Persistence,
) -> Outcome {
    let kept = w.workload.sessions == Sessions::Kept;
    let history = Rc::new(RefCell::new(History {
        roles: Roles {
            kept_sessions: if kept {
                w.subscriber_names()
            } else {
                Vec::new()
            },
            will_watchers: if w.workload.wills {
                vec![WILL_WATCHER.to_string()]
            } else {
                Vec::new()
            },
            keep_alive: w.workload.keep_alive,
            v5: version == VersionName::V5,
        },
        ..History::default()
    }));
    let t = &w.workload;
    let mut all: Vec<Rc<Client>> = Vec::new();
    let ids = ClientIds::default();
    let wire_log = Rc::new(RefCell::new(WireLog::default()));
    let tripwires = Tripwires::default();
    let client_watch = faults
        .iter()
        .any(|f| f.after.is_some())
        .then(|| world.watch_packets(&tripwires))
        .flatten();
    for role in roles(w, version, seed, naming) {
        let connector = world.connector(&role.name);
        let wire = Wire::new(
            &role.name,
            role.version,
            &ids,
            &wire_log,
            &naming.topic_prefix,
        );
        let wire = match client_watch {
            Some(apply) => wire.watching(tripwires.clone(), apply),
            None => wire,
        };
        let c = Rc::new(Client::new(role, history.clone(), connector, wire));
        let name = c.role.name.clone();
        let host = c.clone();
        world.start(&name, move || client::run(host.clone()));
        all.push(c);
    }

    // What a link goes back to when a latency fault ends.
    let normal_latency = w
        .network
        .latency
        .map(|r| (r.min.0, r.max.0))
        .unwrap_or_default();
    let mut pending: Vec<(usize, ScheduledFault)> = faults.iter().cloned().enumerate().collect();
    pending.sort_by_key(|(_, f)| f.at_ms);
    let mut pending = std::collections::VecDeque::from(pending);
    // Packet faults armed and waiting for their packet, by number.
    let mut waiting: std::collections::BTreeMap<usize, ScheduledFault> = Default::default();
    // Faults in force, with when they end.
    let mut active: Vec<(u64, u64, ScheduledFault)> = Vec::new();
    let end = w.duration.millis();
    let mut error = None;
    let note = |world: &W, what: String| {
        history.borrow_mut().push(Event::Fault {
            at: world.now_ms(),
            what,
        });
    };
    'run: while world.now_ms() < end {
        let now = world.now_ms();
        // Due now: faults whose time came, and packet faults that fired
        // (their link faults already applied by whoever saw the packet).
        let mut due: Vec<(ScheduledFault, Option<Fired>)> = Vec::new();
        while pending.front().is_some_and(|(_, f)| f.at_ms <= now) {
            let (id, f) = pending.pop_front().expect("checked");
            match &f.after {
                Some(trigger) => {
                    let target = f.target.clone().unwrap_or_default();
                    let link = match f.kind {
                        FaultKind::Cut => Some(LinkFault::Cut(target)),
                        FaultKind::Stall => Some(LinkFault::Stall(target)),
                        _ => None,
                    };
                    tripwires.arm(id, f.what(), trigger.clone(), link);
                    waiting.insert(id, f);
                }
                None => due.push((f, None)),
            }
        }
        for fired in tripwires.take_fired() {
            if let Some(f) = waiting.remove(&fired.id) {
                due.push((f, Some(fired)));
            }
        }
        for (f, fired) in due {
            let target = f.target.clone().unwrap_or_default();
            let client = all.iter().find(|c| c.role.name == target);
            let order = |o: Order| client.is_some_and(|c| c.order(o));
            let mut what = f.what();
            let on_link = fired.is_some();
            // When it fell: a packet fault at its packet.
            let at = fired.as_ref().map_or(now, |x| x.at_ms);
            if let Some(x) = &fired {
                what = fired_what(&f, x);
            }
            match f.kind {
                FaultKind::Cut if !on_link => world.cut(&target),
                FaultKind::Stall if !on_link => world.stall(&target),
                FaultKind::Cut | FaultKind::Stall => {}
                FaultKind::Reset => {
                    if let Some(c) = client {
                        c.host_reset(now);
                    }
                    world.reset(&target)
                }
                FaultKind::Latency => world.set_latency(
                    &target,
                    Duration::from_millis(50),
                    Duration::from_millis(500),
                ),
                FaultKind::BrokerRestart | FaultKind::BrokerStop => {
                    let graceful = f.kind == FaultKind::BrokerStop;
                    let kept = promise.keeps(graceful);
                    let keep_store = world.keeps_store(kept);
                    let done = if graceful {
                        world
                            .stop_broker()
                            .and_then(|()| world.restart_broker(keep_store))
                    } else {
                        world.restart_broker(keep_store)
                    };
                    if done.is_ok() {
                        history.borrow_mut().push(Event::BrokerRestarted {
                            at: world.now_ms(),
                            graceful,
                            kept,
                        });
                    }
                    if let Err(e) = done {
                        error = Some(format!("{} at {:.3}s: {e}", f.what(), now as f64 / 1000.0));
                        break 'run;
                    }
                }
                FaultKind::Takeover | FaultKind::TakeoverHalfOpen | FaultKind::TakeoverClean => {
                    let taken = order(Order::Takeover {
                        answering: f.kind != FaultKind::TakeoverHalfOpen,
                        clean: f.kind == FaultKind::TakeoverClean,
                    });
                    if !taken {
                        what.push_str(" (not connected: nothing to take over)");
                    }
                }
                FaultKind::Away => {
                    order(Order::Away);
                }
            }
            history.borrow_mut().push(Event::Fault { at, what });
            if f.kind.lasts() {
                active.push((at + f.length_ms, at, f));
            }
        }
        let mut i = 0;
        while i < active.len() {
            if active[i].0 <= now {
                let (_, from, f) = active.remove(i);
                end_fault(&mut world, &all, &f, normal_latency);
                note(
                    &world,
                    format!("end of {} from {:.3}s", f.what(), from as f64 / 1000.0),
                );
            } else {
                i += 1;
            }
        }
        if let Err(e) = world.advance() {
            error = Some(e);
            break;
        }
    }
    // The traffic is over: a packet fault still waiting never falls, and
    // one whose packet came in the last step is undone with the rest.
    tripwires.disarm();
    for fired in tripwires.take_fired() {
        if let Some(f) = waiting.remove(&fired.id) {
            history.borrow_mut().push(Event::Fault {
                at: fired.at_ms,
                what: fired_what(&f, &fired),
            });
            if f.kind.lasts() {
                active.push((fired.at_ms, fired.at_ms, f));
            }
        }
    }
    for (_, from, f) in active.drain(..) {
        end_fault(&mut world, &all, &f, normal_latency);
        note(
            &world,
            format!(
                "end of {} from {:.3}s (end of the run)",
                f.what(),
                from as f64 / 1000.0
            ),
        );
    }
    let mut notes = Vec::new();
    if error.is_none() {
        // Drain until every client is connected with nothing left to send
        // and nothing has happened for twice the Keep Alive and a second
        // (or `drain` is up): by then a half-open link has been noticed by
        // both ends, so nothing more is on its way. Past `drain` the run
        // goes on while the broker is still delivering (a loaded machine,
        // a backlog behind a small Receive Maximum), up to `drain` twice
        // more, so that a slow delivery is not taken for a lost one and a
        // broker that never goes quiet still ends.
        let quiet_ms = u64::from(t.keep_alive) * 2_000 + 1_000;
        let start = world.now_ms();
        let deadline = start + w.drain.millis();
        let cap = start + 3 * w.drain.millis();
        let mut last_count = history.borrow().events.len();
        let mut quiet_since = world.now_ms();
        let settled = |world: &W, quiet_since: u64| {
            world.now_ms() >= quiet_since + quiet_ms && all.iter().all(|c| c.settled())
        };
        let busy = loop {
            let now = world.now_ms();
            let busy = now < quiet_since + STILL_BUSY_MS;
            if settled(&world, quiet_since) || now >= cap || (now >= deadline && !busy) {
                break busy;
            }
            if let Err(e) = world.advance() {
                error = Some(e);
                break busy;
            }
            let count = history.borrow().events.len();
            if count != last_count {
                last_count = count;
                quiet_since = world.now_ms();
            }
        };
        if error.is_none() && !settled(&world, quiet_since) {
            notes.push(drain_note(&world, &all, start, quiet_since, busy));
        }
    }
    let checks: Vec<Check> = w.check.iter().filter_map(|c| c.parse().ok()).collect();
    if error.is_none() && (t.retain || checks.contains(&Check::RetainedLatest)) {
        let wire = Wire::new(
            PROBE,
            version.protocol(),
            &ids,
            &wire_log,
            &naming.topic_prefix,
        );
        match read_retained(&mut world, version, naming, wire) {
            Ok(reading) => history.borrow_mut().retained_at_end = Some(reading),
            Err(e) => error = Some(format!("reading the retained messages at the end: {e}")),
        }
    }
    if leave {
        for c in &all {
            c.stop();
        }
        let deadline = world.now_ms() + LEAVE_DEADLINE_MS;
        while world.now_ms() < deadline && !all.iter().all(|c| c.stopped()) {
            if world.advance().is_err() {
                break;
            }
        }
    }
    let sim_ms = world.now_ms();
    // The wire monitor's breaches come first: each names the packet and
    // the moment the broker broke the protocol, often the cause of what
    // the checkers then find in the history.
    let (mut violations, mut advisories) = wire_log.borrow().finish(&history.borrow());
    let found = check::run_all(&checks, &history.borrow());
    violations.extend(found.violations);
    advisories.extend(found.advisories);
    // Only a failure is drawn: a passing run spends nothing on its log.
    let carried = if violations.is_empty() && error.is_none() {
        Vec::new()
    } else {
        world.carried()
    };
    drop(world);
    drop(all);
    let history = Rc::try_unwrap(history)
        .map(RefCell::into_inner)
        .unwrap_or_else(|h| h.borrow().clone());
    let asserted = if violations.is_empty() && error.is_none() {
        let ids: std::collections::BTreeSet<&str> = checks
            .iter()
            .flat_map(|c| c.statements(version).iter().copied())
            .collect();
        ids.into_iter().map(str::to_owned).collect()
    } else {
        Vec::new()
    };
    let queue = check::queue_summary(&history);
    Outcome {
        version,
        seed,
        faults: faults.to_vec(),
        queue,
        history,
        violations,
        sim_ms,
        error,
        notes,
        broker: None,
        advisories,
        asserted,
        carried,
    }
}

/// A packet fault as the history notes it: the fault, its trigger and the
/// packet that fired it (the checkers read the fault's first words).
fn fired_what(f: &ScheduledFault, fired: &Fired) -> String {
    let trigger = f.after.as_ref().map_or(String::new(), |t| format!(", {t}"));
    format!("{}{trigger} ({})", f.what(), fired.packet)
}

/// Past `drain`, the run goes on while something happened within this
/// long (a delivery, an acknowledgement, a connection).
const STILL_BUSY_MS: u64 = 2_000;

/// Why the drain ended unsettled: which clients still had something to
/// do, and whether the broker was still at work, so that a message owed
/// and not delivered reads as what it may be, a run cut short. `busy` is
/// the drain loop's own judgement, not recomputed, so the two cannot differ.
fn drain_note<W: WorkloadWorld>(
    world: &W,
    clients: &[Rc<Client>],
    start: u64,
    quiet_since: u64,
    busy: bool,
) -> String {
    let now = world.now_ms();
    let unsettled: Vec<&str> = clients
        .iter()
        .filter(|c| !c.settled())
        .map(|c| c.role.name.as_str())
        .collect();
    let who = if unsettled.is_empty() {
        "every client settled".to_string()
    } else {
        format!("{} not settled", unsettled.join(", "))
    };
    let mut note = format!(
        "the drain ended {:.1}s after the traffic with {who}, the last event {:.1}s before its end",
        (now - start) as f64 / 1000.0,
        (now - quiet_since) as f64 / 1000.0
    );
    if busy {
        note.push_str(
            ": the broker was still at work, so a message owed may have been on its way \
             (raise `drain`, or run fewer jobs at once on a loaded machine)",
        );
    }
    note
}

/// Longest the clients may take to DISCONNECT at the end (each leaves at
/// its next turn, within half a Keep Alive).
const LEAVE_DEADLINE_MS: u64 = 5_000;

/// Longest the end-of-run reading of retained messages may take.
const PROBE_DEADLINE_MS: u64 = 15_000;

/// A fresh client on a host of its own reads every retained message.
fn read_retained<W: WorkloadWorld>(
    world: &mut W,
    version: VersionName,
    naming: &Naming,
    wire: Wire,
) -> Result<Retained, String> {
    let reading = RetainedReading::default();
    let out = reading.clone();
    let probe = Rc::new(Probe {
        connector: world.connector(PROBE),
        version: version.protocol(),
        naming: naming.clone(),
        wire,
    });
    world.start(PROBE, move || {
        probe::probe_retained(probe.clone(), out.clone())
    });
    let deadline = world.now_ms() + PROBE_DEADLINE_MS;
    while reading.borrow().is_none() && world.now_ms() < deadline {
        world.advance()?;
    }
    let taken = reading.borrow_mut().take();
    taken.unwrap_or_else(|| Err(format!("no answer within {} s", PROBE_DEADLINE_MS / 1000)))
}

fn end_fault<W: WorkloadWorld>(
    world: &mut W,
    clients: &[Rc<Client>],
    f: &ScheduledFault,
    normal: (Duration, Duration),
) {
    let target = f.target.clone().unwrap_or_default();
    match f.kind {
        FaultKind::Cut => world.heal(&target),
        FaultKind::Stall => world.resume(&target),
        FaultKind::Latency => world.set_latency(&target, normal.0, normal.1),
        FaultKind::Away => {
            if let Some(c) = clients.iter().find(|c| c.role.name == target) {
                c.order(Order::Back);
            }
        }
        FaultKind::Reset
        | FaultKind::BrokerRestart
        | FaultKind::BrokerStop
        | FaultKind::Takeover
        | FaultKind::TakeoverHalfOpen
        | FaultKind::TakeoverClean => {}
    }
}
