//! The `gauntlet` binary as a user meets it: what `check` says about broken
//! files, the trace `replay` prints, what a failing `run` reports, and the
//! files `run --report` writes. Outputs are insta snapshots
//! (tests/snapshots/); after an intended change, review them with
//! `cargo insta review` or rerun with `INSTA_UPDATE=always`.

use std::path::Path;
use std::process::Output;

mod common;
use common::{gauntlet, scratch};

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("UTF-8 stderr")
}

/// The text of `file` from 1-based `line` and character `column` on.
fn text_at(file: &str, line: u64, column: u64) -> String {
    let text = std::fs::read_to_string(file).expect("fixture");
    let l = text
        .lines()
        .nth(line.saturating_sub(1) as usize)
        .unwrap_or("");
    l.chars().skip(column.saturating_sub(1) as usize).collect()
}

/// Checks one `error` line of `gauntlet check` on `file`: it is at
/// `line:column`, where the file has `token` (the offending value itself),
/// and it says `says`.
fn assert_error(file: &str, error: &str, (line, column, token, says): (u64, u64, &str, &str)) {
    let rest = error
        .strip_prefix(&format!("error {file}:"))
        .unwrap_or_else(|| panic!("does not name {file}: {error}"));
    let mut parts = rest.splitn(3, ':');
    let l: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let c: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    assert_eq!((l, c), (line, column), "wrong place: {error}");
    let there = text_at(file, line, column);
    assert!(
        there.starts_with(token),
        "{error}\npoints at {there:?}, not at {token:?}"
    );
    assert!(error.contains(says), "does not say {says:?}: {error}");
}

/// `gauntlet check` on one broken file: exit code 1, and the `error`
/// lines `expected` lists, in order (each `(line, column, token, says)`),
/// and nothing else.
fn check_errors(name: &str, expected: &[(u64, u64, &str, &str)]) {
    let path = format!("tests/fixtures/broken/{name}.yaml");
    let out = gauntlet(&["check", &path]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{name}: {text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{name}: {text}");
    for (line, e) in lines.iter().zip(expected) {
        assert_error(&path, line, *e);
    }
    insta::assert_snapshot!(format!("check_{name}"), text);
}

/// One broken file, one mistake.
fn check_broken(name: &str, at: (u64, u64, &str), says: &str) {
    check_errors(name, &[(at.0, at.1, at.2, says)]);
}

#[test]
fn check_unknown_key() {
    check_broken(
        "unknown_key",
        (4, 13, "keep_alvie"),
        "expected one of client_id",
    );
}

#[test]
fn check_wrong_type() {
    check_broken("wrong_type", (7, 46, "sometimes"), "expected true or false");
}

#[test]
fn check_bad_duration() {
    check_broken("bad_duration", (7, 11, "2 seconds"), "use ms, s or m");
}

#[test]
fn check_unknown_client() {
    check_broken(
        "unknown_client",
        (8, 5, "dashbord"),
        "the clients are: dashboard, sensor",
    );
}

#[test]
fn check_unknown_packet() {
    check_broken(
        "unknown_packet",
        (8, 25, "pubackk"),
        "expected one of connack",
    );
}

#[test]
fn check_unknown_reason() {
    check_broken(
        "unknown_reason",
        (8, 37, "not_authorised"),
        "not_authorized",
    );
}

#[test]
fn check_unknown_spec() {
    check_broken(
        "unknown_spec",
        (3, 22, "MQTT-9.9.9-9"),
        "is not a normative statement",
    );
}

#[test]
fn check_empty_steps() {
    check_broken("empty_steps", (5, 8, "[]"), "`steps` is empty");
}

#[test]
fn check_yaml_syntax() {
    // The parser notices the unclosed `{` of line 6 on line 7.
    check_broken("yaml_syntax", (7, 3, "-"), "\"-\"");
}

#[test]
fn check_only_5_in_311() {
    check_broken("only_5_in_311", (9, 11, "5"), "does not run on 5");
}

#[test]
fn check_qos3_publish() {
    check_broken(
        "qos3_publish",
        (7, 56, "3"),
        "QoS 3 is not 0, 1 or 2 [MQTT-3.3.1-4]",
    );
}

#[test]
fn check_bad_hex_raw() {
    check_broken(
        "bad_hex_raw",
        (7, 28, "\"30 0g"),
        "\"0g\" is not a hex byte",
    );
}

#[test]
fn check_bad_raw_template() {
    check_broken(
        "bad_raw_template",
        (7, 28, "\"30 {len}"),
        "character 25: a slot not closed with `}`",
    );
}

#[test]
fn check_bad_filter() {
    check_broken(
        "bad_filter",
        (9, 31, "maison/#/salon"),
        "topic filter \"maison/#/salon\" has '#' other than alone in the last level \
         [MQTT-4.7.1-2 in 3.1.1, MQTT-4.7.1-1 in 5.0]",
    );
}

#[test]
fn check_bad_checker() {
    check_broken(
        "bad_checker",
        (8, 24, "exactly_twice"),
        "unknown checker \"exactly_twice\" (known: at_most_once,",
    );
}

#[test]
fn check_bad_fault() {
    check_broken(
        "bad_fault",
        (4, 38, "partition"),
        "unknown value \"partition\"; expected one of cut, stall, reset, latency, broker_restart",
    );
}

#[test]
fn check_several_errors() {
    check_errors(
        "several_errors",
        &[
            (4, 13, "keep_alvie", "unknown field `keep_alvie`"),
            (
                8,
                31,
                "maison/#/salon",
                "'#' other than alone in the last level",
            ),
            (8, 60, "3", "QoS 3 is not 0, 1 or 2"),
            (
                10,
                33,
                "maison/+/temperature",
                "contains a wildcard [MQTT-4.7.1-1 in 3.1.1, MQTT-4.7.0-1 in 5.0]",
            ),
            (11, 59, "0", "packet identifier 0"),
            (12, 5, "dashbord", "unknown client \"dashbord\""),
            (13, 21, "sensr", "unknown client \"sensr\""),
        ],
    );
}

#[test]
fn check_workload_limits() {
    check_errors(
        "workload_limits",
        &[
            (4, 18, "30s..40s", "no fault would happen"),
            (6, 15, "0", "publishers is 0"),
            (8, 13, "0", "messages is 0"),
            (9, 12, "3", "QoS 3 is not 0, 1 or 2"),
            (10, 23, "\"maison/#/salon\"", "'#' other than alone"),
            (11, 12, "maison/+", "contains a wildcard"),
            (12, 12, "[64, 16]", "64 is more than 16"),
            (13, 15, "0", "keep_alive must be at least 1 s"),
            (14, 24, "retained_latest", "needs `retain: true`"),
        ],
    );
}

/// On a folder, `check` checks the workloads in it too (all of them, as
/// `run` would load them), alongside the scripted scenarios.
#[test]
fn check_takes_workloads_in_a_folder() {
    let out = gauntlet(&["check", "scenarios/chaos"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/chaos");
    let mut workloads = 0;
    for e in std::fs::read_dir(dir).expect("scenarios/chaos") {
        let path = e.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let body = std::fs::read_to_string(&path).expect("reads");
        if body.lines().any(|l| l.starts_with("workload:")) {
            workloads += 1;
            let line = format!("ok    scenarios/chaos/{name} (workload: ");
            assert!(
                text.contains(&line),
                "{name} not checked as a workload:\n{text}"
            );
        }
    }
    assert!(workloads >= 4, "{text}");
    assert!(
        text.contains(
            "ok    scenarios/chaos/workload_qos1.yaml (workload: 5 publishers, 3 subscribers, 200 messages, 2 versions)"
        ),
        "{text}"
    );
    let out = gauntlet(&["check", "tests/fixtures/broken"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for fixture in ["bad_checker", "bad_fault", "workload_limits"] {
        assert!(
            text.contains(&format!("error tests/fixtures/broken/{fixture}.yaml:")),
            "{fixture}: {text}"
        );
    }
}

/// A scenario's mistake is a load error of `run` (exit code 1, the file
/// named with the place of the mistake), not a failure of the broker.
#[test]
fn run_reports_a_bad_filter_as_a_load_error() {
    let file = "tests/fixtures/broken/bad_filter.yaml";
    let out = gauntlet(&["run", file]);
    let (out_text, err_text) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{out_text}{err_text}");
    assert!(
        err_text.contains(&format!(
            "error: {file}:9:31: topic filter \"maison/#/salon\""
        )),
        "{err_text}"
    );
    assert!(
        out_text.contains("1 runs: 0 passed, 0 failed, 1 files with errors"),
        "{out_text}"
    );
    assert!(
        out_text.contains("tests::fixtures::broken::bad_filter") && out_text.contains("ERROR"),
        "{out_text}"
    );
    assert!(!out_text.contains("FAIL"), "{out_text}");
}

#[test]
fn every_broken_fixture_has_a_test() {
    let src = include_str!("cli.rs");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broken");
    for e in std::fs::read_dir(dir).expect("fixtures") {
        let path = e.expect("entry").path();
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("name");
        assert!(
            src.contains(&format!("fn check_{stem}()")),
            "tests/fixtures/broken/{stem}.yaml has no test in tests/cli.rs"
        );
    }
}

#[test]
fn check_passes_good_files() {
    let out = gauntlet(&["check", "scenarios/examples/salon_qos1.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    insta::assert_snapshot!(stdout(&out), @"ok    scenarios/examples/salon_qos1.yaml (7 steps, 2 versions)");
}

#[test]
fn replay_v5_golden_trace() {
    let out = gauntlet(&[
        "replay",
        "scenarios/examples/salon_qos1.yaml",
        "--seed",
        "1",
        "--version",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn replay_v311_golden_trace() {
    let out = gauntlet(&[
        "replay",
        "scenarios/examples/salon_qos1.yaml",
        "--seed",
        "1",
        "--version",
        "3.1.1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out));
}

/// The summary line's wall time and speed-up change from run to run.
fn without_timings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"\d+(\.\d+)?s wall", "[WALL] wall");
    s.add_filter(r"\(\d+x real time\)", "([SPEED]x real time)");
    s
}

#[test]
fn failing_run_says_where_what_and_how_to_replay() {
    let file = "tests/fixtures/failing/wrong_payload.yaml";
    let out = gauntlet(&["run", file]);
    assert_eq!(out.status.code(), Some(1));
    let (out_text, err_text) = (stdout(&out), stderr(&out));
    for v in ["3.1.1", "5"] {
        for needed in [
            format!("{file}:14: step 6 (dashboard: expect PUBLISH)"),
            "payload is \"21.5\", expected \"22.0\"".to_owned(),
            "trace (last 20 events):".to_owned(),
            "!! PUBLISH differs".to_owned(),
            format!("seed 1; replay with: gauntlet replay {file} --seed 1 --version {v}"),
        ] {
            assert!(
                err_text.contains(&needed),
                "stderr lacks {needed:?}:\n{err_text}"
            );
        }
    }
    assert!(
        out_text.contains("2 runs: 0 passed, 2 failed"),
        "{out_text}"
    );
    let output = format!(
        "exit code: {}\n--- stdout ---\n{out_text}--- stderr ---\n{err_text}",
        out.status.code().unwrap_or(-1)
    );
    without_timings().bind(|| insta::assert_snapshot!(output));
}

/// Checks that `xml` is well formed enough: tags balance, attribute quotes
/// close, and no raw `<` or `&` stands outside a tag or an entity. Returns
/// each element's name as it opens.
fn xml_elements(xml: &str) -> Vec<String> {
    let body = xml
        .strip_prefix("<?xml")
        .and_then(|r| r.split_once("?>"))
        .map(|(_, r)| r)
        .expect("an XML declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut opened = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        check_text(&rest[..start]);
        let after = &rest[start + 1..];
        let end = tag_end(after).unwrap_or_else(|| panic!("unclosed tag at {after:.40}"));
        let tag = &after[..end];
        rest = &after[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name.trim(), "</{name}> closes <{open}>");
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        assert!(!name.is_empty(), "bad tag <{tag:.40}>");
        opened.push(name.clone());
        if !tag.ends_with('/') {
            stack.push(name);
        }
    }
    check_text(rest);
    assert!(stack.is_empty(), "never closed: {stack:?}");
    opened
}

/// The end of a tag: the `>` outside attribute quotes.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some(_), '<') => panic!("raw < in an attribute: {s:.60}"),
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn check_text(text: &str) {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..];
        assert!(
            ["&lt;", "&gt;", "&amp;", "&quot;", "&apos;", "&#"]
                .iter()
                .any(|e| entity.starts_with(e)),
            "raw & in text: {entity:.20}"
        );
    }
}

fn attribute<'a>(xml: &'a str, element: &str, name: &str) -> &'a str {
    let tag = &xml[xml.find(&format!("<{element} ")).expect(element)..];
    let tag = &tag[..tag.find('>').expect("tag end")];
    let at = tag.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
    &tag[at..at + tag[at..].find('"').expect("quote")]
}

#[test]
fn run_report_writes_junit_and_json() {
    let dir = scratch("cli-report");
    let dir_arg = dir.to_str().expect("UTF-8 path");
    let out = gauntlet(&[
        "run",
        "scenarios/examples/salon_qos1.yaml",
        "tests/fixtures/failing/wrong_payload.yaml",
        "tests/fixtures/broken/unknown_client.yaml",
        "--report",
        dir_arg,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("reports written to {dir_arg}")),
        "{}",
        stdout(&out)
    );

    // 2 runs pass, 2 fail, 1 file does not load.
    let xml = std::fs::read_to_string(dir.join("junit.xml")).expect("junit.xml");
    let elements = xml_elements(&xml);
    let count = |name: &str| elements.iter().filter(|e| *e == name).count();
    assert_eq!(count("testsuites"), 1);
    assert_eq!(count("testsuite"), 1);
    assert_eq!(count("testcase"), 5);
    assert_eq!(count("failure"), 2);
    assert_eq!(count("error"), 1);
    for element in ["testsuites", "testsuite"] {
        assert_eq!(attribute(&xml, element, "tests"), "5", "{element}");
        assert_eq!(attribute(&xml, element, "failures"), "2", "{element}");
        assert_eq!(attribute(&xml, element, "errors"), "1", "{element}");
    }
    assert!(xml.contains("name=\"examples::salon_qos1 [v5]\""), "{xml}");
    assert!(
        xml.contains("expected &quot;22.0&quot;"),
        "the failure message is in the XML"
    );

    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("results.json")).expect("results.json"),
    )
    .expect("results.json is JSON");
    let records = json.as_array().expect("an array of records");
    assert_eq!(records.len(), 5);
    let with_outcome = |s: &str| records.iter().filter(|r| r["outcome"] == s).count();
    assert_eq!(
        (
            with_outcome("pass"),
            with_outcome("fail"),
            with_outcome("error")
        ),
        (2, 2, 1)
    );
    for r in records.iter().filter(|r| r["outcome"] == "fail") {
        assert_eq!(r["file"], "tests/fixtures/failing/wrong_payload.yaml");
        assert_eq!(r["seed"], 1);
        assert_eq!(r["step"], 6);
        assert_eq!(r["line"], 14);
        let message = r["message"].as_str().expect("message");
        assert!(message.contains("expected \"22.0\""), "{message}");
        assert!(r["trace"].as_str().is_some_and(|t| t.contains("PUBLISH")));
    }
    let error = records
        .iter()
        .find(|r| r["outcome"] == "error")
        .expect("an error record");
    assert!(error["message"]
        .as_str()
        .is_some_and(|m| m.contains("unknown client \"dashbord\"")));
    let passed: Vec<&str> = records
        .iter()
        .filter(|r| r["outcome"] == "pass")
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(
        passed,
        ["examples::salon_qos1 [v3.1.1]", "examples::salon_qos1 [v5]"]
    );
}

#[test]
fn run_report_of_a_passing_run() {
    let dir = scratch("cli-report-pass");
    let out = gauntlet(&[
        "run",
        "scenarios/examples/salon_qos1.yaml",
        "--version",
        "5",
        "--report",
        dir.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let xml = std::fs::read_to_string(dir.join("junit.xml")).expect("junit.xml");
    let elements = xml_elements(&xml);
    assert_eq!(elements.iter().filter(|e| *e == "testcase").count(), 1);
    assert_eq!(attribute(&xml, "testsuites", "failures"), "0");
    assert_eq!(attribute(&xml, "testsuites", "errors"), "0");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("results.json")).expect("results.json"),
    )
    .expect("JSON");
    assert_eq!(json.as_array().map(Vec::len), Some(1));
    assert_eq!(json[0]["outcome"], "pass");
    assert_eq!(json[0]["version"], "5");
}

#[test]
fn replay_draws_each_run_as_a_sequence_diagram() {
    let dir = tempfile::tempdir().unwrap();
    // A failing run: the failing step and what was wrong are marked.
    let failing = dir.path().join("failing/replay.html");
    let out = gauntlet(&[
        "replay",
        "tests/fixtures/failing/wrong_payload.yaml",
        "--seed",
        "3",
        "--version",
        "5",
        "--html",
        failing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let page = std::fs::read_to_string(&failing).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_eq!(page.matches("<svg ").count(), 1, "one run: version 5");
    assert!(page.contains("The dashboard expects a different reading [v5] seed 3"));
    assert!(page.contains("<span class=\"verdict fail\">FAILED</span>"));
    assert!(page.contains("<g class=\"step failed\"><title>step 6: dashboard: expect PUBLISH"));
    assert!(page.contains("<g class=\"failure\">"));
    assert!(page.contains("payload is &quot;21.5&quot;, expected &quot;22.0&quot;"));
    for lifeline in ["broker", "dashboard", "sensor"] {
        assert!(
            page.contains(&format!(">{lifeline}</text></g>")),
            "{lifeline}"
        );
    }
    // A passing run is drawn too, one diagram per version, with no failure.
    let passing = dir.path().join("passing.html");
    let out = gauntlet(&[
        "replay",
        "scenarios/conformance/qos1_flow.yaml",
        "--html",
        passing.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = std::fs::read_to_string(&passing).unwrap();
    assert_eq!(page.matches("<svg ").count(), 2, "3.1.1 and 5");
    assert_eq!(page.matches("verdict pass").count(), 2);
    assert!(!page.contains("class=\"failure\""));
    assert!(page.contains("<g class=\"packet out\"><title>PUBLISH"));
    // The trace as text is there as well.
    assert!(page.contains("<details><summary>trace as text</summary>"));
}

#[test]
fn replay_of_a_workload_prints_its_history_and_draws_its_first_violation() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bug.html");
    let file = "tests/fixtures/workloads/bug_plus_matches_many_levels.yaml";
    let out = gauntlet(&[
        "replay",
        file,
        "--seed",
        "1",
        "--version",
        "5",
        "--html",
        page.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("FAILED"), "{text}");
    assert!(text.contains("routes_match_filters:"), "{text}");
    assert!(
        text.contains("p2 -> broker: PUBLISH p2#1"),
        "the history: {text}"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("<svg ").count(), 1);
    assert!(html.contains("<g class=\"failure\">"));
    assert!(
        html.contains("routes_match_filters: p2#"),
        "the violation is drawn"
    );
    assert!(html.contains(">broker</text></g>"));
    // A passing workload is drawn from its history.
    let page = dir.path().join("ok.html");
    let out = gauntlet(&[
        "replay",
        "scenarios/chaos/workload_qos1.yaml",
        "--version",
        "3.1.1",
        "--html",
        page.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("PASSED ("));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("verdict pass"));
    assert!(
        html.contains("more events, not drawn"),
        "a long history is cut"
    );
    assert!(!html.contains("<g class=\"failure\">"));
}
