//! The evidence of a run: every packet in and out of every client with its
//! simulated time, every fault, every step's outcome.

use std::fmt::{self, Write as _};

use protocol::{Packet, Properties, PropertyValues};

use scenario::values::Payload;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A packet the client sent.
    Sent(String),
    /// A packet the client received.
    Received(String),
    /// Connection events, faults, broker crashes.
    Event(String),
    /// A step started.
    Step(String),
    /// A step failed: what was wrong.
    Failed(String),
    /// An advisory step did not hold: the rule and what came instead.
    Advisory(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub at_ms: u64,
    /// A client's name, `network`, `broker` or `runner`.
    pub who: String,
    pub kind: Kind,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    pub entries: Vec<Entry>,
}

impl Trace {
    pub fn push(&mut self, at_ms: u64, who: &str, kind: Kind) {
        self.entries.push(Entry {
            at_ms,
            who: who.to_owned(),
            kind,
        });
    }

    /// The last `n` entries, rendered.
    pub fn tail(&self, n: usize) -> String {
        let start = self.entries.len().saturating_sub(n);
        render(&self.entries[start..])
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render(&self.entries))
    }
}

fn render(entries: &[Entry]) -> String {
    let width = entries
        .iter()
        .map(|e| e.who.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut out = String::new();
    for e in entries {
        let (arrow, text) = match &e.kind {
            Kind::Sent(t) => ("->", t.as_str()),
            Kind::Received(t) => ("<-", t.as_str()),
            Kind::Event(t) => ("**", t.as_str()),
            Kind::Step(t) => ("==", t.as_str()),
            Kind::Failed(t) => ("!!", t.as_str()),
            Kind::Advisory(t) => ("~~", t.as_str()),
        };
        let _ = writeln!(
            out,
            "{:>5}.{:03}s  {:<width$}  {arrow} {text}",
            e.at_ms / 1000,
            e.at_ms % 1000,
            e.who,
        );
    }
    out
}

/// One line per packet with the fields that matter.
pub fn describe(packet: &Packet) -> String {
    let mut s = String::new();
    let props = |s: &mut String, p: &Properties| {
        if !p.is_empty() {
            let _ = write!(s, " props={{{}}}", describe_properties(p));
        }
    };
    match packet {
        Packet::Connect(c) => {
            let _ = write!(
                s,
                "CONNECT v{} client_id={:?} clean_start={} keep_alive={}",
                c.version, c.client_id, c.clean_start as u8, c.keep_alive
            );
            if let Some(w) = &c.will {
                let _ = write!(
                    s,
                    " will={{topic={:?} qos={} retain={} payload={}",
                    w.topic,
                    w.qos as u8,
                    w.retain as u8,
                    Payload(w.payload.to_vec())
                );
                // The will's own properties (delay, expiry) decide when and
                // how it goes out: shown inside its braces, apart from the
                // CONNECT's.
                props(&mut s, &w.properties);
                s.push('}');
            }
            if let Some(u) = &c.username {
                let _ = write!(s, " username={u:?}");
            }
            props(&mut s, &c.properties);
        }
        Packet::ConnAck(c) => {
            let _ = write!(
                s,
                "CONNACK session_present={} reason={}",
                c.session_present as u8, c.reason
            );
            props(&mut s, &c.properties);
        }
        Packet::Publish(p) => {
            let _ = write!(s, "PUBLISH topic={:?} qos={}", p.topic, p.qos as u8);
            if let Some(id) = p.packet_id {
                let _ = write!(s, " id={id}");
            }
            let _ = write!(
                s,
                " dup={} retain={} payload={}",
                p.dup as u8,
                p.retain as u8,
                Payload(p.payload.to_vec())
            );
            props(&mut s, &p.properties);
        }
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            let _ = write!(s, "{} id={}", packet.packet_type(), a.packet_id);
            if a.reason.0 != 0 {
                let _ = write!(s, " reason={}", a.reason);
            }
            props(&mut s, &a.properties);
        }
        Packet::Subscribe(sub) => {
            let _ = write!(s, "SUBSCRIBE id={}", sub.packet_id);
            for f in &sub.filters {
                let _ = write!(s, " {:?}:{}", f.filter, f.options.qos as u8);
                let o = f.options;
                if o.no_local || o.retain_as_published || o.retain_handling as u8 != 0 {
                    let _ = write!(
                        s,
                        "(nl={} rap={} rh={})",
                        o.no_local as u8, o.retain_as_published as u8, o.retain_handling as u8
                    );
                }
            }
            props(&mut s, &sub.properties);
        }
        Packet::SubAck(a) => {
            let codes: Vec<String> = a.reasons.iter().map(|r| r.to_string()).collect();
            let _ = write!(s, "SUBACK id={} reasons=[{}]", a.packet_id, codes.join(","));
            props(&mut s, &a.properties);
        }
        Packet::Unsubscribe(u) => {
            let _ = write!(s, "UNSUBSCRIBE id={} {:?}", u.packet_id, u.filters);
        }
        Packet::UnsubAck(a) => {
            let codes: Vec<String> = a.reasons.iter().map(|r| r.to_string()).collect();
            let _ = write!(s, "UNSUBACK id={}", a.packet_id);
            if !codes.is_empty() {
                let _ = write!(s, " reasons=[{}]", codes.join(","));
            }
        }
        Packet::PingReq => s.push_str("PINGREQ"),
        Packet::PingResp => s.push_str("PINGRESP"),
        Packet::Disconnect(d) => {
            let _ = write!(s, "DISCONNECT reason={}", d.reason);
            props(&mut s, &d.properties);
        }
        Packet::Auth(a) => {
            let _ = write!(s, "AUTH reason={}", a.reason);
            props(&mut s, &a.properties);
        }
    }
    s
}

fn describe_properties(p: &PropertyValues) -> String {
    let mut parts = Vec::new();
    for (name, value) in scenario::props::to_named(p) {
        parts.push(format!("{name}={value}"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use protocol::{Connect, QoS, Version, Will};

    use super::*;

    fn connect(will_delay: Option<u32>) -> Packet {
        let mut will = Will {
            topic: "maison/cave/etat".into(),
            payload: Bytes::from_static(b"off"),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: Properties::default(),
        };
        will.properties.will_delay_interval = will_delay;
        let mut properties = Properties::default();
        properties.session_expiry_interval = Some(60);
        Packet::Connect(Box::new(Connect {
            version: Version::V5,
            clean_start: true,
            keep_alive: 0,
            properties,
            client_id: "c".into(),
            will: Some(will),
            username: None,
            password: None,
        }))
    }

    #[test]
    fn a_will_shows_its_own_properties_inside_its_braces() {
        let line = describe(&connect(Some(30)));
        assert!(
            line.contains(" payload=\"off\" props={will_delay_interval=30}} props={session_expiry_interval=60}"),
            "{line}"
        );
        let line = describe(&connect(None));
        assert!(
            line.contains(" payload=\"off\"} props={session_expiry_interval=60}"),
            "{line}"
        );
    }
}
