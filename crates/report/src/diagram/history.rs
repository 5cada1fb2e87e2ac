//! Diagrams of a workload's history: the story of a violation (the
//! message concerned, the clients involved, the faults on their links), or
//! a whole passing run. A history says what the clients saw; when the
//! network's own log is at hand, [`super::network`] draws from it instead.

use record::history::{Event, History, MsgId};
use record::violation::Violation;

use super::{add, target, Diagram, Net, Row, What, BROKER, MAX_ROWS};

impl Diagram {
    /// The part of a workload's history that tells a violation: everything
    /// that happened to the message concerned, the connections of the
    /// clients involved and the faults on their links or the broker, from
    /// `CONTEXT_MS` before the message was published (or before the
    /// violation, when it names no message) to the violation, and the
    /// violation itself. At most `MAX_ROWS` rows, the latest kept.
    pub fn from_violation(history: &History, v: &Violation) -> Diagram {
        let (involved, from) = story(history, v);
        let concerns = |id: &MsgId| v.message.as_ref() == Some(id);
        let relevant = |e: &Event| match e {
            Event::Published { id, .. } => {
                concerns(id) || (v.message.is_none() && involved.contains(&id.publisher))
            }
            Event::Acked { id, .. } | Event::Completed { id, .. } => concerns(id),
            Event::Delivered { client, id, .. } => {
                concerns(id) || (v.message.is_none() && involved.contains(client))
            }
            Event::Connected { client, .. }
            | Event::Disconnected { client, .. }
            | Event::ConnectionLost { client, .. }
            | Event::Takeover { client, .. }
            | Event::Superseded { client, .. }
            | Event::Unanswered { client, .. }
            | Event::Subscribing { client, .. }
            | Event::Subscribed { client, .. } => involved.contains(client),
            // Many; only the receive-maximum checker's own story needs them.
            Event::Freed { client, .. } => {
                v.check == "receive_maximum_respected" && involved.contains(client)
            }
            Event::Fault { .. } | Event::BrokerRestarted { .. } => true,
        };
        let mut rows: Vec<Row> = history
            .events
            .iter()
            .filter(|e| (from..=v.at).contains(&e.at()) && relevant(e))
            .filter_map(|e| {
                row_of(e, &involved).map(|what| Row {
                    at_ms: e.at(),
                    what,
                })
            })
            .collect();
        rows.push(Row {
            at_ms: v.at,
            what: What::Failure {
                label: format!("{}: {}", v.check, v.what),
            },
        });
        if rows.len() > MAX_ROWS {
            rows.drain(..rows.len() - MAX_ROWS);
        }
        Diagram::with_rows(rows)
    }

    /// A whole workload history (a run that passed has no violation to
    /// centre on): every client, every event, the first `max_rows` of them.
    pub fn from_history(history: &History, clients: &[String], max_rows: usize) -> Diagram {
        let mut rows: Vec<Row> = history
            .events
            .iter()
            .filter_map(|e| {
                row_of(e, clients).map(|what| Row {
                    at_ms: e.at(),
                    what,
                })
            })
            .collect();
        if rows.len() > max_rows {
            let more = rows.len() - max_rows;
            rows.truncate(max_rows);
            let at_ms = rows.last().map_or(0, |r| r.at_ms);
            rows.push(Row {
                at_ms,
                what: What::Step {
                    label: format!("... and {more} more events, not drawn"),
                    failed: false,
                },
            });
        }
        Diagram::with_rows(rows)
    }
}

/// How long before the message concerned (or the violation) its story
/// starts.
const CONTEXT_MS: u64 = 3_000;

/// Who a violation's story involves (its publisher, its subscriber and
/// every client the message reached) and when the story starts.
pub(super) fn story(history: &History, v: &Violation) -> (Vec<String>, u64) {
    let mut involved: Vec<String> = Vec::new();
    for who in [&v.publisher, &v.subscriber].into_iter().flatten() {
        add(&mut involved, who);
    }
    let concerns = |id: &MsgId| v.message.as_ref() == Some(id);
    // Every subscriber the message reached is part of its story.
    for e in &history.events {
        if let Event::Delivered { client, id, .. } = e {
            if concerns(id) {
                add(&mut involved, client);
            }
        }
    }
    let published_at = history.events.iter().find_map(|e| match e {
        Event::Published { at, id, .. } if concerns(id) => Some(*at),
        _ => None,
    });
    let from = published_at
        .unwrap_or(v.at)
        .min(v.at)
        .saturating_sub(CONTEXT_MS);
    (involved, from)
}

/// An event of a workload's history as a row; a fault only if it names one
/// of `clients` (on its link) or the broker.
pub(super) fn row_of(e: &Event, clients: &[String]) -> Option<What> {
    Some(match e {
        Event::Published {
            id,
            topic,
            qos,
            retain,
            ..
        } => What::Packet {
            from: id.publisher.clone(),
            to: BROKER.into(),
            label: format!(
                "PUBLISH {id} topic={topic:?} qos={qos}{}",
                if *retain { " retain=1" } else { "" }
            ),
            net: Net::Passed,
        },
        Event::Acked { id, .. } => What::Packet {
            from: BROKER.into(),
            to: id.publisher.clone(),
            label: format!("acknowledged {id} (PUBACK / PUBREC)"),
            net: Net::Passed,
        },
        Event::Completed { id, .. } => What::Packet {
            from: BROKER.into(),
            to: id.publisher.clone(),
            label: format!("PUBCOMP {id}"),
            net: Net::Passed,
        },
        Event::Delivered {
            client,
            id,
            topic,
            qos,
            dup,
            retain,
            ..
        } => What::Packet {
            from: BROKER.into(),
            to: client.clone(),
            label: format!(
                "PUBLISH {id} topic={topic:?} qos={qos} dup={} retain={}",
                *dup as u8, *retain as u8
            ),
            net: Net::Passed,
        },
        Event::Connected {
            client,
            connection,
            clean_start,
            session_present,
            ..
        } => What::Packet {
            from: BROKER.into(),
            to: client.clone(),
            label: format!(
                "CONNACK connection {connection} (clean_start={} session_present={})",
                *clean_start as u8, *session_present as u8
            ),
            net: Net::Passed,
        },
        Event::Disconnected {
            client, connection, ..
        } => What::Packet {
            from: client.clone(),
            to: BROKER.into(),
            label: format!("DISCONNECT (connection {connection})"),
            net: Net::Passed,
        },
        Event::ConnectionLost {
            client,
            connection,
            why,
            ..
        } => What::Note {
            on: client.clone(),
            label: format!("connection {connection} lost: {why}"),
        },
        Event::Subscribed {
            client,
            filter,
            granted_qos,
            ..
        } => What::Packet {
            from: BROKER.into(),
            to: client.clone(),
            label: match granted_qos {
                Some(q) => format!("SUBACK {filter:?} granted qos {q}"),
                None => format!("SUBACK {filter:?} refused"),
            },
            net: Net::Passed,
        },
        Event::Freed {
            client,
            connection,
            packet_id,
            ..
        } => What::Packet {
            from: client.clone(),
            to: BROKER.into(),
            label: format!("PUBACK / PUBCOMP id={packet_id} (connection {connection})"),
            net: Net::Passed,
        },
        Event::BrokerRestarted { graceful, kept, .. } => What::Note {
            on: BROKER.into(),
            label: format!(
                "back from a {}, {}",
                if *graceful { "clean shutdown" } else { "crash" },
                if *kept {
                    "its state kept"
                } else {
                    "its state gone (as promised)"
                }
            ),
        },
        Event::Subscribing {
            client, filters, ..
        } => What::Packet {
            from: client.clone(),
            to: BROKER.into(),
            label: format!(
                "SUBSCRIBE {}",
                filters
                    .iter()
                    .map(|(f, q)| format!("{f:?} qos {q}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            net: Net::Passed,
        },
        Event::Unanswered {
            client,
            requested_at,
            ..
        } => What::Note {
            on: client.clone(),
            label: format!(
                "no CONNACK for the CONNECT sent at {:.3}s: given up",
                *requested_at as f64 / 1000.0
            ),
        },
        Event::Takeover {
            client,
            old,
            answering,
            ..
        } => What::Note {
            on: client.clone(),
            label: format!(
                "takes its session over on a new connection; connection {old} stays open{}",
                if *answering {
                    " and answering"
                } else {
                    ", silent (half-open)"
                }
            ),
        },
        Event::Superseded {
            client,
            connection,
            closed,
            disconnect,
            ..
        } => What::Note {
            on: client.clone(),
            label: match (closed, disconnect) {
                (true, Some(r)) => format!(
                    "old connection {connection} closed by the broker after DISCONNECT 0x{r:02X}"
                ),
                (true, None) => format!("old connection {connection} closed by the broker"),
                (false, _) => format!("old connection {connection} still open: given up"),
            },
        },
        Event::Fault { what, .. } => match target(what, clients) {
            Some(on) => What::Fault {
                on: on.to_owned(),
                label: what.clone(),
            },
            None if what.contains(BROKER) => What::Fault {
                on: BROKER.into(),
                label: what.clone(),
            },
            None => return None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_violation_is_drawn_with_its_message_and_the_faults_on_its_links() {
        let id = MsgId {
            publisher: "p1".into(),
            seq: 7,
            will: false,
        };
        let mut h = History::default();
        h.push(Event::Connected {
            at: 0,
            client: "s1".into(),
            connection: 1,
            clean_start: false,
            session_present: false,
            will: None,
            requested_at: 0,
            receive_maximum: None,
            session_expiry: None,
        });
        h.push(Event::Connected {
            at: 0,
            client: "s2".into(),
            connection: 1,
            clean_start: false,
            session_present: false,
            will: None,
            requested_at: 0,
            receive_maximum: None,
            session_expiry: None,
        });
        h.push(Event::Published {
            at: 5_000,
            id: id.clone(),
            topic: "t/1".into(),
            qos: 1,
            retain: false,
            expiry: None,
        });
        h.push(Event::Fault {
            at: 5_001,
            what: "cut s1 for 2s".into(),
        });
        h.push(Event::Fault {
            at: 5_002,
            what: "cut s2 for 2s".into(),
        });
        h.push(Event::Acked {
            at: 5_010,
            id: id.clone(),
        });
        let v = Violation {
            check: "at_least_once",
            message: Some(id),
            publisher: Some("p1".into()),
            subscriber: Some("s1".into()),
            at: 30_000,
            what: "p1#7 was never delivered to s1".into(),
            faults: vec![],
        };
        let d = Diagram::from_violation(&h, &v);
        assert_eq!(d.lifelines, ["broker", "p1", "s1"]);
        let labels: Vec<String> = d
            .rows
            .iter()
            .map(|r| match &r.what {
                What::Packet { label, .. }
                | What::Arrival { label, .. }
                | What::Fault { label, .. }
                | What::Note { label, .. }
                | What::Failure { label }
                | What::Advisory { label }
                | What::Step { label, .. } => label.clone(),
            })
            .collect();
        assert_eq!(
            labels,
            [
                "PUBLISH p1#7 topic=\"t/1\" qos=1",
                "cut s1 for 2s",
                "acknowledged p1#7 (PUBACK / PUBREC)",
                "at_least_once: p1#7 was never delivered to s1"
            ],
            "s1's connection at 0 s is before the window; s2 is not involved"
        );
    }
}
