//! The normative statements of MQTT 3.1.1 and 5.0 (spec/*.tsv), compiled in,
//! so scenarios can be checked against them and coverage counted.

use std::sync::OnceLock;

use protocol::Version;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub id: &'static str,
    pub section: &'static str,
    pub text: &'static str,
}

const V311: &str = include_str!("../../../spec/mqtt-3.1.1-statements.tsv");
const V5: &str = include_str!("../../../spec/mqtt-5.0-statements.tsv");

fn parse(tsv: &'static str) -> Vec<Statement> {
    tsv.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.splitn(3, '\t');
            Some(Statement {
                id: cols.next()?,
                section: cols.next()?,
                text: cols.next()?,
            })
        })
        .collect()
}

/// Every statement of `version`, in the order of the specification.
pub fn statements(version: Version) -> &'static [Statement] {
    static S311: OnceLock<Vec<Statement>> = OnceLock::new();
    static S5: OnceLock<Vec<Statement>> = OnceLock::new();
    match version {
        Version::V311 => S311.get_or_init(|| parse(V311)),
        Version::V5 => S5.get_or_init(|| parse(V5)),
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
}
