//! `session_expiry_respected` (5.0): a session outlives an absence shorter
//! than its Session Expiry Interval, and ends in a longer one with what it
//! had queued.
//!
//! An absence runs from the end of a client's last connection (a
//! DISCONNECT reaches the broker at once; a lost connection is noticed
//! within 1.5 x Keep Alive) to its next CONNECT; only absences clearly
//! shorter or clearly longer than the interval are judged, none with a
//! broker restart inside.

use super::*;

pub(super) fn session_expiry_respected(ix: &Index<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    for (&client, conns) in &ix.conns {
        let mut expiry: Option<u32> = None;
        for (&n, c) in conns {
            let asked = expiry;
            // What this connection asked for governs the next absence.
            expiry = c.session_expiry;
            let (Some(e), true) = (asked, c.resumes) else {
                continue;
            };
            let Some((down, margin)) = ix.away_since(client, c.requested_at) else {
                continue;
            };
            let away = c.requested_at.saturating_sub(down);
            let e_ms = u64::from(e) * 1000;
            let came_back = format!(
                "{client}'s session was {} when it came back at {} (connection {n}, Session \
                 Present {}) after {:.1} s away, {} its Session Expiry Interval of {e} s",
                if c.session_present {
                    "still there"
                } else {
                    "gone"
                },
                secs(c.at),
                u8::from(c.session_present),
                away as f64 / 1000.0,
                if c.session_present {
                    "more than"
                } else {
                    "less than"
                },
            );
            let what = if away + margin < e_ms && !c.session_present {
                Some(format!(
                    "{came_back} — the Server MUST keep the Session State that long \
                     (MQTT-3.1.2-23) and say it has it (MQTT-3.2.2-3)"
                ))
            } else if away > e_ms + margin && c.session_present {
                Some(format!(
                    "{came_back} — the Server MUST discard it once the interval has passed \
                     (MQTT-4.1.0-2)"
                ))
            } else {
                None
            };
            if let Some(what) = what {
                out.push(ix.violation(
                    Check::SessionExpiryRespected,
                    None,
                    Some(client),
                    c.at,
                    what,
                ));
            } else if away > e_ms + margin {
                out.extend(delivered_from_ended(ix, client, n, c));
            }
        }
    }
    out
}

/// A copy on connection `n` of a message the broker had before the client
/// came back: it can only have come from the session that should have
/// ended (the new one's subscriptions came after). Retained copies are the
/// new subscriptions' due.
fn delivered_from_ended(ix: &Index<'_>, client: &str, n: u32, c: &Conn<'_>) -> Option<Violation> {
    let d = ix.deliveries.iter().find(|d| {
        d.client == client
            && d.connection == n
            && !d.retain
            && ix
                .message(d.id)
                .and_then(|m| m.acked)
                .is_some_and(|acked| acked < c.requested_at)
    })?;
    let acked = ix.message(d.id).and_then(|m| m.acked).unwrap_or(0);
    let what = format!(
        "{} reached {client} at {} on connection {n}, though the broker had it at {} and \
         the session it was queued in should have expired before the client came back at {} \
         — the Server MUST discard the Session State once the interval has passed \
         (MQTT-4.1.0-2)",
        d.id,
        secs(d.at),
        secs(acked),
        secs(c.at)
    );
    Some(ix.violation(
        Check::SessionExpiryRespected,
        Some(d.id),
        Some(client),
        d.at,
        what,
    ))
}
