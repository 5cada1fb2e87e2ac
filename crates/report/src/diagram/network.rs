//! The network as it was, from its own log ([`Carried`]: the simulator's
//! taps, the fault proxy's log) rather than as the clients saw it: which
//! packets a cut lost (a client's trace shows them sent, as if delivered,
//! and never shows the ones the broker sent into the cut), when a packet a
//! stall held arrived, and when each client's link was cut or stalled.

use record::carried::{Carried, Fate, Toward};
use record::history::{Event, History};
use record::script::RunResult;
use record::trace::{Kind, Trace};
use record::violation::Violation;
use record::workload::Outcome;

use super::history::{row_of, story};
use super::{add, Diagram, Net, Row, What, BROKER, MAX_ROWS};

impl Net {
    pub fn of(fate: &Fate) -> Net {
        match fate {
            Fate::Passed { .. } => Net::Passed,
            Fate::Held { at_ms } => Net::Held { at_ms: *at_ms },
            Fate::Lost => Net::Lost,
            Fate::Reset => Net::Reset,
            Fate::Pending => Net::Pending,
        }
    }
}

/// Sender and receiver of a packet on `client`'s link.
fn ends(client: &str, toward: Toward) -> (String, String) {
    match toward {
        Toward::Broker => (client.to_owned(), BROKER.to_owned()),
        Toward::Client => (BROKER.to_owned(), client.to_owned()),
    }
}

/// The rows of a packet that left at `c.sent_ms`: the arrow, and where a
/// stall held it, its arrival (when that is not past `until`).
fn packet_rows(c: &Carried, label: &str, until: u64) -> Vec<Row> {
    let (from, to) = ends(&c.client, c.toward);
    let net = Net::of(&c.fate);
    let mut rows = vec![Row {
        at_ms: c.sent_ms,
        what: What::Packet {
            from: from.clone(),
            to: to.clone(),
            label: label.to_owned(),
            net: net.clone(),
        },
    }];
    if let Net::Held { at_ms } = net {
        if at_ms <= until {
            rows.push(Row {
                at_ms,
                what: What::Arrival {
                    from,
                    to,
                    label: label.to_owned(),
                    sent_ms: c.sent_ms,
                },
            });
        }
    }
    rows
}

/// How far apart the trace and the log may date one packet: in simulation
/// both read the same clock in the same instant; a real broker's proxy
/// sees a packet a moment before or after its client does.
const SLACK_MS: u64 = 100;

/// The packet of the log (not yet `used`) that a trace entry shows: the
/// same client, direction and packet type, written (or read, for one
/// toward the client) at the same moment, else the nearest within
/// `SLACK_MS`.
fn find(
    carried: &[Carried],
    used: &[bool],
    client: &str,
    toward: Toward,
    text: &str,
    at_ms: u64,
) -> Option<usize> {
    let kind = |label: &str| label.split_whitespace().next().map(str::to_owned);
    let want = kind(text);
    carried
        .iter()
        .enumerate()
        .filter(|(k, c)| {
            !used[*k] && c.client == client && c.toward == toward && kind(&c.label) == want
        })
        .filter_map(|(k, c)| {
            let seen = match toward {
                Toward::Broker => Some(c.sent_ms),
                Toward::Client => c.fate.arrived(),
            }?;
            let off = seen.abs_diff(at_ms);
            (off <= SLACK_MS).then_some((off, k))
        })
        .min()
        .map(|(_, k)| k)
}

/// `rows` (in time order) with `extra` merged in by time, each after the
/// rows of its own millisecond: what the trace says first stays first.
fn merge(rows: Vec<Row>, mut extra: Vec<Row>) -> Vec<Row> {
    extra.sort_by_key(|r| r.at_ms);
    let mut extra = extra.into_iter().peekable();
    let mut out = Vec::new();
    for r in rows {
        while let Some(e) = extra.next_if(|e| e.at_ms < r.at_ms) {
            out.push(e);
        }
        out.push(r);
    }
    out.extend(extra);
    out
}

impl Diagram {
    /// A scripted run, drawn with what the network did with its packets
    /// when the run logged it.
    pub fn of_run(run: &RunResult) -> Diagram {
        let d = Diagram::from_trace(&run.trace);
        if run.carried.is_empty() {
            d
        } else {
            d.with_carried(&run.trace, &run.carried)
        }
    }

    /// A workload's violation: from the network's log when the run has
    /// one (so lost and held packets show), else from its history.
    pub fn of_violation(o: &Outcome, v: &Violation) -> Diagram {
        if o.carried.is_empty() {
            Diagram::from_violation(&o.history, v)
        } else {
            Diagram::from_carried(&o.carried, &o.history, v)
        }
    }

    /// This diagram of `trace` (built by [`Diagram::from_trace`], a row per
    /// entry) with the network's log laid over it. Each packet the trace
    /// shows is found in the log by its client, direction and the moment
    /// its client wrote or read it; then a packet sent into a cut is drawn
    /// lost, a packet a stall held runs from the row it left to the row it
    /// arrived, and the packets the broker sent that never arrived (which
    /// no client saw) are added where they left.
    pub fn with_carried(mut self, trace: &Trace, carried: &[Carried]) -> Diagram {
        let mut used = vec![false; carried.len()];
        let mut extra = Vec::new();
        for (i, e) in trace.entries.iter().enumerate() {
            let toward = match e.kind {
                Kind::Sent(_) => Toward::Broker,
                Kind::Received(_) => Toward::Client,
                _ => continue,
            };
            let text = match &e.kind {
                Kind::Sent(t) | Kind::Received(t) => t,
                _ => continue,
            };
            let found = find(carried, &used, &e.who, toward, text, e.at_ms);
            let Some(k) = found else { continue };
            used[k] = true;
            let c = &carried[k];
            let What::Packet { label, net, .. } = &mut self.rows[i].what else {
                continue;
            };
            match (toward, &c.fate) {
                (Toward::Broker, _) => {
                    *net = Net::of(&c.fate);
                    let label = label.clone();
                    extra.extend(packet_rows(c, &label, u64::MAX).into_iter().skip(1));
                }
                // Held on its way to the client: the arrow starts where
                // the broker sent it; the trace's row is its arrival.
                (Toward::Client, Fate::Held { .. }) => {
                    let label = label.clone();
                    let mut rows = packet_rows(c, &label, u64::MAX);
                    self.rows[i].what = rows.pop().expect("a held packet arrives").what;
                    extra.extend(rows);
                }
                (Toward::Client, _) => {}
            }
        }
        for (c, _) in carried
            .iter()
            .zip(&used)
            .filter(|(c, u)| !**u && c.fate.arrived().is_none())
        {
            extra.extend(packet_rows(c, &c.label, u64::MAX));
            add(&mut self.lifelines, &c.client);
        }
        self.rows = merge(std::mem::take(&mut self.rows), extra);
        self
    }

    /// The story of a violation from the network's log: every packet of
    /// the clients involved, as the network carried it, with the faults,
    /// connection losses and restarts of the history, from the same
    /// moment as [`Diagram::from_violation`] to the violation. At most
    /// `MAX_ROWS` rows, the latest kept.
    pub fn from_carried(carried: &[Carried], history: &History, v: &Violation) -> Diagram {
        let (involved, from) = story(history, v);
        let window = from..=v.at;
        // What the history says that is not a packet (the log has those).
        let mut rows: Vec<Row> = history
            .events
            .iter()
            .filter(|e| window.contains(&e.at()))
            .filter(|e| match e {
                Event::Fault { .. } | Event::BrokerRestarted { .. } => true,
                Event::ConnectionLost { client, .. }
                | Event::Takeover { client, .. }
                | Event::Superseded { client, .. }
                | Event::Unanswered { client, .. } => involved.contains(client),
                _ => false,
            })
            .filter_map(|e| {
                row_of(e, &involved).map(|what| Row {
                    at_ms: e.at(),
                    what,
                })
            })
            .collect();
        for c in carried
            .iter()
            .filter(|c| involved.contains(&c.client) && window.contains(&c.sent_ms))
        {
            rows.extend(packet_rows(c, &c.label, v.at));
        }
        // Stable: at one moment, the fault comes before what it hit.
        rows.sort_by_key(|r| r.at_ms);
        rows.push(Row {
            at_ms: v.at,
            what: What::Failure {
                label: format!("{}: {}", v.check, v.what),
            },
        });
        if rows.len() > MAX_ROWS {
            rows.drain(..rows.len() - MAX_ROWS);
        }
        let mut d = Diagram::with_rows(rows);
        // The clients involved have their lifelines even when silent.
        for who in &involved {
            add(&mut d.lifelines, who);
        }
        d
    }

    /// The periods a client's link was cut or stalled, from the faults the
    /// diagram shows: a scripted run's `cut X` / `heal X`, `stall X` /
    /// `resume X`, a workload's `cut X for N ms` / `end of cut X ...`. One
    /// begun before the first row starts at the top; one never lifted
    /// ends at the bottom.
    pub fn periods(&self) -> Vec<Period> {
        let mut open: Vec<Period> = Vec::new();
        let mut done = Vec::new();
        for (i, r) in self.rows.iter().enumerate() {
            let What::Fault { on, label } = &r.what else {
                continue;
            };
            if on == BROKER {
                continue;
            }
            let (stall, begins) = match label.split_whitespace().next() {
                _ if label.starts_with("end of cut ") => (false, false),
                _ if label.starts_with("end of stall ") => (true, false),
                Some("cut") => (false, true),
                Some("heal") => (false, false),
                Some("stall") => (true, true),
                Some("resume") => (true, false),
                _ => continue,
            };
            let at = open.iter().position(|p| p.on == *on && p.stall == stall);
            match (begins, at) {
                (true, None) => open.push(Period {
                    on: on.clone(),
                    stall,
                    from: Some(i),
                    to: None,
                }),
                (true, Some(_)) => {}
                (false, Some(k)) => {
                    let mut p = open.remove(k);
                    p.to = Some(i);
                    done.push(p);
                }
                (false, None) => done.push(Period {
                    on: on.clone(),
                    stall,
                    from: None,
                    to: Some(i),
                }),
            }
        }
        done.extend(open);
        done
    }
}

/// A client's link cut or stalled, from row `from` to row `to` (`None`:
/// from the top, to the bottom).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    pub on: String,
    /// Stalled (held), rather than cut.
    pub stall: bool,
    pub from: Option<usize>,
    pub to: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagram::{shorten, svg};
    use record::history::MsgId;

    fn carried(client: &str, toward: Toward, label: &str, sent_ms: u64, fate: Fate) -> Carried {
        Carried {
            client: client.into(),
            conn: 1,
            toward,
            label: label.into(),
            sent_ms,
            fate,
            fired: None,
        }
    }

    const PUBLISH: &str = "PUBLISH topic=\"maison/salon/capteurs/temperature\" qos=1 id=1 dup=0 retain=0 payload=\"21.5\"";

    /// The sensor publishes into a cut; the broker's PINGRESP to it is lost
    /// too (no client saw it); the dashboard's delivery is held by a stall.
    fn run() -> (Trace, Vec<Carried>) {
        let mut t = Trace::default();
        t.push(
            0,
            "sensor",
            Kind::Sent("CONNECT v5 client_id=\"sensor\"".into()),
        );
        t.push(
            0,
            "dashboard",
            Kind::Sent("CONNECT v5 client_id=\"dashboard\"".into()),
        );
        t.push(
            4,
            "sensor",
            Kind::Received("CONNACK session_present=0 reason=0x00".into()),
        );
        t.push(
            4,
            "dashboard",
            Kind::Received("CONNACK session_present=0 reason=0x00".into()),
        );
        t.push(10, "network", Kind::Event("cut sensor".into()));
        t.push(12, "network", Kind::Event("stall dashboard".into()));
        t.push(20, "sensor", Kind::Sent(PUBLISH.into()));
        t.push(1_018, "network", Kind::Event("resume dashboard".into()));
        t.push(1_020, "dashboard", Kind::Received(PUBLISH.into()));
        t.push(2_000, "network", Kind::Event("heal sensor".into()));
        let passed = |at_ms| Fate::Passed { at_ms };
        let c = vec![
            carried("sensor", Toward::Broker, "CONNECT", 0, passed(1)),
            carried("dashboard", Toward::Broker, "CONNECT", 0, passed(1)),
            carried("sensor", Toward::Client, "CONNACK", 3, passed(4)),
            carried("dashboard", Toward::Client, "CONNACK", 3, passed(4)),
            carried(
                "dashboard",
                Toward::Client,
                PUBLISH,
                14,
                Fate::Held { at_ms: 1_020 },
            ),
            carried("sensor", Toward::Broker, PUBLISH, 20, Fate::Lost),
            carried("sensor", Toward::Client, "PINGRESP", 500, Fate::Lost),
        ];
        (t, c)
    }

    fn nets(d: &Diagram) -> Vec<(u64, &str, &str, &Net)> {
        d.rows
            .iter()
            .filter_map(|r| match &r.what {
                What::Packet { from, to, net, .. } => {
                    Some((r.at_ms, from.as_str(), to.as_str(), net))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_diagram_of_a_cut_shows_the_lost_packets_and_a_held_one_where_it_arrives() {
        let (t, c) = run();
        let plain = Diagram::from_trace(&t);
        assert!(nets(&plain).iter().all(|(.., n)| **n == Net::Passed));
        let d = plain.with_carried(&t, &c);
        assert_eq!(
            nets(&d),
            [
                (0, "sensor", "broker", &Net::Passed),
                (0, "dashboard", "broker", &Net::Passed),
                (4, "broker", "sensor", &Net::Passed),
                (4, "broker", "dashboard", &Net::Passed),
                (14, "broker", "dashboard", &Net::Held { at_ms: 1_020 }),
                (20, "sensor", "broker", &Net::Lost),
                // Sent by the broker into the cut: no client saw it.
                (500, "broker", "sensor", &Net::Lost),
            ]
        );
        let arrival = d
            .rows
            .iter()
            .position(|r| matches!(r.what, What::Arrival { .. }))
            .expect("the held delivery arrives");
        assert_eq!(d.rows[arrival].at_ms, 1_020);
        assert_eq!(
            d.rows[arrival - 1].what,
            What::Fault {
                on: "dashboard".into(),
                label: "resume dashboard".into()
            },
            "it arrives once the stall is over"
        );

        let text = d.text();
        assert!(
            text.contains(&format!("sensor -> broker: {PUBLISH}  [lost to a cut]")),
            "{text}"
        );
        assert!(
            text.contains("0.500s  broker -> sensor: PINGRESP  [lost to a cut]"),
            "{text}"
        );
        assert!(
            text.contains("broker -> dashboard: arrives, held since 0.014s"),
            "{text}"
        );

        let periods = d.periods();
        let at = |i: Option<usize>| i.map(|i| d.rows[i].at_ms);
        let spans: Vec<(&str, bool, Option<u64>, Option<u64>)> = periods
            .iter()
            .map(|p| (p.on.as_str(), p.stall, at(p.from), at(p.to)))
            .collect();
        assert_eq!(
            spans,
            [
                ("dashboard", true, Some(12), Some(1_018)),
                ("sensor", false, Some(10), Some(2_000))
            ]
        );

        let svg = svg(&d, "cut", "d1");
        // The lost publish: its arrow stops at the link, in a cross.
        let lost = svg
            .lines()
            .find(|l| l.contains("class=\"packet out lost\""))
            .expect("a lost packet is drawn");
        assert!(lost.contains("class=\"cross\""), "{lost}");
        assert!(!lost.contains("marker-end"), "no arrowhead: {lost}");
        assert_eq!(svg.matches("class=\"cross\"").count(), 2);
        // The held delivery: from the row it left down to its arrival.
        let held = svg
            .lines()
            .find(|l| l.contains("class=\"packet in held\""))
            .expect("a held packet is drawn");
        let num = |key: &str| -> u32 {
            let at = held.find(&format!(" {key}=\"")).unwrap() + key.len() + 3;
            held[at..].split('"').next().unwrap().parse().unwrap()
        };
        let arrival_y = svg
            .lines()
            .find(|l| l.contains("class=\"arrival\""))
            .and_then(|l| l.split("cy=\"").nth(1))
            .and_then(|v| v.split('"').next())
            .map(|v| v.parse::<u32>().unwrap())
            .unwrap();
        assert!(num("y2") > num("y1"), "{held}");
        assert_eq!(num("y2"), arrival_y, "it ends on its arrival row");
        assert!(svg.contains("class=\"period cut\""));
        assert!(svg.contains("class=\"period stalled\""));
        insta::assert_snapshot!(svg);
    }

    #[test]
    fn a_workload_violation_is_drawn_from_the_network_log() {
        let id = MsgId {
            publisher: "p1".into(),
            seq: 7,
            will: false,
        };
        let mut h = History::default();
        h.push(Event::Published {
            at: 1_000,
            id: id.clone(),
            topic: "t/1".into(),
            qos: 1,
            retain: false,
            expiry: None,
        });
        h.push(Event::Fault {
            at: 1_100,
            what: "cut s1 for 2000 ms".into(),
        });
        h.push(Event::Fault {
            at: 3_100,
            what: "end of cut s1 for 2000 ms from 1.100s".into(),
        });
        let publish = "PUBLISH topic=\"t/1\" qos=1 id=3 dup=0 retain=0 payload=\"p1#7\"";
        let c = vec![
            carried(
                "p1",
                Toward::Broker,
                publish,
                1_000,
                Fate::Passed { at_ms: 1_002 },
            ),
            carried(
                "p1",
                Toward::Client,
                "PUBACK id=3",
                1_003,
                Fate::Passed { at_ms: 1_005 },
            ),
            carried("s1", Toward::Client, publish, 1_200, Fate::Lost),
            // Another client's traffic is not part of the story.
            carried(
                "s2",
                Toward::Client,
                publish,
                1_200,
                Fate::Passed { at_ms: 1_201 },
            ),
        ];
        let v = Violation {
            check: "at_least_once",
            message: Some(id),
            publisher: Some("p1".into()),
            subscriber: Some("s1".into()),
            at: 30_000,
            what: "p1#7 was never delivered to s1".into(),
            faults: vec![],
        };
        let d = Diagram::from_carried(&c, &h, &v);
        assert_eq!(d.lifelines, ["broker", "p1", "s1"]);
        assert_eq!(
            nets(&d),
            [
                (1_000, "p1", "broker", &Net::Passed),
                (1_003, "broker", "p1", &Net::Passed),
                (1_200, "broker", "s1", &Net::Lost),
            ]
        );
        assert_eq!(d.periods().len(), 1, "the cut is shaded on s1");
        assert!(matches!(d.rows.last().unwrap().what, What::Failure { .. }));
        let svg = svg(&d, "w", "w1");
        assert!(svg.contains("class=\"packet in lost\""));
        assert!(svg.contains("class=\"period cut\""));
    }

    #[test]
    fn a_short_label_keeps_type_qos_dup_retain_and_id_and_the_topic_ends() {
        let long = "PUBLISH topic=\"maison/salon/capteurs/temperature\" qos=1 id=12 dup=1 retain=1 payload=\"21.5\" props={message_expiry_interval=10}";
        assert_eq!(shorten(long, 200), long);
        for max in [90, 70, 64, 50, 20] {
            let s = shorten(long, max);
            assert!(s.chars().count() <= max.max(48), "{s}");
            for field in ["PUBLISH ", "qos=1", "id=12", "dup=1", "retain=1"] {
                assert!(s.contains(field), "{max}: {s} lost {field}");
            }
            assert!(s.contains("topic=\"m") && s.contains("e\" qos=1"), "{s}");
        }
        assert_eq!(
            shorten(long, 90),
            "PUBLISH topic=\"maison/…/temperature\" qos=1 id=12 dup=1 retain=1 payload=\"21.5\" …"
        );
        assert_eq!(
            shorten(long, 65),
            "PUBLISH topic=\"maison/…/temperature\" qos=1 id=12 dup=1 retain=1 …"
        );
        assert_eq!(
            shorten(long, 64),
            "PUBLISH topic=\"maison/sa…mperature\" qos=1 id=12 dup=1 retain=1 …"
        );
    }
}
