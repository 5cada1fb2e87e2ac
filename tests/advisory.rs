//! Advisories in simulation: an advisory step that does not hold makes the
//! run's outcome `advisory` (never a failure), the run goes on past it, and
//! every report says so — the summary, `results.json`, JUnit (a passing
//! test whose output carries it), the trace and `replay`.

use std::path::Path;

mod common;
use common::{gauntlet, text};

const FIXTURE: &str = "tests/fixtures/advisory/pretend_should.yaml";
const NAME: &str = "tests::fixtures::advisory::pretend_should";

#[test]
fn an_advisory_step_that_does_not_hold_is_an_advisory_in_every_report() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("advisory-report");
    let _ = std::fs::remove_dir_all(&dir);
    let out = gauntlet(&["run", FIXTURE, "--report", dir.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "an advisory does not fail the job: {t}"
    );
    for v in ["3.1.1", "5"] {
        assert!(
            t.contains(&format!(
                "{:<60} {:>6}",
                format!("{NAME} [v{v}]"),
                "advisory"
            )),
            "{t}"
        );
    }
    assert!(t.contains("2 with advisories"), "{t}");
    assert!(
        t.contains(&format!(
            "advisory {NAME} [v5]: step 3: test §0 (SHOULD): greet each new subscriber"
        )),
        "{t}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    for r in json.as_array().unwrap() {
        assert_eq!(r["outcome"], "advisory", "{r}");
        let a = &r["advisories"][0];
        assert_eq!(a["step"], 3, "{r}");
        assert_eq!(a["line"], 12, "{r}");
        assert!(
            a["rule"].as_str().unwrap().starts_with("test §0 (SHOULD)"),
            "{r}"
        );
        assert!(a["what"].as_str().unwrap().contains("PUBLISH"), "{r}");
        // The run went on: the later expectation was met, as the trace shows.
        let trace = r["trace"].as_str().unwrap();
        assert!(trace.contains("~~ advisory: test §0"), "{trace}");
        assert!(trace.contains("payload=\"21.5\""), "{trace}");
    }
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(
        !junit.contains("<failure") && !junit.contains("<skipped"),
        "{junit}"
    );
    assert_eq!(
        junit.matches("<system-out>advisory: ").count(),
        2,
        "{junit}"
    );

    // Replay shows it in the trace, and the diagram draws it.
    let page = dir.join("replay.html");
    let out = gauntlet(&[
        "replay",
        FIXTURE,
        "--version",
        "5",
        "--html",
        page.to_str().unwrap(),
    ]);
    let t = text(&out);
    assert!(t.contains("~~ advisory: test §0"), "{t}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("class=\"advisory\""),
        "the diagram draws the advisory"
    );
}
