//! A run drawn as a sequence diagram: one lifeline for the broker and one
//! per client, packets as arrows with their key fields, faults marked
//! where they fell, steps as dividers and the failing expectation in red.
//!
//! A [`Diagram`] is built from a scripted run's [`Trace`] or from the part
//! of a workload's history around its first violation, and drawn as a
//! self-contained SVG. Time runs down the page one event per row (a real
//! time axis would spend most of the page on waits); each row shows its
//! time on the left.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use record::history::{Event, History, MsgId};
use record::trace::{Kind, Trace};
use record::violation::Violation;

mod svg;

pub use svg::svg;

/// The broker's lifeline: always the first.
pub const BROKER: &str = "broker";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagram {
    /// Lifelines left to right; the broker first.
    pub lifelines: Vec<String>,
    pub rows: Vec<Row>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub at_ms: u64,
    #[serde(flatten)]
    pub what: What,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// A packet from one lifeline to another.
    Packet {
        from: String,
        to: String,
        label: String,
    },
    /// Something that happened at one lifeline (a connection closed).
    Note { on: String, label: String },
    /// A fault: on the link between a client and the broker (`on` the
    /// client), or at the broker itself.
    Fault { on: String, label: String },
    /// A step of the script began; `failed` marks the step that failed.
    Step { label: String, failed: bool },
    /// What was wrong, where the run failed.
    Failure { label: String },
    /// What an advisory step found: a SHOULD not followed, a reading of
    /// the spec not chosen. The run went on.
    Advisory { label: String },
}

impl Diagram {
    /// A scripted run's whole trace. The step the run failed in and the
    /// failure itself are marked.
    pub fn from_trace(trace: &Trace) -> Diagram {
        let mut lifelines = vec![BROKER.to_owned()];
        for e in &trace.entries {
            if matches!(e.kind, Kind::Sent(_) | Kind::Received(_))
                || (matches!(e.kind, Kind::Event(_)) && !is_world(&e.who))
            {
                add(&mut lifelines, &e.who);
            }
        }
        let clients: Vec<String> = lifelines[1..].to_vec();
        let failed_step = trace
            .entries
            .iter()
            .position(|e| matches!(e.kind, Kind::Failed(_)))
            .and_then(|f| {
                trace.entries[..f]
                    .iter()
                    .rposition(|e| matches!(e.kind, Kind::Step(_)))
            });
        let rows = trace
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let what = match &e.kind {
                    Kind::Sent(t) => What::Packet {
                        from: e.who.clone(),
                        to: BROKER.into(),
                        label: t.clone(),
                    },
                    Kind::Received(t) => What::Packet {
                        from: BROKER.into(),
                        to: e.who.clone(),
                        label: t.clone(),
                    },
                    Kind::Event(t) if e.who == "network" => What::Fault {
                        on: target(t, &clients).unwrap_or(BROKER).to_owned(),
                        label: t.clone(),
                    },
                    Kind::Event(t) if e.who == BROKER || e.who == "runner" => What::Fault {
                        on: BROKER.into(),
                        label: format!("broker {t}"),
                    },
                    Kind::Event(t) => What::Note {
                        on: e.who.clone(),
                        label: t.clone(),
                    },
                    Kind::Step(t) => What::Step {
                        label: t.clone(),
                        failed: failed_step == Some(i),
                    },
                    Kind::Failed(t) => What::Failure { label: t.clone() },
                    Kind::Advisory(t) => What::Advisory { label: t.clone() },
                };
                Row {
                    at_ms: e.at_ms,
                    what,
                }
            })
            .collect();
        Diagram { lifelines, rows }
    }

    /// The part of a workload's history that tells a violation: everything
    /// that happened to the message concerned, the connections of the
    /// clients involved and the faults on their links or the broker, from
    /// `CONTEXT_MS` before the message was published (or before the
    /// violation, when it names no message) to the violation, and the
    /// violation itself. At most `MAX_ROWS` rows, the latest kept.
    pub fn from_violation(history: &History, v: &Violation) -> Diagram {
        const CONTEXT_MS: u64 = 3_000;
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

    /// A diagram of `rows`, with a lifeline for each one they name, in
    /// order of appearance after the broker.
    fn with_rows(rows: Vec<Row>) -> Diagram {
        let mut lifelines = vec![BROKER.to_owned()];
        for r in &rows {
            match &r.what {
                What::Packet { from, to, .. } => {
                    add(&mut lifelines, from);
                    add(&mut lifelines, to);
                }
                What::Note { on, .. } | What::Fault { on, .. } => add(&mut lifelines, on),
                _ => {}
            }
        }
        Diagram { lifelines, rows }
    }

    /// The rows as text, one line each, for a terminal.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for r in &self.rows {
            let line = match &r.what {
                What::Packet { from, to, label } => format!("{from} -> {to}: {label}"),
                What::Note { on, label } => format!("{on}: {label}"),
                What::Fault { label, .. } => format!("** {label}"),
                What::Step { label, .. } => format!("== {label}"),
                What::Failure { label } => format!("!! {label}"),
                What::Advisory { label } => format!("~~ {label}"),
            };
            let _ = writeln!(out, "{:>9}  {line}", time_label(r.at_ms));
        }
        out
    }
}

/// Rows a diagram draws at most: a browser copes, a person still reads it.
pub const MAX_ROWS: usize = 400;

/// An event of a workload's history as a row; a fault only if it names one
/// of `clients` (on its link) or the broker.
fn row_of(e: &Event, clients: &[String]) -> Option<What> {
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
        },
        Event::Acked { id, .. } => What::Packet {
            from: BROKER.into(),
            to: id.publisher.clone(),
            label: format!("acknowledged {id} (PUBACK / PUBREC)"),
        },
        Event::Completed { id, .. } => What::Packet {
            from: BROKER.into(),
            to: id.publisher.clone(),
            label: format!("PUBCOMP {id}"),
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
        },
        Event::Disconnected {
            client, connection, ..
        } => What::Packet {
            from: client.clone(),
            to: BROKER.into(),
            label: format!("DISCONNECT (connection {connection})"),
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

impl Diagram {
    /// The run's tag, from the client identifiers its CONNECTs carry
    /// (`client_id="gk3x91-sensor"`), if the run was prefixed.
    pub fn run_tag(&self) -> Option<String> {
        self.rows.iter().find_map(|r| match &r.what {
            What::Packet { label, .. } if label.starts_with("CONNECT ") => {
                let id = label.split("client_id=\"").nth(1)?;
                let (tag, _) = id.split_once('-')?;
                (!tag.is_empty() && tag.chars().all(|c| c.is_ascii_alphanumeric()))
                    .then(|| tag.to_owned())
            }
            _ => None,
        })
    }

    /// The same diagram with its run's prefix (`tag`, see
    /// [`Diagram::run_tag`]) taken out of its labels, so it reads as the
    /// scenario does; another run's prefix stays.
    pub fn unprefixed(&self, tag: Option<&str>) -> Diagram {
        let mut d = self.clone();
        for r in &mut d.rows {
            match &mut r.what {
                What::Packet { label, .. }
                | What::Note { label, .. }
                | What::Fault { label, .. }
                | What::Step { label, .. }
                | What::Failure { label }
                | What::Advisory { label } => *label = crate::prefix::unprefixed_as(label, tag),
            }
        }
        d
    }
}

fn is_world(who: &str) -> bool {
    matches!(who, "network" | "broker" | "runner")
}

fn add(list: &mut Vec<String>, name: &str) {
    if !list.iter().any(|n| n == name) {
        list.push(name.to_owned());
    }
}

/// The client a fault's text names (`cut dashboard`, `stall s1 for 2s`).
fn target<'a>(text: &str, clients: &'a [String]) -> Option<&'a str> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == ':')
        .find_map(|word| clients.iter().find(|c| *c == word))
        .map(String::as_str)
}

pub(crate) fn time_label(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::svg::{clip, wrap};
    use super::*;
    use crate::markup::esc;

    fn small_trace() -> Trace {
        let mut t = Trace::default();
        t.push(0, "runner", Kind::Step("step 1: sensor: connect".into()));
        t.push(0, "sensor", Kind::Event("TCP connected".into()));
        t.push(
            0,
            "sensor",
            Kind::Sent("CONNECT v5 client_id=\"sensor\" clean_start=1 keep_alive=60".into()),
        );
        t.push(
            4,
            "sensor",
            Kind::Received("CONNACK session_present=0 reason=0x00".into()),
        );
        t.push(
            4,
            "runner",
            Kind::Step("step 2: network: cut dashboard".into()),
        );
        t.push(4, "network", Kind::Event("cut dashboard".into()));
        t.push(6, "runner", Kind::Step("step 3: sensor: publish".into()));
        t.push(
            6,
            "sensor",
            Kind::Sent("PUBLISH topic=\"a/b\" qos=1 id=1 dup=0 retain=0 payload=\"21.5\"".into()),
        );
        t.push(9, "sensor", Kind::Received("PUBACK id=1".into()));
        t.push(
            9,
            "runner",
            Kind::Step("step 4: dashboard: expect publish".into()),
        );
        t.push(3009, "broker", Kind::Event("crash".into()));
        t.push(
            5009,
            "runner",
            Kind::Failed("expected PUBLISH <a/b>, nothing came within 5000 ms".into()),
        );
        t
    }

    #[test]
    fn a_trace_becomes_lifelines_arrows_faults_and_the_failure() {
        let d = Diagram::from_trace(&small_trace());
        assert_eq!(d.lifelines, ["broker", "sensor"]);
        assert_eq!(
            d.rows[5].what,
            What::Fault {
                on: "broker".into(),
                label: "cut dashboard".into()
            },
            "dashboard has no lifeline of its own, so its cut sits at the broker"
        );
        assert_eq!(
            d.rows[3].what,
            What::Packet {
                from: "broker".into(),
                to: "sensor".into(),
                label: "CONNACK session_present=0 reason=0x00".into()
            }
        );
        let steps: Vec<bool> = d
            .rows
            .iter()
            .filter_map(|r| match r.what {
                What::Step { failed, .. } => Some(failed),
                _ => None,
            })
            .collect();
        assert_eq!(steps, [false, false, false, true], "the last step failed");
        assert!(matches!(d.rows.last().unwrap().what, What::Failure { .. }));
    }

    #[test]
    fn a_small_trace_as_svg() {
        let mut t = small_trace();
        // Give the dashboard a lifeline, so its cut spans its link.
        t.entries.insert(
            1,
            record::trace::Entry {
                at_ms: 0,
                who: "dashboard".into(),
                kind: Kind::Event("TCP connected".into()),
            },
        );
        let d = Diagram::from_trace(&t);
        insta::assert_snapshot!(svg(&d, "example [v5] seed 1 <&>", "d1"));
    }

    #[test]
    fn text_is_escaped_clipped_and_wrapped() {
        assert_eq!(esc("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
    }

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
