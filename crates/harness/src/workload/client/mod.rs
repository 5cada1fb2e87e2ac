//! A workload client on its own simulated host: it connects (again, with
//! backoff, after any loss), resumes its session, resends what was not
//! acknowledged (in order, with DUP), acknowledges what it receives, takes
//! a QoS 2 message once per packet id, pings, and gives up on a silent
//! link after 1.5 x Keep Alive. It behaves as the workload's knobs ask:
//! many messages in flight, bursts, resends on a timer (3.1.1), expiring
//! messages, a small Receive Maximum and slow acknowledgements, and, told
//! by the run, it takes over its own session from a new connection or
//! leaves for a while. What it needs to remember across a host restart
//! lives outside the host, like a client's disk. Everything it sees goes
//! into the history, and through the wire monitor (`wire`).

mod serve;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use protocol::{
    Ack, Connect, Disconnect, Packet, Properties, Publish, QoS, Subscribe, Subscription,
    SubscriptionOptions, Version, Will,
};

use super::wire::{Conn, Wire};
use crate::net::client::Connector;
use crate::net::loss::SplitMix64;
use record::history::{Event, History, MsgId, WillInfo};

/// A message a publisher will send: when (ms from the start), at which QoS,
/// how big, and (5.0) with which Message Expiry Interval.
#[derive(Clone, Debug)]
pub struct Planned {
    pub seq: u32,
    pub at_ms: u64,
    pub qos: u8,
    pub size: usize,
    pub expiry: Option<u32>,
}

#[derive(Clone, Debug)]
pub struct Role {
    pub name: String,
    pub version: Version,
    pub keep_alive: u16,
    /// Clean Start 0 and a Session Expiry Interval (5.0).
    pub kept: bool,
    pub publish: Option<(String, Vec<Planned>)>,
    /// Filters and the QoS asked for each, in one SUBSCRIBE.
    pub subscribe: Vec<(String, u8)>,
    /// Carries a will on `wills/<name>`.
    pub will: bool,
    /// Publishes with RETAIN.
    pub retain: bool,
    pub naming: Naming,
    /// QoS 1 and 2 messages kept unacknowledged at most (and never more
    /// than the broker's Receive Maximum).
    pub inflight: u16,
    /// 3.1.1: resend an unacknowledged message on the same connection
    /// after this long, up to this many times.
    pub resend: Option<(Duration, u32)>,
    /// 5.0: the Receive Maximum to announce, drawn per connection.
    pub receive_maximum: Option<(u16, u16)>,
    /// Milliseconds before acknowledging a PUBLISH, drawn per message.
    pub ack_delay: Option<(u64, u64)>,
    /// 5.0: the Session Expiry Interval of a kept session (an hour if none).
    pub session_expiry: Option<u32>,
    /// Seeds the client's own draws (Receive Maximum, acknowledgement
    /// delays).
    pub seed: u64,
}

impl Role {
    /// A client with nothing to publish or subscribe, and the default knobs.
    pub fn new(name: String, version: Version, keep_alive: u16, naming: Naming) -> Role {
        Role {
            name,
            version,
            keep_alive,
            kept: true,
            publish: None,
            subscribe: Vec::new(),
            will: false,
            retain: false,
            naming,
            inflight: 16,
            resend: None,
            receive_maximum: None,
            ack_delay: None,
            session_expiry: None,
            seed: 0,
        }
    }
}

/// How a workload's names look on the broker: in simulation as written; on
/// a shared real broker under a prefix of the run's own (history and
/// checks keep the names as written).
#[derive(Clone, Debug, Default)]
pub struct Naming {
    /// Put before every topic and filter (`gauntlet/<tag>/`).
    pub topic_prefix: String,
    /// Put before every client id (`<tag>-`).
    pub id_prefix: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl Naming {
    pub fn topic(&self, t: &str) -> String {
        format!("{}{t}", self.topic_prefix)
    }

    pub fn client_id(&self, name: &str) -> String {
        format!("{}{name}", self.id_prefix)
    }

    /// A topic the broker sent, as the workload wrote it (a topic outside
    /// the prefix stays as it came, for the checks to flag).
    pub fn unprefixed<'t>(&self, t: &'t str) -> &'t str {
        t.strip_prefix(self.topic_prefix.as_str()).unwrap_or(t)
    }

    pub(super) fn connect(&self, version: Version, name: &str) -> Connect {
        Connect {
            version,
            clean_start: true,
            keep_alive: 30,
            properties: Properties::default(),
            client_id: self.client_id(name),
            will: None,
            username: self.username.clone(),
            password: self.password.clone().map(Bytes::from),
        }
    }
}

struct Outgoing {
    id: MsgId,
    packet_id: u16,
    qos: QoS,
    topic: String,
    retain: bool,
    payload: Bytes,
    expiry: Option<u32>,
    /// QoS 2: PUBREC came, PUBREL is owed.
    released: bool,
    /// When it (or its PUBREL) last went out, and how often it was resent
    /// on a timer.
    sent_at: tokio::time::Instant,
    resends: u32,
}

impl Outgoing {
    /// The packet that goes out again: the PUBLISH with DUP, or the PUBREL.
    fn again(&self, naming: &Naming) -> Packet {
        if self.released {
            return Packet::PubRel(Ack::new(self.packet_id));
        }
        let mut properties = Properties::default();
        properties.message_expiry_interval = self.expiry;
        Packet::Publish(Publish {
            dup: true,
            qos: self.qos,
            retain: self.retain,
            topic: naming.topic(&self.topic),
            packet_id: Some(self.packet_id),
            properties,
            payload: self.payload.clone(),
        })
    }
}

/// What survives a host restart.
pub struct Memory {
    connection: u32,
    next_planned: usize,
    inflight: VecDeque<Outgoing>,
    last_packet_id: u16,
    awaiting_pubrel: BTreeSet<u16>,
    /// 5.0: the broker's Receive Maximum on the current connection.
    server_receive_maximum: u16,
    /// A CONNECT got no answer since the last accepted one: the session a
    /// later CONNACK calls present may be one that CONNECT began.
    unanswered: bool,
    /// The CONNECT awaiting its CONNACK: when it went and with Clean Start.
    connecting: Option<(u64, bool)>,
    /// QoS 2 packet ids awaiting PUBREL when a session was found present
    /// after a CONNECT with no answer: they may belong to a session that
    /// has since ended, so a first send (DUP 0) with one is a new message.
    pub(super) unsure_pubrel: BTreeSet<u16>,
    rng: SplitMix64,
}

impl Default for Memory {
    fn default() -> Memory {
        Memory {
            connection: 0,
            next_planned: 0,
            inflight: VecDeque::new(),
            last_packet_id: 0,
            awaiting_pubrel: BTreeSet::new(),
            server_receive_maximum: u16::MAX,
            unanswered: false,
            connecting: None,
            unsure_pubrel: BTreeSet::new(),
            rng: SplitMix64::new(0),
        }
    }
}

/// What the run tells a client to do, beside what it does by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Connect again with the same client identifier while the current
    /// connection stays open (`answering` or half-open), with Clean Start
    /// 1 if `clean`.
    Takeover { answering: bool, clean: bool },
    /// Leave with DISCONNECT and stay away ...
    Away,
    /// ... until told to come back.
    Back,
}

pub struct Client {
    pub role: Role,
    pub memory: RefCell<Memory>,
    pub history: Rc<RefCell<History>>,
    /// The current connection was accepted and has not been lost.
    pub connected: Cell<bool>,
    connector: Connector,
    /// Every packet each way goes through it.
    wire: Wire,
    /// Told to leave: DISCONNECT at the next turn, and no reconnecting.
    stopping: Cell<bool>,
    /// Left with DISCONNECT (or was never connected when told to leave).
    stopped: Cell<bool>,
    /// Away on the run's order: no connection until `Back`.
    away: Cell<bool>,
    /// A takeover ordered and not yet begun.
    takeover: Cell<Option<(bool, bool)>>,
    /// A SUBSCRIBE went out on the current connection and its SUBACK has
    /// not come: the client finishes setting up before it leaves or takes
    /// over (else the broker would hold a subscription the history lacks).
    awaiting_suback: Cell<bool>,
    /// The old connection of a takeover is still open.
    superseding: Cell<bool>,
    /// Wakes the client when an order comes.
    wake: tokio::sync::Notify,
}

impl Client {
    pub fn new(
        role: Role,
        history: Rc<RefCell<History>>,
        connector: Connector,
        wire: Wire,
    ) -> Client {
        let memory = Memory {
            rng: SplitMix64::new(role.seed),
            ..Memory::default()
        };
        Client {
            role,
            memory: RefCell::new(memory),
            history,
            connected: Cell::new(false),
            connector,
            wire,
            stopping: Cell::new(false),
            stopped: Cell::new(false),
            away: Cell::new(false),
            takeover: Cell::new(None),
            awaiting_suback: Cell::new(false),
            superseding: Cell::new(false),
            wake: tokio::sync::Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.connector.now_ms()
    }

    /// Asks the client to leave as a well-behaved client does: DISCONNECT
    /// within half a Keep Alive (its next turn), then nothing more.
    pub fn stop(&self) {
        self.stopping.set(true);
        self.away.set(false);
        self.wake.notify_one();
    }

    /// Has left (see `stop`).
    pub fn stopped(&self) -> bool {
        self.stopped.get()
    }

    /// Acts on an order of the run; false if there is nothing to act on
    /// (a takeover while not connected).
    pub fn order(&self, o: Order) -> bool {
        match o {
            Order::Takeover { answering, clean } => {
                if !self.connected.get() || self.superseding.get() {
                    return false;
                }
                self.takeover.set(Some((answering, clean)));
            }
            Order::Away => self.away.set(true),
            Order::Back => self.away.set(false),
        }
        self.wake.notify_one();
        true
    }

    /// Its host is about to be reset at `at` (the world's clock: the
    /// client's own runs only on its host): the connection it had ends
    /// there, as the software that would notice is gone.
    pub fn host_reset(&self, at: u64) {
        let connection = self.memory.borrow().connection;
        let connecting = self.memory.borrow_mut().connecting.take();
        if let Some((requested_at, clean_start)) = connecting {
            self.unanswered(at, requested_at, clean_start);
        }
        if self.connected.get() {
            self.connected.set(false);
            self.record(Event::ConnectionLost {
                at,
                client: self.role.name.clone(),
                connection,
                why: "host reset".into(),
            });
        }
        self.superseding.set(false);
    }

    /// Connected, everything planned sent, nothing unacknowledged, no
    /// old connection of a takeover waiting to be closed.
    pub fn settled(&self) -> bool {
        let m = self.memory.borrow();
        let planned = self.role.publish.as_ref().map_or(0, |(_, p)| p.len());
        self.connected.get()
            && !self.superseding.get()
            && m.inflight.is_empty()
            && m.next_planned >= planned
    }

    fn record(&self, e: Event) {
        self.history.borrow_mut().push(e);
    }

    fn next_packet_id(&self) -> u16 {
        let mut m = self.memory.borrow_mut();
        loop {
            m.last_packet_id = m.last_packet_id.checked_add(1).unwrap_or(1);
            let id = m.last_packet_id;
            if !m.inflight.iter().any(|o| o.packet_id == id) {
                return id;
            }
        }
    }

    fn lost(&self, connection: u32, why: &str) {
        self.connected.set(false);
        self.record(Event::ConnectionLost {
            at: self.now_ms(),
            client: self.role.name.clone(),
            connection,
            why: why.to_owned(),
        });
    }

    /// A CONNECT that will get no answer: the broker may have taken it.
    fn unanswered(&self, at: u64, requested_at: u64, clean_start: bool) {
        self.record(Event::Unanswered {
            at,
            client: self.role.name.clone(),
            requested_at,
            clean_start,
        });
        let mut m = self.memory.borrow_mut();
        m.unanswered = true;
        m.connecting = None;
    }

    /// A draw in `[min, max]` from the client's own stream.
    fn draw(&self, (min, max): (u64, u64)) -> u64 {
        let r = self.memory.borrow_mut().rng.next_u64();
        min + r % (max.saturating_sub(min) + 1)
    }
}

/// The old connection of a takeover, kept open until the broker closes it.
pub(super) struct Old<'a> {
    conn: Conn<'a>,
    connection: u32,
    answering: bool,
    /// The DISCONNECT's reason code, if the broker sent one (5.0).
    disconnect: Option<u8>,
    /// The client stops waiting for the broker to close it then.
    deadline: tokio::time::Instant,
    /// After a clean takeover the old connection's session is not the
    /// new one's: its QoS 2 messages awaiting PUBREL are its own.
    own_pubrel: Option<BTreeSet<u16>>,
}

/// How a connection ended, for the run loop.
enum Next<'a> {
    /// It was accepted and is over (lost, or left on the run's order).
    Ended,
    /// It was not accepted.
    Failed,
    /// Ordered to take over: connect again at once, leaving this one open.
    Takeover(Old<'a>, bool),
}

/// The client's software; restarted from scratch (but with its memory)
/// when its host is reset.
pub async fn run(client: Rc<Client>) -> turmoil::Result {
    let mut backoff = Duration::from_millis(100);
    let mut old: Option<(Old<'_>, bool)> = None;
    client.superseding.set(false);
    loop {
        if client.stopping.get() {
            client.stopped.set(true);
            return Ok(());
        }
        if client.away.get() {
            client.wake.notified().await;
            continue;
        }
        match session(&client, old.take()).await {
            Next::Takeover(o, clean) => {
                old = Some((o, clean));
                continue;
            }
            Next::Ended => backoff = Duration::from_millis(100),
            Next::Failed => backoff = (backoff * 2).min(Duration::from_secs(2)),
        }
        tokio::time::sleep(backoff).await;
    }
}

/// How long a takeover's old connection is watched for the broker to
/// close it: past any Keep Alive check the broker might wait for.
fn old_deadline(keep_alive: u16) -> Duration {
    Duration::from_millis(u64::from(keep_alive) * 2_000 + 3_000)
}

/// One connection, from connect to loss; `old` is the connection it takes
/// over, if any (and whether with Clean Start 1).
async fn session<'a>(client: &'a Rc<Client>, old: Option<(Old<'a>, bool)>) -> Next<'a> {
    let role = &client.role;
    let (mut old, clean) = match old {
        Some((o, clean)) => (Some(o), clean),
        None => (None, false),
    };
    let abandon = |old: Option<Old<'_>>, why: &str| {
        if let Some(o) = old {
            client.superseding.set(false);
            client.lost(o.connection, why);
            // A clean takeover that never took place leaves the session
            // the old connection had: its QoS 2 messages awaiting PUBREL
            // are the client's again (a resend with DUP 1 is no new one).
            if let Some(own) = o.own_pubrel {
                client.memory.borrow_mut().awaiting_pubrel.extend(own);
            }
        }
    };
    let stream = match client.connector.connect().await {
        Ok(s) => s,
        Err(_) => {
            abandon(old, "abandoned: the connection taking it over failed");
            return Next::Failed;
        }
    };
    let connection = {
        let mut m = client.memory.borrow_mut();
        m.connection += 1;
        m.server_receive_maximum = u16::MAX;
        m.connection
    };
    let mut conn = Conn::new(stream, role.version, &client.wire, &client.connector);
    let will_topic = format!("wills/{}", role.name);
    let naming = &role.naming;
    let will_id = MsgId {
        publisher: role.name.clone(),
        seq: connection,
        will: true,
    };
    let v5 = role.version == Version::V5;
    let mut properties = Properties::default();
    if v5 && role.kept {
        properties.session_expiry_interval = Some(role.session_expiry.unwrap_or(3600));
    }
    if let (true, Some((min, max))) = (v5, role.receive_maximum) {
        let rm = client.draw((u64::from(min), u64::from(max)));
        properties.receive_maximum = Some(rm.clamp(1, 65_535) as u16);
    }
    let clean_start = !role.kept || clean;
    let receive_maximum = properties.receive_maximum;
    let session_expiry = properties.session_expiry_interval;
    let connect = Connect {
        clean_start,
        keep_alive: role.keep_alive,
        properties,
        will: role.will.then(|| Will {
            topic: naming.topic(&will_topic),
            payload: Bytes::from(will_id.payload()),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: Properties::default(),
        }),
        ..naming.connect(role.version, &role.name)
    };
    let silence = Duration::from_millis(u64::from(role.keep_alive) * 1500);
    let requested_at = client.now_ms();
    client.memory.borrow_mut().connecting = Some((requested_at, clean_start));
    if conn.send(&Packet::from(connect)).await.is_err() {
        client.memory.borrow_mut().connecting = None;
        abandon(old, "abandoned: the connection taking it over failed");
        return Next::Failed;
    }
    let ack = match conn.recv_within(silence).await {
        Some(Ok(Packet::ConnAck(a))) => a,
        _ => {
            client.unanswered(client.now_ms(), requested_at, clean_start);
            abandon(old, "abandoned: the connection taking it over failed");
            return Next::Failed;
        }
    };
    client.memory.borrow_mut().connecting = None;
    if ack.reason.0 >= 0x80 {
        abandon(old, "abandoned: the connection taking it over was refused");
        return Next::Failed;
    }
    client.connected.set(true);
    client.awaiting_suback.set(false);
    if let Some(rm) = ack.properties.receive_maximum {
        client.memory.borrow_mut().server_receive_maximum = rm.max(1);
    }
    client.record(Event::Connected {
        at: client.now_ms(),
        client: role.name.clone(),
        connection,
        clean_start,
        session_present: ack.session_present,
        will: role.will.then(|| WillInfo {
            topic: will_topic.clone(),
            qos: 1,
            keep_alive: role.keep_alive,
        }),
        requested_at,
        receive_maximum,
        session_expiry,
    });
    if !ack.session_present {
        // A new session: what the old one had in flight is gone with it,
        // and resending it would make it a new message (the broker
        // answers for what it acknowledged). MQTT-3.2.2-5 (5.0): a client
        // with session state told Session Present 0 discards it.
        let mut m = client.memory.borrow_mut();
        m.inflight.clear();
    }
    // A session present after a CONNECT that got no answer may be the
    // empty one that CONNECT began (it reached the broker after the old
    // session expired, or asked for Clean Start): subscribing again is
    // harmless if it is the old one (MQTT-3.8.4-3) and keeps the client
    // subscribed if not.
    let unsure = std::mem::take(&mut client.memory.borrow_mut().unanswered);
    if !ack.session_present {
        // The old connection of a takeover belonged to the session that
        // just ended: what it still receives is that session's.
        let ended = {
            let mut m = client.memory.borrow_mut();
            m.unsure_pubrel.clear();
            std::mem::take(&mut m.awaiting_pubrel)
        };
        if let Some(o) = old.as_mut() {
            o.own_pubrel.get_or_insert(ended);
        }
    } else if unsure {
        let mut m = client.memory.borrow_mut();
        let awaiting = std::mem::take(&mut m.awaiting_pubrel);
        m.unsure_pubrel.extend(awaiting);
    }
    if (!ack.session_present || unsure) && !role.subscribe.is_empty() {
        let packet_id = client.next_packet_id();
        let sub = Packet::Subscribe(Subscribe {
            packet_id,
            properties: Properties::default(),
            filters: role
                .subscribe
                .iter()
                .map(|(filter, qos)| Subscription {
                    filter: naming.topic(filter),
                    options: SubscriptionOptions {
                        qos: QoS::from_u8(*qos).unwrap_or(QoS::AtLeastOnce),
                        ..SubscriptionOptions::default()
                    },
                })
                .collect(),
        });
        client.awaiting_suback.set(true);
        client.record(Event::Subscribing {
            at: client.now_ms(),
            client: role.name.clone(),
            filters: role.subscribe.clone(),
        });
        if conn.send(&sub).await.is_err() {
            client.lost(connection, "write failed");
            abandon(old, "abandoned: the connection taking it over was lost");
            return Next::Ended;
        }
    }
    // Resend what is unacknowledged, in order (MQTT-4.4.0-1).
    let resend: Vec<Packet> = {
        let mut m = client.memory.borrow_mut();
        let now = tokio::time::Instant::now();
        m.inflight
            .iter_mut()
            .map(|o| {
                o.sent_at = now;
                o.again(naming)
            })
            .collect()
    };
    for p in &resend {
        if conn.send(p).await.is_err() {
            client.lost(connection, "write failed");
            abandon(old, "abandoned: the connection taking it over was lost");
            return Next::Ended;
        }
    }
    if let Some(o) = old.as_mut() {
        o.deadline = tokio::time::Instant::now() + old_deadline(role.keep_alive);
    }
    let (why, order) = serve::serve(client, &mut conn, connection, silence, old).await;
    if let Some((answering, clean)) = order {
        // This connection stays open, out of the monitor's sight (it
        // follows the new one), until the broker closes it.
        conn.detach();
        client.superseding.set(true);
        client.record(Event::Takeover {
            at: client.now_ms(),
            client: role.name.clone(),
            old: connection,
            answering,
        });
        let old = Old {
            conn,
            connection,
            answering,
            disconnect: None,
            deadline: tokio::time::Instant::now() + old_deadline(role.keep_alive),
            own_pubrel: clean
                .then(|| std::mem::take(&mut client.memory.borrow_mut().awaiting_pubrel)),
        };
        return Next::Takeover(old, clean);
    }
    if !client.stopped.get() && why != serve::LEFT {
        client.lost(connection, &why);
    }
    Next::Ended
}
