//! What became of each packet of a simulated run, from the taps on both
//! ends of its connections ([`super::netlog`]) and what the world did to the
//! links: the same log ([`Carried`]) the fault proxy writes on a real
//! broker, so diagrams draw both alike.
//!
//! Sound, not guessed from timing: TCP hands the receiver a prefix of
//! what the sender wrote, so a packet arrived exactly when the receiver
//! had read past its last byte. One that never arrived went down with the
//! first thing that hit its link after it left: a cut in force or to come
//! (turmoil drops what is in flight and never resends it, and the stream
//! waits for the gap for ever, so every later packet is lost with it), or
//! the receiving end closing (a reset, a crash, a close). An arrival that
//! a stall delayed is held.

use std::collections::BTreeMap;

use bytes::Bytes;
use protocol::{Decoder, Packet, Version};
use record::carried::{Carried, Fate, Toward};
use record::trace::describe;

use super::netlog::{End, LinkChange, Side, Taps};

/// Every packet the taps saw, in the order they were sent.
pub(crate) fn carried(taps: &Taps, version: Version) -> Vec<Carried> {
    // The broker's ends by client address, in the order they were opened:
    // the i-th client end at an address pairs with the i-th broker end.
    let mut accepted: BTreeMap<_, Vec<&End>> = BTreeMap::new();
    for e in taps.ends.iter().filter(|e| e.side == Side::Broker) {
        accepted.entry(e.client_addr).or_default().push(e);
    }
    let mut seen: BTreeMap<_, usize> = BTreeMap::new();
    let mut conns: BTreeMap<&str, u32> = BTreeMap::new();
    let mut out: Vec<(u64, usize, Carried)> = Vec::new();
    for client in taps.ends.iter().filter(|e| e.side == Side::Client) {
        let i = seen.entry(client.client_addr).or_default();
        let broker = accepted
            .get(&client.client_addr)
            .and_then(|ends| ends.get(*i))
            .copied();
        *i += 1;
        let conn = conns.entry(&client.client).or_default();
        *conn += 1;
        let link = Link::of(taps, &client.client);
        let sent = packets(client, version);
        let version = match sent.first() {
            Some((Packet::Connect(c), _)) => c.version,
            _ => version,
        };
        let mut push = |toward, from: Vec<(Packet, Span)>, to: Option<&End>| {
            for (label, span, fate) in fates(from, to, &link) {
                let n = out.len();
                out.push((
                    span.at_ms,
                    n,
                    Carried {
                        client: client.client.clone(),
                        conn: *conn,
                        toward,
                        label,
                        sent_ms: span.at_ms,
                        fate,
                        fired: None,
                    },
                ));
            }
        };
        push(Toward::Broker, sent, broker);
        if let Some(b) = broker {
            push(Toward::Client, packets(b, version), Some(client));
        }
    }
    out.sort_by_key(|(at, n, _)| (*at, *n));
    out.into_iter().map(|(_, _, c)| c).collect()
}

/// Where a packet sits in its sender's stream, and when it left.
#[derive(Clone, Copy, Debug)]
struct Span {
    end: usize,
    at_ms: u64,
}

/// The packets `end` wrote, decoded (what cannot be decoded ends the
/// list: nothing after it can be framed).
fn packets(end: &End, version: Version) -> Vec<(Packet, Span)> {
    let bytes = Bytes::copy_from_slice(&end.written);
    let mut version = version;
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = bytes.slice(at..);
        let Ok(Some((packet, len))) = Decoder::new(version).decode_bytes(&rest) else {
            break;
        };
        if let Packet::Connect(c) = &packet {
            version = c.version;
        }
        // It left with the write that carried its first byte.
        let at_ms = end
            .writes
            .iter()
            .find(|(_, total)| *total > at)
            .map_or(0, |(t, _)| *t);
        at += len;
        out.push((packet, Span { end: at, at_ms }));
    }
    out
}

/// What the world did to one client's link: its cuts and stalls, as
/// (from, until) with `u64::MAX` for one never lifted.
struct Link {
    cuts: Vec<(u64, u64)>,
    holds: Vec<(u64, u64)>,
}

impl Link {
    fn of(taps: &Taps, client: &str) -> Link {
        let mut link = Link {
            cuts: Vec::new(),
            holds: Vec::new(),
        };
        let (mut cut, mut hold) = (None, None);
        for (at, _, change) in taps.links.iter().filter(|(_, c, _)| c == client) {
            match change {
                LinkChange::Cut => {
                    cut.get_or_insert(*at);
                }
                LinkChange::Heal => {
                    if let Some(from) = cut.take() {
                        link.cuts.push((from, *at));
                    }
                }
                LinkChange::Hold => {
                    hold.get_or_insert(*at);
                }
                LinkChange::Release => {
                    if let Some(from) = hold.take() {
                        link.holds.push((from, *at));
                    }
                }
            }
        }
        link.cuts.extend(cut.map(|from| (from, u64::MAX)));
        link.holds.extend(hold.map(|from| (from, u64::MAX)));
        link
    }

    /// The first moment at or after `t` that the link was cut.
    fn cut_after(&self, t: u64) -> Option<u64> {
        self.cuts
            .iter()
            .filter(|(_, until)| *until > t)
            .map(|(from, _)| (*from).max(t))
            .min()
    }

    /// A stall held something sent at `sent` that arrived at `arrived`.
    fn held(&self, sent: u64, arrived: u64) -> bool {
        self.holds
            .iter()
            .any(|(from, until)| *from <= arrived && *until > sent && arrived >= *until)
    }
}

/// Each packet's label, place and fate, given what the receiving end (if
/// it was ever opened) read.
fn fates(
    sent: Vec<(Packet, Span)>,
    receiver: Option<&End>,
    link: &Link,
) -> Vec<(String, Span, Fate)> {
    let mut gap = false;
    sent.into_iter()
        .map(|(packet, span)| {
            let arrived = receiver.and_then(|r| {
                r.reads
                    .iter()
                    .find(|(_, total)| *total >= span.end)
                    .map(|(t, _)| *t)
            });
            let fate = match arrived {
                Some(at_ms) if link.held(span.at_ms, at_ms) => Fate::Held { at_ms },
                Some(at_ms) => Fate::Passed { at_ms },
                // Behind a gap a cut left: the stream never gets past it.
                None if gap => Fate::Lost,
                None => {
                    let cut = link.cut_after(span.at_ms);
                    // A receiver never opened (the broker never accepted)
                    // is a connection that went down at once.
                    let closed = match receiver {
                        Some(r) => r.closed_ms,
                        None => Some(span.at_ms),
                    };
                    match (cut, closed) {
                        (Some(c), Some(r)) if r < c => Fate::Reset,
                        (Some(_), _) => {
                            gap = true;
                            Fate::Lost
                        }
                        (None, Some(_)) => Fate::Reset,
                        (None, None) => Fate::Pending,
                    }
                }
            };
            (describe(&packet), span, fate)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use protocol::{Ack, Connect};

    fn end(side: Side, port: u16) -> End {
        End {
            side,
            client_addr: ([192, 168, 0, 2], port).into(),
            client: "s1".into(),
            written: Vec::new(),
            writes: Vec::new(),
            reads: Vec::new(),
            read_total: 0,
            closed_ms: None,
        }
    }

    fn write(e: &mut End, at: u64, p: &Packet) {
        let mut b = BytesMut::new();
        protocol::encode(p, Version::V5, &mut b).unwrap();
        e.written.extend_from_slice(&b);
        e.writes.push((at, e.written.len()));
    }

    fn read(e: &mut End, at: u64, n: usize) {
        e.read_total += n;
        e.reads.push((at, e.read_total));
    }

    #[test]
    fn a_packet_sent_into_a_cut_is_lost_and_one_held_by_a_stall_arrives_late() {
        let mut client = end(Side::Client, 49152);
        let mut broker = end(Side::Broker, 49152);
        let connect = Packet::Connect(Box::new(Connect {
            version: Version::V5,
            clean_start: true,
            keep_alive: 60,
            properties: Default::default(),
            client_id: "s1".into(),
            will: None,
            username: None,
            password: None,
        }));
        write(&mut client, 0, &connect);
        let n = client.written.len();
        read(&mut broker, 1, n);
        // A PUBACK held by a stall from 10 to 50 ms, then one into a cut.
        write(&mut client, 20, &Packet::PubAck(Ack::new(1)));
        let held = client.written.len() - n;
        read(&mut broker, 51, held);
        write(&mut client, 100, &Packet::PubAck(Ack::new(2)));
        write(&mut client, 120, &Packet::PubAck(Ack::new(3)));
        // The broker's PINGRESP was read by nobody: its client end closed
        // before the cut.
        write(&mut broker, 60, &Packet::PingResp);
        client.closed_ms = Some(70);
        let taps = Taps {
            now_ms: 0,
            ends: vec![client, broker],
            links: vec![
                (10, "s1".into(), LinkChange::Hold),
                (50, "s1".into(), LinkChange::Release),
                (90, "s1".into(), LinkChange::Cut),
            ],
        };
        let c = carried(&taps, Version::V5);
        let fates: Vec<(&str, Toward, &Fate)> = c
            .iter()
            .map(|c| (c.label.as_str(), c.toward, &c.fate))
            .collect();
        assert_eq!(c[0].fate, Fate::Passed { at_ms: 1 });
        assert_eq!(
            fates[1..],
            [
                ("PUBACK id=1", Toward::Broker, &Fate::Held { at_ms: 51 }),
                ("PINGRESP", Toward::Client, &Fate::Reset),
                ("PUBACK id=2", Toward::Broker, &Fate::Lost),
                ("PUBACK id=3", Toward::Broker, &Fate::Lost),
            ]
        );
        assert!(c.iter().all(|c| c.client == "s1" && c.conn == 1));
    }
}

/// Whole simulated runs: the log tells what a cut did.
#[cfg(test)]
mod runs {
    use std::path::Path;

    use record::carried::{Fate, Toward};
    use scenario::VersionName;

    fn run_result(yaml: &str) -> record::script::RunResult {
        let s = scenario::load::load_str(yaml, Path::new("cut.yaml")).expect("loads");
        let r = crate::sim::run(&s, VersionName::V5, 1);
        assert!(r.passed(), "{}", r.trace);
        r
    }

    fn run(yaml: &str) -> Vec<record::carried::Carried> {
        run_result(yaml).carried
    }

    #[test]
    fn a_diagram_of_a_simulated_cut_shows_the_lost_packets() {
        use report::diagram::{Diagram, Net, What};
        let r = run_result(
            r#"
name: both ways into a cut
clients:
  sensor: {}
  dashboard: {}
steps:
  - dashboard: { connect: {} }
  - dashboard: { subscribe: { maison/#: 1 } }
  - sensor: { connect: {} }
  - network: { cut: dashboard }
  - sensor: { publish: { topic: maison/salon/capteurs/temperature, payload: x, qos: 1, await: true } }
  - dashboard: { publish: { topic: maison/cuisine, payload: y, qos: 0 } }
  - wait: 1s
  - network: { heal: dashboard }
"#,
        );
        let d = Diagram::of_run(&r);
        let lost: Vec<(&str, &str)> = d
            .rows
            .iter()
            .filter_map(|row| match &row.what {
                What::Packet {
                    from,
                    label,
                    net: Net::Lost,
                    ..
                } => Some((from.as_str(), label.split(' ').next().unwrap())),
                _ => None,
            })
            .collect();
        // The delivery to the dashboard no client saw, and its own publish.
        assert_eq!(
            lost,
            [("broker", "PUBLISH"), ("dashboard", "PUBLISH")],
            "{}",
            d.text()
        );
        let svg = report::diagram::svg(&d, "cut", "d1");
        assert!(svg.contains("class=\"packet out lost\""), "{svg}");
        assert!(svg.contains("class=\"packet in lost\""), "{svg}");
        assert!(svg.contains("class=\"period cut\""), "{svg}");
        assert!(d.text().contains("[lost to a cut]"), "{}", d.text());
    }

    #[test]
    fn a_publish_sent_into_a_cut_is_lost_and_the_rest_passed() {
        let c = run(r#"
name: a publish into a cut
clients:
  sensor: {}
steps:
  - sensor: { connect: {} }
  - network: { cut: sensor }
  - sensor: { publish: { topic: a/b, payload: x, qos: 1 } }
  - wait: 1s
"#);
        let publish = c
            .iter()
            .find(|c| c.label.starts_with("PUBLISH"))
            .expect("the PUBLISH was written");
        assert_eq!(publish.toward, Toward::Broker);
        assert_eq!(publish.fate, Fate::Lost, "{c:#?}");
        assert!(
            c.iter()
                .filter(|c| !c.label.starts_with("PUBLISH"))
                .all(|c| matches!(c.fate, Fate::Passed { .. })),
            "the CONNECT and CONNACK went through: {c:#?}"
        );
    }

    #[test]
    fn a_pubrel_in_flight_when_the_link_is_cut_is_lost_and_a_stall_holds() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../scenarios/chaos/qos2_pubrel_lost.yaml");
        let c = run(&std::fs::read_to_string(path).unwrap());
        let pubrels: Vec<_> = c
            .iter()
            .filter(|c| c.client == "dashboard" && c.label.starts_with("PUBREL"))
            .collect();
        assert_eq!(pubrels.len(), 2, "{c:#?}");
        assert_eq!((pubrels[0].conn, &pubrels[0].fate), (1, &Fate::Lost));
        assert_eq!(pubrels[1].conn, 2);
        assert!(matches!(pubrels[1].fate, Fate::Passed { .. }));

        let c = run(r#"
name: a stall
clients:
  sensor: {}
steps:
  - sensor: { connect: {} }
  - network: { stall: sensor }
  - sensor: { publish: { topic: a/b, payload: x, qos: 1 } }
  - wait: 1s
  - network: { resume: sensor }
  - sensor: { expect: { puback: {} } }
"#);
        let publish = c.iter().find(|c| c.label.starts_with("PUBLISH")).unwrap();
        let Fate::Held { at_ms } = publish.fate else {
            panic!("{c:#?}");
        };
        assert!(at_ms >= publish.sent_ms + 1000, "{c:#?}");
    }
}
