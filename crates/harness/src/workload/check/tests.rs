use super::*;

fn id(p: &str, seq: u32) -> MsgId {
    MsgId {
        publisher: p.into(),
        seq,
        will: false,
    }
}

fn will_id(p: &str, connection: u32) -> MsgId {
    MsgId {
        publisher: p.into(),
        seq: connection,
        will: true,
    }
}

/// Builds a history by hand, one event per call.
#[derive(Default)]
struct B(History);

impl B {
    fn kept(mut self, clients: &[&str]) -> B {
        self.0.roles.kept_sessions = clients.iter().map(|c| c.to_string()).collect();
        self
    }
    fn watchers(mut self, clients: &[&str]) -> B {
        self.0.roles.will_watchers = clients.iter().map(|c| c.to_string()).collect();
        self
    }
    fn push(mut self, e: Event) -> B {
        self.0.push(e);
        self
    }
    fn connect(self, at: Ms, client: &str, connection: u32, clean: bool) -> B {
        self.push(Event::Connected {
            at,
            client: client.into(),
            connection,
            clean_start: clean,
            session_present: !clean && connection > 1,
            will: None,
            requested_at: at,
            receive_maximum: None,
            session_expiry: None,
        })
    }
    fn connect_will(self, at: Ms, client: &str, connection: u32, topic: &str) -> B {
        self.push(Event::Connected {
            at,
            client: client.into(),
            connection,
            clean_start: true,
            session_present: false,
            will: Some(WillInfo {
                topic: topic.into(),
                qos: 1,
                keep_alive: 2,
            }),
            requested_at: at,
            receive_maximum: None,
            session_expiry: None,
        })
    }
    fn lost(self, at: Ms, client: &str, connection: u32) -> B {
        self.push(Event::ConnectionLost {
            at,
            client: client.into(),
            connection,
            why: "reset".into(),
        })
    }
    fn disconnect(self, at: Ms, client: &str, connection: u32) -> B {
        self.push(Event::Disconnected {
            at,
            client: client.into(),
            connection,
        })
    }
    fn sub(self, at: Ms, client: &str, filter: &str, granted: u8) -> B {
        self.push(Event::Subscribed {
            at,
            client: client.into(),
            filter: filter.into(),
            granted_qos: Some(granted),
        })
    }
    fn publish(self, at: Ms, p: &str, seq: u32, topic: &str, qos: u8) -> B {
        self.publish_r(at, p, seq, topic, qos, false)
    }
    fn publish_r(self, at: Ms, p: &str, seq: u32, topic: &str, qos: u8, retain: bool) -> B {
        self.push(Event::Published {
            at,
            id: id(p, seq),
            topic: topic.into(),
            qos,
            retain,
            expiry: None,
        })
    }
    fn ack(self, at: Ms, p: &str, seq: u32) -> B {
        self.push(Event::Acked { at, id: id(p, seq) })
    }
    fn deliver(self, at: Ms, client: &str, p: &str, seq: u32, topic: &str, qos: u8) -> B {
        self.deliver_x(at, client, id(p, seq), topic, qos, false, false)
    }
    #[allow(clippy::too_many_arguments)]
    fn deliver_x(
        self,
        at: Ms,
        client: &str,
        id: MsgId,
        topic: &str,
        qos: u8,
        dup: bool,
        retain: bool,
    ) -> B {
        // On the client's latest connection accepted by then.
        let connection = self
            .0
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Connected {
                    at: t,
                    client: c,
                    connection,
                    ..
                } if c == client && *t <= at => Some(*connection),
                _ => None,
            })
            .max()
            .unwrap_or(1);
        self.push(Event::Delivered {
            at,
            client: client.into(),
            id,
            topic: topic.into(),
            qos,
            dup,
            retain,
            connection,
            packet_id: None,
            expiry: None,
            repeat: false,
        })
    }
    fn fault(self, at: Ms, what: &str) -> B {
        self.push(Event::Fault {
            at,
            what: what.into(),
        })
    }
    fn retained_at_end(mut self, entries: &[(&str, Option<MsgId>)]) -> B {
        self.0.retained_at_end = Some(
            entries
                .iter()
                .map(|(t, id)| (t.to_string(), id.clone()))
                .collect(),
        );
        self
    }
}

const T1: &str = "maison/salon/temperature";
const T2: &str = "maison/cuisine/temperature";
const F: &str = "maison/+/temperature";

fn texts(v: &[Violation]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

fn one(check: Check, h: &History) -> String {
    let v = run(check, h);
    assert_eq!(v.len(), 1, "{:#?}", texts(&v));
    v[0].to_string()
}

/// Everything promised, kept: QoS 0, 1 and 2, a kept and a clean
/// subscriber, a QoS 1 redelivery, a resumed session, retained
/// messages, a will after a lost connection, none after DISCONNECT.
fn clean() -> B {
    B::default()
        .kept(&["s1", "w"])
        .watchers(&["w"])
        .connect(0, "s1", 1, false)
        .sub(5, "s1", F, 2)
        .connect(0, "s2", 1, true)
        .sub(6, "s2", "maison/#", 1)
        .connect(0, "w", 1, false)
        .sub(7, "w", "wills/+", 1)
        .connect_will(1, "p1", 1, "wills/p1")
        .publish(100, "p1", 1, T1, 0)
        .deliver(120, "s1", "p1", 1, T1, 0)
        .deliver(121, "s2", "p1", 1, T1, 0)
        .publish(200, "p1", 2, T1, 1)
        .ack(230, "p1", 2)
        .deliver(220, "s1", "p1", 2, T1, 1)
        .deliver(222, "s2", "p1", 2, T1, 1)
        // QoS 1 may come twice.
        .deliver_x(900, "s1", id("p1", 2), T1, 1, true, false)
        .publish(300, "p1", 3, T1, 2)
        .ack(330, "p1", 3)
        .deliver(320, "s1", "p1", 3, T1, 2)
        .deliver(321, "s2", "p1", 3, T1, 1)
        .publish_r(400, "p1", 4, T2, 1, true)
        .ack(430, "p1", 4)
        .deliver(420, "s1", "p1", 4, T2, 1)
        .deliver(421, "s2", "p1", 4, T2, 1)
        // s1's connection is lost and its session resumed (any QoS 2
        // resend is absorbed by the client: one Delivered per message).
        .publish(500, "p1", 5, T1, 2)
        .ack(530, "p1", 5)
        .deliver(520, "s1", "p1", 5, T1, 2)
        .lost(800, "s1", 1)
        .connect(850, "s1", 2, false)
        // s2 reconnects clean, resubscribes, gets the retained message.
        .lost(600, "s2", 1)
        .connect(700, "s2", 2, true)
        .sub(705, "s2", "maison/#", 1)
        .deliver_x(705, "s2", id("p1", 4), T2, 1, false, true)
        .lost(1000, "p1", 1)
        .deliver_x(1010, "w", will_id("p1", 1), "wills/p1", 1, false, false)
        .connect_will(1100, "p1", 2, "wills/p1")
        .disconnect(2000, "p1", 2)
        .retained_at_end(&[(T2, Some(id("p1", 4)))])
}

#[test]
fn a_clean_history_passes_every_check() {
    let h = clean().0;
    for c in Check::ALL {
        assert_eq!(texts(&run(c, &h)), Vec::<String>::new(), "{c}");
    }
    assert!(run_all(&Check::ALL, &h).violations.is_empty());
}

#[test]
fn checks_parse_from_their_names() {
    for c in Check::ALL {
        assert_eq!(c.name().parse::<Check>(), Ok(c));
        assert_eq!(c.to_string(), c.name());
    }
    let err = "exactly_twice".parse::<Check>().unwrap_err();
    assert!(
        err.contains("exactly_twice") && err.contains("at_least_once"),
        "{err}"
    );
}

#[test]
fn qos0_duplicate() {
    let h = clean()
        .deliver(150, "s2", "p1", 1, T1, 0)
        .fault(140, "stall s2")
        .0;
    let v = run(Check::AtMostOnce, &h);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].message, Some(id("p1", 1)));
    assert_eq!(v[0].publisher.as_deref(), Some("p1"));
    assert_eq!(v[0].subscriber.as_deref(), Some("s2"));
    assert_eq!(v[0].at, 150);
    assert_eq!(
        v[0].to_string(),
        "at_most_once: p1#1 delivered 2 times to s2 (at 0.121s and 0.150s) — QoS 0 is at \
         most once (§4.3.1)\n  faults around: 0.140s stall s2"
    );
}

#[test]
fn retained_copies_on_new_subscriptions_are_not_duplicates() {
    // s2 gets p1#9 live, then once more retained when it subscribes
    // again in a new session: fine. Twice for one subscription is not.
    let b = clean()
        .publish_r(3000, "p1", 9, T2, 0, true)
        .deliver(3010, "s2", "p1", 9, T2, 0)
        .lost(3100, "s2", 2)
        .connect(3200, "s2", 3, true)
        .sub(3205, "s2", "maison/#", 1)
        .deliver_x(3206, "s2", id("p1", 9), T2, 0, false, true);
    assert!(run(Check::AtMostOnce, &b.0).is_empty());
    let h = b.deliver_x(3207, "s2", id("p1", 9), T2, 0, false, true).0;
    let t = one(Check::AtMostOnce, &h);
    assert_eq!(
        t,
        "at_most_once: p1#9 delivered 3 times to s2 (at 3.010s, 3.206s and 3.207s) (1 \
         retained on subscribing, allowed) — QoS 0 is at most once (§4.3.1)"
    );
}

#[test]
fn acked_qos1_loss_for_a_kept_session() {
    let h = clean()
        .publish(1200, "p1", 6, T1, 1)
        .ack(1230, "p1", 6)
        .deliver(1220, "s2", "p1", 6, T1, 1)
        .0;
    let t = one(Check::AtLeastOnce, &h);
    assert!(t.starts_with("at_least_once: p1#6 (QoS 1"), "{t}");
    assert!(
        t.contains("never delivered to s1, subscribed to maison/+/temperature at QoS 2"),
        "{t}"
    );
    // QoS 1 published, granted 2: effective QoS 1 is not exactly_once's.
    assert!(run(Check::ExactlyOnce, &h).is_empty());
    // The checker judges messages, not the route: routes stays quiet.
    assert!(run(Check::RoutesMatchFilters, &h).is_empty());
}

#[test]
fn no_loss_for_a_clean_session_a_late_subscription_or_an_unacked_message() {
    // s2 (clean session) misses an acked message: allowed.
    let h = clean()
        .publish(1200, "p1", 6, T1, 1)
        .ack(1230, "p1", 6)
        .deliver(1220, "s1", "p1", 6, T1, 1)
        .0;
    assert!(run(Check::AtLeastOnce, &h).is_empty());
    // s3 (kept) subscribes after the publish: nothing was promised.
    let h = clean()
        .kept(&["s1", "w", "s3"])
        .connect(1000, "s3", 1, false)
        .publish(1200, "p1", 6, T1, 1)
        .ack(1230, "p1", 6)
        .deliver(1220, "s1", "p1", 6, T1, 1)
        .sub(1201, "s3", F, 1)
        .0;
    assert!(run(Check::AtLeastOnce, &h).is_empty());
    // Never acked: the broker may never have had it.
    let h = clean().publish(1200, "p1", 6, T1, 1).0;
    assert!(run(Check::AtLeastOnce, &h).is_empty());
    // Subscribed at QoS 0: at most once.
    let h = clean()
        .kept(&["s1", "w", "s3"])
        .connect(1000, "s3", 1, false)
        .sub(1001, "s3", F, 0)
        .publish(1200, "p1", 6, T1, 1)
        .ack(1230, "p1", 6)
        .deliver(1220, "s1", "p1", 6, T1, 1)
        .0;
    assert!(run(Check::AtLeastOnce, &h).is_empty());
}

#[test]
fn qos2_duplicate() {
    // A second copy on the same connection, DUP or not.
    let h = clean()
        .deliver_x(400, "s1", id("p1", 3), T1, 2, true, false)
        .0;
    let v = run(Check::ExactlyOnce, &h);
    assert_eq!(v.len(), 1);
    assert_eq!(
        (
            v[0].publisher.as_deref(),
            v[0].subscriber.as_deref(),
            v[0].at
        ),
        (Some("p1"), Some("s1"), 400)
    );
    assert_eq!(
        v[0].to_string(),
        "exactly_once: p1#3 delivered 2 times to s1 (at 0.320s and 0.400s) — QoS 2 is \
         exactly once (§4.3.3)"
    );
    // A DUP copy on s1's next connection (its PUBREC lost with the
    // connection) counts too: the client absorbs a resend of the same
    // Packet Identifier, so this is a second message.
    let h = clean()
        .deliver_x(900, "s1", id("p1", 5), T1, 2, true, false)
        .0;
    let t = one(Check::ExactlyOnce, &h);
    assert_eq!(
        t,
        "exactly_once: p1#5 delivered 2 times to s1 (at 0.520s and 0.900s) — QoS 2 is \
         exactly once (§4.3.3)"
    );
    // s2 was granted QoS 1: its copies are at least once only.
    let h = clean()
        .deliver_x(400, "s2", id("p1", 3), T1, 1, true, false)
        .0;
    assert!(run(Check::ExactlyOnce, &h).is_empty());
}

#[test]
fn qos2_loss() {
    let h = clean()
        .publish(1200, "p1", 6, T1, 2)
        .ack(1230, "p1", 6)
        .deliver(1220, "s2", "p1", 6, T1, 1)
        .fault(1210, "broker restart")
        .0;
    let t = one(Check::ExactlyOnce, &h);
    assert!(
        t.starts_with("exactly_once: p1#6 (QoS 2, on maison/salon/temperature"),
        "{t}"
    );
    assert!(t.contains("never delivered to s1"), "{t}");
    assert!(
        t.ends_with("\n  faults around: 1.210s broker restart"),
        "{t}"
    );
    // Not at_least_once's to report.
    assert!(run(Check::AtLeastOnce, &h).is_empty());
}

#[test]
fn out_of_order_first_deliveries() {
    let h = clean()
        .publish(1200, "p1", 6, T1, 1)
        .ack(1230, "p1", 6)
        .publish(1300, "p1", 7, T1, 1)
        .ack(1330, "p1", 7)
        .deliver(1320, "s1", "p1", 7, T1, 1)
        .deliver(1340, "s1", "p1", 6, T1, 1)
        .deliver(1350, "s2", "p1", 6, T1, 1)
        .deliver(1351, "s2", "p1", 7, T1, 1)
        .0;
    let t = one(Check::OrderedPerPublisher, &h);
    assert_eq!(
        t,
        "ordered_per_publisher: p1#6 first delivered to s1 at 1.340s, after p1#7 (at \
         1.320s) — one publisher's QoS 1 messages on maison/salon/temperature arrive in \
         the order published (§4.6)"
    );
}

#[test]
fn redeliveries_are_not_disorder() {
    // p1#2 comes again after p1#4 (a QoS 1 redelivery, in clean()), and
    // p1#5 again on s1's next connection: neither is out of order.
    let h = clean()
        .publish(1200, "p1", 6, T1, 1)
        .ack(1230, "p1", 6)
        .deliver(1220, "s1", "p1", 6, T1, 1)
        .deliver_x(1240, "s1", id("p1", 2), T1, 1, true, false)
        .0;
    assert!(run(Check::OrderedPerPublisher, &h).is_empty());
    // Messages at different QoS are ordered separately.
    let h = clean()
        .publish(1200, "p1", 6, T1, 0)
        .publish(1300, "p1", 7, T1, 1)
        .ack(1330, "p1", 7)
        .deliver(1320, "s1", "p1", 7, T1, 1)
        .deliver(1340, "s1", "p1", 6, T1, 0)
        .0;
    assert!(run(Check::OrderedPerPublisher, &h).is_empty());
}

#[test]
fn delivery_matching_no_filter() {
    // `+` is one level: maison/+/temperature does not match a/b/c/d.
    let t3 = "maison/salon/nord/temperature";
    let h = clean()
        .publish(1200, "p2", 1, t3, 0)
        .deliver(1220, "s2", "p2", 1, t3, 0)
        .deliver(1221, "s1", "p2", 1, t3, 0)
        .0;
    let t = one(Check::RoutesMatchFilters, &h);
    assert_eq!(
        t,
        "routes_match_filters: p2#1 delivered to s1 at 1.221s on \
         maison/salon/nord/temperature, which matches none of its filters (s1's \
         subscriptions then: maison/+/temperature) — the Topic Name must match the \
         subscription's filter (MQTT-3.3.2-3)"
    );
}

#[test]
fn clean_sessions_lose_their_subscriptions() {
    // s2 reconnects clean and is sent p1#6 before subscribing again.
    let h = clean()
        .lost(1100, "s2", 2)
        .connect(1150, "s2", 3, true)
        .publish(1200, "p1", 6, T1, 0)
        .deliver(1210, "s2", "p1", 6, T1, 0)
        .deliver(1210, "s1", "p1", 6, T1, 0)
        .sub(1300, "s2", "maison/#", 1)
        .0;
    let t = one(Check::RoutesMatchFilters, &h);
    assert!(
        t.contains(
            "p1#6 delivered to s2 at 1.210s on maison/salon/temperature, which \
             matches none of its filters (s2 had no subscription then)"
        ),
        "{t}"
    );
    // A delivery in the same millisecond as the SUBACK is fine.
    let h = clean()
        .lost(1100, "s2", 2)
        .connect(1150, "s2", 3, true)
        .publish(1200, "p1", 6, T1, 0)
        .deliver(1210, "s2", "p1", 6, T1, 0)
        .sub(1210, "s2", "maison/#", 1)
        .0;
    assert!(run(Check::RoutesMatchFilters, &h).is_empty());
    // A kept session keeps its subscription across connections.
    let h = clean()
        .lost(1100, "s1", 2)
        .connect(1150, "s1", 3, false)
        .publish(1200, "p1", 6, T1, 0)
        .deliver(1210, "s1", "p1", 6, T1, 0)
        .0;
    assert!(run(Check::RoutesMatchFilters, &h).is_empty());
}

#[test]
fn delivery_on_another_topic() {
    let h = clean()
        .publish(1200, "p1", 6, T1, 1)
        .ack(1230, "p1", 6)
        .deliver(1220, "s1", "p1", 6, T2, 1)
        .deliver(1221, "s2", "p1", 6, T1, 1)
        .0;
    let t = one(Check::RoutesMatchFilters, &h);
    assert_eq!(
        t,
        "routes_match_filters: p1#6 delivered to s1 at 1.220s on \
         maison/cuisine/temperature, but published on maison/salon/temperature — the \
         Topic Name is forwarded as published (§3.3.2)"
    );
    let h = clean().deliver(1220, "s1", "p7", 1, T1, 0).0;
    let t = one(Check::RoutesMatchFilters, &h);
    assert!(t.contains("p7#1 delivered to s1 at 1.220s"), "{t}");
    assert!(t.contains("never published"), "{t}");
}

#[test]
fn stale_retained_message() {
    let b = clean()
        .publish_r(1200, "p2", 1, T2, 1, true)
        .ack(1230, "p2", 1)
        .deliver(1220, "s1", "p2", 1, T2, 1)
        .deliver(1221, "s2", "p2", 1, T2, 1);
    // Still p1#4, though p2#1 was sent after p1#4's PUBACK: stale.
    let t = one(Check::RetainedLatest, &b.0);
    assert_eq!(
        t,
        "retained_latest: maison/cuisine/temperature retains p1#4 at the end, but p2#1 \
         (published there with RETAIN at 1.200s, acked at 1.230s) reached the broker after \
         it, as it was sent after p1#4 was acked at 0.430s — a retained message replaces \
         the one before (MQTT-3.3.1-5)"
    );
    let h = b.retained_at_end(&[(T2, Some(id("p2", 1)))]).0;
    assert!(run(Check::RetainedLatest, &h).is_empty());
    // The same publisher's later message replaces its earlier one.
    let b = clean()
        .publish_r(1200, "p1", 6, T2, 1, true)
        .ack(1230, "p1", 6)
        .deliver(1220, "s1", "p1", 6, T2, 1)
        .deliver(1221, "s2", "p1", 6, T2, 1);
    let t = one(Check::RetainedLatest, &b.0);
    assert!(t.contains("p1#6 (published there with RETAIN at 1.200s, acked at 1.230s) reached the broker after it, as p1 sent it later"), "{t}");
}

#[test]
fn a_retained_message_is_owed_across_a_restart_that_kept_nothing_only_if_taken_on_after() {
    // p2#1 went at 1.200 s; the broker went down at 1.220 s keeping
    // nothing; its PUBACK, sent before, came at 1.230 s: forgotten.
    let crashed = || {
        clean()
            .connect(0, "p2", 1, false)
            .publish_r(1200, "p2", 1, T2, 1, true)
            .push(Event::BrokerRestarted {
                at: 1220,
                graceful: false,
                kept: false,
            })
    };
    let h = crashed().ack(1230, "p2", 1).retained_at_end(&[]).0;
    assert!(run(Check::RetainedLatest, &h).is_empty());
    // Resent on a connection opened after the restart and acknowledged
    // there: the new broker has it.
    let h = crashed()
        .connect(1300, "p2", 2, false)
        .ack(1310, "p2", 1)
        .retained_at_end(&[])
        .0;
    let t = one(Check::RetainedLatest, &h);
    assert!(t.contains("but p2#1 was published there"), "{t}");
}

#[test]
fn retained_from_publishers_racing_on_a_topic_may_be_either() {
    // p2#1 was sent before p1#4's PUBACK came back: the broker may
    // have had either one last.
    let b = clean()
        .publish_r(410, "p2", 1, T2, 1, true)
        .ack(440, "p2", 1)
        .deliver(422, "s1", "p2", 1, T2, 1)
        .deliver(423, "s2", "p2", 1, T2, 1);
    assert!(run(Check::RetainedLatest, &b.0).is_empty());
    let h = b.retained_at_end(&[(T2, Some(id("p2", 1)))]).0;
    assert!(run(Check::RetainedLatest, &h).is_empty());
}

#[test]
fn retained_later_unacked_allowed_but_none_or_unknown_is_not() {
    // A later retained publish never acked may or may not be there.
    let b = clean().publish_r(1200, "p2", 1, T2, 1, true);
    assert!(run(Check::RetainedLatest, &b.0).is_empty());
    let h = b.retained_at_end(&[(T2, Some(id("p2", 1)))]).0;
    assert!(run(Check::RetainedLatest, &h).is_empty());
    // Nothing retained (listed as None, or absent) though p1#4 was acked.
    for end in [vec![(T2, None)], vec![]] {
        let h = clean().retained_at_end(&end).0;
        let t = one(Check::RetainedLatest, &h);
        assert!(
            t.starts_with(
                "retained_latest: nothing retained on maison/cuisine/temperature at the \
                 end, but p1#4 was published there"
            ),
            "{t}"
        );
    }
    // p1#3 was published without RETAIN.
    let h = clean().retained_at_end(&[(T2, Some(id("p1", 4))), (T1, Some(id("p1", 3)))]);
    let t = one(Check::RetainedLatest, &h.0);
    assert!(
        t.starts_with(
            "retained_latest: maison/salon/temperature retains p1#3 at the end, which was \
             published there without RETAIN"
        ),
        "{t}"
    );
}

#[test]
fn a_will_for_a_connection_whose_connack_was_lost_is_allowed() {
    // p1's connection 3 sent CONNECT, the CONNACK was cut off, and the
    // broker published its will when it died; connection 4 came after.
    let lost_connack = will_id("p1", 3);
    let b = clean().connect_will(2500, "p1", 4, "wills/p1").deliver_x(
        2400,
        "w",
        lost_connack,
        "wills/p1",
        1,
        false,
        false,
    );
    let v = run(Check::WillOnAbnormalDisconnect, &b.0);
    assert!(v.is_empty(), "{:#?}", texts(&v));
    // A will for a connection later than any the client tried is made up.
    let made_up = will_id("p1", 7);
    let h = b
        .deliver_x(2600, "w", made_up, "wills/p1", 1, false, false)
        .0;
    let t = one(Check::WillOnAbnormalDisconnect, &h);
    assert!(
        t.contains(
            "p1's will (connection 7) delivered to w at 2.600s, for a connection that never was"
        ),
        "{t}"
    );
}

#[test]
fn missing_will_after_a_lost_connection() {
    let h = clean()
        .lost(3000, "p1", 2)
        .connect_will(3100, "p1", 3, "wills/p1")
        .lost(4000, "p1", 3)
        .0;
    // Connection 2 ended with DISCONNECT (the first end is what counts).
    let t = one(Check::WillOnAbnormalDisconnect, &h);
    assert!(
        t.starts_with(
            "will_on_abnormal_disconnect: p1's will (connection 3), on wills/p1, never \
             delivered to w, subscribed to wills/+ since 0.007s"
        ),
        "{t}"
    );
    let v = run(Check::WillOnAbnormalDisconnect, &h);
    assert_eq!(v[0].message, Some(will_id("p1", 3)));
    assert_eq!(v[0].at, 4000);
    // A client that does not watch wills is owed nothing.
    let h = clean()
        .watchers(&[])
        .connect_will(3100, "p1", 3, "wills/p1")
        .lost(4000, "p1", 3)
        .0;
    assert!(run(Check::WillOnAbnormalDisconnect, &h).is_empty());
}

#[test]
fn a_missing_will_after_a_quick_resume_is_an_advisory() {
    // Connection 3 (Keep Alive 2 s) is lost at 4.000s; the broker must
    // notice by 4.000 + 3 s (+ 1 s). p1 resuming its session before then
    // may be a takeover, where the will reads two ways.
    let resume = |at: Ms| {
        clean()
            .connect_will(3100, "p1", 3, "wills/p1")
            .lost(4000, "p1", 3)
            .push(Event::Connected {
                at,
                client: "p1".into(),
                connection: 4,
                clean_start: false,
                session_present: true,
                will: None,
                requested_at: at,
                receive_maximum: None,
                session_expiry: None,
            })
            .0
    };
    let found = run_all(&[Check::WillOnAbnormalDisconnect], &resume(4500));
    assert!(
        found.violations.is_empty(),
        "{:#?}",
        texts(&found.violations)
    );
    assert_eq!(found.advisories.len(), 1);
    let a = found.advisories[0].to_string();
    assert!(
        a.contains("p1's will (connection 3), on wills/p1, never delivered to w")
            && a.contains("resumed its session on a new connection at 4.500s")
            && found.advisories[0].readings.len() == 2,
        "{a}"
    );
    // Back after the broker had to notice: the will was owed.
    let found = run_all(&[Check::WillOnAbnormalDisconnect], &resume(8500));
    assert!(found.advisories.is_empty());
    assert_eq!(found.violations.len(), 1);
    // A clean start right away ends the session: no reading spares the will.
    let mut h = resume(4500);
    if let Some(Event::Connected { clean_start, .. }) = h.events.last_mut() {
        *clean_start = true;
    }
    let found = run_all(&[Check::WillOnAbnormalDisconnect], &h);
    assert!(found.advisories.is_empty());
    assert_eq!(found.violations.len(), 1);
}

#[test]
fn will_after_a_normal_disconnect() {
    let h = clean()
        .deliver_x(2050, "w", will_id("p1", 2), "wills/p1", 1, false, false)
        .0;
    let t = one(Check::WillOnAbnormalDisconnect, &h);
    assert_eq!(
        t,
        "will_on_abnormal_disconnect: p1's will (connection 2) delivered to w at 2.050s, \
         for a connection that ended with DISCONNECT at 2.000s — a normal disconnect \
         deletes the will (MQTT-3.1.2-10, MQTT-3.14.4-3)"
    );
    let h = clean()
        .connect(3000, "p2", 1, true)
        .deliver_x(3050, "w", will_id("p2", 1), "wills/p2", 1, false, false)
        .0;
    let t = one(Check::WillOnAbnormalDisconnect, &h);
    assert!(t.contains("for a connection that carried no will"), "{t}");
    // Not routes' to report.
    assert!(run(Check::RoutesMatchFilters, &h).is_empty());
}

#[test]
fn run_all_runs_each_check_once_in_order() {
    let h = clean()
        .deliver(150, "s2", "p1", 1, T1, 0)
        .deliver_x(4000, "s1", id("p1", 3), T1, 2, false, false)
        .0;
    let v = run_all(
        &[Check::ExactlyOnce, Check::AtMostOnce, Check::ExactlyOnce],
        &h,
    )
    .violations;
    let checks: Vec<&str> = v.iter().map(|v| v.check).collect();
    assert_eq!(checks, ["exactly_once", "at_most_once"]);
}
