//! Reason codes (MQTT 5.0 §2.4) and the MQTT 3.1.1 return codes they stand for.
//!
//! One byte value can mean different things in different packets (0x00 is
//! Success, Normal disconnection and Granted QoS 0), so a code is a plain byte
//! and each packet type has its own list of the values it may carry.

use std::fmt;

use crate::types::{PacketType, Version};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ReasonCode(pub u8);

impl ReasonCode {
    pub const SUCCESS: ReasonCode = ReasonCode(0x00);
    pub const NORMAL_DISCONNECTION: ReasonCode = ReasonCode(0x00);
    pub const GRANTED_QOS_0: ReasonCode = ReasonCode(0x00);
    pub const GRANTED_QOS_1: ReasonCode = ReasonCode(0x01);
    pub const GRANTED_QOS_2: ReasonCode = ReasonCode(0x02);
    pub const DISCONNECT_WITH_WILL: ReasonCode = ReasonCode(0x04);
    pub const NO_MATCHING_SUBSCRIBERS: ReasonCode = ReasonCode(0x10);
    pub const NO_SUBSCRIPTION_EXISTED: ReasonCode = ReasonCode(0x11);
    pub const CONTINUE_AUTHENTICATION: ReasonCode = ReasonCode(0x18);
    pub const RE_AUTHENTICATE: ReasonCode = ReasonCode(0x19);
    pub const UNSPECIFIED_ERROR: ReasonCode = ReasonCode(0x80);
    pub const MALFORMED_PACKET: ReasonCode = ReasonCode(0x81);
    pub const PROTOCOL_ERROR: ReasonCode = ReasonCode(0x82);
    pub const IMPLEMENTATION_SPECIFIC_ERROR: ReasonCode = ReasonCode(0x83);
    pub const UNSUPPORTED_PROTOCOL_VERSION: ReasonCode = ReasonCode(0x84);
    pub const CLIENT_IDENTIFIER_NOT_VALID: ReasonCode = ReasonCode(0x85);
    pub const BAD_USER_NAME_OR_PASSWORD: ReasonCode = ReasonCode(0x86);
    pub const NOT_AUTHORIZED: ReasonCode = ReasonCode(0x87);
    pub const SERVER_UNAVAILABLE: ReasonCode = ReasonCode(0x88);
    pub const SERVER_BUSY: ReasonCode = ReasonCode(0x89);
    pub const BANNED: ReasonCode = ReasonCode(0x8A);
    pub const SERVER_SHUTTING_DOWN: ReasonCode = ReasonCode(0x8B);
    pub const BAD_AUTHENTICATION_METHOD: ReasonCode = ReasonCode(0x8C);
    pub const KEEP_ALIVE_TIMEOUT: ReasonCode = ReasonCode(0x8D);
    pub const SESSION_TAKEN_OVER: ReasonCode = ReasonCode(0x8E);
    pub const TOPIC_FILTER_INVALID: ReasonCode = ReasonCode(0x8F);
    pub const TOPIC_NAME_INVALID: ReasonCode = ReasonCode(0x90);
    pub const PACKET_IDENTIFIER_IN_USE: ReasonCode = ReasonCode(0x91);
    pub const PACKET_IDENTIFIER_NOT_FOUND: ReasonCode = ReasonCode(0x92);
    pub const RECEIVE_MAXIMUM_EXCEEDED: ReasonCode = ReasonCode(0x93);
    pub const TOPIC_ALIAS_INVALID: ReasonCode = ReasonCode(0x94);
    pub const PACKET_TOO_LARGE: ReasonCode = ReasonCode(0x95);
    pub const MESSAGE_RATE_TOO_HIGH: ReasonCode = ReasonCode(0x96);
    pub const QUOTA_EXCEEDED: ReasonCode = ReasonCode(0x97);
    pub const ADMINISTRATIVE_ACTION: ReasonCode = ReasonCode(0x98);
    pub const PAYLOAD_FORMAT_INVALID: ReasonCode = ReasonCode(0x99);
    pub const RETAIN_NOT_SUPPORTED: ReasonCode = ReasonCode(0x9A);
    pub const QOS_NOT_SUPPORTED: ReasonCode = ReasonCode(0x9B);
    pub const USE_ANOTHER_SERVER: ReasonCode = ReasonCode(0x9C);
    pub const SERVER_MOVED: ReasonCode = ReasonCode(0x9D);
    pub const SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: ReasonCode = ReasonCode(0x9E);
    pub const CONNECTION_RATE_EXCEEDED: ReasonCode = ReasonCode(0x9F);
    pub const MAXIMUM_CONNECT_TIME: ReasonCode = ReasonCode(0xA0);
    pub const SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED: ReasonCode = ReasonCode(0xA1);
    pub const WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED: ReasonCode = ReasonCode(0xA2);

    /// 0x80 and above report failure.
    pub fn is_error(self) -> bool {
        self.0 >= 0x80
    }

    /// The values `packet` may carry in `version` (MQTT 5.0 §3.x "Reason Code"
    /// tables; MQTT 3.1.1 Table 3.1 and §3.9.3). Empty for packets without one.
    pub fn allowed(packet: PacketType, version: Version) -> &'static [u8] {
        use PacketType::*;
        match (version, packet) {
            // 3.1.1 CONNACK return codes 1..5, read as the 5.0 codes that replaced them.
            (Version::V311, ConnAck) => &[0x00, 0x84, 0x85, 0x88, 0x86, 0x87],
            (Version::V311, SubAck) => &[0x00, 0x01, 0x02, 0x80],
            (Version::V311, _) => &[],
            (Version::V5, ConnAck) => &[
                0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90,
                0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
            ],
            (Version::V5, PubAck | PubRec) => {
                &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]
            }
            (Version::V5, PubRel | PubComp) => &[0x00, 0x92],
            (Version::V5, SubAck) => &[
                0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
            ],
            (Version::V5, UnsubAck) => &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91],
            (Version::V5, Disconnect) => &[
                0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93,
                0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1,
                0xA2,
            ],
            (Version::V5, Auth) => &[0x00, 0x18, 0x19],
            (Version::V5, _) => &[],
        }
    }

    pub fn is_allowed(self, packet: PacketType, version: Version) -> bool {
        ReasonCode::allowed(packet, version).contains(&self.0)
    }

    /// The 3.1.1 CONNACK return code (0..=5) for this reason, if it has one.
    pub fn to_v311_connack(self) -> Option<u8> {
        match self.0 {
            0x00 => Some(0),
            0x84 => Some(1),
            0x85 => Some(2),
            0x88 => Some(3),
            0x86 => Some(4),
            0x87 => Some(5),
            _ => None,
        }
    }

    pub fn from_v311_connack(code: u8) -> Option<ReasonCode> {
        [0x00, 0x84, 0x85, 0x88, 0x86, 0x87]
            .get(usize::from(code))
            .map(|&c| ReasonCode(c))
    }

    /// The spec's name for this value in `packet`.
    pub fn name(self, packet: PacketType) -> &'static str {
        match (self.0, packet) {
            (0x00, PacketType::Disconnect) => "Normal disconnection",
            (0x00, PacketType::SubAck) => "Granted QoS 0",
            (0x00, _) => "Success",
            (0x01, _) => "Granted QoS 1",
            (0x02, _) => "Granted QoS 2",
            (0x04, _) => "Disconnect with Will Message",
            (0x10, _) => "No matching subscribers",
            (0x11, _) => "No subscription existed",
            (0x18, _) => "Continue authentication",
            (0x19, _) => "Re-authenticate",
            (0x80, _) => "Unspecified error",
            (0x81, _) => "Malformed Packet",
            (0x82, _) => "Protocol Error",
            (0x83, _) => "Implementation specific error",
            (0x84, _) => "Unsupported Protocol Version",
            (0x85, _) => "Client Identifier not valid",
            (0x86, _) => "Bad User Name or Password",
            (0x87, _) => "Not authorized",
            (0x88, _) => "Server unavailable",
            (0x89, _) => "Server busy",
            (0x8A, _) => "Banned",
            (0x8B, _) => "Server shutting down",
            (0x8C, _) => "Bad authentication method",
            (0x8D, _) => "Keep Alive timeout",
            (0x8E, _) => "Session taken over",
            (0x8F, _) => "Topic Filter invalid",
            (0x90, _) => "Topic Name invalid",
            (0x91, _) => "Packet Identifier in use",
            (0x92, _) => "Packet Identifier not found",
            (0x93, _) => "Receive Maximum exceeded",
            (0x94, _) => "Topic Alias invalid",
            (0x95, _) => "Packet too large",
            (0x96, _) => "Message rate too high",
            (0x97, _) => "Quota exceeded",
            (0x98, _) => "Administrative action",
            (0x99, _) => "Payload format invalid",
            (0x9A, _) => "Retain not supported",
            (0x9B, _) => "QoS not supported",
            (0x9C, _) => "Use another server",
            (0x9D, _) => "Server moved",
            (0x9E, _) => "Shared Subscriptions not supported",
            (0x9F, _) => "Connection rate exceeded",
            (0xA0, _) => "Maximum connect time",
            (0xA1, _) => "Subscription Identifiers not supported",
            (0xA2, _) => "Wildcard Subscriptions not supported",
            _ => "reserved",
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02X}", self.0)
    }
}
