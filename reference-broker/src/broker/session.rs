//! What the broker keeps per client identifier: subscriptions, messages in
//! flight and queued, QoS 2 receipts, the will. Outlives connections.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use protocol::{Properties, QoS, SubscriptionOptions, Version};

use super::{ConnId, Millis};

/// An application message as the broker holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub payload: Bytes,
    /// The QoS it was published with.
    pub qos: QoS,
    pub retain: bool,
    /// What is forwarded unaltered: payload format, content type, response
    /// topic, correlation data, user properties (MQTT-3.3.2-4, -15..-20).
    pub properties: Properties,
    /// The publishing client, for No Local.
    pub publisher: Option<String>,
    pub received_at: Millis,
    pub expires_at: Option<Millis>,
}

impl Message {
    pub fn expired(&self, now: Millis) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    /// Message Expiry Interval to send: what is left, in whole seconds
    /// (MQTT-3.3.2-6), rounded up so a live message never says 0.
    pub fn remaining_expiry(&self, now: Millis) -> Option<u32> {
        self.expires_at
            .map(|t| (t.saturating_sub(now).div_ceil(1000)).min(u64::from(u32::MAX)) as u32)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// Options as granted (QoS lowered to what the broker allows).
    pub options: SubscriptionOptions,
    pub id: Option<u32>,
}

/// A message for a session, with the QoS, retain flag and subscription
/// identifiers it is delivered with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub message: Arc<Message>,
    pub qos: QoS,
    pub retain: bool,
    pub subscription_ids: Vec<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutState {
    /// PUBLISH sent; waiting for PUBACK (QoS 1) or PUBREC (QoS 2).
    Published,
    /// PUBREL sent; waiting for PUBCOMP.
    Released,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutFlight {
    pub packet_id: u16,
    pub delivery: Delivery,
    pub state: OutState,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingWill {
    pub message: Message,
    /// Will Delay Interval, seconds (5.0; 0 in 3.1.1).
    pub delay: u32,
    /// Set when the connection is lost: when to publish.
    pub publish_at: Option<Millis>,
}

/// Seconds; sessions with this expiry never expire.
pub const NEVER: u32 = u32::MAX;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub client_id: String,
    pub version: Version,
    pub subscriptions: BTreeMap<String, Subscription>,
    /// Session Expiry Interval in seconds: 0 ends the session with the
    /// connection (3.1.1 CleanSession=1); NEVER keeps it (CleanSession=0).
    pub expiry_interval: u32,
    pub conn: Option<ConnId>,
    pub disconnected_at: Option<Millis>,
    /// Sent and unacknowledged, in the order first sent (MQTT-4.6.0-1).
    pub outflight: VecDeque<OutFlight>,
    /// Waiting for the client to connect or for a free slot in flight.
    pub queue: VecDeque<Delivery>,
    /// QoS 2 packet ids received and PUBREC'd, awaiting PUBREL.
    pub inbound_qos2: BTreeSet<u16>,
    pub next_packet_id: u16,
    pub will: Option<PendingWill>,
    /// Messages not queued because the queue was full.
    pub dropped: u64,
    /// Only with `Bug::Qos2PubrelResendForwarded`: QoS 2 messages held for
    /// their PUBREL (memory only, so a restart loses them too).
    pub held_qos2: BTreeMap<u16, Arc<Message>>,
}

impl Session {
    pub fn new(client_id: String, version: Version) -> Session {
        Session {
            client_id,
            version,
            subscriptions: BTreeMap::new(),
            expiry_interval: 0,
            conn: None,
            disconnected_at: None,
            outflight: VecDeque::new(),
            queue: VecDeque::new(),
            inbound_qos2: BTreeSet::new(),
            next_packet_id: 1,
            will: None,
            dropped: 0,
            held_qos2: BTreeMap::new(),
        }
    }

    /// The next packet identifier not in flight (MQTT-2.2.1-4).
    pub fn allocate_packet_id(&mut self) -> u16 {
        loop {
            let id = self.next_packet_id;
            self.next_packet_id = self.next_packet_id.checked_add(1).unwrap_or(1);
            if !self.outflight.iter().any(|o| o.packet_id == id) {
                return id;
            }
        }
    }

    /// The defect `Bug::ReusesInflightPacketId`: the next id, in flight
    /// or not.
    pub fn next_packet_id_unchecked(&mut self) -> u16 {
        let id = self.next_packet_id;
        self.next_packet_id = self.next_packet_id.checked_add(1).unwrap_or(1);
        id
    }

    /// When a disconnected session ends, if it does.
    pub fn expires_at(&self) -> Option<Millis> {
        if self.conn.is_some() || self.expiry_interval == NEVER {
            return None;
        }
        self.disconnected_at
            .map(|t| t + u64::from(self.expiry_interval) * 1000)
    }
}
