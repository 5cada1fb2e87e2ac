//! Conversions between the broker's live state and store records.

use std::sync::Arc;

use bytes::BytesMut;
use protocol::{decode_exact, Packet, Publish, QoS, RetainHandling, SubscriptionOptions, Version};

use super::session::{Delivery, Message, OutFlight, OutState, PendingWill, Session, Subscription};
use crate::store::{
    DeliveryRecord, MessageRecord, OutFlightRecord, SessionRecord, SubscriptionRecord, WillRecord,
};

pub(super) fn message_to_record(m: &Message) -> MessageRecord {
    let publish = Publish {
        dup: false,
        qos: m.qos,
        retain: m.retain,
        topic: m.topic.clone(),
        packet_id: (m.qos != QoS::AtMostOnce).then_some(1),
        properties: m.properties.clone(),
        payload: m.payload.clone(),
    };
    let mut out = BytesMut::new();
    // The message came from a packet the codec accepted, so it encodes.
    if let Err(e) = protocol::encode(&Packet::Publish(publish), Version::V5, &mut out) {
        tracing::error!(topic = %m.topic, error = %e, "cannot store message");
    }
    MessageRecord {
        publish: out.to_vec(),
        publisher: m.publisher.clone(),
        received_at: m.received_at,
        expires_at: m.expires_at,
    }
}

pub(super) fn message_from_record(r: &MessageRecord) -> Option<Message> {
    match decode_exact(&r.publish, Version::V5) {
        Ok(Packet::Publish(p)) => Some(Message {
            topic: p.topic,
            payload: p.payload,
            qos: p.qos,
            retain: p.retain,
            properties: p.properties,
            publisher: r.publisher.clone(),
            received_at: r.received_at,
            expires_at: r.expires_at,
        }),
        other => {
            tracing::error!(?other, "stored message is not a PUBLISH; skipped");
            None
        }
    }
}

fn delivery_to_record(d: &Delivery) -> DeliveryRecord {
    DeliveryRecord {
        message: message_to_record(&d.message),
        qos: d.qos as u8,
        retain: d.retain,
        subscription_ids: d.subscription_ids.clone(),
    }
}

fn delivery_from_record(r: &DeliveryRecord) -> Option<Delivery> {
    Some(Delivery {
        message: Arc::new(message_from_record(&r.message)?),
        qos: QoS::from_u8(r.qos)?,
        retain: r.retain,
        subscription_ids: r.subscription_ids.clone(),
    })
}

fn options_to_byte(o: &SubscriptionOptions) -> u8 {
    (o.qos as u8)
        | (u8::from(o.no_local) << 2)
        | (u8::from(o.retain_as_published) << 3)
        | ((o.retain_handling as u8) << 4)
}

fn options_from_byte(b: u8) -> Option<SubscriptionOptions> {
    Some(SubscriptionOptions {
        qos: QoS::from_u8(b & 0b11)?,
        no_local: b & 0b100 != 0,
        retain_as_published: b & 0b1000 != 0,
        retain_handling: match (b >> 4) & 0b11 {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendIfNew,
            2 => RetainHandling::DoNotSend,
            _ => return None,
        },
    })
}

pub(super) fn session_to_record(s: &Session) -> SessionRecord {
    SessionRecord {
        client_id: s.client_id.clone(),
        level: s.version.level(),
        expiry_interval: s.expiry_interval,
        disconnected_at: s.disconnected_at,
        subscriptions: s
            .subscriptions
            .iter()
            .map(|(filter, sub)| SubscriptionRecord {
                filter: filter.clone(),
                options: options_to_byte(&sub.options),
                id: sub.id,
            })
            .collect(),
        outflight: s
            .outflight
            .iter()
            .map(|o| OutFlightRecord {
                packet_id: o.packet_id,
                delivery: delivery_to_record(&o.delivery),
                released: o.state == OutState::Released,
            })
            .collect(),
        queue: s.queue.iter().map(delivery_to_record).collect(),
        inbound_qos2: s.inbound_qos2.iter().copied().collect(),
        next_packet_id: s.next_packet_id,
        will: s.will.as_ref().map(|w| WillRecord {
            message: message_to_record(&w.message),
            delay: w.delay,
            publish_at: w.publish_at,
        }),
    }
}

/// `None` (and an error logged) if the record does not make sense.
pub(super) fn session_from_record(r: &SessionRecord) -> Option<Session> {
    let Some(version) = Version::from_level(r.level) else {
        tracing::error!(client_id = %r.client_id, level = r.level, "stored session has an unknown protocol level; skipped");
        return None;
    };
    let mut s = Session::new(r.client_id.clone(), version);
    s.expiry_interval = r.expiry_interval;
    s.disconnected_at = r.disconnected_at;
    for sub in &r.subscriptions {
        let options = options_from_byte(sub.options)?;
        s.subscriptions.insert(
            sub.filter.clone(),
            Subscription {
                options,
                id: sub.id,
            },
        );
    }
    for o in &r.outflight {
        s.outflight.push_back(OutFlight {
            packet_id: o.packet_id,
            delivery: delivery_from_record(&o.delivery)?,
            state: if o.released {
                OutState::Released
            } else {
                OutState::Published
            },
        });
    }
    for d in &r.queue {
        s.queue.push_back(delivery_from_record(d)?);
    }
    s.inbound_qos2 = r.inbound_qos2.iter().copied().collect();
    s.next_packet_id = r.next_packet_id.max(1);
    s.will = match &r.will {
        Some(w) => Some(PendingWill {
            message: message_from_record(&w.message)?,
            delay: w.delay,
            publish_at: w.publish_at,
        }),
        None => None,
    };
    Some(s)
}
