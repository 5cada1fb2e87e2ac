//! What the broker allows and how much it holds. Every limit bounds memory.

use std::collections::BTreeMap;
#[cfg(feature = "defects")]
use std::collections::BTreeSet;

use protocol::{topic, QoS};
use serde::{Deserialize, Serialize};

#[cfg(feature = "defects")]
pub use crate::defects::Bug;
#[cfg(not(feature = "defects"))]
use crate::defects::Bug;

/// Broker settings. Every field has a default, so an empty config file is valid.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Largest packet accepted from a client; larger ones close the connection
    /// (5.0: DISCONNECT 0x95). Sent to 5.0 clients as Maximum Packet Size.
    pub max_packet_size: u32,
    /// How many QoS 2 messages a client may have awaiting PUBREL (5.0 Receive
    /// Maximum sent in CONNACK).
    pub receive_maximum: u16,
    /// Upper bound on outgoing unacknowledged QoS 1/2 messages per client,
    /// whatever Receive Maximum the client asks for (3.1.1 has none).
    pub max_inflight: u16,
    /// Messages queued per session beyond those in flight. When full, a new
    /// QoS 1/2 message for that session is dropped (and counted), never an
    /// older one: what was queued first stays, and order is kept.
    pub max_queued_messages: usize,
    /// Simultaneous network connections; more get CONNACK Server unavailable
    /// (3.1.1 0x03) / Server busy (5.0 0x89).
    pub max_connections: usize,
    /// Topic aliases a 5.0 client may use towards the broker.
    pub topic_alias_maximum: u16,
    /// If set, overrides the clients' Keep Alive (5.0 Server Keep Alive).
    pub server_keep_alive: Option<u16>,
    /// Highest QoS the broker supports (5.0 Maximum QoS).
    pub maximum_qos: u8,
    pub retain_available: bool,
    pub wildcard_subscription_available: bool,
    pub subscription_identifiers_available: bool,
    pub shared_subscription_available: bool,
    /// Cap on a 5.0 Session Expiry Interval, in seconds.
    pub max_session_expiry: Option<u32>,
    /// Allow clients without a user name.
    pub allow_anonymous: bool,
    /// user name → password. When non-empty, a client that gives a user name
    /// must give its password.
    pub users: BTreeMap<String, String>,
    /// Subscriptions the broker refuses (SUBACK 0x80 / 5.0 0x87 Not
    /// authorized): a requested filter is refused if it equals one of these,
    /// or one of these (as a filter) matches it read as a topic name.
    pub refused_filters: Vec<String>,
    /// Topics clients may not publish to (a filter matching the topic name).
    /// The message goes nowhere and is not retained; 5.0 says so in the
    /// PUBACK/PUBREC (0x87 Not authorized), 3.1.1 has no way to (MQTT-3.3.5-2)
    /// and acknowledges it as usual.
    pub refused_topics: Vec<String>,
    /// If not empty, a client identifier must start with one of these;
    /// another gets CONNACK Identifier rejected (3.1.1 0x02) / Client
    /// Identifier not valid (5.0 0x85). An assigned identifier always passes.
    pub client_id_prefixes: Vec<String>,
    /// A client whose subscriptions overlap gets one copy of a message per
    /// matching subscription, each with that subscription's QoS and
    /// identifier (MQTT-3.3.4-5), rather than one copy for them all.
    pub copy_per_subscription: bool,
    /// 5.0 enhanced authentication (§4.12): the one Authentication Method
    /// the broker supports. A CONNECT naming it is challenged with an AUTH
    /// carrying `auth_challenge` and accepted only if the client answers
    /// with `auth_response`; a client may re-authenticate the same way.
    pub auth_method: Option<String>,
    pub auth_challenge: String,
    pub auth_response: String,
    /// Deliberate defects, to show that gauntlet's checkers catch real
    /// broker bugs. Empty unless a test asks; never for real use. Only with
    /// the `defects` feature: without it a config naming `bugs` is refused.
    #[cfg(feature = "defects")]
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub bugs: BTreeSet<Bug>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_packet_size: 1024 * 1024,
            receive_maximum: 64,
            max_inflight: 32,
            max_queued_messages: 1000,
            max_connections: 10_000,
            topic_alias_maximum: 16,
            server_keep_alive: None,
            maximum_qos: 2,
            retain_available: true,
            wildcard_subscription_available: true,
            subscription_identifiers_available: true,
            shared_subscription_available: true,
            max_session_expiry: None,
            allow_anonymous: true,
            users: BTreeMap::new(),
            refused_filters: Vec::new(),
            refused_topics: Vec::new(),
            client_id_prefixes: Vec::new(),
            copy_per_subscription: false,
            auth_method: None,
            auth_challenge: "challenge".into(),
            auth_response: "response".into(),
            #[cfg(feature = "defects")]
            bugs: BTreeSet::new(),
        }
    }
}

impl Config {
    pub fn maximum_qos(&self) -> QoS {
        QoS::from_u8(self.maximum_qos.min(2)).unwrap_or(QoS::ExactlyOnce)
    }

    #[cfg(feature = "defects")]
    pub fn has_bug(&self, bug: Bug) -> bool {
        self.bugs.contains(&bug)
    }

    /// Without the `defects` feature the broker has none.
    #[cfg(not(feature = "defects"))]
    pub(crate) fn has_bug(&self, _: Bug) -> bool {
        false
    }

    pub fn refuses(&self, filter: &str) -> bool {
        self.refused_filters
            .iter()
            .any(|r| r == filter || topic::matches(r, filter))
    }

    /// Whether a client may not publish to `topic`.
    pub fn refuses_publish(&self, topic: &str) -> bool {
        self.refused_topics.iter().any(|r| topic::matches(r, topic))
    }

    /// Whether a client identifier the client chose is refused.
    pub fn refuses_client_id(&self, id: &str) -> bool {
        !self.client_id_prefixes.is_empty()
            && !self
                .client_id_prefixes
                .iter()
                .any(|p| id.starts_with(p.as_str()))
    }

    /// Checks values the broker cannot work with.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_packet_size < 16 {
            return Err("max_packet_size must be at least 16".into());
        }
        if self.receive_maximum == 0 || self.max_inflight == 0 {
            return Err("receive_maximum and max_inflight must be at least 1".into());
        }
        if self.maximum_qos > 2 {
            return Err("maximum_qos must be 0, 1 or 2".into());
        }
        for f in &self.refused_filters {
            topic::validate_filter(f, false).map_err(|e| format!("refused_filters: {f:?} {e}"))?;
        }
        for f in &self.refused_topics {
            topic::validate_filter(f, false).map_err(|e| format!("refused_topics: {f:?} {e}"))?;
        }
        Ok(())
    }
}

// Under `cargo test --workspace` gauntlet's tests turn the defects on for
// the whole build, so this runs with `cargo test -p reference-broker`
// (as `.ci/run` does).
#[cfg(all(test, feature = "server", not(feature = "defects")))]
mod tests {
    use super::Config;

    #[test]
    fn a_normal_build_cannot_turn_defects_on() {
        let e = serde_saphyr::from_str::<Config>("bugs: [retained_not_replaced]\n")
            .expect_err("a normal build has no defects to turn on");
        assert!(e.to_string().contains("bugs"), "{e}");
        assert!(serde_saphyr::from_str::<Config>("max_inflight: 4\n").is_ok());
    }
}
