//! A scripted scenario as a whole: its name, versions, the statements it
//! cites, the capabilities it requires, its broker settings, its clients,
//! and each step's reference to them; the steps themselves are judged in
//! [`super::steps`].

use std::collections::BTreeSet;

use protocol::{PacketType, PropertyContext};

use super::steps::{self, Step as StepCx};
use super::{cite, encoding, on, topic, Problems, Read};
use crate::tree::Place;
use crate::{spec, ClientAction, ClientSpec, NetworkAction, Scenario, SpecRefs, Step, VersionName};

/// Every mistake of `s`, placed in the document it was read from; `s` is
/// one variant of a file whose variants run on `file_versions` between
/// them (a file without `vary:` is its one variant): spec ids and `only:` for a version are
/// right if some variant runs on it (a `same_connection` variant on 3.1.1
/// alone shares its steps with variants on both).
pub(crate) fn scenario_of_file(
    p: &mut Problems,
    s: &Scenario,
    doc: &Read,
    file_versions: &[VersionName],
) {
    let top = Place::new(doc.read);
    if s.name.trim().is_empty() {
        p.at(top.get("name"), "`name` is empty");
    }
    versions(p, &s.versions, top.get("versions"));
    spec_refs(p, &s.spec, file_versions, "the scenario");
    for r in &s.requires {
        if !crate::capability::is_known(&r.value) {
            p.at_pos(
                r.at,
                format!(
                    "unknown capability {:?} in `requires`; known: {}",
                    r.value,
                    crate::capability::names()
                ),
            );
        }
    }
    if s.timeout.is_some_and(|t| t.millis() == 0) {
        p.at(
            top.get("timeout"),
            "`timeout` is 0: every expect step would fail at once",
        );
    }
    broker(p, &s.broker, top.get("broker"));
    let declared = clients(p, s, top, Place::new(doc.written).get("clients"));
    let steps_node = top.get("steps");
    // Steps that did not load are left out of what was read, not of what
    // was written.
    let written = Place::new(doc.written).get("steps");
    if written.node.items().is_empty() && s.steps.is_empty() {
        p.at(written, "`steps` is empty");
    }
    for step in &s.steps {
        let at = steps_node
            .node
            .items()
            .iter()
            .find(|n| n.pos == step.at)
            .map_or(steps_node, Place::new);
        let unknown = |name: &str| {
            format!(
                "unknown client {name:?}; the clients are: {}",
                declared
                    .names
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        match &step.value {
            Step::Client {
                name,
                action,
                only,
                spec,
                advisory,
            } => {
                if !declared.names.contains(name) {
                    p.at(at.key(name), unknown(name));
                    continue;
                }
                if let Some(v) = only {
                    if !file_versions.contains(v) {
                        p.at(
                            at.get("only"),
                            format!("`only: {v}` but the scenario does not run on {v}"),
                        );
                        continue;
                    }
                }
                spec_refs(p, spec, &runs_on(file_versions, *only), "the step");
                if let Some(a) = advisory {
                    if a.rule.trim().is_empty() {
                        p.at(at.get("advisory"), "`advisory` needs its `rule`");
                    }
                    if a.readings.len() == 1 {
                        p.at(
                            at.get("advisory"),
                            "`advisory` readings: give each reading (two or more), or none",
                        );
                    }
                }
                let cx = StepCx {
                    versions: runs_on(&s.versions, *only),
                    client: name,
                    spec: s.clients.get(name),
                    declared: top.get("clients").get(name),
                    declared_ok: !declared.faulty.contains(name),
                    place: at.get(name).get(action_key(action)),
                };
                steps::action(p, action, &cx);
            }
            Step::Network(action) => {
                let (key, name) = match action {
                    NetworkAction::Cut(n) => ("cut", n),
                    NetworkAction::Heal(n) => ("heal", n),
                    NetworkAction::Stall(n) => ("stall", n),
                    NetworkAction::Resume(n) => ("resume", n),
                    NetworkAction::Reset(n) => ("reset", n),
                    NetworkAction::Latency { client, .. } => ("latency", client),
                    NetworkAction::Loss { client, .. } => ("loss", client),
                };
                if !declared.names.contains(name) {
                    let place = at.get("network").get(key);
                    let place = match action {
                        NetworkAction::Latency { .. } | NetworkAction::Loss { .. } => {
                            place.get("client")
                        }
                        _ => place,
                    };
                    p.at(place, unknown(name));
                }
            }
            Step::Wait(_) | Step::Broker(_) => {}
        }
    }
}

/// Spec ids (a file's or a step's) must each name a statement of a version
/// they can apply to, among `versions` (those `what` runs on).
fn spec_refs(p: &mut Problems, refs: &SpecRefs, versions: &[VersionName], what: &str) {
    for (version, id) in &refs.entries {
        if let Some(v) = version {
            if !versions.contains(v) {
                p.at_pos(
                    id.at,
                    format!("spec ids for {v}, but {what} does not run on {v}"),
                );
                continue;
            }
        }
        let candidates: Vec<VersionName> = match version {
            Some(v) => vec![*v],
            None => versions.to_vec(),
        };
        let known = candidates
            .iter()
            .any(|v| spec::statement(v.protocol(), &id.value).is_some());
        if !known {
            let listed: Vec<String> = candidates.iter().map(|v| v.to_string()).collect();
            p.at_pos(
                id.at,
                format!(
                    "{:?} is not a normative statement of MQTT {} (see spec/*.tsv)",
                    id.value,
                    listed.join(" or ")
                ),
            );
        }
    }
}

/// The versions a step runs on.
fn runs_on(versions: &[VersionName], only: Option<VersionName>) -> Vec<VersionName> {
    versions
        .iter()
        .copied()
        .filter(|v| only.is_none_or(|o| o == *v))
        .collect()
}

fn action_key(a: &ClientAction) -> &'static str {
    match a {
        ClientAction::Connect(_) => "connect",
        ClientAction::Subscribe(_) => "subscribe",
        ClientAction::Unsubscribe(_) => "unsubscribe",
        ClientAction::Publish(_) => "publish",
        ClientAction::Disconnect(_) => "disconnect",
        ClientAction::Send(_) => "send",
        ClientAction::Expect(_) => "expect",
        ClientAction::ExpectNothing(_) => "expect_nothing",
        ClientAction::ExpectClosed(_) => "expect_closed",
    }
}

/// `versions:` is not empty and names each version once.
pub(crate) fn versions(p: &mut Problems, versions: &[VersionName], place: Place) {
    if versions.is_empty() {
        p.at(place, "`versions` is empty: list 3.1.1, 5 or both");
    }
    let mut seen = BTreeSet::new();
    for (i, v) in versions.iter().enumerate() {
        if !seen.insert(v) {
            p.at(place.item(i), format!("version {v} is listed twice"));
        }
    }
}

/// The reference broker's settings (`broker:`), each at its place.
pub(crate) fn broker(p: &mut Problems, c: &reference_broker::Config, place: Place) {
    let before = p.count();
    if c.max_packet_size < 16 {
        p.at(
            place.get("max_packet_size"),
            "broker: max_packet_size must be at least 16",
        );
    }
    for (value, key) in [
        (c.receive_maximum, "receive_maximum"),
        (c.max_inflight, "max_inflight"),
    ] {
        if value == 0 {
            p.at(place.get(key), format!("broker: {key} must be at least 1"));
        }
    }
    if c.maximum_qos > 2 {
        p.at(place.get("maximum_qos"), "broker: maximum_qos is 0, 1 or 2");
    }
    let both = [VersionName::V311, VersionName::V5];
    for (key, filters) in [
        ("refused_filters", &c.refused_filters),
        ("refused_topics", &c.refused_topics),
    ] {
        for (i, f) in filters.iter().enumerate() {
            if let Err(e) = topic::plain_filter(f, &both) {
                p.at(place.get(key).item(i), format!("broker: {key}: {e}"));
            }
        }
    }
    // What the broker refuses that is not named above.
    if p.count() == before {
        if let Err(e) = c.validate() {
            p.at(place, format!("broker: {e}"));
        }
    }
}

/// The clients as declared: their names (from the document, so that a
/// client whose declaration did not load is still known to the steps),
/// and those whose declaration has a mistake.
struct Declared {
    names: BTreeSet<String>,
    faulty: BTreeSet<String>,
}

fn clients(p: &mut Problems, s: &Scenario, top: Place, written: Place) -> Declared {
    let place = top.get("clients");
    let mut names: BTreeSet<String> = written
        .node
        .entries()
        .iter()
        .map(|(k, _)| k.text.clone())
        .collect();
    names.extend(s.clients.keys().cloned());
    if names.is_empty() {
        p.at(written, "`clients` is empty");
    }
    for name in &names {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            p.at(
                written.key(name),
                format!("client name {name:?}: use letters, digits, - and _"),
            );
        } else if matches!(
            name.as_str(),
            "wait" | "network" | "broker" | "only" | "spec" | "advisory" | "when" | "repeat"
        ) {
            p.at(
                written.key(name),
                format!("client name {name:?} is a step keyword"),
            );
        }
    }
    let mut faulty = BTreeSet::new();
    for (name, c) in &s.clients {
        let before = p.count();
        client(p, name, c, &connects(s, name), place.get(name));
        if p.count() > before {
            faulty.insert(name.clone());
        }
    }
    Declared { names, faulty }
}

/// The versions on which a client's declared settings are sent: those of
/// its connect steps that are not raw bytes.
fn connects(s: &Scenario, client: &str) -> Vec<VersionName> {
    let mut out = BTreeSet::new();
    for step in &s.steps {
        if let Step::Client {
            name,
            action: ClientAction::Connect(c),
            only,
            ..
        } = &step.value
        {
            if name == client && c.raw.is_none() {
                out.extend(runs_on(&s.versions, *only));
            }
        }
    }
    out.into_iter().collect()
}

fn client(p: &mut Problems, name: &str, c: &ClientSpec, versions: &[VersionName], place: Place) {
    let fix = format!(
        "the connect steps of {name} run on {}: add `only: 5` to them, or `versions: [5]`",
        on(versions)
    );
    encoding::properties(
        p,
        place.get("properties"),
        &c.properties,
        PropertyContext::Packet(PacketType::Connect),
        versions,
        &fix,
    );
    if let Some(w) = &c.will {
        steps::will(p, place.get("will"), w, versions, &fix);
    }
    let strings = [
        (&c.client_id, "client_id", "the client identifier"),
        (&c.username, "username", "the user name"),
    ];
    for (value, key, what) in strings {
        if let Some(s) = value {
            if let Err(e) = encoding::string(what, s, versions) {
                p.at(place.get(key), e);
            }
        }
    }
    if let Some(pw) = &c.password {
        if let Err(e) = encoding::binary("the password", pw.len(), versions, "3.1.3.5") {
            p.at(place.get("password"), e);
        }
    }
    // Sent as CONNECT properties on 5.0 only; 0 is a protocol error.
    if versions.contains(&VersionName::V5) {
        let v5 = [VersionName::V5];
        if c.receive_maximum == Some(0) {
            p.at(
                place.get("receive_maximum"),
                format!(
                    "receive_maximum must not be 0{}",
                    cite(&v5, "", "3.1.2.11.3")
                ),
            );
        }
        if c.maximum_packet_size == Some(0) {
            p.at(
                place.get("maximum_packet_size"),
                format!(
                    "maximum_packet_size must not be 0{}",
                    cite(&v5, "", "3.1.2.11.4")
                ),
            );
        }
    }
}
