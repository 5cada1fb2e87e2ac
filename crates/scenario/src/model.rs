//! The scenario format: what a YAML file says — its versions, clients,
//! network and broker settings, the spec statements it cites. Its steps are
//! in [`crate::steps`]; loading and checking it is in [`crate::load`].

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::located::Located;
use super::steps::{BrokerAction, ClientAction, Step};
use super::values::{Dur, DurRange, Payload, Rate};

/// MQTT versions a scenario runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VersionName {
    V311,
    V5,
}

impl From<protocol::Version> for VersionName {
    fn from(v: protocol::Version) -> VersionName {
        match v {
            protocol::Version::V311 => VersionName::V311,
            protocol::Version::V5 => VersionName::V5,
        }
    }
}

impl VersionName {
    pub fn protocol(self) -> protocol::Version {
        match self {
            VersionName::V311 => protocol::Version::V311,
            VersionName::V5 => protocol::Version::V5,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            VersionName::V311 => "v3.1.1",
            VersionName::V5 => "v5",
        }
    }
}

impl fmt::Display for VersionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VersionName::V311 => "3.1.1",
            VersionName::V5 => "5",
        })
    }
}

impl<'de> Deserialize<'de> for VersionName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<VersionName, D::Error> {
        // YAML reads `3.1.1` as a string and `5` as a number.
        let v = serde_value::Value::deserialize(d)?;
        let s = match v {
            serde_value::Value::String(s) => s,
            serde_value::Value::U8(n) => n.to_string(),
            serde_value::Value::U16(n) => n.to_string(),
            serde_value::Value::U32(n) => n.to_string(),
            serde_value::Value::U64(n) => n.to_string(),
            serde_value::Value::I8(n) => n.to_string(),
            serde_value::Value::I16(n) => n.to_string(),
            serde_value::Value::I32(n) => n.to_string(),
            serde_value::Value::I64(n) => n.to_string(),
            serde_value::Value::F32(n) => n.to_string(),
            serde_value::Value::F64(n) => n.to_string(),
            other => {
                return Err(de::Error::custom(format!(
                    "expected a version (3.1.1 or 5), found {other:?}"
                )))
            }
        };
        match s.as_str() {
            "3.1.1" | "311" | "4" => Ok(VersionName::V311),
            "5" | "5.0" => Ok(VersionName::V5),
            other => Err(de::Error::custom(format!(
                "unknown MQTT version {other:?}: use 3.1.1 or 5"
            ))),
        }
    }
}

fn both_versions() -> Vec<VersionName> {
    vec![VersionName::V311, VersionName::V5]
}

/// A scripted scenario.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Normative statement ids (`MQTT-3.1.2-5`) the scenario checks.
    #[serde(default)]
    pub spec: SpecRefs,
    /// Each listed version is a separate run.
    #[serde(default = "both_versions")]
    pub versions: Vec<VersionName>,
    /// Capabilities the broker needs beyond what every broker must (see
    /// `crate::capability`); a run on a broker without one is skipped.
    #[serde(default)]
    pub requires: Vec<Located<String>>,
    /// Default deadline of `expect` steps (5s unless given).
    #[serde(default)]
    pub timeout: Option<Dur>,
    #[serde(default)]
    pub network: NetworkSpec,
    /// Settings of the reference broker for this scenario.
    #[serde(default)]
    pub broker: reference_broker::Config,
    /// The settings `broker:` writes, even at their default value: a real
    /// broker must be given each, not left at a default of its own. Set by
    /// the loader.
    #[serde(skip)]
    pub broker_written: Vec<String>,
    pub clients: BTreeMap<String, ClientSpec>,
    pub steps: Vec<Located<Step>>,
    /// Which variant of a file with `vary:` this is (`first=a/#, qos=2`);
    /// set by the loader, never written in the file.
    #[serde(skip)]
    pub variant: Option<String>,
}

impl Scenario {
    /// Everything a broker must be able to do to run this scenario: what it
    /// `requires:`, `restart` for crash/restart steps, `persistence` for a
    /// restart that keeps the store, and the optional features its steps
    /// use (QoS 2, retain, wildcards, shared subscriptions, subscription
    /// identifiers).
    pub fn required_capabilities(&self) -> Vec<String> {
        let mut all: Vec<String> = self.requires.iter().map(|r| r.value.clone()).collect();
        let mut need = |c: &str| all.push(c.to_owned());
        let will = |w: &WillSpec, need: &mut dyn FnMut(&str)| {
            if w.qos == 2 {
                need("qos2");
            }
            if w.retain {
                need("retain");
            }
        };
        for c in self.clients.values() {
            if let Some(w) = &c.will {
                will(w, &mut need);
            }
        }
        for step in &self.steps {
            match &step.value {
                Step::Broker(b) => {
                    need("restart");
                    if matches!(b, BrokerAction::Restart { keep_store: true }) {
                        need("persistence");
                    }
                }
                Step::Client { action, .. } => match action {
                    ClientAction::Publish(p) => {
                        if p.qos == 2 {
                            need("qos2");
                        }
                        if p.retain {
                            need("retain");
                        }
                    }
                    ClientAction::Subscribe(sub) => {
                        for (filter, o) in &sub.filters {
                            if o.qos == 2 {
                                need("qos2");
                            }
                            if filter.starts_with("$share/") {
                                need("shared_subscriptions");
                            }
                            if filter.contains(['+', '#']) {
                                need("wildcards");
                            }
                        }
                        if sub.id.is_some() {
                            need("subscription_identifiers");
                        }
                    }
                    ClientAction::Connect(c) => {
                        if let Some(w) = &c.will {
                            will(w, &mut need);
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        all.sort();
        all.dedup();
        all
    }
}

/// `spec: [MQTT-4.3.2-1, ...]`, or per version:
/// `spec: {3.1.1: [MQTT-3.1.2-24], 5: [MQTT-3.1.2-22]}`. The two versions
/// number their statements differently, and the same id often means
/// something else in the other one (3.1.1's MQTT-3.1.2-24 is Keep Alive,
/// 5.0's is Maximum Packet Size): a list applies each id to every version
/// that has it, so a scenario whose ids differ by version uses the map.
#[derive(Clone, Debug, Default)]
pub struct SpecRefs {
    /// Each id with the version it is from (`None`: every version run).
    pub entries: Vec<(Option<VersionName>, Located<String>)>,
}

impl SpecRefs {
    /// The ids the scenario checks when run on `version`.
    pub fn ids_for(&self, version: VersionName) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|(v, id)| match v {
                Some(v) => *v == version,
                None => crate::spec::statement(version.protocol(), &id.value).is_some(),
            })
            .map(|(_, id)| id.value.as_str())
            .collect()
    }
}

impl<'de> Deserialize<'de> for SpecRefs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SpecRefs, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SpecRefs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of statement ids, or {3.1.1: [ids], 5: [ids]}")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<SpecRefs, A::Error> {
                let mut entries = Vec::new();
                while let Some(id) = seq.next_element::<Located<String>>()? {
                    entries.push((None, id));
                }
                Ok(SpecRefs { entries })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SpecRefs, A::Error> {
                let mut entries = Vec::new();
                while let Some(v) = map.next_key::<VersionName>()? {
                    for id in map.next_value::<Vec<Located<String>>>()? {
                        entries.push((Some(v), id));
                    }
                }
                Ok(SpecRefs { entries })
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Per-message latency on every link, e.g. `5ms..80ms`.
    pub latency: Option<DurRange>,
    /// Segment loss on every client's link, e.g. `2%`: each loss delays the
    /// link by a TCP retransmission timeout; a long burst kills it.
    pub loss: Option<Rate>,
}

pub(crate) fn yes() -> bool {
    true
}

fn sixty() -> u16 {
    60
}

/// How a client connects, unless a `connect` step says otherwise.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// The MQTT client identifier; the client's name if not given. `""`
    /// asks the broker to assign one.
    pub client_id: Option<String>,
    #[serde(default = "yes")]
    pub clean_start: bool,
    #[serde(default = "sixty")]
    pub keep_alive: u16,
    /// 5.0 Session Expiry Interval, seconds.
    pub session_expiry: Option<u32>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub will: Option<WillSpec>,
    /// 5.0 CONNECT properties.
    pub receive_maximum: Option<u16>,
    pub maximum_packet_size: Option<u32>,
    pub topic_alias_maximum: Option<u16>,
    /// Any other 5.0 CONNECT properties by name (user_properties,
    /// request_problem_information, authentication_method, ...).
    #[serde(default)]
    pub properties: BTreeMap<String, serde_value::Value>,
    /// Acknowledge incoming QoS 1/2 messages as a normal client does.
    #[serde(default = "yes")]
    pub auto_ack: bool,
    /// Send PINGREQ when idle for Keep Alive (the broker's Server Keep
    /// Alive if it gives one), from CONNACK on; the PINGRESPs answering
    /// those are not offered to `expect` (the answer to `send: pingreq` is).
    #[serde(default = "yes")]
    pub auto_ping: bool,
}

impl Default for ClientSpec {
    fn default() -> ClientSpec {
        ClientSpec {
            client_id: None,
            clean_start: true,
            keep_alive: 60,
            session_expiry: None,
            username: None,
            password: None,
            will: None,
            receive_maximum: None,
            maximum_packet_size: None,
            topic_alias_maximum: None,
            properties: BTreeMap::new(),
            auto_ack: true,
            auto_ping: true,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WillSpec {
    pub topic: String,
    #[serde(default)]
    pub payload: Payload,
    #[serde(default)]
    pub qos: u8,
    #[serde(default)]
    pub retain: bool,
    /// 5.0 Will Delay Interval, seconds.
    pub delay: Option<u32>,
    /// 5.0 will properties by name (message_expiry_interval, content_type, ...).
    #[serde(default)]
    pub properties: BTreeMap<String, serde_value::Value>,
}
