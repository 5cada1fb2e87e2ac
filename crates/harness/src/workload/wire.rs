//! The wire monitor on every workload connection (each client's, and the
//! end-of-run reader's): a connection ([`Conn`]) shows the client's
//! monitor every packet each way, and what the broker sent that breaks a
//! MUST becomes a `wire` violation of the run, next to the checkers' ones
//! (the first per client and rule, with how many more followed);
//! what breaks no MUST becomes an advisory of the run.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use protocol::{DecodeError, Packet, Version};

use super::check::FAULT_WINDOW;
use crate::net::client::{Connector, Stream};
use crate::net::framed::{Framed, RecvError};
use crate::net::monitor::{ClientIds, Level, Monitor};
use crate::net::tripwire::{Apply, Tripwires};
use record::advisory::Advisory;
use record::history::{History, Ms, MsgId};
use record::violation::Violation;

/// The `check` name of the monitor's violations.
pub const CHECK: &str = "wire";

/// A finding, and how many more of its kind came to the same client.
struct Seen {
    at: Ms,
    what: String,
    message: Option<MsgId>,
    more: usize,
}

/// What the monitors of one run found, as the run goes.
#[derive(Default)]
pub struct WireLog {
    /// By client and rule.
    breaches: BTreeMap<(String, &'static str), Seen>,
    advisories: BTreeMap<(String, &'static str), Seen>,
}

impl WireLog {
    fn add(&mut self, client: &str, level: Level, rule: &'static str, seen: Seen) {
        let found = match level {
            Level::Must => &mut self.breaches,
            Level::Advisory => &mut self.advisories,
        };
        found
            .entry((client.to_owned(), rule))
            .and_modify(|s| s.more += 1)
            .or_insert(seen);
    }

    /// The violations, in order of time (with the faults around each), and
    /// the advisories.
    pub fn finish(&self, history: &History) -> (Vec<Violation>, Vec<Advisory>) {
        let more = |s: &Seen, client: &str| match s.more {
            0 => s.what.clone(),
            n => format!("{} (and {n} more like it to {client})", s.what),
        };
        let mut violations: Vec<Violation> = self
            .breaches
            .iter()
            .map(|((client, _), s)| Violation {
                check: CHECK,
                publisher: s.message.as_ref().map(|m| m.publisher.clone()),
                message: s.message.clone(),
                subscriber: Some(client.clone()),
                at: s.at,
                what: more(s, client),
                faults: history.faults_near(s.at, FAULT_WINDOW),
            })
            .collect();
        violations.sort_by(|a, b| (a.at, &a.subscriber).cmp(&(b.at, &b.subscriber)));
        let advisories = self
            .advisories
            .iter()
            .map(|((client, rule), s)| Advisory {
                rule: (*rule).to_owned(),
                what: format!("{}; sent to {client}", more(s, client)),
                readings: Vec::new(),
                step: 0,
                line: 0,
            })
            .collect();
        (violations, advisories)
    }
}

/// One client's monitor, and the run's log its findings go to.
pub struct Wire {
    /// The client's name as the workload writes it.
    client: String,
    monitor: RefCell<Monitor>,
    log: Rc<RefCell<WireLog>>,
    /// Taken out of what a finding says, so it keeps the workload's names
    /// on a shared broker too.
    topic_prefix: String,
    /// Where what the client receives is reported for packet triggers,
    /// and how a link fault they fire is applied at once (simulation; the
    /// fault proxy watches real connections itself).
    watch: Option<(Tripwires, Apply)>,
}

impl Wire {
    pub fn new(
        client: &str,
        version: Version,
        ids: &ClientIds,
        log: &Rc<RefCell<WireLog>>,
        topic_prefix: &str,
    ) -> Wire {
        Wire {
            client: client.to_owned(),
            monitor: RefCell::new(Monitor::new(version, ids.clone())),
            log: log.clone(),
            topic_prefix: topic_prefix.to_owned(),
            watch: None,
        }
    }

    /// Reports every packet the client receives to `tripwires`, applying
    /// the link faults they fire with `apply`.
    pub fn watching(mut self, tripwires: Tripwires, apply: Apply) -> Wire {
        self.watch = Some((tripwires, apply));
        self
    }

    fn arrived(&self, at: Ms, p: &Packet) {
        if let Some((t, apply)) = &self.watch {
            let arrival = t.arrived(&self.client, false, Some(p.packet_type()), at, || {
                record::trace::describe(p)
            });
            for f in &arrival.link {
                apply(f);
            }
        }
    }

    pub fn opened(&self) {
        self.monitor.borrow_mut().on_connection_opened();
    }

    pub fn closed(&self) {
        self.monitor.borrow_mut().on_connection_closed();
    }

    fn unprefixed(&self, text: String) -> String {
        if self.topic_prefix.is_empty() {
            text
        } else {
            text.replace(&self.topic_prefix, "")
        }
    }

    fn sent(&self, p: &Packet) {
        self.monitor.borrow_mut().on_sent(p);
    }

    fn received(&self, at: Ms, p: &Packet, wire_len: usize) {
        let found = self.monitor.borrow_mut().on_received(p, wire_len);
        let message = match p {
            Packet::Publish(p) => MsgId::parse(&p.payload),
            _ => None,
        };
        for b in found {
            let seen = Seen {
                at,
                what: self.unprefixed(b.to_string()),
                message: message.clone(),
                more: 0,
            };
            self.log
                .borrow_mut()
                .add(&self.client, b.level, b.rule, seen);
        }
    }

    /// The broker sent bytes that do not decode: the decoder names the rule.
    fn malformed(&self, at: Ms, e: &DecodeError) {
        self.monitor.borrow_mut().on_received_malformed();
        let packet = e.packet.map_or("packet".into(), |t| t.to_string());
        let seen = Seen {
            at,
            what: format!(
                "broker breached {}: sent a malformed {packet} ({})",
                e.rule, e.kind
            ),
            message: None,
            more: 0,
        };
        let rule = e.rule.statement().unwrap_or("malformed");
        self.log
            .borrow_mut()
            .add(&self.client, Level::Must, rule, seen);
    }
}

/// One connection through the client's monitor, and when it last carried
/// something each way.
pub struct Conn<'a> {
    framed: Framed<Box<dyn Stream>>,
    wire: &'a Wire,
    clock: &'a Connector,
    pub last_rx: tokio::time::Instant,
    pub last_tx: tokio::time::Instant,
    /// Out of the monitor's sight: the old connection of a takeover, once
    /// the monitor follows the new one.
    detached: bool,
}

impl<'a> Conn<'a> {
    /// Takes the connection out of the monitor's sight (it follows one
    /// connection per client: the new one of a takeover).
    pub fn detach(&mut self) {
        if !self.detached {
            self.wire.closed();
            self.detached = true;
        }
    }

    /// A connection just opened on `stream`.
    pub fn new(
        stream: Box<dyn Stream>,
        version: Version,
        wire: &'a Wire,
        clock: &'a Connector,
    ) -> Conn<'a> {
        wire.opened();
        let now = tokio::time::Instant::now();
        Conn {
            framed: Framed::new(stream, version),
            wire,
            clock,
            last_rx: now,
            last_tx: now,
            detached: false,
        }
    }

    pub async fn send(&mut self, p: &Packet) -> std::io::Result<()> {
        self.last_tx = tokio::time::Instant::now();
        if !self.detached {
            self.wire.sent(p);
        }
        self.framed.send(p).await
    }

    /// The next packet. Cancel-safe.
    pub async fn recv(&mut self) -> Result<Packet, RecvError> {
        let r = self.framed.recv_sized().await;
        let at = self.clock.now_ms();
        match r {
            Ok((p, len)) => {
                self.last_rx = tokio::time::Instant::now();
                if !self.detached {
                    self.wire.received(at, &p, len);
                }
                // An old connection's packets count too: it is the same
                // link.
                self.wire.arrived(at, &p);
                Ok(p)
            }
            Err(e) => {
                match &e {
                    _ if self.detached => {}
                    RecvError::Malformed(d) => self.wire.malformed(at, d),
                    RecvError::Io(_) => self.wire.closed(),
                }
                Err(e)
            }
        }
    }

    /// The next packet within `limit`, or None.
    pub async fn recv_within(&mut self, limit: Duration) -> Option<Result<Packet, RecvError>> {
        tokio::time::timeout(limit, self.recv()).await.ok()
    }

    /// Closes the writing side (FIN; TLS close_notify first).
    pub async fn shutdown(&mut self) -> std::io::Result<()> {
        self.framed.shutdown().await
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if !self.detached {
            self.wire.closed();
        }
    }
}
