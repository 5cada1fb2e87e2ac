//! A scenario's `broker:` settings as a real broker's configuration: which
//! settings differ from the reference broker's defaults, and the lines a
//! profile writes for them.

use std::collections::BTreeMap;

use reference_broker::Config;
use serde::Deserialize;
use serde_json::Value;

/// `settings: yaml` writes the scenario's settings as the reference
/// broker's YAML config; a map gives, per setting, the line that sets it
/// (`{value}` is replaced). A scenario that changes a setting the profile
/// has no line for is skipped, with that reason.
#[derive(Clone, Debug, Default)]
pub enum Settings {
    #[default]
    None,
    Yaml,
    Lines(BTreeMap<String, String>),
}

impl<'de> Deserialize<'de> for Settings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Settings, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            Lines(BTreeMap<String, String>),
        }
        match Raw::deserialize(d)? {
            Raw::Word(w) if w == "yaml" => Ok(Settings::Yaml),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "settings: expected `yaml` or a map of setting → config line, found {w:?}"
            ))),
            Raw::Lines(m) => Ok(Settings::Lines(m)),
        }
    }
}

fn as_map(c: &Config) -> serde_json::Map<String, Value> {
    match serde_json::to_value(c) {
        Ok(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

/// Every setting's name.
pub fn names() -> Vec<String> {
    as_map(&Config::default()).keys().cloned().collect()
}

/// The settings `c` changes from the defaults, and those a scenario wrote
/// (`written`) even at their default value — a real broker has defaults
/// of its own, so a value the scenario relies on must be set — by name, in
/// name order.
pub fn changed(c: &Config, written: &[String]) -> Vec<(String, Value)> {
    let defaults = as_map(&Config::default());
    as_map(c)
        .into_iter()
        .filter(|(k, v)| defaults.get(k) != Some(v) || written.contains(k))
        .collect()
}

/// The text that replaces `{settings}` in the profile's files, or why the
/// profile cannot express these settings.
pub fn render(
    settings: &Settings,
    profile: &str,
    c: &Config,
    written: &[String],
) -> Result<String, String> {
    let changed = changed(c, written);
    match settings {
        // JSON is YAML: the reference broker reads it as its config file.
        Settings::Yaml => serde_json::to_string_pretty(c).map_err(|e| e.to_string()),
        Settings::None if changed.is_empty() => Ok(String::new()),
        Settings::None => Err(format!(
            "needs broker settings ({}); the {profile} profile cannot set any",
            keys(&changed)
        )),
        Settings::Lines(lines) => {
            let missing: Vec<(String, Value)> = changed
                .iter()
                .filter(|(k, _)| !lines.contains_key(k))
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "needs broker setting{} {}, which the {profile} profile cannot set",
                    if missing.len() == 1 { "" } else { "s" },
                    keys(&missing)
                ));
            }
            let mut out = String::new();
            for (k, v) in &changed {
                let value = match v {
                    Value::String(s) => s.clone(),
                    // A list of one (mosquitto's clientid_prefixes takes one).
                    Value::Array(a) if a.len() == 1 && a[0].is_string() => {
                        a[0].as_str().unwrap_or_default().to_owned()
                    }
                    Value::Array(a) => {
                        return Err(format!(
                            "needs broker setting {k}: {v}, and the {profile} profile \
                             sets {k} from one value, not {}",
                            a.len()
                        ))
                    }
                    other => other.to_string(),
                };
                out.push_str(&lines[k].replace("{value}", &value));
                out.push('\n');
            }
            Ok(out)
        }
    }
}

fn keys(v: &[(String, Value)]) -> String {
    let k: Vec<String> = v.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    k.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn only_changed_settings_are_written() {
        let lines = Settings::Lines(BTreeMap::from([
            ("maximum_qos".to_string(), "max_qos {value}".to_string()),
            (
                "retain_available".to_string(),
                "retain_available {value}".to_string(),
            ),
        ]));
        let c = Config {
            maximum_qos: 1,
            ..Config::default()
        };
        assert_eq!(render(&lines, "m", &c, &[]).unwrap(), "max_qos 1\n");
        assert_eq!(render(&lines, "m", &Config::default(), &[]).unwrap(), "");
        let c = Config {
            max_session_expiry: Some(10),
            ..Config::default()
        };
        let e = render(&lines, "m", &c, &[]).unwrap_err();
        assert!(e.contains("max_session_expiry: 10"), "{e}");
        assert!(e.contains("the m profile cannot set"), "{e}");
    }

    #[test]
    fn a_setting_written_at_its_default_value_is_still_a_setting() {
        // A real broker's default need not be the reference broker's: a
        // scenario that writes `maximum_qos: 2` relies on 2.
        let lines = Settings::Lines(BTreeMap::from([(
            "maximum_qos".to_string(),
            "max_qos {value}".to_string(),
        )]));
        let c = Config::default();
        assert_eq!(render(&lines, "m", &c, &[]).unwrap(), "");
        let written = vec!["maximum_qos".to_string()];
        assert_eq!(render(&lines, "m", &c, &written).unwrap(), "max_qos 2\n");
        let written = vec!["receive_maximum".to_string()];
        let e = render(&lines, "m", &c, &written).unwrap_err();
        assert!(e.contains("receive_maximum: 64"), "{e}");
        assert!(e.contains("the m profile cannot set"), "{e}");
    }

    #[test]
    fn a_list_of_one_is_written_as_its_value() {
        let lines = Settings::Lines(BTreeMap::from([(
            "client_id_prefixes".to_string(),
            "clientid_prefixes {value}".to_string(),
        )]));
        let mut c = Config {
            client_id_prefixes: vec!["capteur-".into()],
            ..Config::default()
        };
        assert_eq!(
            render(&lines, "m", &c, &[]).unwrap(),
            "clientid_prefixes capteur-\n"
        );
        c.client_id_prefixes.push("sonde-".into());
        let e = render(&lines, "m", &c, &[]).unwrap_err();
        assert!(e.contains("from one value, not 2"), "{e}");
    }

    #[test]
    fn yaml_settings_are_the_whole_config() {
        let c = Config {
            maximum_qos: 1,
            ..Config::default()
        };
        let text = render(&Settings::Yaml, "r", &c, &[]).unwrap();
        let back: Config = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, c);
    }
}
