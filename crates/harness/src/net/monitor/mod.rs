//! The wire monitor: on every client connection, each packet the broker
//! sends is checked against the rules of MQTT that hold whatever a run is
//! about: packet identifiers in flight (distinct, non-zero), QoS 0 form,
//! the client's Receive Maximum, Maximum Packet Size and Topic Alias
//! Maximum, the order of packets around CONNACK and the broker's
//! DISCONNECT, reason codes valid for their packet and sender, and
//! delivered QoS within what the subscriptions were granted.
//!
//! Sans-I/O: the scripted client (`net::client`) and the workload client
//! (`workload::client`) tell it what they sent and what they received; it
//! answers with the breaches it found, and never blames the broker for
//! what may follow a client's own protocol violation (bytes that do not
//! decode, a second CONNECT, ...): from there on, on that connection, it
//! judges only what the spec forbids a server whatever the client did.

mod auth;
mod codes;
mod session;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use bytes::BytesMut;
use protocol::{ConnAck, Connect, Decoder, Packet, Publish, QoS, Subscribe, Version};
use record::trace::describe;

pub use session::ClientIds;
use session::{Flight, Session};

/// How much a finding weighs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Breaks a MUST or MUST NOT of the specification: the run fails.
    Must,
    /// Wrong by the spec's text, but no MUST forbids it (a packet the spec
    /// defines only from client to server, ...): noted, never failed.
    Advisory,
}

/// Something the broker sent that it should not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breach {
    /// The statement id (`MQTT-3.3.4-9`), or the section for what has none.
    pub rule: &'static str,
    pub level: Level,
    /// The packet, as the trace shows it.
    pub packet: String,
    /// Why it breaks the rule, in this connection's terms.
    pub why: String,
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.level {
            Level::Must => write!(
                f,
                "broker breached {}: {} ({})",
                self.rule, self.packet, self.why
            ),
            Level::Advisory => write!(
                f,
                "advisory ({}): {} ({})",
                self.rule, self.packet, self.why
            ),
        }
    }
}

fn pick(version: Version, v311: &'static str, v5: &'static str) -> &'static str {
    match version {
        Version::V311 => v311,
        Version::V5 => v5,
    }
}

/// Where a connection is, from the client's side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    /// No connection.
    #[default]
    Closed,
    /// Connected, no CONNECT sent yet.
    Opened,
    /// CONNECT sent, no CONNACK yet.
    Connecting,
    Accepted,
    Refused,
    /// 5.0: the broker sent DISCONNECT.
    Disconnected,
    /// The broker sent bytes that do not decode: the stream has lost its
    /// framing, so nothing after can be read as packets.
    Garbled,
}

/// What the client's CONNECT asked of the broker.
#[derive(Clone, Copy, Debug)]
struct Limits {
    receive_maximum: u16,
    max_packet_size: Option<u32>,
    topic_alias_maximum: u16,
    /// Request Problem Information 0: no Reason String or User Property
    /// but on PUBLISH, CONNACK and DISCONNECT (MQTT-3.1.2-29).
    no_problem_info: bool,
}

impl Limits {
    fn of(c: &Connect) -> Limits {
        let p = &c.properties;
        Limits {
            // 5.0 §3.1.2.11.3: absent means 65,535.
            receive_maximum: p.receive_maximum.unwrap_or(u16::MAX),
            max_packet_size: p.maximum_packet_size,
            topic_alias_maximum: p.topic_alias_maximum.unwrap_or(0),
            no_problem_info: p.request_problem_information == Some(0),
        }
    }
}

/// One network connection's state.
#[derive(Debug, Default)]
struct Connection {
    phase: Phase,
    /// The client broke the protocol on this connection: the broker may
    /// close or answer as it sees fit, so what depends on the client's
    /// conduct (order, flow control, session state) is not judged.
    client_at_fault: bool,
    limits: Option<Limits>,
    clean_start: bool,
    /// What the monitor knew of the session may carry over on resume.
    resumable: bool,
    /// Topic Aliases the broker set on this connection (MQTT-3.3.2-7).
    aliases: BTreeMap<u16, String>,
    /// Flow control (MQTT-3.3.4-9, §4.9): QoS 1/2 PUBLISHes received on
    /// this connection and not yet acknowledged on it, by id ...
    unacked: BTreeSet<u16>,
    /// ... and acknowledgements sent on it for other ones (from an earlier
    /// connection), each of which gives the broker's send quota one back.
    credit: usize,
    /// UNSUBSCRIBEs awaiting UNSUBACK: how many filters each had.
    unsubscribes: BTreeMap<u16, usize>,
    /// What the client wrote and has not yet been read as packets.
    sent: BytesMut,
    /// The client wrote bytes that do not decode: where its next packet
    /// starts is unknown.
    sent_garbled: bool,
    /// The Authentication Method the client's CONNECT named (5.0; none when
    /// the CONNECT was of another version).
    auth_method: Option<String>,
}

/// Watches one client's connections, one at a time, and the session they
/// share.
#[derive(Debug)]
pub struct Monitor {
    version: Version,
    ids: ClientIds,
    session: Session,
    conn: Connection,
    /// Every statement a packet was checked against (held or not): in a
    /// run that passes, what the monitor asserted.
    checked: BTreeSet<&'static str>,
}

impl Monitor {
    /// A monitor for a client speaking `version`; `ids` is shared by every
    /// client of a run.
    pub fn new(version: Version, ids: ClientIds) -> Monitor {
        Monitor {
            version,
            ids,
            session: Session::default(),
            conn: Connection::default(),
            checked: BTreeSet::new(),
        }
    }

    /// A new network connection is open.
    pub fn on_connection_opened(&mut self) {
        self.on_connection_closed();
        self.conn.phase = Phase::Opened;
    }

    /// The statements the packets seen so far were checked against.
    pub fn checked(&self) -> &BTreeSet<&'static str> {
        &self.checked
    }

    /// The connection is gone (closed by either side, reset, lost).
    pub fn on_connection_closed(&mut self) {
        if self.conn.phase == Phase::Connecting {
            // A CONNECT with no answer may have reached the broker all the
            // same and begun a new session (Clean Start, or the old one
            // had expired): what the next CONNACK calls present may not be
            // the session the monitor knows.
            self.session.forget();
        }
        if self.conn.phase == Phase::Disconnected && !self.conn.client_at_fault {
            // Nothing came after the broker's DISCONNECT.
            self.checked.insert("MQTT-3.14.4-1");
        }
        if self.conn.phase != Phase::Closed {
            self.session.connection_closed();
        }
        self.conn = Connection::default();
    }

    /// Bytes the client wrote (any bytes: a scenario may send broken ones,
    /// or a packet in pieces). Whole packets are taken as `on_sent`; bytes
    /// that do not decode are the client's protocol violation.
    pub fn on_sent_bytes(&mut self, bytes: &[u8]) {
        if self.conn.sent_garbled {
            return;
        }
        self.conn.sent.extend_from_slice(bytes);
        let decoder = Decoder::new(self.version);
        loop {
            let mut buf = std::mem::take(&mut self.conn.sent);
            let decoded = decoder.decode(&mut buf);
            self.conn.sent = buf;
            match decoded {
                Ok(Some(p)) => self.on_sent(&p),
                Ok(None) => return,
                Err(_) => {
                    self.conn.sent.clear();
                    self.conn.sent_garbled = true;
                    return self.client_fault();
                }
            }
        }
    }

    /// A packet the client sent.
    pub fn on_sent(&mut self, p: &Packet) {
        if self.conn.phase == Phase::Closed {
            // Sent on a connection the caller did not announce.
            self.conn.phase = Phase::Opened;
        }
        match p {
            Packet::Connect(c) => self.connect_sent(c),
            // Anything else first is a protocol violation (MQTT-3.1.0-1).
            _ if self.conn.phase == Phase::Opened => self.client_fault(),
            Packet::Subscribe(s) => self.subscribe_sent(s),
            Packet::Unsubscribe(u) => {
                self.conn.unsubscribes.insert(u.packet_id, u.filters.len());
            }
            Packet::PubAck(a) | Packet::PubComp(a) => self.acked(a.packet_id),
            // 5.0 §4.9: a PUBREC of 0x80 or more ends the flow too.
            Packet::PubRec(a) if a.reason.is_error() => self.acked(a.packet_id),
            Packet::PubRec(a) => self.session.pubrec_sent(a.packet_id),
            Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp => {
                self.client_fault()
            }
            _ => {}
        }
    }

    /// The broker sent bytes that do not decode. The caller reports that
    /// (the decoder names the rule); nothing after is judged here.
    pub fn on_received_malformed(&mut self) {
        if self.conn.phase != Phase::Closed {
            self.conn.phase = Phase::Garbled;
        }
    }

    /// A packet the broker sent, `wire_len` bytes long: the breaches in it.
    pub fn on_received(&mut self, p: &Packet, wire_len: usize) -> Vec<Breach> {
        let mut found = Found {
            packet: p,
            breaches: Vec::new(),
        };
        if self.conn.phase == Phase::Opened
            && self.version == Version::V5
            && matches!(p, Packet::Disconnect(_))
        {
            // Whatever the client sent instead of CONNECT, the broker closes
            // without a DISCONNECT: it has sent no CONNACK.
            self.checked.insert("MQTT-3.14.0-1");
            found.must(
                "MQTT-3.14.0-1",
                "DISCONNECT before any CONNECT was accepted with a CONNACK".into(),
            );
            return found.breaches;
        }
        if matches!(
            self.conn.phase,
            Phase::Closed | Phase::Opened | Phase::Garbled
        ) {
            // No connection, or the client has not spoken MQTT yet.
            return found.breaches;
        }
        if let Some(why) = wrong_direction(p, self.version) {
            found.advisory(
                pick(self.version, "MQTT 3.1.1 §2.2.1", "MQTT 5.0 §2.1.2"),
                why,
            );
            return found.breaches;
        }
        if let Some(rule) = codes::rule_for(p, self.version) {
            self.checked.insert(rule);
        }
        self.decoded(p);
        for (rule, code) in codes::invalid(p, self.version) {
            found.must(
                rule,
                format!(
                    "{code} is not a {} reason code a server may send",
                    p.packet_type()
                ),
            );
        }
        let v5 = self.version == Version::V5;
        if v5 && self.conn.phase == Phase::Disconnected {
            found.must(
                "MQTT-3.14.4-1",
                "sent after the broker's DISCONNECT on this connection".into(),
            );
        }
        if let Some(max) = self.conn.limits.and_then(|l| l.max_packet_size) {
            self.checked.insert("MQTT-3.1.2-24");
            // Within the limit, no Reason String or User Property the
            // packet carries took it over.
            self.checked.extend(codes::size_rules(p.packet_type()));
            if wire_len as u64 > u64::from(max) {
                found.must(
                    "MQTT-3.1.2-24",
                    format!("{wire_len} bytes, over the client's Maximum Packet Size of {max}"),
                );
            }
        }
        if self.conn.limits.is_some_and(|l| l.no_problem_info) {
            if let Some(props) = problem_carrier(p) {
                self.checked.insert("MQTT-3.1.2-29");
                if props.reason_string.is_some() || !props.user_properties.is_empty() {
                    found.must(
                        "MQTT-3.1.2-29",
                        "a Reason String or User Property, though the client's CONNECT said \
                         Request Problem Information 0"
                            .into(),
                    );
                }
            }
        }
        self.order(&mut found);
        match p {
            Packet::ConnAck(a) => self.connack(a, &mut found),
            Packet::Publish(pb) => self.publish(pb, &mut found),
            Packet::SubAck(a) => {
                if let Some(filters) = self.session.take_pending(a.packet_id) {
                    self.checked
                        .insert(pick(self.version, "MQTT-3.8.4-5", "MQTT-3.8.4-6"));
                    if a.reasons.len() != filters.len() {
                        found.must(
                            pick(self.version, "MQTT-3.8.4-5", "MQTT-3.8.4-6"),
                            format!(
                                "{} codes for the {} topic filters of the SUBSCRIBE",
                                a.reasons.len(),
                                filters.len()
                            ),
                        );
                        self.session.grants_unclear();
                    } else {
                        for (f, r) in filters.iter().zip(&a.reasons) {
                            if let Some(q) = QoS::from_u8(r.0) {
                                self.session.grant(f, q);
                            }
                        }
                    }
                }
            }
            Packet::UnsubAck(a) => {
                let asked = self.conn.unsubscribes.remove(&a.packet_id);
                if let (true, Some(n)) = (v5, asked) {
                    self.checked.insert("MQTT-3.11.3-2");
                    if a.reasons.len() != n {
                        found.must(
                            "MQTT-3.11.3-2",
                            format!(
                                "{} codes for the {n} topic filters of the UNSUBSCRIBE",
                                a.reasons.len()
                            ),
                        );
                    }
                }
            }
            Packet::Disconnect(d) if v5 => {
                self.checked.insert("MQTT-3.14.2-2");
                if d.properties.session_expiry_interval.is_some() {
                    found.must(
                        "MQTT-3.14.2-2",
                        "a Session Expiry Interval on a DISCONNECT from the server".into(),
                    );
                }
                self.conn.phase = Phase::Disconnected;
            }
            Packet::Auth(_) if self.conn.auth_method.is_none() => {
                found.must(
                    "MQTT-4.12.0-6",
                    "the client's CONNECT had no Authentication Method".into(),
                );
            }
            Packet::Auth(_) => self.check_auth_method(p, &mut found),
            _ => {}
        }
        found.breaches
    }

    /// What the packet held to by decoding at all: the client's codec is
    /// as strict as the broker's must be, and refuses (so the run fails on)
    /// any packet that breaks these.
    fn decoded(&mut self, p: &Packet) {
        let v5 = self.version == Version::V5;
        // Reserved fixed-header flags.
        self.checked
            .insert(pick(self.version, "MQTT-2.2.2-1", "MQTT-2.1.3-1"));
        if !v5 {
            return;
        }
        // Variable Byte Integers in their shortest form.
        self.checked.insert("MQTT-1.5.5-1");
        if matches!(
            p,
            Packet::ConnAck(_) | Packet::Publish(_) | Packet::SubAck(_) | Packet::UnsubAck(_)
        ) {
            // These always carry a Property Length, zero when empty.
            self.checked.insert("MQTT-2.2.2-1");
        }
        match p {
            // CONNACK flags bits 7-1 reserved.
            Packet::ConnAck(_) => {
                self.checked.insert("MQTT-3.2.2-1");
            }
            Packet::Publish(pb) => {
                // No Topic Alias 0.
                self.checked.insert("MQTT-3.3.2-8");
                let props = &pb.properties;
                if props.response_topic.is_some() {
                    // A UTF-8 string, without wildcards.
                    self.checked.extend(["MQTT-3.3.2-13", "MQTT-3.3.2-14"]);
                }
                if props.content_type.is_some() {
                    self.checked.insert("MQTT-3.3.2-19");
                }
                if !props.user_properties.is_empty() {
                    // Both strings of each pair well-formed UTF-8.
                    self.checked.insert("MQTT-1.5.7-1");
                }
            }
            _ => {}
        }
    }

    fn connect_sent(&mut self, c: &Connect) {
        if !matches!(self.conn.phase, Phase::Opened) {
            // A second CONNECT (MQTT-3.1.0-2; 5.0 §3.1: a Protocol Error).
            return self.client_fault();
        }
        self.conn.phase = Phase::Connecting;
        self.conn.clean_start = c.clean_start;
        self.conn.resumable = self.session.connect(&c.client_id, &self.ids);
        if c.version != self.version {
            // Another protocol: the broker answers in its terms, not ours.
            return self.client_fault();
        }
        self.conn.auth_method = c.properties.authentication_method.clone();
        self.conn.limits = Some(match self.version {
            Version::V5 => Limits::of(c),
            Version::V311 => Limits {
                receive_maximum: u16::MAX,
                max_packet_size: None,
                topic_alias_maximum: 0,
                no_problem_info: false,
            },
        });
    }

    fn subscribe_sent(&mut self, s: &Subscribe) {
        if !self.session.subscribe_sent(s) {
            // An id still awaiting its SUBACK (MQTT-2.2.1-3, 3.1.1 -2.3.1-2).
            self.client_fault();
        }
    }

    /// The client broke the protocol: stop judging what depends on its
    /// conduct on this connection, and what the broker may have made of
    /// the session meanwhile.
    fn client_fault(&mut self) {
        self.conn.client_at_fault = true;
        if self.conn.phase != Phase::Opened {
            self.session.forget();
        }
    }

    fn acked(&mut self, id: u16) {
        self.session.acked(id);
        if !self.conn.unacked.remove(&id) {
            self.conn.credit += 1;
        }
    }

    /// Which packets may come when: CONNACK first (AUTH before it in 5.0),
    /// one CONNACK, no DISCONNECT before a successful CONNACK.
    fn order(&mut self, found: &mut Found<'_>) {
        if self.conn.client_at_fault {
            return;
        }
        let v5 = self.version == Version::V5;
        self.checked.insert("MQTT-3.2.0-1");
        if v5 {
            self.checked.extend(["MQTT-3.2.0-2", "MQTT-3.14.0-1"]);
        }
        match (self.conn.phase, found.packet) {
            (Phase::Connecting, Packet::ConnAck(_)) => {}
            (Phase::Accepted | Phase::Refused | Phase::Disconnected, Packet::ConnAck(_)) if v5 => {
                found.must("MQTT-3.2.0-2", "a second CONNACK on this connection".into())
            }
            (Phase::Connecting | Phase::Refused, Packet::Auth(_)) if v5 => {}
            (Phase::Connecting | Phase::Refused, Packet::Disconnect(_)) if v5 => found.must(
                "MQTT-3.14.0-1",
                "DISCONNECT before a CONNACK with a Reason Code below 0x80".into(),
            ),
            (Phase::Connecting, _) => found.must(
                "MQTT-3.2.0-1",
                pick(
                    self.version,
                    "the first packet from the server must be CONNACK",
                    "only AUTH may come before a successful CONNACK",
                )
                .into(),
            ),
            (Phase::Refused, _) if v5 => found.must(
                "MQTT-3.2.0-1",
                "after a CONNACK refusing the connection, which must then be closed".into(),
            ),
            _ => {}
        }
    }

    fn connack(&mut self, a: &ConnAck, found: &mut Found<'_>) {
        if self.conn.phase != Phase::Connecting {
            return;
        }
        let success = a.reason.0 == 0;
        if a.session_present && !success {
            found.must(
                pick(self.version, "MQTT-3.2.2-4", "MQTT-3.2.2-6"),
                "Session Present 1 with a non-zero code".into(),
            );
        }
        if a.session_present && success && self.conn.clean_start && !self.conn.client_at_fault {
            found.must(
                pick(self.version, "MQTT-3.2.2-1", "MQTT-3.2.2-2"),
                "Session Present 1 answering a Clean Start".into(),
            );
        }
        let auth = self.conn.auth_method.is_some();
        if self.version == Version::V5 && !auth {
            self.checked.insert("MQTT-4.12.0-6");
        }
        if a.properties.authentication_method.is_some() && !auth {
            found.must(
                "MQTT-4.12.0-6",
                "an Authentication Method the client's CONNECT did not have".into(),
            );
        }
        if auth {
            self.check_auth_method(found.packet, found);
        }
        // 5.0: codes below 0x80 other than 0x00 are not CONNACK codes.
        let accepted = a.reason.0 < 0x80 && (success || self.version == Version::V5);
        if !accepted {
            self.conn.phase = Phase::Refused;
            return;
        }
        self.conn.phase = Phase::Accepted;
        if let Some(id) = &a.properties.assigned_client_identifier {
            self.session.assigned(id, &self.ids);
        }
        if self.conn.client_at_fault {
            self.session.forget();
        } else if self.conn.clean_start || !a.session_present {
            self.session.start();
        } else if !self.conn.resumable {
            // A session the monitor did not see all of.
            self.session.forget();
        }
    }

    fn publish(&mut self, p: &Publish, found: &mut Found<'_>) {
        let v = self.version;
        self.checked.insert(match p.qos {
            QoS::AtMostOnce => pick(v, "MQTT-2.3.1-5", "MQTT-2.2.1-2"),
            _ => pick(v, "MQTT-2.3.1-1", "MQTT-2.2.1-4"),
        });
        if p.qos == QoS::AtMostOnce {
            self.checked.insert("MQTT-3.3.1-2");
        }
        match (p.qos, p.packet_id) {
            (QoS::AtMostOnce, id) => {
                if p.dup {
                    found.must("MQTT-3.3.1-2", "DUP 1 on a QoS 0 message".into());
                }
                if id.is_some() {
                    found.must(
                        pick(v, "MQTT-2.3.1-5", "MQTT-2.2.1-2"),
                        "a Packet Identifier on a QoS 0 message".into(),
                    );
                }
            }
            (_, None | Some(0)) => found.must(
                pick(v, "MQTT-2.3.1-1", "MQTT-2.2.1-4"),
                "a QoS 1/2 message needs a non-zero Packet Identifier".into(),
            ),
            _ => {}
        }
        let topic = self.topic_of(p, found);
        if self.conn.client_at_fault || self.conn.phase != Phase::Accepted {
            return;
        }
        if let (true, Some(id)) = (p.qos != QoS::AtMostOnce, p.packet_id.filter(|&i| i != 0)) {
            self.in_flight(p, id, topic.as_deref(), found);
            let limits = self.conn.limits;
            if let (Version::V5, Some(l)) = (v, limits) {
                self.checked.insert("MQTT-3.3.4-9");
                self.conn.unacked.insert(id);
                let allowed = usize::from(l.receive_maximum) + self.conn.credit;
                if self.conn.unacked.len() > allowed {
                    let mut why = format!(
                        "{} QoS 1/2 messages unacknowledged on this connection, over the client's Receive Maximum of {}",
                        self.conn.unacked.len(),
                        l.receive_maximum
                    );
                    if self.conn.credit > 0 {
                        why.push_str(&format!(
                            " and {} acknowledgements of earlier messages",
                            self.conn.credit
                        ));
                    }
                    found.must("MQTT-3.3.4-9", why);
                }
            }
        }
        if let Some(topic) = &topic {
            if let Some(granted) = self.session.max_granted(topic) {
                self.checked.insert(pick(v, "MQTT-3.8.4-6", "MQTT-3.8.4-8"));
                if p.qos > granted {
                    found.must(
                        pick(v, "MQTT-3.8.4-6", "MQTT-3.8.4-8"),
                        format!(
                            "delivered at QoS {} where the matching subscriptions were granted at most QoS {}",
                            p.qos as u8, granted as u8
                        ),
                    );
                }
            }
        }
    }

    /// The packet id of a QoS 1/2 PUBLISH must be unused, unless this is
    /// the same message again with DUP 1 (a redelivery).
    fn in_flight(&mut self, p: &Publish, id: u16, topic: Option<&str>, found: &mut Found<'_>) {
        // 3.1.1: MQTT-2.3.1-4 applies to the server the reuse rule of
        // MQTT-2.3.1-3 (an id is free after PUBACK, or PUBCOMP).
        let rule = pick(self.version, "MQTT-2.3.1-4", "MQTT-2.2.1-4");
        self.checked.insert(rule);
        if let Some(held) = self.session.inflight.get(&id) {
            let same = held.same_message(topic, &p.payload);
            if !(p.dup && same) {
                let mut why = format!("id {id} is still in use by {}", held.describe());
                if same {
                    why.push_str("; if this is a redelivery, DUP must be 1 [MQTT-3.3.1-1]");
                }
                found.must(rule, why);
            }
        }
        self.session.inflight.insert(
            id,
            Flight {
                qos: p.qos,
                topic: topic.map(str::to_owned),
                payload: p.payload.clone(),
                pubrec_sent: false,
            },
        );
    }

    /// The topic a PUBLISH is for, through its Topic Alias (5.0): checks
    /// the alias against the client's Topic Alias Maximum.
    fn topic_of(&mut self, p: &Publish, found: &mut Found<'_>) -> Option<String> {
        if self.conn.limits.is_some_and(|l| l.topic_alias_maximum == 0)
            && self.version == Version::V5
        {
            self.checked.insert("MQTT-3.1.2-27");
        }
        let Some(alias) = p.properties.topic_alias else {
            return Some(p.topic.clone());
        };
        if let Some(l) = self.conn.limits {
            self.checked.insert(if l.topic_alias_maximum == 0 {
                "MQTT-3.1.2-27"
            } else {
                "MQTT-3.3.2-11"
            });
            if l.topic_alias_maximum == 0 {
                found.must(
                    "MQTT-3.1.2-27",
                    format!("Topic Alias {alias}: the client allowed none"),
                );
            } else if alias > l.topic_alias_maximum {
                found.must(
                    "MQTT-3.3.2-11",
                    format!(
                        "Topic Alias {alias}, over the client's Topic Alias Maximum of {}",
                        l.topic_alias_maximum
                    ),
                );
            }
        }
        if !p.topic.is_empty() {
            self.conn.aliases.insert(alias, p.topic.clone());
            return Some(p.topic.clone());
        }
        let known = self.conn.aliases.get(&alias).cloned();
        if known.is_none() {
            // The spec calls this a Protocol Error, in prose only.
            found.advisory(
                "MQTT 5.0 §3.3.2.3.4",
                format!("Topic Alias {alias} has no topic on this connection: the client cannot tell the topic"),
            );
        }
        known
    }
}

/// The properties of a packet that may carry a Reason String or User
/// Properties only when the client asks for problem information (all but
/// PUBLISH, CONNACK and DISCONNECT).
fn problem_carrier(p: &Packet) -> Option<&protocol::Properties> {
    match p {
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            Some(&a.properties)
        }
        Packet::SubAck(a) => Some(&a.properties),
        Packet::UnsubAck(a) => Some(&a.properties),
        Packet::Auth(a) => Some(&a.properties),
        _ => None,
    }
}

/// Packets a server never sends: Table 2.1 (both versions) gives their
/// direction as client to server only; no MUST says so, hence advisories.
fn wrong_direction(p: &Packet, version: Version) -> Option<String> {
    let only_from_client = match p {
        Packet::Connect(_) | Packet::Subscribe(_) | Packet::Unsubscribe(_) | Packet::PingReq => {
            true
        }
        // 3.1.1 has no DISCONNECT from the server (5.0 added it).
        Packet::Disconnect(_) => version == Version::V311,
        _ => false,
    };
    only_from_client.then(|| {
        format!(
            "MQTT {version} defines {} only from client to server",
            p.packet_type()
        )
    })
}

/// Breaches found in one packet.
struct Found<'a> {
    packet: &'a Packet,
    breaches: Vec<Breach>,
}

impl Found<'_> {
    fn push(&mut self, rule: &'static str, level: Level, why: String) {
        self.breaches.push(Breach {
            rule,
            level,
            packet: describe(self.packet),
            why,
        });
    }

    fn must(&mut self, rule: &'static str, why: String) {
        self.push(rule, Level::Must, why);
    }

    fn advisory(&mut self, rule: &'static str, why: String) {
        self.push(rule, Level::Advisory, why);
    }
}
