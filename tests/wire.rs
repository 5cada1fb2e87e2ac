//! The wire monitor catches broker bugs in runs that do not look for them:
//! an ordinary library scenario and an ordinary library workload, on a
//! reference broker with a deliberate defect, fail naming the rule the
//! broker broke, while the same runs on the correct broker pass.

use std::path::Path;

use mqtt_gauntlet::record::script::Outcome;
use mqtt_gauntlet::scenario::{self, VersionName};
use mqtt_gauntlet::sim;
use mqtt_gauntlet::workload::run;
use reference_broker::Bug;

fn root(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `chaos::reset_resume_session` is about a session resumed after a host
/// reset: the message in flight comes back with DUP 1, then the queued ones,
/// in order. It checks their payloads, DUP flags and order, not the packet
/// ids of the queued ones, so a broker whose id counter restarts at 1 on
/// each connection passes all its steps; the monitor sees the first queued
/// message take id 1 while the resent one still holds it.
#[test]
fn a_broker_reusing_an_inflight_packet_id_fails_a_scenario_about_resuming() {
    let mut s = scenario::load_file(&root("scenarios/chaos/reset_resume_session.yaml")).unwrap();
    for (version, rule) in [
        (VersionName::V311, "MQTT-2.3.1-4"),
        (VersionName::V5, "MQTT-2.2.1-4"),
    ] {
        s.broker.bugs.clear();
        let r = sim::run(&s, version, 1);
        assert!(r.passed(), "correct broker [{version:?}]: {:?}", r.outcome);

        s.broker.bugs.insert(Bug::ReusesInflightPacketId);
        let r = sim::run(&s, version, 1);
        let Outcome::Failed(f) = &r.outcome else {
            panic!("the defect went unnoticed [{version:?}]\n{}", r.trace);
        };
        let expected = format!(
            "broker breached {rule}: PUBLISH topic=\"maison/salon/temperature\" qos=1 id=1 dup=0"
        );
        assert!(f.message.starts_with(&expected), "{}", f.message);
        assert!(f.message.contains("payload=\"21.5\""), "{}", f.message);
        assert!(f.message.ends_with("sent to dashboard"), "{}", f.message);
        // It fails the step it happened in: the reconnection, not an
        // expectation of the scenario.
        assert_eq!(f.step_text, "dashboard: connect");
        // The trace shows the breach where it happened, then the failure.
        let trace = r.trace.to_string();
        let at = trace
            .lines()
            .position(|l| l.contains("dashboard  ** broker breached"))
            .unwrap_or_else(|| panic!("no breach in the trace:\n{trace}"));
        assert!(
            trace
                .lines()
                .nth(at - 1)
                .unwrap()
                .contains("payload=\"21.5\""),
            "{trace}"
        );
    }
}

/// `chaos::workload_retained` checks that each topic keeps its latest
/// retained message; its end-of-run reader subscribes at QoS 1. A broker
/// that sends retained messages at their stored QoS 2 still gives the
/// reader the right messages, so no delivery checker objects; the monitor
/// on the reader's connection does (MQTT-3.8.4-8: the minimum of the
/// message's QoS and the granted QoS), as a `wire` violation.
#[test]
fn retained_messages_above_the_granted_qos_fail_the_retained_workload() {
    let mut w =
        scenario::workload::load_file(&root("scenarios/chaos/workload_retained.yaml")).unwrap();
    for (version, rule) in [
        (VersionName::V311, "MQTT-3.8.4-6"),
        (VersionName::V5, "MQTT-3.8.4-8"),
    ] {
        w.broker.bugs.clear();
        let faults = run::schedule(&w, 1);
        let o = run::run(&w, version, 1, &faults);
        assert!(
            o.passed(),
            "correct broker [{version:?}]: {:?}",
            o.violations
        );

        w.broker.bugs.insert(Bug::RetainedQosNotCapped);
        let o = run::run(&w, version, 1, &faults);
        assert!(o.error.is_none(), "{:?}", o.error);
        let checks: Vec<&str> = o.violations.iter().map(|v| v.check).collect();
        assert_eq!(checks, ["wire"], "{:?}", o.violations);
        let v = &o.violations[0];
        assert_eq!(v.subscriber.as_deref(), Some("probe"));
        assert!(
            v.what
                .starts_with(&format!("broker breached {rule}: PUBLISH")),
            "{}",
            v.what
        );
        assert!(v.what.contains("qos=2"), "{}", v.what);
        assert!(v.what.contains("granted at most QoS 1"), "{}", v.what);
        // The message is named as the checkers name theirs.
        let id = v.message.as_ref().expect("a workload message");
        assert_eq!(v.publisher.as_deref(), Some(id.publisher.as_str()));
    }
}
