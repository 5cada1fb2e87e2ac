//! The malformed-packet table: every rule the decoder enforces on what a
//! client sends, applied to every packet type it applies to, as bytes a
//! scenario can send ([`crate::template`], with the names marked so a run on
//! a shared broker can prefix them). A broker must refuse each row; the
//! decoder must too (its tests check every row against it), and the rule,
//! the statement it cites and the 5.0 reason code come from the decoder, so
//! the table and the codec cannot drift apart.
//!
//! Rows are generated, per version: reserved fixed-header bits, Remaining
//! Lengths wrong for the type (and, in 5.0, not minimal), QoS 3, the
//! packets only a server sends, reserved packet types, a second CONNECT,
//! reason codes no acknowledgement has, 5.0 properties with an invalid
//! value, in the wrong packet or repeated, malformed UTF-8, U+0000 and
//! surrogates in every string field, malformed `$share` filters and
//! wildcards where a topic name stands.

mod fields;

use crate::decode::decode_exact;
use crate::template::Template;
use crate::types::{PacketType, Version};

/// How the bad packet is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// As the connection's first packet, in place of a CONNECT.
    First,
    /// After a good CONNECT and its CONNACK.
    Connected,
}

/// What the broker must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Close the connection without acting on the packet.
    Close,
    /// The rule binds the sender; what a receiver does is not prescribed:
    /// a broker that goes on is reported, as an advisory with this reason.
    Advisory(&'static str),
}

/// One malformed packet.
#[derive(Clone, Debug)]
pub struct Row {
    /// `PUBACK flags 0100`: the packet and what is wrong with it; unique
    /// within a version.
    pub label: String,
    pub version: Version,
    pub sent: Sent,
    /// The bytes, as a template (names marked, lengths worked out).
    pub template: String,
    pub expect: Expect,
    /// The rule broken: a statement id (`MQTT-3.3.1-4`) or a section
    /// (`MQTT 5.0 §2.2.2.2`) where the rule has no number.
    pub rule: String,
    /// The 5.0 Reason Code the broker should give.
    pub reason: u8,
    /// The decoder's own refusal, where the bytes alone are malformed
    /// (`None` for a packet only the connection's state makes wrong).
    pub decoded: Option<String>,
    /// A broker that takes the packet must forward the offending field as
    /// it is (MQTT-3.3.2-4, -3.3.2-15): what it forwards is no fault of its
    /// own, so only the will is watched for.
    pub forwarded_as_is: bool,
    /// Statements the run asserts besides `rule`: the receiver's side of a
    /// rule the decoder cites for the sender (3.1.1 MQTT-2.2.2-2 for
    /// MQTT-2.2.2-1), or what the field is bound by as well.
    pub also: Vec<&'static str>,
    /// A broker that takes it would keep what no clean-up can remove (a
    /// retained message on a topic no valid PUBLISH can name): the run
    /// needs a broker of its own.
    pub own_broker: bool,
}

/// A row before the decoder has been asked about it.
struct Draft {
    /// The row, its rule, reason code and refusal still to be read from
    /// the decoder.
    row: Row,
    /// For a packet the decoder accepts: the rule and reason code.
    state: Option<(&'static str, u8)>,
}

const PROTOCOL_ERROR: u8 = 0x82;

/// Why a row is only an advisory: the rule binds the sender, and no rule
/// says the receiver must refuse the packet.
const TRAILING: &str =
    "the packet's length is fixed by its format (3.1.1: 'this has the value 2'; \
    5.0: nothing follows the properties) but no rule says a receiver must close on bytes over it";
const NOT_MINIMAL: &str = "MQTT-1.5.5-1 binds the sender (the minimum number of bytes); \
    no rule says a receiver must refuse a longer encoding";
const FORMAT_INDICATOR: &str = "5.0 §3.3.2.3.2 defines the values 0 and 1; \
    no rule calls another a Protocol Error or a Malformed Packet";
const RESPONSE_WILDCARD: &str = "MQTT-3.3.2-14 binds the sender; \
    no rule says what a receiver does with a wildcard in a Response Topic";

/// Every row of `version`, in a fixed order.
pub fn rows(version: Version) -> Vec<Row> {
    let mut g = Gen {
        v: version,
        out: Vec::new(),
    };
    g.fixed_header();
    g.remaining_length();
    g.not_a_client_packet();
    g.strings();
    g.topics_and_filters();
    if version == Version::V5 {
        g.reason_codes();
        g.properties();
    }
    g.out
        .into_iter()
        .map(|Draft { mut row, state }| {
            let bytes = Template::parse(&row.template)
                .and_then(|t| t.render())
                .unwrap_or_else(|e| {
                    panic!("row {:?}: template {:?}: {e}", row.label, row.template)
                });
            let refused = decode_exact(&bytes, version).err();
            (row.rule, row.reason) = match (&refused, state) {
                (Some(e), _) => (e.rule.to_string(), e.reason_code().0),
                (None, Some((rule, reason))) => (rule.to_string(), reason),
                (None, None) => (String::new(), 0),
            };
            row.decoded = refused.map(|e| e.kind.to_string());
            row
        })
        .collect()
}

struct Gen {
    v: Version,
    out: Vec<Draft>,
}

/// The three ways a string goes wrong (MQTT-1.5.3-1/-2, 5.0 MQTT-1.5.4-1/-2).
const BAD_STRINGS: [(&str, &str); 3] = [
    ("C3 28", "ill-formed UTF-8 C3 28"),
    ("00", "U+0000"),
    ("ED A0 80", "surrogate U+D800"),
];

impl Gen {
    fn v5(&self) -> bool {
        self.v == Version::V5
    }

    /// `{props …}` in 5.0, nothing in 3.1.1.
    fn props(&self, p: &str) -> String {
        if self.v5() {
            format!("{{props {p}}}")
        } else {
            String::new()
        }
    }

    fn level(&self) -> &'static str {
        if self.v5() {
            "05"
        } else {
            "04"
        }
    }

    /// A CONNECT with these flags and fields (`props` only in 5.0).
    fn connect_with(&self, first: &str, flags: u8, props: &str, payload: &str) -> String {
        format!(
            "{first} {{len}} {{str 'MQTT'}} {} {flags:02X} 00 3C {} {payload}",
            self.level(),
            self.props(props)
        )
    }

    /// A clean-start CONNECT with client id `bad`.
    fn connect(&self) -> String {
        self.connect_with("10", 0x02, "", "{client_id 'bad'}")
    }

    /// A QoS 1 retained PUBLISH to `m/t` (so that one acted on is seen by a
    /// subscriber, a later subscriber, and as a PUBACK).
    fn publish(&self, first: &str, topic: &str, props: &str) -> String {
        format!(
            "{first} {{len}} {{topic {topic}}} 00 01 {} 'x'",
            self.props(props)
        )
    }

    fn subscribe(&self, first: &str, props: &str, filter: &str, options: &str) -> String {
        format!(
            "{first} {{len}} 00 01 {} {{filter {filter}}} {options}",
            self.props(props)
        )
    }

    fn unsubscribe(&self, first: &str, filter: &str) -> String {
        format!(
            "{first} {{len}} 00 01 {} {{filter {filter}}}",
            self.props("")
        )
    }

    /// PUBACK, PUBREC, PUBREL or PUBCOMP of packet id 1.
    fn ack(&self, first: &str) -> String {
        format!("{first} {{len}} 00 01")
    }

    fn add(&mut self, label: String, sent: Sent, template: String) {
        self.out.push(Draft {
            row: Row {
                label,
                version: self.v,
                sent,
                template,
                expect: Expect::Close,
                rule: String::new(),
                reason: 0,
                decoded: None,
                forwarded_as_is: false,
                also: Vec::new(),
                own_broker: false,
            },
            state: None,
        });
    }

    /// A packet the decoder takes, wrong only for the connection's state.
    fn add_state(
        &mut self,
        label: String,
        sent: Sent,
        template: String,
        rule: &'static str,
        reason: u8,
    ) {
        self.add(label, sent, template);
        self.last().state = Some((rule, reason));
    }

    /// The row just added.
    fn last(&mut self) -> &mut Draft {
        self.out.last_mut().expect("a row was added")
    }

    /// The row just added is only an advisory.
    fn advisory(&mut self, why: &'static str) {
        self.last().row.expect = Expect::Advisory(why);
    }

    /// The row just added also asserts these statements.
    fn cite(&mut self, ids: &[&'static str]) {
        self.last().row.also.extend_from_slice(ids);
    }

    /// The row just added needs a broker of its own.
    fn own_broker(&mut self) {
        self.last().row.own_broker = true;
    }

    /// The row just added is forwarded as it is by a broker that takes it.
    fn forwarded_as_is(&mut self) {
        self.last().row.forwarded_as_is = true;
    }

    fn advise(&mut self, label: String, template: String, why: &'static str) {
        self.add(label, Sent::Connected, template);
        self.advisory(why);
    }

    /// Each packet type a client sends, with how it is sent and the
    /// fixed-header flags it must carry.
    fn client_packets(&self) -> Vec<(PacketType, Sent, u8)> {
        use PacketType as T;
        let mut types = vec![
            T::Connect,
            T::PubAck,
            T::PubRec,
            T::PubRel,
            T::PubComp,
            T::Subscribe,
            T::Unsubscribe,
            T::PingReq,
            T::Disconnect,
        ];
        if self.v5() {
            types.push(T::Auth);
        }
        types
            .into_iter()
            .map(|t| {
                let sent = if t == T::Connect {
                    Sent::First
                } else {
                    Sent::Connected
                };
                (t, sent, t.required_flags().unwrap_or(0))
            })
            .collect()
    }

    /// The packet of type `t` whose fixed header's first byte is `first`.
    fn body(&self, t: PacketType, first: &str) -> String {
        use PacketType as T;
        match t {
            T::Connect => self.connect_with(first, 0x02, "", "{client_id 'bad'}"),
            T::Subscribe => self.subscribe(first, "", "'m/s'", "01"),
            T::Unsubscribe => self.unsubscribe(first, "'m/s'"),
            T::PingReq | T::Disconnect => format!("{first} {{len}}"),
            // AUTH needs a method; the broker's state refuses it anyway,
            // but its flags are checked first.
            T::Auth => format!("{first} {{len}} 18 {{props 15 {{str 'x'}}}}"),
            // PUBACK, PUBREC, PUBREL, PUBCOMP.
            _ => self.ack(first),
        }
    }

    fn fixed_header(&mut self) {
        for (ty, sent, flags) in self.client_packets() {
            // A client that forgets the 0010 of SUBSCRIBE, UNSUBSCRIBE
            // and PUBREL sends 0000.
            let mut wrong = vec![flags ^ 0b0001, flags ^ 0b1000];
            if flags == 0b0010 {
                wrong.insert(0, 0);
            }
            let name = ty.name();
            for bad in wrong {
                let first = format!("{:02X}", (ty as u8) << 4 | bad);
                let t = self.body(ty, &first);
                self.add(format!("{name} flags {bad:04b}"), sent, t);
                if !self.v5() {
                    // The receiver's half of MQTT-2.2.2-1.
                    self.cite(&["MQTT-2.2.2-2"]);
                }
            }
        }
        // QoS 3, with and without DUP and RETAIN (MQTT-3.3.1-4).
        for flags in [0b0110, 0b1111] {
            let t = self.publish(&format!("3{flags:X}"), "'m/t'", "");
            self.add(
                format!("PUBLISH flags {flags:04b} (QoS 3)"),
                Sent::Connected,
                t,
            );
        }
        // DUP on QoS 0 breaks a rule of the sender (MQTT-3.3.1-2) and no
        // rule says what the receiver does.
        let t = format!("39 {{len}} {{topic 'm/t'}} {} 'x'", self.props(""));
        self.advise(
            "PUBLISH flags 1001 (DUP on QoS 0)".into(),
            t,
            "MQTT-3.3.1-2 binds the sender (DUP MUST be 0 on QoS 0); no rule says what a receiver does",
        );
    }

    fn remaining_length(&mut self) {
        // A Remaining Length of five bytes (3.1.1 §2.2.3, 5.0 §1.5.5).
        self.add(
            "PUBLISH Remaining Length of 5 bytes".into(),
            Sent::Connected,
            "30 FF FF FF FF 7F".into(),
        );
        let ack_extra = if self.v5() {
            "00 01 00 00 00"
        } else {
            "00 01 00"
        };
        for (name, first) in [
            ("PUBACK", "40"),
            ("PUBREC", "50"),
            ("PUBREL", "62"),
            ("PUBCOMP", "70"),
        ] {
            self.add(
                format!("{name} one byte short"),
                Sent::Connected,
                format!("{first} {{len}} 00"),
            );
            self.add(
                format!("{name} one byte over"),
                Sent::Connected,
                format!("{first} {{len}} {ack_extra}"),
            );
            self.advisory(TRAILING);
        }
        self.add(
            "PINGREQ one byte over".into(),
            Sent::Connected,
            "C0 {len} 00".into(),
        );
        self.advisory(TRAILING);
        let disconnect_extra = if self.v5() { "00 00 00" } else { "00" };
        self.add(
            "DISCONNECT one byte over".into(),
            Sent::Connected,
            format!("E0 {{len}} {disconnect_extra}"),
        );
        self.advisory(TRAILING);
        let t = self.subscribe("82", "", "'m/s'", "");
        self.add(
            "SUBSCRIBE without its options byte".into(),
            Sent::Connected,
            t,
        );
        let t = self.subscribe("82", "", "'m/s'", "01 00");
        self.add("SUBSCRIBE one byte over".into(), Sent::Connected, t);
        let t = format!("{} 00", self.unsubscribe("A2", "'m/s'"));
        self.add("UNSUBSCRIBE one byte over".into(), Sent::Connected, t);
        self.add(
            "PUBLISH cut in its packet identifier".into(),
            Sent::Connected,
            "32 {len} {topic 'm/t'} 00".into(),
        );
        let t = format!("10 {{len}} {{str 'MQTT'}} {} 02 00", self.level());
        self.add("CONNECT cut in its Keep Alive".into(), Sent::First, t);
        let t = format!("{} 00", self.connect());
        self.add("CONNECT one byte over".into(), Sent::First, t);
        if !self.v5() {
            // 3.1.1 states no rule that the Remaining Length be minimal.
            return;
        }
        for (ty, sent, flags) in self.client_packets() {
            let first = format!("{:02X}", (ty as u8) << 4 | flags);
            let t = self.body(ty, &first).replacen("{len}", "{len:2}", 1);
            self.add(
                format!("{} Remaining Length not minimal", ty.name()),
                sent,
                t,
            );
            self.advisory(NOT_MINIMAL);
        }
        let t = self
            .publish("33", "'m/t'", "")
            .replacen("{len}", "{len:3}", 1);
        self.add(
            "PUBLISH Remaining Length not minimal".into(),
            Sent::Connected,
            t,
        );
        self.advisory(NOT_MINIMAL);
    }

    fn not_a_client_packet(&mut self) {
        let (connack, suback, unsuback) = if self.v5() {
            (
                "20 {len} 00 00 00",
                "90 {len} 00 01 00 01",
                "B0 {len} 00 01 00 00",
            )
        } else {
            ("20 {len} 00 00", "90 {len} 00 01 01", "B0 {len} 00 01")
        };
        let (rule, reason) = if self.v5() {
            ("MQTT-4.13.1-1", PROTOCOL_ERROR)
        } else {
            ("MQTT-4.8.0-1", PROTOCOL_ERROR)
        };
        for (name, t) in [
            ("CONNACK", connack),
            ("SUBACK", suback),
            ("UNSUBACK", unsuback),
            ("PINGRESP", "D0 {len}"),
        ] {
            self.add_state(
                format!("{name} from a client"),
                Sent::Connected,
                t.into(),
                rule,
                reason,
            );
        }
        let t = self.connect_with("10", 0x02, "", "{client_id 'bad2'}");
        self.add_state(
            "CONNECT a second time".into(),
            Sent::Connected,
            t,
            "MQTT-3.1.0-2",
            PROTOCOL_ERROR,
        );
        self.add("packet type 0".into(), Sent::Connected, "00 {len}".into());
        if !self.v5() {
            self.add("packet type 15".into(), Sent::Connected, "F0 {len}".into());
        }
    }
}
