//! Broker profiles (`brokers/*.yaml`): how to start a broker on a free port
//! with a scenario's settings, how to tell it is ready, how to stop it, and
//! what it can do. The profiles in `brokers/` are built into the binary, so
//! `--broker mosquitto` works from any directory; a path to a YAML file
//! loads another.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use scenario::load::parse_yaml;
use scenario::values::Dur;
use scenario::{LoadError, VersionName};

use super::settings::Settings;

/// The profiles that come with gauntlet: (name, file text).
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        "reference",
        include_str!("../../../../brokers/reference.yaml"),
    ),
    (
        "mosquitto",
        include_str!("../../../../brokers/mosquitto.yaml"),
    ),
    ("aedes", include_str!("../../../../brokers/aedes.yaml")),
    ("amqtt", include_str!("../../../../brokers/amqtt.yaml")),
    ("rumqttd", include_str!("../../../../brokers/rumqttd.yaml")),
];

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// MQTT versions the broker speaks.
    pub versions: Vec<VersionName>,
    /// What it can do beyond what every broker must (see `gauntlet
    /// capabilities`).
    #[serde(default)]
    pub capabilities: BTreeSet<String>,
    /// What the broker keeps across a restart: `always` (a crash too),
    /// `on_stop` (a clean shutdown only) or `nothing`. Absent: `always`
    /// with the `persistence` capability, else `nothing`.
    #[serde(default)]
    pub persistence: Option<scenario::workload::Persistence>,
    /// How to install the broker on first use (absent: it is on PATH).
    #[serde(default)]
    pub install: Option<Install>,
    pub start: Start,
    /// How a scenario's `broker:` settings reach the broker.
    #[serde(default)]
    pub settings: Settings,
    #[serde(default)]
    pub ready: Ready,
    #[serde(default)]
    pub stop: Stop,
    /// A command that prints the broker's version (for reports).
    #[serde(default)]
    pub version_command: Option<Vec<String>>,
    /// Whether runs may share one broker, each under prefixes of its own
    /// (default). `false` gives every run a broker of its own, for a broker
    /// that lets one client's state reach another whatever the prefixes —
    /// on a shared one, its leak would fail whichever runs it happened to
    /// reach, not the one that shows it.
    #[serde(default = "shared_by_default")]
    pub shared: bool,
}

fn shared_by_default() -> bool {
    true
}

/// Steps (commands) that install the broker into `{cache}`, a folder of its
/// own in gauntlet's cache named `key`; they run once, on first use.
/// Change `key` (say, with the version) to install afresh.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Install {
    pub key: String,
    pub steps: Vec<Vec<String>>,
    /// Longest the whole install may take.
    #[serde(default = "twenty_minutes")]
    pub timeout: Dur,
}

fn twenty_minutes() -> Dur {
    Dur(std::time::Duration::from_secs(20 * 60))
}

/// `command` and every file's text may use `{cache}` (the installed
/// broker's folder, with `install`), `{port5}` (a second port, where MQTT
/// 5.0 clients connect, for a broker with a listener per version), `{port}` (the port it must
/// listen on, on 127.0.0.1), `{dir}` (a fresh directory of its own, kept
/// across restarts) and, in files, `{settings}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Start {
    pub command: Vec<String>,
    /// File name (in `{dir}`) → template, written before the first start.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// What `restart: {keep_store: false}` deletes (a path in `{dir}`).
    #[serde(default)]
    pub store: Option<String>,
}

/// The broker is ready when its port accepts a connection (and, if given,
/// its output contains `log`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ready {
    #[serde(default)]
    pub log: Option<String>,
    #[serde(default = "ten_seconds")]
    pub timeout: Dur,
}

impl Default for Ready {
    fn default() -> Ready {
        Ready {
            log: None,
            timeout: ten_seconds(),
        }
    }
}

/// Stopping is SIGTERM, then SIGKILL after `timeout`; a `crash` step is
/// SIGKILL at once.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stop {
    #[serde(default = "five_seconds")]
    pub timeout: Dur,
}

impl Default for Stop {
    fn default() -> Stop {
        Stop {
            timeout: five_seconds(),
        }
    }
}

fn ten_seconds() -> Dur {
    Dur(std::time::Duration::from_secs(10))
}

fn five_seconds() -> Dur {
    Dur(std::time::Duration::from_secs(5))
}

impl Profile {
    /// `name` is a built-in profile, or a path to a profile file.
    pub fn find(name: &str) -> Result<Profile, String> {
        let path = Path::new(name);
        if name.ends_with(".yaml") || name.ends_with(".yml") || path.exists() {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("broker profile {}: {e}", path.display()))?;
            return Profile::parse(&text, path).map_err(|e| e.to_string());
        }
        match BUILT_IN.iter().find(|(n, _)| *n == name) {
            Some((n, text)) => Profile::parse(text, &PathBuf::from(format!("brokers/{n}.yaml")))
                .map_err(|e| e.to_string()),
            None => {
                let names: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
                Err(format!(
                    "unknown broker {name:?}: use a URL (mqtt://host:port, mqtts://host:port), \
                     a profile file, or one of: {}",
                    names.join(", ")
                ))
            }
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<Profile, LoadError> {
        let p: Profile = parse_yaml(text, path)?;
        let problem = |message: String| LoadError {
            file: path.to_owned(),
            line: 0,
            column: 0,
            message,
        };
        if p.start.command.is_empty() {
            return Err(problem("start.command is empty".into()));
        }
        if let Some(install) = &p.install {
            if install.steps.iter().any(Vec::is_empty) {
                return Err(problem("install.steps: a step is an empty command".into()));
            }
            let valid = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
            if install.key.is_empty()
                || !install.key.chars().all(valid)
                || install.key.starts_with('.')
            {
                return Err(problem(format!(
                    "install.key {:?}: a folder name of letters, digits, '.', '_' and '-'",
                    install.key
                )));
            }
        }
        if let Some(c) = p
            .capabilities
            .iter()
            .find(|c| !scenario::capability::is_known(c))
        {
            return Err(problem(format!(
                "unknown capability {c:?}; known: {}",
                scenario::capability::names()
            )));
        }
        if p.has("persistence")
            && p.persistence
                .is_some_and(|k| k != scenario::workload::Persistence::Always)
        {
            return Err(problem(
                "persistence: the `persistence` capability promises that everything survives \
                 a crash; a profile that keeps less says so without the capability"
                    .into(),
            ));
        }
        if let Settings::Lines(lines) = &p.settings {
            let known = super::settings::names();
            if let Some(k) = lines.keys().find(|k| !known.contains(k)) {
                return Err(problem(format!(
                    "settings: unknown setting {k:?}; known: {}",
                    known.join(", ")
                )));
            }
        }
        Ok(p)
    }

    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.contains(capability)
    }

    /// What the broker keeps across a restart.
    pub fn promise(&self) -> scenario::workload::Persistence {
        use scenario::workload::Persistence;
        self.persistence.unwrap_or(if self.has("persistence") {
            Persistence::Always
        } else {
            Persistence::Nothing
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_profile_loads() {
        for (name, _) in BUILT_IN {
            let p = Profile::find(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(&p.name, name);
        }
        let aedes = Profile::find("aedes").unwrap();
        let install = aedes.install.expect("aedes installs from npm");
        assert!(install.steps[0].iter().any(|a| a.starts_with("aedes@1")));
        assert_eq!(aedes.versions, [VersionName::V311]);
    }

    #[test]
    fn a_profile_promises_what_survives_a_restart() {
        use scenario::workload::Persistence;
        assert_eq!(
            Profile::find("mosquitto").unwrap().promise(),
            Persistence::Always
        );
        assert_eq!(
            Profile::find("aedes").unwrap().promise(),
            Persistence::Nothing
        );
        let text = "name: x\nversions: [5]\ncapabilities: [restart]\npersistence: on_stop\n\
                    start: { command: [x] }\n";
        let p = Profile::parse(text, Path::new("x.yaml")).unwrap();
        assert_eq!(p.promise(), Persistence::OnStop);
        let both = "name: x\nversions: [5]\ncapabilities: [restart, persistence]\n\
                    persistence: nothing\nstart: { command: [x] }\n";
        let e = Profile::parse(both, Path::new("x.yaml")).unwrap_err();
        assert!(e.to_string().contains("persistence"), "{e}");
    }

    #[test]
    fn an_install_key_must_be_a_plain_folder_name() {
        let text = "name: x\nversions: [5]\ninstall: { key: ../up, steps: [[true]] }\n\
                    start: { command: [x] }\n";
        let e = Profile::parse(text, Path::new("x.yaml")).unwrap_err();
        assert!(e.to_string().contains("install.key \"../up\""), "{e}");
    }
}
