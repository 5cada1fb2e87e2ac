//! A well-behaved MQTT client for workloads, on its own simulated host: it
//! connects (again, with backoff, after any loss), resumes its session,
//! resends what was not acknowledged (in order, with DUP), acknowledges
//! what it receives, takes a QoS 2 message once per packet id, pings, and
//! gives up on a silent link after 1.5 x Keep Alive. What it needs to
//! remember across a host restart lives outside the host, like a client's
//! disk. Everything it sees goes into the history, and through the wire
//! monitor (`wire`).

use std::cell::RefCell;
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
use record::history::{Event, History, MsgId, WillInfo};

/// Unacknowledged messages a publisher keeps in flight (below every
/// broker's Receive Maximum in these workloads).
const WINDOW: usize = 16;

/// A message a publisher will send: when (ms from the start), at which QoS,
/// how big.
#[derive(Clone, Debug)]
pub struct Planned {
    pub seq: u32,
    pub at_ms: u64,
    pub qos: u8,
    pub size: usize,
}

#[derive(Clone, Debug)]
pub struct Role {
    pub name: String,
    pub version: Version,
    pub keep_alive: u16,
    /// Clean Start 0 and a long Session Expiry Interval.
    pub kept: bool,
    pub publish: Option<(String, Vec<Planned>)>,
    pub subscribe: Option<(String, u8)>,
    /// Carries a will on `wills/<name>`.
    pub will: bool,
    /// Publishes with RETAIN.
    pub retain: bool,
    pub naming: Naming,
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
    /// QoS 2: PUBREC came, PUBREL is owed.
    released: bool,
}

/// What survives a host restart.
#[derive(Default)]
pub struct Memory {
    connection: u32,
    next_planned: usize,
    inflight: VecDeque<Outgoing>,
    last_packet_id: u16,
    awaiting_pubrel: BTreeSet<u16>,
}

pub struct Client {
    pub role: Role,
    pub memory: RefCell<Memory>,
    pub history: Rc<RefCell<History>>,
    /// The current connection was accepted and has not been lost.
    pub connected: std::cell::Cell<bool>,
    connector: Connector,
    /// Every packet each way goes through it.
    wire: Wire,
    /// Told to leave: DISCONNECT at the next turn, and no reconnecting.
    stopping: std::cell::Cell<bool>,
    /// Left with DISCONNECT (or was never connected when told to leave).
    stopped: std::cell::Cell<bool>,
}

impl Client {
    pub fn new(
        role: Role,
        history: Rc<RefCell<History>>,
        connector: Connector,
        wire: Wire,
    ) -> Client {
        Client {
            role,
            memory: RefCell::default(),
            history,
            connected: std::cell::Cell::new(false),
            connector,
            wire,
            stopping: std::cell::Cell::new(false),
            stopped: std::cell::Cell::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        self.connector.now_ms()
    }

    /// Asks the client to leave as a well-behaved client does: DISCONNECT
    /// within half a Keep Alive (its next turn), then nothing more.
    pub fn stop(&self) {
        self.stopping.set(true);
    }

    /// Has left (see `stop`).
    pub fn stopped(&self) -> bool {
        self.stopped.get()
    }

    /// Connected, everything planned sent, nothing unacknowledged.
    pub fn settled(&self) -> bool {
        let m = self.memory.borrow();
        let planned = self.role.publish.as_ref().map_or(0, |(_, p)| p.len());
        self.connected.get() && m.inflight.is_empty() && m.next_planned >= planned
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
}

/// The client's software; restarted from scratch (but with its memory)
/// when its host is reset.
pub async fn run(client: Rc<Client>) -> turmoil::Result {
    let mut backoff = Duration::from_millis(100);
    loop {
        if client.stopping.get() {
            client.stopped.set(true);
            return Ok(());
        }
        match session(&client).await {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(_) => backoff = (backoff * 2).min(Duration::from_secs(2)),
        }
        tokio::time::sleep(backoff).await;
    }
}

/// One connection, from connect to loss. `Ok` if it was accepted.
async fn session(client: &Rc<Client>) -> Result<(), String> {
    let role = &client.role;
    let stream = client
        .connector
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    let connection = {
        let mut m = client.memory.borrow_mut();
        m.connection += 1;
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
    let mut properties = Properties::default();
    if role.version == Version::V5 && role.kept {
        properties.session_expiry_interval = Some(3600);
    }
    let connect = Connect {
        clean_start: !role.kept,
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
    conn.send(&Packet::from(connect))
        .await
        .map_err(|e| e.to_string())?;
    let ack = match conn.recv_within(silence).await {
        Some(Ok(Packet::ConnAck(a))) => a,
        _ => return Err("no CONNACK".into()),
    };
    if ack.reason.0 >= 0x80 {
        return Err(format!("refused: {:?}", ack.reason));
    }
    client.connected.set(true);
    client.record(Event::Connected {
        at: client.now_ms(),
        client: role.name.clone(),
        connection,
        clean_start: !role.kept,
        session_present: ack.session_present,
        will: role.will.then(|| WillInfo {
            topic: will_topic.clone(),
            qos: 1,
            keep_alive: role.keep_alive,
        }),
    });
    if !ack.session_present {
        client.memory.borrow_mut().awaiting_pubrel.clear();
        if let Some((filter, qos)) = &role.subscribe {
            let packet_id = client.next_packet_id();
            let sub = Packet::Subscribe(Subscribe {
                packet_id,
                properties: Properties::default(),
                filters: vec![Subscription {
                    filter: naming.topic(filter),
                    options: SubscriptionOptions {
                        qos: QoS::from_u8(*qos).unwrap_or(QoS::AtLeastOnce),
                        ..SubscriptionOptions::default()
                    },
                }],
            });
            if conn.send(&sub).await.is_err() {
                client.lost(connection, "write failed");
                return Ok(());
            }
        }
    }
    // Resend what is unacknowledged, in order (MQTT-4.4.0-1).
    let resend: Vec<Packet> = client
        .memory
        .borrow()
        .inflight
        .iter()
        .map(|o| {
            if o.released {
                Packet::PubRel(Ack::new(o.packet_id))
            } else {
                Packet::Publish(Publish {
                    dup: true,
                    qos: o.qos,
                    retain: o.retain,
                    topic: naming.topic(&o.topic),
                    packet_id: Some(o.packet_id),
                    properties: Properties::default(),
                    payload: o.payload.clone(),
                })
            }
        })
        .collect();
    for p in &resend {
        if conn.send(p).await.is_err() {
            client.lost(connection, "write failed");
            return Ok(());
        }
    }
    let why = serve(client, &mut conn, silence).await;
    if !client.stopped.get() {
        client.lost(connection, &why);
    }
    Ok(())
}

/// Runs an accepted connection until it is lost; says why.
async fn serve(client: &Rc<Client>, conn: &mut Conn<'_>, silence: Duration) -> String {
    let role = &client.role;
    let ping_every = Duration::from_millis(u64::from(role.keep_alive) * 500);
    loop {
        if client.stopping.get() {
            return leave(client, conn).await;
        }
        let next_publish = role.publish.as_ref().and_then(|(_, plan)| {
            let m = client.memory.borrow();
            (m.inflight.len() < WINDOW)
                .then(|| plan.get(m.next_planned))
                .flatten()
                .map(|p| p.at_ms)
        });
        let publish_at = next_publish.map(|at| {
            let now = client.now_ms();
            tokio::time::Instant::now() + Duration::from_millis(at.saturating_sub(now))
        });
        let ping_at = conn.last_tx + ping_every;
        let give_up_at = conn.last_rx + silence;
        tokio::select! {
            r = conn.recv() => match r {
                Ok(p) => {
                    if let Err(why) = handle(client, conn, p).await {
                        return why;
                    }
                }
                Err(e) => return format!("connection ended: {e}"),
            },
            _ = tokio::time::sleep_until(publish_at.unwrap_or(give_up_at)), if publish_at.is_some() => {
                if let Err(e) = publish_next(client, conn).await {
                    return format!("write failed: {e}");
                }
            }
            _ = tokio::time::sleep_until(ping_at) => {
                if conn.send(&Packet::PingReq).await.is_err() {
                    return "write failed".into();
                }
            }
            _ = tokio::time::sleep_until(give_up_at) => {
                return format!("nothing from the broker for {} ms", silence.as_millis());
            }
        }
    }
}

async fn publish_next(client: &Rc<Client>, conn: &mut Conn<'_>) -> std::io::Result<()> {
    let Some((topic, plan)) = &client.role.publish else {
        return Ok(());
    };
    let planned = {
        let mut m = client.memory.borrow_mut();
        let Some(p) = plan.get(m.next_planned).cloned() else {
            return Ok(());
        };
        m.next_planned += 1;
        p
    };
    let id = MsgId {
        publisher: client.role.name.clone(),
        seq: planned.seq,
        will: false,
    };
    let mut payload = id.payload();
    if payload.len() + 1 < planned.size {
        payload.push('|');
        payload.extend(std::iter::repeat_n('x', planned.size - payload.len()));
    }
    let payload = Bytes::from(payload);
    let qos = QoS::from_u8(planned.qos).unwrap_or(QoS::AtMostOnce);
    let packet_id = (qos != QoS::AtMostOnce).then(|| client.next_packet_id());
    let retain = client.role.retain;
    client.record(Event::Published {
        at: client.now_ms(),
        id: id.clone(),
        topic: topic.clone(),
        qos: planned.qos,
        retain,
    });
    if let Some(packet_id) = packet_id {
        client.memory.borrow_mut().inflight.push_back(Outgoing {
            id,
            packet_id,
            qos,
            topic: topic.clone(),
            retain,
            payload: payload.clone(),
            released: false,
        });
    }
    conn.send(&Packet::Publish(Publish {
        dup: false,
        qos,
        retain,
        topic: client.role.naming.topic(topic),
        packet_id,
        properties: Properties::default(),
        payload,
    }))
    .await
}

/// DISCONNECT and close: the end of a normal run on a real broker.
async fn leave(client: &Rc<Client>, conn: &mut Conn<'_>) -> String {
    let sent = conn.send(&Packet::Disconnect(Disconnect::default())).await;
    let _ = conn.shutdown().await;
    client.stopped.set(true);
    client.connected.set(false);
    if sent.is_ok() {
        let connection = client.memory.borrow().connection;
        client.record(Event::Disconnected {
            at: client.now_ms(),
            client: client.role.name.clone(),
            connection,
        });
    }
    "left".into()
}

/// Acts on one packet from the broker; an error ends the connection.
async fn handle(client: &Rc<Client>, conn: &mut Conn<'_>, p: Packet) -> Result<(), String> {
    let at = client.now_ms();
    let name = &client.role.name;
    let reply = match p {
        Packet::Publish(p) => {
            let id = MsgId::parse(&p.payload);
            let new = match (p.qos, p.packet_id) {
                // Once per packet id until PUBREL: the broker resending
                // a QoS 2 PUBLISH is the same message (method B).
                (QoS::ExactlyOnce, Some(pid)) => {
                    client.memory.borrow_mut().awaiting_pubrel.insert(pid)
                }
                _ => true,
            };
            if let (Some(id), true) = (id, new) {
                client.record(Event::Delivered {
                    at,
                    client: name.clone(),
                    id,
                    topic: client.role.naming.unprefixed(&p.topic).to_owned(),
                    qos: p.qos as u8,
                    dup: p.dup,
                    retain: p.retain,
                });
            }
            match (p.qos, p.packet_id) {
                (QoS::AtLeastOnce, Some(pid)) => Some(Packet::PubAck(Ack::new(pid))),
                (QoS::ExactlyOnce, Some(pid)) => Some(Packet::PubRec(Ack::new(pid))),
                _ => None,
            }
        }
        Packet::PubRel(a) => {
            client
                .memory
                .borrow_mut()
                .awaiting_pubrel
                .remove(&a.packet_id);
            Some(Packet::PubComp(Ack::new(a.packet_id)))
        }
        Packet::PubAck(a) => {
            let mut m = client.memory.borrow_mut();
            if let Some(i) = m
                .inflight
                .iter()
                .position(|o| o.packet_id == a.packet_id && o.qos == QoS::AtLeastOnce)
            {
                let o = m.inflight.remove(i).expect("position is valid");
                drop(m);
                if a.reason.0 < 0x80 {
                    client.record(Event::Acked { at, id: o.id });
                }
            }
            None
        }
        Packet::PubRec(a) => {
            let mut m = client.memory.borrow_mut();
            let found = m
                .inflight
                .iter()
                .position(|o| o.packet_id == a.packet_id && o.qos == QoS::ExactlyOnce);
            match found {
                Some(i) if a.reason.0 >= 0x80 => {
                    m.inflight.remove(i);
                    None
                }
                Some(i) => {
                    let first = !m.inflight[i].released;
                    m.inflight[i].released = true;
                    let id = m.inflight[i].id.clone();
                    drop(m);
                    if first {
                        client.record(Event::Acked { at, id });
                    }
                    Some(Packet::PubRel(Ack::new(a.packet_id)))
                }
                None => None,
            }
        }
        Packet::PubComp(a) => {
            let mut m = client.memory.borrow_mut();
            if let Some(i) = m
                .inflight
                .iter()
                .position(|o| o.packet_id == a.packet_id && o.released)
            {
                let o = m.inflight.remove(i).expect("position is valid");
                drop(m);
                client.record(Event::Completed { at, id: o.id });
            }
            None
        }
        Packet::SubAck(a) => {
            if let Some((filter, _)) = &client.role.subscribe {
                let code = a.reasons.first().map_or(0x80, |r| r.0);
                client.record(Event::Subscribed {
                    at,
                    client: name.clone(),
                    filter: filter.clone(),
                    granted_qos: (code <= 2).then_some(code),
                });
            }
            None
        }
        Packet::Disconnect(d) => return Err(format!("DISCONNECT {:?} from the broker", d.reason)),
        _ => None,
    };
    if let Some(r) = reply {
        conn.send(&r)
            .await
            .map_err(|e| format!("write failed: {e}"))?;
    }
    Ok(())
}
