//! Losses and duplicates: `at_most_once`, `at_least_once`, `exactly_once`.

use super::*;

/// How the copies of one message to one subscriber count.
pub(super) struct Copies {
    /// Every copy's arrival.
    all: Vec<Ms>,
    /// The copy that went over what is allowed, if one did.
    pub(super) excess_at: Option<Ms>,
    /// Copies sent for a new subscription (RETAIN set): one per SUBACK.
    retained_excused: usize,
}

/// Counts the copies of `id` that `client` received against what MQTT
/// allows: one per matching filter (overlapping subscriptions may each get
/// a copy, MQTT-3.3.5-1 / MQTT-3.3.4-2), plus one retained copy (RETAIN
/// set) per matching SUBACK, since a new subscription is sent the retained
/// message. Every other copy counts, DUP or not: the workload client
/// records a QoS 2 PUBLISH once per Packet Identifier until PUBREL, across
/// reconnections, so a broker's legitimate resend is not in the history.
pub(super) fn count_copies(ix: &Index<'_>, client: &str, id: &MsgId, msg: &Msg<'_>) -> Copies {
    let ds = ix.deliveries_of(client, id);
    let subs = ix.subs_of(client);
    let matching = |s: &Sub<'_>| protocol::topic::matches(s.filter, msg.topic);
    let filters: BTreeSet<&str> = subs
        .iter()
        .filter(|s| matching(s) && (s.live(msg.at) || ds.iter().any(|d| s.live(d.sent_by))))
        .map(|s| s.filter)
        .collect();
    let allowed = filters.len().max(1);
    let mut copies = Copies {
        all: ds.iter().map(|d| d.at).collect(),
        excess_at: None,
        retained_excused: 0,
    };
    let mut used_subacks = BTreeSet::new();
    let mut counted = 0;
    for d in &ds {
        if d.retain {
            // The latest matching SUBACK before it, if its retained copy
            // is not taken yet.
            let suback = subs
                .iter()
                .enumerate()
                .filter(|(_, s)| matching(s) && s.at <= d.sent_by)
                .max_by_key(|(i, s)| (s.at, *i))
                .map(|(i, _)| i);
            if suback.is_some_and(|i| used_subacks.insert(i)) {
                copies.retained_excused += 1;
                continue;
            }
        }
        counted += 1;
        if counted > allowed && copies.excess_at.is_none() {
            copies.excess_at = Some(d.at);
        }
    }
    copies
}

pub(super) fn duplicate_text(id: &MsgId, client: &str, c: &Copies) -> String {
    let mut s = format!(
        "{id} delivered {} times to {client} (at {})",
        c.all.len(),
        times(&c.all)
    );
    if c.retained_excused > 0 {
        s.push_str(&format!(
            " ({} retained on subscribing, allowed)",
            c.retained_excused
        ));
    }
    s
}

pub(super) fn at_most_once(ix: &Index<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    for (&client, id) in ix
        .received
        .iter()
        .flat_map(|(c, m)| m.keys().map(move |id| (c, *id)))
    {
        let Some(msg) = ix.message(id) else { continue };
        if msg.qos != 0 {
            continue;
        }
        let c = count_copies(ix, client, id, &msg);
        if let Some(at) = c.excess_at {
            let what = format!(
                "{} — QoS 0 is at most once (§4.3.1)",
                duplicate_text(id, client, &c)
            );
            out.push(ix.violation(Check::AtMostOnce, Some(id), Some(client), at, what));
        }
    }
    out
}

pub(super) fn at_least_once(ix: &Index<'_>) -> Vec<Violation> {
    losses(ix, Check::AtLeastOnce, 1)
}

/// Whether the broker owes `msg` to a subscriber whose best matching
/// subscription when it was published is `sub`: acknowledged, at an
/// effective QoS of 1 or 2, to a kept session that has not ended since. An
/// expiring message may be gone for a reason of its own:
/// `no_expired_delivery` judges those. The total queue's "lost" is this too.
pub(super) fn owed(msg: &Msg<'_>, sub: &Sub<'_>, kept: bool) -> bool {
    kept && msg.acked.is_some()
        && msg.expiry.is_none()
        && msg.qos.min(sub.granted) > 0
        && !sub.session_ended
}

/// Acknowledged messages of effective QoS `eff` that a kept-session
/// subscriber, subscribed when the message was published, never received.
pub(super) fn losses(ix: &Index<'_>, check: Check, eff: u8) -> Vec<Violation> {
    let mut out = Vec::new();
    for (&id, msg) in &ix.msgs {
        let Some(acked) = msg.acked else { continue };
        for client in ix.kept_subscribers() {
            let Some(sub) = ix.best_sub(client, msg.topic, msg.at) else {
                continue;
            };
            if !owed(msg, &sub, true)
                || msg.qos.min(sub.granted) != eff
                || !ix.copies(client, id).is_empty()
            {
                continue;
            }
            let what = format!(
                "{id} (QoS {}, on {}, published at {}, acked at {}) never delivered to {client}, \
                 subscribed to {} at QoS {} since {} — a message the broker took on is \
                 delivered to every matching session (MQTT-4.5.0-1, §4.3.{})",
                msg.qos,
                msg.topic,
                secs(msg.at),
                secs(acked),
                sub.filter,
                sub.granted,
                secs(sub.at),
                eff + 1,
            );
            out.push(ix.violation(check, Some(id), Some(client), msg.at, what));
        }
    }
    out
}

pub(super) fn exactly_once(ix: &Index<'_>) -> Vec<Violation> {
    let mut out = losses(ix, Check::ExactlyOnce, 2);
    for (&client, id) in ix
        .received
        .iter()
        .flat_map(|(c, m)| m.keys().map(move |id| (c, *id)))
    {
        let Some(msg) = ix.message(id) else { continue };
        if msg.qos != 2 {
            continue;
        }
        let first = ix.deliveries[ix.copies(client, id)[0]].at;
        let granted = [msg.at, first]
            .iter()
            .filter_map(|&t| ix.best_sub(client, msg.topic, t))
            .map(|s| s.granted)
            .max();
        if granted != Some(2) {
            continue;
        }
        let c = count_copies(ix, client, id, &msg);
        // A broker that forgot everything in between took the resent
        // PUBLISH for a new message, as its promise allows.
        let forgotten = |at| ix.forgot_between(first, at);
        if let Some(at) = c.excess_at.filter(|&at| !forgotten(at)) {
            let what = format!(
                "{} — QoS 2 is exactly once (§4.3.3)",
                duplicate_text(id, client, &c)
            );
            out.push(ix.violation(Check::ExactlyOnce, Some(id), Some(client), at, what));
        }
    }
    out
}
