//! A JSON Schema (draft 2020-12) of the scenario format, for editors: with
//! `# yaml-language-server: $schema=scenario.schema.json` at the top of a
//! scenario or a workload, the YAML language server completes keys, shows
//! what each does and flags most mistakes while typing. One schema serves
//! both kinds of file: a document with a top-level `workload:` key is read
//! as a workload, any other as a scripted scenario.
//!
//! Written by hand: the scenario types deserialize with custom code (steps
//! are single-key maps, durations are strings with units, reason codes are
//! names or numbers), which a derived schema would not describe. What a
//! schema cannot know (whether a step's client is declared, whether `only`
//! names a listed version, whether a spec id belongs to the versions run) is
//! left to `gauntlet check`.

use protocol::Version;
use serde_json::{json, Map, Value};

use crate::props::{self, PropValue};
use crate::spec;
use crate::values::reason_names;

mod broker;
mod properties;
mod steps;
mod vary;
mod workload;

use broker::*;
use properties::*;
use steps::*;
use workload::*;

const DURATION: &str = r"^[0-9]+(\.[0-9]+)?(ms|s|m|min)$";
const DURATION_RANGE: &str = r"^[0-9]+(\.[0-9]+)?(ms|s|m|min)(\.\.[0-9]+(\.[0-9]+)?(ms|s|m|min))?$";
/// Pairs of hex digits; whitespace anywhere is ignored.
const HEX: &str = r"^\s*([0-9A-Fa-f]\s*[0-9A-Fa-f]\s*)*$";
/// Raw bytes: hex, `'text'`, and slots (`{len}`, `{topic ..}`, `}`); the
/// nesting of slots is left to the loader.
const RAW: &str = r"^(\s|[0-9A-Fa-f]{2}|'[^']*'|\{(len(:[1-5]|[+-][0-9]+)?|str|topic|filter|client_id|props)|\})*$";
const CLIENT_NAME: &str =
    r"^(?!(wait|network|broker|only|spec|advisory|when|repeat)$)[A-Za-z0-9_-]+$";

/// Topic filters: levels split by `/`, `+` a whole level, `#` alone in
/// the last one (shared subscriptions and length are left to the loader).
const TOPIC_FILTER: &str = r"^(?:(?:\+|[^/+#]*)/)*(?:\+|#|[^/+#]*)$";
/// Topic names: no wildcards.
const TOPIC_NAME: &str = r"^[^+#]*$";

/// The JSON Schema of a scenario or workload file.
pub fn scenario_schema() -> Value {
    let mut defs = defs();
    if let Value::Object(d) = &mut defs {
        d.insert("scenarioFile".into(), scenario_file());
        d.insert("workloadFile".into(), workload_file());
        d.insert(
            "sweepFile".into(),
            json!({
                "description": "Generated runs: `sweep: malformed` is one run per row of the codec's malformed-packet table, each sending one malformed packet and checking the broker closes the connection without acting on it.",
                "type": "object",
                "additionalProperties": false,
                "required": ["sweep"],
                "properties": { "sweep": { "enum": ["malformed"] } },
            }),
        );
    }
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "gauntlet scenario or workload",
        "description": "A gauntlet file: a scripted scenario (clients and the steps that drive them and check what they receive), or, with a top-level `workload:` key, a workload (generated traffic under faults, judged by checkers). Check a file with `gauntlet check FILE`.",
        "type": "object",
        "if": { "type": "object", "required": ["workload"] },
        "then": { "$ref": "#/$defs/workloadFile" },
        "else": {
            "if": { "type": "object", "required": ["sweep"] },
            "then": { "$ref": "#/$defs/sweepFile" },
            "else": { "$ref": "#/$defs/scenarioFile" },
        },
        "$defs": defs,
    });
    vary::accept_expressions(&mut schema);
    if let Some(Value::Object(d)) = schema.get_mut("$defs") {
        vary::defs(d);
    }
    schema
}

/// A scripted scenario.
fn scenario_file() -> Value {
    json!({
        "description": "An MQTT scenario for gauntlet: clients, a reference broker and a simulated network, and the steps that drive them and check what they receive. Check a file with `gauntlet check FILE`.",
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "clients", "steps"],
        "properties": {
            "name": {
                "description": "What the scenario shows, in one sentence; it names the run in reports.",
                "type": "string",
                "pattern": r"\S",
            },
            "description": {
                "description": "Longer explanation: the situation, and what MQTT promises in it.",
                "type": "string",
            },
            "spec": { "$ref": "#/$defs/specRefs" },
            "vary": vary::vary(),
            "versions": {
                "description": "The MQTT versions to run the scenario on; each is a separate run. Default: both, [3.1.1, 5].",
                "type": "array",
                "items": { "$ref": "#/$defs/version" },
                "minItems": 1,
                "uniqueItems": true,
                "default": ["3.1.1", 5],
            },
            "requires": {
                "description": "What the broker must be able to do beyond what every broker must (run `gauntlet capabilities`). On a broker whose profile lacks one, the scenario is skipped with the reason, not failed. Crash/restart steps require `restart` (and `persistence` when the store is kept) by themselves.",
                "type": "array",
                "items": {
                    "enum": crate::capability::ALL.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
                },
                "uniqueItems": true,
            },
            "timeout": {
                "description": "How long `expect` steps (and each client action) wait by default before failing, e.g. 2s. Default 5s.",
                "$ref": "#/$defs/duration",
            },
            "network": {
                "description": "The simulated network between the clients and the broker.",
                "type": ["object", "null"],
                "additionalProperties": false,
                "properties": {
                    "latency": {
                        "description": "Delay of every message on every link, picked at random (from the seed) in this range, e.g. 5ms..80ms, or one fixed duration.",
                        "$ref": "#/$defs/durationRange",
                    },
                    "loss": {
                        "description": "Segment loss on every client's link, e.g. 2% or 0.02. A lost segment holds the link for a TCP retransmission timeout (200 ms, doubling on each loss in a row); after 7 losses in a row the link is dead (half-open) until healed.",
                        "$ref": "#/$defs/rate",
                    },
                },
            },
            "broker": broker_config(),
            "clients": {
                "description": "The scripted MQTT clients, by name. A step starting with a client's name makes that client act. The settings here are how the client connects unless a `connect` step says otherwise.",
                "type": "object",
                "minProperties": 1,
                "propertyNames": {
                    "description": "A client name: letters, digits, - and _; not wait, network, broker or only.",
                    "pattern": CLIENT_NAME,
                },
                "additionalProperties": { "$ref": "#/$defs/client" },
            },
            "steps": {
                "description": "What happens, in order. Each step is a map with one key: `wait`, `network`, `broker`, or a client's name (plus `only` on client steps). The run stops at the first step that fails.",
                "type": "array",
                "minItems": 1,
                "items": { "$ref": "#/$defs/step" },
            },
        },
    })
}

fn defs() -> Value {
    let mut d = Map::new();
    let mut put = |name: &str, v: Value| {
        d.insert(name.to_owned(), v);
    };
    put(
        "duration",
        json!({
            "description": "A duration: a number and a unit, ms, s, m or min, e.g. 500ms, 2s, 1.5s, 1m. It must come to a whole number of milliseconds.",
            "type": "string",
            "pattern": DURATION,
            "examples": ["500ms", "2s", "1m"],
        }),
    );
    put(
        "rate",
        json!({
            "description": "A loss rate: a percentage such as 2% or a fraction such as 0.02, from 0 to 100%.",
            "oneOf": [
                { "type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*%?\\s*$" },
                { "type": "number", "minimum": 0, "maximum": 1 },
            ],
        }),
    );
    put(
        "durationRange",
        json!({
            "description": "A range of durations MIN..MAX, e.g. 5ms..80ms (a value is picked at random between them, from the seed), or one duration for a fixed value. MIN must not be more than MAX.",
            "type": "string",
            "pattern": DURATION_RANGE,
            "examples": ["5ms..80ms", "20ms"],
        }),
    );
    put(
        "version",
        json!({
            "description": "An MQTT version: 3.1.1 or 5 (also accepted: 311, 4 for 3.1.1 and 5.0 for 5).",
            "enum": ["3.1.1", 5, "5", "5.0", "311", 311, "4", 4],
        }),
    );
    put(
        "versionKey",
        json!({
            "description": "An MQTT version as a key: 3.1.1 or 5.",
            "enum": ["3.1.1", "5", "5.0", "311", "4"],
        }),
    );
    put(
        "specId",
        spec_ids(&[Version::V311, Version::V5], "MQTT 3.1.1 or 5.0"),
    );
    put("specRefs", switch(
        "The normative statements of the MQTT specification this scenario checks (the lists are in spec/*.tsv): a list of ids such as [MQTT-4.3.2-1], each applying to every version that has it, or ids per version, {3.1.1: [MQTT-3.1.2-24], 5: [MQTT-3.1.2-22]}, since the two versions number their statements differently.",
        vec![(
            of_type("object"),
            json!({
                "propertyNames": { "$ref": "#/$defs/versionKey" },
                "patternProperties": {
                    r"^(3\.1\.1|311|4)$": {
                        "description": "MQTT 3.1.1 statement ids.",
                        "type": "array",
                        "items": { "$ref": "#/$defs/specId311" },
                        "uniqueItems": true,
                    },
                    r"^(5|5\.0)$": {
                        "description": "MQTT 5.0 statement ids.",
                        "type": "array",
                        "items": { "$ref": "#/$defs/specId5" },
                        "uniqueItems": true,
                    },
                },
            }),
        )],
        json!({
            "type": "array",
            "items": { "$ref": "#/$defs/specId" },
            "uniqueItems": true,
        }),
    ));
    put("specId311", spec_ids(&[Version::V311], "MQTT 3.1.1"));
    put("specId5", spec_ids(&[Version::V5], "MQTT 5.0"));
    put(
        "u16",
        json!({ "type": "integer", "minimum": 0, "maximum": 65535 }),
    );
    put(
        "u32",
        json!({ "type": "integer", "minimum": 0, "maximum": 4_294_967_295u64 }),
    );
    put(
        "qos",
        json!({
            "description": "Quality of service: 0 (at most once), 1 (at least once) or 2 (exactly once). To send an invalid QoS, use `send: {raw: ..}`.",
            "type": "integer",
            "enum": [0, 1, 2],
        }),
    );
    put(
        "packetId",
        json!({
            "description": "A packet identifier, 1 to 65535 (to send 0, which is not valid MQTT, write the packet as raw bytes).",
            "type": "integer",
            "minimum": 1,
            "maximum": 65535,
        }),
    );
    put(
        "topicName",
        json!({
            "description": "A topic name: at least one character, no wildcards (+ or #) [MQTT-4.7.0-1, MQTT-4.7.3-1].",
            "type": ["string", "number"],
            "minLength": 1,
            "maxLength": 65535,
            "pattern": TOPIC_NAME,
        }),
    );
    put(
        "topicFilter",
        json!({
            "description": "A topic filter: levels split by /, where + fills a whole level and # is alone in the last one (maison/+/temperature, maison/#); in 5.0, $share/GROUP/FILTER is a shared subscription [MQTT-4.7.1-1, MQTT-4.7.1-2, MQTT-4.7.3-1, MQTT-4.8.2-1, MQTT-4.8.2-2].",
            "type": ["string", "number"],
            "minLength": 1,
            "maxLength": 65535,
            "pattern": TOPIC_FILTER,
        }),
    );
    put(
        "text",
        json!({
            "description": "A string (a number is taken as its digits).",
            "type": ["string", "number"],
        }),
    );
    put(
        "hex",
        json!({
            "description": "Bytes in hex, two digits a byte; spaces and line breaks are ignored: \"30 05 00 01 61 68 69\".",
            "type": "string",
            "pattern": HEX,
        }),
    );
    put(
        "raw",
        json!({
            "description": "Bytes sent as they are: hex, two digits a byte (spaces ignored), `'text'` for its UTF-8, and slots: `{len}` the Remaining Length of the rest (`{len:N}` in N bytes, `{len+K}`/`{len-K}` off by K), `{str ..}` a length-prefixed string, `{topic ..}`/`{filter ..}`/`{client_id ..}` the same, marked so a run on a shared broker prefixes it, `{props ..}` a 5.0 property list. `\"30 {len} {topic 'salon'} '21'\"`.",
            "type": "string",
            "pattern": RAW,
        }),
    );
    put("payload", payload());
    put("reasonCode", reason_code());
    put("properties", properties(false));
    put("expectedProperties", properties(true));
    put(
        "will",
        json!({
            "description": "The will message the broker publishes if the client goes away without DISCONNECT.",
            "type": "object",
            "additionalProperties": false,
            "required": ["topic"],
            "properties": {
                "topic": { "description": "Topic of the will message.", "$ref": "#/$defs/topicName" },
                "payload": { "$ref": "#/$defs/payload" },
                "qos": { "$ref": "#/$defs/qos", "default": 0 },
                "retain": { "description": "Publish the will as a retained message.", "type": "boolean", "default": false },
                "delay": {
                    "description": "MQTT 5 Will Delay Interval, in seconds: how long the broker waits before publishing the will.",
                    "$ref": "#/$defs/u32",
                },
                "properties": {
                    "description": "MQTT 5 will properties by name (message_expiry_interval, content_type, ...).",
                    "$ref": "#/$defs/properties",
                },
            },
        }),
    );
    put("client", client());
    put("step", step());
    put("clientAction", client_action());
    put("connect", connect());
    put("subscribe", subscribe());
    put("publish", publish());
    put("send", send());
    put("expect", expect());
    put("network", network());
    put("brokerAction", broker_action());
    put(
        "connack",
        json!({
            "description": "What the CONNACK must say; fields not given are not checked.",
            "type": ["object", "null"],
            "additionalProperties": false,
            "properties": {
                "session_present": { "description": "The Session Present flag.", "$ref": "#/$defs/matchBool" },
                "reason": { "description": "The CONNACK reason code (3.1.1 return codes are matched by their number).", "$ref": "#/$defs/matchReason" },
                "properties": { "$ref": "#/$defs/expectedProperties" },
            },
        }),
    );
    put(
        "publishMatch",
        json!({
            "description": "What the PUBLISH must be; fields not given are not checked.",
            "type": ["object", "null"],
            "additionalProperties": false,
            "properties": {
                "topic": { "description": "The topic name (\"\" in 5.0 when a Topic Alias stands for it).", "$ref": "#/$defs/matchTopic" },
                "payload": { "description": "The payload.", "$ref": "#/$defs/matchPayload" },
                "qos": { "description": "The QoS of the delivery.", "$ref": "#/$defs/matchQos" },
                "retain": { "description": "The RETAIN flag.", "$ref": "#/$defs/matchBool" },
                "dup": { "description": "The DUP flag (set on redelivery).", "$ref": "#/$defs/matchBool" },
                "id": { "description": "The packet identifier.", "$ref": "#/$defs/matchPacketId" },
                "properties": { "$ref": "#/$defs/expectedProperties" },
            },
        }),
    );
    put(
        "ackMatch",
        json!({
            "description": "What the acknowledgement must be; fields not given are not checked.",
            "type": ["object", "null"],
            "additionalProperties": false,
            "properties": {
                "id": { "description": "The packet identifier.", "$ref": "#/$defs/matchPacketId" },
                "reason": { "description": "The MQTT 5 reason code (0 in 3.1.1).", "$ref": "#/$defs/matchReason" },
            },
        }),
    );
    put(
        "reasonsMatch",
        json!({
            "description": "What the acknowledgement must be; fields not given are not checked.",
            "type": ["object", "null"],
            "additionalProperties": false,
            "properties": {
                "id": { "description": "The packet identifier.", "$ref": "#/$defs/matchPacketId" },
                "reasons": {
                    "description": "The reason codes, one per topic filter, in order (granted_qos_1, not_authorized, 0x80, ...).",
                    "$ref": "#/$defs/matchReasons",
                },
            },
        }),
    );
    put(
        "disconnectMatch",
        json!({
            "description": "What the broker's DISCONNECT (MQTT 5) must say; fields not given are not checked.",
            "type": ["object", "null"],
            "additionalProperties": false,
            "properties": {
                "reason": { "description": "The reason code.", "$ref": "#/$defs/matchReason" },
            },
        }),
    );
    put(
        "authMatch",
        json!({
            "description": "What the broker's AUTH (MQTT 5 enhanced authentication) must hold; fields not given are not checked.",
            "type": ["object", "null"],
            "additionalProperties": false,
            "properties": {
                "reason": { "description": "The reason code: 0x00 Success, 0x18 Continue authentication.", "$ref": "#/$defs/matchReason" },
                "properties": { "$ref": "#/$defs/expectedProperties" },
            },
        }),
    );
    put("matchBool", match_of(json!({ "type": "boolean" })));
    put(
        "matchTopic",
        match_of(json!({ "$ref": "#/$defs/text", "pattern": TOPIC_NAME })),
    );
    put(
        "matchPayload",
        match_of(json!({ "$ref": "#/$defs/payload" })),
    );
    put("matchQos", match_of(json!({ "$ref": "#/$defs/qos" })));
    put(
        "matchPacketId",
        match_of(json!({ "$ref": "#/$defs/packetId" })),
    );
    put(
        "matchReason",
        match_of(json!({ "$ref": "#/$defs/reasonCode" })),
    );
    put(
        "matchReasons",
        match_of(json!({
            "type": "array",
            "items": { "$ref": "#/$defs/reasonCode" },
        })),
    );
    Value::Object(d)
}

fn payload() -> Value {
    let bytes = json!({
        "type": "object",
        "additionalProperties": false,
        "maxProperties": 1,
        "properties": {
            "hex": { "$ref": "#/$defs/hex" },
            "size": {
                "description": "How many bytes to generate.",
                "type": "integer",
                "minimum": 0,
                "maximum": 16 * 1024 * 1024,
            },
        },
    });
    switch(
        "A message payload: a string (sent as UTF-8; numbers and booleans as written), {hex: \"00 ff\"} for any bytes, {size: N} for N generated bytes (abcd..., at most 16 MiB), or {} for an empty payload.",
        vec![(of_type("object"), bytes)],
        json!({ "type": ["string", "number", "boolean"] }),
    )
}

/// Chained `if`/`then`/`else`: the first case whose condition holds decides.
/// Unlike `oneOf`, a validator then reports what is wrong inside that case
/// (`/steps/3/alice/publish/qos: 3 is not one of 0, 1, 2`) rather than "not
/// valid under any of the schemas".
fn switch(description: &str, cases: Vec<(Value, Value)>, otherwise: Value) -> Value {
    let mut v = cases.into_iter().rev().fold(
        otherwise,
        |rest, (cond, then)| json!({ "if": cond, "then": then, "else": rest }),
    );
    if !description.is_empty() {
        v["description"] = json!(description);
    }
    v
}

fn of_type(t: &str) -> Value {
    json!({ "type": t })
}

/// `any` (not checked, the default), `absent`, `present`, `{is: VALUE}`
/// (for a literal "any", "absent" or "present"), `{one_of: [..]}`, or the
/// value itself.
fn match_of(value: Value) -> Value {
    const HOW: &str = "Expected: the value it must have, or `any` (the default: not checked), `absent` (it must not be there) or `present` (there, with any value); for these words as values, write {is: any}. A number may be given as a range: {between: [56, 57]}. Where the spec lets the broker choose, {one_of: [a, b]} takes any of the values.";
    let description = match value["description"].as_str() {
        Some(what) => format!("{what} {HOW}"),
        None => HOW.to_owned(),
    };
    switch(
        &description,
        vec![
            (json!({ "enum": ["any", "absent", "present"] }), json!(true)),
            (
                json!({ "type": "object", "required": ["is"] }),
                json!({
                    "additionalProperties": false,
                    "properties": { "is": value.clone() },
                }),
            ),
            (
                json!({ "type": "object", "required": ["one_of"] }),
                json!({
                    "additionalProperties": false,
                    "properties": {
                        "one_of": { "type": "array", "minItems": 1, "items": value.clone() },
                    },
                }),
            ),
            (
                json!({ "type": "object", "required": ["between"] }),
                json!({
                    "additionalProperties": false,
                    "properties": {
                        "between": {
                            "type": "array",
                            "items": { "type": "integer", "minimum": 0 },
                            "minItems": 2,
                            "maxItems": 2,
                        },
                    },
                }),
            ),
        ],
        value,
    )
}

/// Statement ids of the given versions (spec/*.tsv), sorted.
fn spec_ids(versions: &[Version], which: &str) -> Value {
    let mut ids: Vec<&str> = versions
        .iter()
        .flat_map(|&v| spec::statements(v).iter().map(|s| s.id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    json!({
        "description": format!("A normative statement id of {which}, as in spec/*.tsv: MQTT-<section>-<n>."),
        "type": "string",
        "pattern": r"^MQTT-[0-9]+(\.[0-9]+)*-[0-9]+$",
        "enum": ids,
    })
}

fn reason_code() -> Value {
    let names: Vec<&str> = reason_names().iter().map(|(n, _)| *n).collect();
    let listing: Vec<String> = reason_names()
        .iter()
        .map(|(n, v)| format!("{n} = 0x{v:02X}"))
        .collect();
    let description = format!(
        "A reason code: a number (135 or 0x87), or its name in the specification in snake case: {}.",
        listing.join(", ")
    );
    switch(
        &description,
        vec![
            (
                of_type("number"),
                json!({ "type": "integer", "minimum": 0, "maximum": 255 }),
            ),
            (
                json!({ "type": "string", "pattern": "^0[xX]" }),
                json!({ "pattern": "^0[xX][0-9A-Fa-f]{1,2}$" }),
            ),
        ],
        json!({ "type": "string", "enum": names }),
    )
}

const ALIAS: &str = "subscription_identifier";
