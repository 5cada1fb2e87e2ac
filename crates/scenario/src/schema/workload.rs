//! The schema of a workload file (`crates/scenario/src/workload.rs`): its
//! traffic, its faults and the checkers that judge the history.

use super::*;
use crate::workload::{Check, FaultKind};

pub(super) fn workload_file() -> Value {
    json!({
        "description": "A workload: publishers and subscribers generate traffic under random (or fixed) faults, then checkers judge the recorded history. A file with a top-level `workload:` key is a workload. Check it with `gauntlet check FILE`; explore its seeds with `gauntlet explore FILE`.",
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "duration", "workload", "check"],
        "properties": {
            "name": {
                "description": "What the workload shows, in one sentence; it names the run in reports.",
                "type": "string",
                "pattern": r"\S",
            },
            "description": {
                "description": "Longer explanation: the traffic, the faults, and the promises checked.",
                "type": "string",
            },
            "versions": {
                "description": "The MQTT versions to run the workload on; each is a separate run. Default: both, [3.1.1, 5].",
                "type": "array",
                "items": { "$ref": "#/$defs/version" },
                "minItems": 1,
                "uniqueItems": true,
                "default": ["3.1.1", 5],
            },
            "duration": {
                "description": "How long traffic and faults go on (simulated time), e.g. 30s; the messages are spread over it. Then every fault is healed and the run drains. More than 0.",
                "$ref": "#/$defs/duration",
                "not": { "pattern": r"^0+(\.0+)?(ms|s|m|min)$" },
            },
            "drain": {
                "description": "How long the clients get after `duration` to reconnect and finish what they were sending, before the history is judged; a broker still delivering when it is up gets more, up to three times `drain`. Default 20s.",
                "$ref": "#/$defs/duration",
                "default": "20s",
            },
            "network": {
                "description": "The simulated network between the clients and the broker.",
                "type": ["object", "null"],
                "additionalProperties": false,
                "properties": {
                    "latency": {
                        "description": "Delay of every message on every link, picked at random (from the seed) in this range, e.g. 5ms..80ms.",
                        "$ref": "#/$defs/durationRange",
                    },
                },
            },
            "faults": faults(),
            "persistence": {
                "description": "In simulation, what the reference broker keeps across a broker_restart (a crash) and a broker_stop (a clean shutdown): always (both, the default), on_stop (a clean shutdown only) or nothing. A real broker's profile says what it keeps. The checkers hold the broker to exactly that promise: what a restart that keeps nothing forgets is owed to no one.",
                "enum": ["always", "on_stop", "nothing"],
                "default": "always",
            },
            "broker": broker_config(),
            "workload": traffic(),
            "check": {
                "description": "The checkers that judge the history, each a promise of MQTT (`gauntlet explore --help` lists them).",
                "type": "array",
                "minItems": 1,
                "uniqueItems": true,
                "items": {
                    "description": Check::ALL
                        .iter()
                        .map(|c| format!("{c}: {}.", c.promise()))
                        .collect::<Vec<_>>()
                        .join(" "),
                    "enum": Check::ALL.iter().map(|c| c.name()).collect::<Vec<_>>(),
                },
            },
        },
    })
}

fn fault_kind(description: &str) -> Value {
    json!({
        "description": description,
        "enum": FaultKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>(),
    })
}

fn faults() -> Value {
    const KINDS: &str = "cut (the client's link drops everything silently, then heals), stall (nothing passes for a while, then everything), reset (the client's host crashes and restarts, its connection reset), latency (50 to 500 ms on the client's link for a while), broker_restart (the broker crashes and restarts with its store), broker_stop (the broker shuts down cleanly and starts again), takeover (the client connects again with its client identifier on a new connection, Clean Start 0, while the old one stays open and goes on answering), takeover_half_open (the same, the old connection answering nothing), takeover_clean (the same with Clean Start 1), away (the client leaves with DISCONNECT and comes back after the fault's length)";
    switch(
        &format!(
            "Faults during `duration`: drawn from the seed with {{every: 2s..6s, length: 500ms..3s, pick: [cut, reset]}}, or a fixed list of {{at, fault, target, length, after}} (what `gauntlet explore` writes after shrinking). Kinds: {KINDS}."
        ),
        vec![(
            of_type("array"),
            json!({
                "items": {
                    "description": "One fault at a fixed time.",
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["at", "fault"],
                    "properties": {
                        "at": {
                            "description": "When it starts, from the start of the run; before the end of `duration`.",
                            "$ref": "#/$defs/duration",
                        },
                        "fault": fault_kind("The kind of fault."),
                        "target": {
                            "description": "The client it hits: p1..pN (publishers), s1..sM (subscribers), w (the will watcher, with `wills: true`). None for broker_restart and broker_stop.",
                            "type": "string",
                            "pattern": "^(p[1-9][0-9]*|s[1-9][0-9]*|w)$",
                        },
                        "length": {
                            "description": "How long it lasts: for cut, stall, latency and away only (the others happen at once).",
                            "$ref": "#/$defs/duration",
                        },
                        "after": {
                            "description": "Armed at `at`, the fault falls right after a packet instead: the `count`th of its type on the client `by`'s link (the target unless given; a broker fault must give it), once it arrived where it was going — at the broker for `sent`, at the client for `received`. The packets after it meet the fault. E.g. {received: PUBREC, count: 3}.",
                            "type": "object",
                            "additionalProperties": false,
                            "properties": {
                                "sent": packet_name("A packet the client sends; the fault falls once the broker has it."),
                                "received": packet_name("A packet the client receives; the fault falls once the client has it."),
                                "count": { "description": "Which one, counted from `at`. Default 1.", "type": "integer", "minimum": 1, "default": 1 },
                                "by": { "description": "The client whose link is watched. Default: the fault's target.", "type": "string", "pattern": "^(p[1-9][0-9]*|s[1-9][0-9]*|w)$" },
                            },
                            "oneOf": [{ "required": ["sent"] }, { "required": ["received"] }],
                        },
                    },
                },
            }),
        )],
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["every", "pick"],
            "properties": {
                "every": {
                    "description": "Time from one fault to the next, picked at random in this range, e.g. 2s..6s; more than 0, and shorter than `duration` for any fault to happen.",
                    "$ref": "#/$defs/durationRange",
                },
                "length": {
                    "description": "How long a cut, stall, latency or away lasts, picked at random in this range. Default 500ms..3s.",
                    "$ref": "#/$defs/durationRange",
                    "default": "500ms..3s",
                },
                "pick": {
                    "description": "The kinds of fault to draw from, each fault's kind picked at random.",
                    "type": "array",
                    "minItems": 1,
                    "items": fault_kind("A kind of fault."),
                },
                "on_packets": {
                    "description": "Some faults fall on a packet rather than at their time: armed at their time, each waits for a packet of the QoS flows on its client's link (a broker fault on a random client's) and falls right after it arrived, so faults reach every stage of every flow — on real brokers too, through the fault proxy.",
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "share": { "description": "The share of faults that wait for a packet, e.g. 50%. Default 100%.", "type": ["string", "number"], "default": "100%" },
                        "count": count_range("Which packet of its type, counted from the fault's time, drawn per fault. Default 1.", 4_294_967_295),
                        "packets": {
                            "description": "The packet types to draw from (each the way the client exchanges it). Default: every packet of the flows at the QoS the workload uses.",
                            "type": "array",
                            "minItems": 1,
                            "items": packet_name("A packet type."),
                        },
                    },
                },
            },
        }),
    )
}

fn packet_name(description: &str) -> Value {
    let names: Vec<&str> = protocol::PacketType::ALL.iter().map(|t| t.name()).collect();
    json!({ "description": description, "type": "string", "enum": names })
}

/// `16` or `"1..200"`, within `1..=max`.
fn count_range(description: &str, max: u64) -> Value {
    json!({
        "description": description,
        "anyOf": [
            { "type": "integer", "minimum": 1, "maximum": max },
            { "type": "string", "pattern": r"^\s*[0-9]+\s*\.\.\s*[0-9]+\s*$" },
        ],
    })
}

fn traffic() -> Value {
    let count = |what: &str| {
        json!({
            "description": what,
            "type": "integer",
            "minimum": 1,
            "maximum": 4_294_967_295u64,
        })
    };
    json!({
        "description": "The generated traffic: who publishes what, who subscribes to what, and how the clients connect.",
        "type": "object",
        "additionalProperties": false,
        "required": ["publishers", "subscribers", "messages"],
        "properties": {
            "publishers": count("How many publishers, named p1..pN; at least 1."),
            "subscribers": count("How many subscribers, named s1..sM; at least 1."),
            "messages": count("Messages in all, shared evenly among the publishers and spread evenly over `duration`; at least 1."),
            "filters": {
                "description": "Subscriber i subscribes to filters[i % len]. Not shared subscriptions. Default [maison/+/temperature].",
                "type": "array",
                "minItems": 1,
                "items": { "$ref": "#/$defs/topicFilter" },
                "default": ["maison/+/temperature"],
            },
            "topics": {
                "description": "Publisher i publishes to topics[i % len]. Default: maison/<room>/temperature for five rooms.",
                "type": "array",
                "minItems": 1,
                "items": { "$ref": "#/$defs/topicName" },
            },
            "qos": {
                "description": "Each message's QoS is drawn from this list. Default [1].",
                "type": "array",
                "minItems": 1,
                "items": { "$ref": "#/$defs/qos" },
                "default": [1],
            },
            "subscribe_qos": {
                "description": "The QoS the subscribers ask for: one, or a list each filter's QoS is drawn from. Default 2.",
                "anyOf": [
                    { "$ref": "#/$defs/qos" },
                    { "type": "array", "minItems": 1, "items": { "$ref": "#/$defs/qos" } },
                ],
                "default": 2,
            },
            "filters_each": {
                "description": "How many filters each subscriber holds: subscriber i subscribes to filters[i], filters[i+1], ... (wrapping), each at its own QoS, so a message may match several. At most the number of filters. Default 1.",
                "type": "integer",
                "minimum": 1,
                "default": 1,
            },
            "inflight": count_range("QoS 1 and 2 messages a publisher keeps unacknowledged at most, drawn per publisher (1..65535), never more than the broker's Receive Maximum (5.0). Default 16.", 65_535),
            "burst": count_range("Messages a publisher sends at once: its messages go out in bursts of a size drawn from this range. Default 1.", 4_294_967_295),
            "resend": {
                "description": "MQTT 3.1.1 runs: publishers also resend an unacknowledged PUBLISH (or PUBREL) on the same connection with DUP set, `every` after the last send, up to `times` times. 5.0 allows a resend only on reconnecting (MQTT-4.4.0-1), so 5.0 runs resend only then.",
                "type": "object",
                "additionalProperties": false,
                "required": ["every"],
                "properties": {
                    "every": { "description": "Time before a resend, e.g. 300ms..1s.", "$ref": "#/$defs/durationRange" },
                    "times": count_range("Resends of one message at most. Default 1.", 4_294_967_295),
                },
            },
            "message_expiry": {
                "description": "MQTT 5.0 runs: messages carry a Message Expiry Interval (for no_expired_delivery).",
                "type": "object",
                "additionalProperties": false,
                "required": ["interval"],
                "properties": {
                    "interval": { "description": "The interval, drawn per message in whole seconds, e.g. 1s..8s.", "$ref": "#/$defs/durationRange" },
                    "share": { "description": "The share of messages that carry one, e.g. 50% (the others never expire). Default 100%.", "type": ["string", "number"], "default": "100%" },
                },
            },
            "receive_maximum": count_range("MQTT 5.0 runs: the Receive Maximum subscribers announce (1..65535), drawn for each connection, so a resumed session may announce another (for receive_maximum_respected).", 65_535),
            "ack_delay": {
                "description": "How long a subscriber takes to acknowledge a message (PUBACK, PUBREC), drawn per message, e.g. 0ms..200ms: with a small Receive Maximum, messages queue at the broker.",
                "$ref": "#/$defs/durationRange",
            },
            "session_expiry": {
                "description": "MQTT 5.0 runs: the subscribers' Session Expiry Interval in whole seconds, drawn per subscriber, instead of an hour; `away` faults then leave for shorter and longer than it (for session_expiry_respected).",
                "$ref": "#/$defs/durationRange",
            },
            "payload": {
                "description": "Payload sizes in bytes, [smallest, largest], drawn per message; at most 65536. Default [16, 64].",
                "type": "array",
                "items": { "type": "integer", "minimum": 0, "maximum": 65536 },
                "minItems": 2,
                "maxItems": 2,
                "default": [16, 64],
            },
            "sessions": {
                "description": "kept: subscribers connect with Clean Start 0 and keep their sessions across connections (the default); clean: they start afresh each time. Publishers always keep theirs.",
                "enum": ["kept", "clean"],
                "default": "kept",
            },
            "wills": {
                "description": "Publishers carry a will (QoS 1, on wills/<name>), watched by a client `w` with a kept session (for will_on_abnormal_disconnect). Default false.",
                "type": "boolean",
                "default": false,
            },
            "retain": {
                "description": "Every publish carries RETAIN; at the end a fresh client reads what each topic retains (for retained_latest). Default false.",
                "type": "boolean",
                "default": false,
            },
            "keep_alive": {
                "description": "Keep Alive of every client, in seconds, at least 1: how a client notices a cut link. Default 2.",
                "type": "integer",
                "minimum": 1,
                "maximum": 65535,
                "default": 2,
            },
        },
    })
}
