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
//!
//! The handling is split by concern, each file one `impl Broker` block:
//! `connect` (CONNECT, DISCONNECT, sessions starting and ending), `auth`
//! (5.0 enhanced authentication over AUTH), `publish`
//! (messages coming in, QoS 1/2 acknowledgements, retained messages, wills),
//! `delivery` (routing, queues, messages in flight), `subscribe` (SUBSCRIBE,
//! UNSUBSCRIBE), `timers` (deadlines). `session` holds the per-client state,
//! `persist` its store records.

mod auth;
mod connect;
mod delivery;
mod persist;
mod publish;
mod session;
mod subscribe;
mod timers;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use protocol::{Decoder, Disconnect, Packet, Properties, ReasonCode, Version};

pub use session::{Delivery, Message, OutFlight, OutState, PendingWill, Session, Subscription};

use crate::config::Config;
use crate::defects::Bug;
use crate::store::{Change, Snapshot};

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
    auth: auth::AuthState,
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
    /// Set by the `halts_on_server_packet` defect: the broker answers
    /// nothing any more and closes every connection.
    halted: bool,
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
            halted: false,
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
                auth: auth::AuthState::Off,
            },
        );
        id
    }

    /// Bytes arrived on a connection.
    pub fn handle_data(&mut self, conn: ConnId, data: &[u8], now: Millis) {
        self.now = now;
        if self.halted {
            self.actions.push_back(Action::Close { conn });
            self.conns.remove(&conn);
            return;
        }
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
            let mut limit = self.config.max_packet_size as usize;
            if self.config.has_bug(Bug::PacketSizeOffByOne) {
                limit -= 1;
            }
            let decoder = Decoder::new(c.version).with_max_packet_size(limit);
            let connected = c.client_id().is_some();
            match decoder.decode(&mut c.buf) {
                Ok(None) => return,
                Ok(Some(packet)) => {
                    c.last_packet_at = now;
                    self.handle_packet(conn, packet);
                }
                Err(e) if crate::defects::mend_fixed_header(&self.config, &e, &mut c.buf) => {}
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

    /// The next thing the driver must do.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// State changed since the last call, to write to the store before the
    /// pending actions are performed. A session that ends with its connection
    /// (expiry 0) is stored only while it holds a will: a crash closes the
    /// connection without DISCONNECT, so the will is owed (MQTT-3.1.2-8) and,
    /// the broker being down, is published at the restart (5.0 §3.1.2.5 lets
    /// a failed server defer it, not drop it). Restored, such a session ends
    /// at once and its will goes out.
    pub fn take_changes(&mut self) -> Vec<Change> {
        let mut changes = Vec::new();
        for id in std::mem::take(&mut self.dirty_sessions) {
            let record = self
                .sessions
                .get(&id)
                .filter(|s| s.expiry_interval > 0 || s.will.is_some())
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

    fn handle_packet(&mut self, conn: ConnId, packet: Packet) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let Some(client_id) = c.client_id().map(str::to_owned) else {
            if c.auth.is_connecting() {
                return self.on_auth_connecting(conn, packet);
            }
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
            Packet::Connect(_) if self.config.has_bug(Bug::SecondConnectIgnored) => {}
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
            Packet::Auth(a) => self.on_auth(conn, a),
            Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp
                if self.config.has_bug(Bug::HaltsOnServerPacket) =>
            {
                self.halted = true;
                let all: Vec<ConnId> = self.conns.keys().copied().collect();
                for id in all {
                    self.actions.push_back(Action::Close { conn: id });
                    self.conns.remove(&id);
                }
            }
            Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp => self
                .protocol_error(
                    conn,
                    ReasonCode::PROTOCOL_ERROR,
                    "a packet only a server sends",
                ),
        }
    }
}
