//! The 15 control packets. One struct per packet serves both versions: fields
//! MQTT 3.1.1 lacks (properties, most reason codes) are left at their defaults.

use bytes::Bytes;

use crate::properties::Properties;
use crate::reason::ReasonCode;
use crate::types::{PacketType, QoS, Version};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    /// Boxed: CONNECT is rare and four times the size of the others, and every
    /// packet moves through a `Result` or a queue.
    Connect(Box<Connect>),
    ConnAck(ConnAck),
    Publish(Publish),
    PubAck(Ack),
    PubRec(Ack),
    PubRel(Ack),
    PubComp(Ack),
    Subscribe(Subscribe),
    SubAck(SubAck),
    Unsubscribe(Unsubscribe),
    UnsubAck(UnsubAck),
    PingReq,
    PingResp,
    Disconnect(Disconnect),
    Auth(Auth),
}

impl From<Connect> for Packet {
    fn from(c: Connect) -> Packet {
        Packet::Connect(Box::new(c))
    }
}

impl Packet {
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::ConnAck(_) => PacketType::ConnAck,
            Packet::Publish(_) => PacketType::Publish,
            Packet::PubAck(_) => PacketType::PubAck,
            Packet::PubRec(_) => PacketType::PubRec,
            Packet::PubRel(_) => PacketType::PubRel,
            Packet::PubComp(_) => PacketType::PubComp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::SubAck(_) => PacketType::SubAck,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::UnsubAck(_) => PacketType::UnsubAck,
            Packet::PingReq => PacketType::PingReq,
            Packet::PingResp => PacketType::PingResp,
            Packet::Disconnect(_) => PacketType::Disconnect,
            Packet::Auth(_) => PacketType::Auth,
        }
    }

    /// The packet identifier, for the packets that have one.
    pub fn packet_id(&self) -> Option<u16> {
        match self {
            Packet::Publish(p) => p.packet_id,
            Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
                Some(a.packet_id)
            }
            Packet::Subscribe(s) => Some(s.packet_id),
            Packet::SubAck(s) => Some(s.packet_id),
            Packet::Unsubscribe(u) => Some(u.packet_id),
            Packet::UnsubAck(u) => Some(u.packet_id),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connect {
    /// Read from the Protocol Level byte; decides how the rest is read.
    pub version: Version,
    /// CleanSession in 3.1.1, Clean Start in 5.0.
    pub clean_start: bool,
    pub keep_alive: u16,
    pub properties: Properties,
    pub client_id: String,
    pub will: Option<Will>,
    pub username: Option<String>,
    pub password: Option<Bytes>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Will {
    pub topic: String,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    pub properties: Properties,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ConnAck {
    pub session_present: bool,
    /// In 3.1.1 the return codes 0..5 read as the 5.0 codes that replaced
    /// them: 0x00, 0x84, 0x85, 0x88, 0x86, 0x87.
    pub reason: ReasonCode,
    pub properties: Properties,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publish {
    pub dup: bool,
    pub qos: QoS,
    pub retain: bool,
    /// Empty only in 5.0 with a Topic Alias property.
    pub topic: String,
    /// Present exactly when QoS > 0.
    pub packet_id: Option<u16>,
    pub properties: Properties,
    pub payload: Bytes,
}

/// PUBACK, PUBREC, PUBREL and PUBCOMP share one shape.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Ack {
    pub packet_id: u16,
    pub reason: ReasonCode,
    pub properties: Properties,
}

impl Ack {
    pub fn new(packet_id: u16) -> Ack {
        Ack {
            packet_id,
            ..Ack::default()
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscribe {
    pub packet_id: u16,
    pub properties: Properties,
    pub filters: Vec<Subscription>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    pub filter: String,
    pub options: SubscriptionOptions,
}

/// Requested QoS, plus the 5.0 options (all zero in 3.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SubscriptionOptions {
    pub qos: QoS,
    pub no_local: bool,
    pub retain_as_published: bool,
    pub retain_handling: RetainHandling,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RetainHandling {
    /// Send retained messages at the time of the subscribe.
    #[default]
    SendAtSubscribe = 0,
    /// Send them only if the subscription did not exist before.
    SendIfNew = 1,
    DoNotSend = 2,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubAck {
    pub packet_id: u16,
    pub properties: Properties,
    pub reasons: Vec<ReasonCode>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsubscribe {
    pub packet_id: u16,
    pub properties: Properties,
    pub filters: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsubAck {
    pub packet_id: u16,
    pub properties: Properties,
    /// One per filter in 5.0; always empty in 3.1.1, whose UNSUBACK has no payload.
    pub reasons: Vec<ReasonCode>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Disconnect {
    pub reason: ReasonCode,
    pub properties: Properties,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Auth {
    pub reason: ReasonCode,
    pub properties: Properties,
}
