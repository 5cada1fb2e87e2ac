//! The steps of a scenario: waits, network faults, broker crashes and
//! restarts, and what each client does and expects, with the packets an
//! expectation matches.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::model::{yes, SpecRefs, VersionName, WillSpec};
use super::values::{Dur, DurRange, Match, Payload, Rate, Reason};

/// One step. A single-key map: `wait`, `network`, `broker`, or a client's
/// name; a client step may add `only: 5` (or `only: 3.1.1`), `spec: [ids]`
/// (the statements it asserts, for coverage) and `advisory: {rule: ..}`.
// Steps are read once per file and walked once per run: their size costs
// nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Step {
    Wait(Dur),
    Network(NetworkAction),
    Broker(BrokerAction),
    Client {
        name: String,
        action: ClientAction,
        only: Option<VersionName>,
        /// The normative statements this step asserts (as a file's `spec:`,
        /// a list or ids per version): a passing run of it covers them.
        spec: SpecRefs,
        /// Set when what the step checks is not a MUST: it fails as an
        /// advisory, and the run goes on.
        advisory: Option<AdvisorySpec>,
    },
}

/// Why a step only advises: the rule it checks is a SHOULD, or the spec
/// reads two ways and brokers chose differently. A failed advisory step is
/// reported with its rule (and the readings), never as a failure.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvisorySpec {
    /// The rule in a few words, with its statement id or section:
    /// `5.0 §4.13.1: the Server SHOULD send DISCONNECT with the Reason Code`.
    pub rule: String,
    /// Where readings of the spec differ: each of them.
    #[serde(default)]
    pub readings: Vec<String>,
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Step, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Step;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a step: `wait: 2s`, `network: {..}`, `broker: ..`, or `<client>: {<action>: ..}`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Step, A::Error> {
                let mut step = None;
                let mut only = None;
                let mut spec = None;
                let mut advisory = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "only" => {
                            only = Some(map.next_value::<VersionName>()?);
                            continue;
                        }
                        "spec" => {
                            spec = Some(map.next_value::<SpecRefs>()?);
                            continue;
                        }
                        "advisory" => {
                            advisory = Some(map.next_value::<AdvisorySpec>()?);
                            continue;
                        }
                        _ => {}
                    }
                    if step.is_some() {
                        return Err(de::Error::custom(format!(
                            "a step does one thing; {key:?} starts a second one (use a new `- ` item)"
                        )));
                    }
                    step = Some(match key.as_str() {
                        "wait" => Step::Wait(map.next_value()?),
                        "network" => Step::Network(map.next_value()?),
                        "broker" => Step::Broker(map.next_value()?),
                        _ => Step::Client {
                            name: key,
                            action: map.next_value()?,
                            only: None,
                            spec: SpecRefs::default(),
                            advisory: None,
                        },
                    });
                }
                match step {
                    Some(Step::Client { name, action, .. }) => Ok(Step::Client {
                        name,
                        action,
                        only,
                        spec: spec.unwrap_or_default(),
                        advisory,
                    }),
                    Some(_) if only.is_some() || spec.is_some() || advisory.is_some() => Err(
                        de::Error::custom("`only`, `spec` and `advisory` apply to client steps"),
                    ),
                    Some(s) => Ok(s),
                    None => Err(de::Error::custom("empty step")),
                }
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum NetworkAction {
    /// The link between the client and the broker silently drops
    /// everything (half-open) until healed.
    Cut(String),
    Heal(String),
    /// Nothing passes for a while; everything does on `resume`.
    Stall(String),
    Resume(String),
    /// The client's connection is reset now.
    Reset(String),
    /// Per-message latency on the client's link.
    Latency {
        client: String,
        range: DurRange,
    },
    /// Segment loss on the client's link from now on (`0%` stops it).
    Loss {
        client: String,
        rate: Rate,
    },
}

/// `broker: crash`, `broker: restart`, or `broker: {restart: {keep_store: false}}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerAction {
    /// The broker process dies: every connection is closed at once.
    Crash,
    /// The broker is shut down cleanly (SIGTERM for a real one): it closes
    /// every connection as it chooses (5.0 DISCONNECT 0x8B Server shutting
    /// down), stores what it keeps, and stays down until `restart`.
    Stop,
    /// The broker starts again (crashing it first if it runs), with what it
    /// stored unless `keep_store` is false.
    Restart { keep_store: bool },
}

impl<'de> Deserialize<'de> for BrokerAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<BrokerAction, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct RestartOptions {
            keep_store: bool,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BrokerAction;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("crash, stop, restart, or {restart: {keep_store: false}}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<BrokerAction, E> {
                match s {
                    "crash" => Ok(BrokerAction::Crash),
                    "stop" => Ok(BrokerAction::Stop),
                    "restart" => Ok(BrokerAction::Restart { keep_store: true }),
                    other => Err(E::unknown_variant(other, &["crash", "stop", "restart"])),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BrokerAction, A::Error> {
                let key: String = map
                    .next_key()?
                    .ok_or_else(|| de::Error::custom("expected crash or restart"))?;
                match key.as_str() {
                    "restart" => {
                        let o: RestartOptions = map.next_value()?;
                        Ok(BrokerAction::Restart {
                            keep_store: o.keep_store,
                        })
                    }
                    "crash" => {
                        map.next_value::<de::IgnoredAny>()?;
                        Ok(BrokerAction::Crash)
                    }
                    "stop" => {
                        map.next_value::<de::IgnoredAny>()?;
                        Ok(BrokerAction::Stop)
                    }
                    other => Err(de::Error::unknown_variant(
                        other,
                        &["crash", "stop", "restart"],
                    )),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// What a client does.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientAction {
    /// Boxed: by far the largest action, it would size every step.
    Connect(Box<ConnectStep>),
    Subscribe(SubscribeStep),
    Unsubscribe(Vec<String>),
    Publish(PublishStep),
    Disconnect(DisconnectStep),
    Send(SendStep),
    Expect(ExpectStep),
    ExpectNothing(Dur),
    ExpectClosed(ExpectClosedStep),
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectStep {
    pub clean_start: Option<bool>,
    pub keep_alive: Option<u16>,
    pub session_expiry: Option<u32>,
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub will: Option<WillSpec>,
    /// 5.0 CONNECT properties by name, added to (and overriding) the client's.
    #[serde(default)]
    pub properties: BTreeMap<String, serde_value::Value>,
    /// Hex bytes to send instead of a CONNECT built from the fields: a
    /// CONNECT a correct client cannot write (reserved flag, unknown
    /// protocol level), or a first packet that is not a CONNECT at all.
    pub raw: Option<String>,
    /// Wait for CONNACK (default) and check it; `false` only sends CONNECT.
    #[serde(default = "yes")]
    pub wait: bool,
    /// What CONNACK must say; without it, success.
    pub expect: Option<ConnAckMatch>,
}

/// `subscribe: {maison/+/temperature: 1, maison/#: {qos: 2, no_local: true}}`.
/// Reserved keys: `id` (5.0 Subscription Identifier) and `expect` (the
/// SUBACK reason codes; by default the requested QoS of each filter).
#[derive(Clone, Debug, Default)]
pub struct SubscribeStep {
    pub filters: Vec<(String, SubOptions)>,
    pub id: Option<u32>,
    pub expect: Option<Vec<Reason>>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubOptions {
    pub qos: u8,
    #[serde(default)]
    pub no_local: bool,
    #[serde(default)]
    pub retain_as_published: bool,
    #[serde(default)]
    pub retain_handling: u8,
}

/// A filter's QoS (`1`) or its options (`{qos: 1, no_local: true}`).
struct Options(SubOptions);

impl<'de> Deserialize<'de> for Options {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Options, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Options;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a QoS (0, 1, 2) or options {qos, no_local, retain_as_published, retain_handling}")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Options, E> {
                let qos = u8::try_from(n)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(n), &self))?;
                Ok(Options(SubOptions {
                    qos,
                    ..SubOptions::default()
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Options, A::Error> {
                SubOptions::deserialize(de::value::MapAccessDeserializer::new(map)).map(Options)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for SubscribeStep {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SubscribeStep, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SubscribeStep;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of topic filter to QoS (or to {qos, no_local, retain_as_published, retain_handling})")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SubscribeStep, A::Error> {
                let mut s = SubscribeStep::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "id" => s.id = Some(map.next_value()?),
                        "expect" => s.expect = Some(map.next_value()?),
                        _ => {
                            let Options(options) = map.next_value()?;
                            s.filters.push((key, options));
                        }
                    }
                }
                if s.filters.is_empty() {
                    return Err(de::Error::custom(
                        "subscribe needs at least one topic filter",
                    ));
                }
                Ok(s)
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishStep {
    pub topic: String,
    #[serde(default)]
    pub payload: Payload,
    #[serde(default)]
    pub qos: u8,
    #[serde(default)]
    pub retain: bool,
    #[serde(default)]
    pub dup: bool,
    /// Packet identifier; the client picks the next free one if not given.
    pub id: Option<u16>,
    /// 5.0 properties by name.
    #[serde(default)]
    pub properties: BTreeMap<String, serde_value::Value>,
    /// Complete the acknowledgement flow (QoS 1: PUBACK; QoS 2: PUBREC,
    /// PUBREL, PUBCOMP) before the next step. Without it the acks are left
    /// for `expect` steps.
    #[serde(default, rename = "await")]
    pub await_ack: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisconnectStep {
    /// Close the connection without DISCONNECT.
    #[serde(default)]
    pub abrupt: bool,
    /// 5.0 reason code of the DISCONNECT.
    pub reason: Option<Reason>,
    /// 5.0 Session Expiry Interval on DISCONNECT.
    pub session_expiry: Option<u32>,
}

/// Bytes or a bare acknowledgement to send as they are.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SendStep {
    /// Hex, whitespace ignored: `"30 05 00 01 61 68 69"`.
    Raw(String),
    Puback(AckSend),
    Pubrec(AckSend),
    Pubrel(AckSend),
    Pubcomp(AckSend),
    Pingreq,
    /// 5.0 AUTH: `auth: {reason: 0x18, properties: {authentication_method: ..}}`.
    Auth(AuthSend),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSend {
    /// Default 0x18 Continue authentication.
    #[serde(default = "AuthSend::continue_authentication")]
    pub reason: Reason,
    /// Properties by name (authentication_method, authentication_data, ...).
    #[serde(default)]
    pub properties: BTreeMap<String, serde_value::Value>,
}

impl AuthSend {
    fn continue_authentication() -> Reason {
        Reason(0x18)
    }

    /// The AUTH packet; an error if a property does not read.
    pub fn packet(&self) -> Result<protocol::Packet, String> {
        Ok(protocol::Packet::Auth(protocol::Auth {
            reason: protocol::ReasonCode(self.reason.0),
            properties: protocol::Properties::from(crate::props::build(&self.properties)?),
        }))
    }
}

/// `puback: 1`, or `puback: {id: 1, reason: 0x80}` with a 5.0 reason code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckSend {
    pub id: u16,
    pub reason: Option<Reason>,
}

impl AckSend {
    /// The acknowledgement, carrying packet identifier `id` (the engine
    /// maps a logical identifier to the broker's first).
    pub fn ack(&self, id: u16) -> protocol::Ack {
        let mut ack = protocol::Ack::new(id);
        ack.reason = protocol::ReasonCode(self.reason.map_or(0, |r| r.0));
        ack
    }
}

impl From<u16> for AckSend {
    fn from(id: u16) -> AckSend {
        AckSend { id, reason: None }
    }
}

impl<'de> Deserialize<'de> for AckSend {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<AckSend, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            id: u16,
            reason: Option<Reason>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Id(u16),
            Full(Full),
        }
        match Raw::deserialize(d).map_err(|_| {
            de::Error::custom("expected a packet identifier (1) or {id: 1, reason: 0x80}")
        })? {
            Raw::Id(id) => Ok(id.into()),
            Raw::Full(f) => Ok(AckSend {
                id: f.id,
                reason: f.reason,
            }),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectClosedStep {
    pub within: Option<Dur>,
    /// Nothing may arrive before the close but a DISCONNECT or (5.0) a
    /// CONNACK refusing the connection: a broker that acknowledged the
    /// packet it then closed for acted on it.
    #[serde(default)]
    pub silent: bool,
}

/// `expect: puback`, or `expect: {publish: {topic: .., qos: 1}, within: 2s}`.
/// `unordered: true` takes the first packet that matches wherever it is in
/// the inbox (the packets before it stay for later steps): for what the
/// spec leaves unordered, such as retained messages of different topics.
/// `unordered: other_topics` takes it wherever it is too, but keeps order
/// within its topic: no other PUBLISH on the match's topic may come first.
#[derive(Clone, Debug)]
pub struct ExpectStep {
    pub packet: PacketMatch,
    pub within: Option<Dur>,
    pub unordered: bool,
    /// `unordered: other_topics` (then `unordered` is true as well).
    pub topic_order: bool,
    /// `or_closed: true`: the broker may close the connection instead of
    /// sending the packet, where the spec lets it choose (3.1.1
    /// MQTT-3.3.5-2: acknowledge an unauthorised PUBLISH or close).
    pub or_closed: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnAckMatch {
    pub session_present: Match<bool>,
    pub reason: Match<Reason>,
    pub properties: BTreeMap<String, Match<serde_value::Value>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublishMatch {
    pub topic: Match<String>,
    pub payload: Match<Payload>,
    pub qos: Match<u8>,
    pub retain: Match<bool>,
    pub dup: Match<bool>,
    pub id: Match<u16>,
    pub properties: BTreeMap<String, Match<serde_value::Value>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AckMatch {
    pub id: Match<u16>,
    pub reason: Match<Reason>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReasonsMatch {
    pub id: Match<u16>,
    pub reasons: Match<Vec<Reason>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DisconnectMatch {
    pub reason: Match<Reason>,
}

/// `expect: {auth: {reason: 0x18, properties: {authentication_method: ..}}}`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthMatch {
    pub reason: Match<Reason>,
    pub properties: BTreeMap<String, Match<serde_value::Value>>,
}

#[derive(Clone, Debug)]
pub enum PacketMatch {
    ConnAck(ConnAckMatch),
    Publish(PublishMatch),
    PubAck(AckMatch),
    PubRec(AckMatch),
    PubRel(AckMatch),
    PubComp(AckMatch),
    SubAck(ReasonsMatch),
    UnsubAck(ReasonsMatch),
    PingResp,
    Disconnect(DisconnectMatch),
    Auth(AuthMatch),
}

const PACKET_NAMES: &[&str] = &[
    "connack",
    "publish",
    "puback",
    "pubrec",
    "pubrel",
    "pubcomp",
    "suback",
    "unsuback",
    "pingresp",
    "disconnect",
    "auth",
];

impl PacketMatch {
    pub fn name(&self) -> &'static str {
        match self {
            PacketMatch::ConnAck(_) => "CONNACK",
            PacketMatch::Publish(_) => "PUBLISH",
            PacketMatch::PubAck(_) => "PUBACK",
            PacketMatch::PubRec(_) => "PUBREC",
            PacketMatch::PubRel(_) => "PUBREL",
            PacketMatch::PubComp(_) => "PUBCOMP",
            PacketMatch::SubAck(_) => "SUBACK",
            PacketMatch::UnsubAck(_) => "UNSUBACK",
            PacketMatch::PingResp => "PINGRESP",
            PacketMatch::Disconnect(_) => "DISCONNECT",
            PacketMatch::Auth(_) => "AUTH",
        }
    }

    fn from_name<E: de::Error>(name: &str) -> Result<PacketMatch, E> {
        Ok(match name {
            "connack" => PacketMatch::ConnAck(ConnAckMatch::default()),
            "publish" => PacketMatch::Publish(PublishMatch::default()),
            "puback" => PacketMatch::PubAck(AckMatch::default()),
            "pubrec" => PacketMatch::PubRec(AckMatch::default()),
            "pubrel" => PacketMatch::PubRel(AckMatch::default()),
            "pubcomp" => PacketMatch::PubComp(AckMatch::default()),
            "suback" => PacketMatch::SubAck(ReasonsMatch::default()),
            "unsuback" => PacketMatch::UnsubAck(ReasonsMatch::default()),
            "pingresp" => PacketMatch::PingResp,
            "disconnect" => PacketMatch::Disconnect(DisconnectMatch::default()),
            "auth" => PacketMatch::Auth(AuthMatch::default()),
            other => return Err(E::unknown_variant(other, PACKET_NAMES)),
        })
    }
}

/// The value of `unordered:`: `true`, `false` or `other_topics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unordered {
    No,
    Yes,
    OtherTopics,
}

impl<'de> Deserialize<'de> for Unordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Unordered, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Unordered;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, false or other_topics")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Unordered, E> {
                Ok(if b { Unordered::Yes } else { Unordered::No })
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Unordered, E> {
                match s {
                    "other_topics" => Ok(Unordered::OtherTopics),
                    _ => Err(E::invalid_value(de::Unexpected::Str(s), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A key of `expect: {..}`: a packet name, `within` or `unordered`; an
/// unknown one is refused as the key is read, so the error names it.
enum ExpectKey {
    Within,
    Unordered,
    OrClosed,
    Packet(&'static str),
}

impl<'de> Deserialize<'de> for ExpectKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ExpectKey, D::Error> {
        let key = String::deserialize(d)?;
        match key.as_str() {
            "within" => Ok(ExpectKey::Within),
            "unordered" => Ok(ExpectKey::Unordered),
            "or_closed" => Ok(ExpectKey::OrClosed),
            other => match PACKET_NAMES.iter().find(|n| **n == other) {
                Some(name) => Ok(ExpectKey::Packet(name)),
                None => {
                    let mut names = PACKET_NAMES.to_vec();
                    names.extend(["within", "unordered", "or_closed"]);
                    Err(de::Error::custom(format!(
                        "unknown packet {other:?}; expected one of {}",
                        names.join(", ")
                    )))
                }
            },
        }
    }
}

impl<'de> Deserialize<'de> for ExpectStep {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ExpectStep, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ExpectStep;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a packet name (puback) or {<packet>: {fields..}, within: 2s}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ExpectStep, E> {
                Ok(ExpectStep {
                    packet: PacketMatch::from_name(s)?,
                    within: None,
                    unordered: false,
                    topic_order: false,
                    or_closed: false,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ExpectStep, A::Error> {
                let mut packet = None;
                let mut within = None;
                let mut unordered = Unordered::No;
                let mut or_closed = false;
                while let Some(key) = map.next_key::<ExpectKey>()? {
                    let name = match key {
                        ExpectKey::Within => {
                            within = Some(map.next_value()?);
                            continue;
                        }
                        ExpectKey::Unordered => {
                            unordered = map.next_value()?;
                            continue;
                        }
                        ExpectKey::OrClosed => {
                            or_closed = map.next_value()?;
                            continue;
                        }
                        ExpectKey::Packet(name) => name,
                    };
                    if packet.is_some() {
                        return Err(de::Error::custom(format!(
                            "expect one packet per step; {name:?} is a second one"
                        )));
                    }
                    packet = Some(match name {
                        "connack" => PacketMatch::ConnAck(map.next_value()?),
                        "publish" => PacketMatch::Publish(map.next_value()?),
                        "puback" => PacketMatch::PubAck(map.next_value()?),
                        "pubrec" => PacketMatch::PubRec(map.next_value()?),
                        "pubrel" => PacketMatch::PubRel(map.next_value()?),
                        "pubcomp" => PacketMatch::PubComp(map.next_value()?),
                        "suback" => PacketMatch::SubAck(map.next_value()?),
                        "unsuback" => PacketMatch::UnsubAck(map.next_value()?),
                        "disconnect" => PacketMatch::Disconnect(map.next_value()?),
                        "auth" => PacketMatch::Auth(map.next_value()?),
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                            PacketMatch::PingResp
                        }
                    });
                }
                let packet = packet.ok_or_else(|| de::Error::custom("expect needs a packet"))?;
                let topic_order = unordered == Unordered::OtherTopics;
                if topic_order
                    && !matches!(&packet, PacketMatch::Publish(m) if matches!(m.topic, Match::Is(_)))
                {
                    return Err(de::Error::custom(
                        "unordered: other_topics keeps order within a topic, so it needs a publish with its topic: {publish: {topic: maison/salon, ..}, unordered: other_topics}",
                    ));
                }
                Ok(ExpectStep {
                    packet,
                    within,
                    unordered: unordered != Unordered::No,
                    topic_order,
                    or_closed,
                })
            }
        }
        d.deserialize_any(V)
    }
}
