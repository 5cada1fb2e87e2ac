//! `will_on_abnormal_disconnect`: a will is published when a connection is
//! lost, never after DISCONNECT.

use super::*;

/// A connection with a will that ended without DISCONNECT: every will
/// watcher subscribed (at or before the loss) to a filter matching the
/// will topic, at an effective QoS of 1 or more, receives the will after
/// the connection began (MQTT-3.1.2-8). A will is never delivered for a
/// connection that ended with DISCONNECT (MQTT-3.1.2-10, MQTT-3.14.4-3),
/// nor for one that carried no will.
///
/// One case is an advisory, not a violation: the client came back on a new
/// connection resuming its session (Clean Start 0) before the broker had to
/// notice the old one was gone (1.5 × Keep Alive after the loss), so the
/// broker may have seen a takeover rather than a lost connection. Whether a
/// will with no delay is published when its session is taken over and
/// resumed reads two ways (3.1.1 §3.1.4 lists no will among what a
/// takeover does; 5.0 §3.1.4 publishes it "as described in 3.1.2.5", where
/// a new connection to the session before the delay ends cancels it).
pub(super) fn will_on_abnormal_disconnect(ix: &Index<'_>) -> (Vec<Violation>, Vec<Advisory>) {
    let mut out = Vec::new();
    let mut advisories = Vec::new();
    let watchers: BTreeSet<&str> =
        ix.h.roles
            .will_watchers
            .iter()
            .map(String::as_str)
            .collect();
    for (&client, n, conn) in ix
        .conns
        .iter()
        .flat_map(|(c, cs)| cs.iter().map(move |(n, conn)| (c, *n, conn)))
    {
        let (Some(will), Some((lost_at, false))) = (conn.will, conn.end) else {
            continue;
        };
        // A broker that restarted keeping nothing, around when it noticed
        // the loss, took the will with it.
        let noticing = u64::from(will.keep_alive) * 1_500 + 1_000;
        if ix.forgot_between(lost_at.saturating_sub(noticing), lost_at + noticing) {
            continue;
        }
        let id = MsgId {
            publisher: client.to_owned(),
            seq: n,
            will: true,
        };
        for &w in &watchers {
            let Some(sub) = ix.best_sub(w, &will.topic, lost_at) else {
                continue;
            };
            if will.qos.min(sub.granted) == 0 {
                continue;
            }
            if ix.deliveries_of(w, &id).iter().any(|d| d.at >= conn.at) {
                continue;
            }
            if let Some(t) = taken_over(ix, client, n, lost_at, will.keep_alive) {
                advisories.push(Advisory {
                    rule: "will on takeover (3.1.1 §3.1.4, 5.0 §3.1.4 and §3.1.2.5)".into(),
                    what: format!(
                        "{id}, on {}, never delivered to {w}: its connection was lost at {} and \
                         {client} resumed its session on a new connection at {}, before the \
                         broker had to notice the loss, so the broker may have taken the \
                         session over rather than lost the connection",
                        will.topic,
                        secs(lost_at),
                        secs(t),
                    ),
                    readings: vec![
                        "a connection closed by a takeover is closed without DISCONNECT, so \
                         its will is published"
                            .into(),
                        "the session continues on the new connection, so the will (no delay) \
                         is not published"
                            .into(),
                    ],
                    step: 0,
                    line: 0,
                });
                continue;
            }
            let what = format!(
                "{id}, on {}, never delivered to {w}, subscribed to {} since {}, though the \
                 connection was lost at {} without DISCONNECT — the will is published when \
                 the connection closes abnormally (MQTT-3.1.2-8)",
                will.topic,
                sub.filter,
                secs(sub.at),
                secs(lost_at),
            );
            out.push(ix.violation(
                Check::WillOnAbnormalDisconnect,
                Some(&id),
                Some(w),
                lost_at,
                what,
            ));
        }
    }
    let mut reported: BTreeSet<(&str, &MsgId)> = BTreeSet::new();
    for d in &ix.deliveries {
        if !d.id.will || !reported.insert((d.client, d.id)) {
            continue;
        }
        let why = match ix.conn(&d.id.publisher, d.id.seq) {
            // Connections are numbered by attempt: one below a later
            // accepted connection sent its CONNECT (with the will every
            // connection of this client carries) and lost the CONNACK, so
            // the broker may have accepted it and owe its will.
            None if ix.conns.get(d.id.publisher.as_str()).is_some_and(|cs| {
                cs.keys().next_back().is_some_and(|&last| last > d.id.seq)
                    && cs.values().any(|c| c.will.is_some())
            }) =>
            {
                continue
            }
            None => "a connection that never was".to_owned(),
            Some(c) if c.will.is_none() => "a connection that carried no will".to_owned(),
            Some(Conn {
                end: Some((t, true)),
                ..
            }) => format!(
                "a connection that ended with DISCONNECT at {} — a normal disconnect deletes \
                 the will (MQTT-3.1.2-10, MQTT-3.14.4-3)",
                secs(*t)
            ),
            Some(_) => continue,
        };
        let what = format!(
            "{} delivered to {} at {}, for {why}",
            d.id,
            d.client,
            secs(d.at)
        );
        out.push(ix.violation(
            Check::WillOnAbnormalDisconnect,
            Some(d.id),
            Some(d.client),
            d.at,
            what,
        ));
    }
    (out, advisories)
}

/// When `client` resumed its session on a connection after `n` early
/// enough that the broker could still have held connection `n` open: before
/// 1.5 × Keep Alive after the loss (and a second for the broker's sweep).
fn taken_over(ix: &Index<'_>, client: &str, n: u32, lost_at: Ms, keep_alive: u16) -> Option<Ms> {
    let noticed_by = lost_at + u64::from(keep_alive) * 1_500 + 1_000;
    let (_, next) = ix.conns.get(client)?.range(n + 1..).next()?;
    (next.resumes && next.at <= noticed_by).then_some(next.at)
}
