//! The normative statements of MQTT 3.1.1 and 5.0 (spec/*-statements.tsv)
//! and who each one binds (spec/*-classes.tsv), compiled in, so scenarios
//! can be checked against them and coverage counted.

use std::sync::OnceLock;

use protocol::Version;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub id: &'static str,
    pub section: &'static str,
    pub text: &'static str,
    /// Who it binds, as spec/*-classes.tsv says: `broker`, `broker-config`
    /// (a broker with a setting), `client`, `transport`, `not-observable`
    /// or `definition` (empty if unclassed).
    pub class: &'static str,
}

impl Statement {
    /// A statement a broker can be caught breaking: what coverage counts.
    pub fn binds_broker(&self) -> bool {
        matches!(self.class, "broker" | "broker-config")
    }
}

const V311: &str = include_str!("../../../spec/mqtt-3.1.1-statements.tsv");
const V5: &str = include_str!("../../../spec/mqtt-5.0-statements.tsv");
const V311_CLASSES: &str = include_str!("../../../spec/mqtt-3.1.1-classes.tsv");
const V5_CLASSES: &str = include_str!("../../../spec/mqtt-5.0-classes.tsv");

fn parse(tsv: &'static str, classes: &'static str) -> Vec<Statement> {
    let class_of = |id: &str| {
        classes
            .lines()
            .skip(1)
            .find_map(|l| {
                let mut cols = l.splitn(3, '\t');
                (cols.next()? == id).then(|| cols.next()).flatten()
            })
            .unwrap_or("")
    };
    tsv.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.splitn(3, '\t');
            let id = cols.next()?;
            Some(Statement {
                id,
                section: cols.next()?,
                text: cols.next()?,
                class: class_of(id),
            })
        })
        .collect()
}

/// Every statement of `version`, in the order of the specification.
pub fn statements(version: Version) -> &'static [Statement] {
    static S311: OnceLock<Vec<Statement>> = OnceLock::new();
    static S5: OnceLock<Vec<Statement>> = OnceLock::new();
    match version {
        Version::V311 => S311.get_or_init(|| parse(V311, V311_CLASSES)),
        Version::V5 => S5.get_or_init(|| parse(V5, V5_CLASSES)),
    }
}

pub fn statement(version: Version, id: &str) -> Option<&'static Statement> {
    statements(version).iter().find(|s| s.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_lists_load() {
        assert_eq!(statements(Version::V311).len(), 141);
        assert_eq!(statements(Version::V5).len(), 251);
        let s = statement(Version::V5, "MQTT-3.1.2-3").unwrap();
        assert_eq!(s.section, "3.1.2.3");
        assert!(statement(Version::V311, "MQTT-9.9.9-9").is_none());
    }

    #[test]
    fn every_statement_has_its_class() {
        for v in [Version::V311, Version::V5] {
            for s in statements(v) {
                assert!(
                    matches!(
                        s.class,
                        "broker"
                            | "broker-config"
                            | "client"
                            | "transport"
                            | "not-observable"
                            | "definition"
                    ),
                    "{v:?} {}: {:?}",
                    s.id,
                    s.class
                );
            }
        }
        let broker = |v| statements(v).iter().filter(|s| s.binds_broker()).count();
        assert_eq!((broker(Version::V311), broker(Version::V5)), (102, 198));
    }
}
