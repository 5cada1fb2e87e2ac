//! What the network did with each packet of a simulated workload
//! (`Outcome.carried`), and the diagram drawn from it: a cut a packet
//! triggered from inside the simulation loses the packets after it, as a
//! scheduled cut does.

use std::path::Path;

use mqtt_gauntlet::record::carried::{Fate, Toward};
use mqtt_gauntlet::record::violation::Violation;
use mqtt_gauntlet::report::diagram::{Diagram, Net, What};
use mqtt_gauntlet::scenario::workload as model;
use mqtt_gauntlet::scenario::VersionName;
use mqtt_gauntlet::workload::run;

fn workload(faults: &str) -> model::Workload {
    let text = format!(
        "name: one publisher, one subscriber, QoS 2\n\
         versions: [5]\n\
         duration: 10s\n\
         network: {{ latency: 20ms..20ms }}\n\
         faults: {faults}\n\
         workload: {{ publishers: 1, subscribers: 1, messages: 20, qos: [2], \
         subscribe_qos: 2, inflight: 1, filters: ['maison/#'] }}\n\
         check: [exactly_once, ordered_per_publisher]\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.yaml");
    std::fs::write(&path, text).unwrap();
    model::load_file(Path::new(&path)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_pubrel_sent_into_a_triggered_cut_is_lost_and_drawn_lost() {
    let w = workload(
        "[{ at: 2s, fault: cut, target: p1, length: 3s, \
         after: { received: PUBREC, count: 3 } }]",
    );
    let o = run::run(&w, VersionName::V5, 1, &run::schedule(&w, 1));
    assert!(o.passed(), "{:?} {:?}", o.violations, o.error);
    let lost: Vec<_> = o
        .carried
        .iter()
        .filter(|c| c.client == "p1" && c.fate == Fate::Lost)
        .collect();
    let first = lost.first().expect("the cut lost a packet");
    assert_eq!(first.toward, Toward::Broker);
    assert!(first.label.starts_with("PUBREL"), "{first}");
    // Everything before the cut arrived.
    assert!(o
        .carried
        .iter()
        .filter(|c| c.sent_ms < first.sent_ms)
        .all(|c| c.fate.arrived().is_some()));

    // The story around it, drawn from the log (as a report draws a
    // violation's): the PUBREL ends in a cross, the cut is shaded.
    let v = Violation {
        check: "example",
        message: None,
        publisher: Some("p1".into()),
        subscriber: None,
        at: first.sent_ms + 500,
        what: "for the drawing".into(),
        faults: vec![],
    };
    let d = Diagram::of_violation(&o, &v);
    assert!(
        d.rows.iter().any(|r| matches!(&r.what,
            What::Packet { from, label, net: Net::Lost, .. }
                if from == "p1" && label.starts_with("PUBREL"))),
        "{}",
        d.text()
    );
    assert_eq!(d.periods().len(), 1, "{}", d.text());
}
