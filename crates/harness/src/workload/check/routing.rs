//! `routes_match_filters`: nothing is delivered that no filter matches.

use super::*;

/// Deliveries that should not have happened: on a topic none of the
/// subscriber's live filters match (MQTT-3.3.2-3), on another topic than
/// the one published, or of a message nobody published. One violation per
/// (subscriber, message): its first wrong copy. Missing deliveries are
/// `at_least_once` / `exactly_once`'s to report; wills of connections that
/// carried none are `will_on_abnormal_disconnect`'s.
pub(super) fn routes_match_filters(ix: &Index<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut reported: BTreeSet<(&str, &MsgId)> = BTreeSet::new();
    for d in &ix.deliveries {
        if reported.contains(&(d.client, d.id)) {
            continue;
        }
        let Some(msg) = ix.message(d.id) else {
            if !d.id.will {
                reported.insert((d.client, d.id));
                let what = format!(
                    "{} delivered to {} at {} on {}, but it was never published",
                    d.id,
                    d.client,
                    secs(d.at),
                    d.topic
                );
                out.push(ix.violation(
                    Check::RoutesMatchFilters,
                    Some(d.id),
                    Some(d.client),
                    d.at,
                    what,
                ));
            }
            continue;
        };
        let live: Vec<&str> = ix
            .subs_of(d.client)
            .iter()
            .filter(|s| s.live(d.sent_by))
            .map(|s| s.filter)
            .collect();
        let matched = live.iter().any(|f| protocol::topic::matches(f, d.topic));
        let filters = if live.is_empty() {
            format!("{} had no subscription then", d.client)
        } else {
            format!("{}'s subscriptions then: {}", d.client, live.join(", "))
        };
        let what = if d.topic != msg.topic {
            let also = if matched {
                String::new()
            } else {
                format!(", which matches none of its filters ({filters})")
            };
            format!(
                "{} delivered to {} at {} on {}{also}, but published on {} — the Topic Name \
                 is forwarded as published (§3.3.2)",
                d.id,
                d.client,
                secs(d.at),
                d.topic,
                msg.topic,
            )
        } else if !matched {
            format!(
                "{} delivered to {} at {} on {}, which matches none of its filters ({filters}) \
                 — the Topic Name must match the subscription's filter (MQTT-3.3.2-3)",
                d.id,
                d.client,
                secs(d.at),
                d.topic,
            )
        } else {
            continue;
        };
        reported.insert((d.client, d.id));
        out.push(ix.violation(
            Check::RoutesMatchFilters,
            Some(d.id),
            Some(d.client),
            d.at,
            what,
        ));
    }
    out
}
