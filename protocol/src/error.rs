//! Decode and encode errors, each naming the rule of the specification it enforces.

use std::fmt;

use crate::properties::PropertyId;
use crate::reason::ReasonCode;
use crate::types::{PacketType, Version};

/// The part of the specification a packet breaks.
///
/// Most checks map to a numbered normative statement (`MQTT-3.1.2-3`). Some
/// requirements are stated in prose without a number (the 4-byte limit on
/// Remaining Length, duplicate properties); those name their section instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    Statement(&'static str),
    Section(Version, &'static str),
}

impl Rule {
    /// Picks the rule for `version`: ids starting with `MQTT-` are statements,
    /// anything else is a section number.
    pub(crate) fn pick(version: Version, v311: &'static str, v5: &'static str) -> Rule {
        let id = match version {
            Version::V311 => v311,
            Version::V5 => v5,
        };
        if id.starts_with("MQTT-") {
            Rule::Statement(id)
        } else {
            Rule::Section(version, id)
        }
    }

    /// The statement id, if the rule has one.
    pub fn statement(&self) -> Option<&'static str> {
        match self {
            Rule::Statement(id) => Some(id),
            Rule::Section(..) => None,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Statement(id) => f.write_str(id),
            Rule::Section(v, s) => write!(f, "MQTT {v} §{s}"),
        }
    }
}

/// What exactly was wrong with the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Packet type nibble 0, or 15 in MQTT 3.1.1.
    ReservedPacketType(u8),
    ReservedFlags {
        packet: PacketType,
        flags: u8,
    },
    InvalidQoS(u8),
    DupWithQoS0,
    RemainingLengthTooLong,
    NonMinimalVarInt,
    PacketTooLarge {
        size: usize,
        max: usize,
    },
    /// A field runs past the end of the packet's declared length.
    Truncated {
        field: &'static str,
    },
    TrailingBytes {
        count: usize,
    },
    ProtocolName(String),
    UnsupportedProtocolLevel(u8),
    ConnectReservedFlag,
    WillQoSWithoutWill,
    WillRetainWithoutWill,
    PasswordWithoutUsername,
    InvalidUtf8 {
        field: &'static str,
    },
    NullCharacter {
        field: &'static str,
    },
    EmptyTopic {
        field: &'static str,
    },
    WildcardInTopicName,
    MultiLevelWildcardNotLast,
    SingleLevelWildcardNotAlone,
    SharedSubscriptionInvalid(&'static str),
    NoLocalOnSharedSubscription,
    ZeroPacketId,
    NoTopicFilters,
    SubscriptionOptionsReserved(u8),
    RetainHandlingInvalid,
    ConnAckFlagsReserved(u8),
    SessionPresentWithError,
    InvalidReasonCode {
        packet: PacketType,
        code: u8,
    },
    UnknownProperty(u32),
    DuplicateProperty(PropertyId),
    PropertyNotAllowed {
        property: PropertyId,
        packet: PacketType,
    },
    PropertyValue {
        property: PropertyId,
        value: u32,
    },
    AuthDataWithoutMethod,
    EmptyAcknowledgement,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ErrorKind::*;
        match self {
            ReservedPacketType(t) => write!(f, "packet type {t} is reserved"),
            ReservedFlags { packet, flags } => write!(
                f,
                "{packet} fixed header flags are {flags:04b}, expected {:04b}",
                packet.required_flags().unwrap_or(0)
            ),
            InvalidQoS(q) => write!(f, "QoS {q} is not 0, 1 or 2"),
            DupWithQoS0 => f.write_str("DUP flag set on a QoS 0 PUBLISH"),
            RemainingLengthTooLong => f.write_str("variable byte integer longer than 4 bytes"),
            NonMinimalVarInt => {
                f.write_str("variable byte integer not encoded in the minimum number of bytes")
            }
            PacketTooLarge { size, max } => {
                write!(f, "packet of {size} bytes exceeds the maximum of {max}")
            }
            Truncated { field } => write!(f, "{field} runs past the end of the packet"),
            TrailingBytes { count } => {
                write!(
                    f,
                    "{count} bytes left over after the last field of the packet"
                )
            }
            ProtocolName(n) => write!(f, "protocol name {n:?} is not \"MQTT\""),
            UnsupportedProtocolLevel(l) => write!(f, "protocol level {l} is not supported"),
            ConnectReservedFlag => f.write_str("CONNECT reserved flag (bit 0) is set"),
            WillQoSWithoutWill => f.write_str("will QoS is non-zero but the will flag is 0"),
            WillRetainWithoutWill => f.write_str("will retain is set but the will flag is 0"),
            PasswordWithoutUsername => f.write_str("password flag set without user name flag"),
            InvalidUtf8 { field } => write!(f, "{field} is not well-formed UTF-8"),
            NullCharacter { field } => write!(f, "{field} contains U+0000"),
            EmptyTopic { field } => write!(f, "{field} is empty"),
            WildcardInTopicName => f.write_str("topic name contains a wildcard (+ or #)"),
            MultiLevelWildcardNotLast => {
                f.write_str("'#' must be alone in the last level of the filter")
            }
            SingleLevelWildcardNotAlone => f.write_str("'+' must occupy a whole filter level"),
            SharedSubscriptionInvalid(why) => write!(f, "shared subscription: {why}"),
            NoLocalOnSharedSubscription => f.write_str("no local set on a shared subscription"),
            ZeroPacketId => f.write_str("packet identifier is 0"),
            NoTopicFilters => f.write_str("no topic filters in the payload"),
            SubscriptionOptionsReserved(b) => {
                write!(f, "subscription options byte {b:08b} has reserved bits set")
            }
            RetainHandlingInvalid => f.write_str("retain handling is 3"),
            ConnAckFlagsReserved(b) => {
                write!(
                    f,
                    "CONNACK acknowledge flags {b:08b} have reserved bits set"
                )
            }
            SessionPresentWithError => {
                f.write_str("session present is 1 with a non-zero return code")
            }
            InvalidReasonCode { packet, code } => {
                write!(f, "0x{code:02X} is not a {packet} reason code")
            }
            UnknownProperty(id) => write!(f, "unknown property identifier 0x{id:02X}"),
            DuplicateProperty(p) => write!(f, "property {} appears more than once", p.name()),
            PropertyNotAllowed { property, packet } => {
                write!(f, "property {} is not allowed in {packet}", property.name())
            }
            PropertyValue { property, value } => {
                write!(f, "property {} has invalid value {value}", property.name())
            }
            AuthDataWithoutMethod => {
                f.write_str("authentication data without authentication method")
            }
            EmptyAcknowledgement => f.write_str("no reason codes in the payload"),
        }
    }
}

/// A packet that could not be decoded, with the rule it breaks.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} [{rule}]")]
pub struct DecodeError {
    pub kind: ErrorKind,
    pub rule: Rule,
    /// The packet being decoded, once the fixed header has been read.
    pub packet: Option<PacketType>,
}

impl DecodeError {
    pub(crate) fn new(kind: ErrorKind, rule: Rule) -> DecodeError {
        DecodeError {
            kind,
            rule,
            packet: None,
        }
    }

    /// The MQTT 5.0 reason code a receiver sends before closing the connection.
    pub fn reason_code(&self) -> ReasonCode {
        use ErrorKind::*;
        match &self.kind {
            PacketTooLarge { .. } => ReasonCode::PACKET_TOO_LARGE,
            UnsupportedProtocolLevel(_) => ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
            DuplicateProperty(_)
            | PropertyValue { .. }
            | NoTopicFilters
            | NoLocalOnSharedSubscription
            | RetainHandlingInvalid
            | AuthDataWithoutMethod
            | ProtocolName(_)
            | SharedSubscriptionInvalid(_)
            | EmptyTopic { .. } => ReasonCode::PROTOCOL_ERROR,
            WildcardInTopicName => ReasonCode::TOPIC_NAME_INVALID,
            _ => ReasonCode::MALFORMED_PACKET,
        }
    }
}

/// A packet that cannot be written as the requested version.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("{packet} cannot be sent in MQTT {version}: {why}")]
    NotInVersion {
        packet: PacketType,
        version: Version,
        why: &'static str,
    },
    #[error("{packet}: {why}")]
    Invalid { packet: PacketType, why: String },
    #[error("packet body of {0} bytes exceeds the 268435455-byte limit")]
    TooLarge(usize),
}
