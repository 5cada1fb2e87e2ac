//! Baselines end to end, in simulation: `--write-baseline` writes a run's
//! failures (new ones unreviewed), the same run under that baseline passes
//! with every failure known, and the terminal summary, `results.json` and
//! JUnit say the same outcome for every run — known, flaky, fixed and pass
//! alike.

use std::collections::BTreeMap;
use std::path::Path;

mod common;
use common::{gauntlet, scratch, text};

const FAILING: &str = "tests/fixtures/failing/wrong_payload.yaml";
const PASSING: &str = "scenarios/examples/salon_qos1.yaml";

/// The summary table's rows: run name → label.
fn summary(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("scenario "))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // The lines after the table that say why (`known NAME: reason`).
        .filter(|l| !l.contains(": "))
        .filter_map(|l| {
            let (name, label) = l.trim_end().rsplit_once(' ')?;
            Some((name.trim_end().to_owned(), label.to_owned()))
        })
        .collect()
}

/// results.json: run name → outcome.
fn json_outcomes(dir: &Path) -> BTreeMap<String, String> {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// junit.xml: run name → `success`, `skipped`, `failure` or `error`.
fn junit_outcomes(dir: &Path) -> BTreeMap<String, String> {
    let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    xml.split("<testcase ")
        .skip(1)
        .map(|case| {
            let name = case
                .split_once("name=\"")
                .and_then(|(_, r)| r.split_once('"'))
                .map(|(n, _)| n.to_owned())
                .unwrap();
            let body = case.split("</testcase>").next().unwrap_or(case);
            let kind = ["skipped", "failure", "error"]
                .into_iter()
                .find(|k| body.contains(&format!("<{k}")))
                .unwrap_or("success");
            (name, kind.to_owned())
        })
        .collect()
}

/// The three reports agree on every run: the summary's label, the JSON
/// outcome and what JUnit makes of it.
fn assert_agree(stdout: &str, dir: &Path) -> BTreeMap<String, String> {
    let (summary, json, junit) = (summary(stdout), json_outcomes(dir), junit_outcomes(dir));
    assert_eq!(
        summary.keys().collect::<Vec<_>>(),
        json.keys().collect::<Vec<_>>(),
        "{stdout}"
    );
    for (name, outcome) in &json {
        let label = match outcome.as_str() {
            "pass" => "pass",
            "advisory" => "advisory",
            "fail" => "FAIL",
            "known" => "known",
            "flaky" => "flaky",
            "fixed" => "FIXED",
            "skipped" => "skip",
            "error" => "ERROR",
            other => panic!("unknown outcome {other}"),
        };
        assert_eq!(summary[name], label, "{name} in the summary:\n{stdout}");
        let junit_kind = match outcome.as_str() {
            "pass" | "advisory" => "success",
            "known" | "flaky" | "skipped" => "skipped",
            "fail" | "fixed" => "failure",
            _ => "error",
        };
        assert_eq!(junit[name], junit_kind, "{name} in JUnit");
    }
    json
}

#[test]
fn a_written_baseline_round_trips_and_every_report_agrees_under_it() {
    let dir = scratch("baseline-round-trip");
    let written = dir.join("written.baseline.yaml");
    let first = dir.join("first");
    let out = gauntlet(&[
        "run",
        FAILING,
        PASSING,
        "--report",
        first.to_str().unwrap(),
        "--write-baseline",
        written.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "new failures fail: {}",
        text(&out)
    );
    let outcomes = assert_agree(&String::from_utf8_lossy(&out.stdout), &first);
    assert_eq!(outcomes.values().filter(|o| *o == "fail").count(), 2);

    let baseline = std::fs::read_to_string(&written).expect("the baseline is written");
    assert_eq!(
        baseline
            .lines()
            .filter(|l| l.trim() == "unreviewed: true")
            .count(),
        2,
        "{baseline}"
    );
    assert!(
        baseline.contains("expected \\\"22.0\\\""),
        "quotes the failure: {baseline}"
    );

    // The same run under it: every failure is known, the job passes.
    let second = dir.join("second");
    let out = gauntlet(&[
        "run",
        FAILING,
        PASSING,
        "--report",
        second.to_str().unwrap(),
        "--baseline",
        written.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let outcomes = assert_agree(&stdout, &second);
    assert_eq!(outcomes.values().filter(|o| *o == "known").count(), 2);
    assert_eq!(outcomes.values().filter(|o| *o == "pass").count(), 2);
    assert!(stdout.contains("known failure (unreviewed): "), "{stdout}");

    // Written again under itself, it stays as it is.
    let again = dir.join("again.baseline.yaml");
    let out = gauntlet(&[
        "run",
        FAILING,
        PASSING,
        "--baseline",
        written.to_str().unwrap(),
        "--write-baseline",
        again.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&again).unwrap(), baseline);
}

#[test]
fn flaky_fixed_and_known_read_the_same_in_every_report() {
    let dir = scratch("baseline-agree");
    let file = dir.join("b.yaml");
    std::fs::write(
        &file,
        "broker: reference\nknown_failures:\n\
         \x20 \"tests::fixtures::failing::wrong_payload [v3.1.1]\": { reason: sends the wrong payload }\n\
         \x20 \"tests::fixtures::failing::wrong_payload [v5]\": { reason: sometimes wrong, flaky: true }\n\
         \x20 \"examples::salon_qos1 [v5]\": { reason: it used to fail }\n",
    )
    .unwrap();
    let report = dir.join("report");
    let out = gauntlet(&[
        "run",
        FAILING,
        PASSING,
        "--report",
        report.to_str().unwrap(),
        "--baseline",
        file.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a fixed entry fails the job: {}",
        text(&out)
    );
    let outcomes = assert_agree(&stdout, &report);
    let names: Vec<(&str, &str)> = outcomes
        .iter()
        .map(|(n, o)| (n.as_str(), o.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("examples::salon_qos1 [v3.1.1]", "pass"),
            ("examples::salon_qos1 [v5]", "fixed"),
            ("tests::fixtures::failing::wrong_payload [v3.1.1]", "known"),
            ("tests::fixtures::failing::wrong_payload [v5]", "flaky"),
        ]
    );
    assert!(
        stdout.contains("1 known failures, 1 flaky failures, 1 fixed"),
        "{stdout}"
    );
}
