//! The runner's world over real TCP: each scenario client talks to a real
//! broker through a fault proxy of its own; time is the wall clock, counted
//! from the start of the run. The client tasks run on a single-threaded
//! tokio runtime that only turns while the runner waits.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use protocol::Version;
use tokio::sync::Notify;
use tokio::task::LocalSet;

use super::instance::Instance;
use crate::engine::backend::Backend;
use crate::external::proxy::{ApplyLink, Control, Proxy};
use crate::net::client::{self, Connector, Shared};
use crate::net::loss::{self, LinkAction, Links};
use crate::net::monitor::ClientIds;
use crate::net::tls::Tls;
use record::trace::{Kind, Trace};

/// How often segment loss is decided while waiting (loss is drawn per
/// 10 ms segment slot; a coarser poll only merges slots).
const LOSS_POLL: Duration = Duration::from_millis(5);

/// A `within:` on a real network gets this much more: fixed for the
/// scheduling of two processes and the proxy, proportional for brokers
/// that check timers on a coarse tick.
pub const SLACK_FIXED_MS: u64 = 200;
pub const SLACK_PERCENT: u64 = 10;

/// Long enough for the proxy to read what is waiting in a loopback socket.
const DRAIN_MS: u64 = 10;

pub struct TcpWorld<'a> {
    rt: tokio::runtime::Runtime,
    local: LocalSet,
    start: Instant,
    clients: BTreeMap<String, Rc<Shared>>,
    proxies: BTreeMap<String, Proxy>,
    trace: Rc<RefCell<Trace>>,
    progress: Rc<Notify>,
    losses: Links,
    /// The broker this run may crash and restart (a dedicated instance).
    broker: Option<&'a mut Instance>,
    broker_addr: SocketAddr,
    tls: Option<Tls>,
    connect_timeout: Duration,
}

/// How the clients reach the broker.
pub struct Link {
    pub seed: u64,
    pub broker: SocketAddr,
    pub tls: Option<Tls>,
    /// The scenario's `network: {latency}`, applied by each proxy.
    pub latency: Option<(Duration, Duration)>,
    /// Bounds every TCP (+ TLS) connect.
    pub connect_timeout: Duration,
}

impl<'a> TcpWorld<'a> {
    /// Starts a proxy in front of the broker for each client, and each
    /// client's task; `instance` is the broker crash/restart steps act on.
    pub fn new(
        link: &Link,
        client_names: &[String],
        version: Version,
        instance: Option<&'a mut Instance>,
    ) -> Result<TcpWorld<'a>, String> {
        let mut world = TcpWorld::with_proxies(link, client_names, instance)?;
        let ids = ClientIds::default();
        for name in client_names {
            let connector = world.connector(name);
            let shared = Shared::new(
                name,
                version,
                world.trace.clone(),
                connector,
                world.progress.clone(),
                ids.clone(),
            );
            world.local.spawn_local(client::run(shared.clone()));
            world.clients.insert(name.clone(), shared);
        }
        Ok(world)
    }

    /// A proxy in front of the broker for each of `names`, and no clients
    /// yet.
    pub fn with_proxies(
        link: &Link,
        names: &[String],
        instance: Option<&'a mut Instance>,
    ) -> Result<TcpWorld<'a>, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
        let local = LocalSet::new();
        let mut proxies = BTreeMap::new();
        let start = Instant::now();
        for name in names {
            let proxy = local
                .block_on(
                    &rt,
                    Proxy::start_for(
                        link.broker,
                        loss::link_seed(link.seed, name),
                        name,
                        start,
                        link.tls.clone(),
                    ),
                )
                .map_err(|e| format!("cannot start the fault proxy for {name}: {e}"))?;
            if let Some((min, max)) = link.latency {
                proxy.set_latency(min, max);
            }
            proxies.insert(name.clone(), proxy);
        }
        Ok(TcpWorld {
            rt,
            local,
            start,
            clients: BTreeMap::new(),
            proxies,
            trace: Rc::new(RefCell::new(Trace::default())),
            progress: Rc::default(),
            losses: Links::new(link.seed),
            broker: instance,
            broker_addr: link.broker,
            tls: link.tls.clone(),
            connect_timeout: link.connect_timeout,
        })
    }

    /// How `name` reaches the broker: through its proxy, or straight (a
    /// client the faults never aim at).
    /// Through a proxy the client speaks plain MQTT: the proxy holds the
    /// TLS session with the broker, so it sees the packets.
    pub fn connector(&self, name: &str) -> Connector {
        let proxy = self.proxies.get(name);
        Connector::Tcp {
            addr: proxy.map_or(self.broker_addr, Proxy::addr),
            tls: if proxy.is_some() {
                None
            } else {
                self.tls.clone()
            },
            start: self.start,
            timeout: self.connect_timeout,
        }
    }

    /// Starts a task on the world's runtime (it runs while the world waits).
    pub fn spawn(&mut self, task: impl std::future::Future<Output = turmoil::Result> + 'static) {
        self.local.spawn_local(task);
    }

    fn proxy(&self, client: &str) -> &Proxy {
        &self.proxies[client]
    }

    fn apply_losses(&mut self) {
        let now = self.now_ms();
        for (client, action, what) in self.losses.tick(now) {
            let proxy = &self.proxies[&client];
            match action {
                LinkAction::Nothing => {}
                LinkAction::Hold => proxy.stall(),
                LinkAction::Release => proxy.resume(),
                LinkAction::Kill => {
                    proxy.resume();
                    proxy.cut();
                }
            }
            self.log("network", Kind::Event(what));
        }
    }

    /// Lets the clients run for up to `wait`, or until one makes progress.
    fn turn(&mut self, wait: Duration) {
        let progress = self.progress.clone();
        self.local.block_on(&self.rt, async move {
            let _ = tokio::time::timeout(wait, progress.notified()).await;
        });
    }
}

impl Backend for TcpWorld<'_> {
    /// Every client says goodbye properly (so no will is published after
    /// the run), then the connections close.
    fn finish(&mut self) {
        for shared in self.clients.values() {
            if shared.state.borrow().connected {
                let version = shared.state.borrow().version;
                let mut out = bytes::BytesMut::new();
                let disconnect = protocol::Packet::Disconnect(protocol::Disconnect::default());
                if protocol::encode(&disconnect, version, &mut out).is_ok() {
                    shared.command(client::Command::Send {
                        bytes: out.freeze(),
                        label: "DISCONNECT (end of run)".into(),
                    });
                }
                shared.command(client::Command::Close);
            }
        }
        let deadline = self.now_ms() + 2_000;
        let clients: Vec<Rc<Shared>> = self.clients.values().cloned().collect();
        let _ = self.run_until(deadline, &mut || clients.iter().all(|c| c.idle()));
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
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
            let now = self.now_ms();
            if now >= deadline_ms {
                return Ok(false);
            }
            let mut wait = Duration::from_millis(deadline_ms - now);
            if !self.losses.is_empty() {
                self.apply_losses();
                wait = wait.min(LOSS_POLL);
            }
            self.turn(wait);
        }
    }

    fn cut(&mut self, client: &str) {
        self.proxy(client).cut();
        self.log("network", Kind::Event(format!("cut {client}")));
    }

    fn heal(&mut self, client: &str) {
        // Bytes the client wrote while cut may still sit unread in the
        // proxy's socket: let the proxy read (and drop) them first, or
        // healing would deliver what was sent into a dead link.
        let _ = self.run_for(DRAIN_MS);
        self.proxy(client).heal();
        if let Some(rate) = self.losses.take_dead(client) {
            self.set_loss(client, rate);
        }
        self.log("network", Kind::Event(format!("heal {client}")));
    }

    fn stall(&mut self, client: &str) {
        self.proxy(client).stall();
        self.log("network", Kind::Event(format!("stall {client}")));
    }

    fn resume(&mut self, client: &str) {
        self.proxy(client).resume();
        self.log("network", Kind::Event(format!("resume {client}")));
    }

    fn reset(&mut self, client: &str) {
        self.proxy(client).reset();
        self.log("network", Kind::Event(format!("reset {client}")));
    }

    fn set_latency(&mut self, client: &str, min: Duration, max: Duration) {
        self.proxy(client).set_latency(min, max);
        self.log(
            "network",
            Kind::Event(format!(
                "latency {client} {}ms..{}ms",
                min.as_millis(),
                max.as_millis()
            )),
        );
    }

    fn set_loss(&mut self, client: &str, rate: f64) {
        if self.losses.set(client, rate) {
            self.proxy(client).resume();
        }
        self.log(
            "network",
            Kind::Event(format!("loss {client} {}%", rate * 100.0)),
        );
    }

    fn crash_broker(&mut self) -> Result<(), String> {
        let broker = self
            .broker
            .as_deref_mut()
            .ok_or("this broker cannot be crashed (no profile manages it)")?;
        broker.crash()?;
        self.log("broker", Kind::Event("crash (SIGKILL)".into()));
        Ok(())
    }

    fn stop_broker(&mut self) -> Result<(), String> {
        let broker = self
            .broker
            .as_deref_mut()
            .ok_or("this broker cannot be stopped (no profile manages it)")?;
        broker.stop();
        self.log("broker", Kind::Event("stop (SIGTERM)".into()));
        Ok(())
    }

    fn restart_broker(&mut self, keep_store: bool) -> Result<(), String> {
        let broker = self
            .broker
            .as_deref_mut()
            .ok_or("this broker cannot be restarted (no profile manages it)")?;
        broker.restart(keep_store)?;
        let what = if keep_store {
            "restart"
        } else {
            "restart with an empty store"
        };
        self.log("broker", Kind::Event(what.into()));
        Ok(())
    }

    fn slack_ms(&self, within_ms: u64) -> u64 {
        SLACK_FIXED_MS + within_ms * SLACK_PERCENT / 100
    }

    /// The proxies' logs, in the order the packets left their senders.
    fn carried(&self) -> Vec<record::carried::Carried> {
        let mut all: Vec<_> = self.proxies.values().flat_map(Proxy::log).collect();
        all.sort_by_key(|c| c.sent_ms);
        all
    }
}

impl crate::workload::run::WorkloadWorld for TcpWorld<'_> {
    fn connector(&self, name: &str) -> Connector {
        TcpWorld::connector(self, name)
    }

    /// A task on the world's runtime; a reset only resets its connection,
    /// as the proxy has no host to restart.
    fn start<F, Fut>(&mut self, _name: &str, software: F)
    where
        F: Fn() -> Fut + 'static,
        Fut: std::future::Future<Output = turmoil::Result> + 'static,
    {
        self.spawn(software());
    }

    fn advance(&mut self) -> Result<(), String> {
        self.run_for(crate::workload::run::TICK.as_millis() as u64)
    }

    /// Every proxy watches its client's packets both ways, and applies a
    /// link fault they fire to whichever proxy it names.
    fn watch_packets(
        &mut self,
        tripwires: &crate::net::tripwire::Tripwires,
    ) -> Option<crate::net::tripwire::Apply> {
        let controls: BTreeMap<String, Control> = self
            .proxies
            .iter()
            .map(|(n, p)| (n.clone(), p.control()))
            .collect();
        let apply: ApplyLink = Arc::new(move |f| {
            use crate::net::tripwire::LinkFault;
            match f {
                LinkFault::Cut(c) => controls.get(c).map(Control::cut),
                LinkFault::Stall(c) => controls.get(c).map(Control::stall),
            };
        });
        for p in self.proxies.values() {
            p.watch(tripwires.clone(), apply.clone());
        }
        None
    }

    /// A real broker keeps what it keeps: its store is never deleted
    /// behind its back.
    fn keeps_store(&self, _promised: bool) -> bool {
        true
    }
}
