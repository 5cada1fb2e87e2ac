//! A JSON Schema (draft 2020-12) of the scenario format, for editors: with
//! `# yaml-language-server: $schema=scenario.schema.json` at the top of a
//! scenario, the YAML language server completes keys, shows what each does
//! and flags most mistakes while typing.
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
use crate::scenario::values::reason_names;
use crate::spec;

const DURATION: &str = r"^[0-9]+(\.[0-9]+)?(ms|s|m|min)$";
const DURATION_RANGE: &str = r"^[0-9]+(\.[0-9]+)?(ms|s|m|min)(\.\.[0-9]+(\.[0-9]+)?(ms|s|m|min))?$";
/// Pairs of hex digits; whitespace anywhere is ignored.
const HEX: &str = r"^\s*([0-9A-Fa-f]\s*[0-9A-Fa-f]\s*)*$";
const CLIENT_NAME: &str = r"^(?!(wait|network|broker|only)$)[A-Za-z0-9_-]+$";

/// The JSON Schema of a scenario file.
pub fn scenario_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "gauntlet scenario",
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
            "spec": switch(
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
            ),
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
        "$defs": defs(),
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
            "description": "A packet identifier, 1 to 65535 (0 is not valid MQTT, but can be sent to see what the broker does).",
            "type": "integer",
            "minimum": 0,
            "maximum": 65535,
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
                "topic": { "description": "Topic of the will message.", "$ref": "#/$defs/text" },
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
                "topic": { "description": "The topic name.", "$ref": "#/$defs/matchText" },
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
    put("matchBool", match_of(json!({ "type": "boolean" })));
    put("matchText", match_of(json!({ "$ref": "#/$defs/text" })));
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
/// (for a literal "any", "absent" or "present"), or the value itself.
fn match_of(value: Value) -> Value {
    const HOW: &str = "Expected: the value it must have, or `any` (the default: not checked), `absent` (it must not be there) or `present` (there, with any value); for these words as values, write {is: any}. A number may be given as a range: {between: [56, 57]}.";
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

/// What a property is for, in a few words (MQTT 5.0 section 2.2.2.2).
fn property_meaning(name: &str) -> &'static str {
    match name {
        "payload_format_indicator" => "0: the payload is unspecified bytes; 1: UTF-8 text",
        "message_expiry_interval" => "seconds the message lives; the broker drops it afterwards",
        "session_expiry_interval" => "seconds the session is kept after the connection ends",
        "server_keep_alive" => "the Keep Alive the broker imposes, in seconds (CONNACK)",
        "request_problem_information" => {
            "0 asks the broker to send no Reason String or User Properties with failures"
        }
        "will_delay_interval" => "seconds the broker waits before publishing the will",
        "request_response_information" => "1 asks the broker for Response Information in CONNACK",
        "receive_maximum" => "how many QoS 1/2 messages may await acknowledgement at once",
        "topic_alias_maximum" => "how many topic aliases the receiver accepts",
        "topic_alias" => "a number that stands for the topic name",
        "maximum_qos" => "the highest QoS the broker supports (CONNACK)",
        "retain_available" => "1 if the broker supports retained messages (CONNACK)",
        "maximum_packet_size" => "the largest packet the sender accepts, in bytes",
        "wildcard_subscription_available" => {
            "1 if the broker accepts wildcard topic filters (CONNACK)"
        }
        "subscription_identifier_available" => {
            "1 if the broker supports Subscription Identifiers (CONNACK)"
        }
        "shared_subscription_available" => {
            "1 if the broker supports shared subscriptions (CONNACK)"
        }
        "content_type" => "what the payload is, such as a MIME type",
        "response_topic" => "the topic to answer on (request/response)",
        "assigned_client_identifier" => "the client identifier the broker chose (CONNACK)",
        "authentication_method" => "the name of the extended authentication method",
        "authentication_data" => "data of the extended authentication",
        "response_information" => "what response topics may start with (CONNACK)",
        "server_reference" => "another broker the client may use",
        "reason_string" => "a human-readable reason",
        "correlation_data" => "bytes that tie a response to its request",
        "subscription_identifiers" => {
            "the Subscription Identifiers of the subscriptions a PUBLISH matched"
        }
        "user_properties" => "name/value pairs for the application",
        _ => "",
    }
}

/// What kind of value each property takes, told by how `props::parse` reads
/// a sample: the schema follows props.rs without a second list.
fn property_value(key: &str) -> Value {
    let meaning = property_meaning(key);
    let described = |kind: String| {
        if meaning.is_empty() {
            kind
        } else {
            let mut m = meaning.to_owned();
            m[..1].make_ascii_uppercase();
            format!("{m}. {kind}")
        }
    };
    let as_str = props::parse(key, &serde_value::Value::String("x".into()));
    let as_num = props::parse(key, &serde_value::Value::U64(1));
    match (as_str, as_num) {
        (Ok(PropValue::Bytes(_)), _) => switch(
            &described("Binary data: a string (its UTF-8 bytes) or {hex: \"..\"}.".into()),
            vec![(
                of_type("object"),
                json!({
                    "additionalProperties": false,
                    "required": ["hex"],
                    "properties": { "hex": { "$ref": "#/$defs/hex" } },
                }),
            )],
            of_type("string"),
        ),
        (Ok(_), _) => json!({
            "description": described("A string.".into()),
            "$ref": "#/$defs/text",
        }),
        (Err(_), Ok(PropValue::Num(_))) => {
            let max = numeric_property_max(key);
            json!({
                "description": described(format!("A number, 0 to {max}.")),
                "type": "integer",
                "minimum": 0,
                "maximum": max,
            })
        }
        (Err(_), Ok(PropValue::Nums(_))) => {
            let number = json!({ "type": "integer", "minimum": 0, "maximum": 4_294_967_295u64 });
            switch(
                &described("A number or a list of numbers (1 to 268435455).".into()),
                vec![(of_type("array"), json!({ "items": number.clone() }))],
                number,
            )
        }
        _ => json!({
            "description": described("A list of name/value pairs, each [name, value] or {name: value}.".into()),
            "type": "array",
            "items": switch(
                "",
                vec![(
                    of_type("array"),
                    json!({
                        "items": { "$ref": "#/$defs/text" },
                        "minItems": 2,
                        "maxItems": 2,
                    }),
                )],
                json!({
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": 1,
                    "additionalProperties": { "$ref": "#/$defs/text" },
                }),
            ),
        }),
    }
}

/// The largest value `props::build` takes for a numeric property (255,
/// 65535 or 4294967295).
fn numeric_property_max(name: &str) -> u64 {
    let fits = |n: u64| {
        let map = std::iter::once((name.to_owned(), serde_value::Value::U64(n))).collect();
        props::build(&map).is_ok()
    };
    [255, 65_535, 4_294_967_295]
        .into_iter()
        .find(|&max| !fits(max + 1))
        .unwrap_or(4_294_967_295)
}

const ALIAS: &str = "subscription_identifier";

/// MQTT 5 properties by name; in expectations each value is a match.
fn properties(expected: bool) -> Value {
    let mut props_schema = Map::new();
    for name in props::names() {
        let value = property_value(name);
        let value = if expected { match_of(value) } else { value };
        props_schema.insert(name.to_owned(), value);
    }
    // The singular is accepted too (one PUBLISH may carry several).
    if props::parse(ALIAS, &serde_value::Value::U64(1)).is_ok() {
        let mut value = property_value(ALIAS);
        value["description"] = json!("The same as subscription_identifiers.");
        let value = if expected { match_of(value) } else { value };
        props_schema.insert(ALIAS.to_owned(), value);
    }
    let description = if expected {
        "MQTT 5 properties the packet must carry, by name; properties not named are not checked, `absent` means it must not be there."
    } else {
        "MQTT 5 properties by name."
    };
    json!({
        "description": description,
        "type": "object",
        "additionalProperties": false,
        "properties": props_schema,
    })
}

fn client() -> Value {
    json!({
        "description": "A client and how it connects, unless a `connect` step says otherwise. {} takes every default.",
        "type": ["object", "null"],
        "additionalProperties": false,
        "properties": {
            "client_id": {
                "description": "The MQTT client identifier. Default: the client's name. \"\" asks the broker to assign one.",
                "$ref": "#/$defs/text",
            },
            "clean_start": {
                "description": "Clean Start (3.1.1: Clean Session): start without a previous session. Default true.",
                "type": "boolean",
                "default": true,
            },
            "keep_alive": {
                "description": "Keep Alive in seconds; 0 turns it off. Default 60.",
                "$ref": "#/$defs/u16",
                "default": 60,
            },
            "session_expiry": {
                "description": "MQTT 5 Session Expiry Interval in seconds: how long the broker keeps the session after the connection ends.",
                "$ref": "#/$defs/u32",
            },
            "username": { "description": "User name sent in CONNECT.", "$ref": "#/$defs/text" },
            "password": { "description": "Password sent in CONNECT.", "$ref": "#/$defs/text" },
            "will": { "$ref": "#/$defs/will" },
            "receive_maximum": {
                "description": "MQTT 5 Receive Maximum: how many QoS 1/2 messages the client accepts at once.",
                "$ref": "#/$defs/u16",
            },
            "maximum_packet_size": {
                "description": "MQTT 5 Maximum Packet Size the client accepts, in bytes.",
                "$ref": "#/$defs/u32",
            },
            "topic_alias_maximum": {
                "description": "MQTT 5 Topic Alias Maximum: how many topic aliases the broker may use towards the client.",
                "$ref": "#/$defs/u16",
            },
            "properties": {
                "description": "Any other MQTT 5 CONNECT properties by name: user_properties, request_problem_information, request_response_information, authentication_method, ...",
                "$ref": "#/$defs/properties",
            },
            "auto_ack": {
                "description": "Acknowledge incoming QoS 1/2 messages (PUBACK, PUBREC/PUBCOMP) as a normal client does. With false, use `send` steps to acknowledge. Default true.",
                "type": "boolean",
                "default": true,
            },
            "auto_ping": {
                "description": "Send PINGREQ when idle for Keep Alive; PINGRESPs then do not reach `expect`. Default true.",
                "type": "boolean",
                "default": true,
            },
        },
    })
}

fn step() -> Value {
    let keyword = |k: &str| json!({ "required": [k] });
    json!({
        "description": "One step: `wait: 2s`, `network: {cut: alice}`, `broker: crash`, or `<client>: {<action>: ..}` such as `alice: {publish: {topic: a/b, qos: 1}}`. A client step may add `only: 5` (or `only: 3.1.1`) to run on that version only. One step does one thing: start a new `- ` item for the next.",
        "type": "object",
        "minProperties": 1,
        "propertyNames": {
            "anyOf": [
                { "enum": ["wait", "network", "broker", "only"] },
                { "pattern": CLIENT_NAME },
            ],
        },
        "properties": {
            "wait": {
                "description": "Let simulated time pass: messages in flight arrive, timers fire.",
                "$ref": "#/$defs/duration",
            },
            "network": { "$ref": "#/$defs/network" },
            "broker": { "$ref": "#/$defs/brokerAction" },
            "only": {
                "description": "Run this client step only on this MQTT version (one the scenario lists); it is skipped on the other.",
                "$ref": "#/$defs/version",
            },
        },
        "additionalProperties": {
            "description": "A client's action: the key is a client's name from `clients`.",
            "$ref": "#/$defs/clientAction",
        },
        "if": { "anyOf": [keyword("wait"), keyword("network"), keyword("broker")] },
        "then": {
            "description": "wait, network and broker steps have one key (and no `only`).",
            "maxProperties": 1,
        },
        "else": {
            "if": keyword("only"),
            "then": {
                "description": "A client step: the client's name and `only`.",
                "minProperties": 2,
                "maxProperties": 2,
            },
            "else": {
                "description": "A client step: one client's name.",
                "maxProperties": 1,
            },
        },
    })
}

fn client_action() -> Value {
    json!({
        "description": "What the client does: one of connect, subscribe, unsubscribe, publish, disconnect, send, expect, expect_nothing, expect_closed.",
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": false,
        "properties": {
            "connect": { "$ref": "#/$defs/connect" },
            "subscribe": { "$ref": "#/$defs/subscribe" },
            "unsubscribe": {
                "description": "Send UNSUBSCRIBE for these topic filters and wait for UNSUBACK.",
                "type": "array",
                "minItems": 1,
                "items": { "$ref": "#/$defs/text" },
            },
            "publish": { "$ref": "#/$defs/publish" },
            "disconnect": {
                "description": "Send DISCONNECT and close the connection; {} for a normal disconnection.",
                "type": ["object", "null"],
                "additionalProperties": false,
                "properties": {
                    "abrupt": {
                        "description": "Close the connection without sending DISCONNECT (the will is then published).",
                        "type": "boolean",
                        "default": false,
                    },
                    "reason": {
                        "description": "MQTT 5 reason code of the DISCONNECT, e.g. disconnect_with_will_message.",
                        "$ref": "#/$defs/reasonCode",
                    },
                    "session_expiry": {
                        "description": "MQTT 5 Session Expiry Interval sent with DISCONNECT, in seconds.",
                        "$ref": "#/$defs/u32",
                    },
                },
            },
            "send": { "$ref": "#/$defs/send" },
            "expect": { "$ref": "#/$defs/expect" },
            "expect_nothing": {
                "description": "Check that the client receives no packet during this time.",
                "$ref": "#/$defs/duration",
            },
            "expect_closed": {
                "description": "Check that the broker closes the connection (within `within`, or the scenario's timeout).",
                "type": ["object", "null"],
                "additionalProperties": false,
                "properties": {
                    "within": { "$ref": "#/$defs/duration" },
                },
            },
        },
    })
}

fn connect() -> Value {
    json!({
        "description": "Open a connection, send CONNECT and (unless wait: false) check the CONNACK: success unless `expect` says otherwise. Keys given here override the client's settings for this connection.",
        "type": ["object", "null"],
        "additionalProperties": false,
        "properties": {
            "clean_start": { "description": "Clean Start (3.1.1: Clean Session).", "type": "boolean" },
            "keep_alive": { "description": "Keep Alive in seconds.", "$ref": "#/$defs/u16" },
            "session_expiry": { "description": "MQTT 5 Session Expiry Interval in seconds.", "$ref": "#/$defs/u32" },
            "client_id": { "description": "The client identifier; \"\" asks the broker to assign one.", "$ref": "#/$defs/text" },
            "username": { "$ref": "#/$defs/text" },
            "password": { "$ref": "#/$defs/text" },
            "will": { "$ref": "#/$defs/will" },
            "properties": {
                "description": "MQTT 5 CONNECT properties by name, added to (and overriding) the client's: user_properties, request_problem_information, request_response_information, authentication_method, ...",
                "$ref": "#/$defs/properties",
            },
            "wait": {
                "description": "Wait for the CONNACK and check it (default); false only sends CONNECT, for an `expect` step to look at what comes back.",
                "type": "boolean",
                "default": true,
            },
            "expect": { "$ref": "#/$defs/connack" },
            "raw": {
                "description": "Bytes (hex) to send instead of a CONNECT built from the fields: a CONNECT a correct client cannot write (a reserved flag set, an unknown protocol level), or a first packet that is not a CONNECT. Cannot be combined with the CONNECT fields.",
                "$ref": "#/$defs/hex",
            },
        },
        "dependentSchemas": {
            "raw": {
                "properties": {
                    "clean_start": false,
                    "keep_alive": false,
                    "session_expiry": false,
                    "client_id": false,
                    "username": false,
                    "password": false,
                    "will": false,
                    "properties": false,
                },
            },
        },
    })
}

fn subscribe() -> Value {
    json!({
        "description": "Send SUBSCRIBE and wait for its SUBACK: a map of topic filter to QoS (maison/+/temperature: 1) or to options ({qos: 2, no_local: true}). By default each filter must be granted the QoS asked for; `expect` says otherwise.",
        "type": "object",
        "examples": [{ "maison/+/temperature": 1 }],
        // Without a filter, say so: `"<topic filter>" is a required property`.
        "if": { "propertyNames": { "enum": ["id", "expect"] } },
        "then": { "required": ["<topic filter>"] },
        "properties": {
            "id": {
                "description": "MQTT 5 Subscription Identifier (1 to 268435455), sent back with each matching PUBLISH.",
                "type": "integer",
                "minimum": 1,
                "maximum": 268_435_455,
            },
            "expect": {
                "description": "The SUBACK reason codes, one per filter in order (granted_qos_1, not_authorized, 0x80, ...).",
                "type": "array",
                "items": { "$ref": "#/$defs/reasonCode" },
            },
        },
        "additionalProperties": switch(
            "A topic filter's QoS, or its subscription options.",
            vec![(
                of_type("object"),
                json!({
                    "additionalProperties": false,
                    "required": ["qos"],
                    "properties": {
                        "qos": { "$ref": "#/$defs/qos" },
                        "no_local": {
                            "description": "MQTT 5 No Local: do not receive one's own messages.",
                            "type": "boolean",
                            "default": false,
                        },
                        "retain_as_published": {
                            "description": "MQTT 5 Retain As Published: keep the RETAIN flag as the publisher set it.",
                            "type": "boolean",
                            "default": false,
                        },
                        "retain_handling": {
                            "description": "MQTT 5 Retain Handling: 0 send retained messages on subscribe, 1 only if the subscription is new, 2 never.",
                            "type": "integer",
                            "enum": [0, 1, 2],
                            "default": 0,
                        },
                    },
                }),
            )],
            json!({ "$ref": "#/$defs/qos" }),
        ),
    })
}

fn publish() -> Value {
    let qos0 = json!({
        "anyOf": [
            { "not": { "required": ["qos"] } },
            { "properties": { "qos": { "const": 0 } } },
        ],
    });
    json!({
        "description": "Send a PUBLISH. At QoS 1/2 the acknowledgements are left for `expect` steps unless `await: true`.",
        "type": "object",
        "additionalProperties": false,
        "required": ["topic"],
        "properties": {
            "topic": { "description": "The topic name.", "$ref": "#/$defs/text" },
            "payload": { "$ref": "#/$defs/payload" },
            "qos": { "$ref": "#/$defs/qos", "default": 0 },
            "retain": { "description": "Ask the broker to retain the message.", "type": "boolean", "default": false },
            "dup": { "description": "Set the DUP flag (as on a redelivery).", "type": "boolean", "default": false },
            "id": {
                "description": "Packet identifier (QoS 1/2 only); the client picks the next free one if not given.",
                "$ref": "#/$defs/packetId",
            },
            "properties": {
                "description": "MQTT 5 PUBLISH properties by name (message_expiry_interval, content_type, user_properties, ...).",
                "$ref": "#/$defs/properties",
            },
            "await": {
                "description": "Complete the acknowledgement flow (QoS 1: PUBACK; QoS 2: PUBREC, PUBREL, PUBCOMP) before the next step. Needs QoS 1 or 2.",
                "type": "boolean",
                "default": false,
            },
        },
        "if": qos0,
        "then": {
            "properties": {
                "id": false,
                "await": { "const": false },
            },
        },
    })
}

fn send() -> Value {
    let ack = |what: &str| {
        json!({
            "description": format!("Send a {what} with this packet identifier."),
            "$ref": "#/$defs/packetId",
        })
    };
    switch(
        "Send bytes or a bare packet as they are, without checks: {raw: \"30 05 ..\"}, {puback: 1}, {pubrec: 1}, {pubrel: 1}, {pubcomp: 1} or pingreq.",
        vec![(of_type("string"), json!({ "const": "pingreq" }))],
        json!({
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": false,
                "properties": {
                    "raw": {
                        "description": "Bytes to write on the connection as they are, in hex, e.g. \"30 05 00 01 61 68 69\": to test how the broker handles malformed packets.",
                        "$ref": "#/$defs/hex",
                    },
                    "puback": ack("PUBACK"),
                    "pubrec": ack("PUBREC"),
                    "pubrel": ack("PUBREL"),
                    "pubcomp": ack("PUBCOMP"),
                    "pingreq": { "description": "Send a PINGREQ.", "type": "null" },
                },
        }),
    )
}

fn expect() -> Value {
    let packets = [
        ("connack", "#/$defs/connack"),
        ("publish", "#/$defs/publishMatch"),
        ("puback", "#/$defs/ackMatch"),
        ("pubrec", "#/$defs/ackMatch"),
        ("pubrel", "#/$defs/ackMatch"),
        ("pubcomp", "#/$defs/ackMatch"),
        ("suback", "#/$defs/reasonsMatch"),
        ("unsuback", "#/$defs/reasonsMatch"),
        ("disconnect", "#/$defs/disconnectMatch"),
    ];
    let mut fields = Map::new();
    for (name, r) in packets {
        fields.insert(name.to_owned(), json!({ "$ref": r }));
    }
    fields.insert(
        "pingresp".to_owned(),
        json!({ "description": "A PINGRESP (only offered when auto_ping is false); its value is ignored." }),
    );
    fields.insert(
        "unordered".to_owned(),
        json!({
            "description": "Take the first matching packet wherever it is among those received (the ones before it stay for later steps), for what MQTT leaves unordered, such as retained messages of different topics. Default false: it must be the next packet.",
            "type": "boolean",
            "default": false,
        }),
    );
    fields.insert(
        "within".to_owned(),
        json!({
            "description": "How long to wait for it; default the scenario's timeout (5s).",
            "$ref": "#/$defs/duration",
        }),
    );
    let names: Vec<&str> = packets
        .iter()
        .map(|(n, _)| *n)
        .chain(["pingresp"])
        .collect();
    // A packet's key allows no other packet's key.
    let mut alone = Map::new();
    for n in &names {
        alone.insert(
            (*n).to_owned(),
            json!({ "propertyNames": { "enum": [n, "within", "unordered"] } }),
        );
    }
    switch(
        "Check the next packet the client receives: a packet name (puback), or {<packet>: {fields to check}, within: 2s, unordered: true}. Fields not given are not checked.",
        vec![(of_type("string"), json!({ "enum": names }))],
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": fields,
            // Without a packet, say so: `"<packet>" is a required property`.
            "if": { "propertyNames": { "enum": ["within", "unordered"] } },
            "then": { "required": ["<packet>"] },
            "dependentSchemas": alone,
        }),
    )
}

fn network() -> Value {
    let client = |what: &str| {
        json!({
            "description": what,
            "type": "string",
            "pattern": CLIENT_NAME,
        })
    };
    json!({
        "description": "A fault on the link between a client and the broker: cut, heal, stall, resume, reset, latency, or loss.",
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": false,
        "properties": {
            "cut": client("The client's link silently drops everything in both directions (a half-open connection) until `heal`."),
            "heal": client("Undo `cut`: the client's link carries messages again."),
            "stall": client("Nothing passes on the client's link, but nothing is lost: it all arrives on `resume`."),
            "resume": client("Undo `stall`: what was held back is delivered."),
            "reset": client("The client's connection is reset now, as by a TCP RST."),
            "latency": {
                "description": "Set the per-message delay of one client's link.",
                "type": "object",
                "additionalProperties": false,
                "required": ["client", "range"],
                "properties": {
                    "client": client("The client whose link it is."),
                    "range": { "$ref": "#/$defs/durationRange" },
                },
            },
            "loss": {
                "description": "Segment loss on one client's link from now on (0% stops it).",
                "type": "object",
                "additionalProperties": false,
                "required": ["client", "rate"],
                "properties": {
                    "client": client("The client whose link it is."),
                    "rate": { "$ref": "#/$defs/rate" },
                },
            },
        },
    })
}

fn broker_action() -> Value {
    switch(
        "`crash`: the broker dies, every connection closes at once. `restart`: the broker starts again (crashing first if it runs) with what it had stored; {restart: {keep_store: false}} starts it with nothing.",
        vec![(of_type("string"), json!({ "enum": ["crash", "restart"] }))],
        json!({
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": false,
                "properties": {
                    "crash": { "description": "Its value is ignored." },
                    "restart": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["keep_store"],
                        "properties": {
                            "keep_store": {
                                "description": "Keep what the broker stored (sessions, retained and queued messages): true as after a real crash, false for a fresh broker.",
                                "type": "boolean",
                            },
                        },
                    },
                },
        }),
    )
}

fn broker_config() -> Value {
    let flag = |what: &str| json!({ "description": what, "type": "boolean", "default": true });
    json!({
        "description": "Settings of the reference broker for this scenario; each has a default.",
        "type": ["object", "null"],
        "additionalProperties": false,
        "properties": {
            "max_packet_size": {
                "description": "Largest packet accepted from a client, in bytes (at least 16); a larger one closes the connection (5.0: DISCONNECT 0x95). Default 1048576.",
                "type": "integer", "minimum": 16, "maximum": 4_294_967_295u64, "default": 1_048_576,
            },
            "receive_maximum": {
                "description": "How many QoS 2 messages a client may have awaiting PUBREL (5.0 Receive Maximum in CONNACK). Default 64.",
                "type": "integer", "minimum": 1, "maximum": 65535, "default": 64,
            },
            "max_inflight": {
                "description": "Most unacknowledged QoS 1/2 messages sent to one client at once. Default 32.",
                "type": "integer", "minimum": 1, "maximum": 65535, "default": 32,
            },
            "max_queued_messages": {
                "description": "Messages queued per session beyond those in flight; when full, a new QoS 1/2 message is dropped. Default 1000.",
                "type": "integer", "minimum": 0, "default": 1000,
            },
            "max_connections": {
                "description": "Simultaneous connections; more get CONNACK Server unavailable (3.1.1) / Server busy (5.0). Default 10000.",
                "type": "integer", "minimum": 0, "default": 10000,
            },
            "topic_alias_maximum": {
                "description": "Topic aliases a 5.0 client may use towards the broker. Default 16.",
                "$ref": "#/$defs/u16", "default": 16,
            },
            "server_keep_alive": {
                "description": "If set, overrides the clients' Keep Alive, in seconds (5.0 Server Keep Alive).",
                "type": ["integer", "null"], "minimum": 0, "maximum": 65535,
            },
            "maximum_qos": {
                "description": "Highest QoS the broker supports (5.0 Maximum QoS). Default 2.",
                "$ref": "#/$defs/qos", "default": 2,
            },
            "retain_available": flag("Whether the broker supports retained messages. Default true."),
            "wildcard_subscription_available": flag("Whether the broker accepts wildcard topic filters. Default true."),
            "subscription_identifiers_available": flag("Whether the broker supports 5.0 Subscription Identifiers. Default true."),
            "shared_subscription_available": flag("Whether the broker supports shared subscriptions ($share/...). Default true."),
            "max_session_expiry": {
                "description": "Cap on a 5.0 Session Expiry Interval, in seconds.",
                "type": ["integer", "null"], "minimum": 0, "maximum": 4_294_967_295u64,
            },
            "allow_anonymous": flag("Allow clients without a user name. Default true."),
            "users": {
                "description": "User name to password. When not empty, a client that gives a user name must give its password.",
                "type": "object",
                "additionalProperties": { "$ref": "#/$defs/text" },
            },
            "refused_filters": {
                "description": "Topic filters the broker refuses to subscribe to (SUBACK 0x80 / 5.0 0x87 Not authorized); a filter is refused if it equals one of these or one of these matches it.",
                "type": "array",
                "items": { "type": "string" },
            },
            "bugs": {
                "description": "Deliberate defects of the reference broker, to show that gauntlet's checkers catch real bugs (tests only).",
                "type": "array",
                "items": { "enum": ["offline_queue_dropped_on_resume", "qos2_resend_forwarded", "plus_matches_many_levels", "no_redelivery_on_resume"] },
                "uniqueItems": true,
            },
        },
    })
}
