//! MQTT 5.0 properties (§2.2.2): identifiers, types, where each is allowed,
//! and the one `Properties` bag every packet carries.

use std::fmt;
use std::ops::{Deref, DerefMut};

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, EncodeError, ErrorKind, Rule};
use crate::topic;
use crate::types::{PacketType, Version};
use crate::wire::{self, put_binary, put_str, put_varint, with_varint_prefix, Reader};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PropertyId {
    PayloadFormatIndicator = 0x01,
    MessageExpiryInterval = 0x02,
    ContentType = 0x03,
    ResponseTopic = 0x08,
    CorrelationData = 0x09,
    SubscriptionIdentifier = 0x0B,
    SessionExpiryInterval = 0x11,
    AssignedClientIdentifier = 0x12,
    ServerKeepAlive = 0x13,
    AuthenticationMethod = 0x15,
    AuthenticationData = 0x16,
    RequestProblemInformation = 0x17,
    WillDelayInterval = 0x18,
    RequestResponseInformation = 0x19,
    ResponseInformation = 0x1A,
    ServerReference = 0x1C,
    ReasonString = 0x1F,
    ReceiveMaximum = 0x21,
    TopicAliasMaximum = 0x22,
    TopicAlias = 0x23,
    MaximumQoS = 0x24,
    RetainAvailable = 0x25,
    UserProperty = 0x26,
    MaximumPacketSize = 0x27,
    WildcardSubscriptionAvailable = 0x28,
    SubscriptionIdentifierAvailable = 0x29,
    SharedSubscriptionAvailable = 0x2A,
}

/// Where a property list sits: in a packet's variable header, or the will
/// properties in a CONNECT payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropertyContext {
    Packet(PacketType),
    Will,
}

impl PropertyId {
    pub const ALL: [PropertyId; 27] = [
        PropertyId::PayloadFormatIndicator,
        PropertyId::MessageExpiryInterval,
        PropertyId::ContentType,
        PropertyId::ResponseTopic,
        PropertyId::CorrelationData,
        PropertyId::SubscriptionIdentifier,
        PropertyId::SessionExpiryInterval,
        PropertyId::AssignedClientIdentifier,
        PropertyId::ServerKeepAlive,
        PropertyId::AuthenticationMethod,
        PropertyId::AuthenticationData,
        PropertyId::RequestProblemInformation,
        PropertyId::WillDelayInterval,
        PropertyId::RequestResponseInformation,
        PropertyId::ResponseInformation,
        PropertyId::ServerReference,
        PropertyId::ReasonString,
        PropertyId::ReceiveMaximum,
        PropertyId::TopicAliasMaximum,
        PropertyId::TopicAlias,
        PropertyId::MaximumQoS,
        PropertyId::RetainAvailable,
        PropertyId::UserProperty,
        PropertyId::MaximumPacketSize,
        PropertyId::WildcardSubscriptionAvailable,
        PropertyId::SubscriptionIdentifierAvailable,
        PropertyId::SharedSubscriptionAvailable,
    ];

    pub fn from_u32(id: u32) -> Option<PropertyId> {
        PropertyId::ALL.iter().copied().find(|p| *p as u32 == id)
    }

    pub fn name(self) -> &'static str {
        use PropertyId::*;
        match self {
            PayloadFormatIndicator => "Payload Format Indicator",
            MessageExpiryInterval => "Message Expiry Interval",
            ContentType => "Content Type",
            ResponseTopic => "Response Topic",
            CorrelationData => "Correlation Data",
            SubscriptionIdentifier => "Subscription Identifier",
            SessionExpiryInterval => "Session Expiry Interval",
            AssignedClientIdentifier => "Assigned Client Identifier",
            ServerKeepAlive => "Server Keep Alive",
            AuthenticationMethod => "Authentication Method",
            AuthenticationData => "Authentication Data",
            RequestProblemInformation => "Request Problem Information",
            WillDelayInterval => "Will Delay Interval",
            RequestResponseInformation => "Request Response Information",
            ResponseInformation => "Response Information",
            ServerReference => "Server Reference",
            ReasonString => "Reason String",
            ReceiveMaximum => "Receive Maximum",
            TopicAliasMaximum => "Topic Alias Maximum",
            TopicAlias => "Topic Alias",
            MaximumQoS => "Maximum QoS",
            RetainAvailable => "Retain Available",
            UserProperty => "User Property",
            MaximumPacketSize => "Maximum Packet Size",
            WildcardSubscriptionAvailable => "Wildcard Subscription Available",
            SubscriptionIdentifierAvailable => "Subscription Identifier Available",
            SharedSubscriptionAvailable => "Shared Subscription Available",
        }
    }

    /// MQTT 5.0 Table 2-4: the packets (and will properties) each may appear in.
    pub fn allowed_in(self, ctx: PropertyContext) -> bool {
        use PacketType as P;
        use PropertyContext::{Packet, Will};
        use PropertyId::*;
        match self {
            PayloadFormatIndicator
            | MessageExpiryInterval
            | ContentType
            | ResponseTopic
            | CorrelationData => matches!(ctx, Packet(P::Publish) | Will),
            SubscriptionIdentifier => matches!(ctx, Packet(P::Publish | P::Subscribe)),
            SessionExpiryInterval => {
                matches!(ctx, Packet(P::Connect | P::ConnAck | P::Disconnect))
            }
            AssignedClientIdentifier
            | ServerKeepAlive
            | ResponseInformation
            | MaximumQoS
            | RetainAvailable
            | WildcardSubscriptionAvailable
            | SubscriptionIdentifierAvailable
            | SharedSubscriptionAvailable => {
                matches!(ctx, Packet(P::ConnAck))
            }
            AuthenticationMethod | AuthenticationData => {
                matches!(ctx, Packet(P::Connect | P::ConnAck | P::Auth))
            }
            RequestProblemInformation | RequestResponseInformation => {
                matches!(ctx, Packet(P::Connect))
            }
            WillDelayInterval => matches!(ctx, Will),
            ServerReference => matches!(ctx, Packet(P::ConnAck | P::Disconnect)),
            ReasonString => matches!(
                ctx,
                Packet(
                    P::ConnAck
                        | P::PubAck
                        | P::PubRec
                        | P::PubRel
                        | P::PubComp
                        | P::SubAck
                        | P::UnsubAck
                        | P::Disconnect
                        | P::Auth
                )
            ),
            ReceiveMaximum | TopicAliasMaximum | MaximumPacketSize => {
                matches!(ctx, Packet(P::Connect | P::ConnAck))
            }
            TopicAlias => matches!(ctx, Packet(P::Publish)),
            UserProperty => !matches!(
                ctx,
                Packet(P::PingReq | P::PingResp) // these have no variable header
            ),
        }
    }

    /// Checks a numeric value against the range its section allows; the rule
    /// to cite when it is out of range. The section depends on where the
    /// property sits: each packet's section restates the range.
    fn check_value(self, value: u32, ctx: PropertyContext) -> Result<(), Rule> {
        use PropertyId::*;
        let sec = |s| Err(Rule::Section(Version::V5, s));
        let in_connect = ctx == PropertyContext::Packet(PacketType::Connect);
        let in_publish = ctx == PropertyContext::Packet(PacketType::Publish);
        match self {
            PayloadFormatIndicator if value > 1 && in_publish => sec("3.3.2.3.2"),
            PayloadFormatIndicator if value > 1 => sec("3.1.3.2.3"),
            RequestProblemInformation if value > 1 => sec("3.1.2.11.7"),
            RequestResponseInformation if value > 1 => sec("3.1.2.11.6"),
            ReceiveMaximum if value == 0 && in_connect => sec("3.1.2.11.3"),
            ReceiveMaximum if value == 0 => sec("3.2.2.3.3"),
            MaximumPacketSize if value == 0 && in_connect => sec("3.1.2.11.4"),
            MaximumPacketSize if value == 0 => sec("3.2.2.3.6"),
            MaximumQoS if value > 1 => sec("3.2.2.3.4"),
            RetainAvailable if value > 1 => sec("3.2.2.3.5"),
            WildcardSubscriptionAvailable if value > 1 => sec("3.2.2.3.11"),
            SubscriptionIdentifierAvailable if value > 1 => sec("3.2.2.3.12"),
            SharedSubscriptionAvailable if value > 1 => sec("3.2.2.3.13"),
            TopicAlias if value == 0 => Err(Rule::Statement("MQTT-3.3.2-8")),
            SubscriptionIdentifier if value == 0 || value > wire::VARINT_MAX => {
                sec(if in_publish { "3.3.2.3.8" } else { "3.8.2.1.2" })
            }
            _ => Ok(()),
        }
    }
}

/// The properties of a packet. Most packets carry none, so an empty set is a
/// single null pointer: no allocation, and packets stay small to move around.
/// Read and write fields through `Deref`/`DerefMut` (`props.topic_alias = Some(1)`),
/// or build one with `Properties::from(PropertyValues { .. })`.
#[derive(Clone, Default)]
pub struct Properties(Option<Box<PropertyValues>>);

static NO_PROPERTIES: PropertyValues = PropertyValues::EMPTY;

impl Deref for Properties {
    type Target = PropertyValues;
    fn deref(&self) -> &PropertyValues {
        self.0.as_deref().unwrap_or(&NO_PROPERTIES)
    }
}

impl DerefMut for Properties {
    fn deref_mut(&mut self) -> &mut PropertyValues {
        self.0.get_or_insert_with(Default::default)
    }
}

impl PartialEq for Properties {
    fn eq(&self, other: &Properties) -> bool {
        **self == **other
    }
}

impl Eq for Properties {}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl From<PropertyValues> for Properties {
    fn from(values: PropertyValues) -> Properties {
        if values.is_empty() {
            Properties(None)
        } else {
            Properties(Some(Box::new(values)))
        }
    }
}

impl Properties {
    /// Reads a Property Length and the properties it covers.
    pub(crate) fn decode(r: &mut Reader, ctx: PropertyContext) -> Result<Properties, DecodeError> {
        let len = r.varint("property length")?;
        if len == 0 {
            return Ok(Properties(None));
        }
        let mut r = r.sub(len as usize, "properties")?;
        PropertyValues::decode(&mut r, ctx).map(Properties::from)
    }
}

/// Every MQTT 5.0 property. A packet uses the ones Table 2-4 allows for it;
/// decode refuses the rest, and encode refuses to write them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PropertyValues {
    pub payload_format_indicator: Option<u8>,
    pub message_expiry_interval: Option<u32>,
    pub content_type: Option<String>,
    pub response_topic: Option<String>,
    pub correlation_data: Option<Bytes>,
    /// Several in a PUBLISH (one per matching subscription), at most one in SUBSCRIBE.
    pub subscription_identifiers: Vec<u32>,
    pub session_expiry_interval: Option<u32>,
    pub assigned_client_identifier: Option<String>,
    pub server_keep_alive: Option<u16>,
    pub authentication_method: Option<String>,
    pub authentication_data: Option<Bytes>,
    pub request_problem_information: Option<u8>,
    pub will_delay_interval: Option<u32>,
    pub request_response_information: Option<u8>,
    pub response_information: Option<String>,
    pub server_reference: Option<String>,
    pub reason_string: Option<String>,
    pub receive_maximum: Option<u16>,
    pub topic_alias_maximum: Option<u16>,
    pub topic_alias: Option<u16>,
    pub maximum_qos: Option<u8>,
    pub retain_available: Option<u8>,
    /// In the order they were sent; order is significant (MQTT-3.3.2-18).
    pub user_properties: Vec<(String, String)>,
    pub maximum_packet_size: Option<u32>,
    pub wildcard_subscription_available: Option<u8>,
    pub subscription_identifier_available: Option<u8>,
    pub shared_subscription_available: Option<u8>,
}

/// A property's value, for iterating over a `Properties` generically.
enum Value<'a> {
    Byte(u8),
    U16(u16),
    U32(u32),
    VarInt(u32),
    Str(&'a str),
    Bin(&'a [u8]),
    Pair(&'a str, &'a str),
}

impl PropertyValues {
    const EMPTY: PropertyValues = PropertyValues {
        payload_format_indicator: None,
        message_expiry_interval: None,
        content_type: None,
        response_topic: None,
        correlation_data: None,
        subscription_identifiers: Vec::new(),
        session_expiry_interval: None,
        assigned_client_identifier: None,
        server_keep_alive: None,
        authentication_method: None,
        authentication_data: None,
        request_problem_information: None,
        will_delay_interval: None,
        request_response_information: None,
        response_information: None,
        server_reference: None,
        reason_string: None,
        receive_maximum: None,
        topic_alias_maximum: None,
        topic_alias: None,
        maximum_qos: None,
        retain_available: None,
        user_properties: Vec::new(),
        maximum_packet_size: None,
        wildcard_subscription_available: None,
        subscription_identifier_available: None,
        shared_subscription_available: None,
    };

    pub fn is_empty(&self) -> bool {
        let mut empty = true;
        self.for_each(|_, _| empty = false);
        empty
    }

    /// The identifiers present, in wire order, once per occurrence.
    pub fn ids(&self) -> Vec<PropertyId> {
        let mut ids = Vec::new();
        self.for_each(|id, _| ids.push(id));
        ids
    }

    fn for_each<'a>(&'a self, mut f: impl FnMut(PropertyId, Value<'a>)) {
        use PropertyId::*;
        macro_rules! one {
            ($field:ident, $id:expr, $wrap:expr) => {
                if let Some(v) = &self.$field {
                    f($id, $wrap(v));
                }
            };
        }
        one!(
            payload_format_indicator,
            PayloadFormatIndicator,
            |v: &u8| Value::Byte(*v)
        );
        one!(message_expiry_interval, MessageExpiryInterval, |v: &u32| {
            Value::U32(*v)
        });
        one!(content_type, ContentType, |v: &'a String| Value::Str(v));
        one!(response_topic, ResponseTopic, |v: &'a String| Value::Str(v));
        one!(
            correlation_data,
            CorrelationData,
            |v: &'a Bytes| Value::Bin(v)
        );
        for v in &self.subscription_identifiers {
            f(SubscriptionIdentifier, Value::VarInt(*v));
        }
        one!(session_expiry_interval, SessionExpiryInterval, |v: &u32| {
            Value::U32(*v)
        });
        one!(
            assigned_client_identifier,
            AssignedClientIdentifier,
            |v: &'a String| { Value::Str(v) }
        );
        one!(server_keep_alive, ServerKeepAlive, |v: &u16| Value::U16(*v));
        one!(
            authentication_method,
            AuthenticationMethod,
            |v: &'a String| Value::Str(v)
        );
        one!(authentication_data, AuthenticationData, |v: &'a Bytes| {
            Value::Bin(v)
        });
        one!(
            request_problem_information,
            RequestProblemInformation,
            |v: &u8| { Value::Byte(*v) }
        );
        one!(
            will_delay_interval,
            WillDelayInterval,
            |v: &u32| Value::U32(*v)
        );
        one!(
            request_response_information,
            RequestResponseInformation,
            |v: &u8| { Value::Byte(*v) }
        );
        one!(
            response_information,
            ResponseInformation,
            |v: &'a String| Value::Str(v)
        );
        one!(server_reference, ServerReference, |v: &'a String| {
            Value::Str(v)
        });
        one!(reason_string, ReasonString, |v: &'a String| Value::Str(v));
        one!(receive_maximum, ReceiveMaximum, |v: &u16| Value::U16(*v));
        one!(
            topic_alias_maximum,
            TopicAliasMaximum,
            |v: &u16| Value::U16(*v)
        );
        one!(topic_alias, TopicAlias, |v: &u16| Value::U16(*v));
        one!(maximum_qos, MaximumQoS, |v: &u8| Value::Byte(*v));
        one!(retain_available, RetainAvailable, |v: &u8| Value::Byte(*v));
        for (k, v) in &self.user_properties {
            f(UserProperty, Value::Pair(k, v));
        }
        one!(
            maximum_packet_size,
            MaximumPacketSize,
            |v: &u32| Value::U32(*v)
        );
        one!(
            wildcard_subscription_available,
            WildcardSubscriptionAvailable,
            |v: &u8| { Value::Byte(*v) }
        );
        one!(
            subscription_identifier_available,
            SubscriptionIdentifierAvailable,
            |v: &u8| { Value::Byte(*v) }
        );
        one!(
            shared_subscription_available,
            SharedSubscriptionAvailable,
            |v: &u8| { Value::Byte(*v) }
        );
    }

    /// Reads properties until the end of `r`.
    fn decode(r: &mut Reader, ctx: PropertyContext) -> Result<PropertyValues, DecodeError> {
        let mut p = PropertyValues::default();
        let sec = |s| Rule::Section(Version::V5, s);
        let packet = match ctx {
            PropertyContext::Packet(t) => t,
            PropertyContext::Will => PacketType::Connect,
        };
        while !r.is_empty() {
            let raw_id = r.varint("property identifier")?;
            let id = PropertyId::from_u32(raw_id)
                .ok_or_else(|| r.err(ErrorKind::UnknownProperty(raw_id), sec("2.2.2.2")))?;
            if !id.allowed_in(ctx) {
                return Err(r.err(
                    ErrorKind::PropertyNotAllowed {
                        property: id,
                        packet,
                    },
                    sec("2.2.2.2"),
                ));
            }
            let in_packet = r.packet;
            let fail = move |kind, rule| DecodeError {
                kind,
                rule,
                packet: Some(in_packet),
            };
            let duplicate = || fail(ErrorKind::DuplicateProperty(id), sec("2.2.2.2"));
            let check = |value: u32| {
                id.check_value(value, ctx).map_err(|rule| {
                    fail(
                        ErrorKind::PropertyValue {
                            property: id,
                            value,
                        },
                        rule,
                    )
                })
            };
            macro_rules! set_once {
                ($field:ident, $value:expr) => {{
                    if p.$field.is_some() {
                        return Err(duplicate());
                    }
                    p.$field = Some($value);
                }};
            }
            macro_rules! byte {
                ($field:ident) => {{
                    let v = r.u8(id.name())?;
                    check(u32::from(v))?;
                    set_once!($field, v)
                }};
            }
            macro_rules! two {
                ($field:ident) => {{
                    let v = r.u16(id.name())?;
                    check(u32::from(v))?;
                    set_once!($field, v)
                }};
            }
            macro_rules! four {
                ($field:ident) => {{
                    let v = r.u32(id.name())?;
                    check(v)?;
                    set_once!($field, v)
                }};
            }
            use PropertyId::*;
            match id {
                PayloadFormatIndicator => byte!(payload_format_indicator),
                MessageExpiryInterval => four!(message_expiry_interval),
                ContentType => set_once!(content_type, r.string(id.name())?),
                ResponseTopic => {
                    let t = r.string(id.name())?;
                    if topic::has_wildcard(&t) {
                        return Err(r.err(
                            ErrorKind::WildcardInTopicName,
                            Rule::Statement("MQTT-3.3.2-14"),
                        ));
                    }
                    if t.is_empty() {
                        return Err(r.err(
                            ErrorKind::EmptyTopic {
                                field: "Response Topic",
                            },
                            Rule::Statement("MQTT-4.7.3-1"),
                        ));
                    }
                    set_once!(response_topic, t)
                }
                CorrelationData => set_once!(correlation_data, r.binary(id.name())?),
                SubscriptionIdentifier => {
                    let v = r.varint(id.name())?;
                    check(v)?;
                    // Only a PUBLISH may carry several (one per matching subscription).
                    if packet != PacketType::Publish && !p.subscription_identifiers.is_empty() {
                        return Err(duplicate());
                    }
                    p.subscription_identifiers.push(v);
                }
                SessionExpiryInterval => four!(session_expiry_interval),
                AssignedClientIdentifier => {
                    set_once!(assigned_client_identifier, r.string(id.name())?)
                }
                ServerKeepAlive => two!(server_keep_alive),
                AuthenticationMethod => set_once!(authentication_method, r.string(id.name())?),
                AuthenticationData => set_once!(authentication_data, r.binary(id.name())?),
                RequestProblemInformation => byte!(request_problem_information),
                WillDelayInterval => four!(will_delay_interval),
                RequestResponseInformation => byte!(request_response_information),
                ResponseInformation => set_once!(response_information, r.string(id.name())?),
                ServerReference => set_once!(server_reference, r.string(id.name())?),
                ReasonString => set_once!(reason_string, r.string(id.name())?),
                ReceiveMaximum => two!(receive_maximum),
                TopicAliasMaximum => two!(topic_alias_maximum),
                TopicAlias => two!(topic_alias),
                MaximumQoS => byte!(maximum_qos),
                RetainAvailable => byte!(retain_available),
                UserProperty => {
                    let k = r.string("User Property name")?;
                    let v = r.string("User Property value")?;
                    p.user_properties.push((k, v));
                }
                MaximumPacketSize => four!(maximum_packet_size),
                WildcardSubscriptionAvailable => byte!(wildcard_subscription_available),
                SubscriptionIdentifierAvailable => byte!(subscription_identifier_available),
                SharedSubscriptionAvailable => byte!(shared_subscription_available),
            }
        }
        Ok(p)
    }

    /// Checks every property is allowed in `ctx` with a valid value.
    pub(crate) fn validate(&self, ctx: PropertyContext) -> Result<(), EncodeError> {
        let packet = match ctx {
            PropertyContext::Packet(t) => t,
            PropertyContext::Will => PacketType::Connect,
        };
        let mut problem: Option<String> = None;
        self.for_each(|id, value| {
            if problem.is_some() {
                return;
            }
            if !id.allowed_in(ctx) {
                problem = Some(format!("property {} is not allowed here", id.name()));
                return;
            }
            let n = match value {
                Value::Byte(v) => Some(u32::from(v)),
                Value::U16(v) => Some(u32::from(v)),
                Value::U32(v) | Value::VarInt(v) => Some(v),
                Value::Str(s) | Value::Pair(s, _) | Value::Pair(_, s) if s.contains('\0') => {
                    problem = Some(format!("{} contains U+0000", id.name()));
                    None
                }
                Value::Str(s) if id == PropertyId::ResponseTopic => {
                    if s.is_empty() || topic::has_wildcard(s) {
                        problem = Some(format!("response topic {s:?} is not a topic name"));
                    }
                    None
                }
                _ => None,
            };
            if let Some(n) = n {
                if id.check_value(n, ctx).is_err() {
                    problem = Some(format!("property {} has invalid value {n}", id.name()));
                }
            }
        });
        if packet != PacketType::Publish && self.subscription_identifiers.len() > 1 {
            problem.get_or_insert_with(|| "more than one subscription identifier".into());
        }
        match problem {
            Some(why) => Err(EncodeError::Invalid { packet, why }),
            None => Ok(()),
        }
    }

    /// Writes the Property Length and the properties.
    pub(crate) fn encode(
        &self,
        out: &mut BytesMut,
        ctx: PropertyContext,
    ) -> Result<(), EncodeError> {
        self.validate(ctx)?;
        let packet = match ctx {
            PropertyContext::Packet(t) => t,
            PropertyContext::Will => PacketType::Connect,
        };
        if self.is_empty() {
            out.put_u8(0);
            return Ok(());
        }
        with_varint_prefix(out, |out| {
            let mut result = Ok(());
            self.for_each(|id, value| {
                if result.is_err() {
                    return;
                }
                out.put_u8(id as u8);
                result = match value {
                    Value::Byte(v) => {
                        out.put_u8(v);
                        Ok(())
                    }
                    Value::U16(v) => {
                        out.put_u16(v);
                        Ok(())
                    }
                    Value::U32(v) => {
                        out.put_u32(v);
                        Ok(())
                    }
                    Value::VarInt(v) => {
                        put_varint(out, v);
                        Ok(())
                    }
                    Value::Str(s) => put_str(out, s, packet),
                    Value::Bin(b) => put_binary(out, b, packet),
                    Value::Pair(k, v) => {
                        put_str(out, k, packet).and_then(|_| put_str(out, v, packet))
                    }
                };
            });
            result
        })?;
        Ok(())
    }
}
