//! The simulated world: the reference broker on one turmoil host, each
//! scenario client on a host of its own, one seed for everything. Faults are
//! applied between simulation steps.
//!
//! It must not know real brokers or profiles, and nothing in a run reads
//! the wall clock: a run is a pure function of (scenario, seed). Only the
//! watchdog of [`budget`] does, to end a run that never would.

pub mod budget;
mod fate;
pub mod netlog;
pub mod triggers;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use protocol::Version;
use reference_broker::store::{MemoryStore, Store};
use reference_broker::{server, Broker, Config};

use record::carried::Carried;
use record::script::{Failure, Outcome, RunResult};
use record::trace::{Kind, Trace};
use scenario::{Scenario, VersionName};

use crate::engine::backend::Backend;
use crate::engine::{run_watched, Progress};
use crate::net::client::{self, Shared, BROKER_HOST, BROKER_PORT};
use crate::net::loss;
use crate::net::monitor::ClientIds;
use crate::net::tripwire::Tripwires;

/// Two simulated milliseconds per step: fine enough for keep alive, expiry
/// and latency (timing is resolved to 2 ms), and half the cost of 1 ms —
/// every tick polls every host's runtime, which is where a run's time goes.
pub const TICK: Duration = Duration::from_millis(2);
/// Longest a run may last in simulated time.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);

/// Runs `scenario` on `version` with `seed` in the simulated world, within
/// the default wall-clock budget. Never panics: a panic anywhere in the
/// world is reported as the failure of the step that caused it.
pub fn run(scenario: &Scenario, version: VersionName, seed: u64) -> RunResult {
    run_within(scenario, version, seed, budget::WALL_BUDGET)
}

/// The same within `wall` of wall-clock time: past it the run fails,
/// naming the budget and the step it was stuck in.
pub fn run_within(
    scenario: &Scenario,
    version: VersionName,
    seed: u64,
    wall: Duration,
) -> RunResult {
    let owned = Arc::new(scenario.clone());
    let result = budget::within(wall, move |progress| {
        let scenario = &*owned;
        let steps = progress.clone();
        run_watched(scenario, version, seed, &steps, || {
            let names: Vec<String> = scenario.clients.keys().cloned().collect();
            let latency = scenario.network.latency.map(|r| (r.min.0, r.max.0));
            let mut world = World::new(
                seed,
                scenario.broker.clone(),
                latency,
                &names,
                version.protocol(),
            );
            world.watch(progress);
            Ok(world)
        })
    });
    result.unwrap_or_else(|over| {
        let (step, line, step_text) = over.step.unwrap_or((0, 0, "start".into()));
        let mut trace = Trace::default();
        trace.push(over.sim_ms, "runner", Kind::Failed(over.message.clone()));
        RunResult {
            version,
            variant: scenario.variant.clone(),
            seed,
            outcome: Outcome::Failed(Failure {
                step,
                line,
                step_text,
                message: over.message,
            }),
            trace,
            sim_ms: over.sim_ms,
            advisories: Vec::new(),
            asserted: Vec::new(),
            carried: Vec::new(),
        }
    })
}

pub fn client_host(name: &str) -> String {
    format!("client-{name}")
}

/// A clean shutdown asked of the broker host, and its end.
#[derive(Default)]
struct Stop {
    asked: tokio::sync::Notify,
    done: std::cell::Cell<bool>,
}

/// Longest a clean shutdown may take in simulated time: the broker's own
/// drain, and then some.
const STOP_DEADLINE_MS: u64 = 10_000;

pub struct World {
    sim: turmoil::Sim<'static>,
    store: MemoryStore,
    pub clients: BTreeMap<String, Rc<Shared>>,
    pub trace: Rc<RefCell<Trace>>,
    broker_running: bool,
    /// How the driver asks the broker host to shut down cleanly, and hears
    /// that it has.
    stop: Rc<Stop>,
    losses: loss::Links,
    /// Packet triggers the broker's connections report to, once asked.
    watch: Rc<RefCell<Option<Tripwires>>>,
    /// Told the simulated time at every step, for a watchdog.
    progress: Option<Arc<Progress>>,
    /// What every connection's ends wrote and read, and what the world did
    /// to the links: what [`World::carried`] reads.
    taps: netlog::SharedTaps,
    version: Version,
}

impl World {
    /// Builds the world: the broker host and one host per client name.
    pub fn new(
        seed: u64,
        config: Config,
        latency: Option<(Duration, Duration)>,
        client_names: &[String],
        version: Version,
    ) -> World {
        World::with_tick(seed, config, latency, client_names, version, TICK)
    }

    /// The same with another time step (coarser is faster).
    pub fn with_tick(
        seed: u64,
        config: Config,
        latency: Option<(Duration, Duration)>,
        client_names: &[String],
        version: Version,
        tick: Duration,
    ) -> World {
        let mut builder = turmoil::Builder::new();
        builder
            .rng_seed(seed)
            .tick_duration(tick)
            .simulation_duration(MAX_DURATION)
            // A fixed epoch: nothing depends on when the run happens.
            .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        if let Some((min, max)) = latency {
            builder.min_message_latency(min).max_message_latency(max);
        }
        let mut sim = builder.build();
        let store = MemoryStore::new();
        let trace = Rc::new(RefCell::new(Trace::default()));

        let broker_store = store.clone();
        let stop = Rc::new(Stop::default());
        let broker_stop = stop.clone();
        let taps = netlog::SharedTaps::default();
        let broker_taps = taps.clone();
        let watch: Rc<RefCell<Option<Tripwires>>> = Rc::default();
        let broker_watch = watch.clone();
        sim.host(BROKER_HOST, move || {
            let store = broker_store.clone();
            let config = config.clone();
            let stop = broker_stop.clone();
            let taps = broker_taps.clone();
            let watch = broker_watch.clone();
            async move {
                let epoch = turmoil::sim_elapsed().map_or(0, |d| d.as_millis() as u64);
                let snapshot = store.load()?;
                let broker = Broker::restore(config, snapshot, epoch);
                let listener = turmoil::net::TcpListener::bind(("0.0.0.0", BROKER_PORT)).await?;
                let handle = server::spawn(broker, Box::new(store), epoch);
                loop {
                    tokio::select! {
                        accepted = listener.accept() => {
                            let (stream, peer) = accepted?;
                            let tripwires = watch.borrow().clone();
                            handle.serve(netlog::broker_end(&taps, stream, peer, tripwires));
                        }
                        () = stop.asked.notified() => {
                            handle.shutdown().await;
                            stop.done.set(true);
                            return Ok(());
                        }
                    }
                }
            }
        });

        let mut clients = BTreeMap::new();
        let ids = ClientIds::default();
        for name in client_names {
            let shared = Shared::new(
                name,
                version,
                trace.clone(),
                client::Connector::Sim,
                Rc::default(),
                ids.clone(),
            );
            let task_shared = shared.clone();
            sim.host(client_host(name).as_str(), move || {
                client::run(task_shared.clone())
            });
            clients.insert(name.clone(), shared);
        }
        World {
            sim,
            store,
            clients,
            trace,
            broker_running: true,
            stop,
            losses: loss::Links::new(seed),
            watch,
            progress: None,
            taps,
            version,
        }
    }

    /// What the network did with every packet so far: when it left, and
    /// whether it arrived (late, if a stall held it), was lost to a cut or
    /// went down with its connection.
    pub fn carried(&self) -> Vec<Carried> {
        fate::carried(&netlog::lock(&self.taps), self.version)
    }

    /// Notes what the world did to `client`'s link, for [`World::carried`].
    fn link(&self, client: &str, change: netlog::LinkChange) {
        let now = self.now_ms();
        netlog::lock(&self.taps)
            .links
            .push((now, client.to_owned(), change));
    }

    /// From now on the broker reports what each client sends to
    /// `tripwires` the moment it reads it (connections accepted after).
    pub fn report_packets_to(&mut self, tripwires: Tripwires) {
        *self.watch.borrow_mut() = Some(tripwires);
    }

    /// Adds a client host running `software` (started again from scratch
    /// when the host is reset).
    pub fn add_host<F, Fut>(&mut self, name: &str, software: F)
    where
        F: Fn() -> Fut + 'static,
        Fut: std::future::Future<Output = turmoil::Result> + 'static,
    {
        self.sim.host(client_host(name).as_str(), software);
    }

    /// Tells `progress` the simulated time at every step from now on.
    pub fn watch(&mut self, progress: Arc<Progress>) {
        self.progress = Some(progress);
    }

    /// Advances one tick. An error is a host's software failing, or the
    /// simulation passing its limit of simulated time.
    pub fn step(&mut self) -> Result<(), String> {
        if !self.losses.is_empty() {
            self.apply_losses();
        }
        if let Some(p) = &self.progress {
            p.set_sim_ms(self.now_ms());
        }
        // The clients' software opens its streams through the current taps.
        netlog::install(&self.taps);
        netlog::lock(&self.taps).now_ms = self.now_ms();
        if self.sim.elapsed() >= MAX_DURATION {
            return Err(format!(
                "the simulation passed its limit of {} s of simulated time",
                MAX_DURATION.as_secs()
            ));
        }
        self.sim.step().map(|_| ()).map_err(|e| e.to_string())
    }

    fn apply_losses(&mut self) {
        let now = self.now_ms();
        for (client, action, what) in self.losses.tick(now) {
            let host = client_host(&client);
            match action {
                loss::LinkAction::Nothing => {}
                loss::LinkAction::Hold => {
                    self.sim.hold(BROKER_HOST, host.as_str());
                    self.link(&client, netlog::LinkChange::Hold);
                }
                loss::LinkAction::Release => {
                    self.sim.release(BROKER_HOST, host.as_str());
                    self.link(&client, netlog::LinkChange::Release);
                }
                loss::LinkAction::Kill => {
                    self.sim.release(BROKER_HOST, host.as_str());
                    self.sim.partition(BROKER_HOST, host.as_str());
                    self.link(&client, netlog::LinkChange::Release);
                    self.link(&client, netlog::LinkChange::Cut);
                }
            }
            self.log("network", Kind::Event(what));
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        netlog::uninstall(&self.taps);
    }
}

impl Backend for World {
    fn now_ms(&self) -> u64 {
        self.sim.elapsed().as_millis() as u64
    }

    fn trace(&self) -> Rc<RefCell<Trace>> {
        self.trace.clone()
    }

    fn client(&self, name: &str) -> Rc<Shared> {
        self.clients[name].clone()
    }

    fn run_until(
        &mut self,
        deadline_ms: u64,
        done: &mut dyn FnMut() -> bool,
    ) -> Result<bool, String> {
        loop {
            if done() {
                return Ok(true);
            }
            if self.now_ms() >= deadline_ms {
                return Ok(false);
            }
            self.step()?;
        }
    }

    /// Segment loss on `client`'s link from now on; 0 stops it (releasing
    /// anything held). Each link's losses come from the run's seed and the
    /// client's name alone.
    fn set_loss(&mut self, client: &str, rate: f64) {
        if self.losses.set(client, rate) {
            self.sim.release(BROKER_HOST, client_host(client).as_str());
            self.link(client, netlog::LinkChange::Release);
        }
        self.log(
            "network",
            Kind::Event(format!("loss {client} {}%", rate * 100.0)),
        );
    }

    fn cut(&mut self, client: &str) {
        self.sim
            .partition(BROKER_HOST, client_host(client).as_str());
        self.link(client, netlog::LinkChange::Cut);
        self.log("network", Kind::Event(format!("cut {client}")));
    }

    fn heal(&mut self, client: &str) {
        self.sim.repair(BROKER_HOST, client_host(client).as_str());
        self.link(client, netlog::LinkChange::Heal);
        // A link that loss had killed starts afresh, with the same rate.
        if let Some(rate) = self.losses.take_dead(client) {
            self.set_loss(client, rate);
        }
        self.log("network", Kind::Event(format!("heal {client}")));
    }

    fn stall(&mut self, client: &str) {
        self.sim.hold(BROKER_HOST, client_host(client).as_str());
        self.link(client, netlog::LinkChange::Hold);
        self.log("network", Kind::Event(format!("stall {client}")));
    }

    fn resume(&mut self, client: &str) {
        self.sim.release(BROKER_HOST, client_host(client).as_str());
        self.link(client, netlog::LinkChange::Release);
        self.log("network", Kind::Event(format!("resume {client}")));
    }

    /// The client's host crashes and comes back: its connection is reset,
    /// its software starts over (disconnected).
    fn reset(&mut self, client: &str) {
        let host = client_host(client);
        self.sim.crash(host.as_str());
        self.sim.bounce(host.as_str());
        self.log("network", Kind::Event(format!("reset {client}")));
    }

    fn set_latency(&mut self, client: &str, min: Duration, max: Duration) {
        let host = client_host(client);
        self.sim.set_link_latency(BROKER_HOST, host.as_str(), min);
        self.sim
            .set_link_max_message_latency(BROKER_HOST, host.as_str(), max);
        self.log(
            "network",
            Kind::Event(format!(
                "latency {client} {}ms..{}ms",
                min.as_millis(),
                max.as_millis()
            )),
        );
    }

    fn crash_broker(&mut self) -> Result<(), String> {
        if self.broker_running {
            self.sim.crash(BROKER_HOST);
            self.broker_running = false;
        }
        self.log("broker", Kind::Event("crash".into()));
        Ok(())
    }

    /// Asks the broker host to shut down (DISCONNECT 0x8B to 5.0 clients,
    /// wills, state stored) and runs the world until it has, then leaves
    /// the host down until `restart`.
    fn stop_broker(&mut self) -> Result<(), String> {
        self.log("broker", Kind::Event("stop".into()));
        if self.broker_running {
            self.stop.done.set(false);
            self.stop.asked.notify_one();
            let deadline = self.now_ms() + STOP_DEADLINE_MS;
            while !self.stop.done.get() {
                if self.now_ms() >= deadline {
                    return Err(format!(
                        "the broker did not finish shutting down within {} s",
                        STOP_DEADLINE_MS / 1000
                    ));
                }
                self.step()?;
            }
            self.sim.crash(BROKER_HOST);
            self.broker_running = false;
        }
        Ok(())
    }

    fn carried(&self) -> Vec<Carried> {
        World::carried(self)
    }

    fn restart_broker(&mut self, keep_store: bool) -> Result<(), String> {
        if self.broker_running {
            self.sim.crash(BROKER_HOST);
        }
        if !keep_store {
            self.store.clear();
        }
        self.sim.bounce(BROKER_HOST);
        self.broker_running = true;
        let what = if keep_store {
            "restart"
        } else {
            "restart with an empty store"
        };
        self.log("broker", Kind::Event(what.into()));
        Ok(())
    }
}
