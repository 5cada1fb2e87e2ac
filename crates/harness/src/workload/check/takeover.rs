//! `takeover_clean`: a client that connects again with its client
//! identifier while its old connection is open has that old connection
//! closed by the broker (MQTT-3.1.4-2 in 3.1.1, MQTT-3.1.4-3 in 5.0); in
//! 5.0 the broker first sends it DISCONNECT 0x8E (Session taken over), a
//! description without a MUST, so an advisory.
//!
//! What the takeover does to messages in flight is the delivery checkers'
//! to judge: every connection's deliveries count.

use super::*;

/// The old connection must be closed this soon after the new one is
/// accepted (the broker closes it while taking the CONNECT).
const CLOSE_WITHIN_MS: Ms = 2_000;

pub(super) fn takeover_clean(ix: &Index<'_>) -> (Vec<Violation>, Vec<Advisory>) {
    let mut out = Vec::new();
    let mut advisories = Vec::new();
    let rule = if ix.h.roles.v5 {
        "MQTT-3.1.4-3"
    } else {
        "MQTT-3.1.4-2"
    };
    for e in &ix.h.events {
        let Event::Takeover {
            at, client, old, ..
        } = e
        else {
            continue;
        };
        let Some(conns) = ix.conns.get(client.as_str()) else {
            continue;
        };
        // The connection that took over: the next accepted one.
        let Some((&new, accepted)) = conns.range(old + 1..).next() else {
            continue;
        };
        let ended = ix.h.events.iter().find_map(|e| match e {
            Event::Superseded {
                at,
                client: c,
                connection,
                closed,
                disconnect,
            } if c == client && connection == old => Some((*at, *closed, *disconnect)),
            _ => None,
        });
        let Some((end, closed, disconnect)) = ended else {
            continue;
        };
        // A fault on the client's link or the broker can hold the close
        // back, and bytes a cut lost leave the old connection mute for
        // good: judge only takeovers of connections clear of them.
        let since = conns.get(old).map_or(*at, |c| c.at);
        let disturbed = ix.fault_on(client, since, end, &["cut", "stall", "reset", "latency"])
            || ix.h.events.iter().any(|e| {
                matches!(e, Event::Fault { at: t, what }
                    if (since..=end).contains(t) && what.starts_with("broker"))
            });
        let late = end > accepted.at + CLOSE_WITHIN_MS;
        if !disturbed && (!closed || late) {
            let how = if closed {
                format!("closed only at {}", secs(end))
            } else {
                format!(
                    "still open at {}, when the client stopped waiting",
                    secs(end)
                )
            };
            let what = format!(
                "{client} took its session over on connection {new} (accepted at {}), but its \
                 old connection {old} was {how} — the Server MUST close the existing \
                 Client's connection ({rule})",
                secs(accepted.at)
            );
            out.push(ix.violation(Check::TakeoverClean, None, Some(client), end, what));
        }
        if ix.h.roles.v5 && closed && disconnect != Some(0x8E) {
            let got = match disconnect {
                Some(r) => format!("DISCONNECT 0x{r:02X}"),
                None => "no DISCONNECT".into(),
            };
            advisories.push(Advisory {
                rule: format!("{rule} (5.0 §3.1.4, §4.13)"),
                what: format!(
                    "{client}'s old connection {old}, taken over at {}, was closed after {got} \
                     instead of DISCONNECT 0x8E (Session taken over)",
                    secs(*at)
                ),
                readings: Vec::new(),
                step: 0,
                line: 0,
            });
        }
    }
    (out, advisories)
}
