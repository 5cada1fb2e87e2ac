//! Packet identifiers the broker chooses. A scenario writes `id: 1` on a
//! PUBLISH or PUBREL the broker sends, and `send: {puback: 1}` to answer it,
//! but the spec lets a broker pick any identifier not in use (3.1.1
//! §2.3.1, 5.0 §2.2.1):
//! the reference broker counts from 1, aedes starts anywhere. So on those
//! packets a scenario's number names a message, not a value: it stands for
//! whatever identifier the broker gave that message, and the checks that
//! matter still hold — a redelivery (DUP 1) and the PUBREL of a QoS 2 flow
//! must carry the identifier the message first had (MQTT-4.4.0-1 in both
//! versions, "using their original Packet Identifiers"; 5.0's MQTT-4.3.3-4).

use std::collections::BTreeMap;

use protocol::Packet;

use scenario::values::Match;
use scenario::PacketMatch;

#[derive(Clone, Debug, Default)]
pub struct BrokerIds {
    /// The scenario's number -> the broker's identifier.
    bound: BTreeMap<u16, u16>,
}

impl BrokerIds {
    /// `expected` as it applies to `got`: a number on a broker-chosen
    /// identifier becomes the identifier it stands for. An unbound number
    /// takes whatever the broker chose; a bound one must be met again by a
    /// redelivery or a PUBREL, while a new message (DUP 0) may get a new
    /// identifier, since the old one may have been freed.
    pub fn resolve(&self, expected: &PacketMatch, got: &Packet) -> PacketMatch {
        let mut m = expected.clone();
        match (&mut m, got) {
            (PacketMatch::Publish(pm), Packet::Publish(p)) => {
                if let (Match::Is(n), Some(actual)) = (&pm.id, p.packet_id) {
                    let strict = p.dup;
                    pm.id = Match::Is(match self.bound.get(n) {
                        Some(&b) if strict => b,
                        _ => actual,
                    });
                }
            }
            (PacketMatch::PubRel(am), Packet::PubRel(a)) => {
                if let Match::Is(n) = am.id {
                    am.id = Match::Is(self.bound.get(&n).copied().unwrap_or(a.packet_id));
                }
            }
            _ => {}
        }
        m
    }

    /// Remembers what the numbers of `expected` stood for in `got`, which
    /// matched it.
    pub fn bind(&mut self, expected: &PacketMatch, got: &Packet) {
        let (n, actual) = match (expected, got) {
            (PacketMatch::Publish(pm), Packet::Publish(p)) => match (&pm.id, p.packet_id) {
                (Match::Is(n), Some(actual)) => (*n, actual),
                _ => return,
            },
            (PacketMatch::PubRel(am), Packet::PubRel(a)) => match am.id {
                Match::Is(n) => (n, a.packet_id),
                _ => return,
            },
            _ => return,
        };
        // A new message under a freed identifier: the number that had it
        // names an older, settled message.
        self.bound.retain(|k, v| *k == n || *v != actual);
        self.bound.insert(n, actual);
    }

    /// Checks `got` against `expected` as it applies (`resolve`) and, if it
    /// matches, remembers what the numbers stood for (`bind`).
    pub fn take(&mut self, expected: &PacketMatch, got: &Packet) -> Result<(), String> {
        crate::engine::matching::check_packet(&self.resolve(expected, got), got)?;
        self.bind(expected, got);
        Ok(())
    }

    /// The broker's identifier for the scenario's number, for the
    /// acknowledgements a step sends (a number never bound is sent as it
    /// is, so a scenario can still acknowledge an identifier never used).
    pub fn actual(&self, n: u16) -> u16 {
        self.bound.get(&n).copied().unwrap_or(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use protocol::{Ack, Publish, QoS};

    fn publish(id: u16, dup: bool) -> Packet {
        Packet::Publish(Publish {
            dup,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: "t".into(),
            packet_id: Some(id),
            payload: Bytes::from_static(b"x"),
            properties: Default::default(),
        })
    }

    fn expect(yaml: &str) -> PacketMatch {
        let step: scenario::ExpectStep = serde_saphyr::from_str(yaml).unwrap();
        step.packet
    }

    fn take(ids: &mut BrokerIds, m: &PacketMatch, got: &Packet) -> Result<(), String> {
        ids.take(m, got)
    }

    #[test]
    fn a_number_stands_for_the_identifier_the_broker_chose() {
        let mut ids = BrokerIds::default();
        let first = expect("publish: { id: 1 }");
        take(&mut ids, &first, &publish(49308, false)).unwrap();
        assert_eq!(ids.actual(1), 49308, "the client acknowledges the real id");
        assert_eq!(ids.actual(9), 9, "a number never bound is sent as written");
        // The redelivery must keep the identifier (MQTT-4.4.0-1).
        let again = expect("publish: { id: 1, dup: true }");
        take(&mut ids, &again, &publish(49308, true)).unwrap();
        let err = take(&mut ids, &again, &publish(7, true)).unwrap_err();
        assert!(err.contains("id is 7, expected 49308"), "{err}");
        // Its PUBREL too.
        let rel = expect("pubrel: { id: 1 }");
        take(&mut ids, &rel, &Packet::PubRel(Ack::new(49308))).unwrap();
        assert!(take(&mut ids, &rel, &Packet::PubRel(Ack::new(3))).is_err());
    }

    #[test]
    fn a_new_message_may_reuse_a_freed_identifier() {
        let mut ids = BrokerIds::default();
        take(&mut ids, &expect("publish: { id: 1 }"), &publish(5, false)).unwrap();
        take(&mut ids, &expect("publish: { id: 2 }"), &publish(5, false)).unwrap();
        assert_eq!(ids.actual(2), 5);
        assert_eq!(ids.actual(1), 1, "number 1 named the settled message");
    }
}
