//! The checkers of adversarial workloads on hand-made histories: each
//! passes a clean one and catches each kind of violation it exists for.

use super::*;

pub(super) const T: &str = "maison/salon/temperature";

pub(super) fn id(seq: u32) -> MsgId {
    MsgId {
        publisher: "p1".into(),
        seq,
        will: false,
    }
}

/// A history, one event per call.
#[derive(Clone, Default)]
pub(super) struct H(History);

/// A delivery's details beyond who got what when.
#[derive(Clone, Copy)]
pub(super) struct Copy {
    pub(super) qos: u8,
    pub(super) connection: u32,
    pub(super) packet_id: Option<u16>,
    pub(super) expiry: Option<u32>,
    pub(super) dup: bool,
    pub(super) repeat: bool,
}

pub(super) const Q1: Copy = Copy {
    qos: 1,
    connection: 1,
    packet_id: None,
    expiry: None,
    dup: false,
    repeat: false,
};

impl H {
    pub(super) fn v5(mut self) -> H {
        self.0.roles.v5 = true;
        self
    }
    pub(super) fn kept(mut self, c: &str) -> H {
        self.0.roles.kept_sessions.push(c.into());
        self
    }
    pub(super) fn push(mut self, e: Event) -> H {
        self.0.push(e);
        self
    }
    #[allow(clippy::too_many_arguments)]
    pub(super) fn conn(
        self,
        at: Ms,
        client: &str,
        connection: u32,
        clean_start: bool,
        session_present: bool,
        receive_maximum: Option<u16>,
        session_expiry: Option<u32>,
    ) -> H {
        self.push(Event::Connected {
            at,
            client: client.into(),
            connection,
            clean_start,
            session_present,
            will: None,
            requested_at: at.saturating_sub(10),
            receive_maximum,
            session_expiry,
        })
    }
    pub(super) fn sub(self, at: Ms, client: &str, filter: &str, granted: u8) -> H {
        self.push(Event::Subscribed {
            at,
            client: client.into(),
            filter: filter.into(),
            granted_qos: Some(granted),
        })
    }
    pub(super) fn publish(self, at: Ms, seq: u32, qos: u8, expiry: Option<u32>) -> H {
        self.push(Event::Published {
            at,
            id: id(seq),
            topic: T.into(),
            qos,
            retain: false,
            expiry,
        })
        .push(Event::Acked {
            at: at + 10,
            id: id(seq),
        })
    }
    pub(super) fn deliver(self, at: Ms, client: &str, seq: u32, c: Copy) -> H {
        self.push(Event::Delivered {
            at,
            client: client.into(),
            id: id(seq),
            topic: T.into(),
            qos: c.qos,
            dup: c.dup,
            retain: false,
            connection: c.connection,
            packet_id: c.packet_id,
            expiry: c.expiry,
            repeat: c.repeat,
        })
    }
    pub(super) fn freed(self, at: Ms, client: &str, connection: u32, packet_id: u16) -> H {
        self.push(Event::Freed {
            at,
            client: client.into(),
            connection,
            packet_id,
        })
    }
    pub(super) fn left(self, at: Ms, client: &str, connection: u32) -> H {
        self.push(Event::Disconnected {
            at,
            client: client.into(),
            connection,
        })
    }
    pub(super) fn fault(self, at: Ms, what: &str) -> H {
        self.push(Event::Fault {
            at,
            what: what.into(),
        })
    }
}

pub(super) fn found(check: Check, h: &H) -> Vec<String> {
    run(check, &h.0).iter().map(ToString::to_string).collect()
}

pub(super) fn passes(check: Check, h: &H) {
    let v = found(check, h);
    assert!(v.is_empty(), "{check} found {v:#?}");
}

pub(super) fn fails(check: Check, h: &H, rule: &str) -> String {
    let v = found(check, h);
    assert_eq!(v.len(), 1, "{check}: {v:#?}");
    assert!(
        v[0].contains(rule),
        "{check}: {} does not cite {rule}",
        v[0]
    );
    v[0].clone()
}

/// s1 holds `maison/#` at `hi` and `maison/+/temperature` at 0.
fn overlapping(hi: u8) -> H {
    H::default()
        .kept("s1")
        .conn(0, "s1", 1, false, false, None, None)
        .sub(5, "s1", "maison/#", hi)
        .sub(5, "s1", "maison/+/temperature", 0)
}

#[test]
fn qos_as_granted_holds_one_copy_at_the_highest_grant_or_one_per_subscription() {
    let one = overlapping(2)
        .publish(100, 1, 2, None)
        .deliver(110, "s1", 1, Copy { qos: 2, ..Q1 });
    passes(Check::QosAsGranted, &one);
    let each = one.clone().deliver(111, "s1", 1, Copy { qos: 0, ..Q1 });
    passes(Check::QosAsGranted, &each);
    // Capped by the grant: published at 2, granted at most 1.
    let capped = overlapping(1)
        .publish(100, 1, 2, None)
        .deliver(110, "s1", 1, Q1);
    passes(Check::QosAsGranted, &capped);
}

#[test]
fn qos_as_granted_catches_a_copy_above_the_grant_and_a_downgrade() {
    let above =
        overlapping(1)
            .publish(100, 1, 2, None)
            .deliver(110, "s1", 1, Copy { qos: 2, ..Q1 });
    let v = fails(Check::QosAsGranted, &above, "MQTT-3.3.5-1");
    assert!(v.contains("above QoS 1"), "{v}");
    let below = overlapping(2)
        .v5()
        .publish(100, 1, 2, None)
        .deliver(110, "s1", 1, Q1)
        .deliver(111, "s1", 1, Copy { qos: 0, ..Q1 });
    let v = fails(Check::QosAsGranted, &below, "MQTT-3.3.4-2");
    assert!(v.contains("only at QoS 1 and 0"), "{v}");
}

/// s1 subscribed at QoS 1 on connection 1; p1#1 published at 1 s with a
/// 5 s expiry (acknowledged at 1.010 s).
fn expiring() -> H {
    H::default()
        .v5()
        .kept("s1")
        .conn(0, "s1", 1, false, false, None, Some(60))
        .sub(5, "s1", T, 1)
        .publish(1000, 1, 1, Some(5))
}

#[test]
fn no_expired_delivery_passes_what_comes_in_time_with_the_interval_reduced() {
    let live = expiring().deliver(
        1020,
        "s1",
        1,
        Copy {
            expiry: Some(5),
            ..Q1
        },
    );
    passes(Check::NoExpiredDelivery, &live);
    // Away 3 s, back before it expired: 2 s left of 5 is right.
    let queued = expiring()
        .left(500, "s1", 1)
        .conn(4010, "s1", 2, false, true, None, Some(60))
        .deliver(
            4020,
            "s1",
            1,
            Copy {
                connection: 2,
                expiry: Some(2),
                ..Q1
            },
        );
    passes(Check::NoExpiredDelivery, &queued);
    // Expired while away: not delivered, and nothing later was either.
    let gone = expiring()
        .left(500, "s1", 1)
        .conn(9010, "s1", 2, false, true, None, Some(60));
    passes(Check::NoExpiredDelivery, &gone);
}

#[test]
fn no_expired_delivery_catches_each_kind_of_violation() {
    let copy = |connection, expiry, dup| Copy {
        connection,
        expiry,
        dup,
        ..Q1
    };
    let missing = expiring().deliver(1020, "s1", 1, copy(1, None, false));
    let v = fails(Check::NoExpiredDelivery, &missing, "MQTT-3.3.2-6");
    assert!(v.contains("without a Message Expiry Interval"), "{v}");
    let grown = expiring().deliver(1020, "s1", 1, copy(1, Some(9), false));
    fails(Check::NoExpiredDelivery, &grown, "MQTT-3.3.2-6");
    // Sent fresh on a connection opened 8 s after the broker had it.
    let late = expiring()
        .left(500, "s1", 1)
        .conn(9010, "s1", 2, false, true, None, Some(60))
        .deliver(9020, "s1", 1, copy(2, Some(1), false));
    fails(Check::NoExpiredDelivery, &late, "MQTT-3.3.2-5");
    // A resend (DUP 1) of a delivery begun before it expired may go on.
    let resent = expiring()
        .left(500, "s1", 1)
        .conn(9010, "s1", 2, false, true, None, Some(60))
        .deliver(9020, "s1", 1, copy(2, Some(1), true));
    passes(Check::NoExpiredDelivery, &resent);
    // Waited 3 s, still says 5 s left.
    let unreduced = expiring()
        .left(500, "s1", 1)
        .conn(4010, "s1", 2, false, true, None, Some(60))
        .deliver(4020, "s1", 1, copy(2, Some(5), false));
    let v = fails(Check::NoExpiredDelivery, &unreduced, "MQTT-3.3.2-6");
    assert!(v.contains("waited at least"), "{v}");
    // In its last second, a copy without the interval is an advisory:
    // a whole-second clock may say nothing is left.
    let last_second = expiring().deliver(5500, "s1", 1, copy(1, None, false));
    let f = run_all(&[Check::NoExpiredDelivery], &last_second.0);
    assert!(f.violations.is_empty(), "{:?}", f.violations);
    assert_eq!(f.advisories.len(), 1);
    assert!(f.advisories[0].to_string().contains("last second"));
    // Dropped before it expired: a later message came while it lived.
    let dropped = expiring()
        .publish(1100, 2, 1, None)
        .deliver(1200, "s1", 2, Q1);
    let v = fails(Check::NoExpiredDelivery, &dropped, "MQTT-3.3.2-5");
    assert!(v.contains("p1#1 (QoS 1"), "{v}");
    // The same when the later one came after the first expired.
    let expired_first = expiring()
        .publish(1100, 2, 1, None)
        .deliver(7000, "s1", 2, Q1);
    passes(Check::NoExpiredDelivery, &expired_first);
    // at_least_once leaves expiring messages to this checker.
    passes(Check::AtLeastOnce, &dropped);
}

/// s1 announces Receive Maximum 2 on connection 1.
fn window() -> H {
    H::default()
        .v5()
        .kept("s1")
        .conn(0, "s1", 1, false, false, Some(2), None)
        .sub(5, "s1", T, 1)
        .publish(100, 1, 1, None)
        .publish(100, 2, 1, None)
        .publish(100, 3, 1, None)
}

fn with_id(packet_id: u16, connection: u32) -> Copy {
    Copy {
        packet_id: Some(packet_id),
        connection,
        ..Q1
    }
}

#[test]
fn receive_maximum_respected_counts_what_is_unacknowledged_on_each_connection() {
    let kept = window()
        .deliver(110, "s1", 1, with_id(1, 1))
        .deliver(111, "s1", 2, with_id(2, 1))
        .freed(150, "s1", 1, 1)
        .deliver(160, "s1", 3, with_id(3, 1));
    passes(Check::ReceiveMaximumRespected, &kept);
    let over = window()
        .deliver(110, "s1", 1, with_id(1, 1))
        .deliver(111, "s1", 2, with_id(2, 1))
        .deliver(112, "s1", 3, with_id(3, 1));
    let v = fails(Check::ReceiveMaximumRespected, &over, "MQTT-3.3.4-9");
    assert!(v.contains("3 QoS 1/2 messages unacknowledged"), "{v}");
    // Resumed with Receive Maximum 1: the two resent and unacknowledged
    // are one too many; a QoS 2 resend of the same id counts once.
    let resumed = window()
        .deliver(110, "s1", 1, with_id(1, 1))
        .deliver(111, "s1", 2, with_id(2, 1))
        .left(200, "s1", 1)
        .conn(300, "s1", 2, false, true, Some(1), None)
        .deliver(310, "s1", 1, with_id(1, 2))
        .deliver(
            311,
            "s1",
            1,
            Copy {
                repeat: true,
                ..with_id(1, 2)
            },
        );
    passes(Check::ReceiveMaximumRespected, &resumed);
    let resumed_over = resumed.deliver(312, "s1", 2, with_id(2, 2));
    let v = fails(
        Check::ReceiveMaximumRespected,
        &resumed_over,
        "MQTT-3.3.4-9",
    );
    assert!(v.contains("connection 2"), "{v}");
}

/// s1 asks for a 5 s session, leaves with DISCONNECT at 1 s and comes
/// back `away` ms later; p1#1 is published while it is away.
fn absence(away: Ms, present: bool) -> H {
    H::default()
        .v5()
        .kept("s1")
        .conn(0, "s1", 1, false, false, None, Some(5))
        .sub(5, "s1", T, 1)
        .left(1000, "s1", 1)
        .publish(1100, 1, 1, None)
        .conn(1010 + away, "s1", 2, false, present, None, Some(5))
}

#[test]
fn session_expiry_respected_keeps_a_short_absence_and_ends_a_long_one() {
    passes(Check::SessionExpiryRespected, &absence(2000, true));
    passes(Check::SessionExpiryRespected, &absence(10_000, false));
    // Too close to the interval to tell: not judged either way.
    passes(Check::SessionExpiryRespected, &absence(5_000, true));
    passes(Check::SessionExpiryRespected, &absence(5_000, false));
    // A long absence ends the session: its queued message is not owed.
    passes(Check::AtLeastOnce, &absence(10_000, false));
}

#[test]
fn session_expiry_respected_catches_a_session_lost_early_kept_late_or_delivered_from() {
    let v = fails(
        Check::SessionExpiryRespected,
        &absence(2000, false),
        "MQTT-3.1.2-23",
    );
    assert!(v.contains("after 2.0 s away"), "{v}");
    fails(
        Check::SessionExpiryRespected,
        &absence(10_000, true),
        "MQTT-4.1.0-2",
    );
    let ghost = absence(10_000, false).deliver(
        11_100,
        "s1",
        1,
        Copy {
            connection: 2,
            ..Q1
        },
    );
    let v = fails(Check::SessionExpiryRespected, &ghost, "MQTT-4.1.0-2");
    assert!(v.contains("p1#1 reached s1"), "{v}");
}

/// s1 (a 5 s session, Keep Alive 2 s) has its link stalled from 1 s for
/// 8 s; p1#1 is published meanwhile. The broker, hearing nothing, may close
/// the connection at 4 s, so the session may expire at 9 s — while s1,
/// its packets held, sees the connection end only when the stall lifts at
/// 9 s, and comes back at 9.1 s to no session.
fn stalled_away() -> H {
    let mut h = H::default()
        .v5()
        .kept("s1")
        .conn(0, "s1", 1, false, false, None, Some(5))
        .sub(5, "s1", T, 1)
        .fault(1000, "stall s1 for 8000 ms")
        .publish(1500, 1, 1, None)
        .push(Event::ConnectionLost {
            at: 9000,
            client: "s1".into(),
            connection: 1,
            why: "closed by the broker".into(),
        })
        .conn(9100, "s1", 2, false, false, None, Some(5))
        .sub(9110, "s1", T, 1);
    h.0.roles.keep_alive = 2;
    h
}

#[test]
fn an_absence_counts_from_when_a_stall_silenced_the_client_not_from_when_it_saw_the_close() {
    let h = stalled_away();
    passes(Check::SessionExpiryRespected, &h);
    passes(Check::AtLeastOnce, &h);
    let q = queue_summary(&h.0);
    assert_eq!((q[0].lost, q[0].dropped), (0, 1), "{q:?}");
    // Without the stall the same 0.1 s absence could not have ended the
    // session: losing it, and the message, is caught.
    let mut calm = H::default();
    calm.0.roles = h.0.roles.clone();
    calm.0.events =
        h.0.events
            .iter()
            .filter(|e| !matches!(e, Event::Fault { .. }))
            .cloned()
            .collect();
    fails(Check::SessionExpiryRespected, &calm, "MQTT-3.1.2-23");
    fails(Check::AtLeastOnce, &calm, "MQTT-4.5.0-1");
}

/// s1's connection 1 is taken over by connection 2 (accepted at 1.020 s);
/// the old one ends at `end`.
fn takeover(end: Ms, closed: bool, disconnect: Option<u8>) -> H {
    H::default()
        .kept("s1")
        .conn(0, "s1", 1, false, false, None, None)
        .push(Event::Takeover {
            at: 1000,
            client: "s1".into(),
            old: 1,
            answering: true,
        })
        .conn(1020, "s1", 2, false, true, None, None)
        .push(Event::Superseded {
            at: end,
            client: "s1".into(),
            connection: 1,
            closed,
            disconnect,
        })
}

fn takeover_findings(h: &H) -> (Vec<String>, Vec<String>) {
    let f = run_all(&[Check::TakeoverClean], &h.0);
    (
        f.violations.iter().map(ToString::to_string).collect(),
        f.advisories.iter().map(ToString::to_string).collect(),
    )
}

#[test]
fn takeover_clean_wants_the_old_connection_closed_and_advises_on_0x8e() {
    assert_eq!(
        takeover_findings(&takeover(1025, true, None)),
        (vec![], vec![])
    );
    assert_eq!(
        takeover_findings(&takeover(1025, true, Some(0x8E)).v5()),
        (vec![], vec![])
    );
    let (v, a) = takeover_findings(&takeover(1025, true, None).v5());
    assert!(v.is_empty(), "{v:?}");
    assert_eq!(a.len(), 1, "{a:?}");
    assert!(
        a[0].contains("no DISCONNECT instead of DISCONNECT 0x8E"),
        "{a:?}"
    );
    let (v, _) = takeover_findings(&takeover(1025, true, Some(0x8B)).v5());
    assert!(v.is_empty(), "{v:?}");
}

#[test]
fn takeover_clean_catches_an_old_connection_left_open_or_closed_late() {
    let v = fails(
        Check::TakeoverClean,
        &takeover(8000, false, None),
        "MQTT-3.1.4-2",
    );
    assert!(v.contains("still open"), "{v}");
    let v = fails(
        Check::TakeoverClean,
        &takeover(4000, true, None).v5(),
        "MQTT-3.1.4-3",
    );
    assert!(v.contains("closed only at 4.000s"), "{v}");
    // A fault on the client's link may hold the close back: not judged.
    let cut = takeover(8000, false, None).fault(1500, "cut s1 for 2000 ms");
    passes(Check::TakeoverClean, &cut);
}

#[test]
fn a_clean_takeover_in_3_1_1_ends_the_session_with_its_connection() {
    // Connection 2 (CleanSession 1) subscribes; a reset ends it (no end
    // recorded); connection 3 resumes nothing. What was queued for the
    // ended session is not owed.
    let h = H::default()
        .kept("s1")
        .conn(0, "s1", 1, false, false, None, None)
        .sub(5, "s1", T, 1)
        .conn(1000, "s1", 2, true, false, None, None)
        .sub(1005, "s1", T, 1)
        .publish(2000, 1, 1, None)
        .conn(3000, "s1", 3, false, false, None, None)
        .sub(3005, "s1", T, 1);
    passes(Check::AtLeastOnce, &h);
    // In 5.0 a Clean Start 1 session with an interval outlives it.
    let v5 = h.v5();
    fails(Check::AtLeastOnce, &v5, "MQTT-4.5.0-1");
}

#[test]
fn the_total_queue_counts_each_outcome() {
    // s1 keeps its session, s2 does not.
    let h = H::default()
        .kept("s1")
        .conn(0, "s1", 1, false, false, None, None)
        .sub(5, "s1", T, 2)
        .conn(0, "s2", 1, true, false, None, None)
        .sub(6, "s2", T, 1)
        // Delivered once (to both); delivered twice; lost (owed to s1; to
        // the clean s2, only dropped); never acknowledged but delivered
        // (recovered); one nobody published; an expiring one that never
        // came (dropped: no_expired_delivery judges it).
        .publish(100, 1, 1, None)
        .deliver(110, "s1", 1, Q1)
        .deliver(115, "s2", 1, Q1)
        .publish(200, 2, 1, None)
        .deliver(210, "s1", 2, Q1)
        .deliver(220, "s1", 2, Q1)
        .publish(300, 3, 1, None)
        .push(Event::Published {
            at: 400,
            id: id(4),
            topic: T.into(),
            qos: 1,
            retain: false,
            expiry: None,
        })
        .deliver(410, "s1", 4, Q1)
        .deliver(500, "s1", 9, Q1)
        .publish(600, 5, 1, Some(2));
    let q = queue_summary(&h.0);
    assert_eq!(
        q,
        vec![record::workload::QueueLine {
            qos: 1,
            attempted: 5,
            acknowledged: 4,
            delivered: 4,
            lost: 1,
            dropped: 4,
            duplicated: 1,
            unexpected: 1,
            recovered: 1,
        }]
    );
    // What the summary calls lost is what at_least_once reports.
    let losses = run(Check::AtLeastOnce, &h.0);
    assert_eq!(losses.len(), 1, "{losses:?}");
}

#[test]
fn what_came_on_a_replaced_connection_is_judged_by_the_subscriptions_before_the_takeover() {
    // s1 takes over with Clean Start 1 at 1 s: its old subscription ends;
    // a copy still on its way on the old connection is no stray.
    let h = H::default()
        .kept("s1")
        .conn(0, "s1", 1, false, false, None, None)
        .sub(5, "s1", T, 1)
        .publish(900, 1, 1, None)
        .conn(1000, "s1", 2, true, false, None, None)
        .deliver(1010, "s1", 1, Q1);
    passes(Check::RoutesMatchFilters, &h);
    // The same copy on the new connection, before it subscribed, is one.
    let stray = H::default()
        .kept("s1")
        .conn(0, "s1", 1, false, false, None, None)
        .sub(5, "s1", T, 1)
        .publish(900, 1, 1, None)
        .conn(1000, "s1", 2, true, false, None, None)
        .deliver(
            1010,
            "s1",
            1,
            Copy {
                connection: 2,
                ..Q1
            },
        );
    fails(Check::RoutesMatchFilters, &stray, "MQTT-3.3.2-3");
}

#[test]
fn a_subscribe_whose_suback_never_came_allows_deliveries_and_owes_none() {
    let h = H::default()
        .kept("s1")
        .conn(0, "s1", 1, false, false, None, None)
        .push(Event::Subscribing {
            at: 5,
            client: "s1".into(),
            filters: vec![(T.into(), 1)],
        })
        .publish(100, 1, 1, None)
        .deliver(110, "s1", 1, Q1)
        .publish(200, 2, 1, None);
    passes(Check::RoutesMatchFilters, &h);
    passes(Check::AtLeastOnce, &h);
}

#[test]
fn an_absence_with_an_unanswered_connect_or_a_cut_is_not_judged_as_measured() {
    // Away 10 s by the client's clock, but a CONNECT in between got no
    // answer: the broker may have held the session from then.
    let unanswered = absence(10_000, true).push(Event::Unanswered {
        at: 6000,
        client: "s1".into(),
        requested_at: 3000,
        clean_start: false,
    });
    passes(Check::SessionExpiryRespected, &unanswered);
    // Its DISCONNECT after a cut may never have arrived: the broker then
    // noticed the loss up to 1.5 x Keep Alive later (here 3 s).
    let cut = H::default()
        .v5()
        .kept("s1")
        .conn(0, "s1", 1, false, false, None, Some(5))
        .sub(5, "s1", T, 1)
        .fault(500, "cut s1 for 100 ms")
        .left(1000, "s1", 1)
        .conn(8000, "s1", 2, false, true, None, Some(5));
    passes(Check::SessionExpiryRespected, &cut);
    let clean = H::default()
        .v5()
        .kept("s1")
        .conn(0, "s1", 1, false, false, None, Some(5))
        .sub(5, "s1", T, 1)
        .left(1000, "s1", 1)
        .conn(8000, "s1", 2, false, true, None, Some(5));
    fails(Check::SessionExpiryRespected, &clean, "MQTT-4.1.0-2");
}

#[test]
fn an_expiring_message_resent_after_its_first_copy_expired_is_not_out_of_order() {
    let h = H::default()
        .v5()
        .kept("s1")
        .conn(0, "s1", 1, false, false, None, None)
        .sub(5, "s1", T, 1)
        .publish(100, 1, 1, Some(2))
        .publish(110, 2, 1, None)
        .deliver(4000, "s1", 2, Q1)
        .deliver(4100, "s1", 1, Q1);
    passes(Check::OrderedPerPublisher, &h);
    let plain = H::default()
        .kept("s1")
        .conn(0, "s1", 1, false, false, None, None)
        .sub(5, "s1", T, 1)
        .publish(100, 1, 1, None)
        .publish(110, 2, 1, None)
        .deliver(4000, "s1", 2, Q1)
        .deliver(4100, "s1", 1, Q1);
    fails(Check::OrderedPerPublisher, &plain, "§4.6");
}

/// p1#1 is acknowledged at 1.010 s; the broker restarts at 2 s (keeping
/// its state or not) before s1, cut off meanwhile, comes back at 3 s.
fn restart(kept: bool) -> H {
    H::default()
        .kept("s1")
        .conn(0, "s1", 1, false, false, None, None)
        .sub(5, "s1", T, 2)
        .publish(1000, 1, 2, None)
        .push(Event::BrokerRestarted {
            at: 2000,
            graceful: false,
            kept,
        })
        .conn(3000, "s1", 2, false, kept, None, None)
}

#[test]
fn a_broker_is_held_to_exactly_what_it_promises_to_keep_across_a_restart() {
    // Promised to keep everything: the message it had is still owed.
    fails(Check::ExactlyOnce, &restart(true), "MQTT-4.5.0-1");
    // Promised nothing: it may be gone, with the subscription.
    passes(Check::ExactlyOnce, &restart(false));
    // A copy on either side of a restart that forgot it is no duplicate
    // (the publisher's resend was new to it); with its state kept it is.
    let twice = |kept| {
        restart(kept)
            .deliver(1500, "s1", 1, Copy { qos: 2, ..Q1 })
            .sub(3005, "s1", T, 2)
            .deliver(
                3100,
                "s1",
                1,
                Copy {
                    qos: 2,
                    connection: 2,
                    ..Q1
                },
            )
    };
    passes(Check::ExactlyOnce, &twice(false));
    fails(Check::ExactlyOnce, &twice(true), "§4.3.3");
}
