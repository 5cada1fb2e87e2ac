//! Workloads in simulation: the traffic really flows (a run without faults
//! delivers every message to every matching subscriber), the same seed
//! gives the same history, faults are applied, and `gauntlet explore`
//! covers a seed range and its shares.

use std::path::Path;
mod common;
use common::gauntlet;

use mqtt_gauntlet::record::history::Event;
use mqtt_gauntlet::scenario::workload as model;
use mqtt_gauntlet::scenario::VersionName;
use mqtt_gauntlet::workload::run;

fn load(name: &str) -> model::Workload {
    model::load_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).expect("loads")
}

fn count(h: &mqtt_gauntlet::record::history::History, f: impl Fn(&Event) -> bool) -> usize {
    h.events.iter().filter(|e| f(e)).count()
}

#[test]
fn without_faults_every_message_reaches_every_matching_subscriber() {
    let mut w = load("scenarios/chaos/workload_qos1.yaml");
    w.faults = None;
    for v in [VersionName::V311, VersionName::V5] {
        let o = run::run(&w, v, 1, &[]);
        assert!(o.passed(), "{:?} {:?}", o.error, o.violations);
        let h = &o.history;
        assert_eq!(count(h, |e| matches!(e, Event::Published { .. })), 200);
        assert_eq!(count(h, |e| matches!(e, Event::Acked { .. })), 200);
        // s1 maison/+/temperature and s2 maison/# get all 200; s3
        // maison/salon/temperature gets p1's 40.
        for (sub, n) in [("s1", 200), ("s2", 200), ("s3", 40)] {
            let got = count(
                h,
                |e| matches!(e, Event::Delivered { client, .. } if client == sub),
            );
            assert_eq!(got, n, "{sub} [{v}]");
        }
        assert_eq!(count(h, |e| matches!(e, Event::ConnectionLost { .. })), 0);
    }
}

#[test]
fn at_the_end_a_fresh_client_reads_each_topics_latest_retained_message() {
    let mut w = load("scenarios/chaos/workload_retained.yaml");
    w.faults = None;
    for v in [VersionName::V311, VersionName::V5] {
        let o = run::run(&w, v, 3, &[]);
        assert!(o.passed(), "{:?} {:?}", o.error, o.violations);
        let end = o.history.retained_at_end.as_ref().expect("read at the end");
        // Two sensors to a room, 50 readings each at the same instants:
        // the room keeps one of its two sensors' last reading.
        let rooms: Vec<&str> = end.keys().map(String::as_str).collect();
        assert_eq!(
            rooms,
            ["maison/cuisine/temperature", "maison/salon/temperature"],
            "[{v}]"
        );
        for (room, sensors) in [
            ("maison/salon/temperature", ["p1", "p3"]),
            ("maison/cuisine/temperature", ["p2", "p4"]),
        ] {
            let id = end[room].as_ref().expect("something retained");
            assert!(
                sensors.contains(&id.publisher.as_str()),
                "{room}: {id} [{v}]"
            );
            assert_eq!(id.seq, 50, "{room}: {id} [{v}]");
        }
        // Every publish carried RETAIN; live deliveries do not (§3.3.1.3).
        assert_eq!(
            count(&o.history, |e| matches!(
                e,
                Event::Published { retain: true, .. }
            )),
            200
        );
        assert_eq!(
            count(&o.history, |e| matches!(
                e,
                Event::Delivered { retain: true, .. }
            )),
            0
        );
    }
    // A broker that keeps the first retained message is caught at once.
    w.broker
        .bugs
        .insert(reference_broker::Bug::RetainedNotReplaced);
    let o = run::run(&w, VersionName::V5, 3, &[]);
    let text: Vec<String> = o.violations.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 2, "{text:#?}");
    for room in ["salon", "cuisine"] {
        let prefix = format!("retained_latest: maison/{room}/temperature retains p");
        let t = text.iter().find(|t| t.starts_with(&prefix));
        assert!(t.is_some_and(|t| t.contains("#1 at the end")), "{text:#?}");
    }
}

#[test]
fn faults_are_applied_and_the_history_is_a_function_of_the_seed() {
    let w = load("scenarios/chaos/workload_qos2.yaml");
    let a = run::run(&w, VersionName::V5, 7, &run::schedule(&w, 7));
    let b = run::run(&w, VersionName::V5, 7, &run::schedule(&w, 7));
    let c = run::run(&w, VersionName::V5, 8, &run::schedule(&w, 8));
    assert!(a.passed(), "{:?}", a.violations);
    assert!(!a.faults.is_empty());
    assert!(count(&a.history, |e| matches!(e, Event::Fault { .. })) >= a.faults.len());
    assert!(count(&a.history, |e| matches!(e, Event::ConnectionLost { .. })) > 0);
    let json =
        |o: &mqtt_gauntlet::record::workload::Outcome| serde_json::to_string(&o.history).unwrap();
    assert_eq!(json(&a), json(&b));
    assert_ne!(json(&a), json(&c));
}

/// Seeds where a CONNECT got no answer (the client gave up on it, or its
/// host was reset while it waited) and reached the reference broker after
/// the session had expired: it began an empty session, which the client's
/// next CONNECT found present. The client subscribes again; the checkers
/// do not hold the old session's messages or packet ids against it.
#[test]
fn a_session_begun_by_a_connect_without_answer_is_not_taken_for_the_old_one() {
    let w = load("scenarios/chaos/workload_expiry.yaml");
    for (seed, client) in [(1746, "s3"), (4364, "s3"), (6924, "s1")] {
        let o = run::run(&w, VersionName::V5, seed, &run::schedule(&w, seed));
        assert!(o.passed(), "seed {seed}: {:?} {:?}", o.error, o.violations);
        let unanswered =
            |e: &Event| matches!(e, Event::Unanswered { client: c, .. } if c == client);
        assert!(count(&o.history, unanswered) >= 1, "seed {seed}");
        // It subscribed again on the connection that found a session.
        let subscribed =
            |e: &Event| matches!(e, Event::Subscribing { client: c, .. } if c == client);
        assert!(count(&o.history, subscribed) >= 2, "seed {seed}");
    }
}

/// A broker still delivering when `drain` is up (here a dashboard that
/// allows one message unacknowledged and takes 150 ms to acknowledge each,
/// as a loaded machine makes any broker) is given time: the drain goes on
/// while things still happen, up to three times `drain`. A drain too short
/// even for that fails, and says the broker was still at work.
#[test]
fn the_drain_waits_for_a_broker_still_delivering() {
    use mqtt_gauntlet::scenario::values::{CountRange, Dur, DurRange};
    use std::time::Duration;
    let ms = |n| Dur(Duration::from_millis(n));
    let mut w = load("scenarios/chaos/workload_qos1.yaml");
    w.faults = None;
    w.duration = ms(1_000);
    w.drain = ms(4_000);
    w.workload.messages = 40;
    w.workload.receive_maximum = Some(CountRange::one(1));
    w.workload.ack_delay = Some(DurRange {
        min: ms(150),
        max: ms(150),
    });
    let slow = |e: &Event| matches!(e, Event::Delivered { client, .. } if client == "s2");
    let o = run::run(&w, VersionName::V5, 1, &[]);
    assert!(o.passed(), "{:?} {:?} {:?}", o.error, o.violations, o.notes);
    assert_eq!(count(&o.history, slow), 40);
    // s2's 40 messages one at a time take over 6 s: past the 4 s drain.
    let last = o.history.events.iter().rev().find(|e| slow(e)).unwrap();
    let traffic_end = 1_000;
    assert!(last.at() > traffic_end + 4_000, "{last:?}");

    w.drain = ms(1_000);
    let o = run::run(&w, VersionName::V5, 1, &[]);
    assert!(!o.passed());
    assert!(
        o.notes.iter().any(|n| n.contains("still at work")),
        "{:?}",
        o.notes
    );
}

/// workload_takeover seeds that once failed on the correct reference
/// broker, each for a thing the client cannot see: 6771 [3.1.1], a
/// SUBSCRIBE whose SUBACK was lost right after a clean session's heir
/// began; 9871 [5], messages the client read from a takeover's old
/// connection after the new one's; 5676 [5], a clean takeover whose
/// connection failed, leaving the old session's QoS 2 message awaiting
/// PUBREL (its resend with DUP 1 is no new message).
#[test]
fn takeovers_the_client_cannot_see_through_are_not_held_against_the_broker() {
    let w = load("scenarios/chaos/workload_takeover.yaml");
    for (seed, v) in [
        (6771, VersionName::V311),
        (9871, VersionName::V5),
        (5676, VersionName::V5),
    ] {
        let o = run::run(&w, v, seed, &run::schedule(&w, seed));
        assert!(
            o.passed(),
            "seed {seed} [{v}]: {:?} {:?}",
            o.error,
            o.violations
        );
    }
}

#[test]
fn explore_runs_a_seed_range_and_its_shares() {
    let out = gauntlet(&[
        "explore",
        "scenarios/chaos/workload_qos1.yaml",
        "--seeds",
        "1..6",
        "--partition",
        "2/3",
        "--version",
        "5",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("2 runs (2 seeds x 1 versions, share 2/3): 0 failed"),
        "{text}"
    );
}

#[test]
fn explore_shrinks_a_failure_to_a_replayable_fixed_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let out = gauntlet(&[
        "explore",
        "tests/fixtures/workloads/overflow.yaml",
        "--seeds",
        "1..2",
        "--out",
        out_dir,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL seed 1 [v5]"), "{text}");
    assert!(text.contains("at_least_once: p"), "{text}");
    // Shrunk to at most 3 faults (of the 9 the seed drew).
    let shrunk = text
        .split("seed 1 [v5] shrunk: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no shrink in {text}"));
    let kept: usize = shrunk.split(' ').next().unwrap().parse().unwrap();
    assert!(kept <= 3, "{text}");
    let file = dir.path().join("overflow-seed1-v5.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    assert!(yaml.contains("faults:\n  - { at: "), "{yaml}");
    // The written schedule is a workload of its own that fails the same way.
    let out = gauntlet(&[
        "explore",
        file.to_str().unwrap(),
        "--seeds",
        "1",
        "--shrink",
        "0",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("at_least_once: p"), "{text}");
    assert!(text.contains(&format!("({kept} faults)")), "{text}");
}

/// A broker with `bug` is caught by explore within 1,000 seeds, and the
/// failure shrinks to at most 3 faults that still break the same check.
fn finds_and_shrinks(bug: &str) {
    let path = format!("tests/fixtures/workloads/bug_{bug}.yaml");
    let w = load(&path);
    let failing = (1..=1000)
        .map(|seed| run::run(&w, VersionName::V5, seed, &run::schedule(&w, seed)))
        .find(|o| !o.passed())
        .unwrap_or_else(|| panic!("{bug}: no failing seed in 1..=1000"));
    assert!(failing.error.is_none(), "{bug}: {:?}", failing.error);
    let small = mqtt_gauntlet::workload::explore::shrink(&w, &failing);
    assert!(!small.violations.is_empty(), "{bug}: shrunk run passes");
    assert!(
        small.faults.len() <= 3,
        "{bug}: seed {} shrunk to {} faults: {:?}",
        failing.seed,
        small.faults.len(),
        small.faults
    );
    // The same workload on a correct broker passes with that seed.
    let mut fixed = w.clone();
    fixed.broker.bugs.clear();
    let o = run::run(&fixed, VersionName::V5, failing.seed, &failing.faults);
    assert!(
        o.passed(),
        "{bug}: the correct broker fails: {:?}",
        o.violations
    );
}

#[test]
fn explore_catches_an_offline_queue_dropped_on_resume() {
    finds_and_shrinks("offline_queue_dropped_on_resume");
}

#[test]
fn explore_catches_a_qos2_resend_forwarded_twice() {
    finds_and_shrinks("qos2_resend_forwarded");
}

#[test]
fn explore_catches_a_qos2_message_forwarded_on_every_pubrel() {
    finds_and_shrinks("qos2_pubrel_resend_forwarded");
}

#[test]
fn explore_catches_a_retained_message_not_replaced() {
    finds_and_shrinks("retained_not_replaced");
}

#[test]
fn explore_catches_plus_matching_many_levels() {
    finds_and_shrinks("plus_matches_many_levels");
}

#[test]
fn explore_catches_no_redelivery_after_a_cut() {
    finds_and_shrinks("no_redelivery_on_resume");
}

#[test]
fn explore_catches_overlapping_subscriptions_delivered_at_the_first_ones_qos() {
    finds_and_shrinks("overlap_qos_of_first_match");
}

#[test]
fn explore_catches_a_message_expiry_neither_checked_nor_reduced() {
    finds_and_shrinks("expiry_not_counted");
}

#[test]
fn explore_catches_a_resume_that_ignores_the_new_receive_maximum() {
    finds_and_shrinks("resume_over_receive_maximum");
}

#[test]
fn explore_catches_a_session_that_never_expires() {
    finds_and_shrinks("session_never_expires");
}

#[test]
fn explore_catches_a_takeover_that_leaves_the_old_connection_open() {
    finds_and_shrinks("takeover_leaves_old_open");
}
