//! Messages going out: routing to matching subscriptions (shared ones round
//! robin), each session's bounded queue, messages in flight within the
//! client's Receive Maximum, and writing a PUBLISH (topic aliases, size).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::BytesMut;
use protocol::topic::{self, SharedFilter};
use protocol::{Packet, Properties, Publish, QoS, Version};

use super::{Action, Broker, ConnId, Delivery, Message, OutFlight, OutState, Subscription};
use crate::defects::Bug;

impl Broker {
    /// Hands a message to every session with a matching subscription: one
    /// copy per session at the highest QoS of its matching subscriptions,
    /// carrying all their identifiers (MQTT-3.3.4-2..-4); one subscriber per
    /// shared group.
    pub(super) fn route(&mut self, message: &Arc<Message>) {
        if self.config.has_bug(Bug::EndlessLoopOnEmptyLevel) && message.topic.contains("//") {
            loop {
                std::hint::spin_loop();
            }
        }
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
                let this = Delivery {
                    message: message.clone(),
                    qos,
                    retain,
                    subscription_ids: sub.id.into_iter().collect(),
                };
                match &mut best {
                    _ if self.config.copy_per_subscription => {
                        deliveries.push((session.client_id.clone(), this));
                    }
                    None => best = Some(this),
                    Some(d) => {
                        if !self.config.has_bug(Bug::OverlapQosOfFirstMatch) {
                            d.qos = d.qos.max(qos);
                        }
                        d.retain |= retain;
                        d.subscription_ids.extend(sub.id);
                    }
                }
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
    pub(super) fn deliver(&mut self, client_id: &str, d: Delivery) {
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        if d.message.expired(self.now) && !self.config.has_bug(Bug::ExpiryNotCounted) {
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
    pub(super) fn pump(&mut self, client_id: &str) {
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
            // The defect: resends pass whatever the quota says.
            let resend_free =
                self.config.has_bug(Bug::ResumeOverReceiveMaximum) && !c.resend.is_empty();
            if in_use >= usize::from(c.send_quota) && !resend_free {
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
            if d.message.expired(now) && !self.config.has_bug(Bug::ExpiryNotCounted) {
                self.stats.messages_expired += 1;
                continue;
            }
            let packet_id = if self.config.has_bug(Bug::ReusesInflightPacketId) {
                session.next_packet_id_unchecked()
            } else {
                session.allocate_packet_id()
            };
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
    pub(super) fn discard_outflight(&mut self, client_id: &str, packet_id: u16) {
        if let Some(s) = self.sessions.get_mut(client_id) {
            s.outflight.retain(|o| o.packet_id != packet_id);
        }
        self.touch(client_id);
    }

    /// Writes a PUBLISH for a delivery. False if it exceeds the client's
    /// Maximum Packet Size and was dropped instead (MQTT-3.1.2-24/-25).
    pub(super) fn send_publish(
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
                publish.properties.message_expiry_interval =
                    Some(if self.config.has_bug(Bug::ExpiryNotCounted) {
                        m.remaining_expiry(m.received_at).unwrap_or(left)
                    } else {
                        left
                    });
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
