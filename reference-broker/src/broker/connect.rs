//! A connection's life: CONNECT (authentication, refusal, session takeover,
//! CONNACK, resuming a stored session), DISCONNECT, and what ends a
//! connection or a session.

use std::collections::VecDeque;

use bytes::Bytes;
use protocol::{
    Ack, ConnAck, Connect, DecodeError, Disconnect, ErrorKind, Packet, Properties, ReasonCode,
    Version,
};

use super::publish::forwarded_properties;
use super::session::NEVER;
use super::{
    Action, Broker, ConnId, ConnState, Ending, Message, OutFlight, OutState, PendingWill, Session,
};
use crate::defects::Bug;

impl Broker {
    /// A first packet that is not a well-formed CONNECT: closed without
    /// CONNACK (MQTT-3.1.4-1), except an unsupported protocol level, which
    /// is answered with CONNACK 0x01 first (MQTT-3.1.2-2). (5.0 allows a
    /// CONNACK with a reason here but does not require one.)
    pub(super) fn bad_connect(&mut self, conn: ConnId, e: DecodeError) {
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

    pub(super) fn refuse_connect(&mut self, conn: ConnId, version: Version, reason: ReasonCode) {
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

    pub(super) fn on_connect(&mut self, conn: ConnId, connect: Connect) {
        let version = connect.version;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.version = version;
        }
        let v5 = version == Version::V5;
        if let Some(method) = &connect.properties.authentication_method {
            if self.config.auth_method.as_ref() != Some(method) {
                // Not the method the broker supports (MQTT-4.12.0-1).
                return self.refuse_connect(conn, version, ReasonCode::BAD_AUTHENTICATION_METHOD);
            }
            if !self.authenticated(conn, method) {
                return self.challenge_connect(conn, connect);
            }
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
        } else if self.config.refuses_client_id(&connect.client_id) {
            // A valid identifier the broker's policy does not allow (5.0
            // MQTT-3.1.3-8, 3.1.1 §3.1.3.1 / MQTT-3.2.2-5): refused, closed.
            return self.refuse_connect(conn, version, ReasonCode::CLIENT_IDENTIFIER_NOT_VALID);
        } else {
            connect.client_id.clone()
        };

        // Likewise for the deadlines of a disconnected session: a will that
        // is due goes out (MQTT-3.1.2-8), an expired session is over
        // (MQTT-4.1.0-2), even if `handle_timeout` has not run yet.
        self.settle_session(&client_id);

        // Session takeover (MQTT-3.1.4-2 / -3).
        if let Some(old) = self.sessions.get(&client_id).and_then(|s| s.conn) {
            if old != conn && self.config.has_bug(Bug::TakeoverLeavesOldOpen) {
                // Detached from the session, never closed.
                self.end_connection(old, Ending::Abnormal);
            } else if old != conn {
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
        let counter_per_connection = self.config.has_bug(Bug::ReusesInflightPacketId);
        let session = self.sessions.get_mut(&client_id).expect("just ensured");
        if counter_per_connection {
            session.next_packet_id = 1;
        }
        session.version = version;
        session.expiry_interval = if expiry > 0 && self.config.has_bug(Bug::SessionNeverExpires) {
            NEVER
        } else {
            expiry
        };
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
            // MQTT-4.12.0-5: a successful CONNACK repeats the method.
            p.authentication_method = connect.properties.authentication_method.clone();
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

    pub(super) fn on_disconnect(&mut self, conn: ConnId, client_id: &str, d: Disconnect) {
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
    pub(super) fn end_connection(&mut self, conn: ConnId, ending: Ending) {
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
    pub(super) fn end_session(&mut self, client_id: &str) {
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
}
