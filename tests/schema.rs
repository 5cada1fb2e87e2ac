//! The JSON Schema of scenarios and workloads (`gauntlet schema`): it is a
//! valid schema, every scenario and workload in the repository matches it,
//! and it agrees with the loader on what is a scenario or a workload and
//! what is not.

use std::path::{Path, PathBuf};

use jsonschema::Validator;
use mqtt_gauntlet::scenario;
use mqtt_gauntlet::scenario::schema::scenario_schema;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn validator() -> Validator {
    jsonschema::draft202012::new(&scenario_schema())
        .unwrap_or_else(|e| panic!("the schema does not compile: {e}"))
}

/// YAML as JSON, the way an editor's language server sees it.
fn to_json(yaml: &str, what: &str) -> Value {
    serde_saphyr::from_str::<Value>(yaml).unwrap_or_else(|e| panic!("{what}: not YAML: {e}"))
}

fn schema_errors(v: &Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn schema_is_a_valid_draft_2020_12_schema() {
    let schema = scenario_schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
        panic!("the schema breaks the 2020-12 meta-schema: {e}");
    }
    // Every $ref points at a definition that exists.
    let text = serde_json::to_string(&schema).expect("serializes");
    let defs = schema["$defs"].as_object().expect("$defs");
    for part in text.split("\"$ref\":\"#/$defs/").skip(1) {
        let name = &part[..part.find('"').expect("closing quote")];
        assert!(defs.contains_key(name), "$ref to missing $defs/{name}");
    }
    // Compiling checks what the meta-schema does not: regexes, references.
    validator();
}

#[test]
fn schema_lists_reason_codes_packets_and_properties() {
    let schema = scenario_schema();
    let text = serde_json::to_string(&schema).expect("serializes");
    for (name, _) in mqtt_gauntlet::scenario::values::reason_names() {
        assert!(text.contains(&format!("\"{name}\"")), "reason code {name}");
    }
    let props = schema["$defs"]["properties"]["properties"]
        .as_object()
        .expect("property map");
    let mut names: Vec<&str> = props.keys().map(String::as_str).collect();
    // The singular is an alias the loader takes too.
    names.retain(|n| *n != "subscription_identifier");
    let mut expected = mqtt_gauntlet::scenario::props::names();
    expected.sort_unstable();
    assert_eq!(names, expected);
    // A scalar also takes a $(...) expression: the enum is the first choice.
    let then = &schema["$defs"]["expect"]["then"];
    let packets = then.get("enum").unwrap_or(&then["anyOf"][0]["enum"]);
    for p in ["connack", "publish", "puback", "suback", "pingresp"] {
        assert!(
            packets.as_array().expect("enum").iter().any(|v| v == p),
            "{p}"
        );
    }
}

#[test]
fn the_schema_subcommand_prints_the_schema() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .arg("schema")
        .output()
        .expect("runs");
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(printed, scenario_schema());
}

/// A value's schema as written, where the schema also lets it be a
/// `$(...)` expression (`anyOf: [schema, expression]`).
fn chosen(v: &Value) -> &Value {
    match v.get("anyOf").and_then(Value::as_array) {
        Some(a) if a.len() == 2 && a[1]["$ref"] == "#/$defs/expression" => &a[0],
        _ => v,
    }
}

/// Every key of a workload says what it is for, as the scenario keys do.
#[test]
fn every_workload_key_is_described() {
    fn walk(v: &Value, path: &str, missing: &mut Vec<String>) {
        let v = chosen(v);
        let Some(props) = v.get("properties").and_then(Value::as_object) else {
            return;
        };
        for (key, schema) in props {
            let here = format!("{path}/{key}");
            if schema.get("description").is_none() && schema.get("$ref").is_none() {
                missing.push(here.clone());
            }
            walk(schema, &here, missing);
            let schema = chosen(schema);
            if let Some(items) = schema.get("items") {
                walk(items, &here, missing);
            }
            for branch in ["then", "else"] {
                if let Some(b) = schema.get(branch) {
                    walk(b, &here, missing);
                    if let Some(items) = b.get("items") {
                        walk(items, &here, missing);
                    }
                }
            }
        }
    }
    let schema = scenario_schema();
    let workload = &schema["$defs"]["workloadFile"];
    let mut missing = Vec::new();
    walk(workload, "", &mut missing);
    assert!(missing.is_empty(), "undescribed: {missing:?}");
    let keys = workload["properties"].as_object().expect("keys");
    for key in ["duration", "faults", "workload", "check", "broker", "drain"] {
        assert!(keys.contains_key(key), "{key}");
    }
    let traffic = chosen(&workload["properties"]["workload"])["properties"]
        .as_object()
        .expect("traffic keys");
    assert_eq!(traffic.len(), 20, "{:?}", traffic.keys());
}

/// Every file under `scenarios/`, and every fixture under `tests/fixtures/`
/// that is meant to load (not `broken/`, not the baselines of
/// `external/`), loads and matches the schema.
#[test]
fn every_scenario_and_workload_matches_the_schema() {
    let v = validator();
    let roots = [
        root().join("scenarios"),
        root().join("tests/fixtures/external"),
        root().join("tests/fixtures/failing"),
        root().join("tests/fixtures/workloads"),
    ];
    let files = scenario::discover::discover_any(&roots).expect("lists");
    let mut failures = Vec::new();
    let (mut scenarios, mut workloads) = (0, 0);
    for f in &files {
        let text = std::fs::read_to_string(f).expect("reads");
        let doc = to_json(&text, &f.display().to_string());
        if doc.get("known_failures").is_some() {
            continue; // a baseline, not a scenario
        }
        let loaded = if doc.get("workload").is_some() {
            workloads += 1;
            scenario::workload::load_file(f).map(|_| ())
        } else {
            scenarios += 1;
            scenario::load_variants(f).map(|_| ())
        };
        if let Err(e) = loaded {
            failures.push(format!("the loader refuses it: {e}"));
        }
        for e in schema_errors(&v, &doc) {
            failures.push(format!("{}: {e}", f.display()));
        }
    }
    assert!(
        scenarios > 100 && workloads > 10,
        "{scenarios} scenarios, {workloads} workloads"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A scenario using every form the format has; the loader and the schema
/// must both take it.
const EVERYTHING: &str = r#"
name: every form
description: not meant to run
spec: [MQTT-3.1.2-3, MQTT-4.3.2-1]
versions: [5]
timeout: 2s
network: { latency: 5ms..80ms }
broker:
  max_packet_size: 4096
  receive_maximum: 10
  server_keep_alive: null
  maximum_qos: 1
  retain_available: false
  users: { alice: secret }
  refused_filters: [forbidden/#]
clients:
  alice:
    client_id: ""
    clean_start: false
    keep_alive: 0
    session_expiry: 3600
    username: alice
    password: secret
    receive_maximum: 5
    maximum_packet_size: 2048
    topic_alias_maximum: 3
    auto_ack: false
    auto_ping: false
    will:
      topic: status/alice
      payload: { hex: "6f 66 66" }
      qos: 1
      retain: true
      delay: 5
      properties: { content_type: text/plain, message_expiry_interval: 60 }
  bob-2: {}
  carol:
steps:
  - wait: 1.5s
  - network: { latency: { client: alice, range: 10ms } }
  - alice:
      connect:
        clean_start: true
        keep_alive: 30
        wait: true
        expect: { session_present: false, reason: success, properties: { receive_maximum: 10, reason_string: absent } }
  - bob-2: { connect: }
  - carol: { connect: { wait: false } }
  - carol: { connect: { raw: "10 0c 00 04 4d 51 54 54 05 02 00 3c 00 00 00 00", wait: false } }
  - carol: { expect: { connack: { reason: 0x00 } } }
  - alice:
      subscribe:
        a/+: 1
        b/#: { qos: 2, no_local: true, retain_as_published: true, retain_handling: 2 }
        id: 7
        expect: [granted_qos_1, 2]
  - alice: { subscribe: { c: 0 } }
    only: 5
  - bob-2: { publish: { topic: a/b, payload: 21.5, qos: 1, retain: true, id: 9, await: true } }
  - bob-2: { publish: { topic: a/c, payload: { size: 100 }, properties: { user_properties: [[k, v], { k2: v2 }], correlation_data: { hex: "00ff" }, subscription_identifier: 3 } } }
  - bob-2: { publish: { topic: a/d, payload: {}, qos: 2, dup: true } }
  - alice: { expect: { publish: { topic: a/b, payload: "21.5", qos: 1, retain: absent, dup: { is: false }, id: any, properties: { subscription_identifiers: [7] } }, within: 500ms } }
  - alice: { send: { puback: 1 } }
  - alice: { send: { pubrec: 2 } }
  - alice: { send: { pubrel: 2 } }
  - alice: { send: { pubcomp: 2 } }
  - alice: { send: pingreq }
  - alice: { send: { raw: "c0 00" } }
  - alice: { expect: pingresp }
  - alice: { expect: { pingresp: } }
  - alice: { expect: { suback: { id: 2, reasons: [0x01] } } }
  - alice: { expect: { unsuback: { reasons: any } } }
  - alice: { expect: { puback: { id: 1, reason: no_matching_subscribers } } }
  - alice: { expect: { pubrec: } }
  - alice: { expect: { publish: { topic: a/b }, unordered: true } }
  - alice: { expect: { connack: { properties: { assigned_client_identifier: present } } } }
  - alice: { expect: { disconnect: { reason: 142 } } }
  - alice: { unsubscribe: [a/+, "b/#"] }
  - alice: { expect_nothing: 100ms }
  - network: { cut: alice }
  - network: { heal: alice }
  - network: { stall: alice }
  - network: { resume: alice }
  - network: { reset: alice }
  - alice: { expect_closed: { within: 1m } }
  - bob-2: { expect_closed: }
  - broker: crash
  - broker: restart
  - broker: { restart: { keep_store: false } }
  - broker: { crash: }
  - broker: stop
  - broker: { stop: }
  - carol: { disconnect: { reason: disconnect_with_will_message, session_expiry: 0 } }
  - carol: { disconnect: { abrupt: true } }
  - carol: { disconnect: }
"#;

/// A workload using every key, with faults drawn from the seed.
const EVERYTHING_WORKLOAD: &str = r#"
name: every workload key
description: not meant to run
versions: [3.1.1, 5]
duration: 30s
drain: 10s
network: { latency: 5ms..80ms }
faults: { every: 2s..6s, length: 500ms..3s, pick: [cut, stall, reset, latency, broker_restart] }
broker: { max_queued_messages: 100 }
workload:
  publishers: 5
  subscribers: 3
  filters: [maison/+/temperature, maison/#]
  topics: [maison/salon/temperature]
  messages: 200
  qos: [0, 1, 2]
  subscribe_qos: 1
  payload: [16, 64]
  sessions: clean
  wills: true
  retain: true
  keep_alive: 2
check: [at_most_once, at_least_once, exactly_once, ordered_per_publisher, routes_match_filters, retained_latest, will_on_abnormal_disconnect]
"#;

/// A workload with a fixed fault schedule, as `explore` writes one.
const FIXED_FAULTS: &str = r#"
name: fixed faults
versions: [5]
duration: 20s
faults:
  - { at: 3s, fault: cut, target: s1, length: 2s }
  - { at: 4s, fault: reset, target: p1 }
  - { at: 5s, fault: broker_restart }
  - { at: 6s, fault: latency, target: w, length: 1s }
workload: { publishers: 1, subscribers: 1, messages: 10, wills: true }
check: [at_least_once]
"#;

/// A parameterised scenario, in both forms of `vary:`, with expressions
/// where numbers, booleans, durations, map keys and whole maps go.
const VARIED: &str = r#"
name: varied
vary:
  first: [a/#, a/+]
  limit: [10, 100]
clients: { s: { keep_alive: $(limit) }, p: {} }
broker: { max_packet_size: $(limit * 10) }
steps:
  - s: { connect: { clean_start: $(limit > 0) } }
"#;

const VARIED_ROWS: &str = r#"
name: varied rows
vary:
  - { first: a/#, filters: { a/#: 1 }, wait: 1s, retain: true }
  - { first: a/+, filters: { a/+: 2 }, wait: 2s, retain: false }
clients: { s: {}, p: {} }
steps:
  - s: { connect: {} }
  - s: { subscribe: $(filters) }
  - s: { subscribe: { $(first): { qos: $(1 + 1) } } }
  - wait: $(wait)
    when: $(len(first) == 3)
  - p: { connect: {} }
  - p: { publish: { topic: a/$(len(first)), payload: { size: $(len(first) * 100) }, retain: $(retain) } }
  - repeat: $(len(first) + 1)
    steps:
      - p: { publish: { topic: b/$(index), qos: 1 } }
      - repeat: 2
        as: j
        steps:
          - wait: 10ms
"#;

/// Spec ids per version, and the other spellings of versions.
const PER_VERSION: &str = r#"
name: spec ids per version
spec: { 3.1.1: [MQTT-3.1.2-24], 5: [MQTT-3.1.2-22, MQTT-1.5.4-1] }
versions: [311, 5.0]
clients: { a: {} }
steps:
  - a: { connect: {} }
    only: 3.1.1
"#;

#[test]
fn loader_and_schema_both_take_every_form() {
    let v = validator();
    for (what, doc) in [("everything", EVERYTHING), ("per version", PER_VERSION)] {
        scenario::load_str(doc, Path::new("everything.yaml"))
            .unwrap_or_else(|e| panic!("{what}: the loader refuses it: {e}"));
        let errors = schema_errors(&v, &to_json(doc, what));
        assert!(errors.is_empty(), "{what}: {}", errors.join("\n"));
    }
    for (what, doc) in [("varied", VARIED), ("varied rows", VARIED_ROWS)] {
        let all = scenario::load_variants_str(doc, Path::new("varied.yaml"))
            .unwrap_or_else(|e| panic!("{what}: the loader refuses it: {e}"));
        assert!(all.len() >= 2 && all.iter().all(|s| s.variant.is_some()));
        let errors = schema_errors(&v, &to_json(doc, what));
        assert!(errors.is_empty(), "{what}: {}", errors.join("\n"));
    }
    // `^` is no operator: the loader refuses it, the schema cannot tell.
    let broken = VARIED.replace("$(limit > 0)", "$(limit ^ 0)");
    assert!(schema_errors(&v, &to_json(&broken, "broken")).is_empty());
    let e = scenario::load_variants_str(&broken, Path::new("varied.yaml")).unwrap_err();
    assert!(e.to_string().contains("unexpected '^'"), "{e}");
    for (what, doc) in [("workload", EVERYTHING_WORKLOAD), ("fixed", FIXED_FAULTS)] {
        scenario::load::load_workload_str(doc, Path::new("workload.yaml"))
            .unwrap_or_else(|e| panic!("{what}: the loader refuses it: {e}"));
        let errors = schema_errors(&v, &to_json(doc, what));
        assert!(errors.is_empty(), "{what}: {}", errors.join("\n"));
    }
}

/// A valid scenario with `step` as its only step, or with `top` added.
fn with_step(step: &str) -> String {
    format!("name: t\nversions: [5]\nclients:\n  a: {{}}\nsteps:\n  - {step}\n")
}

fn with_top(top: &str) -> String {
    format!("name: t\n{top}\nclients:\n  a: {{}}\nsteps:\n  - a: {{ connect: {{}} }}\n")
}

const TRAFFIC: &str = "publishers: 2, subscribers: 2, messages: 50";

/// A workload with this traffic (the inside of its `workload:` map),
/// faults and checkers.
fn workload_with(traffic: &str, faults: &str, check: &str) -> String {
    format!("name: w\nduration: 20s\nfaults: {faults}\nworkload: {{ {traffic} }}\ncheck: {check}\n")
}

/// A valid workload with `more` added to its traffic.
fn traffic(more: &str) -> String {
    workload_with(
        &format!("{TRAFFIC}, {more}"),
        "{ every: 1s..3s, pick: [cut] }",
        "[at_least_once]",
    )
}

/// A valid workload with these faults and checkers.
fn faults_and_check(faults: &str, check: &str) -> String {
    workload_with(TRAFFIC, faults, check)
}

/// Whether the loader takes `doc`, a scenario or a workload.
fn loads(doc: &str) -> bool {
    if doc.lines().any(|l| l.starts_with("workload:")) {
        scenario::load::load_workload_str(doc, Path::new("case.yaml")).is_ok()
    } else {
        scenario::load_variants_str(doc, Path::new("case.yaml")).is_ok()
    }
}

#[test]
fn loader_and_schema_both_refuse_broken_documents() {
    let cases = [
        (
            "no name",
            "clients: {a: {}}\nsteps: [{a: {connect: {}}}]\n".to_owned(),
        ),
        (
            "no clients",
            "name: t\nclients: {}\nsteps: [{a: {connect: {}}}]\n".to_owned(),
        ),
        ("unknown top-level key", with_top("timeuot: 2s")),
        ("vary not a table", with_top("vary: 3")),
        ("vary with no values", with_top("vary: { qos: [] }")),
        ("vary variable misnamed", with_top("vary: { 1qos: [1] }")),
        ("repeat without steps", with_step("repeat: 3")),
        (
            "repeat a negative number of times",
            with_step("repeat: -1\n    steps: [wait: 1s]"),
        ),
        ("unknown version", with_top("versions: [6]")),
        ("unknown capability", with_top("requires: [persistance]")),
        ("spec id not a list", with_top("spec: MQTT-3.1.2-24")),
        (
            "5.0 spec id as 3.1.1",
            with_top("spec: { 3.1.1: [MQTT-1.5.4-1] }"),
        ),
        (
            "spec for an unknown version",
            with_top("spec: { 6: [MQTT-1.5.4-1] }"),
        ),
        ("duration without unit", with_top("timeout: 5")),
        (
            "latency not a range",
            with_top("network: { latency: fast }"),
        ),
        (
            "broker setting misspelt",
            with_top("broker: { max_packet: 100 }"),
        ),
        (
            "client named like a keyword",
            "name: t\nclients: {wait: {}}\nsteps: [{wait: 1s}]\n".to_owned(),
        ),
        (
            "two actions in a step",
            with_step("a: { connect: {} }\n    wait: 1s"),
        ),
        (
            "two actions for a client",
            with_step("a: { connect: {}, disconnect: {} }"),
        ),
        ("only on a wait step", with_step("wait: 1s\n    only: 5")),
        (
            "only alone",
            "name: t\nclients: {a: {}}\nsteps: [{only: 5}]\n".to_owned(),
        ),
        ("unknown action", with_step("a: { conect: {} }")),
        ("action as a bare word", with_step("a: connect")),
        ("broker explodes", with_step("broker: explode")),
        (
            "restart without keep_store",
            with_step("broker: { restart: {} }"),
        ),
        ("network fault misspelt", with_step("network: { cutt: a }")),
        (
            "latency without range",
            with_step("network: { latency: { client: a } }"),
        ),
        (
            "odd hex digits",
            with_step("a: { send: { raw: \"30 0\" } }"),
        ),
        ("unknown send", with_step("a: { send: { pingresp: 1 } }")),
        (
            "payload hex not hex",
            with_step("a: { publish: { topic: t, payload: { hex: zz } } }"),
        ),
        (
            "payload with two keys",
            with_step("a: { publish: { topic: t, payload: { hex: \"00\", size: 1 } } }"),
        ),
        (
            "payload null",
            with_step("a: { publish: { topic: t, payload: } }"),
        ),
        (
            "publish without topic",
            with_step("a: { publish: { qos: 1 } }"),
        ),
        (
            "QoS 0 publish with an id",
            with_step("a: { publish: { topic: t, id: 3 } }"),
        ),
        (
            "QoS 0 publish awaited",
            with_step("a: { publish: { topic: t, qos: 0, await: true } }"),
        ),
        (
            "subscribe without filters",
            with_step("a: { subscribe: { id: 3 } }"),
        ),
        ("subscribe QoS 3", with_step("a: { subscribe: { t: 3 } }")),
        (
            "retain_handling 3",
            with_step("a: { subscribe: { t: { qos: 1, retain_handling: 3 } } }"),
        ),
        (
            "subscription options without qos",
            with_step("a: { subscribe: { t: { no_local: true } } }"),
        ),
        (
            "expect two packets",
            with_step("a: { expect: { puback: {}, pubrec: {} } }"),
        ),
        (
            "expect without packet",
            with_step("a: { expect: { within: 2s } }"),
        ),
        (
            "expect unknown field",
            with_step("a: { expect: { puback: { reasons: [0] } } }"),
        ),
        (
            "reason code over 255",
            with_step("a: { disconnect: { reason: 256 } }"),
        ),
        (
            "reason code bad hex",
            with_step("a: { disconnect: { reason: 0xZZ } }"),
        ),
        (
            "expect_nothing without unit",
            with_step("a: { expect_nothing: 100 }"),
        ),
        (
            "keep_alive over 65535",
            with_step("a: { connect: { keep_alive: 70000 } }"),
        ),
        (
            "will without topic",
            with_step("a: { connect: { will: { payload: x } } }"),
        ),
        (
            "raw connect with fields",
            with_step("a: { connect: { raw: \"10 00\", client_id: x } }"),
        ),
        (
            "unordered not a boolean",
            with_step("a: { expect: { puback: {}, unordered: often } }"),
        ),
        (
            "subscribe to a filter with # inside",
            with_step("a: { subscribe: { maison/#/salon: 1 } }"),
        ),
        (
            "subscribe to a filter with + in a level",
            with_step("a: { subscribe: { maison/sal+: 1 } }"),
        ),
        (
            "unsubscribe a bad filter",
            with_step("a: { unsubscribe: [a/#/b] }"),
        ),
        (
            "publish to a wildcard topic",
            with_step("a: { publish: { topic: maison/+ } }"),
        ),
        (
            "will topic with a wildcard",
            with_step("a: { connect: { will: { topic: \"status/#\" } } }"),
        ),
        (
            "expect a PUBLISH on a filter",
            with_step("a: { expect: { publish: { topic: maison/# } } }"),
        ),
        (
            "publish with packet id 0",
            with_step("a: { publish: { topic: t, qos: 1, id: 0 } }"),
        ),
        (
            "puback with packet id 0",
            with_step("a: { send: { puback: 0 } }"),
        ),
        (
            "subscription identifier 0",
            with_step("a: { subscribe: { t: 1, id: 0 } }"),
        ),
        (
            "unknown property",
            with_step("a: { publish: { topic: t, properties: { colour: red } } }"),
        ),
        (
            "number property as text",
            with_step(
                "a: { publish: { topic: t, properties: { message_expiry_interval: soon } } }",
            ),
        ),
        (
            "unknown expected property",
            with_step("a: { expect: { publish: { properties: { colour: present } } } }"),
        ),
        (
            "unknown will property",
            with_step("a: { connect: { will: { topic: t, properties: { colour: red } } } }"),
        ),
        (
            "unknown checker",
            faults_and_check("{ every: 1s..3s, pick: [cut] }", "[exactly_twice]"),
        ),
        ("no checker", faults_and_check("[]", "[]")),
        (
            "checker listed twice",
            faults_and_check("[]", "[at_least_once, at_least_once]"),
        ),
        (
            "unknown fault kind",
            faults_and_check(
                "{ every: 1s..3s, pick: [cut, partition] }",
                "[at_least_once]",
            ),
        ),
        (
            "unknown fixed fault",
            faults_and_check(
                "[{ at: 1s, fault: partition, target: p1 }]",
                "[at_least_once]",
            ),
        ),
        (
            "fixed fault on an unknown key",
            faults_and_check(
                "[{ at: 1s, fault: cut, target: p1, lenght: 1s }]",
                "[at_least_once]",
            ),
        ),
        (
            "no fault kind to pick",
            faults_and_check("{ every: 1s..3s, pick: [] }", "[at_least_once]"),
        ),
        (
            "workload filter with # inside",
            traffic("filters: [maison/#/salon]"),
        ),
        (
            "workload topic with a wildcard",
            traffic("topics: [maison/+]"),
        ),
        ("no workload filters", traffic("filters: []")),
        ("workload QoS 3", traffic("qos: [1, 3]")),
        ("subscribe_qos 3", traffic("subscribe_qos: 3")),
        (
            "no publishers",
            workload_with(
                "publishers: 0, subscribers: 2, messages: 50",
                "[]",
                "[at_least_once]",
            ),
        ),
        (
            "no messages",
            workload_with(
                "publishers: 2, subscribers: 2, messages: 0",
                "[]",
                "[at_least_once]",
            ),
        ),
        ("payload over 64 KiB", traffic("payload: [16, 100000]")),
        ("keep_alive 0", traffic("keep_alive: 0")),
        ("sessions misspelt", traffic("sessions: kep")),
        ("unknown workload key", traffic("publisher: 3")),
        (
            "duration 0",
            traffic("wills: false").replace("duration: 20s", "duration: 0s"),
        ),
    ];
    // What only the loader can tell: a schema sees each value alone.
    let loader_only = [
        ("payload range backwards", traffic("payload: [64, 16]")),
        (
            "faults never within the duration",
            faults_and_check("{ every: 30s..40s, pick: [cut] }", "[at_least_once]"),
        ),
        (
            "fixed fault after the duration",
            faults_and_check("[{ at: 25s, fault: cut, target: p1, length: 1s }]", "[at_least_once]"),
        ),
        (
            "retained_latest without retained messages",
            faults_and_check("[]", "[retained_latest]"),
        ),
        (
            "shared subscription in a workload on 5.0",
            traffic("filters: [\"$share/g/maison/#\"]"),
        ),
        (
            "malformed shared subscription on 5.0",
            with_step("a: { subscribe: { \"$share/g\": 1 } }"),
        ),
        (
            "empty topic without a topic alias",
            with_step("a: { publish: { topic: \"\" } }"),
        ),
        ("step for an undeclared client", with_step("b: { connect: {} }")),
        (
            "properties on 3.1.1",
            "name: t\nversions: [3.1.1]\nclients: {a: {}}\nsteps:\n  - a: { publish: { topic: t, properties: { content_type: x } } }\n".to_owned(),
        ),
    ];
    let v = validator();
    let mut wrong = Vec::new();
    for (what, doc) in cases.iter().chain(&loader_only) {
        if loads(doc) {
            wrong.push(format!("{what}: the loader takes it"));
        }
    }
    for (what, doc) in cases.iter() {
        if std::env::var_os("SHOW_SCHEMA_ERRORS").is_some() {
            eprintln!("{what}: {:?}", schema_errors(&v, &to_json(doc, what)));
        }
        if v.is_valid(&to_json(doc, what)) {
            wrong.push(format!("{what}: the schema takes it"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The broken files of the CLI tests: the loader refuses each, and the
/// schema flags each mistake it can see; the rest needs `gauntlet check`.
#[test]
fn loader_and_schema_refuse_the_broken_fixtures() {
    // Mistakes only the loader can see: a client that is not declared,
    // `only` naming a version the scenario does not list, and a raw
    // template's slot left open (a pattern cannot count braces).
    let semantic = [
        "unknown_client.yaml",
        "only_5_in_311.yaml",
        "bad_raw_template.yaml",
    ];
    // Not YAML at all: nothing for a schema to look at.
    let unparsable = ["yaml_syntax.yaml"];
    let v = validator();
    let dir = root().join("tests/fixtures/broken");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 17, "fixtures missing in {}", dir.display());
    let mut wrong = Vec::new();
    for f in &files {
        let name = f.file_name().and_then(|n| n.to_str()).expect("name");
        let text = std::fs::read_to_string(f).expect("reads");
        if loads(&text) {
            wrong.push(format!("{name}: the loader takes it"));
        }
        if unparsable.contains(&name) {
            assert!(serde_saphyr::from_str::<Value>(&text).is_err(), "{name}");
            continue;
        }
        let valid = v.is_valid(&to_json(&text, name));
        if semantic.contains(&name) != valid {
            wrong.push(format!(
                "{name}: schema says {}",
                if valid { "valid" } else { "invalid" }
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
