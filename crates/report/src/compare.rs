//! One library run against several brokers, as one matrix: scenario x
//! broker, grouped by area, each cell pass / fail / skip, every failure with
//! a one-line reason that cites the statement it breaks and says what the
//! broker did instead. Written as Markdown for people and JSON for machines.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::baseline::Baseline;
use crate::diagram::Diagram;
use crate::outcome::Outcome;
use crate::results::Record;

/// The areas of the matrix, in the order it shows them.
pub const AREAS: &[&str] = &[
    "connect",
    "QoS 0",
    "QoS 1",
    "QoS 2",
    "routing",
    "retained",
    "will",
    "sessions",
    "v5 features",
    "flaky network",
    "other",
];

/// The area a run belongs to, from its name (`conformance::qos1_flow [v5]`).
pub fn area(name: &str) -> &'static str {
    let id = name.split(' ').next().unwrap_or(name);
    let leaf = id.rsplit("::").next().unwrap_or(id);
    let has = |words: &[&str]| words.iter().any(|w| leaf.contains(w));
    if id.starts_with("chaos::") || id.starts_with("examples::") {
        return "flaky network";
    }
    if id.starts_with("conformance::v5::") {
        return "v5 features";
    }
    if has(&["will"]) {
        "will"
    } else if has(&["retain"]) {
        "retained"
    } else if has(&["session", "takeover", "offline"]) {
        "sessions"
    } else if has(&["qos0"]) {
        "QoS 0"
    } else if has(&["qos1"]) {
        "QoS 1"
    } else if has(&["qos2", "qos_downgrade"]) {
        "QoS 2"
    } else if has(&[
        "subscribe",
        "wildcard",
        "topic",
        "dollar",
        "overlapping",
        "ordered",
        "payload",
    ]) {
        "routing"
    } else if has(&[
        "connect",
        "connack",
        "client_id",
        "keepalive",
        "ping",
        "malformed",
        "protocol",
        "first_packet",
        "packet_id",
    ]) {
        "connect"
    } else {
        "other"
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    /// What came of the run on this broker, as its own report says.
    pub outcome: Outcome,
    /// A failure's one line (the statement, what the broker did), or why
    /// the run was skipped.
    pub reason: Option<String>,
    /// The baseline lists it as flaky: it fails only some of the time.
    pub flaky: bool,
    /// A failure's own account (what was expected, what came), when the
    /// reason is the baseline's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A failure's sequence diagram.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagram: Option<Diagram>,
}

impl Cell {
    fn new(outcome: Outcome, reason: Option<String>) -> Cell {
        Cell {
            outcome,
            reason,
            flaky: false,
            message: None,
            diagram: None,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub name: String,
    pub file: String,
    pub title: String,
    pub area: &'static str,
    /// One per broker, in the brokers' order.
    pub cells: Vec<Cell>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Totals {
    pub pass: usize,
    pub advisory: usize,
    pub fail: usize,
    pub skip: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Broker {
    pub name: String,
    pub version: Option<String>,
    pub totals: Totals,
}

#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub gauntlet_version: String,
    pub date: String,
    pub seed: u64,
    pub brokers: Vec<Broker>,
    pub rows: Vec<Row>,
}

/// One broker's run: its records, and its baseline if it has one (whose
/// entries give reviewed reasons for its failures).
pub struct BrokerRun<'a> {
    pub name: String,
    pub version: Option<String>,
    pub records: &'a [Record],
    pub baseline: Option<&'a Baseline>,
}

/// The statements a run checks, by run name, for citing in reasons.
pub type SpecIds = BTreeMap<String, Vec<String>>;

/// A failure's line: the baseline's reviewed statement and reason, else
/// the statements the scenario checks and the first line of what went
/// wrong (which says what came instead of what was expected).
fn failure_reason(
    r: &Record,
    baseline: Option<&Baseline>,
    spec: &SpecIds,
    tag: Option<&str>,
) -> String {
    let entry = baseline.and_then(|b| b.entry(&r.name));
    if let Some(e) = entry.filter(|e| !e.unreviewed) {
        return match &e.spec {
            Some(id) => format!("{id}: {}", e.reason),
            None => e.reason.clone(),
        };
    }
    // An unreviewed entry only quotes the failure: say what happened, and
    // that nobody has said why yet.
    let unreviewed = if entry.is_some() {
        " (baseline entry not reviewed)"
    } else {
        ""
    };
    let what = r
        .message
        .as_deref()
        .and_then(|m| m.lines().map(str::trim).find(|l| !l.is_empty()))
        .map_or("failed".to_owned(), |m| {
            crate::prefix::unprefixed_as(m, tag)
        });
    match spec.get(&r.name).filter(|ids| !ids.is_empty()) {
        Some(ids) => {
            let shown: Vec<&str> = ids.iter().take(3).map(String::as_str).collect();
            let more = if ids.len() > 3 { ", ..." } else { "" };
            format!("{}{more}: {what}{unreviewed}", shown.join(", "))
        }
        None => format!("{what}{unreviewed}"),
    }
}

/// Builds the matrix: a row for every run any broker has, in name order
/// within its area.
pub fn build(
    runs: &[BrokerRun<'_>],
    spec: &SpecIds,
    gauntlet_version: &str,
    date: &str,
    seed: u64,
) -> Comparison {
    let mut names: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for run in runs {
        for r in run.records {
            names
                .entry(r.name.as_str())
                .or_insert((r.file.as_str(), r.title.as_str()));
        }
    }
    let mut brokers: Vec<Broker> = runs
        .iter()
        .map(|b| Broker {
            name: b.name.clone(),
            version: b.version.clone(),
            totals: Totals::default(),
        })
        .collect();
    let mut rows = Vec::new();
    for (name, (file, title)) in names {
        let mut cells = Vec::new();
        for (i, run) in runs.iter().enumerate() {
            let record = run.records.iter().find(|r| r.name == name);
            let flaky = run
                .baseline
                .and_then(|b| b.entry(name))
                .is_some_and(|e| e.flaky);
            let cell = match record {
                None => Cell::new(Outcome::Skipped, Some("not in this broker's run".into())),
                Some(r) => match r.outcome {
                    Outcome::Pass | Outcome::Fixed => Cell {
                        flaky,
                        ..Cell::new(r.outcome, None)
                    },
                    Outcome::Advisory => Cell {
                        flaky,
                        ..Cell::new(Outcome::Advisory, r.message.clone())
                    },
                    Outcome::Skipped => Cell::new(Outcome::Skipped, r.message.clone()),
                    Outcome::Fail | Outcome::Known | Outcome::Flaky | Outcome::Error => {
                        let tag = r.diagram.as_ref().and_then(Diagram::run_tag);
                        let tag = tag.as_deref();
                        Cell {
                            flaky,
                            message: r
                                .message
                                .as_deref()
                                .map(|m| crate::prefix::unprefixed_as(m, tag)),
                            diagram: r.diagram.as_ref().map(|d| d.unprefixed(tag)),
                            ..Cell::new(r.outcome, Some(failure_reason(r, run.baseline, spec, tag)))
                        }
                    }
                },
            };
            let t = &mut brokers[i].totals;
            match cell.outcome.column() {
                "pass" => t.pass += 1,
                "advisory" => t.advisory += 1,
                "fail" => t.fail += 1,
                _ => t.skip += 1,
            }
            cells.push(cell);
        }
        rows.push(Row {
            name: name.to_owned(),
            file: file.to_owned(),
            title: title.to_owned(),
            area: area(name),
            cells,
        });
    }
    rows.sort_by_key(|r| {
        AREAS
            .iter()
            .position(|a| *a == r.area)
            .unwrap_or(AREAS.len())
    });
    Comparison {
        gauntlet_version: gauntlet_version.to_owned(),
        date: date.to_owned(),
        seed,
        brokers,
        rows,
    }
}

/// A table cell's text: `|` would end the cell.
fn cell_text(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The matrix as Markdown: totals, one table per area, then every failure
/// with its reason, broker by broker.
pub fn markdown(c: &Comparison) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Broker comparison\n");
    let _ = writeln!(
        s,
        "gauntlet {}, seed {}, {}. Each scenario and workload of the library, on each \
         MQTT version it covers, against each broker over real TCP.\n",
        c.gauntlet_version, c.seed, c.date
    );
    let _ = writeln!(s, "| broker | version | pass | advisory | fail | skip |");
    let _ = writeln!(s, "| --- | --- | ---: | ---: | ---: | ---: |");
    for b in &c.brokers {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            b.name,
            cell_text(b.version.as_deref().unwrap_or("?")),
            b.totals.pass,
            b.totals.advisory,
            b.totals.fail,
            b.totals.skip
        );
    }
    let header: Vec<&str> = c.brokers.iter().map(|b| b.name.as_str()).collect();
    for area in AREAS {
        let rows: Vec<&Row> = c.rows.iter().filter(|r| r.area == *area).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(s, "\n## {area}\n");
        let _ = writeln!(s, "| scenario | {} |", header.join(" | "));
        let _ = writeln!(s, "| --- |{}", " --- |".repeat(header.len()));
        for r in rows {
            let cells: Vec<String> = r
                .cells
                .iter()
                .map(|c| match (c.outcome.column(), c.flaky) {
                    ("fail", true) => "**fail** (flaky)".to_owned(),
                    ("fail", false) => "**fail**".to_owned(),
                    ("advisory", _) => "*advisory*".to_owned(),
                    (column, _) => column.to_owned(),
                })
                .collect();
            let _ = writeln!(s, "| {} | {} |", r.name, cells.join(" | "));
        }
    }
    let _ = writeln!(s, "\n## Failures");
    for (i, b) in c.brokers.iter().enumerate() {
        let failures: Vec<(&Row, &Cell)> = c
            .rows
            .iter()
            .map(|r| (r, &r.cells[i]))
            .filter(|(_, cell)| cell.outcome.failed())
            .collect();
        let _ = writeln!(s, "\n### {} ({} failing)\n", b.name, failures.len());
        if failures.is_empty() {
            let _ = writeln!(s, "None.");
        }
        for (r, cell) in failures {
            let flaky = if cell.flaky { " (flaky)" } else { "" };
            let _ = writeln!(
                s,
                "- `{}`{flaky}: {}",
                r.name,
                cell_text(cell.reason.as_deref().unwrap_or(""))
            );
        }
    }
    let _ = writeln!(s, "\n## Advisories");
    let _ = writeln!(
        s,
        "\nWhat a broker does where the spec says SHOULD, or where readings of the spec differ: \
         not failures."
    );
    for (i, b) in c.brokers.iter().enumerate() {
        let advisories: Vec<(&Row, &Cell)> = c
            .rows
            .iter()
            .map(|r| (r, &r.cells[i]))
            .filter(|(_, cell)| cell.outcome == Outcome::Advisory)
            .collect();
        if advisories.is_empty() {
            continue;
        }
        let n = advisories.len();
        let what = if n == 1 { "advisory" } else { "advisories" };
        let _ = writeln!(s, "\n### {} ({n} {what})\n", b.name);
        for (r, cell) in advisories {
            let _ = writeln!(
                s,
                "- `{}`: {}",
                r.name,
                cell_text(cell.reason.as_deref().unwrap_or(""))
            );
        }
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn record(name: &str, outcome: Outcome, message: Option<&str>) -> Record {
        let file = format!("scenarios/{}.yaml", name.split(' ').next().unwrap());
        let mut r = Record::new(
            name,
            std::path::Path::new(&file),
            "t",
            outcome,
            message.map(str::to_owned),
        );
        r.seed = Some(1);
        r
    }

    #[test]
    fn areas_follow_the_names() {
        assert_eq!(area("conformance::qos1_flow [v5]"), "QoS 1");
        assert_eq!(area("conformance::will_retain [v5]"), "will");
        assert_eq!(area("conformance::retained_set [v3.1.1]"), "retained");
        assert_eq!(area("conformance::wildcard_single_level [v5]"), "routing");
        assert_eq!(area("conformance::keepalive_timeout [v5]"), "connect");
        assert_eq!(area("conformance::session_takeover [v5]"), "sessions");
        assert_eq!(area("conformance::v5::receive_maximum [v5]"), "v5 features");
        assert_eq!(area("chaos::workload_qos2 [v5]"), "flaky network");
    }

    #[test]
    fn a_small_comparison_as_markdown() {
        let a = vec![
            record("conformance::qos1_flow [v5]", Outcome::Pass, None),
            record("conformance::keepalive_timeout [v5]", Outcome::Pass, None),
            record("chaos::workload_qos1 [v5]", Outcome::Pass, None),
            record(
                "conformance::session_takeover [v5]",
                Outcome::Advisory,
                Some("MQTT 5.0 §3.1.4: the Server SHOULD send DISCONNECT 0x8E to the connection it takes over; it closed it without one"),
            ),
        ];
        let b = vec![
            record(
                "conformance::session_takeover [v5]",
                Outcome::Known,
                Some("step 4 (old: expect closed): the connection stayed open"),
            ),
            record(
                "conformance::qos1_flow [v5]",
                Outcome::Fail,
                Some("step 6 (dashboard: expect PUBLISH): PUBLISH differs: qos is 0, expected 1\nmore"),
            ),
            record(
                "conformance::keepalive_timeout [v5]",
                Outcome::Fail,
                Some("step 3: expected the broker to close the connection within 3000 ms"),
            ),
            record(
                "chaos::workload_qos1 [v5]",
                Outcome::Skipped,
                Some("needs `restart`, which a broker given by URL lacks"),
            ),
        ];
        let baseline = Baseline::parse(
            "broker: b\nknown_failures:\n  \"conformance::keepalive_timeout [v5]\":\n    \
             spec: MQTT-3.1.2-22\n    reason: closes the silent client seconds late\n    flaky: true\n  \
             \"conformance::session_takeover [v5]\":\n    \
             reason: \"step 4 (old: expect closed): the connection stayed open\"\n    unreviewed: true\n",
            std::path::Path::new("b.baseline.yaml"),
        )
        .unwrap();
        let mut spec = SpecIds::new();
        spec.insert(
            "conformance::qos1_flow [v5]".into(),
            vec!["MQTT-4.3.2-1".into(), "MQTT-4.3.2-2".into()],
        );
        let runs = [
            BrokerRun {
                name: "a".into(),
                version: Some("a 1.0".into()),
                records: &a,
                baseline: None,
            },
            BrokerRun {
                name: "b".into(),
                version: None,
                records: &b,
                baseline: Some(&baseline),
            },
        ];
        let c = build(&runs, &spec, "0.1.0", "2026-12-04", 1);
        insta::assert_snapshot!(markdown(&c));
    }

    /// A comparison of one broker with one failure, drawn.
    pub(crate) fn one_failure() -> Comparison {
        use record::trace::{Kind, Trace};
        let mut t = Trace::default();
        t.push(
            0,
            "runner",
            Kind::Step("step 1 (dashboard: connect)".into()),
        );
        t.push(
            0,
            "dashboard",
            Kind::Sent("CONNECT v5 client_id=\"gk1-dashboard\"".into()),
        );
        t.push(
            3,
            "dashboard",
            Kind::Received("CONNACK session_present=0 reason=0x00".into()),
        );
        t.push(3, "runner", Kind::Step("step 2 (sensor: publish)".into()));
        t.push(
            3,
            "sensor",
            Kind::Sent(
                "PUBLISH topic=\"gauntlet/gk1/maison/salon\" qos=1 id=1 payload=\"21.5\"".into(),
            ),
        );
        t.push(5, "network", Kind::Event("stall dashboard".into()));
        t.push(6, "sensor", Kind::Received("PUBACK id=1".into()));
        t.push(
            6,
            "runner",
            Kind::Step("step 3 (dashboard: expect PUBLISH)".into()),
        );
        t.push(
            9,
            "dashboard",
            Kind::Received(
                "PUBLISH topic=\"gauntlet/gk1/maison/salon\" qos=0 payload=\"21.5\"".into(),
            ),
        );
        t.push(
            9,
            "runner",
            Kind::Failed("PUBLISH differs: qos is 0, expected 1".into()),
        );
        let mut failing = record(
            "conformance::qos1_flow [v5]",
            Outcome::Fail,
            Some("step 3 (dashboard: expect PUBLISH): PUBLISH differs: qos is 0, expected 1"),
        );
        failing.diagram = Some(Diagram::from_trace(&t));
        let b = vec![failing];
        let runs = [BrokerRun {
            name: "b".into(),
            version: None,
            records: &b,
            baseline: None,
        }];
        build(&runs, &SpecIds::new(), "0.1.0", "2026-12-04", 1)
    }

    #[test]
    fn a_small_comparison_draws_its_failure() {
        let c = one_failure();
        let d = c.rows[0].cells[0]
            .diagram
            .as_ref()
            .expect("a failure has its diagram");
        let svg = crate::diagram::svg(d, &format!("{} on b", c.rows[0].name), "d1");
        assert!(!svg.contains("gauntlet/gk1/"), "run prefixes are taken out");
        insta::assert_snapshot!(svg);
    }
}
