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
                "description": "How long the clients get after `duration` to reconnect and finish what they were sending, before the history is judged. Default 20s.",
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
    const KINDS: &str = "cut (the client's link drops everything silently, then heals), stall (nothing passes for a while, then everything), reset (the client's host crashes and restarts, its connection reset), latency (50 to 500 ms on the client's link for a while), broker_restart (the broker crashes and restarts with its store)";
    switch(
        &format!(
            "Faults during `duration`: drawn from the seed with {{every: 2s..6s, length: 500ms..3s, pick: [cut, reset]}}, or a fixed list of {{at, fault, target, length}} (what `gauntlet explore` writes after shrinking). Kinds: {KINDS}."
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
                            "description": "The client it hits: p1..pN (publishers), s1..sM (subscribers), w (the will watcher, with `wills: true`). None for broker_restart.",
                            "type": "string",
                            "pattern": "^(p[1-9][0-9]*|s[1-9][0-9]*|w)$",
                        },
                        "length": {
                            "description": "How long it lasts: for cut, stall and latency only (reset and broker_restart happen at once).",
                            "$ref": "#/$defs/duration",
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
                    "description": "How long a cut, stall or latency lasts, picked at random in this range. Default 500ms..3s.",
                    "$ref": "#/$defs/durationRange",
                    "default": "500ms..3s",
                },
                "pick": {
                    "description": "The kinds of fault to draw from, each fault's kind picked at random.",
                    "type": "array",
                    "minItems": 1,
                    "items": fault_kind("A kind of fault."),
                },
            },
        }),
    )
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
                "description": "The QoS the subscribers ask for. Default 2.",
                "$ref": "#/$defs/qos",
                "default": 2,
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
