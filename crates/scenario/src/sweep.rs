//! Generated scenarios: a file that says `sweep: malformed` stands for one
//! run per row of the codec's malformed-packet table
//! ([`protocol::malformed`]), each written out as an ordinary scenario and
//! loaded (and checked) like one, with the row's label as its variant. A
//! row added to the table is a run added to the library.
//!
//! Each run: a watcher subscribes to everything under `m/`; a client whose
//! will is `m/will` connects and sends the malformed packet (or sends it in
//! place of its CONNECT). The broker must close the connection having sent
//! nothing but (5.0) a DISCONNECT or a refusing CONNACK, publish the will of
//! a connection it closed for an error, and not act on the packet: nothing
//! reaches the watcher, and (for a PUBLISH) nothing is retained for a later
//! subscriber.

use std::fmt::Write as _;

use protocol::malformed::{rows, Expect, Row, Sent};
use protocol::Version;

use crate::tree::Node;

/// What `sweep:` names, and why it cannot be read.
pub fn kind(root: &Node) -> Option<Result<&'static str, (crate::tree::Pos, String)>> {
    let node = root.get("sweep")?;
    if let Some((k, _)) = root.entries().iter().find(|(k, _)| k.text != "sweep") {
        return Some(Err((
            k.pos,
            format!("unknown key `{}`: a sweep file has only `sweep:`", k.text),
        )));
    }
    Some(match node.text.as_str() {
        "malformed" => Ok("malformed"),
        other => Err((
            node.pos,
            format!("unknown sweep {other:?}: the one there is is `malformed`"),
        )),
    })
}

/// Each run of the malformed sweep: its label and its scenario as YAML.
pub fn malformed() -> Vec<(String, String)> {
    let mut all: Vec<Row> = rows(Version::V311);
    all.extend(rows(Version::V5));
    // One scenario per label, with each version's row.
    let mut labels: Vec<&str> = Vec::new();
    for r in &all {
        if !labels.contains(&r.label.as_str()) {
            labels.push(&r.label);
        }
    }
    labels
        .iter()
        .map(|label| {
            let mine: Vec<&Row> = all.iter().filter(|r| r.label == *label).collect();
            (label.to_string(), scenario(label, &mine))
        })
        .collect()
}

/// The version as a scenario writes it (`3.1.1`, `5`).
fn version_key(v: Version) -> String {
    crate::VersionName::from(v).to_string()
}

/// The statements a run of the row asserts: the rule it breaks (when it
/// has a number) and the rule that makes the broker close.
fn statements(r: &Row) -> Vec<&str> {
    let mut ids = Vec::new();
    if r.rule.starts_with("MQTT-") {
        ids.push(r.rule.as_str());
    }
    let close = match (r.version, r.sent) {
        (_, Sent::First) => "MQTT-3.1.4-1",
        (Version::V311, _) => "MQTT-4.8.0-1",
        (Version::V5, _) => "MQTT-4.13.1-1",
    };
    for id in r.also.iter().copied().chain([close]) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn scenario(label: &str, rows: &[&Row]) -> String {
    let first = rows[0];
    let connected = first.sent == Sent::Connected;
    let mut y = String::new();
    let _ = writeln!(y, "name: {}", quote(&format!("Malformed: {label}")));
    let what = first
        .decoded
        .as_deref()
        .unwrap_or("a packet the connection's state forbids");
    let _ = writeln!(
        y,
        "description: {}",
        quote(&format!(
            "Generated from the codec's table ({what}; {}). The broker closes the connection \
             without acting on the packet.",
            first.rule
        ))
    );
    let versions: Vec<String> = rows.iter().map(|r| version_key(r.version)).collect();
    let _ = writeln!(y, "versions: [{}]", versions.join(", "));
    let _ = writeln!(y, "spec:");
    for r in rows {
        let _ = writeln!(y, "  {}: [{}]", version_key(r.version), spec_list(r));
    }
    let _ = writeln!(y, "clients:");
    // Where the close is only advised, the will is not looked for: the
    // client has none, so that a close brings the watcher nothing.
    if connected && first.expect == Expect::Close {
        let _ = writeln!(
            y,
            "  bad: {{ will: {{ topic: m/will, payload: gone, qos: 1 }} }}"
        );
    } else {
        let _ = writeln!(y, "  bad: {{}}");
    }
    let _ = writeln!(y, "  watch: {{}}");
    let _ = writeln!(y, "steps:");
    let watched = if first.forwarded_as_is {
        "m/will"
    } else {
        "m/#"
    };
    let _ = writeln!(y, "  - watch: {{ connect: {{}} }}");
    let _ = writeln!(y, "  - watch: {{ subscribe: {{ \"{watched}\": 1 }} }}");
    for r in rows {
        steps(&mut y, r, rows.len() > 1);
    }
    // Only a PUBLISH can leave a message to forward or retain: a later
    // subscriber is sent no retained message from it, and nothing else comes.
    if !first.template.starts_with('3') {
        return y;
    }
    let _ = writeln!(y, "  - watch: {{ subscribe: {{ \"{watched}\": 1 }} }}");
    let _ = writeln!(y, "  - watch: {{ expect_nothing: 200ms }}");
    let advisory = advisory_of(first);
    if !advisory.is_empty() {
        let _ = writeln!(y, "    {advisory}");
    } else {
        let _ = writeln!(y, "    spec: {}", first_statement(rows));
    }
    y
}

fn spec_list(r: &Row) -> String {
    let mut ids = statements(r);
    if r.sent == Sent::Connected {
        ids.push("MQTT-3.1.2-8");
    }
    ids.join(", ")
}

/// Each version's first statement, for a step run on all of them.
fn first_statement(rows: &[&Row]) -> String {
    let per: Vec<String> = rows
        .iter()
        .map(|r| format!("{}: [{}]", version_key(r.version), statements(r)[0]))
        .collect();
    format!("{{ {} }}", per.join(", "))
}

fn advisory_of(r: &Row) -> String {
    match &r.expect {
        Expect::Close => String::new(),
        Expect::Advisory(why) => format!("advisory: {{ rule: {} }}", quote(why)),
    }
}

fn steps(y: &mut String, r: &Row, both: bool) {
    let only = if both {
        format!("\n    only: {}", version_key(r.version))
    } else {
        String::new()
    };
    // Plain bytes take no prefix: such a run gets a broker of its own.
    let template = if r.own_broker {
        let bytes = protocol::template::Template::parse(&r.template)
            .and_then(|t| t.render())
            .unwrap_or_default();
        let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
        quote(&hex.join(" "))
    } else {
        quote(&r.template)
    };
    let advisory = advisory_of(r);
    let marks = |y: &mut String, spec: &str| {
        if !advisory.is_empty() {
            let _ = write!(y, "\n    {advisory}");
        } else if !spec.is_empty() {
            let _ = write!(y, "\n    spec: [{spec}]");
        }
    };
    // A broker closes for a malformed packet as soon as it reads it: 2 s is
    // ample even on a loaded machine, and keeps the sweep short on brokers
    // that never close. Where the rule binds only the sender the broker may
    // well go on, so the check gives up sooner still.
    let within = if advisory.is_empty() {
        ", within: 2s"
    } else {
        ", within: 500ms"
    };
    match r.sent {
        Sent::First => {
            let _ = write!(
                y,
                "  - bad: {{ connect: {{ raw: {template}, wait: false }} }}{only}"
            );
            let _ = writeln!(y);
        }
        Sent::Connected => {
            let _ = writeln!(y, "  - bad: {{ connect: {{}} }}{only}");
            let _ = writeln!(y, "  - bad: {{ send: {{ raw: {template} }} }}{only}");
        }
    }
    let _ = write!(
        y,
        "  - bad: {{ expect_closed: {{ silent: true{within} }} }}{only}"
    );
    marks(y, &statements(r).join(", "));
    let _ = writeln!(y);
    // Where the rule binds only the sender, the close itself is the
    // advisory: what would follow it (the reason code, the will) is not
    // waited for.
    if !advisory.is_empty() {
        return;
    }
    if r.version == Version::V5 && r.sent == Sent::Connected {
        let _ = write!(
            y,
            "  - bad: {{ expect: {{ disconnect: {{ reason: 0x{:02X} }}, within: 1s }} }}{only}",
            r.reason
        );
        let _ = writeln!(
            y,
            "\n    advisory: {{ rule: {} }}",
            quote(&format!(
                "5.0 §4.13.1 (SHOULD): DISCONNECT 0x{:02X} before closing the connection",
                r.reason
            ))
        );
    }
    if r.sent == Sent::Connected {
        let _ = write!(
            y,
            "  - watch: {{ expect: {{ publish: {{ topic: m/will, payload: gone }}, within: 2s }} }}{only}"
        );
        marks(y, "MQTT-3.1.2-8");
        let _ = writeln!(y);
    }
}
