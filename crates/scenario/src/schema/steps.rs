//! The schema of clients and steps: connect, subscribe, publish, send,
//! expect, network faults and broker actions.

use super::*;

pub(super) fn client() -> Value {
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

pub(super) fn step() -> Value {
    let keyword = |k: &str| json!({ "required": [k] });
    // A client step is one client's name plus any of these; the count of
    // keys tells whether a second client's name crept in.
    let extras = ["only", "spec", "advisory", "when"];
    let client_step: Vec<Value> = (0..1u32 << extras.len())
        .map(|mask| {
            let (mut all, mut n) = (Vec::new(), 1);
            for (i, k) in extras.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    all.push(keyword(k));
                    n += 1;
                } else {
                    all.push(json!({ "not": keyword(k) }));
                }
            }
            json!({ "if": { "allOf": all }, "then": { "minProperties": n, "maxProperties": n } })
        })
        .collect();
    json!({
        "description": "One step: `wait: 2s`, `network: {cut: alice}`, `broker: crash`, or `<client>: {<action>: ..}` such as `alice: {publish: {topic: a/b, qos: 1}}`. A client step may add `only: 5` (or `only: 3.1.1`) to run on that version only, `spec: [ids]` for the statements it asserts, and `advisory: {rule: ..}` where what it checks is not a MUST. Any step may add `when: $(...)`, in a file with vary:, to be in only the variants where it is true. One step does one thing: start a new `- ` item for the next.",
        "type": "object",
        "minProperties": 1,
        "propertyNames": {
            "anyOf": [
                { "enum": ["wait", "network", "broker", "only", "spec", "advisory", "when", "repeat", "steps", "as"] },
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
            "repeat": {
                "description": "Repeat `steps` this many times, in place; inside them `$(index)` (or the name given by `as:`) is 1, 2, ... — a thousand messages in flight in three lines.",
                "type": "integer",
                "minimum": 0,
                "maximum": 100000,
            },
            "steps": {
                "description": "The steps a `repeat:` repeats.",
                "type": "array",
                "minItems": 1,
                "items": { "$ref": "#/$defs/step" },
            },
            "as": {
                "description": "The name the index of a `repeat:` goes by inside its steps (default: index).",
                "type": "string",
                "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
            },
            "when": {
                "description": "Whether the step is in the run: a variant of a file with vary: keeps it where this comes to true (`when: $(delta > 0)`) and leaves it out where false.",
                "type": "boolean",
            },
            "only": {
                "description": "Run this client step only on this MQTT version (one the scenario lists); it is skipped on the other.",
                "$ref": "#/$defs/version",
            },
            "spec": {
                "description": "The normative statements this step asserts, as a file's `spec:` (a list, or ids per version): a passing run of it counts them in `gauntlet coverage`.",
                "$ref": "#/$defs/specRefs",
            },
            "advisory": {
                "description": "What this step checks is a SHOULD, or the spec reads two ways: if it does not hold, the run reports an advisory (not a failure) and goes on.",
                "type": "object",
                "additionalProperties": false,
                "required": ["rule"],
                "properties": {
                    "rule": {
                        "description": "The rule in a few words, with its statement id or section: `5.0 §4.13.1 (SHOULD): DISCONNECT 0x81 before closing`.",
                        "type": "string",
                        "minLength": 1,
                    },
                    "readings": {
                        "description": "Where readings of the spec differ: each reading, in a sentence.",
                        "type": "array",
                        "items": { "type": "string", "minLength": 1 },
                        "minItems": 2,
                    },
                },
            },
        },
        "additionalProperties": {
            "description": "A client's action: the key is a client's name from `clients`.",
            "$ref": "#/$defs/clientAction",
        },
        "if": { "anyOf": [keyword("wait"), keyword("network"), keyword("broker"), keyword("repeat")] },
        "then": {
            "description": "wait, network and broker steps have one key (no `only`, `spec` or `advisory`), and maybe `when`; a `repeat` has its `steps` and maybe `as`.",
            "if": keyword("repeat"),
            "then": {
                "required": ["steps"],
                "propertyNames": { "enum": ["repeat", "steps", "as"] },
            },
            "else": {
                "propertyNames": { "not": { "enum": ["steps", "as"] } },
                "if": keyword("when"),
                "then": { "maxProperties": 2 },
                "else": { "maxProperties": 1 },
            },
        },
        "else": {
            "description": "A client step: one client's name, and any of `only`, `spec`, `advisory`, `when`.",
            "allOf": client_step,
        },
    })
}

pub(super) fn client_action() -> Value {
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
                "items": { "$ref": "#/$defs/topicFilter" },
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
                    "silent": {
                        "description": "Nothing may arrive before the close but a DISCONNECT or (5.0) a CONNACK refusing the connection.",
                        "type": "boolean",
                    },
                },
            },
        },
    })
}

pub(super) fn connect() -> Value {
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
                "description": "Bytes (hex, or a template with slots) to send instead of a CONNECT built from the fields: a CONNECT a correct client cannot write (a reserved flag set, an unknown protocol level), or a first packet that is not a CONNECT. Cannot be combined with the CONNECT fields.",
                "$ref": "#/$defs/raw",
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

pub(super) fn subscribe() -> Value {
    json!({
        "description": "Send SUBSCRIBE and wait for its SUBACK: a map of topic filter to QoS (maison/+/temperature: 1) or to options ({qos: 2, no_local: true}). By default each filter must be granted the QoS asked for; `expect` says otherwise.",
        "type": "object",
        "examples": [{ "maison/+/temperature": 1 }],
        // `id` and `expect` are topic filters too, as far as a pattern sees.
        "propertyNames": { "$ref": "#/$defs/topicFilter" },
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

pub(super) fn publish() -> Value {
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
            "topic": {
                "description": "The topic name: no wildcards; \"\" only in 5.0 with a topic_alias property standing for it.",
                "$ref": "#/$defs/text",
                "pattern": TOPIC_NAME,
            },
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

pub(super) fn send() -> Value {
    let ack = |what: &str| {
        json!({
            "description": format!("Send a {what} with this packet identifier, or {{id: 1, reason: 0x80}} with an MQTT 5 reason code."),
            "oneOf": [
                { "$ref": "#/$defs/packetId" },
                {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["id"],
                    "properties": {
                        "id": { "$ref": "#/$defs/packetId" },
                        "reason": { "description": "MQTT 5 reason code, e.g. 0x80 or unspecified_error.", "$ref": "#/$defs/reasonCode" },
                    },
                },
            ],
        })
    };
    switch(
        "Send bytes or a bare packet as they are, without checks: {raw: \"30 05 ..\"}, {puback: 1} or {puback: {id: 1, reason: 0x80}}, {pubrec: 1}, {pubrel: 1}, {pubcomp: 1}, {auth: {reason: 0x19, properties: {..}}} or pingreq.",
        vec![(of_type("string"), json!({ "const": "pingreq" }))],
        json!({
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": false,
                "properties": {
                    "raw": {
                        "description": "Bytes to write on the connection as they are, in hex, e.g. \"30 05 00 01 61 68 69\", or a template with slots (`30 {len} {topic 'a'} '21'`): to test how the broker handles malformed packets.",
                        "$ref": "#/$defs/raw",
                    },
                    "puback": ack("PUBACK"),
                    "pubrec": ack("PUBREC"),
                    "pubrel": ack("PUBREL"),
                    "pubcomp": ack("PUBCOMP"),
                    "pingreq": { "description": "Send a PINGREQ.", "type": "null" },
                    "auth": {
                        "description": "Send an MQTT 5 AUTH (enhanced authentication).",
                        "type": "object",
                        "additionalProperties": false,
                        "properties": {
                            "reason": { "description": "0x18 Continue authentication (default), 0x19 Re-authenticate, 0x00 Success.", "$ref": "#/$defs/reasonCode", "default": 24 },
                            "properties": { "description": "Properties by name: authentication_method, authentication_data, reason_string, user_properties.", "$ref": "#/$defs/properties" },
                        },
                    },
                },
        }),
    )
}

pub(super) fn expect() -> Value {
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
        ("auth", "#/$defs/authMatch"),
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
            "description": "true: take the first matching packet wherever it is among those received (the ones before it stay for later steps), for what MQTT leaves unordered, such as retained messages of different topics. other_topics (a publish with its topic): taken wherever it is too, but no other PUBLISH on its topic may come before it, as MQTT orders messages per topic. Default false: it must be the next packet.",
            "oneOf": [{ "type": "boolean" }, { "const": "other_topics" }],
            "default": false,
        }),
    );
    fields.insert(
        "or_closed".to_owned(),
        json!({
            "description": "The broker may close the connection instead of sending the packet (where the spec lets it choose); the step then passes. Default false.",
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
            json!({ "propertyNames": { "enum": [n, "within", "unordered", "or_closed"] } }),
        );
    }
    switch(
        "Check the next packet the client receives: a packet name (puback), or {<packet>: {fields to check}, within: 2s, unordered: true, or_closed: true}. Fields not given are not checked.",
        vec![(of_type("string"), json!({ "enum": names }))],
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": fields,
            // Without a packet, say so: `"<packet>" is a required property`.
            "if": { "propertyNames": { "enum": ["within", "unordered", "or_closed"] } },
            "then": { "required": ["<packet>"] },
            "dependentSchemas": alone,
        }),
    )
}

pub(super) fn network() -> Value {
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

pub(super) fn broker_action() -> Value {
    switch(
        "`crash`: the broker dies, every connection closes at once. `stop`: the broker shuts down cleanly (SIGTERM for a real one; 5.0 clients get DISCONNECT 0x8B) and stays down. `restart`: the broker starts again (crashing first if it runs) with what it had stored; {restart: {keep_store: false}} starts it with nothing.",
        vec![(of_type("string"), json!({ "enum": ["crash", "stop", "restart"] }))],
        json!({
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": false,
                "properties": {
                    "crash": { "description": "Its value is ignored." },
                    "stop": { "description": "Its value is ignored." },
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
