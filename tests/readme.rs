//! The scenario shown in the README is a real one: it loads and passes.

use std::path::Path;

use mqtt_gauntlet::scenario::load_str;
use mqtt_gauntlet::sim;

#[test]
fn readme_scenario_passes() {
    let readme = include_str!("../README.md");
    let start = readme
        .find("```yaml\nname:")
        .expect("the README shows a scenario")
        + "```yaml\n".len();
    let len = readme[start..].find("```").expect("closed code block");
    let scenario = load_str(&readme[start..start + len], Path::new("README.md"))
        .unwrap_or_else(|e| panic!("the README's scenario does not load: {e}"));
    for &v in &scenario.versions {
        let r = sim::run(&scenario, v, 1);
        assert!(
            r.passed(),
            "README scenario fails on {v}: {:?}\n{}",
            r.outcome,
            r.trace
        );
    }
}
