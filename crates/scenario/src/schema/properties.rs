//! The schema of 5.0 properties: what each one means, the values it takes,
//! and the `properties:` maps of connects, publishes and expectations.

use super::*;

/// What a property is for, in a few words (MQTT 5.0 section 2.2.2.2).
pub(super) fn property_meaning(name: &str) -> &'static str {
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
pub(super) fn property_value(key: &str) -> Value {
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
pub(super) fn numeric_property_max(name: &str) -> u64 {
    let fits = |n: u64| {
        let map = std::iter::once((name.to_owned(), serde_value::Value::U64(n))).collect();
        props::build(&map).is_ok()
    };
    [255, 65_535, 4_294_967_295]
        .into_iter()
        .find(|&max| !fits(max + 1))
        .unwrap_or(4_294_967_295)
}

/// MQTT 5 properties by name; in expectations each value is a match.
pub(super) fn properties(expected: bool) -> Value {
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
