//! Messages coming in: a client's PUBLISH and the QoS 1/2 acknowledgement
//! flows in both directions (PUBACK, PUBREC, PUBREL, PUBCOMP), the retained
//! store, and wills when they are published.

use std::sync::Arc;

use protocol::{Ack, Packet, Properties, PropertyValues, Publish, QoS, ReasonCode, Version};

use super::{Broker, ConnId, Message, OutState};
use crate::defects::Bug;

impl Broker {
    pub(super) fn on_publish(&mut self, conn: ConnId, client_id: &str, mut p: Publish) {
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
        if self.config.refuses_publish(&p.topic) {
            return self.refuse_publish(conn, client_id, v5, &p);
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

    /// A PUBLISH to a topic the client may not publish to: the message goes
    /// nowhere. 5.0 answers 0x87 Not authorized, and a refused QoS 2
    /// message awaits no PUBREL: its packet identifier is free at once, and
    /// a PUBLISH that reuses it is a new message (MQTT-4.3.3-9). 3.1.1 has
    /// no way to say no (MQTT-3.3.5-2): the flow runs as if delivered.
    fn refuse_publish(&mut self, conn: ConnId, client_id: &str, v5: bool, p: &Publish) {
        let id = p.packet_id.unwrap_or(0);
        let mut ack = Ack::new(id);
        if v5 {
            ack.reason = ReasonCode::NOT_AUTHORIZED;
        }
        match p.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => self.send(conn, &Packet::PubAck(ack)),
            QoS::ExactlyOnce => {
                if !v5 {
                    if let Some(s) = self.sessions.get_mut(client_id) {
                        s.inbound_qos2.insert(id);
                    }
                    self.touch(client_id);
                }
                self.send(conn, &Packet::PubRec(ack))
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

    pub(super) fn on_puback(&mut self, client_id: &str, a: Ack) {
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

    pub(super) fn on_pubrec(&mut self, conn: ConnId, client_id: &str, a: Ack) {
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

    pub(super) fn on_pubrel(&mut self, conn: ConnId, client_id: &str, a: Ack) {
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

    pub(super) fn on_pubcomp(&mut self, client_id: &str, a: Ack) {
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

    pub(super) fn publish_will(&mut self, mut message: Message) {
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

/// The properties a PUBLISH passes on to subscribers unaltered.
pub(super) fn forwarded_properties(p: &PropertyValues) -> Properties {
    Properties::from(PropertyValues {
        payload_format_indicator: p.payload_format_indicator,
        content_type: p.content_type.clone(),
        response_topic: p.response_topic.clone(),
        correlation_data: p.correlation_data.clone(),
        user_properties: p.user_properties.clone(),
        ..PropertyValues::default()
    })
}
