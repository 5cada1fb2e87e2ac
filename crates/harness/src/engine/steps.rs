//! The steps of a script a client carries out: connect, subscribe,
//! publish, send, expect (with deadlines), disconnect and the rest.

use bytes::Bytes;
use protocol::{
    Ack, Connect, Disconnect, Packet, Properties, Publish, QoS, ReasonCode, RetainHandling,
    Subscribe, Subscription, SubscriptionOptions, Unsubscribe, Version, Will,
};
use record::trace::describe;
use scenario::props;
use scenario::values::{Match, Reason};
use scenario::{ClientAction, ConnAckMatch, PacketMatch, WillSpec};

use super::backend::Backend;
use super::matching::{check_packet, codes};
use super::run::{Runner, StepResult};
use crate::net::client::Command;

impl<B: Backend> Runner<'_, B> {
    pub(super) fn client_step(&mut self, name: &str, action: &ClientAction) -> StepResult {
        match action {
            ClientAction::Connect(c) => self.connect(name, c),
            ClientAction::Subscribe(s) => self.subscribe(name, s),
            ClientAction::Unsubscribe(filters) => self.unsubscribe(name, filters),
            ClientAction::Publish(p) => self.publish(name, p),
            ClientAction::Disconnect(d) => {
                let shared = self.shared(name);
                if !d.abrupt {
                    let mut properties = Properties::default();
                    properties.session_expiry_interval = d.session_expiry;
                    let reason = ReasonCode(d.reason.map_or(0, |r| r.0));
                    if self.version == Version::V311
                        && (reason.0 != 0 || d.session_expiry.is_some())
                    {
                        return Err(
                            "DISCONNECT reason codes and properties need MQTT 5 (use `only: 5`)"
                                .into(),
                        );
                    }
                    self.send(name, &Packet::Disconnect(Disconnect { reason, properties }))?;
                    // Wait (up to the step deadline) for the broker to close
                    // its side: then it has acted on the DISCONNECT, and a
                    // reconnect in the next step cannot overtake it on
                    // another connection. A broker that does not close is
                    // not an error here: closing is the client's duty.
                    let deadline = self.deadline();
                    self.world
                        .run_until(deadline, &mut || shared.state.borrow().closed)?;
                }
                shared.command(Command::Close);
                self.settle(&shared)
            }
            ClientAction::Send(s) => {
                use scenario::SendStep;
                let packet = match s {
                    SendStep::Raw(hex) => {
                        let bytes = scenario::values::raw_bytes(hex)?;
                        let label = raw_label(&bytes);
                        return self.send_bytes(name, Bytes::from(bytes), label);
                    }
                    // Acknowledgements of the broker's messages carry the
                    // identifier the broker chose; a PUBREL, the client's own.
                    SendStep::Puback(a) => Packet::PubAck(self.ack(name, a, true)),
                    SendStep::Pubrec(a) => Packet::PubRec(self.ack(name, a, true)),
                    SendStep::Pubrel(a) => Packet::PubRel(self.ack(name, a, false)),
                    SendStep::Pubcomp(a) => Packet::PubComp(self.ack(name, a, true)),
                    SendStep::Pingreq => Packet::PingReq,
                    SendStep::Auth(a) => a.packet()?,
                };
                self.send(name, &packet)
            }
            ClientAction::Expect(e) if e.unordered => {
                let packet = self.in_version(&e.packet);
                // The first packet that matches, wherever it is; an error
                // lists what came instead.
                let within = e.within.map_or(self.timeout_ms, |d| d.millis());
                let ids = self.client_ctx(name)?.broker_ids.clone();
                if e.topic_order {
                    return self.expect_first_on_topic(name, &packet, within, e.within.is_some());
                }
                let wanted = |p: &Packet| check_packet(&ids.resolve(&packet, p), p).is_ok();
                let what = format!("matching {}", e.packet.name());
                self.await_packet_within(name, &what, within, e.within.is_some(), wanted)
                    .and_then(|p| {
                        self.client_ctx(name)?.broker_ids.bind(&packet, &p);
                        Ok(())
                    })
                    .or_else(|err| {
                        let shared = self.shared(name);
                        let closed = shared.state.borrow().closed;
                        if e.or_closed && closed {
                            return Ok(());
                        }
                        Err(err)
                    })
                    .map_err(|err| {
                        // Say how each packet waiting in the inbox differs.
                        let shared = self.shared(name);
                        let s = shared.state.borrow();
                        let why: Vec<String> = s
                            .inbox
                            .iter()
                            .filter_map(|p| check_packet(&ids.resolve(&packet, p), p).err())
                            .collect();
                        if why.is_empty() {
                            err
                        } else {
                            format!("no {what} within {within} ms: {}", why.join("; "))
                        }
                    })
            }
            ClientAction::Expect(e) => {
                let shared = self.shared(name);
                let within = e.within.map_or(self.timeout_ms, |d| d.millis());
                let (_, late) = self.timed_wait(within, e.within.is_some(), &mut || {
                    let s = shared.state.borrow();
                    !s.inbox.is_empty() || s.closed
                })?;
                if !late.is_empty() {
                    return Err(format!(
                        "expected {}, nothing arrived within {within} ms{late}",
                        e.packet.name()
                    ));
                }
                let got = shared.state.borrow_mut().inbox.pop_front();
                match got {
                    Some(p) => {
                        let m = self.in_version(&e.packet);
                        self.client_ctx(name)?.broker_ids.take(&m, &p)
                    }
                    // Only the close is a MUST (MQTT-4.13.1-1); saying why
                    // first is a SHOULD.
                    None if shared.state.borrow().closed
                        && matches!(e.packet, PacketMatch::Disconnect(_)) =>
                    {
                        self.advise(
                            "5.0 §4.13.1: the Server SHOULD send DISCONNECT with a Reason Code \
                             before closing the connection (only the close is a MUST, MQTT-4.13.1-1)",
                            "closed the connection without DISCONNECT".into(),
                            Vec::new(),
                        );
                        Ok(())
                    }
                    // The close the spec allows in its place.
                    None if shared.state.borrow().closed && e.or_closed => Ok(()),
                    None if shared.state.borrow().closed => Err(format!(
                        "expected {}, but the connection was closed",
                        e.packet.name()
                    )),
                    None => Err(format!(
                        "expected {}, nothing arrived within {} ms",
                        e.packet.name(),
                        e.within.map_or(self.timeout_ms, |d| d.millis())
                    )),
                }
            }
            ClientAction::ExpectNothing(d) => {
                let shared = self.shared(name);
                let until = self.world.now_ms() + d.millis();
                let arrived = self
                    .world
                    .run_until(until, &mut || !shared.state.borrow().inbox.is_empty())?;
                if arrived {
                    // Left in the inbox: when the step is an advisory (a
                    // reading under which the packet may come now), the run
                    // goes on and a later step still finds it.
                    let p = shared.state.borrow().inbox.front().cloned();
                    let what = p.as_ref().map(describe).unwrap_or_default();
                    Err(format!("expected nothing for {d}, received {what}"))
                } else {
                    Ok(())
                }
            }
            ClientAction::ExpectClosed(e) => {
                let shared = self.shared(name);
                let within = e.within.map_or(self.timeout_ms, |d| d.millis());
                let (closed, late) = self.timed_wait(within, e.within.is_some(), &mut || {
                    shared.state.borrow().closed
                })?;
                if closed && e.silent {
                    let v5 = self.version == Version::V5;
                    let state = shared.state.borrow();
                    let spoke: Vec<String> = state
                        .inbox
                        .iter()
                        .filter(|p| match p {
                            Packet::Disconnect(_) => false,
                            Packet::ConnAck(c) => !(v5 && c.reason.0 >= 0x80),
                            _ => true,
                        })
                        .map(describe)
                        .collect();
                    if spoke.is_empty() {
                        Ok(())
                    } else {
                        Err(format!(
                            "the broker closed the connection, but first sent {} (only a \
                             DISCONNECT{} may come before the close)",
                            spoke.join(", "),
                            if v5 { " or a refusing CONNACK" } else { "" }
                        ))
                    }
                } else if closed {
                    Ok(())
                } else if !late.is_empty() {
                    Err(format!(
                        "expected the broker to close the connection within {within} ms{late}"
                    ))
                } else {
                    Err(format!(
                        "expected the broker to close the connection within {within} ms; it is still open",
                    ))
                }
            }
        }
    }

    /// The acknowledgement a `send:` step asks for. Acknowledgements of the
    /// broker's messages carry the identifier the broker chose (`theirs`);
    /// a PUBREL, the client's own.
    fn ack(&self, name: &str, a: &scenario::AckSend, theirs: bool) -> Ack {
        a.ack(if theirs {
            self.broker_id(name, a.id)
        } else {
            a.id
        })
    }

    pub(super) fn connect(&mut self, name: &str, c: &scenario::ConnectStep) -> StepResult {
        let ctx = &self.clients[name];
        let spec = &ctx.spec;
        let v5 = self.version == Version::V5;
        let will_spec = c.will.as_ref().or(spec.will.as_ref());
        let will = match will_spec {
            Some(w) => Some(self.will(w)?),
            None => None,
        };
        let mut named = spec.properties.clone();
        named.extend(c.properties.clone());
        if !v5 && !named.is_empty() {
            return Err("CONNECT properties need MQTT 5 (use `versions: [5]`)".into());
        }
        let mut properties = Properties::from(props::build(&named)?);
        if v5 {
            let p = &mut *properties;
            if let Some(e) = c.session_expiry.or(spec.session_expiry) {
                p.session_expiry_interval = Some(e);
            }
            p.receive_maximum = p.receive_maximum.or(spec.receive_maximum);
            p.maximum_packet_size = p.maximum_packet_size.or(spec.maximum_packet_size);
            p.topic_alias_maximum = p.topic_alias_maximum.or(spec.topic_alias_maximum);
        }
        let keep_alive = c.keep_alive.unwrap_or(spec.keep_alive);
        let connect = Connect {
            version: self.version,
            clean_start: c.clean_start.unwrap_or(spec.clean_start),
            keep_alive,
            properties: if properties.is_empty() {
                Properties::default()
            } else {
                properties
            },
            client_id: c
                .client_id
                .clone()
                .or_else(|| spec.client_id.clone())
                .unwrap_or_else(|| name.to_owned()),
            will,
            username: c.username.clone().or_else(|| spec.username.clone()),
            password: c
                .password
                .clone()
                .or_else(|| spec.password.clone())
                .map(Bytes::from),
        };
        let shared = self.shared(name);
        {
            let mut s = shared.state.borrow_mut();
            s.auto_ack = spec.auto_ack;
            s.auto_ping = spec.auto_ping;
            s.keep_alive = keep_alive;
            s.inbox.clear();
        }
        shared.command(Command::Connect);
        self.settle(&shared)?;
        if let Some(e) = shared.state.borrow().connect_error.clone() {
            return Err(format!("TCP connection to the broker failed: {e}"));
        }
        match &c.raw {
            Some(hex) => {
                let bytes = scenario::values::raw_bytes(hex)?;
                let speaks = match self.version {
                    Version::V311 => 4,
                    Version::V5 => 5,
                };
                if connect_level(&bytes).is_some_and(|l| l != speaks) {
                    shared.state.borrow_mut().connack_any_form = true;
                }
                let label = raw_label(&bytes);
                self.send_bytes(name, Bytes::from(bytes), label)?;
            }
            None => self.send(name, &Packet::from(connect))?,
        }
        if !c.wait {
            return Ok(());
        }
        let got = self.await_packet(name, "CONNACK", |p| matches!(p, Packet::ConnAck(_)))?;
        let default = ConnAckMatch {
            reason: Match::Is(Reason(0)),
            ..ConnAckMatch::default()
        };
        let expect = c.expect.as_ref().unwrap_or(&default);
        check_packet(
            &self.in_version(&PacketMatch::ConnAck(expect.clone())),
            &got,
        )
    }

    /// The codec reads a 3.1.1 CONNACK return code as its 5.0 reason code
    /// (0x02 Identifier rejected is 0x85); a 3.1.1 scenario may write either.
    pub(super) fn in_version(&self, m: &PacketMatch) -> PacketMatch {
        match m {
            PacketMatch::ConnAck(c) if self.version == Version::V311 => {
                let mut c = c.clone();
                let in_5 = |code: u8| match code {
                    1..=5 => ReasonCode::from_v311_connack(code).map_or(code, |r| r.0),
                    _ => code,
                };
                c.reason = match c.reason {
                    Match::Is(Reason(code)) => Match::Is(Reason(in_5(code))),
                    Match::OneOf(list) => {
                        Match::OneOf(list.into_iter().map(|r| Reason(in_5(r.0))).collect())
                    }
                    other => other,
                };
                PacketMatch::ConnAck(c)
            }
            other => other.clone(),
        }
    }

    pub(super) fn will(&self, w: &WillSpec) -> Result<Will, String> {
        let mut properties = props::build(&w.properties)?;
        if let Some(d) = w.delay {
            properties.will_delay_interval = Some(d);
        }
        let properties = Properties::from(properties);
        if self.version == Version::V311 && !properties.is_empty() {
            return Err("will delay and will properties need MQTT 5 (use `versions: [5]`)".into());
        }
        Ok(Will {
            topic: w.topic.clone(),
            payload: Bytes::from(w.payload.0.clone()),
            qos: QoS::from_u8(w.qos).unwrap_or_default(),
            retain: w.retain,
            properties,
        })
    }

    pub(super) fn subscribe(&mut self, name: &str, s: &scenario::SubscribeStep) -> StepResult {
        let id = self
            .clients
            .get_mut(name)
            .expect("known client")
            .next_packet_id();
        let mut properties = Properties::default();
        if let Some(sub_id) = s.id {
            if self.version == Version::V311 {
                return Err("subscription identifiers need MQTT 5 (use `only: 5`)".into());
            }
            properties.subscription_identifiers = vec![sub_id];
        }
        let filters = s
            .filters
            .iter()
            .map(|(filter, o)| Subscription {
                filter: filter.clone(),
                options: SubscriptionOptions {
                    qos: QoS::from_u8(o.qos).unwrap_or_default(),
                    no_local: o.no_local,
                    retain_as_published: o.retain_as_published,
                    retain_handling: match o.retain_handling {
                        1 => RetainHandling::SendIfNew,
                        2 => RetainHandling::DoNotSend,
                        _ => RetainHandling::SendAtSubscribe,
                    },
                },
            })
            .collect();
        self.send(
            name,
            &Packet::Subscribe(Subscribe {
                packet_id: id,
                properties,
                filters,
            }),
        )?;
        let got = self.await_packet(
            name,
            &format!("SUBACK id={id}"),
            |p| matches!(p, Packet::SubAck(a) if a.packet_id == id),
        )?;
        let Packet::SubAck(ack) = got else {
            unreachable!("await_packet returns what it matched")
        };
        let expected: Vec<u8> = match &s.expect {
            Some(reasons) => reasons.iter().map(|r| r.0).collect(),
            None => s.filters.iter().map(|(_, o)| o.qos).collect(),
        };
        let got: Vec<u8> = ack.reasons.iter().map(|r| r.0).collect();
        if got == expected {
            Ok(())
        } else {
            Err(format!(
                "SUBACK reason codes are {}, expected {}",
                codes(&got),
                codes(&expected)
            ))
        }
    }

    pub(super) fn unsubscribe(&mut self, name: &str, filters: &[String]) -> StepResult {
        let id = self
            .clients
            .get_mut(name)
            .expect("known client")
            .next_packet_id();
        self.send(
            name,
            &Packet::Unsubscribe(Unsubscribe {
                packet_id: id,
                properties: Properties::default(),
                filters: filters.to_vec(),
            }),
        )?;
        self.await_packet(
            name,
            &format!("UNSUBACK id={id}"),
            |p| matches!(p, Packet::UnsubAck(a) if a.packet_id == id),
        )
        .map(|_| ())
    }

    pub(super) fn publish(&mut self, name: &str, p: &scenario::PublishStep) -> StepResult {
        let qos = QoS::from_u8(p.qos).unwrap_or_default();
        let id = match (qos, p.id) {
            (QoS::AtMostOnce, _) => None,
            (_, Some(id)) => Some(id),
            (_, None) => Some(
                self.clients
                    .get_mut(name)
                    .expect("known client")
                    .next_packet_id(),
            ),
        };
        let properties = Properties::from(props::build(&p.properties)?);
        if self.version == Version::V311 && !properties.is_empty() {
            return Err("PUBLISH properties need MQTT 5 (use `only: 5`)".into());
        }
        self.send(
            name,
            &Packet::Publish(Publish {
                dup: p.dup,
                qos,
                retain: p.retain,
                topic: p.topic.clone(),
                packet_id: id,
                properties,
                payload: Bytes::from(p.payload.0.clone()),
            }),
        )?;
        if !p.await_ack {
            return Ok(());
        }
        let id = id.unwrap_or(0);
        match qos {
            QoS::AtMostOnce => Ok(()),
            QoS::AtLeastOnce => self
                .await_packet(
                    name,
                    &format!("PUBACK id={id}"),
                    |p| matches!(p, Packet::PubAck(a) if a.packet_id == id),
                )
                .map(|_| ()),
            QoS::ExactlyOnce => {
                self.await_packet(
                    name,
                    &format!("PUBREC id={id}"),
                    |p| matches!(p, Packet::PubRec(a) if a.packet_id == id),
                )?;
                self.send(name, &Packet::PubRel(Ack::new(id)))?;
                self.await_packet(
                    name,
                    &format!("PUBCOMP id={id}"),
                    |p| matches!(p, Packet::PubComp(a) if a.packet_id == id),
                )
                .map(|_| ())
            }
        }
    }
}

/// The protocol level a raw CONNECT names, if the bytes go that far.
fn connect_level(bytes: &[u8]) -> Option<u8> {
    if bytes.first()? >> 4 != 1 {
        return None;
    }
    // The Remaining Length: up to four bytes, the last below 0x80.
    let len_bytes = bytes.iter().skip(1).take(4).position(|b| b & 0x80 == 0)? + 1;
    let name_at = 1 + len_bytes;
    let name_len = usize::from(u16::from_be_bytes([
        *bytes.get(name_at)?,
        *bytes.get(name_at + 1)?,
    ]));
    bytes.get(name_at + 2 + name_len).copied()
}

/// How raw bytes show in the trace; `raw: ""` (a connection opened with
/// nothing sent on it) says so rather than ending in a blank.
fn raw_label(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "raw (no bytes)".to_owned()
    } else {
        format!("raw {}", scenario::values::hex(bytes))
    }
}

impl<B: Backend> Runner<'_, B> {
    /// `unordered: other_topics`: the packet is taken wherever it is, as
    /// with `unordered: true`, but no other PUBLISH on its topic may have
    /// come before it — MQTT orders messages per topic, not across topics.
    /// Out of order, the step fails and the packet is still taken, so that
    /// an advisory step leaves the inbox as a passing one would.
    fn expect_first_on_topic(
        &mut self,
        name: &str,
        packet: &PacketMatch,
        within: u64,
        timing: bool,
    ) -> StepResult {
        // The loader lets `other_topics` through only with a publish naming its topic.
        let topic = match packet {
            PacketMatch::Publish(m) => match &m.topic {
                Match::Is(t) => Some(t.clone()),
                _ => None,
            },
            _ => None,
        }
        .ok_or("unordered: other_topics needs a publish with its topic")?;
        let ids = self.client_ctx(name)?.broker_ids.clone();
        // The inbox only grows at its back while we wait, and each scan
        // stops at the match: an unmatched PUBLISH on the topic seen in any
        // scan is ahead of the match in the inbox.
        let ahead: std::cell::RefCell<Option<Packet>> = Default::default();
        let wanted = |p: &Packet| {
            let ok = check_packet(&ids.resolve(packet, p), p).is_ok();
            if !ok && matches!(p, Packet::Publish(x) if x.topic == topic) {
                ahead.borrow_mut().get_or_insert_with(|| p.clone());
            }
            ok
        };
        let what = format!("matching PUBLISH on {topic}");
        let got = self.await_packet_within(name, &what, within, timing, wanted)?;
        self.client_ctx(name)?.broker_ids.bind(packet, &got);
        match ahead.into_inner() {
            None => Ok(()),
            Some(first) => Err(format!(
                "{} came after {} on its topic",
                describe(&got),
                describe(&first)
            )),
        }
    }
}
