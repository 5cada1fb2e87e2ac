//! The workload scenario format: who publishes what, at which QoS, under
//! which random faults, and which promises are checked afterwards.
//!
//! ```yaml
//! name: QoS 1 survives cuts, resets and broker restarts
//! versions: [3.1.1, 5]
//! duration: 30s
//! network: { latency: 5ms..80ms }
//! faults: { every: 2s..6s, length: 500ms..3s, pick: [cut, reset, stall, broker_restart] }
//! workload: { publishers: 5, subscribers: 3, messages: 200, qos: [1],
//!             filters: [maison/+/temperature, maison/#] }
//! check: [at_least_once, ordered_per_publisher, routes_match_filters]
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::values::{CountRange, Dur, DurRange, OneOrMore, Rate};
use crate::VersionName;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "both_versions")]
    pub versions: Vec<VersionName>,
    /// How long traffic and faults go on; then every fault is healed and
    /// the run drains for `drain`.
    pub duration: Dur,
    #[serde(default = "default_drain")]
    pub drain: Dur,
    #[serde(default)]
    pub network: Network,
    /// Random faults drawn from the seed, or a fixed list (what `gauntlet
    /// explore` writes out after shrinking).
    #[serde(default)]
    pub faults: Option<Faults>,
    /// Reference-broker settings.
    #[serde(default)]
    pub broker: reference_broker::Config,
    /// The settings `broker:` writes, even at their default value (set by
    /// the loader; see `Scenario::broker_written`).
    #[serde(skip)]
    pub broker_written: Vec<String>,
    pub workload: Traffic,
    /// In simulation, what the reference broker keeps across a
    /// `broker_restart` (a kill) and a `broker_stop` (a clean shutdown);
    /// a real broker's profile says what it keeps. The checkers hold the
    /// broker to exactly that promise.
    #[serde(default)]
    pub persistence: Persistence,
    /// Checkers to run over the history (names as in `gauntlet explore
    /// --help`).
    pub check: Vec<String>,
}

fn both_versions() -> Vec<VersionName> {
    vec![VersionName::V311, VersionName::V5]
}

fn default_drain() -> Dur {
    Dur(std::time::Duration::from_secs(20))
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub latency: Option<DurRange>,
}

/// `{every, length, pick}` draws faults from the seed; a list fixes them.
#[derive(Clone, Debug)]
pub enum Faults {
    Random(FaultSpec),
    Fixed(Vec<FixedFault>),
}

// By hand rather than `untagged`: told apart by their shape, each form's
// own errors (an unknown fault kind, a misspelt key) reach the author with
// their place instead of "no variant matched".
impl<'de> Deserialize<'de> for Faults {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Faults, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Faults;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("{every: 2s..6s, length: 500ms..3s, pick: [cut, ...]} or a list of {at, fault, target, length}")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Faults, A::Error> {
                FaultSpec::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Faults::Random)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Faults, A::Error> {
                Vec::<FixedFault>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(Faults::Fixed)
            }
        }
        d.deserialize_any(V)
    }
}

/// `{at: 3.2s, fault: cut, target: p1, length: 2s}`; `target` is absent for
/// `broker_restart`, `length` for `reset` and `broker_restart`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedFault {
    pub at: Dur,
    pub fault: FaultKind,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub length: Option<Dur>,
    /// Armed at `at`, the fault falls right after this packet instead.
    #[serde(default)]
    pub after: Option<After>,
}

/// `after: {received: PUBREC, count: 3, by: s1}`: a fault falls right after
/// the `count`th packet of that type (counted from the fault's `at`) has
/// arrived where it was going — at the client for `received`, at the
/// broker for `sent` — so the packets that follow it meet the fault, the
/// one that fired it not. `by` is the client whose link is watched: the
/// fault's target unless given (a broker fault must give it).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct After {
    #[serde(default)]
    pub sent: Option<PacketName>,
    #[serde(default)]
    pub received: Option<PacketName>,
    #[serde(default = "one_u32")]
    pub count: u32,
    #[serde(default)]
    pub by: Option<String>,
}

impl After {
    /// The packet, and whether the client sends it (else receives it).
    pub fn packet(&self) -> Option<(protocol::PacketType, bool)> {
        match (self.sent, self.received) {
            (Some(p), None) => Some((p.0, true)),
            (None, Some(p)) => Some((p.0, false)),
            _ => None,
        }
    }
}

/// A control packet type by its name in the specification (`PUBREC`, any
/// case).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketName(pub protocol::PacketType);

impl FromStr for PacketName {
    type Err = String;
    fn from_str(s: &str) -> Result<PacketName, String> {
        protocol::PacketType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .map(PacketName)
            .ok_or_else(|| {
                let names: Vec<&str> = protocol::PacketType::ALL.iter().map(|t| t.name()).collect();
                format!("unknown packet type {s:?} (one of {})", names.join(", "))
            })
    }
}

impl<'de> Deserialize<'de> for PacketName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PacketName, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Packets a client can send, for `after: {sent}` (the others never leave
/// a client, so a trigger on them could never fire).
pub fn client_sends(t: protocol::PacketType) -> bool {
    use protocol::PacketType as P;
    !matches!(t, P::ConnAck | P::SubAck | P::UnsubAck | P::PingResp)
}

/// Packets a broker can send, for `after: {received}`.
pub fn broker_sends(t: protocol::PacketType) -> bool {
    use protocol::PacketType as P;
    !matches!(t, P::Connect | P::Subscribe | P::Unsubscribe | P::PingReq)
}

/// `on_packets: {share: 50%, count: 1..3, packets: [PUBREC, PUBREL]}`: a
/// random fault is, with probability `share`, armed at its time and falls
/// right after a packet of the QoS flows (drawn from `packets`, or from
/// every packet of the flows the workload's QoS use, each the way the
/// client exchanges it), the `count`th from then on.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnPackets {
    #[serde(default = "all")]
    pub share: Rate,
    #[serde(default = "one_count")]
    pub count: CountRange,
    #[serde(default)]
    pub packets: Option<Vec<PacketName>>,
}

/// A random fault every `every`, of a kind picked from `pick`, aimed at a
/// random client (or the broker), lasting `length` (cut, stall, latency).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub every: DurRange,
    #[serde(default = "default_length")]
    pub length: DurRange,
    pub pick: Vec<FaultKind>,
    /// Faults that fall on a packet rather than at their time.
    #[serde(default)]
    pub on_packets: Option<OnPackets>,
}

fn default_length() -> DurRange {
    DurRange {
        min: Dur(std::time::Duration::from_millis(500)),
        max: Dur(std::time::Duration::from_secs(3)),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The client's link drops everything silently, then heals.
    Cut,
    /// Nothing passes on the client's link for a while, then everything.
    Stall,
    /// The client's host crashes and restarts (its connection is reset).
    Reset,
    /// The client's link gets 50..500 ms of latency for a while.
    Latency,
    /// The broker crashes (SIGKILL) and restarts.
    BrokerRestart,
    /// The broker shuts down cleanly (SIGTERM) and starts again.
    BrokerStop,
    /// The client connects again with its client identifier on a new
    /// connection (Clean Start 0) while its old one stays open and goes on
    /// answering, as a device that does not know it was replaced.
    Takeover,
    /// The same, the old connection answering nothing (half-open).
    TakeoverHalfOpen,
    /// The same as `takeover` with Clean Start 1: the session starts afresh.
    TakeoverClean,
    /// The client leaves with DISCONNECT and comes back (Clean Start 0)
    /// after the fault's length: its session must outlive a short absence
    /// and, with a Session Expiry Interval, end in a long one.
    Away,
}

impl FaultKind {
    pub const ALL: [FaultKind; 10] = [
        FaultKind::Cut,
        FaultKind::Stall,
        FaultKind::Reset,
        FaultKind::Latency,
        FaultKind::BrokerRestart,
        FaultKind::BrokerStop,
        FaultKind::Takeover,
        FaultKind::TakeoverHalfOpen,
        FaultKind::TakeoverClean,
        FaultKind::Away,
    ];

    /// As a workload writes it.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Cut => "cut",
            FaultKind::Stall => "stall",
            FaultKind::Reset => "reset",
            FaultKind::Latency => "latency",
            FaultKind::BrokerRestart => "broker_restart",
            FaultKind::BrokerStop => "broker_stop",
            FaultKind::Takeover => "takeover",
            FaultKind::TakeoverHalfOpen => "takeover_half_open",
            FaultKind::TakeoverClean => "takeover_clean",
            FaultKind::Away => "away",
        }
    }

    /// It lasts a while (it has a length); the others happen at once.
    pub fn lasts(self) -> bool {
        matches!(
            self,
            FaultKind::Cut | FaultKind::Stall | FaultKind::Latency | FaultKind::Away
        )
    }

    /// It hits the broker, not a client.
    pub fn on_broker(self) -> bool {
        matches!(self, FaultKind::BrokerRestart | FaultKind::BrokerStop)
    }

    /// A client taking over its own session.
    pub fn is_takeover(self) -> bool {
        matches!(
            self,
            FaultKind::Takeover | FaultKind::TakeoverHalfOpen | FaultKind::TakeoverClean
        )
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    pub publishers: u32,
    pub subscribers: u32,
    /// Subscriber `i` subscribes to `filters[i % len]`.
    #[serde(default = "default_filters")]
    pub filters: Vec<String>,
    /// Publisher `i` publishes to `topics[i % len]`.
    #[serde(default = "default_topics")]
    pub topics: Vec<String>,
    /// Messages in all, shared evenly among the publishers and spread
    /// evenly over `duration`.
    pub messages: u32,
    /// Each message's QoS is drawn from this list.
    #[serde(default = "default_qos")]
    pub qos: Vec<u8>,
    /// QoS the subscribers ask for, drawn per filter from this list.
    #[serde(default = "two")]
    pub subscribe_qos: OneOrMore<u8>,
    /// How many filters each subscriber holds: subscriber `i` subscribes
    /// to `filters[i]`, `filters[i + 1]`, ... (wrapping), each at its own
    /// QoS, so that a message may match several of them.
    #[serde(default = "one_u32")]
    pub filters_each: u32,
    /// Payload sizes in bytes, drawn per message.
    #[serde(default = "default_payload")]
    pub payload: (usize, usize),
    /// `kept` (Clean Start 0, sessions kept across connections) or `clean`.
    #[serde(default)]
    pub sessions: Sessions,
    /// Publishers carry a will (QoS 1, on `wills/<name>`), watched by a
    /// kept-session client.
    #[serde(default)]
    pub wills: bool,
    /// Every publish carries RETAIN; at the end a fresh client reads what
    /// each topic retains (for the `retained_latest` check).
    #[serde(default)]
    pub retain: bool,
    /// Keep Alive of every client, in seconds.
    #[serde(default = "default_keep_alive")]
    pub keep_alive: u16,
    /// QoS 1 and 2 messages a publisher keeps unacknowledged at most
    /// (drawn per publisher), and never more than the broker's Receive
    /// Maximum (5.0).
    #[serde(default = "default_inflight")]
    pub inflight: CountRange,
    /// Messages a publisher sends at once: its messages go out in bursts
    /// of a size drawn from this range, each burst at one instant.
    #[serde(default = "one_count")]
    pub burst: CountRange,
    /// MQTT 3.1.1 runs: publishers also resend an unacknowledged PUBLISH
    /// (or PUBREL) on the same connection, with DUP set, after `every`,
    /// up to `times` times (5.0 allows a resend only on reconnecting,
    /// MQTT-4.4.0-1, so 5.0 runs resend only then).
    #[serde(default)]
    pub resend: Option<Resend>,
    /// MQTT 5.0 runs: messages carry a Message Expiry Interval.
    #[serde(default)]
    pub message_expiry: Option<MessageExpiry>,
    /// MQTT 5.0 runs: the Receive Maximum subscribers announce, drawn
    /// for each connection (so a resumed session may have another).
    #[serde(default)]
    pub receive_maximum: Option<CountRange>,
    /// How long a subscriber takes to acknowledge (PUBACK, PUBREC),
    /// drawn per message: with a small Receive Maximum, messages wait.
    #[serde(default)]
    pub ack_delay: Option<DurRange>,
    /// MQTT 5.0 runs: the Session Expiry Interval of the subscribers'
    /// sessions (whole seconds, drawn per subscriber), instead of an hour.
    #[serde(default)]
    pub session_expiry: Option<DurRange>,
}

/// What a broker keeps of its sessions, messages in flight and retained
/// messages across a restart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Persistence {
    /// Everything, a crash too.
    #[default]
    Always,
    /// Everything across a clean shutdown, nothing across a crash.
    OnStop,
    /// Nothing: it comes back empty.
    Nothing,
}

impl Persistence {
    pub fn name(self) -> &'static str {
        match self {
            Persistence::Always => "always",
            Persistence::OnStop => "on_stop",
            Persistence::Nothing => "nothing",
        }
    }

    /// Whether the broker keeps its state across a restart that was a
    /// clean shutdown (`graceful`) or a crash.
    pub fn keeps(self, graceful: bool) -> bool {
        match self {
            Persistence::Always => true,
            Persistence::OnStop => graceful,
            Persistence::Nothing => false,
        }
    }
}

/// `{every: 500ms..2s, times: 1..3}`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resend {
    pub every: DurRange,
    #[serde(default = "one_count")]
    pub times: CountRange,
}

/// `{interval: 1s..8s, share: 50%}`: each message carries an interval
/// drawn from the range (whole seconds), with probability `share`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageExpiry {
    pub interval: DurRange,
    #[serde(default = "all")]
    pub share: Rate,
}

fn all() -> Rate {
    Rate(1.0)
}

fn one_u32() -> u32 {
    1
}

fn one_count() -> CountRange {
    CountRange::one(1)
}

fn default_inflight() -> CountRange {
    CountRange::one(16)
}

fn default_filters() -> Vec<String> {
    vec!["maison/+/temperature".into()]
}

fn default_topics() -> Vec<String> {
    ["salon", "cuisine", "chambre", "bureau", "cave"]
        .iter()
        .map(|r| format!("maison/{r}/temperature"))
        .collect()
}

fn default_qos() -> Vec<u8> {
    vec![1]
}

fn two() -> OneOrMore<u8> {
    OneOrMore(vec![2])
}

fn default_payload() -> (usize, usize) {
    (16, 64)
}

fn default_keep_alive() -> u16 {
    2
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sessions {
    #[default]
    Kept,
    Clean,
}

impl Workload {
    pub fn publisher_names(&self) -> Vec<String> {
        (1..=self.workload.publishers)
            .map(|i| format!("p{i}"))
            .collect()
    }

    pub fn subscriber_names(&self) -> Vec<String> {
        (1..=self.workload.subscribers)
            .map(|i| format!("s{i}"))
            .collect()
    }

    /// The fault kinds the run may apply.
    pub fn fault_kinds(&self) -> Vec<FaultKind> {
        match &self.faults {
            None => Vec::new(),
            Some(Faults::Random(f)) => f.pick.clone(),
            Some(Faults::Fixed(list)) => list.iter().map(|f| f.fault).collect(),
        }
    }

    /// What a broker must have for this workload (names from
    /// `crate::capability`).
    pub fn required_capabilities(&self) -> Vec<String> {
        let t = &self.workload;
        let mut need = Vec::new();
        if t.qos.contains(&2) || t.subscribe_qos.0.contains(&2) {
            need.push("qos2");
        }
        if t.retain {
            // And `#` for the reading at the end.
            need.extend(["retain", "wildcards"]);
        }
        if t.wills || t.filters.iter().any(|f| f.contains(['+', '#'])) {
            need.push("wildcards");
        }
        if self.fault_kinds().iter().any(|k| k.on_broker()) {
            // What survives is the profile's promise, which the checkers
            // hold the broker to.
            need.push("restart");
        }
        let mut need: Vec<String> = need.into_iter().map(str::to_owned).collect();
        need.sort();
        need.dedup();
        need
    }
}

/// Loads and checks a workload file; every mistake is reported at
/// file:line:column (see [`crate::load`]).
pub fn load_file(path: &std::path::Path) -> Result<Workload, crate::LoadErrors> {
    crate::load::load_workload_file(path)
}

/// Is this YAML text a workload (it has a top-level `workload:` key)?
pub fn is_workload(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("workload:"))
}

/// The checkers, by the promise they judge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    AtMostOnce,
    AtLeastOnce,
    ExactlyOnce,
    OrderedPerPublisher,
    RoutesMatchFilters,
    RetainedLatest,
    WillOnAbnormalDisconnect,
    QosAsGranted,
    NoExpiredDelivery,
    ReceiveMaximumRespected,
    SessionExpiryRespected,
    TakeoverClean,
}

impl Check {
    pub const ALL: [Check; 12] = [
        Check::AtMostOnce,
        Check::AtLeastOnce,
        Check::ExactlyOnce,
        Check::OrderedPerPublisher,
        Check::RoutesMatchFilters,
        Check::RetainedLatest,
        Check::WillOnAbnormalDisconnect,
        Check::QosAsGranted,
        Check::NoExpiredDelivery,
        Check::ReceiveMaximumRespected,
        Check::SessionExpiryRespected,
        Check::TakeoverClean,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Check::AtMostOnce => "at_most_once",
            Check::AtLeastOnce => "at_least_once",
            Check::ExactlyOnce => "exactly_once",
            Check::OrderedPerPublisher => "ordered_per_publisher",
            Check::RoutesMatchFilters => "routes_match_filters",
            Check::RetainedLatest => "retained_latest",
            Check::WillOnAbnormalDisconnect => "will_on_abnormal_disconnect",
            Check::QosAsGranted => "qos_as_granted",
            Check::NoExpiredDelivery => "no_expired_delivery",
            Check::ReceiveMaximumRespected => "receive_maximum_respected",
            Check::SessionExpiryRespected => "session_expiry_respected",
            Check::TakeoverClean => "takeover_clean",
        }
    }

    /// The normative statements a run of `version` this checker passes
    /// asserts. `at_most_once` has none: that QoS 0 arrives at most once
    /// is said in prose (§4.3.1), not as a MUST.
    pub fn statements(self, version: VersionName) -> &'static [&'static str] {
        let v5 = version == VersionName::V5;
        match self {
            Check::AtMostOnce => &[],
            // The broker adds the message to the session of every matching
            // subscriber and delivers it.
            Check::AtLeastOnce | Check::ExactlyOnce => &["MQTT-4.5.0-1"],
            // Ordered topics: one client's messages reach each subscriber in
            // the order they came.
            Check::OrderedPerPublisher => &["MQTT-4.6.0-5", "MQTT-4.6.0-6"],
            Check::RoutesMatchFilters => &["MQTT-3.3.2-3"],
            Check::RetainedLatest => &["MQTT-3.3.1-5"],
            Check::WillOnAbnormalDisconnect => &["MQTT-3.1.2-8", "MQTT-3.14.4-3"],
            Check::QosAsGranted if v5 => &["MQTT-3.3.4-2"],
            Check::QosAsGranted => &["MQTT-3.3.5-1"],
            Check::NoExpiredDelivery if v5 => &["MQTT-3.3.2-5", "MQTT-3.3.2-6"],
            Check::ReceiveMaximumRespected if v5 => &["MQTT-3.3.4-9"],
            Check::SessionExpiryRespected if v5 => {
                &["MQTT-3.1.2-23", "MQTT-3.2.2-3", "MQTT-4.1.0-2"]
            }
            Check::NoExpiredDelivery
            | Check::ReceiveMaximumRespected
            | Check::SessionExpiryRespected => &[],
            Check::TakeoverClean if v5 => &["MQTT-3.1.4-3"],
            Check::TakeoverClean => &["MQTT-3.1.4-2"],
        }
    }

    /// The promise, in one line (for help texts).
    pub fn promise(self) -> &'static str {
        match self {
            Check::AtMostOnce => "a QoS 0 message reaches each subscriber at most once",
            Check::AtLeastOnce => {
                "an acknowledged message reaches every kept-session subscriber at QoS 1"
            }
            Check::ExactlyOnce => "a QoS 2 message reaches each subscriber once, never twice",
            Check::OrderedPerPublisher => {
                "one publisher's messages on a topic and QoS arrive in publish order"
            }
            Check::RoutesMatchFilters => {
                "a subscriber receives only what its filters match, on the published topic"
            }
            Check::RetainedLatest => "each topic retains its last acknowledged retained message",
            Check::WillOnAbnormalDisconnect => {
                "a will is published when a connection is lost, never after DISCONNECT"
            }
            Check::QosAsGranted => {
                "a message comes at its QoS capped by the highest granted among the matching \
                 subscriptions (further copies at each subscription's own)"
            }
            Check::NoExpiredDelivery => {
                "5.0: nothing is sent after its Message Expiry Interval ran out, the interval \
                 forwarded is reduced by the time held, and what had not expired arrives"
            }
            Check::ReceiveMaximumRespected => {
                "5.0: never more unacknowledged QoS 1 and 2 messages to a client than its \
                 Receive Maximum, on every connection of its session"
            }
            Check::SessionExpiryRespected => {
                "5.0: a session outlives an absence shorter than its Session Expiry Interval \
                 and ends in a longer one, taking its queued messages with it"
            }
            Check::TakeoverClean => {
                "a client connecting again with its client identifier closes its old \
                 connection (5.0: DISCONNECT 0x8E first, advisory)"
            }
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Check {
    type Err = String;

    fn from_str(s: &str) -> Result<Check, String> {
        Check::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Check::ALL.iter().map(|c| c.name()).collect();
                format!("unknown checker {s:?} (known: {})", known.join(", "))
            })
    }
}
