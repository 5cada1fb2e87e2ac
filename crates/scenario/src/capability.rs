//! What a broker can do or chooses to do, beyond what every broker must: a
//! scenario `requires:` some of these, a broker profile lists the ones its
//! broker has, and a run on a broker without one is skipped with the reason.

/// The optional features of MQTT that nearly every broker has; a broker
/// given by URL is assumed to have these unless `--capabilities` says
/// otherwise. Scenarios need them by what they do (see
/// `Scenario::required_capabilities`).
pub const FEATURES: &[&str] = &[
    "keep_alive_zero",
    "qos2",
    "retain",
    "wildcards",
    "shared_subscriptions",
    "subscription_identifiers",
];

/// Every capability name, with what having it means.
pub const ALL: &[(&str, &str)] = &[
    (
        "keep_alive_zero",
        "accepts a CONNECT with Keep Alive 0 (keep alive off); a server may refuse it \
         as a further restriction on CONNECT (3.1.1 §3.1.4, 5.0 MQTT-3.1.4-2)",
    ),
    (
        "qos2",
        "QoS 2 (a broker may support less: 5.0 Maximum QoS, MQTT-3.2.2-9); \
         needed by scenarios that publish or subscribe at QoS 2",
    ),
    (
        "retain",
        "retained messages (5.0 Retain Available, MQTT-3.2.2-13); needed by \
         scenarios that publish retained messages or retained wills",
    ),
    (
        "wildcards",
        "wildcard subscriptions (5.0 Wildcard Subscription Available); needed by \
         scenarios that subscribe with + or #",
    ),
    (
        "shared_subscriptions",
        "5.0 shared subscriptions ($share/...); needed by scenarios that use them",
    ),
    (
        "subscription_identifiers",
        "5.0 subscription identifiers; needed by scenarios that subscribe with an id",
    ),
    (
        "restart",
        "gauntlet can crash and restart the broker (it runs from a profile, not a URL)",
    ),
    (
        "persistence",
        "sessions, retained messages and messages in flight survive a crash and restart",
    ),
    (
        "overlapping_single_copy",
        "a client whose subscriptions overlap gets one copy of a message, with every \
         matching subscription identifier (5.0 MQTT-3.3.4-3 allows one copy per subscription)",
    ),
    (
        "shared_round_robin",
        "shared subscriptions hand messages out in turn (the spec leaves the choice to the broker)",
    ),
    (
        "topic_alias_to_client",
        "the broker uses topic aliases on messages it sends, up to the client's Topic Alias Maximum",
    ),
    (
        "queue_limit_exact",
        "max_queued_messages bounds the QoS 1/2 messages an offline session holds, exactly, \
         keeping the oldest (the spec sets no queue limits; brokers count them their own way)",
    ),
    (
        "packet_ids_from_1",
        "the broker numbers the messages it sends to a new session 1, 2, 3, ...",
    ),
];

pub fn is_known(name: &str) -> bool {
    ALL.iter().any(|(n, _)| *n == name)
}

/// "a, b or c": the names, for error messages.
pub fn names() -> String {
    let names: Vec<&str> = ALL.iter().map(|(n, _)| *n).collect();
    names.join(", ")
}
