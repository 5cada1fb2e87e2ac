//! Many runs on one broker: each run's client ids and topics get a prefix
//! of their own, so no run sees another's messages, sessions or retained
//! messages; what a run leaves behind (retained messages, sessions) is
//! listed so it can be cleared afterwards. A scenario whose bytes cannot be
//! rewritten (raw packets, `$` topics, exact sizes) is not isolatable: it
//! gets a broker of its own, or the broker to itself.

use std::collections::BTreeMap;

use serde_value::Value;

use protocol::template::Template;
use scenario::values::{is_template, Match};
use scenario::{ClientAction, ClientSpec, PacketMatch, Scenario, SendStep, Step, WillSpec};

/// 3.1.1 servers need only accept client ids up to 23 characters
/// (MQTT-3.1.3-5).
const MAX_PORTABLE_CLIENT_ID: usize = 23;
/// Longest tag a session hands out (`g` + 4 + a base-36 run number of up to
/// 3 characters), and the `-` after it.
pub const MAX_TAG: usize = 8;

struct Prefix<'a> {
    topic: String,
    client: &'a str,
}

impl Prefix<'_> {
    fn topic(&self, t: &str) -> String {
        // An empty topic (a topic alias alone) stays empty.
        if t.is_empty() {
            String::new()
        } else {
            format!("{}{t}", self.topic)
        }
    }

    fn filter(&self, f: &str) -> String {
        match f.strip_prefix("$share/").and_then(|r| r.split_once('/')) {
            Some((group, rest)) => format!("$share/{group}/{}", self.topic(rest)),
            None => self.topic(f),
        }
    }

    fn client_id(&self, id: &str) -> Result<String, String> {
        if id.is_empty() {
            return Ok(String::new());
        }
        let prefixed = format!("{}{id}", self.client);
        if prefixed.len() > MAX_PORTABLE_CLIENT_ID {
            return Err(format!(
                "client id {id:?} with a prefix would be longer than {MAX_PORTABLE_CLIENT_ID} characters"
            ));
        }
        Ok(prefixed)
    }

    /// A raw template with its names prefixed.
    fn raw(&self, raw: &str) -> Result<String, String> {
        Ok(Template::parse(raw)?
            .prefixed(&self.topic, self.client)?
            .to_string())
    }

    fn properties(&self, props: &mut BTreeMap<String, Value>) {
        if let Some(Value::String(t)) = props.get_mut("response_topic") {
            *t = self.topic(t);
        }
    }

    fn will(&self, w: &mut WillSpec) {
        w.topic = self.topic(&w.topic);
        self.properties(&mut w.properties);
    }
}

/// Why the scenario's bytes cannot be rewritten, if they cannot.
pub fn not_isolatable(s: &Scenario) -> Option<String> {
    // `gauntlet/<tag>/` in front must still fit a UTF-8 string.
    let long = |t: &str| t.len() + "gauntlet/".len() + MAX_TAG + 1 > usize::from(u16::MAX);
    let too_long_topic = "a topic with a prefix would be longer than 65,535 bytes";
    // The topics or filters of one packet: what only a first level means
    // first, then any too long for a prefix.
    let names = |ts: &[&str]| {
        ts.iter()
            .find_map(|t| first_level_matters(t))
            .or_else(|| ts.iter().any(|t| long(t)).then_some(too_long_topic))
            .map(str::to_owned)
    };
    let too_long = |id: &str| id.len() + MAX_TAG + 1 > MAX_PORTABLE_CLIENT_ID;
    for (name, client) in &s.clients {
        let id = client.client_id.as_deref().unwrap_or(name);
        if too_long(id) {
            return Some(format!(
                "client id {id:?} with a prefix would be longer than {MAX_PORTABLE_CLIENT_ID} characters"
            ));
        }
        if client.maximum_packet_size.is_some()
            || client.properties.contains_key("maximum_packet_size")
        {
            return Some("it limits packet sizes, which prefixes would change".into());
        }
        if let Some(why) = client.will.as_ref().and_then(|w| names(&[&w.topic])) {
            return Some(why);
        }
    }
    for step in &s.steps {
        let Step::Client { action, .. } = &step.value else {
            continue;
        };
        match action {
            ClientAction::Send(SendStep::Raw(r)) if !is_template(r) => {
                return Some("it sends raw bytes (not a template with slots)".into())
            }
            ClientAction::Connect(c) if c.raw.as_deref().is_some_and(|r| !is_template(r)) => {
                return Some("it sends a raw CONNECT (not a template with slots)".into())
            }
            ClientAction::Connect(c) if c.client_id.as_deref().is_some_and(too_long) => {
                return Some(format!(
                    "a client id with a prefix would be longer than {MAX_PORTABLE_CLIENT_ID} characters"
                ))
            }
            ClientAction::Connect(c) if c.properties.contains_key("maximum_packet_size") => {
                return Some("it limits packet sizes, which prefixes would change".into())
            }
            ClientAction::Subscribe(sub) => {
                let filters: Vec<&str> = sub.filters.iter().map(|(f, _)| f.as_str()).collect();
                if let Some(why) = names(&filters) {
                    return Some(why);
                }
            }
            ClientAction::Unsubscribe(f) => {
                let filters: Vec<&str> = f.iter().map(String::as_str).collect();
                if let Some(why) = names(&filters) {
                    return Some(why);
                }
            }
            ClientAction::Publish(p) => {
                if let Some(why) = names(&[&p.topic]) {
                    return Some(why);
                }
            }
            _ => {}
        }
    }
    None
}

/// Why a topic or filter means something only as its first level, which a
/// prefix in front would change: `$` topics, which wildcards at the start of
/// a filter must not match (MQTT-4.7.2-1), and a leading `/`, an empty first
/// level that the prefix would make a middle one (a broker that drops a
/// leading `/` would go unseen).
fn first_level_matters(t: &str) -> Option<&'static str> {
    if t.starts_with('$') && !t.starts_with("$share/") {
        return Some("it uses $ topics");
    }
    let topic = match t.strip_prefix("$share/").and_then(|r| r.split_once('/')) {
        Some((_, rest)) => rest,
        None => t,
    };
    topic
        .starts_with('/')
        .then_some("it uses a topic starting with `/` (an empty first level), which a prefix would make a middle level")
}

/// The scenario with every topic under `gauntlet/<tag>/` and every client
/// id starting `<tag>-`. `tag` must be a valid topic level.
pub fn isolate(s: &Scenario, tag: &str) -> Result<Scenario, String> {
    if let Some(why) = not_isolatable(s) {
        return Err(why);
    }
    let client_prefix = format!("{tag}-");
    let p = Prefix {
        topic: format!("gauntlet/{tag}/"),
        client: &client_prefix,
    };
    let mut s = s.clone();
    for (name, c) in &mut s.clients {
        let id = c.client_id.clone().unwrap_or_else(|| name.clone());
        c.client_id = Some(p.client_id(&id)?);
        if let Some(w) = &mut c.will {
            p.will(w);
        }
    }
    for step in &mut s.steps {
        let Step::Client { action, .. } = &mut step.value else {
            continue;
        };
        match action {
            ClientAction::Send(SendStep::Raw(r)) => *r = p.raw(r)?,
            ClientAction::Connect(c) => {
                if let Some(r) = &mut c.raw {
                    *r = p.raw(r)?;
                }
                if let Some(id) = &c.client_id {
                    c.client_id = Some(p.client_id(id)?);
                }
                if let Some(w) = &mut c.will {
                    p.will(w);
                }
            }
            ClientAction::Subscribe(sub) => {
                for (f, _) in &mut sub.filters {
                    *f = p.filter(f);
                }
            }
            ClientAction::Unsubscribe(filters) => {
                for f in filters {
                    *f = p.filter(f);
                }
            }
            ClientAction::Publish(publish) => {
                publish.topic = p.topic(&publish.topic);
                p.properties(&mut publish.properties);
            }
            ClientAction::Expect(e) => {
                if let PacketMatch::Publish(m) = &mut e.packet {
                    if let Match::Is(t) = &m.topic {
                        m.topic = Match::Is(p.topic(t));
                    }
                    if let Some(Match::Is(Value::String(t))) =
                        m.properties.get_mut("response_topic")
                    {
                        *t = p.topic(t);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(s)
}

/// Gives clients that name no user these credentials (a broker given by
/// URL may require them).
pub fn with_credentials(s: &mut Scenario, username: Option<&str>, password: Option<&str>) {
    for c in s.clients.values_mut() {
        fill(c, username, password);
    }
}

fn fill(c: &mut ClientSpec, username: Option<&str>, password: Option<&str>) {
    if c.username.is_none() {
        c.username = username.map(str::to_owned);
        if c.password.is_none() {
            c.password = password.map(str::to_owned);
        }
    }
}

/// What a run may leave on the broker: topics it retained a message on,
/// and the client ids whose sessions it may have kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Leftovers {
    pub retained: Vec<String>,
    pub client_ids: Vec<String>,
}

pub fn leftovers(s: &Scenario) -> Leftovers {
    let mut retained = Vec::new();
    let mut client_ids = Vec::new();
    for (name, c) in &s.clients {
        client_ids.push(c.client_id.clone().unwrap_or_else(|| name.clone()));
        if let Some(w) = c.will.as_ref().filter(|w| w.retain) {
            retained.push(w.topic.clone());
        }
    }
    for step in &s.steps {
        let Step::Client { action, .. } = &step.value else {
            continue;
        };
        match action {
            ClientAction::Publish(p) if p.retain && !p.topic.is_empty() => {
                retained.push(p.topic.clone())
            }
            // A broker that wrongly takes a raw PUBLISH may retain it.
            ClientAction::Send(SendStep::Raw(r)) if is_template(r) => {
                if let Ok(t) = Template::parse(r) {
                    retained.extend(
                        t.topics()
                            .into_iter()
                            .filter_map(|b| String::from_utf8(b).ok())
                            .filter(|t| !t.is_empty() && protocol::topic::validate_name(t).is_ok()),
                    );
                }
            }
            ClientAction::Connect(c) => {
                if let Some(id) = &c.client_id {
                    client_ids.push(id.clone());
                }
                if let Some(w) = c.will.as_ref().filter(|w| w.retain) {
                    retained.push(w.topic.clone());
                }
            }
            _ => {}
        }
    }
    retained.sort();
    retained.dedup();
    client_ids.retain(|id| !id.is_empty());
    client_ids.sort();
    client_ids.dedup();
    Leftovers {
        retained,
        client_ids,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn load(text: &str) -> Scenario {
        scenario::load_str(text, Path::new("t.yaml")).unwrap()
    }

    const SCENARIO: &str = r##"
name: t
versions: [5]
clients:
  sensor: { will: { topic: maison/etat, payload: x, retain: true } }
  phone: { client_id: dashboard }
steps:
  - phone: { connect: {} }
  - phone: { subscribe: { "maison/+/temperature": 1, "$share/g/maison/#": 1, "#": 0 } }
  - sensor: { connect: { client_id: capteur } }
  - sensor: { publish: { topic: maison/salon/temperature, payload: "1", retain: true, properties: { response_topic: rep/x } } }
  - phone: { expect: { publish: { topic: maison/salon/temperature, properties: { response_topic: rep/x } } } }
  - phone: { unsubscribe: ["maison/+/temperature"] }
"##;

    #[test]
    fn topics_filters_and_client_ids_get_the_prefix() {
        let s = isolate(&load(SCENARIO), "gab1").unwrap();
        let text = format!("{:?}", s);
        assert_eq!(
            s.clients["phone"].client_id.as_deref(),
            Some("gab1-dashboard")
        );
        assert_eq!(
            s.clients["sensor"].client_id.as_deref(),
            Some("gab1-sensor")
        );
        assert_eq!(
            s.clients["sensor"].will.as_ref().unwrap().topic,
            "gauntlet/gab1/maison/etat"
        );
        for wanted in [
            "\"gauntlet/gab1/maison/+/temperature\"",
            "\"$share/g/gauntlet/gab1/maison/#\"",
            "\"gauntlet/gab1/#\"",
            "\"gab1-capteur\"",
            "\"gauntlet/gab1/rep/x\"",
        ] {
            assert!(text.contains(wanted), "{wanted} in {text}");
        }
        assert!(!text.contains("\"maison/"), "{text}");
        let left = leftovers(&s);
        assert_eq!(
            left.retained,
            [
                "gauntlet/gab1/maison/etat",
                "gauntlet/gab1/maison/salon/temperature"
            ]
        );
        assert_eq!(
            left.client_ids,
            ["gab1-capteur", "gab1-dashboard", "gab1-sensor"]
        );
    }

    #[test]
    fn raw_bytes_dollar_topics_and_long_ids_are_not_isolatable() {
        let raw = SCENARIO.replace(
            "  - phone: { connect: {} }",
            "  - phone: { connect: {} }\n  - phone: { send: { raw: \"c0 00\" } }",
        );
        assert_eq!(
            not_isolatable(&load(&raw)).unwrap(),
            "it sends raw bytes (not a template with slots)"
        );
        let dollar = SCENARIO.replace("maison/salon/temperature, payload", "$SYS/x, payload");
        assert_eq!(not_isolatable(&load(&dollar)).unwrap(), "it uses $ topics");
        let long = SCENARIO.replace("client_id: dashboard", "client_id: dashboard-du-salon");
        assert!(not_isolatable(&load(&long))
            .unwrap()
            .contains("longer than 23"));
        // A topic that still fits alone but not behind `gauntlet/<tag>/`.
        let topic = "t".repeat(65_535 - "gauntlet/".len() - MAX_TAG);
        let deep = SCENARIO.replace(
            "maison/salon/temperature, payload",
            &format!("{topic}, payload"),
        );
        assert!(not_isolatable(&load(&deep))
            .unwrap()
            .contains("longer than 65,535 bytes"));
        let fits = SCENARIO.replace(
            "maison/salon/temperature, payload",
            &format!("{}, payload", &topic[1..]),
        );
        assert_eq!(not_isolatable(&load(&fits)), None);
        assert_eq!(not_isolatable(&load(SCENARIO)), None);
    }

    #[test]
    fn a_leading_slash_is_not_isolatable_an_inner_empty_level_is() {
        let why = "it uses a topic starting with `/` (an empty first level), which a prefix would make a middle level";
        for (from, to) in [
            ("maison/salon/temperature, payload", "/finance, payload"),
            ("\"maison/+/temperature\": 1", "\"/+\": 1"),
            ("\"$share/g/maison/#\"", "\"$share/g//#\""),
            ("[\"maison/+/temperature\"]", "[\"/+\"]"),
            ("topic: maison/etat", "topic: /etat"),
        ] {
            let text = SCENARIO.replace(from, to);
            assert_ne!(text, SCENARIO, "{from}");
            assert_eq!(not_isolatable(&load(&text)).as_deref(), Some(why), "{to}");
        }
        let inner = SCENARIO.replace(
            "maison/salon/temperature, payload",
            "maison//temperature, payload",
        );
        assert_eq!(not_isolatable(&load(&inner)), None);
    }

    #[test]
    fn raw_templates_are_isolated_slot_by_slot() {
        let raw = SCENARIO.replace(
            "  - phone: { connect: {} }",
            "  - phone: { connect: {} }\n  - phone: { send: { raw: \"33 {len} {topic 'a/b'} 00 01 '!'\" } }",
        );
        let s = load(&raw);
        assert_eq!(not_isolatable(&s), None);
        let isolated = isolate(&s, "gab1").unwrap();
        let sent = isolated
            .steps
            .iter()
            .find_map(|st| match &st.value {
                Step::Client {
                    action: ClientAction::Send(SendStep::Raw(r)),
                    ..
                } => Some(r.clone()),
                _ => None,
            })
            .unwrap();
        let bytes = scenario::values::raw_bytes(&sent).unwrap();
        let topic = b"gauntlet/gab1/a/b";
        assert_eq!(bytes[1] as usize, 2 + topic.len() + 3);
        assert_eq!(&bytes[4..4 + topic.len()], topic);
        // A broker that wrongly retains it is cleaned up after.
        assert!(leftovers(&isolated)
            .retained
            .contains(&"gauntlet/gab1/a/b".to_string()));
    }
}
