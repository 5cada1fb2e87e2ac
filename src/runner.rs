//! Runs a scripted scenario in the simulated world, one version and one seed
//! at a time, and says exactly what went wrong: which step, what was
//! expected, what came instead, with the trace as evidence.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use protocol::{
    Ack, Connect, Disconnect, Packet, Properties, Publish, QoS, ReasonCode, RetainHandling,
    Subscribe, Subscription, SubscriptionOptions, Unsubscribe, Version, Will,
};

use crate::backend::Backend;
use crate::broker_ids::BrokerIds;
use crate::props;
use crate::scenario::values::{Match, Payload, Reason};
use crate::scenario::{
    BrokerAction, ClientAction, ClientSpec, ConnAckMatch, NetworkAction, PacketMatch, Scenario,
    Step, VersionName, WillSpec,
};
use crate::sim::client::{Command, Shared};
use crate::sim::World;
use crate::trace::{describe, Kind, Trace};

/// Deadline of an `expect` when the scenario names none.
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// 1-based position in `steps`.
    pub step: usize,
    /// Where the step is in the file (0 if unknown).
    pub line: u64,
    pub step_text: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed(Failure),
}

#[derive(Clone, Debug)]
pub struct RunResult {
    pub version: VersionName,
    pub seed: u64,
    pub outcome: Outcome,
    pub trace: Trace,
    /// Simulated time the run took.
    pub sim_ms: u64,
}

impl RunResult {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }
}

/// Runs `scenario` on `version` with `seed` in the simulated world. Never
/// panics: a panic anywhere in the world is reported as the failure of the
/// step that caused it.
pub fn run(scenario: &Scenario, version: VersionName, seed: u64) -> RunResult {
    run_with(scenario, version, seed, || {
        let names: Vec<String> = scenario.clients.keys().cloned().collect();
        let latency = scenario.network.latency.map(|r| (r.min.0, r.max.0));
        Ok(World::new(
            seed,
            scenario.broker.clone(),
            latency,
            &names,
            version.protocol(),
        ))
    })
}

/// Runs `scenario` in the world `make` builds (with every scenario client).
pub fn run_with<B: Backend>(
    scenario: &Scenario,
    version: VersionName,
    seed: u64,
    make: impl FnOnce() -> Result<B, String>,
) -> RunResult {
    let trace_cell: Rc<std::cell::RefCell<Trace>> = Rc::default();
    let mut sim_ms = 0;
    let mut current = (0usize, 0u64, String::new());
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
        let result = r.run_steps(&mut current);
        sim_ms = r.world.now_ms();
        r.world.finish();
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
        seed,
        outcome,
        trace,
        sim_ms,
    }
}

struct ClientCtx {
    spec: ClientSpec,
    next_id: u16,
    broker_ids: BrokerIds,
}

impl ClientCtx {
    fn next_packet_id(&mut self) -> u16 {
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        id
    }
}

struct Runner<'a, B: Backend> {
    scenario: &'a Scenario,
    version: Version,
    world: B,
    clients: BTreeMap<String, ClientCtx>,
    timeout_ms: u64,
}

type StepResult = Result<(), String>;

impl<'a, B: Backend> Runner<'a, B> {
    fn new(scenario: &'a Scenario, version: VersionName, mut world: B) -> Runner<'a, B> {
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
        }
    }

    fn run_steps(&mut self, current: &mut (usize, u64, String)) -> Outcome {
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
            *current = (i + 1, step.referenced.line(), text.clone());
            self.world
                .log("runner", Kind::Step(format!("step {}: {text}", i + 1)));
            if let Err(message) = self.exec(&step.value) {
                self.world.log("runner", Kind::Failed(message.clone()));
                return Outcome::Failed(Failure {
                    step: i + 1,
                    line: step.referenced.line(),
                    step_text: text,
                    message,
                });
            }
        }
        Outcome::Passed
    }

    fn exec(&mut self, step: &Step) -> StepResult {
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
            Step::Broker(BrokerAction::Restart { keep_store }) => {
                self.world.restart_broker(*keep_store)?;
                // Give it a tick to listen again.
                self.world.run_for(1)
            }
            Step::Client { name, action, .. } => {
                let result = self.client_step(name, action);
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

    fn client_ctx(&mut self, name: &str) -> Result<&mut ClientCtx, String> {
        self.clients
            .get_mut(name)
            .ok_or_else(|| format!("no client named {name:?}"))
    }

    /// The broker's identifier for a scenario's number (see `broker_ids`).
    fn broker_id(&self, name: &str, n: u16) -> u16 {
        self.clients.get(name).map_or(n, |c| c.broker_ids.actual(n))
    }

    fn shared(&self, name: &str) -> Rc<Shared> {
        self.world.client(name)
    }

    /// When the scenario's default deadline runs out, from now.
    fn deadline(&self) -> u64 {
        self.world.now_ms() + self.timeout_ms
    }

    /// Queues a packet and lets the client write it.
    fn send(&mut self, name: &str, packet: &Packet) -> StepResult {
        let mut out = BytesMut::new();
        protocol::encode(packet, self.version, &mut out)
            .map_err(|e| format!("cannot encode {}: {e}", packet.packet_type()))?;
        self.send_bytes(name, out.freeze(), describe(packet))
    }

    fn send_bytes(&mut self, name: &str, bytes: Bytes, label: String) -> StepResult {
        let shared = self.shared(name);
        if !shared.state.borrow().connected {
            return Err(format!("{name} is not connected; cannot send {label}"));
        }
        shared.command(Command::Send { bytes, label });
        self.settle(&shared)
    }

    /// Runs until the client has carried out its commands.
    fn settle(&mut self, shared: &Rc<Shared>) -> StepResult {
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
    fn await_packet(
        &mut self,
        name: &str,
        what: &str,
        wanted: impl Fn(&Packet) -> bool,
    ) -> Result<Packet, String> {
        let within = self.timeout_ms;
        self.await_packet_within(name, what, within, false, wanted)
    }

    fn await_packet_within(
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
    fn timed_wait(
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
            format!(" (+{slack} ms slack for a real network), nor {took} ms after the step began")
        };
        Ok((false, note))
    }

    fn client_step(&mut self, name: &str, action: &ClientAction) -> StepResult {
        match action {
            ClientAction::Connect(c) => self.connect(name, c),
            ClientAction::Subscribe(s) => self.subscribe(name, s),
            ClientAction::Unsubscribe(filters) => self.unsubscribe(name, filters),
            ClientAction::Publish(p) => self.publish(name, p),
            ClientAction::Disconnect(d) => {
                let shared = self.shared(name);
                if !d.abrupt {
                    let mut properties = Properties::default();
                    properties.session_expiry_interval = d.session_expiry;
                    let reason = ReasonCode(d.reason.map_or(0, |r| r.0));
                    if self.version == Version::V311
                        && (reason.0 != 0 || d.session_expiry.is_some())
                    {
                        return Err(
                            "DISCONNECT reason codes and properties need MQTT 5 (use `only: 5`)"
                                .into(),
                        );
                    }
                    self.send(name, &Packet::Disconnect(Disconnect { reason, properties }))?;
                    // Wait (up to the step deadline) for the broker to close
                    // its side: then it has acted on the DISCONNECT, and a
                    // reconnect in the next step cannot overtake it on
                    // another connection. A broker that does not close is
                    // not an error here: closing is the client's duty.
                    let deadline = self.deadline();
                    self.world
                        .run_until(deadline, &mut || shared.state.borrow().closed)?;
                }
                shared.command(Command::Close);
                self.settle(&shared)
            }
            ClientAction::Send(s) => {
                use crate::scenario::SendStep;
                let packet = match s {
                    SendStep::Raw(hex) => {
                        let bytes = crate::scenario::values::parse_hex(hex)?;
                        let label = format!("raw {}", crate::scenario::values::hex(&bytes));
                        return self.send_bytes(name, Bytes::from(bytes), label);
                    }
                    // Acknowledgements of the broker's messages carry the
                    // identifier the broker chose; a PUBREL, the client's own.
                    SendStep::Puback(id) => Packet::PubAck(Ack::new(self.broker_id(name, *id))),
                    SendStep::Pubrec(id) => Packet::PubRec(Ack::new(self.broker_id(name, *id))),
                    SendStep::Pubrel(id) => Packet::PubRel(Ack::new(*id)),
                    SendStep::Pubcomp(id) => Packet::PubComp(Ack::new(self.broker_id(name, *id))),
                    SendStep::Pingreq => Packet::PingReq,
                };
                self.send(name, &packet)
            }
            ClientAction::Expect(e) if e.unordered => {
                let packet = self.in_version(&e.packet);
                // The first packet that matches, wherever it is; an error
                // lists what came instead.
                let within = e.within.map_or(self.timeout_ms, |d| d.millis());
                let ids = self.client_ctx(name)?.broker_ids.clone();
                let wanted = |p: &Packet| check_packet(&ids.resolve(&packet, p), p).is_ok();
                let what = format!("matching {}", e.packet.name());
                self.await_packet_within(name, &what, within, e.within.is_some(), wanted)
                    .and_then(|p| {
                        self.client_ctx(name)?.broker_ids.bind(&packet, &p);
                        Ok(())
                    })
                    .map_err(|err| {
                        // Say how each packet waiting in the inbox differs.
                        let shared = self.shared(name);
                        let s = shared.state.borrow();
                        let why: Vec<String> = s
                            .inbox
                            .iter()
                            .filter_map(|p| check_packet(&ids.resolve(&packet, p), p).err())
                            .collect();
                        if why.is_empty() {
                            err
                        } else {
                            format!("no {what} within {within} ms: {}", why.join("; "))
                        }
                    })
            }
            ClientAction::Expect(e) => {
                let shared = self.shared(name);
                let within = e.within.map_or(self.timeout_ms, |d| d.millis());
                let (_, late) = self.timed_wait(within, e.within.is_some(), &mut || {
                    let s = shared.state.borrow();
                    !s.inbox.is_empty() || s.closed
                })?;
                if !late.is_empty() {
                    return Err(format!(
                        "expected {}, nothing arrived within {within} ms{late}",
                        e.packet.name()
                    ));
                }
                let got = shared.state.borrow_mut().inbox.pop_front();
                match got {
                    Some(p) => {
                        let m = self.in_version(&e.packet);
                        self.client_ctx(name)?.broker_ids.take(&m, &p)
                    }
                    None if shared.state.borrow().closed
                        && matches!(e.packet, PacketMatch::Disconnect(_))
                        && !self.world.says_why_before_closing() =>
                    {
                        self.world.log(
                            name,
                            Kind::Event(
                                "closed without DISCONNECT: allowed for a broker without \
                                 `disconnect_before_close` (only the close is a MUST, 5.0 §4.13.1)"
                                    .into(),
                            ),
                        );
                        Ok(())
                    }
                    None if shared.state.borrow().closed => Err(format!(
                        "expected {}, but the connection was closed",
                        e.packet.name()
                    )),
                    None => Err(format!(
                        "expected {}, nothing arrived within {} ms",
                        e.packet.name(),
                        e.within.map_or(self.timeout_ms, |d| d.millis())
                    )),
                }
            }
            ClientAction::ExpectNothing(d) => {
                let shared = self.shared(name);
                let until = self.world.now_ms() + d.millis();
                let arrived = self
                    .world
                    .run_until(until, &mut || !shared.state.borrow().inbox.is_empty())?;
                if arrived {
                    let p = shared.state.borrow_mut().inbox.pop_front();
                    let what = p.as_ref().map(describe).unwrap_or_default();
                    Err(format!("expected nothing for {d}, received {what}"))
                } else {
                    Ok(())
                }
            }
            ClientAction::ExpectClosed(e) => {
                let shared = self.shared(name);
                let within = e.within.map_or(self.timeout_ms, |d| d.millis());
                let (closed, late) = self.timed_wait(within, e.within.is_some(), &mut || {
                    shared.state.borrow().closed
                })?;
                if closed {
                    Ok(())
                } else if !late.is_empty() {
                    Err(format!(
                        "expected the broker to close the connection within {within} ms{late}"
                    ))
                } else {
                    Err(format!(
                        "expected the broker to close the connection within {within} ms; it is still open",
                    ))
                }
            }
        }
    }

    fn connect(&mut self, name: &str, c: &crate::scenario::ConnectStep) -> StepResult {
        let ctx = &self.clients[name];
        let spec = &ctx.spec;
        let v5 = self.version == Version::V5;
        let will_spec = c.will.as_ref().or(spec.will.as_ref());
        let will = match will_spec {
            Some(w) => Some(self.will(w)?),
            None => None,
        };
        let mut named = spec.properties.clone();
        named.extend(c.properties.clone());
        if !v5 && !named.is_empty() {
            return Err("CONNECT properties need MQTT 5 (use `versions: [5]`)".into());
        }
        let mut properties = Properties::from(props::build(&named)?);
        if v5 {
            let p = &mut *properties;
            if let Some(e) = c.session_expiry.or(spec.session_expiry) {
                p.session_expiry_interval = Some(e);
            }
            p.receive_maximum = p.receive_maximum.or(spec.receive_maximum);
            p.maximum_packet_size = p.maximum_packet_size.or(spec.maximum_packet_size);
            p.topic_alias_maximum = p.topic_alias_maximum.or(spec.topic_alias_maximum);
        }
        let keep_alive = c.keep_alive.unwrap_or(spec.keep_alive);
        let connect = Connect {
            version: self.version,
            clean_start: c.clean_start.unwrap_or(spec.clean_start),
            keep_alive,
            properties: if properties.is_empty() {
                Properties::default()
            } else {
                properties
            },
            client_id: c
                .client_id
                .clone()
                .or_else(|| spec.client_id.clone())
                .unwrap_or_else(|| name.to_owned()),
            will,
            username: c.username.clone().or_else(|| spec.username.clone()),
            password: c
                .password
                .clone()
                .or_else(|| spec.password.clone())
                .map(Bytes::from),
        };
        let shared = self.shared(name);
        {
            let mut s = shared.state.borrow_mut();
            s.auto_ack = spec.auto_ack;
            s.auto_ping = spec.auto_ping;
            s.keep_alive = keep_alive;
            s.inbox.clear();
        }
        shared.command(Command::Connect);
        self.settle(&shared)?;
        if let Some(e) = shared.state.borrow().connect_error.clone() {
            return Err(format!("TCP connection to the broker failed: {e}"));
        }
        match &c.raw {
            Some(hex) => {
                let bytes = crate::scenario::values::parse_hex(hex)?;
                let label = format!("raw {}", crate::scenario::values::hex(&bytes));
                self.send_bytes(name, Bytes::from(bytes), label)?;
            }
            None => self.send(name, &Packet::from(connect))?,
        }
        if !c.wait {
            return Ok(());
        }
        let got = self.await_packet(name, "CONNACK", |p| matches!(p, Packet::ConnAck(_)))?;
        let default = ConnAckMatch {
            reason: Match::Is(Reason(0)),
            ..ConnAckMatch::default()
        };
        let expect = c.expect.as_ref().unwrap_or(&default);
        check_packet(
            &self.in_version(&PacketMatch::ConnAck(expect.clone())),
            &got,
        )
    }

    /// The codec reads a 3.1.1 CONNACK return code as its 5.0 reason code
    /// (0x02 Identifier rejected is 0x85); a 3.1.1 scenario may write either.
    fn in_version(&self, m: &PacketMatch) -> PacketMatch {
        match m {
            PacketMatch::ConnAck(c) if self.version == Version::V311 => {
                let mut c = c.clone();
                if let Match::Is(Reason(code @ 1..=5)) = c.reason {
                    if let Some(r) = ReasonCode::from_v311_connack(code) {
                        c.reason = Match::Is(Reason(r.0));
                    }
                }
                PacketMatch::ConnAck(c)
            }
            other => other.clone(),
        }
    }

    fn will(&self, w: &WillSpec) -> Result<Will, String> {
        let mut properties = props::build(&w.properties)?;
        if let Some(d) = w.delay {
            properties.will_delay_interval = Some(d);
        }
        let properties = Properties::from(properties);
        if self.version == Version::V311 && !properties.is_empty() {
            return Err("will delay and will properties need MQTT 5 (use `versions: [5]`)".into());
        }
        Ok(Will {
            topic: w.topic.clone(),
            payload: Bytes::from(w.payload.0.clone()),
            qos: QoS::from_u8(w.qos).unwrap_or_default(),
            retain: w.retain,
            properties,
        })
    }

    fn subscribe(&mut self, name: &str, s: &crate::scenario::SubscribeStep) -> StepResult {
        let id = self
            .clients
            .get_mut(name)
            .expect("known client")
            .next_packet_id();
        let mut properties = Properties::default();
        if let Some(sub_id) = s.id {
            if self.version == Version::V311 {
                return Err("subscription identifiers need MQTT 5 (use `only: 5`)".into());
            }
            properties.subscription_identifiers = vec![sub_id];
        }
        let filters = s
            .filters
            .iter()
            .map(|(filter, o)| Subscription {
                filter: filter.clone(),
                options: SubscriptionOptions {
                    qos: QoS::from_u8(o.qos).unwrap_or_default(),
                    no_local: o.no_local,
                    retain_as_published: o.retain_as_published,
                    retain_handling: match o.retain_handling {
                        1 => RetainHandling::SendIfNew,
                        2 => RetainHandling::DoNotSend,
                        _ => RetainHandling::SendAtSubscribe,
                    },
                },
            })
            .collect();
        self.send(
            name,
            &Packet::Subscribe(Subscribe {
                packet_id: id,
                properties,
                filters,
            }),
        )?;
        let got = self.await_packet(
            name,
            &format!("SUBACK id={id}"),
            |p| matches!(p, Packet::SubAck(a) if a.packet_id == id),
        )?;
        let Packet::SubAck(ack) = got else {
            unreachable!("await_packet returns what it matched")
        };
        let expected: Vec<u8> = match &s.expect {
            Some(reasons) => reasons.iter().map(|r| r.0).collect(),
            None => s.filters.iter().map(|(_, o)| o.qos).collect(),
        };
        let got: Vec<u8> = ack.reasons.iter().map(|r| r.0).collect();
        if got == expected {
            Ok(())
        } else {
            Err(format!(
                "SUBACK reason codes are {}, expected {}",
                codes(&got),
                codes(&expected)
            ))
        }
    }

    fn unsubscribe(&mut self, name: &str, filters: &[String]) -> StepResult {
        let id = self
            .clients
            .get_mut(name)
            .expect("known client")
            .next_packet_id();
        self.send(
            name,
            &Packet::Unsubscribe(Unsubscribe {
                packet_id: id,
                properties: Properties::default(),
                filters: filters.to_vec(),
            }),
        )?;
        self.await_packet(
            name,
            &format!("UNSUBACK id={id}"),
            |p| matches!(p, Packet::UnsubAck(a) if a.packet_id == id),
        )
        .map(|_| ())
    }

    fn publish(&mut self, name: &str, p: &crate::scenario::PublishStep) -> StepResult {
        let qos = QoS::from_u8(p.qos).unwrap_or_default();
        let id = match (qos, p.id) {
            (QoS::AtMostOnce, _) => None,
            (_, Some(id)) => Some(id),
            (_, None) => Some(
                self.clients
                    .get_mut(name)
                    .expect("known client")
                    .next_packet_id(),
            ),
        };
        let properties = Properties::from(props::build(&p.properties)?);
        if self.version == Version::V311 && !properties.is_empty() {
            return Err("PUBLISH properties need MQTT 5 (use `only: 5`)".into());
        }
        self.send(
            name,
            &Packet::Publish(Publish {
                dup: p.dup,
                qos,
                retain: p.retain,
                topic: p.topic.clone(),
                packet_id: id,
                properties,
                payload: Bytes::from(p.payload.0.clone()),
            }),
        )?;
        if !p.await_ack {
            return Ok(());
        }
        let id = id.unwrap_or(0);
        match qos {
            QoS::AtMostOnce => Ok(()),
            QoS::AtLeastOnce => self
                .await_packet(
                    name,
                    &format!("PUBACK id={id}"),
                    |p| matches!(p, Packet::PubAck(a) if a.packet_id == id),
                )
                .map(|_| ()),
            QoS::ExactlyOnce => {
                self.await_packet(
                    name,
                    &format!("PUBREC id={id}"),
                    |p| matches!(p, Packet::PubRec(a) if a.packet_id == id),
                )?;
                self.send(name, &Packet::PubRel(Ack::new(id)))?;
                self.await_packet(
                    name,
                    &format!("PUBCOMP id={id}"),
                    |p| matches!(p, Packet::PubComp(a) if a.packet_id == id),
                )
                .map(|_| ())
            }
        }
    }
}

fn codes(c: &[u8]) -> String {
    let items: Vec<String> = c.iter().map(|b| format!("0x{b:02X}")).collect();
    format!("[{}]", items.join(", "))
}

fn field<T: PartialEq + std::fmt::Display>(
    name: &str,
    expected: &Match<T>,
    actual: Option<&T>,
) -> Result<(), String> {
    match (expected, actual) {
        (Match::Any, _) | (Match::Absent, None) | (Match::Present, Some(_)) => Ok(()),
        (Match::Absent, Some(v)) if v.to_string() == "\"absent\"" => Err(format!(
            "{name} is {v}, expected absent (no value); the string \"absent\" is written {{is: absent}}"
        )),
        (Match::Absent, Some(v)) => Err(format!("{name} is {v}, expected absent")),
        (Match::Present, None) => Err(format!("{name} is absent, expected present")),
        (Match::Is(want), Some(v)) if v == want => Ok(()),
        (Match::Is(want), Some(v)) => Err(format!("{name} is {v}, expected {want}")),
        (Match::Is(want), None) => Err(format!("{name} is absent, expected {want}")),
        (Match::Between(lo, hi), Some(v)) => match v.to_string().parse::<u64>() {
            Ok(n) if (*lo..=*hi).contains(&n) => Ok(()),
            _ => Err(format!("{name} is {v}, expected between {lo} and {hi}")),
        },
        (Match::Between(lo, hi), None) => Err(format!(
            "{name} is absent, expected between {lo} and {hi}"
        )),
    }
}

struct Bits(bool);

impl std::fmt::Display for Bits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", u8::from(self.0))
    }
}

/// Checks a received packet against an expectation; the error names every
/// field that differs.
pub fn check_packet(expected: &PacketMatch, got: &Packet) -> StepResult {
    let mismatch = |problems: Vec<String>| -> StepResult {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{}; received {}",
                problems.join(", "),
                describe(got)
            ))
        }
    };
    let mut problems = Vec::new();
    let mut note = |r: Result<(), String>| {
        if let Err(e) = r {
            problems.push(e);
        }
    };
    match (expected, got) {
        (PacketMatch::ConnAck(m), Packet::ConnAck(a)) => {
            note(field(
                "session_present",
                &bool_match(&m.session_present),
                Some(&Bits(a.session_present)),
            ));
            note(field("reason", &m.reason, Some(&Reason(a.reason.0))));
            note(props::check(&m.properties, &a.properties));
        }
        (PacketMatch::Publish(m), Packet::Publish(p)) => {
            note(field(
                "topic",
                &m.topic.clone().map_display(),
                Some(&Quoted(p.topic.clone())),
            ));
            note(field(
                "payload",
                &m.payload,
                Some(&Payload(p.payload.to_vec())),
            ));
            note(field("qos", &m.qos, Some(&(p.qos as u8))));
            note(field(
                "retain",
                &bool_match(&m.retain),
                Some(&Bits(p.retain)),
            ));
            note(field("dup", &bool_match(&m.dup), Some(&Bits(p.dup))));
            note(field("id", &m.id, p.packet_id.as_ref()));
            note(props::check(&m.properties, &p.properties));
        }
        (PacketMatch::PubAck(m), Packet::PubAck(a))
        | (PacketMatch::PubRec(m), Packet::PubRec(a))
        | (PacketMatch::PubRel(m), Packet::PubRel(a))
        | (PacketMatch::PubComp(m), Packet::PubComp(a)) => {
            note(field("id", &m.id, Some(&a.packet_id)));
            note(field("reason", &m.reason, Some(&Reason(a.reason.0))));
        }
        (PacketMatch::SubAck(m), Packet::SubAck(a)) => {
            note(field("id", &m.id, Some(&a.packet_id)));
            let got: Vec<u8> = a.reasons.iter().map(|r| r.0).collect();
            note(reasons_field(&m.reasons, &got));
        }
        (PacketMatch::UnsubAck(m), Packet::UnsubAck(a)) => {
            note(field("id", &m.id, Some(&a.packet_id)));
            let got: Vec<u8> = a.reasons.iter().map(|r| r.0).collect();
            note(reasons_field(&m.reasons, &got));
        }
        (PacketMatch::PingResp, Packet::PingResp) => {}
        (PacketMatch::Disconnect(m), Packet::Disconnect(d)) => {
            note(field("reason", &m.reason, Some(&Reason(d.reason.0))));
        }
        (m, got) => {
            return Err(format!("expected {}, received {}", m.name(), describe(got)));
        }
    }
    mismatch(problems).map_err(|e| format!("{} differs: {e}", expected.name()))
}

fn reasons_field(expected: &Match<Vec<Reason>>, got: &[u8]) -> StepResult {
    match expected {
        Match::Any => Ok(()),
        Match::Absent if got.is_empty() => Ok(()),
        Match::Absent => Err(format!("reasons are {}, expected none", codes(got))),
        Match::Present if got.is_empty() => Err("reasons are absent, expected present".into()),
        Match::Present => Ok(()),
        Match::Between(..) => Err("reasons are a list; `between` is for numbers".into()),
        Match::Is(want) => {
            let want: Vec<u8> = want.iter().map(|r| r.0).collect();
            if want == got {
                Ok(())
            } else {
                Err(format!(
                    "reasons are {}, expected {}",
                    codes(got),
                    codes(&want)
                ))
            }
        }
    }
}

fn bool_match(m: &Match<bool>) -> Match<Bits> {
    match m {
        Match::Any => Match::Any,
        Match::Absent => Match::Absent,
        Match::Present => Match::Present,
        Match::Is(b) => Match::Is(Bits(*b)),
        Match::Between(lo, hi) => Match::Between(*lo, *hi),
    }
}

impl PartialEq for Bits {
    fn eq(&self, other: &Bits) -> bool {
        self.0 == other.0
    }
}

#[derive(PartialEq)]
struct Quoted(String);

impl std::fmt::Display for Quoted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

trait MapDisplay {
    fn map_display(self) -> Match<Quoted>;
}

impl MapDisplay for Match<String> {
    fn map_display(self) -> Match<Quoted> {
        match self {
            Match::Any => Match::Any,
            Match::Absent => Match::Absent,
            Match::Present => Match::Present,
            Match::Is(s) => Match::Is(Quoted(s)),
            Match::Between(lo, hi) => Match::Between(lo, hi),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn publish_match(yaml: &str) -> PacketMatch {
        match serde_saphyr::from_str::<ClientAction>(&format!("expect: {{ {yaml} }}")).unwrap() {
            ClientAction::Expect(e) => e.packet,
            other => panic!("not an expect: {other:?}"),
        }
    }

    fn publish(expiry: Option<u32>, id: u16) -> Packet {
        let mut properties = Properties::default();
        properties.message_expiry_interval = expiry;
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: "t".into(),
            packet_id: Some(id),
            properties,
            payload: Bytes::from_static(b"x"),
        })
    }

    #[test]
    fn between_accepts_a_range_of_numbers() {
        let m = publish_match(
            "publish: { id: { between: [1, 3] }, properties: { message_expiry_interval: { between: [56, 57] } } }",
        );
        assert_eq!(check_packet(&m, &publish(Some(56), 1)), Ok(()));
        assert_eq!(check_packet(&m, &publish(Some(57), 3)), Ok(()));
        let e = check_packet(&m, &publish(Some(58), 4)).unwrap_err();
        assert!(e.contains("id is 4, expected between 1 and 3"), "{e}");
        assert!(
            e.contains("property message_expiry_interval is 58, expected between 56 and 57"),
            "{e}"
        );
        let e = check_packet(&m, &publish(None, 2)).unwrap_err();
        assert!(
            e.contains("property message_expiry_interval is absent, expected between 56 and 57"),
            "{e}"
        );
    }

    #[test]
    fn a_backwards_range_is_refused() {
        let e = serde_saphyr::from_str::<ClientAction>(
            "expect: { publish: { id: { between: [3, 1] } } }",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("the low end comes first"), "{e}");
    }
}
