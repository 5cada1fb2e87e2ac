use std::path::Path;

use super::expr::Val;
use super::*;
use crate::{load_str, load_variants_str, ClientAction, Step};

fn vars_eval(expr: &str, vars: &[(&str, &str)]) -> Result<Val, String> {
    let nodes: Vec<(&str, Node)> = vars
        .iter()
        .map(|(k, v)| (*k, crate::tree::parse(v).expect("parses")))
        .collect();
    let map: BTreeMap<&str, &Node> = nodes.iter().map(|(k, n)| (*k, n)).collect();
    eval(expr, &map)
}

#[test]
fn arithmetic_on_limits() {
    let e = |x| vars_eval(x, &[("limit", "100"), ("name", "ab")]);
    assert_eq!(e("limit + 1"), Ok(Val::Int(101)));
    assert_eq!(e("limit - 1"), Ok(Val::Int(99)));
    assert_eq!(e("2 + 3 * 4"), Ok(Val::Int(14)), "* binds tighter");
    assert_eq!(e("(2 + 3) * 4"), Ok(Val::Int(20)));
    assert_eq!(e("limit / 3 % 4"), Ok(Val::Int(1)));
    assert_eq!(e("-limit + 0x10"), Ok(Val::Int(-84)));
    assert_eq!(e("65_535 + 1"), Ok(Val::Int(65_536)));
    assert_eq!(e("\"c\" * 3"), Ok(Val::Str("ccc".into())));
    assert_eq!(e("name + '/' + name"), Ok(Val::Str("ab/ab".into())));
    assert_eq!(e("len(name * 4) - 1"), Ok(Val::Int(7)));
    // Mistakes say what is wrong.
    assert_eq!(e("limit / 0"), Err("division by zero".into()));
    assert!(e("limit + name").unwrap_err().contains("does not apply"));
    assert!(e("9223372036854775807 + limit")
        .unwrap_err()
        .contains("overflows"));
    assert!(e("nope + 1").unwrap_err().contains("unknown variable nope"));
    assert!(e("limit +").unwrap_err().contains("ends too soon"));
    assert!(e("(limit").unwrap_err().contains("no closing"));
    assert!(e("limit 1").unwrap_err().contains("unexpected 1"));
    assert!(e("'x' * 2000000").unwrap_err().contains("longer than"));
}

const OVERLAP: &str = "name: overlap
vary:
  first: [a/#, a/+]
  qos: [0, 2]
clients: { s: {}, p: {} }
steps:
  - s: { connect: {} }
  - s: { subscribe: { $(first): { qos: $(qos) } } }
  - p: { connect: {} }
  - p: { publish: { topic: a/b, qos: $(qos + 0), payload: x$(qos)y } }
";

#[test]
fn a_table_expands_into_every_combination_in_order() {
    let all = load_variants_str(OVERLAP, Path::new("o.yaml")).expect("loads");
    let labels: Vec<&str> = all.iter().filter_map(|s| s.variant.as_deref()).collect();
    assert_eq!(
        labels,
        [
            "first=a/#, qos=0",
            "first=a/#, qos=2",
            "first=a/+, qos=0",
            "first=a/+, qos=2"
        ]
    );
    let last = &all[3];
    let Step::Client {
        action: ClientAction::Subscribe(sub),
        ..
    } = &last.steps[1].value
    else {
        panic!("a subscribe step");
    };
    assert_eq!(sub.filters[0].0, "a/+", "a map key is expanded");
    assert_eq!(sub.filters[0].1.qos, 2, "a value alone keeps its type");
    let Step::Client {
        action: ClientAction::Publish(p),
        ..
    } = &last.steps[3].value
    else {
        panic!("a publish step");
    };
    assert_eq!((p.qos, p.payload.0.as_slice()), (2, &b"x2y"[..]));
    // The plain loader refuses a file of variants rather than pick one.
    let e = load_str(OVERLAP, Path::new("o.yaml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("4 variants"), "{e}");
}

#[test]
fn rows_name_their_variants_and_lists_pass_whole() {
    let text = "name: rows
vary:
  - { first: a/#, filters: { a/#: { qos: 1 }, a/+: { qos: 0 } } }
  - { first: a/+, filters: { a/+: { qos: 1 } } }
clients: { s: {} }
steps:
  - s: { connect: {} }
  - s: { subscribe: $(filters) }
";
    let all = load_variants_str(text, Path::new("r.yaml")).expect("loads");
    let labels: Vec<&str> = all.iter().filter_map(|s| s.variant.as_deref()).collect();
    assert_eq!(labels, ["first=a/#, filters=#1", "first=a/+, filters=#2"]);
    let Step::Client {
        action: ClientAction::Subscribe(sub),
        ..
    } = &all[0].steps[1].value
    else {
        panic!("a subscribe step");
    };
    assert_eq!(sub.filters.len(), 2);
}

#[test]
fn a_mistake_in_a_variant_points_at_the_expression_and_names_the_variant() {
    let text = "name: bad
vary: { qos: [1, 3] }
clients: { s: {} }
steps:
  - s: { connect: {} }
  - s: { publish: { topic: t, qos: $(qos) } }
  - s: { publish: { topic: a/$(qos), qos: 1, retain: $(qos ^ 1) } }
";
    let e = load_variants_str(text, Path::new("b.yaml")).unwrap_err();
    let lines: Vec<String> = e.errors().iter().map(|e| e.to_string()).collect();
    // An expression that cannot be worked out stops the file there.
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with("b.yaml:7:54:") && lines[0].contains("unexpected '^'"),
        "{lines:#?}"
    );
    let text = text
        .replace(", retain: $(qos ^ 1)", "")
        .replace("a/$(qos), qos: 1", "a/$(qos), qos: 7");
    let e = load_variants_str(&text, Path::new("b.yaml")).unwrap_err();
    let lines: Vec<String> = e.errors().iter().map(|e| e.to_string()).collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    // Only qos=3 is wrong, at the $(qos) that made it.
    assert!(
        lines[0].starts_with("b.yaml:6:36:") && lines[0].ends_with("(in [qos=3])"),
        "{lines:#?}"
    );
    // Every variant makes this one: said once, with no variant.
    assert!(
        lines[1].starts_with("b.yaml:7:43:") && !lines[1].contains("(in ["),
        "{lines:#?}"
    );
}

#[test]
fn a_bad_table_is_a_load_error() {
    let err = |table: &str| {
        let text = format!(
            "name: t\nvary: {table}\nclients: {{ s: {{}} }}\nsteps: [ s: {{ connect: {{}} }} ]\n"
        );
        load_variants_str(&text, Path::new("t.yaml"))
            .unwrap_err()
            .to_string()
    };
    assert!(err("3").contains("expected a map of variables"));
    assert!(err("{ qos: [] }").contains("takes a list of its values"));
    assert!(err("{ 1x: [1] }").contains("is not a variable name"));
    assert!(err("[ {a: 1}, {b: 2} ]").contains("every row sets the same variables"));
    assert!(err("[ {a: x}, {a: x} ]").contains("both be named [a=x]"));
    assert!(err("{ a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], b: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], c: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }").contains("more than 1000 variants"));
}

#[test]
fn without_vary_only_literals_and_the_escape() {
    let text = "name: t\nclients: { s: {} }\nsteps:\n  - s: { connect: {} }\n  \
                - s: { publish: { topic: \"a/$$(x)\", qos: $(2 - 1) } }\n";
    let s = load_str(text, Path::new("t.yaml")).expect("loads");
    let Step::Client {
        action: ClientAction::Publish(p),
        ..
    } = &s.steps[1].value
    else {
        panic!("a publish step");
    };
    assert_eq!((p.topic.as_str(), p.qos), ("a/$(x)", 1));
    let e = load_str(
        "name: t\nclients: { s: {} }\nsteps: [ s: { publish: { topic: $(t) } } ]\n",
        Path::new("t.yaml"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("the file has no vary:"), "{e}");
}

#[test]
fn fields_functions_and_values_that_use_other_variables() {
    let text = r#"name: fields
vary:
  wide: [0, 2]
  order:
    - { name: wide_first, first: "a/#", first_qos: $(wide) }
    - { name: narrow_first, first: a/+, first_qos: 1 }
clients: { s: {} }
steps:
  - s: { connect: {} }
  - s: { subscribe: { $(order.first): "$(max(order.first_qos, wide))" } }
"#;
    let all = load_variants_str(text, Path::new("f.yaml")).expect("loads");
    let labels: Vec<&str> = all.iter().filter_map(|s| s.variant.as_deref()).collect();
    assert_eq!(
        labels,
        [
            "wide=0, order=wide_first",
            "wide=0, order=narrow_first",
            "wide=2, order=wide_first",
            "wide=2, order=narrow_first"
        ]
    );
    let granted: Vec<(String, u8)> = all
        .iter()
        .map(|s| match &s.steps[1].value {
            Step::Client {
                action: ClientAction::Subscribe(sub),
                ..
            } => (sub.filters[0].0.clone(), sub.filters[0].1.qos),
            _ => panic!("a subscribe step"),
        })
        .collect();
    assert_eq!(
        granted,
        [
            ("a/#".to_owned(), 0),
            ("a/+".to_owned(), 1),
            ("a/#".to_owned(), 2),
            ("a/+".to_owned(), 2)
        ]
    );
    let e = |x: &str| vars_eval(x, &[("o", "{ a: 1 }"), ("n", "3")]);
    assert_eq!(e("min(n, 2, 7)"), Ok(Val::Int(2)));
    assert_eq!(e("o.a + n"), Ok(Val::Int(4)));
    assert!(e("o.b").unwrap_err().contains("o has no field b: it has a"));
    assert!(e("n.b")
        .unwrap_err()
        .contains("n is an integer, with no field b"));
    assert!(e("max('x', 1)")
        .unwrap_err()
        .contains("takes whole numbers"));
    assert!(e("len(1, 2)").unwrap_err().contains("len takes one string"));
}

#[test]
fn comparisons_and_when_keep_a_step_in_some_variants() {
    let e = |x: &str| vars_eval(x, &[("d", "1"), ("s", "ab"), ("b", "true")]);
    assert_eq!(e("d > 0"), Ok(Val::Bool(true)));
    assert_eq!(e("d + 1 <= 1"), Ok(Val::Bool(false)));
    assert_eq!(e("s == 'ab' and not d != 1"), Ok(Val::Bool(true)));
    assert_eq!(e("d < 0 or b"), Ok(Val::Bool(true)));
    assert!(e("d == s").unwrap_err().contains("does not compare"));
    assert!(e("d = 1").unwrap_err().contains("compare with =="));
    assert!(e("d and b")
        .unwrap_err()
        .contains("and takes true or false"));
    let text = "name: when
vary: { delta: [-1, 0, 1] }
clients: { c: {} }
steps:
  - c: { connect: {} }
  - c: { publish: { topic: small, qos: 1 } }
    when: $(delta <= 0)
  - wait: 1s
    when: $(delta > 0)
  - c: { disconnect: {} }
";
    let all = load_variants_str(text, Path::new("w.yaml")).expect("loads");
    let steps: Vec<usize> = all.iter().map(|s| s.steps.len()).collect();
    assert_eq!(steps, [3, 3, 3]);
    assert!(matches!(all[2].steps[1].value, Step::Wait(_)));
    assert!(matches!(
        all[0].steps[1].value,
        Step::Client {
            action: ClientAction::Publish(_),
            ..
        }
    ));
    let bad = text.replace("$(delta > 0)", "$(delta)");
    let e = load_variants_str(&bad, Path::new("w.yaml")).unwrap_err();
    assert!(
        e.to_string()
            .contains("w.yaml:9:11: when: takes true or false"),
        "{e}"
    );
}

#[test]
fn repeat_unrolls_steps_with_their_index() {
    let text = "name: repeat
vary: { n: [2, 3] }
clients: { c: {} }
steps:
  - c: { connect: {} }
  - repeat: $(n + 1)
    steps:
      - c: { publish: { topic: t/$(index), qos: 1, payload: \"$(n)-$(index)\" } }
      - repeat: 2
        as: j
        steps:
          - c: { publish: { topic: u/$(index)/$(j) } }
  - c: { disconnect: {} }
";
    let all = load_variants_str(text, Path::new("r.yaml")).expect("loads");
    let topics = |s: &crate::Scenario| -> Vec<String> {
        s.steps
            .iter()
            .filter_map(|st| match &st.value {
                Step::Client {
                    action: ClientAction::Publish(p),
                    ..
                } => Some(p.topic.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        topics(&all[0]),
        ["t/1", "u/1/1", "u/1/2", "t/2", "u/2/1", "u/2/2", "t/3", "u/3/1", "u/3/2"]
    );
    assert_eq!(topics(&all[1]).len(), 12);
    assert_eq!(all[1].steps.len(), 14);
    let e = |times: &str| {
        let t = text.replace("$(n + 1)", times);
        load_variants_str(&t, Path::new("r.yaml"))
            .unwrap_err()
            .to_string()
    };
    assert!(
        e("-1").contains("r.yaml:6:13: repeat: takes a whole number"),
        "{}",
        e("-1")
    );
    assert!(e("1000000").contains("0 to 100000"));
    assert!(e("$(n + x)").contains("unknown variable x"));
}

#[test]
fn broker_limits_come_from_the_reference_broker_or_from_what_a_broker_announced() {
    let text = "name: t\nversions: [5]\nbroker: { max_packet_size: $(size) }\n\
                vary:\n  size: [100, 200]\nclients: { a: {} }\nsteps:\n  \
                - a: { publish: { topic: t, payload: { size: $(broker.maximum_packet_size - 10) } } }\n  \
                - a: { publish: { topic: t, payload: { size: $(broker.receive_maximum) } } }\n  \
                - a: { publish: { topic: t, payload: { size: $(broker.topic_alias_maximum) } } }\n";
    let sizes = |announced: Option<&Announced>| -> Vec<Vec<usize>> {
        crate::load::load_variants_announced(text, Path::new("t.yaml"), announced)
            .expect("loads")
            .iter()
            .map(|s| {
                s.steps
                    .iter()
                    .map(|step| match &step.value {
                        Step::Client {
                            action: ClientAction::Publish(p),
                            ..
                        } => p.payload.0.len(),
                        other => panic!("{other:?}"),
                    })
                    .collect()
            })
            .collect()
    };
    // The reference broker: its defaults (Receive Maximum 64, Topic Alias
    // Maximum 16) and the variant's own max_packet_size.
    assert_eq!(sizes(None), [[90, 64, 16], [190, 64, 16]]);
    // A real broker: what it announced, but a setting the file writes is
    // given to the broker the run goes to, so that one is the file's.
    let mosquitto = Announced {
        receive_maximum: 20,
        maximum_packet_size: LARGEST_PACKET,
        topic_alias_maximum: 10,
    };
    assert_eq!(sizes(Some(&mosquitto)), [[90, 20, 10], [190, 20, 10]]);
    // `broker` is taken: no vary variable may be named so.
    let e = load_variants_str(
        "name: t\nvary:\n  broker: [1]\nclients: { a: {} }\nsteps:\n  - a: { connect: {} }\n",
        Path::new("t.yaml"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("is not a variable name"), "{e}");
}
