//! The steps of an exported scenario: the message's flow one step at a
//! time, each fault applied at its stage, then recovery and the
//! expectation that failed.
//!
//! A client whose link is down (cut, reset, stalled, or the broker
//! restarted) does nothing more until the recovery, where it resumes its
//! session and does what a client must: a publisher resends an
//! unacknowledged PUBLISH with DUP, or its PUBREL; a subscriber takes what
//! the broker owes it (the PUBLISH again, or the PUBREL).

use std::fmt::Write as _;

use super::{quote, Flow, Placed, Stage};
use scenario::workload::{Check, FaultKind, Workload};
use scenario::VersionName;

/// How long a packet takes each way on a link whose stage needs a packet
/// to reach the broker before the fault falls on its answer, and the wait
/// that puts the fault between the two.
const LATENCY_MS: u64 = 100;
const HALFWAY_MS: u64 = 150;

/// One client's part: how far its flow got, and whether it can act.
#[derive(Default)]
struct Side {
    /// Its connection is gone: it must connect again.
    gone: bool,
    /// Its link holds everything until resumed.
    stalled: bool,
    /// Its link drops everything until healed.
    cut: bool,
    /// Flow steps done, in the order of [`Script::flow_steps`].
    done: usize,
}

impl Side {
    fn down(&self) -> bool {
        self.gone || self.stalled || self.cut
    }
}

pub(super) struct Script<'a> {
    out: &'a mut String,
    flow: &'a Flow,
    check: Check,
    kept: bool,
    publisher: Side,
    subscriber: Side,
}

/// One step of the message's flow, by whom.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Act {
    Publish,
    ExpectAck,
    SendPubrel,
    ExpectPubcomp,
    ExpectPublish,
    Acknowledge,
    ExpectPubrel,
    SendPubcomp,
}

impl<'a> Script<'a> {
    pub(super) fn new(
        out: &'a mut String,
        w: &Workload,
        _version: VersionName,
        flow: &'a Flow,
        check: Check,
    ) -> Script<'a> {
        Script {
            out,
            flow,
            check,
            kept: w.workload.sessions == scenario::workload::Sessions::Kept,
            publisher: Side::default(),
            subscriber: Side::default(),
        }
    }

    fn line(&mut self, who: &str, body: &str) {
        let _ = writeln!(self.out, "  - {who}: {body}");
    }

    /// The publisher's steps, then the subscriber's, in the order a broker
    /// of either QoS 2 method lets them come.
    fn publisher_steps(&self) -> Vec<Act> {
        match self.flow.qos {
            0 => vec![Act::Publish],
            1 => vec![Act::Publish, Act::ExpectAck],
            _ => vec![
                Act::Publish,
                Act::ExpectAck,
                Act::SendPubrel,
                Act::ExpectPubcomp,
            ],
        }
    }

    fn subscriber_steps(&self) -> Vec<Act> {
        match self.flow.delivered_qos {
            0 => vec![Act::ExpectPublish],
            1 => vec![Act::ExpectPublish, Act::Acknowledge],
            _ => vec![
                Act::ExpectPublish,
                Act::Acknowledge,
                Act::ExpectPubrel,
                Act::SendPubcomp,
            ],
        }
    }

    pub(super) fn write(mut self, placed: &[Placed]) {
        let (p, s) = (self.flow.publisher.clone(), self.flow.subscriber.clone());
        self.line(&s, "{ connect: {} }");
        let filters: Vec<String> = self
            .flow
            .filters
            .iter()
            .map(|(f, q)| format!("{}: {q}", quote(f)))
            .collect();
        self.line(
            &s,
            &format!("{{ subscribe: {{ {} }} }}", filters.join(", ")),
        );
        self.line(&p, "{ connect: {} }");
        // A fault between a packet's arrival and its answer needs time
        // between the two.
        let halfway = |st: Stage| matches!(st, Stage::Sent | Stage::Released | Stage::Recorded);
        for (client, stages) in [
            (&p, [Stage::Sent, Stage::Released]),
            (&s, [Stage::Recorded, Stage::Recorded]),
        ] {
            let needed = placed.iter().any(|x| {
                stages.contains(&x.stage)
                    && (x.fault.target.as_deref() == Some(client.as_str())
                        || x.fault.kind.on_broker())
            });
            if needed {
                self.line(
                    "network",
                    &format!("{{ latency: {{ client: {client}, range: {LATENCY_MS}ms }} }}"),
                );
            }
        }
        // Each stage: the steps of the flow before it, then its faults.
        let all = usize::MAX;
        let order = [
            (Stage::BeforePublish, 0, 0),
            (Stage::Sent, 1, 0),
            (Stage::Received, 2, 0),
            (Stage::Released, 3, 0),
            (Stage::Done, all, 0),
            (Stage::Delivered, all, 1),
            (Stage::Recorded, all, 2),
            (Stage::After, all, all),
        ];
        for (stage, publisher, subscriber) in order {
            self.advance_publisher(publisher);
            self.advance_subscriber(subscriber);
            let here: Vec<&Placed> = placed.iter().filter(|x| x.stage == stage).collect();
            if here.iter().any(|x| halfway(x.stage)) {
                self.line("wait", &format!("{HALFWAY_MS}ms"));
            }
            for x in here {
                self.fault(x);
            }
        }
        self.advance_publisher(usize::MAX);
        self.advance_subscriber(usize::MAX);
        self.recover();
        if matches!(self.check, Check::ExactlyOnce | Check::AtMostOnce) {
            // A copy more is what broke it.
            self.line(&s, "{ expect_nothing: 2s }");
        }
    }

    /// The publisher's flow up to step `n` (as far as its link lets it).
    fn advance_publisher(&mut self, n: usize) {
        let steps = self.publisher_steps();
        while self.publisher.done < n.min(steps.len()) {
            let act = steps[self.publisher.done];
            // A PUBLISH goes into a cut or a stall all the same (lost or
            // held); nothing else is done on a link that is down.
            if self.publisher.gone || (self.publisher.down() && act != Act::Publish) {
                return;
            }
            self.act(act, false);
            self.publisher.done += 1;
        }
    }

    /// The subscriber's, once the publisher's flow is complete: a QoS 2
    /// message may be forwarded only on the PUBREL (Figure 4.3, Method B).
    fn advance_subscriber(&mut self, n: usize) {
        if self.publisher.done < self.publisher_steps().len() {
            return;
        }
        let steps = self.subscriber_steps();
        while self.subscriber.done < n.min(steps.len()) {
            if self.subscriber.down() {
                return;
            }
            let act = steps[self.subscriber.done];
            self.act(act, false);
            self.subscriber.done += 1;
        }
    }

    /// One step; `again`: the resend after a resumed session.
    fn act(&mut self, act: Act, again: bool) {
        let f = self.flow;
        let (p, s) = (f.publisher.clone(), f.subscriber.clone());
        let payload = quote(&f.id.payload());
        let ack = |qos: u8| if qos == 1 { "puback" } else { "pubrec" };
        match act {
            Act::Publish => {
                let dup = if again { ", dup: true" } else { "" };
                let id = if f.qos > 0 { ", id: 1" } else { "" };
                self.line(
                    &p,
                    &format!(
                        "{{ publish: {{ topic: {}, payload: {payload}, qos: {}{id}{dup} }} }}",
                        quote(&f.topic),
                        f.qos
                    ),
                );
            }
            Act::ExpectAck => self.line(
                &p,
                &format!("{{ expect: {{ {}: {{ id: 1 }} }} }}", ack(f.qos)),
            ),
            Act::SendPubrel => self.line(&p, "{ send: { pubrel: 1 } }"),
            Act::ExpectPubcomp => self.line(&p, "{ expect: { pubcomp: { id: 1 } } }"),
            Act::ExpectPublish => {
                let q = f.delivered_qos;
                let dup = if again && q > 0 { ", dup: true" } else { "" };
                let id = if q > 0 { ", id: 1" } else { "" };
                self.line(
                    &s,
                    &format!(
                        "{{ expect: {{ publish: {{ topic: {}, payload: {payload}, qos: {q}{id}{dup} }}, unordered: true }} }}",
                        quote(&f.topic)
                    ),
                );
            }
            Act::Acknowledge => self.line(
                &s,
                &format!("{{ send: {{ {}: 1 }} }}", ack(f.delivered_qos)),
            ),
            Act::ExpectPubrel => {
                self.line(&s, "{ expect: { pubrel: { id: 1 }, unordered: true } }")
            }
            Act::SendPubcomp => self.line(&s, "{ send: { pubcomp: 1 } }"),
        }
    }

    fn side(&mut self, client: &str) -> Option<&mut Side> {
        if client == self.flow.publisher {
            Some(&mut self.publisher)
        } else if client == self.flow.subscriber {
            Some(&mut self.subscriber)
        } else {
            None
        }
    }

    fn fault(&mut self, x: &Placed) {
        let f = x.fault;
        let target = f.target.clone().unwrap_or_default();
        match f.kind {
            FaultKind::Cut => {
                self.line("network", &format!("{{ cut: {target} }}"));
                if let Some(side) = self.side(&target) {
                    side.cut = true;
                }
            }
            FaultKind::Stall => {
                self.line("network", &format!("{{ stall: {target} }}"));
                if let Some(side) = self.side(&target) {
                    side.stalled = true;
                }
            }
            FaultKind::Reset => {
                self.line("network", &format!("{{ reset: {target} }}"));
                // The broker sees the reset before anything else happens:
                // what comes for the client now waits in its session.
                self.line("wait", &format!("{HALFWAY_MS}ms"));
                if let Some(side) = self.side(&target) {
                    side.gone = true;
                }
            }
            FaultKind::BrokerRestart | FaultKind::BrokerStop => {
                if f.kind == FaultKind::BrokerStop {
                    self.line("broker", "stop");
                }
                self.line("broker", "{ restart: { keep_store: true } }");
                self.publisher.gone = true;
                self.subscriber.gone = true;
            }
            // place() lets no other kind through.
            _ => {}
        }
    }

    /// Every link heals; each client that lost its connection resumes its
    /// session and finishes its part of the flow, the publisher first.
    fn recover(&mut self) {
        let (p, s) = (self.flow.publisher.clone(), self.flow.subscriber.clone());
        for (name, is_publisher) in [(p, true), (s, false)] {
            let side = if is_publisher {
                &mut self.publisher
            } else {
                &mut self.subscriber
            };
            let (cut, stalled) = (side.cut, side.stalled);
            // A cut link loses what the connection sends after, so the
            // connection is given up, as a client does when Keep Alive
            // tells it the link is dead.
            let reconnect = side.gone || cut;
            side.cut = false;
            side.stalled = false;
            side.gone = false;
            if cut {
                self.line("network", &format!("{{ heal: {name} }}"));
            }
            if stalled {
                self.line("network", &format!("{{ resume: {name} }}"));
            }
            if reconnect {
                let present = is_publisher || self.kept;
                self.line(
                    &name,
                    &format!("{{ connect: {{ expect: {{ session_present: {present} }} }} }}"),
                );
                self.resume(is_publisher);
            }
            if is_publisher {
                self.advance_publisher(usize::MAX);
            } else {
                self.advance_subscriber(usize::MAX);
            }
        }
    }

    /// What a resumed session owes or is owed, by how far the flow got.
    fn resume(&mut self, is_publisher: bool) {
        if is_publisher {
            let steps = self.publisher_steps();
            match steps.get(self.publisher.done).copied() {
                // Sent, unacknowledged: the PUBLISH again, with DUP.
                Some(Act::ExpectAck) => {
                    self.act(Act::Publish, true);
                }
                // PUBREC came, PUBCOMP did not: the PUBREL again.
                Some(Act::SendPubrel) | Some(Act::ExpectPubcomp) => {
                    self.act(Act::SendPubrel, true);
                    self.publisher.done = 3;
                }
                _ => {}
            }
        } else {
            let steps = self.subscriber_steps();
            // Delivered, not acknowledged: it comes again, with DUP. (With
            // its PUBREC sent, the broker owes the PUBREL, which the flow
            // waits for next.)
            if steps.get(self.subscriber.done) == Some(&Act::Acknowledge) {
                self.act(Act::ExpectPublish, true);
            }
        }
    }
}
