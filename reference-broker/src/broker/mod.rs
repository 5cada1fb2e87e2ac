//! The sans-I/O broker. It takes events — a connection opened, bytes
//! received, a connection closed, the time now — and hands out actions:
//! bytes to send, connections to close, and state changes to persist. No
//! sockets, clocks or randomness; collections are ordered, so one input
//! sequence always gives one output sequence.
//!
//! Driver contract: after each `handle_*` call, write `take_changes()` to the
//! store, then perform `poll_action()` until it returns `None`, then sleep
//! until `poll_timeout()` and call `handle_timeout`. Persisting before sending
//! means no acknowledgement leaves before the state behind it is stored.

mod persist;
mod session;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use protocol::topic::{self, SharedFilter};
use protocol::{
    Ack, ConnAck, Connect, DecodeError, Decoder, Disconnect, ErrorKind, Packet, Properties,
    PropertyValues, Publish, QoS, ReasonCode, RetainHandling, SubAck, Subscribe, UnsubAck,
    Unsubscribe, Version,
};

pub use session::{Delivery, Message, OutFlight, OutState, PendingWill, Session, Subscription};

use crate::config::{Bug, Config};
use crate::store::{Change, Snapshot};
use session::NEVER;

/// Milliseconds on the driver's clock (simulated time, or wall time for the
/// binary so that persisted deadlines survive a restart).
pub type Millis = u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Send {
        conn: ConnId,
        data: Bytes,
    },
    /// Close the network connection (after sending what was queued before).
    Close {
        conn: ConnId,
    },
}

/// How long a new connection may take to send CONNECT.
const CONNECT_TIMEOUT: Millis = 10_000;

#[derive(Debug)]
enum ConnState {
    AwaitingConnect,
    Connected { client_id: String },
}

#[derive(Debug)]
struct Connection {
    state: ConnState,
    buf: BytesMut,
    version: Version,
    opened_at: Millis,
    last_packet_at: Millis,
    /// 1.5 × the Keep Alive in force, if any (MQTT-3.1.2-24 / -22).
    keep_alive_limit: Option<Millis>,
    /// The client's Receive Maximum, capped by `max_inflight`.
    send_quota: u16,
    client_max_packet: u32,
    client_alias_max: u16,
    aliases_in: BTreeMap<u16, String>,
    aliases_out: BTreeMap<String, u16>,
    /// Packet ids of messages in flight from an earlier connection, to resend
    /// here when the send quota allows, in order.
    resend: VecDeque<u16>,
}

impl Connection {
    fn client_id(&self) -> Option<&str> {
        match &self.state {
            ConnState::Connected { client_id } => Some(client_id),
            ConnState::AwaitingConnect => None,
        }
    }
}

/// Why a connection ends; decides whether the will is published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// DISCONNECT received (5.0: with reason 0x00).
    Normal,
    /// Everything else: network loss, protocol error, keep alive, takeover,
    /// a 5.0 DISCONNECT with any other reason (0x04 included).
    Abnormal,
}

/// Counters for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub connections_accepted: u64,
    pub messages_received: u64,
    pub messages_dropped_queue_full: u64,
    pub messages_expired: u64,
    pub protocol_errors: u64,
}

pub struct Broker {
    config: Config,
    now: Millis,
    conns: BTreeMap<ConnId, Connection>,
    sessions: BTreeMap<String, Session>,
    retained: BTreeMap<String, Arc<Message>>,
    actions: VecDeque<Action>,
    dirty_sessions: BTreeSet<String>,
    dirty_retained: BTreeSet<String>,
    next_conn: u64,
    next_assigned_id: u64,
    /// Round-robin position per shared subscription (group, filter).
    shared_cursor: BTreeMap<(String, String), usize>,
    stats: Stats,
}

impl Broker {
    pub fn new(config: Config) -> Broker {
        Broker {
            config,
            now: 0,
            conns: BTreeMap::new(),
            sessions: BTreeMap::new(),
            retained: BTreeMap::new(),
            actions: VecDeque::new(),
            dirty_sessions: BTreeSet::new(),
            dirty_retained: BTreeSet::new(),
            next_conn: 1,
            next_assigned_id: 1,
            shared_cursor: BTreeMap::new(),
            stats: Stats::default(),
        }
    }

    /// A broker restarted from stored state. Sessions that were connected when
    /// the broker stopped have lost their connection: their wills are due.
    pub fn restore(config: Config, snapshot: Snapshot, now: Millis) -> Broker {
        let mut b = Broker::new(config);
        b.now = now;
        for record in snapshot.retained {
            if let Some(m) = persist::message_from_record(&record) {
                b.retained.insert(m.topic.clone(), Arc::new(m));
            }
        }
        for record in snapshot.sessions {
            if let Some(mut s) = persist::session_from_record(&record) {
                if s.disconnected_at.is_none() {
                    s.disconnected_at = Some(now);
                    if let Some(w) = &mut s.will {
                        w.publish_at = Some(now + u64::from(w.delay) * 1000);
                    }
                    // Stored at the first take_changes, so that another crash
                    // does not restart the expiry and will delay clocks.
                    b.dirty_sessions.insert(s.client_id.clone());
                }
                b.sessions.insert(s.client_id.clone(), s);
            }
        }
        b.handle_timeout(now);
        b
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn session(&self, client_id: &str) -> Option<&Session> {
        self.sessions.get(client_id)
    }

    pub fn sessions(&self) -> impl Iterator<Item = &Session> {
        self.sessions.values()
    }

    pub fn retained(&self, topic: &str) -> Option<&Message> {
        self.retained.get(topic).map(|m| &**m)
    }

    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// A network connection was accepted.
    pub fn handle_open(&mut self, now: Millis) -> ConnId {
        self.now = now;
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        self.stats.connections_accepted += 1;
        self.conns.insert(
            id,
            Connection {
                state: ConnState::AwaitingConnect,
                buf: BytesMut::new(),
                version: Version::V5,
                opened_at: now,
                last_packet_at: now,
                keep_alive_limit: None,
                send_quota: 0,
                client_max_packet: u32::MAX,
                client_alias_max: 0,
                aliases_in: BTreeMap::new(),
                aliases_out: BTreeMap::new(),
                resend: VecDeque::new(),
            },
        );
        id
    }

    /// Bytes arrived on a connection.
    pub fn handle_data(&mut self, conn: ConnId, data: &[u8], now: Millis) {
        self.now = now;
        // A deadline that passed before these bytes arrived applies first,
        // whether or not the driver has called `handle_timeout` for it yet
        // (3.1.1 MQTT-3.1.2-24, 5.0 MQTT-3.1.2-22).
        if self.enforce_deadline(conn) {
            return;
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.buf.extend_from_slice(data);
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            let decoder =
                Decoder::new(c.version).with_max_packet_size(self.config.max_packet_size as usize);
            let connected = c.client_id().is_some();
            match decoder.decode(&mut c.buf) {
                Ok(None) => return,
                Ok(Some(packet)) => {
                    c.last_packet_at = now;
                    self.handle_packet(conn, packet);
                }
                Err(e) if !connected => return self.bad_connect(conn, e),
                Err(e) => {
                    tracing::debug!(?conn, error = %e, "malformed packet");
                    let reason = e.reason_code();
                    return self.protocol_error(conn, reason, &e.to_string());
                }
            }
        }
    }

    /// The network connection closed or failed (not at the broker's request).
    pub fn handle_close(&mut self, conn: ConnId, now: Millis) {
        self.now = now;
        if self.conns.contains_key(&conn) {
            self.end_connection(conn, Ending::Abnormal);
        }
    }

    /// Time passed: keep alive, connect timeouts, delayed wills, session
    /// expiry.
    pub fn handle_timeout(&mut self, now: Millis) {
        self.now = now;
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            self.enforce_deadline(id);
        }
        let due_wills: Vec<String> = self
            .sessions
            .values()
            .filter(|s| {
                s.conn.is_none()
                    && s.will
                        .as_ref()
                        .and_then(|w| w.publish_at)
                        .is_some_and(|t| t <= now)
            })
            .map(|s| s.client_id.clone())
            .collect();
        for id in due_wills {
            if let Some(w) = self.sessions.get_mut(&id).and_then(|s| s.will.take()) {
                self.touch(&id);
                self.publish_will(w.message);
            }
        }
        let expired: Vec<String> = self
            .sessions
            .values()
            .filter(|s| s.expires_at().is_some_and(|t| t <= now))
            .map(|s| s.client_id.clone())
            .collect();
        for id in expired {
            tracing::debug!(client_id = %id, "session expired");
            self.end_session(&id);
        }
    }

    /// The broker is stopping: every connection is closed (5.0 clients are
    /// told DISCONNECT 0x8B), as a network loss for their sessions.
    pub fn handle_shutdown(&mut self, now: Millis) {
        self.now = now;
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            let connected_v5 = self
                .conns
                .get(&id)
                .is_some_and(|c| c.version == Version::V5 && c.client_id().is_some());
            if connected_v5 {
                self.send(
                    id,
                    &Packet::Disconnect(Disconnect {
                        reason: ReasonCode::SERVER_SHUTTING_DOWN,
                        properties: Properties::default(),
                    }),
                );
            }
            self.actions.push_back(Action::Close { conn: id });
            self.end_connection(id, Ending::Abnormal);
        }
    }

    /// Closes a connection whose CONNECT or keep alive deadline has passed;
    /// true if it did.
    fn enforce_deadline(&mut self, id: ConnId) -> bool {
        let now = self.now;
        let Some(c) = self.conns.get(&id) else {
            return false;
        };
        match (&c.state, c.keep_alive_limit) {
            (ConnState::AwaitingConnect, _) if now >= c.opened_at + CONNECT_TIMEOUT => {
                tracing::debug!(?id, "no CONNECT in time");
                self.actions.push_back(Action::Close { conn: id });
                self.conns.remove(&id);
                true
            }
            (ConnState::Connected { .. }, Some(limit)) if now >= c.last_packet_at + limit => {
                tracing::debug!(?id, "keep alive expired");
                self.protocol_error(id, ReasonCode::KEEP_ALIVE_TIMEOUT, "keep alive timeout");
                true
            }
            _ => false,
        }
    }

    /// The next thing the driver must do.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When `handle_timeout` must next be called.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let conns = self.conns.values().filter_map(|c| match c.state {
            ConnState::AwaitingConnect => Some(c.opened_at + CONNECT_TIMEOUT),
            ConnState::Connected { .. } => c.keep_alive_limit.map(|l| c.last_packet_at + l),
        });
        let sessions = self.sessions.values().flat_map(|s| {
            let will = s.will.as_ref().and_then(|w| w.publish_at);
            [will, s.expires_at()].into_iter().flatten()
        });
        conns.chain(sessions).min()
    }

    /// State changed since the last call, to write to the store before the
    /// pending actions are performed. Sessions that end with their connection
    /// (expiry 0) are not stored.
    pub fn take_changes(&mut self) -> Vec<Change> {
        let mut changes = Vec::new();
        for id in std::mem::take(&mut self.dirty_sessions) {
            let record = self
                .sessions
                .get(&id)
                .filter(|s| s.expiry_interval > 0)
                .map(persist::session_to_record);
            changes.push(Change::Session {
                client_id: id,
                record,
            });
        }
        for topic in std::mem::take(&mut self.dirty_retained) {
            let message = self
                .retained
                .get(&topic)
                .map(|m| persist::message_to_record(m));
            changes.push(Change::Retained { topic, message });
        }
        changes
    }

    // ---- internals -------------------------------------------------------

    fn touch(&mut self, client_id: &str) {
        if !self.dirty_sessions.contains(client_id) {
            self.dirty_sessions.insert(client_id.to_owned());
        }
    }

    fn send(&mut self, conn: ConnId, packet: &Packet) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let mut out = BytesMut::new();
        match protocol::encode(packet, c.version, &mut out) {
            Ok(()) => self.actions.push_back(Action::Send {
                conn,
                data: out.freeze(),
            }),
            // A bug in the broker, not the client's fault: say so and drop the line.
            Err(e) => {
                tracing::error!(?conn, error = %e, "cannot encode {}", packet.packet_type());
                self.actions.push_back(Action::Close { conn });
                self.end_connection(conn, Ending::Abnormal);
            }
        }
    }

    /// Closes a connection for a protocol violation (MQTT-4.8.0-1); 5.0 says
    /// why first with DISCONNECT (§4.13).
    fn protocol_error(&mut self, conn: ConnId, reason: ReasonCode, why: &str) {
        self.stats.protocol_errors += 1;
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        if c.version == Version::V5 && c.client_id().is_some() {
            let mut properties = Properties::default();
            properties.reason_string = Some(why.to_owned());
            let mut packet = Packet::Disconnect(Disconnect { reason, properties });
            // MQTT-3.14.2-3: no Reason String if it would make the DISCONNECT
            // larger than the client's Maximum Packet Size.
            let fits = protocol::encode_to_vec(&packet, Version::V5)
                .is_ok_and(|b| b.len() <= c.client_max_packet as usize);
            if !fits {
                packet = Packet::Disconnect(Disconnect {
                    reason,
                    properties: Properties::default(),
                });
            }
            self.send(conn, &packet);
        }
        self.actions.push_back(Action::Close { conn });
        self.end_connection(conn, Ending::Abnormal);
    }

    /// A first packet that is not a well-formed CONNECT: closed without
    /// CONNACK (MQTT-3.1.4-1), except an unsupported protocol level, which
    /// is answered with CONNACK 0x01 first (MQTT-3.1.2-2). (5.0 allows a
    /// CONNACK with a reason here but does not require one.)
    fn bad_connect(&mut self, conn: ConnId, e: DecodeError) {
        tracing::debug!(?conn, error = %e, "refused CONNECT");
        self.stats.protocol_errors += 1;
        if matches!(e.kind, ErrorKind::UnsupportedProtocolLevel(_)) {
            // In the 3.1.1 format: the client's own version is unknown.
            let data = Bytes::from_static(&[0x20, 0x02, 0x00, 0x01]);
            self.actions.push_back(Action::Send { conn, data });
        }
        self.actions.push_back(Action::Close { conn });
        self.conns.remove(&conn);
    }

    fn handle_packet(&mut self, conn: ConnId, packet: Packet) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let Some(client_id) = c.client_id().map(str::to_owned) else {
            return match packet {
                Packet::Connect(connect) => self.on_connect(conn, *connect),
                // MQTT-3.1.0-1: the first packet must be CONNECT.
                _ => {
                    self.actions.push_back(Action::Close { conn });
                    self.conns.remove(&conn);
                }
            };
        };
        match packet {
            Packet::Connect(_) => {
                self.protocol_error(conn, ReasonCode::PROTOCOL_ERROR, "second CONNECT")
            }
            Packet::Publish(p) => self.on_publish(conn, &client_id, p),
            Packet::PubAck(a) => self.on_puback(&client_id, a),
            Packet::PubRec(a) => self.on_pubrec(conn, &client_id, a),
            Packet::PubRel(a) => self.on_pubrel(conn, &client_id, a),
            Packet::PubComp(a) => self.on_pubcomp(&client_id, a),
            Packet::Subscribe(s) => self.on_subscribe(conn, &client_id, s),
            Packet::Unsubscribe(u) => self.on_unsubscribe(conn, &client_id, u),
            Packet::PingReq => self.send(conn, &Packet::PingResp),
            Packet::Disconnect(d) => self.on_disconnect(conn, &client_id, d),
            // MQTT-4.12.0-7: no Authentication Method in CONNECT, so no AUTH.
            Packet::Auth(_) => self.protocol_error(
                conn,
                ReasonCode::PROTOCOL_ERROR,
                "AUTH without an authentication method",
            ),
            Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp => self
                .protocol_error(
                    conn,
                    ReasonCode::PROTOCOL_ERROR,
                    "a packet only a server sends",
                ),
        }
    }

    fn refuse_connect(&mut self, conn: ConnId, version: Version, reason: ReasonCode) {
        tracing::debug!(?conn, %reason, "CONNECT refused");
        let sendable = version == Version::V5 || reason.to_v311_connack().is_some();
        if sendable {
            self.send(
                conn,
                &Packet::ConnAck(ConnAck {
                    session_present: false,
                    reason,
                    properties: Properties::default(),
                }),
            );
        }
        self.actions.push_back(Action::Close { conn });
        self.conns.remove(&conn);
    }

    fn on_connect(&mut self, conn: ConnId, connect: Connect) {
        let version = connect.version;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.version = version;
        }
        let v5 = version == Version::V5;
        if connect.properties.authentication_method.is_some() {
            // Enhanced authentication is not configured (MQTT-4.12.0-1).
            return self.refuse_connect(conn, version, ReasonCode::BAD_AUTHENTICATION_METHOD);
        }
        let connected = self
            .conns
            .values()
            .filter(|c| c.client_id().is_some())
            .count();
        if connected >= self.config.max_connections {
            // As `Config::max_connections` promises: 3.1.1 return code 3,
            // 5.0 0x89 Server busy.
            let reason = if v5 {
                ReasonCode::SERVER_BUSY
            } else {
                ReasonCode::SERVER_UNAVAILABLE
            };
            return self.refuse_connect(conn, version, reason);
        }
        if let Err(reason) = self.authenticate(&connect) {
            return self.refuse_connect(conn, version, reason);
        }
        if let Some(w) = &connect.will {
            if w.qos > self.config.maximum_qos() {
                return self.refuse_connect(conn, version, ReasonCode::QOS_NOT_SUPPORTED);
            }
            if w.retain && !self.config.retain_available {
                return self.refuse_connect(conn, version, ReasonCode::RETAIN_NOT_SUPPORTED);
            }
        }
        let mut assigned = None;
        let client_id = if connect.client_id.is_empty() {
            if !v5 && !connect.clean_start {
                // MQTT-3.1.3-8.
                return self.refuse_connect(conn, version, ReasonCode::CLIENT_IDENTIFIER_NOT_VALID);
            }
            // Unique (3.1.1 MQTT-3.1.3-6, 5.0 MQTT-3.2.2-16): skip names a
            // client chose itself or sessions restored from the store hold.
            let id = loop {
                let id = format!("gauntlet-{}", self.next_assigned_id);
                self.next_assigned_id += 1;
                if !self.sessions.contains_key(&id) {
                    break id;
                }
            };
            assigned = Some(id.clone());
            id
        } else {
            connect.client_id.clone()
        };

        // Likewise for the deadlines of a disconnected session: a will that
        // is due goes out (MQTT-3.1.2-8), an expired session is over
        // (MQTT-4.1.0-2), even if `handle_timeout` has not run yet.
        self.settle_session(&client_id);

        // Session takeover (MQTT-3.1.4-2 / -3).
        if let Some(old) = self.sessions.get(&client_id).and_then(|s| s.conn) {
            if old != conn {
                if self
                    .conns
                    .get(&old)
                    .is_some_and(|c| c.version == Version::V5)
                {
                    self.send(
                        old,
                        &Packet::Disconnect(Disconnect {
                            reason: ReasonCode::SESSION_TAKEN_OVER,
                            properties: Properties::default(),
                        }),
                    );
                }
                self.actions.push_back(Action::Close { conn: old });
                self.end_connection(old, Ending::Abnormal);
            }
        }

        let requested_expiry = if v5 {
            connect.properties.session_expiry_interval.unwrap_or(0)
        } else if connect.clean_start {
            0
        } else {
            NEVER
        };
        let expiry = match self.config.max_session_expiry {
            Some(max) if v5 => requested_expiry.min(max),
            _ => requested_expiry,
        };
        let session_present = if connect.clean_start || !self.sessions.contains_key(&client_id) {
            if self.sessions.contains_key(&client_id) {
                self.end_session(&client_id);
            }
            self.sessions
                .insert(client_id.clone(), Session::new(client_id.clone(), version));
            false
        } else {
            true
        };
        let now = self.now;
        let session = self.sessions.get_mut(&client_id).expect("just ensured");
        session.version = version;
        session.expiry_interval = expiry;
        session.conn = Some(conn);
        session.disconnected_at = None;
        // A will still waiting for its delay is cancelled by the reconnection
        // (MQTT-3.1.3-9); the new CONNECT brings its own.
        session.will = connect.will.as_ref().map(|w| PendingWill {
            message: Message {
                topic: w.topic.clone(),
                payload: w.payload.clone(),
                qos: w.qos,
                retain: w.retain,
                properties: forwarded_properties(&w.properties),
                publisher: Some(client_id.clone()),
                received_at: now,
                expires_at: None,
            },
            delay: w.properties.will_delay_interval.unwrap_or(0),
            publish_at: None,
        });
        if let Some(w) = session.will.as_mut() {
            // Message Expiry of a will counts from when it is published.
            w.message.expires_at = connect
                .will
                .as_ref()
                .and_then(|cw| cw.properties.message_expiry_interval)
                .map(|s| u64::from(s) * 1000);
        }
        self.touch(&client_id);

        let keep_alive = if v5 {
            self.config.server_keep_alive.unwrap_or(connect.keep_alive)
        } else {
            connect.keep_alive
        };
        let props = &connect.properties;
        let c = self.conns.get_mut(&conn).expect("connection is open");
        c.state = ConnState::Connected {
            client_id: client_id.clone(),
        };
        c.keep_alive_limit = (keep_alive > 0).then(|| u64::from(keep_alive) * 1500);
        c.send_quota = props
            .receive_maximum
            .unwrap_or(u16::MAX)
            .min(self.config.max_inflight);
        c.client_max_packet = props.maximum_packet_size.unwrap_or(u32::MAX);
        c.client_alias_max = props.topic_alias_maximum.unwrap_or(0);

        let mut properties = Properties::default();
        if v5 {
            let cfg = &self.config;
            let p = &mut *properties;
            p.assigned_client_identifier = assigned;
            p.server_keep_alive = cfg.server_keep_alive;
            p.receive_maximum = Some(cfg.receive_maximum);
            p.maximum_packet_size = Some(cfg.max_packet_size);
            p.topic_alias_maximum =
                (cfg.topic_alias_maximum > 0).then_some(cfg.topic_alias_maximum);
            p.maximum_qos = (cfg.maximum_qos < 2).then_some(cfg.maximum_qos);
            p.retain_available = (!cfg.retain_available).then_some(0);
            p.wildcard_subscription_available = (!cfg.wildcard_subscription_available).then_some(0);
            p.subscription_identifier_available =
                (!cfg.subscription_identifiers_available).then_some(0);
            p.shared_subscription_available = (!cfg.shared_subscription_available).then_some(0);
            if expiry != requested_expiry {
                p.session_expiry_interval = Some(expiry);
            }
            if properties.is_empty() {
                properties = Properties::default();
            }
        }
        tracing::debug!(?conn, %client_id, session_present, "connected");
        self.send(
            conn,
            &Packet::ConnAck(ConnAck {
                session_present,
                reason: ReasonCode::SUCCESS,
                properties,
            }),
        );
        self.resume(&client_id);
    }

    /// Applies a disconnected session's deadlines that have passed.
    fn settle_session(&mut self, client_id: &str) {
        let now = self.now;
        let Some(s) = self.sessions.get_mut(client_id) else {
            return;
        };
        if s.conn.is_some() {
            return;
        }
        let due = s.will.as_ref().and_then(|w| w.publish_at);
        if due.is_some_and(|t| t <= now) {
            if let Some(w) = s.will.take() {
                self.touch(client_id);
                self.publish_will(w.message);
            }
        }
        let expired = self.sessions.get(client_id).and_then(Session::expires_at);
        if expired.is_some_and(|t| t <= now) {
            self.end_session(client_id);
        }
    }

    fn authenticate(&self, connect: &Connect) -> Result<(), ReasonCode> {
        match &connect.username {
            None if !self.config.allow_anonymous => Err(ReasonCode::NOT_AUTHORIZED),
            None => Ok(()),
            Some(_) if self.config.users.is_empty() => Ok(()),
            Some(user) => {
                let expected = self.config.users.get(user).map(String::as_bytes);
                let given = connect.password.as_deref();
                if expected.is_some() && expected == given {
                    Ok(())
                } else {
                    Err(ReasonCode::BAD_USER_NAME_OR_PASSWORD)
                }
            }
        }
    }

    /// After CONNACK on a resumed session: resend what is in flight, in
    /// order, with DUP (MQTT-4.4.0-1), then what is queued. The send quota
    /// starts afresh at this connection's Receive Maximum (MQTT-4.9.0-1), and
    /// resent PUBLISHes count against it (MQTT-3.3.4-9): those beyond it wait
    /// in `Connection::resend` for `pump`.
    fn resume(&mut self, client_id: &str) {
        if self.config.has_bug(Bug::OfflineQueueDroppedOnResume) {
            if let Some(s) = self.sessions.get_mut(client_id) {
                s.queue.clear();
            }
        }
        if self.config.has_bug(Bug::NoRedeliveryOnResume) {
            return self.pump(client_id);
        }
        let Some(session) = self.sessions.get(client_id) else {
            return;
        };
        let Some(conn) = session.conn else {
            return;
        };
        let quota = usize::from(self.conns.get(&conn).map_or(0, |c| c.send_quota));
        let inflight: Vec<OutFlight> = session.outflight.iter().cloned().collect();
        let mut in_use = 0;
        let mut waiting = VecDeque::new();
        for o in inflight {
            match o.state {
                OutState::Published if waiting.is_empty() && in_use < quota => {
                    if self.send_publish(conn, &o.delivery, Some(o.packet_id), true) {
                        in_use += 1;
                    } else {
                        self.discard_outflight(client_id, o.packet_id);
                    }
                }
                OutState::Published => waiting.push_back(o.packet_id),
                OutState::Released => {
                    in_use += 1;
                    self.send(conn, &Packet::PubRel(Ack::new(o.packet_id)));
                }
            }
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.resend = waiting;
        }
        self.pump(client_id);
    }

    fn on_publish(&mut self, conn: ConnId, client_id: &str, mut p: Publish) {
        let v5 = self
            .conns
            .get(&conn)
            .is_some_and(|c| c.version == Version::V5);
        if p.qos > self.config.maximum_qos() {
            return self.protocol_error(conn, ReasonCode::QOS_NOT_SUPPORTED, "QoS not supported");
        }
        if p.retain && !self.config.retain_available {
            return self.protocol_error(
                conn,
                ReasonCode::RETAIN_NOT_SUPPORTED,
                "retain not supported",
            );
        }
        if !p.properties.subscription_identifiers.is_empty() {
            // MQTT-3.3.4-6.
            return self.protocol_error(
                conn,
                ReasonCode::PROTOCOL_ERROR,
                "Subscription Identifier in a client's PUBLISH",
            );
        }
        if let Some(alias) = p.properties.topic_alias {
            if alias > self.config.topic_alias_maximum {
                // MQTT-3.2.2-17 / §3.3.2.3.4.
                return self.protocol_error(
                    conn,
                    ReasonCode::TOPIC_ALIAS_INVALID,
                    "topic alias out of range",
                );
            }
            let c = self.conns.get_mut(&conn).expect("connection is open");
            if p.topic.is_empty() {
                match c.aliases_in.get(&alias) {
                    Some(t) => p.topic = t.clone(),
                    None => {
                        return self.protocol_error(
                            conn,
                            ReasonCode::PROTOCOL_ERROR,
                            "topic alias not set on this connection",
                        )
                    }
                }
            } else {
                c.aliases_in.insert(alias, p.topic.clone());
            }
        }
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        if p.qos == QoS::ExactlyOnce {
            let id = p.packet_id.unwrap_or(0);
            if session.inbound_qos2.contains(&id) && !self.config.has_bug(Bug::Qos2ResendForwarded)
            {
                // A resend before PUBREL: acknowledge again, deliver nothing
                // (MQTT-4.3.3-10 / 3.1.1 MQTT-4.3.3-2).
                return self.send(conn, &Packet::PubRec(Ack::new(id)));
            }
            if session.inbound_qos2.len() >= usize::from(self.config.receive_maximum) {
                return self.protocol_error(
                    conn,
                    ReasonCode::RECEIVE_MAXIMUM_EXCEEDED,
                    "more QoS 2 messages awaiting PUBREL than Receive Maximum",
                );
            }
            session.inbound_qos2.insert(id);
        }
        self.stats.messages_received += 1;
        let message = Arc::new(Message {
            topic: p.topic,
            payload: p.payload,
            qos: p.qos,
            retain: p.retain,
            properties: if v5 {
                forwarded_properties(&p.properties)
            } else {
                Properties::default()
            },
            publisher: Some(client_id.to_owned()),
            received_at: self.now,
            expires_at: p
                .properties
                .message_expiry_interval
                .map(|s| self.now + u64::from(s) * 1000),
        });
        if message.retain {
            self.store_retained(&message);
        }
        if p.qos == QoS::ExactlyOnce && self.config.has_bug(Bug::Qos2PubrelResendForwarded) {
            if let Some(s) = self.sessions.get_mut(client_id) {
                s.held_qos2.insert(p.packet_id.unwrap_or(0), message);
            }
        } else {
            self.route(&message);
        }
        match p.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => {
                self.send(conn, &Packet::PubAck(Ack::new(p.packet_id.unwrap_or(0))))
            }
            QoS::ExactlyOnce => {
                self.touch(client_id);
                self.send(conn, &Packet::PubRec(Ack::new(p.packet_id.unwrap_or(0))))
            }
        }
    }

    /// MQTT-3.3.1-5..-7 (3.1.1 -5, -7, -10, -11): replace, or clear with an
    /// empty payload.
    fn store_retained(&mut self, message: &Arc<Message>) {
        if message.payload.is_empty() {
            self.retained.remove(&message.topic);
        } else if self.config.has_bug(Bug::RetainedNotReplaced)
            && self.retained.contains_key(&message.topic)
        {
            return;
        } else {
            self.retained.insert(message.topic.clone(), message.clone());
        }
        self.dirty_retained.insert(message.topic.clone());
    }

    /// Hands a message to every session with a matching subscription: one
    /// copy per session at the highest QoS of its matching subscriptions,
    /// carrying all their identifiers (MQTT-3.3.4-2..-4); one subscriber per
    /// shared group.
    fn route(&mut self, message: &Arc<Message>) {
        let mut deliveries: Vec<(String, Delivery)> = Vec::new();
        let mut groups: BTreeMap<(String, String), Vec<(String, Subscription)>> = BTreeMap::new();
        for session in self.sessions.values() {
            let mut best: Option<Delivery> = None;
            for (filter, sub) in &session.subscriptions {
                if session.version == Version::V5 {
                    if let Ok(Some(shared)) = SharedFilter::parse(filter) {
                        if topic::matches(shared.filter, &message.topic) {
                            groups
                                .entry((shared.group.to_owned(), shared.filter.to_owned()))
                                .or_default()
                                .push((session.client_id.clone(), sub.clone()));
                        }
                        continue;
                    }
                }
                let matched = if self.config.has_bug(Bug::PlusMatchesManyLevels) {
                    plus_matches_many_levels(filter, &message.topic)
                } else {
                    topic::matches(filter, &message.topic)
                };
                if !matched {
                    continue;
                }
                if sub.options.no_local
                    && message.publisher.as_deref() == Some(session.client_id.as_str())
                {
                    continue;
                }
                let qos = message.qos.min(sub.options.qos);
                let retain = sub.options.retain_as_published && message.retain;
                let d = best.get_or_insert_with(|| Delivery {
                    message: message.clone(),
                    qos,
                    retain,
                    subscription_ids: Vec::new(),
                });
                d.qos = d.qos.max(qos);
                d.retain |= retain;
                d.subscription_ids.extend(sub.id);
            }
            if let Some(d) = best {
                deliveries.push((session.client_id.clone(), d));
            }
        }
        for (key, members) in groups {
            // Prefer connected members, round robin among them.
            let connected: Vec<&(String, Subscription)> = members
                .iter()
                .filter(|(id, _)| self.sessions.get(id).is_some_and(|s| s.conn.is_some()))
                .collect();
            let pool: Vec<&(String, Subscription)> = if connected.is_empty() {
                members.iter().collect()
            } else {
                connected
            };
            let cursor = self.shared_cursor.entry(key).or_insert(0);
            let (id, sub) = pool[*cursor % pool.len()];
            *cursor = cursor.wrapping_add(1);
            deliveries.push((
                id.clone(),
                Delivery {
                    message: message.clone(),
                    qos: message.qos.min(sub.options.qos),
                    retain: sub.options.retain_as_published && message.retain,
                    subscription_ids: sub.id.into_iter().collect(),
                },
            ));
        }
        for (id, d) in deliveries {
            self.deliver(&id, d);
        }
    }

    /// QoS 0 goes out now or not at all; QoS 1 and 2 join the session's queue
    /// (bounded: when full the new message is dropped, never an older one).
    fn deliver(&mut self, client_id: &str, d: Delivery) {
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        if d.message.expired(self.now) {
            self.stats.messages_expired += 1;
            return;
        }
        if d.qos == QoS::AtMostOnce {
            if let Some(conn) = session.conn {
                self.send_publish(conn, &d, None, false);
            }
            return;
        }
        let topic = d.message.topic.clone();
        session.queue.push_back(d);
        self.touch(client_id);
        self.pump(client_id);
        // The bound is on what waits beyond the messages in flight, so the
        // message goes into flight first if it can; if it must wait and the
        // queue is full, it is the one dropped (it is last in the queue).
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        if session.queue.len() > self.config.max_queued_messages {
            session.queue.pop_back();
            session.dropped += 1;
            self.stats.messages_dropped_queue_full += 1;
            tracing::warn!(%client_id, %topic, "queue full, message dropped");
        }
    }

    /// Moves queued messages into flight while the client's Receive Maximum
    /// allows (MQTT-3.3.4-9).
    fn pump(&mut self, client_id: &str) {
        loop {
            let now = self.now;
            let Some(session) = self.sessions.get_mut(client_id) else {
                return;
            };
            let Some(conn) = session.conn else {
                return;
            };
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            // Messages in flight from an earlier connection and not resent
            // on this one yet do not count against its quota.
            let in_use = if c.resend.is_empty() {
                session.outflight.len()
            } else {
                session
                    .outflight
                    .iter()
                    .filter(|o| o.state == OutState::Released || !c.resend.contains(&o.packet_id))
                    .count()
            };
            if in_use >= usize::from(c.send_quota) {
                return;
            }
            // Those go first, in order (MQTT-4.6.0-1), unless acknowledged
            // meanwhile.
            if let Some(id) = c.resend.pop_front() {
                let waiting = session
                    .outflight
                    .iter()
                    .find(|o| o.packet_id == id && o.state == OutState::Published)
                    .map(|o| o.delivery.clone());
                if let Some(d) = waiting {
                    if !self.send_publish(conn, &d, Some(id), true) {
                        self.discard_outflight(client_id, id);
                    }
                }
                continue;
            }
            let Some(d) = session.queue.pop_front() else {
                return;
            };
            if d.message.expired(now) {
                self.stats.messages_expired += 1;
                continue;
            }
            let packet_id = session.allocate_packet_id();
            session.outflight.push_back(OutFlight {
                packet_id,
                delivery: d.clone(),
                state: OutState::Published,
            });
            self.touch(client_id);
            if !self.send_publish(conn, &d, Some(packet_id), false) {
                self.discard_outflight(client_id, packet_id);
            }
        }
    }

    /// A PUBLISH too large for the client: as if delivered (MQTT-3.1.2-25).
    fn discard_outflight(&mut self, client_id: &str, packet_id: u16) {
        if let Some(s) = self.sessions.get_mut(client_id) {
            s.outflight.retain(|o| o.packet_id != packet_id);
        }
        self.touch(client_id);
    }

    /// Writes a PUBLISH for a delivery. False if it exceeds the client's
    /// Maximum Packet Size and was dropped instead (MQTT-3.1.2-24/-25).
    fn send_publish(
        &mut self,
        conn: ConnId,
        d: &Delivery,
        packet_id: Option<u16>,
        dup: bool,
    ) -> bool {
        let now = self.now;
        let Some(c) = self.conns.get_mut(&conn) else {
            return false;
        };
        let m = &d.message;
        let mut publish = Publish {
            dup,
            qos: d.qos,
            retain: d.retain,
            topic: m.topic.clone(),
            packet_id,
            properties: Properties::default(),
            payload: m.payload.clone(),
        };
        if c.version == Version::V5 {
            publish.properties = m.properties.clone();
            if !d.subscription_ids.is_empty() {
                publish.properties.subscription_identifiers = d.subscription_ids.clone();
            }
            if let Some(left) = m.remaining_expiry(now) {
                publish.properties.message_expiry_interval = Some(left);
            }
        }
        let mut out = BytesMut::new();
        if let Err(e) = protocol::encode(&Packet::Publish(publish.clone()), c.version, &mut out) {
            tracing::error!(?conn, error = %e, "cannot encode PUBLISH");
            return false;
        }
        if out.len() > c.client_max_packet as usize {
            tracing::debug!(
                ?conn,
                size = out.len(),
                "PUBLISH exceeds the client's Maximum Packet Size"
            );
            return false;
        }
        // Topic aliases towards the client, assigned first come, never reused.
        // An alias adds three bytes, so it is used only if the PUBLISH still
        // fits the client's Maximum Packet Size (MQTT-3.1.2-24); otherwise
        // the full topic goes, which always fits (checked above).
        if c.version == Version::V5 && c.client_alias_max > 0 {
            let known = c.aliases_out.get(&m.topic).copied();
            let new = known.is_none().then(|| c.aliases_out.len() + 1);
            let alias = known.or_else(|| {
                new.filter(|&n| n <= usize::from(c.client_alias_max))
                    .map(|n| n as u16)
            });
            if let Some(alias) = alias {
                publish.properties.topic_alias = Some(alias);
                if known.is_some() {
                    publish.topic.clear();
                }
                let mut aliased = BytesMut::new();
                if protocol::encode(&Packet::Publish(publish), c.version, &mut aliased).is_ok()
                    && aliased.len() <= c.client_max_packet as usize
                {
                    if known.is_none() {
                        c.aliases_out.insert(m.topic.clone(), alias);
                    }
                    out = aliased;
                }
            }
        }
        self.actions.push_back(Action::Send {
            conn,
            data: out.freeze(),
        });
        true
    }

    fn on_puback(&mut self, client_id: &str, a: Ack) {
        let Some(s) = self.sessions.get_mut(client_id) else {
            return;
        };
        let before = s.outflight.len();
        s.outflight.retain(|o| {
            !(o.packet_id == a.packet_id
                && o.state == OutState::Published
                && o.delivery.qos == QoS::AtLeastOnce)
        });
        if s.outflight.len() != before {
            self.touch(client_id);
            self.pump(client_id);
        }
    }

    fn on_pubrec(&mut self, conn: ConnId, client_id: &str, a: Ack) {
        let Some(s) = self.sessions.get_mut(client_id) else {
            return;
        };
        let found = s
            .outflight
            .iter_mut()
            .find(|o| o.packet_id == a.packet_id && o.delivery.qos == QoS::ExactlyOnce);
        let Some(o) = found else {
            let mut rel = Ack::new(a.packet_id);
            if s.version == Version::V5 {
                rel.reason = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
            }
            return self.send(conn, &Packet::PubRel(rel));
        };
        if a.reason.is_error() {
            // MQTT-4.4.0-2: acknowledged, not to be retransmitted.
            s.outflight.retain(|o| o.packet_id != a.packet_id);
            self.touch(client_id);
            return self.pump(client_id);
        }
        o.state = OutState::Released;
        self.touch(client_id);
        self.send(conn, &Packet::PubRel(Ack::new(a.packet_id)));
    }

    fn on_pubrel(&mut self, conn: ConnId, client_id: &str, a: Ack) {
        let Some(s) = self.sessions.get_mut(client_id) else {
            return;
        };
        let mut comp = Ack::new(a.packet_id);
        let held = s.held_qos2.get(&a.packet_id).cloned();
        if s.inbound_qos2.remove(&a.packet_id) {
            self.touch(client_id);
        } else if s.version == Version::V5 {
            comp.reason = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
        }
        if let Some(message) = held {
            self.route(&message);
        }
        self.send(conn, &Packet::PubComp(comp));
    }

    fn on_pubcomp(&mut self, client_id: &str, a: Ack) {
        let Some(s) = self.sessions.get_mut(client_id) else {
            return;
        };
        let before = s.outflight.len();
        s.outflight
            .retain(|o| !(o.packet_id == a.packet_id && o.state == OutState::Released));
        if s.outflight.len() != before {
            self.touch(client_id);
            self.pump(client_id);
        }
    }

    fn on_subscribe(&mut self, conn: ConnId, client_id: &str, s: Subscribe) {
        let v5 = self
            .conns
            .get(&conn)
            .is_some_and(|c| c.version == Version::V5);
        let sub_id = s.properties.subscription_identifiers.first().copied();
        let mut reasons = Vec::with_capacity(s.filters.len());
        let mut retained_for: Vec<(String, Subscription)> = Vec::new();
        for req in s.filters {
            let shared = v5 && matches!(SharedFilter::parse(&req.filter), Ok(Some(_)));
            let inner = match SharedFilter::parse(&req.filter) {
                Ok(Some(sf)) if v5 => sf.filter.to_owned(),
                _ => req.filter.clone(),
            };
            let cfg = &self.config;
            let refusal = if cfg.refuses(&inner) || cfg.refuses(&req.filter) {
                Some(if v5 {
                    ReasonCode::NOT_AUTHORIZED
                } else {
                    ReasonCode::UNSPECIFIED_ERROR
                })
            } else if shared && !cfg.shared_subscription_available {
                Some(ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED)
            } else if topic_has_wildcard(&inner) && !cfg.wildcard_subscription_available {
                Some(ReasonCode::WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED)
            } else if sub_id.is_some() && !cfg.subscription_identifiers_available {
                Some(ReasonCode::SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED)
            } else {
                None
            };
            if let Some(r) = refusal {
                reasons.push(r);
                continue;
            }
            let granted = req.options.qos.min(cfg.maximum_qos());
            let mut options = req.options;
            options.qos = granted;
            let sub = Subscription {
                options,
                id: sub_id,
            };
            let Some(session) = self.sessions.get_mut(client_id) else {
                return;
            };
            // MQTT-3.8.4-3: an identical filter replaces the subscription.
            let existed = session
                .subscriptions
                .insert(req.filter.clone(), sub.clone())
                .is_some();
            reasons.push(ReasonCode(granted as u8));
            let send_retained = !shared
                && match options.retain_handling {
                    RetainHandling::SendAtSubscribe => true,
                    RetainHandling::SendIfNew => !existed,
                    RetainHandling::DoNotSend => false,
                };
            if send_retained {
                retained_for.push((inner, sub));
            }
        }
        self.touch(client_id);
        self.send(
            conn,
            &Packet::SubAck(SubAck {
                packet_id: s.packet_id,
                properties: Properties::default(),
                reasons,
            }),
        );
        // Retained messages follow the SUBACK, with RETAIN set (MQTT-3.3.1-6, -8).
        for (filter, sub) in retained_for {
            let matching: Vec<Arc<Message>> = self
                .retained
                .iter()
                .filter(|(t, _)| topic::matches(&filter, t))
                .map(|(_, m)| m.clone())
                .collect();
            for message in matching {
                let qos = message.qos.min(sub.options.qos);
                self.deliver(
                    client_id,
                    Delivery {
                        message,
                        qos,
                        retain: true,
                        subscription_ids: sub.id.into_iter().collect(),
                    },
                );
            }
        }
    }

    fn on_unsubscribe(&mut self, conn: ConnId, client_id: &str, u: Unsubscribe) {
        let v5 = self
            .conns
            .get(&conn)
            .is_some_and(|c| c.version == Version::V5);
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        let mut reasons = Vec::new();
        for f in &u.filters {
            let removed = session.subscriptions.remove(f).is_some();
            if v5 {
                reasons.push(if removed {
                    ReasonCode::SUCCESS
                } else {
                    ReasonCode::NO_SUBSCRIPTION_EXISTED
                });
            }
        }
        self.touch(client_id);
        self.send(
            conn,
            &Packet::UnsubAck(UnsubAck {
                packet_id: u.packet_id,
                properties: Properties::default(),
                reasons,
            }),
        );
    }

    fn on_disconnect(&mut self, conn: ConnId, client_id: &str, d: Disconnect) {
        if let Some(new_expiry) = d.properties.session_expiry_interval {
            let Some(s) = self.sessions.get_mut(client_id) else {
                return;
            };
            if s.expiry_interval == 0 && new_expiry != 0 {
                // §3.14.2.2.2: a session that ends with its connection cannot
                // be kept at DISCONNECT.
                return self.protocol_error(
                    conn,
                    ReasonCode::PROTOCOL_ERROR,
                    "Session Expiry Interval set on DISCONNECT after 0 on CONNECT",
                );
            }
            s.expiry_interval = match self.config.max_session_expiry {
                Some(max) => new_expiry.min(max),
                None => new_expiry,
            };
        }
        self.actions.push_back(Action::Close { conn });
        // MQTT-3.14.4-3 / MQTT-3.1.2-10 (5.0): only 0x00 discards the will;
        // 0x04 asks for it, and a client reporting an error keeps it too.
        let ending = if d.reason == ReasonCode::NORMAL_DISCONNECTION {
            Ending::Normal
        } else {
            Ending::Abnormal
        };
        self.end_connection(conn, ending);
    }

    /// The connection is gone: detach its session, schedule or drop the will,
    /// end the session if it does not outlive the connection.
    fn end_connection(&mut self, conn: ConnId, ending: Ending) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        let ConnState::Connected { client_id } = c.state else {
            return;
        };
        let now = self.now;
        let Some(s) = self.sessions.get_mut(&client_id) else {
            return;
        };
        if s.conn != Some(conn) {
            return;
        }
        s.conn = None;
        s.disconnected_at = Some(now);
        let mut publish_now = None;
        match ending {
            // MQTT-3.14.4-3: a normal DISCONNECT discards the will.
            Ending::Normal => s.will = None,
            Ending::Abnormal => {
                if let Some(w) = &mut s.will {
                    if w.delay == 0 {
                        publish_now = s.will.take();
                    } else {
                        w.publish_at = Some(now + u64::from(w.delay) * 1000);
                    }
                }
            }
        }
        let ends = s.expiry_interval == 0;
        self.touch(&client_id);
        if let Some(w) = publish_now {
            self.publish_will(w.message);
        }
        if ends {
            self.end_session(&client_id);
        }
    }

    /// The session is over: a will still waiting is published now (MQTT-3.1.2-8).
    fn end_session(&mut self, client_id: &str) {
        let Some(s) = self.sessions.remove(client_id) else {
            return;
        };
        self.touch(client_id);
        if s.conn.is_none() {
            if let Some(w) = s.will.filter(|w| w.publish_at.is_some()) {
                self.publish_will(w.message);
            }
        }
    }

    fn publish_will(&mut self, mut message: Message) {
        message.received_at = self.now;
        // A will's Message Expiry Interval is kept relative until now.
        message.expires_at = message.expires_at.map(|ms| self.now + ms);
        tracing::debug!(topic = %message.topic, "publishing will");
        let message = Arc::new(message);
        if message.retain {
            self.store_retained(&message);
        }
        self.route(&message);
    }
}

fn topic_has_wildcard(filter: &str) -> bool {
    filter.contains(['+', '#'])
}

/// The properties a PUBLISH passes on to subscribers unaltered.
fn forwarded_properties(p: &PropertyValues) -> Properties {
    Properties::from(PropertyValues {
        payload_format_indicator: p.payload_format_indicator,
        content_type: p.content_type.clone(),
        response_topic: p.response_topic.clone(),
        correlation_data: p.correlation_data.clone(),
        user_properties: p.user_properties.clone(),
        ..PropertyValues::default()
    })
}

/// The defect `Bug::PlusMatchesManyLevels`: `+` takes one or more levels.
fn plus_matches_many_levels(filter: &str, topic: &str) -> bool {
    fn go(f: &[&str], t: &[&str]) -> bool {
        match (f.first(), t.first()) {
            (None, None) => true,
            (Some(&"#"), _) => true,
            (Some(&"+"), Some(_)) => (1..=t.len()).any(|n| go(&f[1..], &t[n..])),
            (Some(a), Some(b)) if a == b => go(&f[1..], &t[1..]),
            _ => false,
        }
    }
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let f: Vec<&str> = filter.split('/').collect();
    let t: Vec<&str> = topic.split('/').collect();
    go(&f, &t)
}
