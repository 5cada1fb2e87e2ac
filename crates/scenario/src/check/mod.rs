//! What a loaded document must also be, beyond its types: every mistake of
//! a scenario or workload that would otherwise surface only when it runs
//! (as a broker failure, or as the codec refusing a packet), found before
//! anything runs, each at the value it is about and naming the rule of the
//! specification it breaks where there is one.
//!
//! Deliberately invalid packets are written as bytes (`send: {raw: ..}`,
//! `connect: {raw: ..}`), which these checks leave alone; everything
//! written as fields must be a packet a correct client can send.

mod encoding;
mod packets;
mod scenario;
mod steps;
mod topic;
mod workload;

pub(crate) use scenario::scenario_of_file;
pub(crate) use workload::workload;

pub(crate) use crate::load::Read;
use crate::tree::{Place, Pos};
use crate::VersionName;

/// The mistakes found in one document, each with its place.
#[derive(Default)]
pub(crate) struct Problems {
    pub list: Vec<(Pos, String)>,
}

impl Problems {
    pub fn at(&mut self, place: Place, message: impl Into<String>) {
        self.list.push((place.pos(), message.into()));
    }

    pub fn at_pos(&mut self, pos: Pos, message: impl Into<String>) {
        self.list.push((pos, message.into()));
    }

    pub fn count(&self) -> usize {
        self.list.len()
    }
}

/// The rule to cite for the versions a value is used on: `v311` and `v5`
/// are statement ids (`MQTT-4.7.3-1`) or section numbers (`3.1.2.11.3`).
/// `[MQTT-4.7.3-1]`; `[MQTT-4.7.1-2 in 3.1.1, MQTT-4.7.1-1 in 5.0]` when the
/// versions number it differently; `""` when neither has one.
pub(crate) fn cite(versions: &[VersionName], v311: &str, v5: &str) -> String {
    let one = |v: VersionName| {
        let id = match v {
            VersionName::V311 => v311,
            VersionName::V5 => v5,
        };
        if id.is_empty() || id.starts_with("MQTT-") {
            id.to_owned()
        } else {
            format!("MQTT {} §{id}", v.protocol())
        }
    };
    let mut ids: Vec<(VersionName, String)> = versions
        .iter()
        .map(|&v| (v, one(v)))
        .filter(|(_, id)| !id.is_empty())
        .collect();
    ids.dedup_by(|a, b| a.1 == b.1);
    match ids.as_slice() {
        [] => String::new(),
        [(_, id)] => format!(" [{id}]"),
        many => {
            let parts: Vec<String> = many
                .iter()
                .map(|(v, id)| {
                    if id.starts_with("MQTT-") {
                        format!("{id} in {}", v.protocol())
                    } else {
                        id.clone()
                    }
                })
                .collect();
            format!(" [{}]", parts.join(", "))
        }
    }
}

/// "3.1.1", "5.0" or "3.1.1 and 5.0".
pub(crate) fn on(versions: &[VersionName]) -> String {
    let names: Vec<String> = versions.iter().map(|v| v.protocol().to_string()).collect();
    names.join(" and ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_cited_per_version() {
        use VersionName::{V311, V5};
        assert_eq!(
            cite(&[V311, V5], "MQTT-4.7.3-1", "MQTT-4.7.3-1"),
            " [MQTT-4.7.3-1]"
        );
        assert_eq!(
            cite(&[V311, V5], "MQTT-4.7.1-2", "MQTT-4.7.1-1"),
            " [MQTT-4.7.1-2 in 3.1.1, MQTT-4.7.1-1 in 5.0]"
        );
        assert_eq!(cite(&[V5], "", "3.1.2.11.3"), " [MQTT 5.0 §3.1.2.11.3]");
        assert_eq!(cite(&[V311], "", "3.1.2.11.3"), "");
    }
}
