//! `retained_latest`: each topic retains its last acknowledged retained
//! message.

use super::*;

/// Every topic the end-of-run reading lists, and every topic a retained
/// message was published on (absent from the reading = nothing retained):
/// the retained message is the last acknowledged retained publish or a
/// later one (the broker may have taken an unacknowledged one on).
pub(super) fn retained_latest(ix: &Index<'_>) -> Vec<Violation> {
    let Some(end) = &ix.h.retained_at_end else {
        return Vec::new();
    };
    let topics: BTreeSet<&str> = end
        .keys()
        .map(String::as_str)
        .chain(ix.retained_pubs.keys().copied())
        .collect();
    let mut out = Vec::new();
    for topic in topics {
        let actual = end.get(topic).and_then(Option::as_ref);
        let pubs = ix.retained_pubs.get(topic).map_or(&[][..], Vec::as_slice);
        // A restart that kept nothing forgot what the broker had before.
        let forgot_at = ix.forgotten.iter().copied().max().unwrap_or(0);
        let last_acked = pubs
            .iter()
            .rev()
            .find_map(|id| ix.msgs[*id].acked.map(|t| (*id, t)))
            .filter(|&(id, acked)| taken_on_after(ix, id, acked, forgot_at));
        match actual {
            None => {
                if let Some((id, acked)) = last_acked {
                    let what = format!(
                        "nothing retained on {topic} at the end, but {id} was published there \
                         with RETAIN at {} and acked at {} — the broker keeps the last retained \
                         message (MQTT-3.3.1-5)",
                        secs(ix.msgs[id].at),
                        secs(acked),
                    );
                    out.push(ix.violation(Check::RetainedLatest, Some(id), None, acked, what));
                }
            }
            Some(id) => match pubs.iter().position(|p| *p == id) {
                None => {
                    let how = match ix.msgs.get(id) {
                        Some(m) if m.topic != topic => format!("published on {}", m.topic),
                        Some(_) => "published there without RETAIN".to_owned(),
                        None => "never published".to_owned(),
                    };
                    let what = format!(
                        "{topic} retains {id} at the end, which was {how} — only a RETAIN \
                         publish on a topic is retained there (§3.3.1.3)"
                    );
                    out.push(ix.violation(Check::RetainedLatest, Some(id), None, ix.end, what));
                }
                Some(_) => {
                    if let Some((newer, why, at, acked)) = replaced_by(ix, id, pubs) {
                        let what = format!(
                            "{topic} retains {id} at the end, but {newer} (published there with \
                             RETAIN at {}, acked at {}) reached the broker after it, {why} — a \
                             retained message replaces the one before (MQTT-3.3.1-5)",
                            secs(at),
                            secs(acked),
                        );
                        out.push(ix.violation(Check::RetainedLatest, Some(id), None, acked, what));
                    }
                }
            },
        }
    }
    out
}

/// Whether the broker surely had `id` (acknowledged at `acked`) after a
/// restart at `restart` that kept nothing: it was published after it, or
/// acknowledged on a connection its publisher opened after it. An
/// acknowledgement that merely arrives after the restart may have left
/// the broker before it went down.
fn taken_on_after(ix: &Index<'_>, id: &MsgId, acked: Ms, restart: Ms) -> bool {
    if ix.msgs[id].at > restart {
        return true;
    }
    let reconnected = ix
        .conns
        .get(id.publisher.as_str())
        .and_then(|cs| cs.values().map(|c| c.at).find(|&at| at > restart));
    reconnected.is_some_and(|at| acked >= at)
}

/// The latest acknowledged retained publish on the topic that surely
/// reached the broker after `kept`, with why that is sure and when it was
/// published and acked. The broker's order of arrival is only known in
/// part: one publisher's messages arrive in the order it sent them (it
/// resends in order, MQTT-4.6.0-1); another's arrived after `kept` if it
/// was first sent after `kept` was acknowledged.
pub(super) fn replaced_by<'a>(
    ix: &Index<'a>,
    kept: &'a MsgId,
    pubs: &[&'a MsgId],
) -> Option<(&'a MsgId, String, Ms, Ms)> {
    let k = ix.msgs[kept];
    pubs.iter()
        .filter_map(|y| {
            let m = ix.msgs[*y];
            let acked = m.acked?;
            let why = if y.publisher == kept.publisher {
                (y.seq > kept.seq).then(|| format!("as {} sent it later", y.publisher))?
            } else {
                let kept_acked = k.acked.filter(|a| m.at > *a)?;
                format!(
                    "as it was sent after {kept} was acked at {}",
                    secs(kept_acked)
                )
            };
            Some((*y, why, m.at, acked))
        })
        .max_by_key(|(_, _, at, _)| *at)
}
