//! Parameterised scenarios end to end: a file with `vary:` runs as one
//! named run per variant; a failing variant fails alone, under its own name,
//! in the summary, `results.json` and JUnit; it can be listed in a baseline,
//! replayed alone and checked alone.

use std::path::Path;

mod common;
use common::{gauntlet, scratch, text};

const FILE: &str = "tests/fixtures/vary/one_variant_fails.yaml";
const ID: &str = "tests::fixtures::vary::one_variant_fails";

fn name(variant: &str) -> String {
    format!("{ID} [v5, {variant}]")
}

#[test]
fn a_failing_variant_fails_alone_in_every_report() {
    let dir = scratch("vary-reports");
    let out = gauntlet(&["run", FILE, "--report", dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    for (variant, label) in [
        ("qos=1, expected=1", "pass"),
        ("qos=2, expected=1", "FAIL"),
        ("qos=2, expected=2", "pass"),
    ] {
        let row = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{} ", name(variant))))
            .unwrap_or_else(|| panic!("no row for {variant}:\n{stdout}"));
        assert_eq!(row.split_whitespace().last(), Some(label), "{row}");
    }
    assert!(stdout.contains("3 runs: 2 passed, 1 failed"), "{stdout}");
    // The failure says how to replay that variant alone.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "replay with: gauntlet replay {FILE} --seed 1 --version 5 --variant 'qos=2, expected=1'"
        )),
        "{stderr}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let outcomes: Vec<(String, String)> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (name("qos=1, expected=1"), "pass".to_owned()),
            (name("qos=2, expected=1"), "fail".to_owned()),
            (name("qos=2, expected=2"), "pass".to_owned()),
        ]
    );
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    let failing = junit
        .split("<testcase ")
        .find(|c| c.contains("qos=2, expected=1"))
        .expect("a test case for the variant");
    assert!(failing.contains("<failure"), "{failing}");
    assert_eq!(junit.matches("<testcase ").count(), 3);
}

#[test]
fn a_variant_is_listed_in_a_baseline_by_its_name() {
    let dir = scratch("vary-baseline");
    let written = dir.join("written.baseline.yaml");
    let out = gauntlet(&["run", FILE, "--write-baseline", written.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let baseline = std::fs::read_to_string(&written).unwrap();
    assert!(
        baseline.contains(&format!("\"{}\":", name("qos=2, expected=1"))),
        "{baseline}"
    );
    assert!(!baseline.contains("qos=1, expected=1"), "{baseline}");
    let out = gauntlet(&["run", FILE, "--baseline", written.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("3 runs: 2 passed, 0 failed, 1 known"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_variant_is_replayed_and_run_alone() {
    let out = gauntlet(&["replay", FILE, "--variant", "qos=2, expected=1"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.matches("\n# ").count() + usize::from(stdout.starts_with("# ")),
        1
    );
    assert!(
        stdout.contains("[v5, qos=2, expected=1] seed 1"),
        "{stdout}"
    );
    let out = gauntlet(&["replay", FILE, "--variant", "qos=2, expected=2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = gauntlet(&["replay", FILE, "--variant", "qos=3"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("no variant \"qos=3\"") && said.contains("  qos=2, expected=2"),
        "{said}"
    );
    // `--filter` picks one variant out of a run.
    let out = gauntlet(&["run", FILE, "--filter", "qos=2, expected=2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 runs: 1 passed"),
        "{}",
        text(&out)
    );
}

#[test]
fn check_expands_and_names_the_variant_a_mistake_is_in() {
    let out = gauntlet(&["check", FILE]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(3 variants, 3 runs)"),
        "{}",
        text(&out)
    );
    let dir = scratch("vary-check");
    let bad = dir.join("bad.yaml");
    let text_of = std::fs::read_to_string(FILE)
        .unwrap()
        .replace("{ qos: 2, expected: 2 }", "{ qos: 3, expected: 2 }");
    std::fs::write(&bad, text_of).unwrap();
    let out = gauntlet(&["check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    // At the $(qos) that made the QoS 3, in that variant only.
    assert!(
        said.contains("bad.yaml:19:81: publish: QoS 3 is not 0, 1 or 2")
            && said.contains("(in [qos=3, expected=2])"),
        "{said}"
    );
    // `run` refuses the file as a whole: no variant is blamed on the broker.
    let out = gauntlet(&["run", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("0 failed, 1 files with errors") && !stdout.contains("FAIL"),
        "{stdout}"
    );
}

/// The Maximum Packet Size sweep sends whole packets one byte under, at and
/// one byte over the broker's limit: a broker that refuses a packet exactly
/// at its limit passes the runs under and over it and fails exactly the
/// runs at it.
#[test]
fn a_limit_off_by_one_fails_exactly_the_runs_at_the_limit() {
    use mqtt_gauntlet::scenario::VersionName;
    use reference_broker::Bug;
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/conformance/v5/maximum_packet_size_broker.yaml");
    let variants = mqtt_gauntlet::scenario::load_variants(&file).expect("loads");
    assert_eq!(variants.len(), 9);
    for mut s in variants {
        let label = s.variant.clone().unwrap_or_default();
        let correct = mqtt_gauntlet::sim::run(&s, VersionName::V5, 1);
        assert!(correct.passed(), "{label} on the correct broker");
        s.broker.bugs.insert(Bug::PacketSizeOffByOne);
        let defective = mqtt_gauntlet::sim::run(&s, VersionName::V5, 1);
        assert_eq!(
            defective.passed(),
            !label.ends_with("delta=0"),
            "{label} on a broker refusing packets at its limit"
        );
    }
}
