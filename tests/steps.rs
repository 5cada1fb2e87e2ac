//! Step forms, end to end through the CLI: `expect` with `or_closed` and
//! with `unordered: other_topics`, and an
//! acknowledgement sent with a reason code (and refused on 3.1.1 at load).

mod common;
use common::{gauntlet, text};

#[test]
fn or_closed_takes_the_close_the_spec_allows_and_only_with_it() {
    let out = gauntlet(&["run", "tests/fixtures/steps/or_closed.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = gauntlet(&["run", "tests/fixtures/steps/not_or_closed.yaml"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("expected PUBACK, but the connection was closed"),
        "{t}"
    );
}

#[test]
fn an_acknowledgement_carries_the_reason_code_it_is_given() {
    let out = gauntlet(&[
        "replay",
        "tests/fixtures/steps/ack_reason.yaml",
        "--seed",
        "1",
        "--version",
        "5",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("dashboard  -> PUBACK id=1 reason=0x80"), "{t}");
}

#[test]
fn a_reason_code_in_an_acknowledgement_needs_mqtt_5() {
    let out = gauntlet(&["check", "tests/fixtures/steps/ack_reason_311.yaml"]);
    let t = text(&out);
    assert_ne!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("ack_reason_311.yaml:13:51: a reason code in an acknowledgement needs MQTT 5"),
        "{t}"
    );
}

#[test]
fn a_silent_close_fails_on_a_packet_sent_before_it() {
    let out = gauntlet(&["run", "tests/fixtures/steps/not_silent_close.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = gauntlet(&["run", "tests/fixtures/steps/silent_close.yaml"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("the broker closed the connection, but first sent SUBACK"),
        "{t}"
    );
}

#[test]
fn unordered_other_topics_lets_other_topics_pass_but_keeps_each_topic_in_order() {
    let out = gauntlet(&["run", "tests/fixtures/steps/topic_order.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = gauntlet(&["run", "tests/fixtures/steps/topic_order_broken.yaml"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("payload=\"a2\" came after PUBLISH topic=\"maison/a\""),
        "{t}"
    );
    assert!(t.contains("payload=\"a1\""), "{t}");
}

#[test]
fn unordered_other_topics_needs_a_topic_to_keep_order_in() {
    let out = gauntlet(&["check", "tests/fixtures/steps/topic_order_no_topic.yaml"]);
    let t = text(&out);
    assert_ne!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("topic_order_no_topic.yaml:8:")
            && t.contains("unordered: other_topics keeps order within a topic"),
        "{t}"
    );
}
