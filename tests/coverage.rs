//! Coverage counts each version's statements from the ids scenarios cite for
//! that version.

use std::path::Path;

use mqtt_gauntlet::report::coverage;
use mqtt_gauntlet::scenario::{load_str, VersionName};

const KEEPALIVE: &str = r#"
name: keep alive
spec: { 3.1.1: [MQTT-3.1.2-24], 5: [MQTT-3.1.2-22] }
clients: { c: {} }
steps:
  - c: { connect: {} }
"#;

const V5_ONLY: &str = r#"
name: v5 only
versions: [5]
spec: [MQTT-3.3.2-8]
clients: { c: {} }
steps:
  - c: { connect: {} }
"#;

#[test]
fn counts_per_version() {
    let a = load_str(KEEPALIVE, Path::new("a.yaml")).unwrap();
    let b = load_str(V5_ONLY, Path::new("b.yaml")).unwrap();
    let c = coverage::compute([&a, &b]);
    let v311 = c.iter().find(|c| c.version == VersionName::V311).unwrap();
    let v5 = c.iter().find(|c| c.version == VersionName::V5).unwrap();
    assert_eq!((v311.total, v5.total), (141, 251));
    assert_eq!(
        v311.cited.keys().copied().collect::<Vec<_>>(),
        ["MQTT-3.1.2-24"]
    );
    assert_eq!(
        v5.cited.keys().copied().collect::<Vec<_>>(),
        ["MQTT-3.1.2-22", "MQTT-3.3.2-8"]
    );
    assert_eq!(v5.cited["MQTT-3.3.2-8"], ["v5 only"]);
    assert_eq!(v311.missing.len(), 140);
    assert!(!v311.missing.contains(&"MQTT-3.1.2-24"));
}
