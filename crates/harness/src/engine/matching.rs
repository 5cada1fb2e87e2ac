//! Whether a packet is the one a step expects, and if not, what differs:
//! every field of the expectation compared, each difference named.

use protocol::Packet;
use record::trace::describe;
use scenario::props;
use scenario::values::{Match, Payload, Reason};
use scenario::PacketMatch;

type StepResult = Result<(), String>;

pub(super) fn codes(c: &[u8]) -> String {
    let items: Vec<String> = c.iter().map(|b| format!("0x{b:02X}")).collect();
    format!("[{}]", items.join(", "))
}

fn field<T: PartialEq + std::fmt::Display>(
    name: &str,
    expected: &Match<T>,
    actual: Option<&T>,
) -> Result<(), String> {
    match (expected, actual) {
        (Match::Any, _) | (Match::Absent, None) | (Match::Present, Some(_)) => Ok(()),
        (Match::Absent, Some(v)) if v.to_string() == "\"absent\"" => Err(format!(
            "{name} is {v}, expected absent (no value); the string \"absent\" is written {{is: absent}}"
        )),
        (Match::Absent, Some(v)) => Err(format!("{name} is {v}, expected absent")),
        (Match::Present, None) => Err(format!("{name} is absent, expected present")),
        (Match::Is(want), Some(v)) if v == want => Ok(()),
        (Match::Is(want), Some(v)) => Err(format!("{name} is {v}, expected {want}")),
        (Match::Is(want), None) => Err(format!("{name} is absent, expected {want}")),
        (Match::Between(lo, hi), Some(v)) => match v.to_string().parse::<u64>() {
            Ok(n) if (*lo..=*hi).contains(&n) => Ok(()),
            _ => Err(format!("{name} is {v}, expected between {lo} and {hi}")),
        },
        (Match::Between(lo, hi), None) => Err(format!(
            "{name} is absent, expected between {lo} and {hi}"
        )),
        (Match::OneOf(list), Some(v)) if list.contains(v) => Ok(()),
        (Match::OneOf(list), v) => Err(format!(
            "{name} is {}, expected one of {}",
            v.map_or("absent".to_owned(), |v| v.to_string()),
            list.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
        )),
    }
}

struct Bits(bool);

impl std::fmt::Display for Bits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", u8::from(self.0))
    }
}

/// Checks a received packet against an expectation; the error names every
/// field that differs.
pub fn check_packet(expected: &PacketMatch, got: &Packet) -> StepResult {
    let mismatch = |problems: Vec<String>| -> StepResult {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{}; received {}",
                problems.join(", "),
                describe(got)
            ))
        }
    };
    let mut problems = Vec::new();
    let mut note = |r: Result<(), String>| {
        if let Err(e) = r {
            problems.push(e);
        }
    };
    match (expected, got) {
        (PacketMatch::ConnAck(m), Packet::ConnAck(a)) => {
            note(field(
                "session_present",
                &bool_match(&m.session_present),
                Some(&Bits(a.session_present)),
            ));
            note(field("reason", &m.reason, Some(&Reason(a.reason.0))));
            note(props::check(&m.properties, &a.properties));
        }
        (PacketMatch::Publish(m), Packet::Publish(p)) => {
            note(field(
                "topic",
                &m.topic.clone().map_display(),
                Some(&Quoted(p.topic.clone())),
            ));
            note(field(
                "payload",
                &m.payload,
                Some(&Payload(p.payload.to_vec())),
            ));
            note(field("qos", &m.qos, Some(&(p.qos as u8))));
            note(field(
                "retain",
                &bool_match(&m.retain),
                Some(&Bits(p.retain)),
            ));
            note(field("dup", &bool_match(&m.dup), Some(&Bits(p.dup))));
            note(field("id", &m.id, p.packet_id.as_ref()));
            note(props::check(&m.properties, &p.properties));
        }
        (PacketMatch::PubAck(m), Packet::PubAck(a))
        | (PacketMatch::PubRec(m), Packet::PubRec(a))
        | (PacketMatch::PubRel(m), Packet::PubRel(a))
        | (PacketMatch::PubComp(m), Packet::PubComp(a)) => {
            note(field("id", &m.id, Some(&a.packet_id)));
            note(field("reason", &m.reason, Some(&Reason(a.reason.0))));
        }
        (PacketMatch::SubAck(m), Packet::SubAck(a)) => {
            note(field("id", &m.id, Some(&a.packet_id)));
            let got: Vec<u8> = a.reasons.iter().map(|r| r.0).collect();
            note(reasons_field(&m.reasons, &got));
        }
        (PacketMatch::UnsubAck(m), Packet::UnsubAck(a)) => {
            note(field("id", &m.id, Some(&a.packet_id)));
            let got: Vec<u8> = a.reasons.iter().map(|r| r.0).collect();
            note(reasons_field(&m.reasons, &got));
        }
        (PacketMatch::PingResp, Packet::PingResp) => {}
        (PacketMatch::Disconnect(m), Packet::Disconnect(d)) => {
            note(field("reason", &m.reason, Some(&Reason(d.reason.0))));
        }
        (PacketMatch::Auth(m), Packet::Auth(a)) => {
            note(field("reason", &m.reason, Some(&Reason(a.reason.0))));
            note(props::check(&m.properties, &a.properties));
        }
        (m, got) => {
            return Err(format!("expected {}, received {}", m.name(), describe(got)));
        }
    }
    mismatch(problems).map_err(|e| format!("{} differs: {e}", expected.name()))
}

fn reasons_field(expected: &Match<Vec<Reason>>, got: &[u8]) -> StepResult {
    match expected {
        Match::Any => Ok(()),
        Match::Absent if got.is_empty() => Ok(()),
        Match::Absent => Err(format!("reasons are {}, expected none", codes(got))),
        Match::Present if got.is_empty() => Err("reasons are absent, expected present".into()),
        Match::Present => Ok(()),
        Match::Between(..) => Err("reasons are a list; `between` is for numbers".into()),
        Match::OneOf(lists) => {
            let wants: Vec<Vec<u8>> = lists
                .iter()
                .map(|l| l.iter().map(|r| r.0).collect())
                .collect();
            if wants.iter().any(|w| w == got) {
                Ok(())
            } else {
                let shown: Vec<String> = wants.iter().map(|w| codes(w)).collect();
                Err(format!(
                    "reasons are {}, expected one of {}",
                    codes(got),
                    shown.join(", ")
                ))
            }
        }
        Match::Is(want) => {
            let want: Vec<u8> = want.iter().map(|r| r.0).collect();
            if want == got {
                Ok(())
            } else {
                Err(format!(
                    "reasons are {}, expected {}",
                    codes(got),
                    codes(&want)
                ))
            }
        }
    }
}

fn bool_match(m: &Match<bool>) -> Match<Bits> {
    match m {
        Match::Any => Match::Any,
        Match::Absent => Match::Absent,
        Match::Present => Match::Present,
        Match::Is(b) => Match::Is(Bits(*b)),
        Match::Between(lo, hi) => Match::Between(*lo, *hi),
        Match::OneOf(list) => Match::OneOf(list.iter().map(|b| Bits(*b)).collect()),
    }
}

impl PartialEq for Bits {
    fn eq(&self, other: &Bits) -> bool {
        self.0 == other.0
    }
}

#[derive(PartialEq)]
struct Quoted(String);

impl std::fmt::Display for Quoted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

trait MapDisplay {
    fn map_display(self) -> Match<Quoted>;
}

impl MapDisplay for Match<String> {
    fn map_display(self) -> Match<Quoted> {
        match self {
            Match::Any => Match::Any,
            Match::Absent => Match::Absent,
            Match::Present => Match::Present,
            Match::Is(s) => Match::Is(Quoted(s)),
            Match::Between(lo, hi) => Match::Between(lo, hi),
            Match::OneOf(list) => Match::OneOf(list.into_iter().map(Quoted).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use protocol::{Properties, Publish, QoS};
    use scenario::ClientAction;

    use super::*;

    fn publish_match(yaml: &str) -> PacketMatch {
        match serde_saphyr::from_str::<ClientAction>(&format!("expect: {{ {yaml} }}")).unwrap() {
            ClientAction::Expect(e) => e.packet,
            other => panic!("not an expect: {other:?}"),
        }
    }

    fn publish(expiry: Option<u32>, id: u16) -> Packet {
        let mut properties = Properties::default();
        properties.message_expiry_interval = expiry;
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: "t".into(),
            packet_id: Some(id),
            properties,
            payload: Bytes::from_static(b"x"),
        })
    }

    #[test]
    fn between_accepts_a_range_of_numbers() {
        let m = publish_match(
            "publish: { id: { between: [1, 3] }, properties: { message_expiry_interval: { between: [56, 57] } } }",
        );
        assert_eq!(check_packet(&m, &publish(Some(56), 1)), Ok(()));
        assert_eq!(check_packet(&m, &publish(Some(57), 3)), Ok(()));
        let e = check_packet(&m, &publish(Some(58), 4)).unwrap_err();
        assert!(e.contains("id is 4, expected between 1 and 3"), "{e}");
        assert!(
            e.contains("property message_expiry_interval is 58, expected between 56 and 57"),
            "{e}"
        );
        let e = check_packet(&m, &publish(None, 2)).unwrap_err();
        assert!(
            e.contains("property message_expiry_interval is absent, expected between 56 and 57"),
            "{e}"
        );
    }

    #[test]
    fn a_backwards_range_is_refused() {
        let e = serde_saphyr::from_str::<ClientAction>(
            "expect: { publish: { id: { between: [3, 1] } } }",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("the low end comes first"), "{e}");
    }
}
