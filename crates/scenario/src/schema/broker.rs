//! The schema of `broker:`, the reference broker's settings for a scenario.

use super::*;

pub(super) fn broker_config() -> Value {
    let flag = |what: &str| json!({ "description": what, "type": "boolean", "default": true });
    let schema = json!({
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
            "refused_topics": {
                "description": "Topic filters naming topics clients may not publish to: the message goes nowhere (5.0: PUBACK/PUBREC 0x87 Not authorized; 3.1.1 acknowledges as usual).",
                "type": "array",
                "items": { "type": "string" },
            },
            "client_id_prefixes": {
                "description": "If not empty, a client identifier must start with one of these; another is refused (CONNACK 0x02 / 5.0 0x85) and the connection closed.",
                "type": "array",
                "items": { "type": "string" },
            },
            "auth_method": {
                "description": "5.0 enhanced authentication: the Authentication Method the broker supports. A CONNECT naming it is challenged (AUTH 0x18 with auth_challenge) and accepted only when the client answers AUTH 0x18 with auth_response; re-authentication (AUTH 0x19) works the same way.",
                "type": ["string", "null"],
            },
            "auth_challenge": {
                "description": "The Authentication Data of the broker's challenge. Default \"challenge\".",
                "type": "string", "default": "challenge",
            },
            "auth_response": {
                "description": "The Authentication Data the client must answer with. Default \"response\".",
                "type": "string", "default": "response",
            },
            "copy_per_subscription": {
                "description": "A client whose subscriptions overlap gets one copy of a message per matching subscription, each with its own QoS and identifier, rather than one copy. Default false.",
                "type": "boolean", "default": false,
            },
        },
    });
    // Only a build with the reference broker's defects (gauntlet's own
    // tests) accepts `bugs:`; the schema says what the loader does.
    #[cfg(feature = "defects")]
    let schema = with_bugs(schema);
    schema
}

#[cfg(feature = "defects")]
fn with_bugs(mut schema: Value) -> Value {
    let names: Vec<Value> = reference_broker::Bug::ALL
        .iter()
        .filter_map(|b| serde_json::to_value(b).ok())
        .collect();
    if let Some(props) = schema["properties"].as_object_mut() {
        props.insert(
            "bugs".into(),
            json!({
                "description": "Deliberate defects of the reference broker, to show that gauntlet's checkers catch real bugs (tests only).",
                "type": "array",
                "items": { "enum": names },
                "uniqueItems": true,
            }),
        );
    }
    schema
}
