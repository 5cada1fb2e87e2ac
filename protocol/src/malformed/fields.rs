//! The rows about what a packet carries: strings, topic names and
//! filters, reason codes and 5.0 properties.

use super::{Gen, Sent, BAD_STRINGS, FORMAT_INDICATOR, RESPONSE_WILDCARD};
use crate::properties::{PropertyContext, PropertyId};
use crate::types::PacketType;

impl Gen {
    pub(super) fn strings(&mut self) {
        for (bad, what) in BAD_STRINGS {
            let t = self.connect_with("10", 0x02, "", &format!("{{client_id 'bad' {bad}}}"));
            self.add(format!("CONNECT client id {what}"), Sent::First, t);
            self.own_broker();
            let will = format!(
                "{{client_id 'bad'}} {} {{topic 'm/w' {bad}}} {{str 'x'}}",
                self.props("")
            );
            let t = self.connect_with("10", 0x06, "", &will);
            self.add(format!("CONNECT will topic {what}"), Sent::First, t);
            self.own_broker();
            let t = self.connect_with(
                "10",
                0x82,
                "",
                &format!("{{client_id 'bad'}} {{str 'u' {bad}}}"),
            );
            self.add(format!("CONNECT user name {what}"), Sent::First, t);
            self.own_broker();
            // Topic names and filters are UTF-8 strings without U+0000
            // (MQTT-3.3.2-1, MQTT-4.7.3-2) besides the rule for strings.
            let nul: &[&'static str] = if bad == "00" { &["MQTT-4.7.3-2"] } else { &[] };
            let t = self.publish("33", &format!("'m/t' {bad}"), "");
            self.add(format!("PUBLISH topic {what}"), Sent::Connected, t);
            self.own_broker();
            self.cite(&["MQTT-3.3.2-1"]);
            self.cite(nul);
            let t = self.subscribe("82", "", &format!("'m/s' {bad}"), "01");
            self.add(format!("SUBSCRIBE filter {what}"), Sent::Connected, t);
            self.own_broker();
            self.cite(nul);
            let t = self.unsubscribe("A2", &format!("'m/s' {bad}"));
            self.add(format!("UNSUBSCRIBE filter {what}"), Sent::Connected, t);
            self.own_broker();
            self.cite(nul);
            if !self.v5() {
                continue;
            }
            let s = format!("{{str 'v' {bad}}}");
            for (field, props) in [
                ("response topic", format!("08 {{topic 'm/r' {bad}}}")),
                ("content type", format!("03 {s}")),
                ("user property name", format!("26 {s} {{str 'v'}}")),
                ("user property value", format!("26 {{str 'k'}} {s}")),
            ] {
                let t = self.publish("33", "'m/t'", &props);
                self.add(format!("PUBLISH {field} {what}"), Sent::Connected, t);
            }
            let t = format!("40 {{len}} 00 01 00 {{props 1F {s}}}");
            self.add(format!("PUBACK reason string {what}"), Sent::Connected, t);
            let t = self.connect_with("10", 0x02, &format!("15 {s}"), "{client_id 'bad'}");
            self.add(
                format!("CONNECT authentication method {what}"),
                Sent::First,
                t,
            );
            let will = format!("{{client_id 'bad'}} {{props 03 {s}}} {{topic 'm/w'}} {{str 'x'}}");
            let t = self.connect_with("10", 0x06, "", &will);
            self.add(format!("CONNECT will content type {what}"), Sent::First, t);
            self.strings_in_every_packet(bad, what);
        }
    }

    /// 5.0: a User Property in each packet a client sends, a Reason
    /// String in each one that carries it.
    fn strings_in_every_packet(&mut self, bad: &str, what: &str) {
        let user = format!("26 {{str 'k'}} {{str 'v' {bad}}}");
        let t = self.connect_with("10", 0x02, &user, "{client_id 'bad'}");
        self.add(format!("CONNECT user property {what}"), Sent::First, t);
        let will = format!("{{client_id 'bad'}} {{props {user}}} {{topic 'm/w'}} {{str 'x'}}");
        let t = self.connect_with("10", 0x06, "", &will);
        self.add(format!("CONNECT will user property {what}"), Sent::First, t);
        let t = self.subscribe("82", &user, "'m/s'", "01");
        self.add(
            format!("SUBSCRIBE user property {what}"),
            Sent::Connected,
            t,
        );
        let t = format!("A2 {{len}} 00 01 {{props {user}}} {{filter 'm/s'}}");
        self.add(
            format!("UNSUBSCRIBE user property {what}"),
            Sent::Connected,
            t,
        );
        let reason = format!("1F {{str 'r' {bad}}}");
        for (name, first) in [("PUBREC", "50"), ("PUBREL", "62"), ("PUBCOMP", "70")] {
            let t = format!("{first} {{len}} 00 01 00 {{props {reason}}}");
            self.add(format!("{name} reason string {what}"), Sent::Connected, t);
        }
        // A DISCONNECT that is malformed is no DISCONNECT: the will goes.
        let t = format!("E0 {{len}} 00 {{props {reason}}}");
        self.add(
            format!("DISCONNECT reason string {what}"),
            Sent::Connected,
            t,
        );
        let t = format!("E0 {{len}} 00 {{props {user}}}");
        self.add(
            format!("DISCONNECT user property {what}"),
            Sent::Connected,
            t,
        );
    }

    pub(super) fn topics_and_filters(&mut self) {
        for (level, what) in [("'m/+'", "+"), ("'m/#'", "#")] {
            let t = self.publish("33", level, "");
            self.add(format!("PUBLISH topic with {what}"), Sent::Connected, t);
            self.own_broker();
            let will = format!(
                "{{client_id 'bad'}} {} {{topic {level}}} {{str 'x'}}",
                self.props("")
            );
            let t = self.connect_with("10", 0x06, "", &will);
            self.add(format!("CONNECT will topic with {what}"), Sent::First, t);
            if self.v5() {
                let t = self.publish("33", "'m/t'", &format!("08 {{topic {level}}}"));
                self.add(
                    format!("PUBLISH response topic with {what}"),
                    Sent::Connected,
                    t,
                );
                self.advisory(RESPONSE_WILDCARD);
                self.forwarded_as_is();
            }
        }
        for (filter, what) in [("'m/#/s'", "# not last"), ("'m/s+'", "+ inside a level")] {
            let t = self.subscribe("82", "", filter, "01");
            self.add(format!("SUBSCRIBE filter with {what}"), Sent::Connected, t);
        }
        // Reserved bits and QoS 3 in the subscription options (3.1.1
        // MQTT-3.8.3-4, 5.0 MQTT-3.8.3-5).
        for (options, what) in [("03", "QoS 3"), ("C1", "reserved bits 11")] {
            let t = self.subscribe("82", "", "'m/s'", options);
            self.add(format!("SUBSCRIBE options {what}"), Sent::Connected, t);
        }
        if !self.v5() {
            return;
        }
        let t = self.subscribe("82", "", "'m/s'", "31");
        self.add(
            "SUBSCRIBE options Retain Handling 3".into(),
            Sent::Connected,
            t,
        );
        // A share name goes unprefixed: a run's prefix would make some of
        // these well formed.
        for (filter, what) in [
            ("'$share/g'", "no filter"),
            ("'$share//m/s'", "empty share name"),
            ("'$share/g+/m/s'", "+ in the share name"),
            ("'$share/g#/m/s'", "# in the share name"),
        ] {
            let t = format!("82 {{len}} 00 01 {{props}} {{str {filter}}} 01");
            self.add(
                format!("SUBSCRIBE $share filter {what}"),
                Sent::Connected,
                t,
            );
        }
        let t = self.subscribe("82", "", "'$share/g/m/s'", "05");
        self.add(
            "SUBSCRIBE $share filter with No Local".into(),
            Sent::Connected,
            t,
        );
    }

    /// Reason codes no acknowledgement of that type has (MQTT-3.4.2-1,
    /// -3.5.2-1, -3.6.2-1, -3.7.2-1, -3.14.2-1, -3.15.2-1): the rules bind
    /// the sender.
    pub(super) fn reason_codes(&mut self) {
        const WHY: &str = "5.0 §3.x.2.1: the sender MUST use one of the packet's Reason Codes; \
                           no rule says what a receiver does with another";
        for (name, first, codes) in [
            ("PUBACK", "40", &["01", "FF"][..]),
            ("PUBREC", "50", &["01", "FF"]),
            ("PUBREL", "62", &["80", "FF"]),
            ("PUBCOMP", "70", &["80", "FF"]),
        ] {
            for code in codes {
                let t = format!("{first} {{len}} 00 01 {code} {{props}}");
                self.advise(format!("{name} reason code 0x{code}"), t, WHY);
            }
        }
        self.advise(
            "DISCONNECT reason code 0x01".into(),
            "E0 {len} 01 {props}".into(),
            WHY,
        );
        self.advise(
            "AUTH reason code 0x01".into(),
            "F0 {len} 01 {props 15 {str 'x'}}".into(),
            WHY,
        );
    }

    /// 5.0 properties: a value the property cannot have, a property the
    /// packet cannot carry, a property given twice (§2.2.2.2).
    pub(super) fn properties(&mut self) {
        let connect_props: [(&str, &str); 4] = [
            ("Receive Maximum 0", "21 00 00"),
            ("Maximum Packet Size 0", "27 00 00 00 00"),
            ("Request Problem Information 2", "17 02"),
            ("Request Response Information 2", "19 02"),
        ];
        for (what, p) in connect_props {
            let t = self.connect_with("10", 0x02, p, "{client_id 'bad'}");
            self.add(format!("CONNECT {what}"), Sent::First, t);
        }
        let will = "{client_id 'bad'} {props 01 02} {topic 'm/w'} {str 'x'}";
        let t = self.connect_with("10", 0x06, "", will);
        self.add(
            "CONNECT will Payload Format Indicator 2".into(),
            Sent::First,
            t,
        );
        self.advisory(FORMAT_INDICATOR);
        for (what, p) in [
            ("Payload Format Indicator 2", "01 02"),
            ("Topic Alias 0", "23 00 00"),
        ] {
            let t = self.publish("33", "'m/t'", p);
            self.add(format!("PUBLISH {what}"), Sent::Connected, t);
            if what.starts_with("Payload") {
                self.advisory(FORMAT_INDICATOR);
                self.forwarded_as_is();
            }
        }
        let t = self.subscribe("82", "0B 00", "'m/s'", "01");
        self.add(
            "SUBSCRIBE Subscription Identifier 0".into(),
            Sent::Connected,
            t,
        );
        // In a packet that cannot carry it.
        let t = self.subscribe("82", "03 {str 'c'}", "'m/s'", "01");
        self.add("SUBSCRIBE with Content Type".into(), Sent::Connected, t);
        self.add(
            "UNSUBSCRIBE with Subscription Identifier".into(),
            Sent::Connected,
            "A2 {len} 00 01 {props 0B 01} {filter 'm/s'}".into(),
        );
        self.add(
            "PUBACK with Receive Maximum".into(),
            Sent::Connected,
            "40 {len} 00 01 00 {props 21 00 05}".into(),
        );
        self.misplaced_and_repeated();
    }

    /// Each property in a packet that cannot carry it (a client's CONNECT
    /// for what only a server sends), and each given twice where it may
    /// stand once (5.0 §2.2.2.2 and each property's section).
    fn misplaced_and_repeated(&mut self) {
        use PropertyId as P;
        for p in PropertyId::ALL {
            if p == P::UserProperty {
                continue;
            }
            let v = sample(p);
            let name = p.name();
            let id = p as u8;
            let (packet, t, sent) = if !p.allowed_in(PropertyContext::Packet(PacketType::Connect)) {
                let t =
                    self.connect_with("10", 0x02, &format!("{id:02X} {v}"), "{client_id 'bad'}");
                ("CONNECT", t, Sent::First)
            } else {
                (
                    "PUBLISH",
                    self.publish("33", "'m/t'", &format!("{id:02X} {v}")),
                    Sent::Connected,
                )
            };
            self.add(format!("{packet} with {name}"), sent, t);
            let twice = format!("{id:02X} {v} {id:02X} {v}");
            let allowed = |ctx| p.allowed_in(ctx);
            let (packet, t, sent) = if p == P::AuthenticationData {
                // Authentication Data needs its method.
                let props = format!("15 {{str 'x'}} {twice}");
                let t = self.connect_with("10", 0x02, &props, "{client_id 'bad'}");
                ("CONNECT", t, Sent::First)
            } else if allowed(PropertyContext::Packet(PacketType::Connect)) {
                let t = self.connect_with("10", 0x02, &twice, "{client_id 'bad'}");
                ("CONNECT", t, Sent::First)
            } else if p == P::SubscriptionIdentifier {
                // A client's PUBLISH carries none (MQTT-3.3.4-6).
                (
                    "SUBSCRIBE",
                    self.subscribe("82", &twice, "'m/s'", "01"),
                    Sent::Connected,
                )
            } else if allowed(PropertyContext::Packet(PacketType::Publish)) {
                (
                    "PUBLISH",
                    self.publish("33", "'m/t'", &twice),
                    Sent::Connected,
                )
            } else if allowed(PropertyContext::Will) {
                let will =
                    format!("{{client_id 'bad'}} {{props {twice}}} {{topic 'm/w'}} {{str 'x'}}");
                (
                    "CONNECT will",
                    self.connect_with("10", 0x06, "", &will),
                    Sent::First,
                )
            } else if allowed(PropertyContext::Packet(PacketType::PubAck)) {
                (
                    "PUBACK",
                    format!("40 {{len}} 00 01 00 {{props {twice}}}"),
                    Sent::Connected,
                )
            } else {
                // Only a server sends it: no client packet may carry it once.
                continue;
            };
            self.add(format!("{packet} {name} twice"), sent, t);
        }
    }
}

/// A valid value of the property, as template bytes.
fn sample(p: PropertyId) -> &'static str {
    use PropertyId::*;
    match p {
        PayloadFormatIndicator | RequestResponseInformation => "00",
        RequestProblemInformation
        | MaximumQoS
        | RetainAvailable
        | WildcardSubscriptionAvailable
        | SubscriptionIdentifierAvailable
        | SharedSubscriptionAvailable => "01",
        ServerKeepAlive | ReceiveMaximum | TopicAliasMaximum | TopicAlias => "00 05",
        MessageExpiryInterval | SessionExpiryInterval | WillDelayInterval | MaximumPacketSize => {
            "00 00 00 0A"
        }
        SubscriptionIdentifier => "01",
        ResponseTopic => "{topic 'm/r'}",
        UserProperty => "{str 'k'} {str 'v'}",
        ContentType
        | CorrelationData
        | AssignedClientIdentifier
        | AuthenticationMethod
        | AuthenticationData
        | ResponseInformation
        | ServerReference
        | ReasonString => "{str 'v'}",
    }
}
