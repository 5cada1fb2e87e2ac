//! `qos_as_granted`: a message reaches a subscriber at its QoS capped by
//! the highest QoS granted among the subscriptions it matches.

use super::*;

/// MQTT-3.3.5-1 (3.1.1) and MQTT-3.3.4-2 (5.0): with overlapping
/// subscriptions the broker delivers the message respecting the maximum
/// QoS of all the matching ones, and MAY send further copies, one per
/// other matching subscription at that subscription's QoS. So no copy may
/// exceed the publish QoS capped by the highest grant, and one copy must
/// reach it. That one copy is owed only where it cannot have been lost
/// legitimately: a kept session, a subscription live from the publish to
/// the first copy, no expiry.
pub(super) fn qos_as_granted(ix: &Index<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    for (&client, per_msg) in &ix.received {
        for (&id, copies) in per_msg {
            let Some(msg) = ix.message(id) else { continue };
            let ds: Vec<&Delivery<'_>> = copies
                .iter()
                .map(|&i| &ix.deliveries[i])
                .filter(|d| !d.retain)
                .collect();
            let Some(first) = ds.first() else { continue };
            let matching = |s: &&Sub<'_>| protocol::topic::matches(s.filter, msg.topic);
            let subs = ix.subs_of(client);
            let any_grant = subs
                .iter()
                .filter(matching)
                .filter(|s| s.live(msg.at) || s.live(first.sent_by))
                .map(|s| s.granted)
                .max();
            let Some(any_grant) = any_grant else {
                // No matching subscription: routes_match_filters' to judge.
                continue;
            };
            let cap = msg.qos.min(any_grant);
            if let Some(d) = ds.iter().find(|d| d.qos > cap) {
                let what = format!(
                    "{id} delivered to {client} at {} at QoS {}, above QoS {cap}: published at \
                     QoS {}, highest QoS granted among the matching subscriptions {any_grant} \
                     — {}",
                    secs(d.at),
                    d.qos,
                    msg.qos,
                    rule(ix)
                );
                out.push(ix.violation(Check::QosAsGranted, Some(id), Some(client), d.at, what));
                continue;
            }
            let held = subs
                .iter()
                .filter(matching)
                .filter(|s| s.live(msg.at) && s.live(first.sent_by) && !s.session_ended)
                .map(|s| s.granted)
                .max();
            let Some(held) = held else { continue };
            let want = msg.qos.min(held);
            let owed = ix.kept.contains(client) && msg.expiry.is_none() && !id.will;
            if owed && ds.iter().all(|d| d.qos < want) {
                let got: Vec<String> = ds.iter().map(|d| d.qos.to_string()).collect();
                let what = format!(
                    "{id} reached {client} only at QoS {} (first at {}), though published at QoS \
                     {} to a subscription granted QoS {held}: one copy must come at QoS {want} \
                     — {}",
                    got.join(" and "),
                    secs(first.at),
                    msg.qos,
                    rule(ix)
                );
                out.push(ix.violation(Check::QosAsGranted, Some(id), Some(client), first.at, what));
            }
        }
    }
    out
}

fn rule(ix: &Index<'_>) -> &'static str {
    if ix.h.roles.v5 {
        "the maximum QoS of all the matching subscriptions (MQTT-3.3.4-2)"
    } else {
        "the maximum QoS of all the matching subscriptions (MQTT-3.3.5-1)"
    }
}
