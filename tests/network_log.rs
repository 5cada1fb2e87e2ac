//! What the network did with each packet of a failing simulated workload
//! (`Outcome.carried`), and the diagram drawn from it: a cut a packet
//! triggered from inside the simulation loses the packets after it, as a
//! scheduled cut does.

use std::path::Path;

use mqtt_gauntlet::record::carried::{Fate, Toward};
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
         broker: {{ bugs: [qos2_resend_forwarded] }}\n\
         check: [exactly_once, ordered_per_publisher]\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.yaml");
    std::fs::write(&path, text).unwrap();
    model::load_file(Path::new(&path)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_pubrec_sent_into_a_triggered_cut_is_lost_and_drawn_lost() {
    // The cut falls once the broker has p1's third PUBLISH: its PUBREC is
    // lost, p1 sends the PUBLISH again, and this broker forwards it again
    // (a failing run: only those keep the network's log).
    let w = workload(
        "[{ at: 2s, fault: cut, target: p1, length: 3s, \
         after: { sent: PUBLISH, count: 3 } }]",
    );
    let o = run::run(&w, VersionName::V5, 1, &run::schedule(&w, 1));
    let v = o.violations.first().expect("the defect is caught");
    let lost: Vec<_> = o
        .carried
        .iter()
        .filter(|c| c.client == "p1" && c.fate == Fate::Lost)
        .collect();
    let first = lost.first().expect("the cut lost a packet");
    assert_eq!(first.toward, Toward::Client, "{first}");
    assert!(first.label.starts_with("PUBREC"), "{first}");
    // Everything sent before the cut arrived.
    assert!(o
        .carried
        .iter()
        .filter(|c| c.sent_ms < first.sent_ms)
        .all(|c| c.fate.arrived().is_some()));

    // The violation's story, drawn from the log as a report draws it: the
    // PUBREC the client never saw ends in a cross, the cut is shaded.
    let d = Diagram::of_violation(&o, v);
    assert!(
        d.rows.iter().any(|r| matches!(&r.what,
            What::Packet { to, label, net: Net::Lost, .. }
                if to == "p1" && label.starts_with("PUBREC"))),
        "{}",
        d.text()
    );
    assert!(
        d.periods().iter().any(|p| p.on == "p1" && !p.stall),
        "{}",
        d.text()
    );
}
