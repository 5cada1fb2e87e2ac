//! SUBSCRIBE and UNSUBSCRIBE: what is granted or refused, the session's
//! subscriptions, and retained messages sent on subscribing.

use std::sync::Arc;

use protocol::topic::{self, SharedFilter};
use protocol::{
    Packet, Properties, ReasonCode, RetainHandling, SubAck, Subscribe, UnsubAck, Unsubscribe,
    Version,
};

use super::{Broker, ConnId, Delivery, Message, Subscription};
use crate::defects::Bug;

impl Broker {
    pub(super) fn on_subscribe(&mut self, conn: ConnId, client_id: &str, s: Subscribe) {
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
                // 3.1.1 has one failure code (§3.9.3): 0x80.
                reasons.push(if v5 { r } else { ReasonCode::UNSPECIFIED_ERROR });
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
                let qos = if self.config.has_bug(Bug::RetainedQosNotCapped) {
                    message.qos
                } else {
                    message.qos.min(sub.options.qos)
                };
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

    pub(super) fn on_unsubscribe(&mut self, conn: ConnId, client_id: &str, u: Unsubscribe) {
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
}

fn topic_has_wildcard(filter: &str) -> bool {
    filter.contains(['+', '#'])
}
