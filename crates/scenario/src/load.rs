//! Reading scenario files: YAML errors and semantic errors alike come out as
//! `file:line:column: what was wrong`, never a panic.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::spec;
use crate::{ClientAction, NetworkAction, Scenario, SpecRefs, Step, VersionName};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    pub file: PathBuf,
    /// 1-based; 0 when the problem has no place in the file.
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

impl std::error::Error for LoadError {}

pub fn load_file(path: &Path) -> Result<Scenario, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError {
        file: path.to_owned(),
        line: 0,
        column: 0,
        message: format!("cannot read: {e}"),
    })?;
    load_str(&text, path)
}

/// Parses and checks a scenario; `path` is only used in errors.
pub fn load_str(text: &str, path: &Path) -> Result<Scenario, LoadError> {
    let scenario: Scenario = parse_yaml(text, path)?;
    check(&scenario).map_err(|(line, column, message)| LoadError {
        file: path.to_owned(),
        line,
        column,
        message,
    })?;
    Ok(scenario)
}

/// Any YAML document into `T`, with errors at file:line:column.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str, path: &Path) -> Result<T, LoadError> {
    serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        LoadError {
            file: path.to_owned(),
            line,
            column,
            message: first_line_without_location(&e.without_snippet().to_string()),
        }
    })
}

/// serde-saphyr's message starts with "error: line L column C: "; the
/// location is ours to print.
fn first_line_without_location(s: &str) -> String {
    let first = s.lines().next().unwrap_or(s);
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let first = match first.find(": ") {
        Some(i) if first[..i].starts_with("line ") => &first[i + 2..],
        _ => first,
    };
    // Some messages end with the location instead.
    let first = match first.rfind(" at line ") {
        Some(i) if first[i..].contains(", column ") => &first[..i],
        _ => first,
    };
    explain(first)
}

/// The parser names Rust types; say what to write instead.
fn explain(message: &str) -> String {
    let hint = match message {
        "invalid boolean" => "expected true or false",
        "invalid u8" => "expected a whole number from 0 to 255",
        "invalid u16" => "expected a whole number from 0 to 65535",
        "invalid u32" => "expected a whole number from 0 to 4294967295",
        "invalid u64" | "invalid usize" => "expected a whole number",
        "expected mapping start" => "expected a map, e.g. {connect: {}} or {key: value}",
        _ => return message.to_owned(),
    };
    format!("{message}: {hint}")
}

type Problem = (u64, u64, String);

fn check(s: &Scenario) -> Result<(), Problem> {
    let nowhere = |m: String| (0, 0, m);
    if s.name.trim().is_empty() {
        return Err(nowhere("`name` is empty".into()));
    }
    if s.versions.is_empty() {
        return Err(nowhere("`versions` is empty: list 3.1.1, 5 or both".into()));
    }
    let mut seen = BTreeSet::new();
    for v in &s.versions {
        if !seen.insert(v) {
            return Err(nowhere(format!("version {v} is listed twice")));
        }
    }
    check_spec(&s.spec, &s.versions)?;
    for r in &s.requires {
        if !crate::capability::is_known(&r.value) {
            return Err((
                r.referenced.line(),
                r.referenced.column(),
                format!(
                    "unknown capability {:?} in `requires`; known: {}",
                    r.value,
                    crate::capability::names()
                ),
            ));
        }
    }
    if let Err(e) = s.broker.validate() {
        return Err(nowhere(format!("broker: {e}")));
    }
    if s.clients.is_empty() {
        return Err(nowhere("`clients` is empty".into()));
    }
    for (name, c) in &s.clients {
        crate::props::build(&c.properties).map_err(|e| nowhere(format!("client {name}: {e}")))?;
        if let Some(w) = &c.will {
            check_will(w).map_err(|e| nowhere(format!("client {name}: {e}")))?;
        }
    }
    for name in s.clients.keys() {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(nowhere(format!(
                "client name {name:?}: use letters, digits, - and _"
            )));
        }
        if matches!(
            name.as_str(),
            "wait" | "network" | "broker" | "only" | "spec" | "advisory"
        ) {
            return Err(nowhere(format!("client name {name:?} is a step keyword")));
        }
    }
    if s.steps.is_empty() {
        return Err(nowhere("`steps` is empty".into()));
    }
    let known = |name: &str| s.clients.contains_key(name);
    for step in &s.steps {
        let at = |m: String| (step.referenced.line(), step.referenced.column(), m);
        let unknown = |name: &str| {
            at(format!(
                "unknown client {name:?}; the clients are: {}",
                s.clients.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        };
        match &step.value {
            Step::Client {
                name,
                action,
                only,
                spec,
                advisory,
            } => {
                if !known(name) {
                    return Err(unknown(name));
                }
                if let Some(v) = only {
                    if !s.versions.contains(v) {
                        return Err(at(format!(
                            "`only: {v}` but the scenario does not run on {v}"
                        )));
                    }
                }
                check_action(action).map_err(at)?;
                let runs_on = match only {
                    Some(v) => std::slice::from_ref(v),
                    None => s.versions.as_slice(),
                };
                check_spec(spec, runs_on)?;
                if let Some(a) = advisory {
                    if a.rule.trim().is_empty() {
                        return Err(at("`advisory` needs its `rule`".into()));
                    }
                    if a.readings.len() == 1 {
                        return Err(at(
                            "`advisory` readings: give each reading (two or more), or none".into(),
                        ));
                    }
                }
            }
            Step::Network(action) => {
                let name = match action {
                    NetworkAction::Cut(n)
                    | NetworkAction::Heal(n)
                    | NetworkAction::Stall(n)
                    | NetworkAction::Resume(n)
                    | NetworkAction::Reset(n)
                    | NetworkAction::Latency { client: n, .. }
                    | NetworkAction::Loss { client: n, .. } => n,
                };
                if !known(name) {
                    return Err(unknown(name));
                }
            }
            Step::Wait(_) | Step::Broker(_) => {}
        }
    }
    Ok(())
}

/// Spec ids (a file's or a step's) must each name a statement of a version
/// they can apply to, among `versions` (those the file or step runs on).
fn check_spec(refs: &SpecRefs, versions: &[VersionName]) -> Result<(), Problem> {
    for (version, id) in &refs.entries {
        let at = |m: String| (id.referenced.line(), id.referenced.column(), m);
        if let Some(v) = version {
            if !versions.contains(v) {
                return Err(at(format!(
                    "spec ids for {v}, but this does not run on {v}"
                )));
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
            return Err(at(format!(
                "{:?} is not a normative statement of MQTT {} (see spec/*.tsv)",
                id.value,
                listed.join(" or ")
            )));
        }
    }
    Ok(())
}

/// Property names and values must be known before the run reaches them.
fn check_expected_properties(
    what: &str,
    props: &std::collections::BTreeMap<String, super::values::Match<serde_value::Value>>,
) -> Result<(), String> {
    for (name, m) in props {
        let known =
            crate::props::names().contains(&name.as_str()) || name == "subscription_identifier";
        if !known {
            return Err(format!(
                "{what}: unknown property {name:?}; known: {}",
                crate::props::names().join(", ")
            ));
        }
        if let super::values::Match::Is(v) = m {
            crate::props::parse(name, v).map_err(|e| format!("{what}: {e}"))?;
        }
    }
    Ok(())
}

fn check_will(w: &crate::WillSpec) -> Result<(), String> {
    if w.qos > 2 {
        return Err(format!("will: QoS {} is not 0, 1 or 2", w.qos));
    }
    crate::props::build(&w.properties)
        .map(|_| ())
        .map_err(|e| format!("will: {e}"))
}

fn check_action(action: &ClientAction) -> Result<(), String> {
    let qos = |q: u8, what: &str| {
        if q > 2 {
            Err(format!(
                "{what}: QoS {q} is not 0, 1 or 2 (send raw bytes to test invalid QoS)"
            ))
        } else {
            Ok(())
        }
    };
    if let ClientAction::Expect(e) = action {
        match &e.packet {
            crate::PacketMatch::Publish(m) => {
                check_expected_properties("expect publish", &m.properties)?
            }
            crate::PacketMatch::ConnAck(m) => {
                check_expected_properties("expect connack", &m.properties)?
            }
            _ => {}
        }
    }
    match action {
        ClientAction::Publish(p) => {
            qos(p.qos, "publish")?;
            crate::props::build(&p.properties).map_err(|e| format!("publish: {e}"))?;
            if p.qos == 0 && p.id.is_some() {
                return Err("publish: a QoS 0 PUBLISH has no packet id".into());
            }
            if p.await_ack && p.qos == 0 {
                return Err("publish: `await` needs QoS 1 or 2".into());
            }
        }
        ClientAction::Subscribe(sub) => {
            for (f, o) in &sub.filters {
                qos(o.qos, &format!("subscribe {f:?}"))?;
                if o.retain_handling > 2 {
                    return Err(format!("subscribe {f:?}: retain_handling is 0, 1 or 2"));
                }
            }
            if let Some(expect) = &sub.expect {
                if expect.len() != sub.filters.len() {
                    return Err(format!(
                        "subscribe: `expect` lists {} reason codes for {} filters",
                        expect.len(),
                        sub.filters.len()
                    ));
                }
            }
        }
        ClientAction::Connect(c) => {
            crate::props::build(&c.properties).map_err(|e| format!("connect: {e}"))?;
            if let Some(w) = &c.will {
                check_will(w)?;
            }
            if let Some(m) = &c.expect {
                check_expected_properties("connect expect", &m.properties)?;
            }
            if let Some(hex) = &c.raw {
                super::values::parse_hex(hex)?;
                // The raw bytes are the whole CONNECT: fields would be ignored.
                let fields = c.clean_start.is_some()
                    || c.keep_alive.is_some()
                    || c.session_expiry.is_some()
                    || c.client_id.is_some()
                    || c.username.is_some()
                    || c.password.is_some()
                    || c.will.is_some()
                    || !c.properties.is_empty();
                if fields {
                    return Err(
                        "connect: `raw` is sent as it is; it cannot be combined with CONNECT fields"
                            .into(),
                    );
                }
            }
        }
        ClientAction::Send(crate::SendStep::Raw(hex)) => {
            super::values::parse_hex(hex)?;
        }
        _ => {}
    }
    Ok(())
}
