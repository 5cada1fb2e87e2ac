//! `ordered_per_publisher`: one publisher's messages arrive in publish order.

use super::*;

/// Subscriber, publisher, topic, QoS published, QoS delivered.
type Stream<'a> = (&'a str, &'a str, &'a str, u8, u8);

pub(super) fn ordered_per_publisher(ix: &Index<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut seen: BTreeSet<(&str, &MsgId, u8)> = BTreeSet::new();
    // (subscriber, publisher, topic, QoS published, QoS delivered) →
    // highest seq first-delivered so far, and when. The delivered QoS
    // tells apart the copies of overlapping subscriptions at different
    // QoS: each is a stream of its own, and a QoS 0 one may lose messages.
    let mut highest: BTreeMap<Stream<'_>, (&MsgId, Ms, u32)> = BTreeMap::new();
    for d in &ix.deliveries {
        // Wills are not part of a publisher's sequence; a retained copy is
        // sent for a new subscription, not in publish order.
        if d.id.will || d.retain {
            continue;
        }
        let Some(msg) = ix.msgs.get(d.id) else {
            continue;
        };
        if !seen.insert((d.client, d.id, d.qos)) {
            continue;
        }
        let key = (d.client, d.id.publisher.as_str(), msg.topic, msg.qos, d.qos);
        match highest.get(&key) {
            // An expiring message's first copy may have expired while
            // queued and a copy the publisher resent come later: its
            // first delivery says nothing of the broker's order.
            Some(&(top, _, _)) if top.seq > d.id.seq && msg.expiry.is_some() => {}
            // On the old connection of a takeover, beside the new one: the
            // broker sent it before it accepted the new connection, so
            // before anything there; which of two connections the client
            // reads first says nothing of that order.
            Some(&(top, _, top_conn)) if top.seq > d.id.seq && d.connection < top_conn => {}
            Some(&(top, top_at, _)) if top.seq > d.id.seq => {
                let what = format!(
                    "{} first delivered to {} at {}, after {top} (at {}) — one publisher's \
                     QoS {} messages on {} arrive in the order published (§4.6)",
                    d.id,
                    d.client,
                    secs(d.at),
                    secs(top_at),
                    msg.qos,
                    msg.topic,
                );
                out.push(ix.violation(
                    Check::OrderedPerPublisher,
                    Some(d.id),
                    Some(d.client),
                    d.at,
                    what,
                ));
            }
            _ => {
                highest.insert(key, (d.id, d.at, d.connection));
            }
        }
    }
    out
}
