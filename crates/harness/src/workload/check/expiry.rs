//! `no_expired_delivery` (5.0): nothing leaves the broker after its
//! Message Expiry Interval ran out, what it forwards carries the interval
//! less the time it waited, and a message that had not expired is not
//! dropped.
//!
//! From the clients' side the broker's own times are bounds: it had a
//! message no later than its acknowledgement reached the publisher, and
//! sent a copy no earlier than the CONNECT of the connection it came on.
//! Only what holds for every time within those bounds is a violation.

use super::*;

/// Brokers count expiry in whole seconds and may round either way.
const ROUNDING_MS: Ms = 2_000;

pub(super) fn no_expired_delivery(ix: &Index<'_>) -> (Vec<Violation>, Vec<Advisory>) {
    let mut out = Vec::new();
    let mut advisories = Vec::new();
    let v = |at: Ms, id: &MsgId, client: &str, what: String| {
        ix.violation(Check::NoExpiredDelivery, Some(id), Some(client), at, what)
    };
    for (&client, per_msg) in &ix.received {
        for (&id, copies) in per_msg {
            let Some(msg) = ix.message(id) else { continue };
            let Some(e) = msg.expiry else { continue };
            let e_ms = u64::from(e) * 1000;
            // Each copy carries what is left, never more than was sent.
            let wrong = copies
                .iter()
                .map(|&i| &ix.deliveries[i])
                .find_map(|d| match d.expiry {
                    None => Some((d, "without a Message Expiry Interval".to_string())),
                    Some(left) if left > e => {
                        Some((d, format!("with a Message Expiry Interval of {left} s")))
                    }
                    Some(_) => None,
                });
            if let Some((d, how)) = wrong {
                // The broker had it no earlier than it was published and
                // sent it no later than it came: in its last second or
                // two a whole-second clock may say 0 left, and readings
                // differ on what a PUBLISH then carries.
                let least_left = (msg.at + e_ms).saturating_sub(d.at);
                if d.expiry.is_none() && least_left < ROUNDING_MS {
                    advisories.push(Advisory {
                        rule: "MQTT-3.3.2-6".into(),
                        what: format!(
                            "{id} (Message Expiry Interval {e} s, published at {}) reached \
                             {client} at {} without an interval, in what may have been its \
                             last second",
                            secs(msg.at),
                            secs(d.at)
                        ),
                        readings: vec![
                            "the broker sends what is left, at least 1 s".into(),
                            "with under a second left the broker may send it without the \
                             property (it then never expires downstream)"
                                .into(),
                        ],
                        step: 0,
                        line: 0,
                    });
                    continue;
                }
                out.push(v(
                    d.at,
                    id,
                    client,
                    format!(
                        "{id} (published with a Message Expiry Interval of {e} s) reached \
                         {client} at {} {how} — the PUBLISH MUST carry the received value \
                         less the time it waited (MQTT-3.3.2-6)",
                        secs(d.at)
                    ),
                ));
                continue;
            }
            // The first copy, sent fresh (DUP 0) on a connection opened
            // after the broker had the message: it waited at least that
            // long.
            let Some(acked) = msg.acked else { continue };
            let d = &ix.deliveries[copies[0]];
            let Some(conn) = ix.conn(client, d.connection) else {
                continue;
            };
            if d.dup || conn.requested_at <= acked {
                continue;
            }
            let waited = conn.requested_at - acked;
            if waited > e_ms + ROUNDING_MS {
                out.push(v(
                    d.at,
                    id,
                    client,
                    format!(
                        "{id} reached {client} at {} on connection {} (CONNECT sent at {}), \
                         though it expired {e} s after the broker had it (by {}, its \
                         acknowledgement): it waited at least {:.1} s — an expired message \
                         not yet on its way MUST be deleted (MQTT-3.3.2-5)",
                        secs(d.at),
                        d.connection,
                        secs(conn.requested_at),
                        secs(acked),
                        waited as f64 / 1000.0
                    ),
                ));
            } else if let Some(left) = d.expiry {
                if u64::from(left) * 1000 + waited > e_ms + ROUNDING_MS {
                    out.push(v(
                        d.at,
                        id,
                        client,
                        format!(
                            "{id} reached {client} at {} with {left} s left of its {e} s, \
                             though it had waited at least {:.1} s (acknowledged at {}, \
                             connection {} opened at {}) — the interval forwarded MUST be \
                             the received value less the time it waited (MQTT-3.3.2-6)",
                            secs(d.at),
                            waited as f64 / 1000.0,
                            secs(acked),
                            d.connection,
                            secs(conn.requested_at)
                        ),
                    ));
                }
            }
        }
    }
    out.extend(dropped_alive(ix));
    (out, advisories)
}

/// At least once for what had not expired: a kept-session subscriber
/// missing an expiring message, though a later one of the same publisher,
/// topic and QoS reached it while the first was certainly still alive.
/// The broker sends a topic's messages in order, so when it sent the later
/// one it had either sent the earlier or dropped it unexpired.
fn dropped_alive(ix: &Index<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    for (&id, msg) in &ix.msgs {
        let (Some(e), Some(_)) = (msg.expiry, msg.acked) else {
            continue;
        };
        let alive_until = msg.at + u64::from(e) * 1000;
        for client in ix.kept_subscribers() {
            let Some(sub) = ix.best_sub(client, msg.topic, msg.at) else {
                continue;
            };
            // A subscription not known to be in place (its SUBACK never
            // came) or whose session may have ended owes nothing: it may
            // have begun between the two messages.
            if msg.qos.min(sub.granted) == 0
                || !ix.copies(client, id).is_empty()
                || sub.session_ended
            {
                continue;
            }
            let later = ix.received.get(client).and_then(|m| {
                m.iter()
                    .filter(|(other, _)| {
                        other.publisher == id.publisher && other.seq > id.seq && !other.will
                    })
                    .filter_map(|(other, copies)| {
                        let o = ix.msgs.get(other)?;
                        let d = &ix.deliveries[copies[0]];
                        (o.topic == msg.topic
                            && o.qos == msg.qos
                            && d.at + AWAY_MARGIN_MS < alive_until
                            && sub.live(d.at))
                        .then_some((*other, d.at))
                    })
                    .min_by_key(|(_, at)| *at)
            });
            if let Some((other, at)) = later {
                let what = format!(
                    "{id} (QoS {}, on {}, Message Expiry Interval {e} s, published at {}) never \
                     reached {client}, though the later {other} did at {}, while {id} had \
                     not expired — only an expired message may be dropped (MQTT-3.3.2-5, \
                     MQTT-4.5.0-1)",
                    msg.qos,
                    msg.topic,
                    secs(msg.at),
                    secs(at)
                );
                out.push(ix.violation(Check::NoExpiredDelivery, Some(id), Some(client), at, what));
            }
        }
    }
    out
}
