//! Packet-triggered faults in simulation: a fault armed at its time falls
//! right after the packet it waits for has arrived where it was going —
//! at the client for one it receives, at the broker for one it sends — so
//! the packet after it meets the fault. Random schedules draw such
//! faults from the seed, and explore's fixed files replay them.

use std::path::Path;

use mqtt_gauntlet::record::history::{Event, History, MsgId};
use mqtt_gauntlet::scenario::workload as model;
use mqtt_gauntlet::scenario::VersionName;
use mqtt_gauntlet::workload::{explore, run};

fn text(faults: &str) -> String {
    format!(
        "name: one publisher, one subscriber, QoS 2\n\
         versions: [5]\n\
         duration: 10s\n\
         network: {{ latency: 20ms..20ms }}\n\
         faults: {faults}\n\
         workload: {{ publishers: 1, subscribers: 1, messages: 20, qos: [2], \
         subscribe_qos: 2, inflight: 1, filters: ['maison/#'] }}\n\
         check: [exactly_once, ordered_per_publisher]\n"
    )
}

fn load(text: &str) -> Result<model::Workload, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.yaml");
    std::fs::write(&path, text).unwrap();
    model::load_file(Path::new(&path)).map_err(|e| e.to_string())
}

fn workload(faults: &str) -> model::Workload {
    load(&text(faults)).unwrap_or_else(|e| panic!("{e}"))
}

/// The fault events: (time, text).
fn faults(h: &History) -> Vec<(u64, String)> {
    h.events
        .iter()
        .filter_map(|e| match e {
            Event::Fault { at, what } => Some((*at, what.clone())),
            _ => None,
        })
        .collect()
}

/// When `p1`'s messages were acknowledged (PUBREC) and completed
/// (PUBCOMP), by message.
fn acked(h: &History) -> Vec<(u64, MsgId)> {
    h.events
        .iter()
        .filter_map(|e| match e {
            Event::Acked { at, id } => Some((*at, id.clone())),
            _ => None,
        })
        .collect()
}

fn completed(h: &History, id: &MsgId) -> Vec<u64> {
    h.events
        .iter()
        .filter_map(|e| match e {
            Event::Completed { at, id: i } if i == id => Some(*at),
            _ => None,
        })
        .collect()
}

#[test]
fn a_cut_after_the_third_pubrec_received_falls_at_that_pubrec_and_loses_the_pubrel() {
    let w = workload(
        "[{ at: 2s, fault: cut, target: p1, length: 3s, \
         after: { received: PUBREC, count: 3 } }]",
    );
    let schedule = run::schedule(&w, 1);
    assert_eq!(schedule.len(), 1);
    let o = run::run(&w, VersionName::V5, 1, &schedule);
    assert!(o.passed(), "{:?} {:?}", o.violations, o.error);
    let fired = faults(&o.history);
    let (at, what) = &fired[0];
    assert!(
        what.starts_with("cut p1 for 3000 ms, after the 3rd PUBREC p1 receives (PUBREC id="),
        "{what}"
    );
    // The third PUBREC from 2 s on: the fault fell the moment it came.
    let pubrecs: Vec<_> = acked(&o.history)
        .into_iter()
        .filter(|(t, _)| *t >= 2000)
        .collect();
    let (third_at, third) = &pubrecs[2];
    assert_eq!(at, third_at, "{fired:?} {pubrecs:?}");
    // Its PUBREL went into the cut: the flow completes only after it.
    let done = completed(&o.history, third);
    assert!(
        done.iter().all(|t| *t >= at + 3000),
        "PUBCOMP at {done:?}, cut from {at} for 3 s"
    );
    assert_eq!(
        fired[1].0,
        at + 3000,
        "the cut ends its length after it fell"
    );
}

#[test]
fn a_cut_after_a_pubrel_sent_falls_once_the_broker_has_it_and_loses_the_pubcomp() {
    let w = workload(
        "[{ at: 2s, fault: cut, target: p1, length: 3s, \
         after: { sent: PUBREL, count: 2 } }]",
    );
    let o = run::run(&w, VersionName::V5, 1, &run::schedule(&w, 1));
    assert!(o.passed(), "{:?} {:?}", o.violations, o.error);
    let fired = faults(&o.history);
    let (at, what) = &fired[0];
    assert!(what.contains("after the 2nd PUBREL p1 sends"), "{what}");
    // p1 sends a PUBREL the moment its PUBREC comes (inflight 1); the
    // second from 2 s on reached the broker one link latency (20 ms)
    // later, and the cut fell then.
    let pubrecs: Vec<_> = acked(&o.history)
        .into_iter()
        .filter(|(t, _)| *t >= 2000)
        .collect();
    let (second_at, second) = &pubrecs[1];
    assert_eq!(*at, second_at + 20, "{fired:?} {pubrecs:?}");
    let done = completed(&o.history, second);
    assert!(
        !done.is_empty() && done.iter().all(|t| *t >= at + 3000),
        "the broker had the PUBREL, its PUBCOMP was lost: completed at {done:?}"
    );
}

#[test]
fn a_trigger_that_never_comes_leaves_the_run_alone() {
    let w = workload(
        "[{ at: 2s, fault: cut, target: p1, length: 3s, \
         after: { received: PUBREC, count: 1000 } }]",
    );
    let o = run::run(&w, VersionName::V5, 1, &run::schedule(&w, 1));
    assert!(o.passed());
    assert!(faults(&o.history).is_empty());
}

#[test]
fn random_packet_faults_come_from_the_seed_and_replay_from_the_shrunk_file() {
    let random = "{ every: 1s..2s, length: 500ms..1s, pick: [cut, stall], \
                  on_packets: { share: 100%, count: 1..3 } }";
    let w = workload(random);
    let a = run::schedule(&w, 5);
    assert_eq!(a, run::schedule(&w, 5));
    assert!(!a.is_empty());
    assert!(a.iter().all(|f| f.after.is_some()), "{a:?}");
    let flows = ["PUBLISH", "PUBREC", "PUBREL", "PUBCOMP"];
    assert!(a
        .iter()
        .all(|f| flows.contains(&f.after.as_ref().unwrap().packet.name())));
    let first = run::run(&w, VersionName::V5, 5, &a);
    let again = run::run(&w, VersionName::V5, 5, &a);
    assert!(first.passed(), "{:?}", first.violations);
    let json = |h: &History| serde_json::to_string(h).unwrap();
    assert_eq!(json(&first.history), json(&again.history));
    assert!(faults(&first.history)
        .iter()
        .any(|(_, what)| what.contains(", after the")));

    // The fixed file explore writes holds the triggers and replays the run.
    let fixed = explore::fixed_yaml(&text(random), "w.yaml", 5, VersionName::V5, &a, "test");
    assert!(fixed.contains("after: { "), "{fixed}");
    let replayed = load(&fixed).unwrap_or_else(|e| panic!("{e}\n{fixed}"));
    let b = run::schedule(&replayed, 5);
    assert_eq!(a, b);
    let replay = run::run(&replayed, VersionName::V5, 5, &b);
    assert_eq!(json(&first.history), json(&replay.history));
}

#[test]
fn a_trigger_on_a_packet_that_cannot_come_is_a_load_error() {
    let err = load(&text(
        "[{ at: 1s, fault: cut, target: p1, length: 1s, after: { sent: PUBACKK } }]",
    ))
    .unwrap_err();
    assert!(err.contains("unknown packet type \"PUBACKK\""), "{err}");
    let err = load(&text(
        "[{ at: 1s, fault: cut, target: p1, length: 1s, after: { received: PINGREQ } }, \
          { at: 2s, fault: broker_restart, after: { received: PUBACK } }, \
          { at: 3s, fault: cut, target: p1, length: 1s, after: { sent: PUBLISH, by: s9 } }]",
    ))
    .unwrap_err();
    assert!(err.contains("a broker never sends PINGREQ"), "{err}");
    assert!(
        err.contains("say whose packet it waits for with `by: CLIENT`"),
        "{err}"
    );
    assert!(err.contains("unknown client \"s9\""), "{err}");
    assert!(err.contains("w.yaml:5:"), "errors name the line: {err}");
}
