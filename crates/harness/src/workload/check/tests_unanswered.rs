//! The checkers where a CONNECT or SUBSCRIBE got no answer: the broker
//! may have acted on it all the same, so what the client saw next may rest
//! on a session or subscription it does not know of.

use super::tests_chaos::{fails, id, passes, Copy, H, Q1, T};
use super::*;

/// s1 (Session Expiry `expiry` s) subscribed, left at 1 s; p1#1 came at
/// 1.1 s; s1 connects again at `back` with Session Present 1.
fn away(expiry: u32, back: Ms) -> H {
    H::default()
        .v5()
        .kept("s1")
        .conn(0, "s1", 1, false, false, None, Some(expiry))
        .sub(5, "s1", T, 1)
        .left(1000, "s1", 1)
        .publish(1100, 1, 1, None)
        .conn(back, "s1", 3, false, true, None, Some(expiry))
}

fn unanswered(requested_at: Ms, clean_start: bool) -> Event {
    Event::Unanswered {
        at: requested_at + 3000,
        client: "s1".into(),
        requested_at,
        clean_start,
    }
}

#[test]
fn a_connect_without_answer_may_have_begun_the_session_a_later_one_finds_present() {
    // Away 7 s with a 3 s expiry; the CONNECT at 5 s may have reached the
    // broker after the session expired and begun an empty one, which the
    // CONNECT at 8 s resumed: p1#1 went with the old session.
    let late = away(3, 8100).push(unanswered(5000, false));
    passes(Check::AtLeastOnce, &late);
    passes(Check::SessionExpiryRespected, &late);
    // With no such CONNECT a session present is the one it left.
    let v = fails(Check::AtLeastOnce, &away(3, 8100), "MQTT-4.5.0-1");
    assert!(v.contains("p1#1"), "{v}");
    // Nor when the session could not have expired by then.
    let kept = away(60, 8100).push(unanswered(5000, false));
    fails(Check::AtLeastOnce, &kept, "MQTT-4.5.0-1");
}

#[test]
fn a_clean_start_connect_without_answer_may_have_ended_the_session() {
    let clean = away(60, 8100).push(unanswered(5000, true));
    passes(Check::AtLeastOnce, &clean);
}

#[test]
fn a_subscription_without_suback_proves_no_message_dropped_alive() {
    // The SUBSCRIBE may have reached the broker after p1#1 and before
    // p1#2: p1#2 arriving says nothing of p1#1.
    let unsure = |subscribed: bool| {
        let h = H::default()
            .v5()
            .kept("s1")
            .conn(0, "s1", 1, false, false, None, Some(60))
            .push(Event::Subscribing {
                at: 5,
                client: "s1".into(),
                filters: vec![(T.into(), 1)],
            });
        let h = if subscribed { h.sub(20, "s1", T, 1) } else { h };
        h.publish(1000, 1, 1, Some(30))
            .publish(1100, 2, 1, Some(30))
            .deliver(
                1200,
                "s1",
                2,
                Copy {
                    expiry: Some(30),
                    ..Q1
                },
            )
    };
    passes(Check::NoExpiredDelivery, &unsure(false));
    // Once its SUBACK came, the same is a message dropped alive.
    let v = fails(Check::NoExpiredDelivery, &unsure(true), "MQTT-3.3.2-5");
    assert!(v.contains(&id(1).to_string()), "{v}");
}

#[test]
fn a_subscribe_without_suback_on_a_3_1_1_clean_session_s_heir_allows_deliveries() {
    // 3.1.1: connection 1 had Clean Session 1, so its subscription ended
    // with it; connection 2 (Clean Session 0, a new session) subscribed
    // again and lost the SUBACK; connection 3 found that session present.
    let h = H::default()
        .kept("s1")
        .conn(0, "s1", 1, true, false, None, None)
        .sub(5, "s1", T, 1)
        .push(Event::ConnectionLost {
            at: 1000,
            client: "s1".into(),
            connection: 1,
            why: "cut".into(),
        })
        .conn(1100, "s1", 2, false, false, None, None)
        .push(Event::Subscribing {
            at: 1100,
            client: "s1".into(),
            filters: vec![(T.into(), 1)],
        })
        .conn(5000, "s1", 3, false, true, None, None)
        .publish(5100, 1, 1, None)
        .deliver(
            5110,
            "s1",
            1,
            Copy {
                connection: 3,
                ..Q1
            },
        );
    passes(Check::RoutesMatchFilters, &h);
    passes(Check::AtLeastOnce, &h);
}

#[test]
fn order_is_not_judged_between_a_takeover_s_old_and_new_connections() {
    // p1#1 went on the old connection before the broker accepted the new
    // one, where p1#2 went; the client happened to read p1#2 first.
    let across = |old: u32| {
        H::default()
            .kept("s1")
            .conn(0, "s1", 1, false, false, None, None)
            .sub(5, "s1", T, 1)
            .publish(1000, 1, 1, None)
            .publish(1001, 2, 1, None)
            .conn(1005, "s1", 2, false, true, None, None)
            .deliver(
                1010,
                "s1",
                2,
                Copy {
                    connection: 2,
                    ..Q1
                },
            )
            .deliver(
                1010,
                "s1",
                1,
                Copy {
                    connection: old,
                    ..Q1
                },
            )
    };
    passes(Check::OrderedPerPublisher, &across(1));
    // On the same connection it is out of order.
    fails(Check::OrderedPerPublisher, &across(2), "§4.6");
}

#[test]
fn a_connection_opened_before_a_restart_that_kept_nothing_carried_the_old_broker_s_packets() {
    // Connection 2's CONNECT went at `requested` and its CONNACK, with
    // p1#1 resent, came at 2.015 s, after the broker crashed at 2 s
    // keeping nothing: if the CONNECT went before the crash, the old
    // broker answered it and sent p1#1 while s1 was still subscribed.
    let across = |requested: Ms| {
        H::default()
            .kept("s1")
            .conn(0, "s1", 1, false, false, None, None)
            .sub(5, "s1", T, 1)
            .publish(1000, 1, 1, None)
            .push(Event::BrokerRestarted {
                at: 2000,
                graceful: false,
                kept: false,
            })
            .conn(requested + 10, "s1", 2, false, true, None, None)
            .deliver(
                2015,
                "s1",
                1,
                Copy {
                    connection: 2,
                    dup: true,
                    ..Q1
                },
            )
    };
    passes(Check::RoutesMatchFilters, &across(1990));
    // A connection opened after it reached the new broker, which has no
    // subscription for s1.
    let v = fails(Check::RoutesMatchFilters, &across(2004), "MQTT-3.3.2-3");
    assert!(v.contains("no subscription"), "{v}");
}
