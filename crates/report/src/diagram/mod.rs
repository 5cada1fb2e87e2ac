//! A run drawn as a sequence diagram: one lifeline for the broker and one
//! per client, packets as arrows with their key fields, faults marked
//! where they fell, steps as dividers and the failing expectation in red.
//!
//! A [`Diagram`] is built from a scripted run's [`Trace`] or from the part
//! of a workload's history around its first violation ([`history`]), and
//! drawn as a self-contained SVG ([`svg`]). Time runs down the page one
//! event per row (a real time axis would spend most of the page on waits);
//! each row shows its time on the left.
//!
//! Where the network's own log is at hand ([`record::carried::Carried`]: the simulator's
//! taps, the fault proxy's log), the diagram shows the network as it was
//! ([`network`]): a packet lost to a cut ends in a cross at the link, one a
//! stall held runs from the row it left to the row it arrived, and cut and
//! stalled periods are shaded on the client's lifeline.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use record::trace::{Kind, Trace};

mod history;
mod network;
mod svg;

pub use network::Period;
pub use svg::{shorten, svg};

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
    /// A packet from one lifeline to another, and what the network did
    /// with it (when known; delivered otherwise).
    Packet {
        from: String,
        to: String,
        label: String,
        #[serde(default, skip_serializing_if = "Net::is_passed")]
        net: Net,
    },
    /// A packet a stall held arrives: the end of the arrow that left at
    /// `sent_ms` (a [`Net::Held`] packet's row).
    Arrival {
        from: String,
        to: String,
        label: String,
        sent_ms: u64,
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

/// What the network did with a packet, as a diagram draws it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fate", rename_all = "snake_case")]
pub enum Net {
    /// Delivered in passing (or nothing says otherwise).
    #[default]
    Passed,
    /// A stall held it: it arrives at `at_ms`, on the [`What::Arrival`]
    /// row there.
    Held { at_ms: u64 },
    /// Dropped by a cut: its arrow ends in a cross at the link.
    Lost,
    /// Its connection went down before it arrived.
    Reset,
    /// Still on its way when the run ended.
    Pending,
}

impl Net {
    pub fn is_passed(&self) -> bool {
        *self == Net::Passed
    }

    /// How the text rendering and the drawing's tooltip say it, if at all.
    pub fn says(&self) -> Option<String> {
        match self {
            Net::Passed => None,
            Net::Held { at_ms } => Some(format!("held, arrives at {}", time_label(*at_ms))),
            Net::Lost => Some("lost to a cut".into()),
            Net::Reset => Some("lost: its connection went down".into()),
            Net::Pending => Some("still on its way at the end".into()),
        }
    }
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
                        net: Net::Passed,
                    },
                    Kind::Received(t) => What::Packet {
                        from: BROKER.into(),
                        to: e.who.clone(),
                        label: t.clone(),
                        net: Net::Passed,
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

    /// A diagram of `rows`, with a lifeline for each one they name, in
    /// order of appearance after the broker.
    fn with_rows(rows: Vec<Row>) -> Diagram {
        let mut lifelines = vec![BROKER.to_owned()];
        for r in &rows {
            match &r.what {
                What::Packet { from, to, .. } | What::Arrival { from, to, .. } => {
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
                What::Packet {
                    from,
                    to,
                    label,
                    net,
                } => match net.says() {
                    Some(said) => format!("{from} -> {to}: {label}  [{said}]"),
                    None => format!("{from} -> {to}: {label}"),
                },
                What::Arrival {
                    from,
                    to,
                    label,
                    sent_ms,
                } => format!(
                    "{from} -> {to}: arrives, held since {}: {label}",
                    time_label(*sent_ms)
                ),
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
                | What::Arrival { label, .. }
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
                label: "CONNACK session_present=0 reason=0x00".into(),
                net: Net::Passed,
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
}
