//! Which normative statements the library asserts, per version: a statement
//! counts only where a passing run asserted it — an expectation of a step
//! that cites it held, or a checker that stands for it found nothing — not
//! because a file lists it. Only what binds a broker is counted (`broker`
//! and `broker-config` in spec/*-classes.tsv).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use scenario::spec;
use scenario::VersionName;

use crate::outcome::Outcome;
use crate::results::Record;

/// Coverage of one version's broker statements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionCoverage {
    pub version: VersionName,
    /// Statement id → the passing runs that assert it.
    pub asserted: BTreeMap<&'static str, Vec<String>>,
    /// Broker statements no passing run asserts, in specification order.
    pub missing: Vec<&'static str>,
    /// The version's broker statements.
    pub total: usize,
}

impl VersionCoverage {
    pub fn percent(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            100.0 * self.asserted.len() as f64 / self.total as f64
        }
    }
}

/// A run that passed, with or without advice: what it asserted held.
fn passed(r: &Record) -> bool {
    matches!(
        r.outcome,
        Outcome::Pass | Outcome::Advisory | Outcome::Fixed
    )
}

/// Counts, for each version, the broker statements the passing runs of
/// that version asserted.
pub fn compute(records: &[Record]) -> Vec<VersionCoverage> {
    [VersionName::V311, VersionName::V5]
        .into_iter()
        .map(|version| {
            let statements = spec::statements(version.protocol());
            let label = version.to_string();
            let mut asserted: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
            for r in records
                .iter()
                .filter(|r| passed(r) && r.version.as_deref() == Some(label.as_str()))
            {
                for id in &r.asserted {
                    if let Some(st) = statements.iter().find(|s| s.id == id && s.binds_broker()) {
                        asserted.entry(st.id).or_default().push(r.name.clone());
                    }
                }
            }
            let broker: Vec<&spec::Statement> =
                statements.iter().filter(|s| s.binds_broker()).collect();
            let missing = broker
                .iter()
                .map(|s| s.id)
                .filter(|id| !asserted.contains_key(id))
                .collect();
            VersionCoverage {
                version,
                asserted,
                missing,
                total: broker.len(),
            }
        })
        .collect()
}

/// The chapter and section a statement belongs to: `3.1` for 3.1.2.3.
fn section_of(section: &str) -> String {
    section.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// One section's tally for the Markdown.
struct Section {
    name: String,
    asserted: usize,
    of: usize,
    missing: Vec<&'static str>,
}

/// Coverage as Markdown: per version the figure, then per section what is
/// asserted and which statements are not.
pub fn markdown(coverage: &[VersionCoverage], note: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Spec coverage\n");
    let _ = writeln!(
        s,
        "A statement counts when a passing run of the library asserts it: a step that \
         cites it in `spec:` held, or a workload checker that stands for it found nothing. \
         Only statements that bind a broker count (`broker` and `broker-config` in \
         spec/*-classes.tsv). {note}\n"
    );
    let _ = writeln!(s, "| version | asserted | of | share |");
    let _ = writeln!(s, "| --- | ---: | ---: | ---: |");
    for c in coverage {
        let _ = writeln!(
            s,
            "| MQTT {} | {} | {} | {:.0}% |",
            c.version,
            c.asserted.len(),
            c.total,
            c.percent()
        );
    }
    for c in coverage {
        let _ = writeln!(s, "\n## MQTT {}\n", c.version);
        let mut by_section: BTreeMap<(u32, u32), Section> = BTreeMap::new();
        for st in spec::statements(c.version.protocol())
            .iter()
            .filter(|s| s.binds_broker())
        {
            let name = section_of(st.section);
            let mut parts = name.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
            let key = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
            let e = by_section.entry(key).or_insert(Section {
                name,
                asserted: 0,
                of: 0,
                missing: Vec::new(),
            });
            e.of += 1;
            if c.asserted.contains_key(st.id) {
                e.asserted += 1;
            } else {
                e.missing.push(st.id);
            }
        }
        let _ = writeln!(s, "| section | asserted | of | not asserted |");
        let _ = writeln!(s, "| --- | ---: | ---: | --- |");
        for e in by_section.values() {
            let _ = writeln!(
                s,
                "| §{} | {} | {} | {} |",
                e.name,
                e.asserted,
                e.of,
                e.missing.join(", ")
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn record(name: &str, version: &str, outcome: Outcome, asserted: &[&str]) -> Record {
        let mut r = Record::new(name, Path::new("x.yaml"), "t", outcome, None);
        r.version = Some(version.to_owned());
        r.asserted = asserted.iter().map(|s| s.to_string()).collect();
        r
    }

    #[test]
    fn only_what_passing_runs_asserted_of_broker_statements_counts() {
        let records = [
            // Passing, asserting a broker statement of 3.1.1.
            record("a [v3.1.1]", "3.1.1", Outcome::Pass, &["MQTT-3.1.2-24"]),
            // A failing run asserts nothing.
            record("b [v3.1.1]", "3.1.1", Outcome::Fail, &["MQTT-3.3.1-5"]),
            // A client statement does not count.
            record("c [v3.1.1]", "3.1.1", Outcome::Pass, &["MQTT-4.6.0-1"]),
            // An advisory run's asserted statements held.
            record("d [v5]", "5", Outcome::Advisory, &["MQTT-3.3.2-3"]),
            // A run that cites nothing in its steps covers nothing.
            record("e [v5]", "5", Outcome::Pass, &[]),
        ];
        let c = compute(&records);
        let (v311, v5) = (&c[0], &c[1]);
        assert_eq!((v311.total, v5.total), (102, 198));
        assert_eq!(
            v311.asserted.keys().copied().collect::<Vec<_>>(),
            ["MQTT-3.1.2-24"]
        );
        assert_eq!(v311.asserted["MQTT-3.1.2-24"], ["a [v3.1.1]"]);
        assert!(v311.missing.contains(&"MQTT-3.3.1-5"));
        assert_eq!(
            v5.asserted.keys().copied().collect::<Vec<_>>(),
            ["MQTT-3.3.2-3"]
        );
        assert_eq!(v311.missing.len(), 101);
        let md = markdown(&c, "");
        assert!(md.contains("| MQTT 3.1.1 | 1 | 102 | 1% |"), "{md}");
        assert!(md.contains("| §3.3 |"), "{md}");
    }
}
