//! The packets a client step sends, built from its fields as the engine
//! builds them (`crates/harness/src/engine/steps.rs`), so that the codec
//! itself judges them before the run: whatever `protocol::encode` would
//! refuse at run time is refused at load time, even what no named check
//! here knows of.

use bytes::Bytes;
use protocol::{
    Connect, Disconnect, Packet, Properties, Publish, QoS, ReasonCode, RetainHandling, Subscribe,
    Subscription, SubscriptionOptions, Unsubscribe, Will,
};

use crate::props;
use crate::{ClientAction, ClientSpec, ConnectStep, SendStep, VersionName, WillSpec};

/// The packet `action` sends on `version` (none for raw bytes and for
/// steps that send nothing); an error when its fields cannot even be
/// built (the checks before this one say why).
pub(crate) fn of(
    client: &str,
    spec: &ClientSpec,
    action: &ClientAction,
    version: VersionName,
) -> Option<Packet> {
    let v5 = version == VersionName::V5;
    Some(match action {
        ClientAction::Connect(c) if c.raw.is_none() => connect(client, spec, c, version)?,
        ClientAction::Subscribe(s) => {
            let mut properties = Properties::default();
            properties.subscription_identifiers = s.id.into_iter().collect();
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
            Packet::Subscribe(Subscribe {
                packet_id: 1,
                properties,
                filters,
            })
        }
        ClientAction::Unsubscribe(filters) => Packet::Unsubscribe(Unsubscribe {
            packet_id: 1,
            properties: Properties::default(),
            filters: filters.clone(),
        }),
        ClientAction::Publish(p) => {
            let qos = QoS::from_u8(p.qos)?;
            let packet_id = match qos {
                QoS::AtMostOnce => None,
                _ => Some(p.id.unwrap_or(1)),
            };
            Packet::Publish(Publish {
                dup: p.dup,
                qos,
                retain: p.retain,
                topic: p.topic.clone(),
                packet_id,
                properties: Properties::from(props::build(&p.properties).ok()?),
                payload: Bytes::from(p.payload.0.clone()),
            })
        }
        ClientAction::Disconnect(d) if !d.abrupt => {
            let mut properties = Properties::default();
            properties.session_expiry_interval = d.session_expiry;
            let reason = ReasonCode(d.reason.map_or(0, |r| r.0));
            // The engine refuses these on 3.1.1 itself, before the codec.
            if !v5 && (reason.0 != 0 || d.session_expiry.is_some()) {
                return None;
            }
            Packet::Disconnect(Disconnect { reason, properties })
        }
        ClientAction::Send(s) => match s {
            SendStep::Raw(_) => return None,
            SendStep::Puback(a) => Packet::PubAck(a.ack(a.id)),
            SendStep::Pubrec(a) => Packet::PubRec(a.ack(a.id)),
            SendStep::Pubrel(a) => Packet::PubRel(a.ack(a.id)),
            SendStep::Pubcomp(a) => Packet::PubComp(a.ack(a.id)),
            SendStep::Pingreq => Packet::PingReq,
            SendStep::Auth(_) if !v5 => return None,
            SendStep::Auth(a) => a.packet().ok()?,
        },
        _ => return None,
    })
}

fn will(w: &WillSpec) -> Option<Will> {
    let mut properties = props::build(&w.properties).ok()?;
    if let Some(d) = w.delay {
        properties.will_delay_interval = Some(d);
    }
    Some(Will {
        topic: w.topic.clone(),
        payload: Bytes::from(w.payload.0.clone()),
        qos: QoS::from_u8(w.qos)?,
        retain: w.retain,
        properties: Properties::from(properties),
    })
}

fn connect(name: &str, spec: &ClientSpec, c: &ConnectStep, version: VersionName) -> Option<Packet> {
    let will = match c.will.as_ref().or(spec.will.as_ref()) {
        Some(w) => Some(will(w)?),
        None => None,
    };
    let mut named = spec.properties.clone();
    named.extend(c.properties.clone());
    let mut properties = Properties::from(props::build(&named).ok()?);
    if version == VersionName::V5 {
        let p = &mut *properties;
        if let Some(e) = c.session_expiry.or(spec.session_expiry) {
            p.session_expiry_interval = Some(e);
        }
        p.receive_maximum = p.receive_maximum.or(spec.receive_maximum);
        p.maximum_packet_size = p.maximum_packet_size.or(spec.maximum_packet_size);
        p.topic_alias_maximum = p.topic_alias_maximum.or(spec.topic_alias_maximum);
    }
    Some(Packet::from(Connect {
        version: version.protocol(),
        clean_start: c.clean_start.unwrap_or(spec.clean_start),
        keep_alive: c.keep_alive.unwrap_or(spec.keep_alive),
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
    }))
}

/// What the codec says of `packet` on `version`, if it refuses it.
pub(crate) fn refused(packet: &Packet, version: VersionName) -> Option<String> {
    protocol::encode_to_vec(packet, version.protocol())
        .err()
        .map(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientAction, PublishStep, SendStep, SubOptions, SubscribeStep};

    fn publish(qos: u8, dup: bool, id: Option<u16>) -> ClientAction {
        ClientAction::Publish(PublishStep {
            topic: "maison/salon".into(),
            payload: Default::default(),
            qos,
            retain: false,
            dup,
            id,
            properties: Default::default(),
            await_ack: false,
        })
    }

    fn verdict(a: &ClientAction, v: VersionName) -> Option<String> {
        let packet = of("a", &ClientSpec::default(), a, v).expect("a packet");
        refused(&packet, v)
    }

    #[test]
    fn the_codec_judges_the_packet_a_step_sends() {
        use VersionName::{V311, V5};
        assert_eq!(verdict(&publish(1, true, Some(7)), V311), None);
        assert!(verdict(&publish(1, false, Some(0)), V5)
            .is_some_and(|w| w.contains("packet identifier 0")));
        assert!(verdict(&publish(0, true, None), V311).is_some_and(|w| w.contains("DUP on QoS 0")));
        let options = SubOptions {
            qos: 1,
            no_local: true,
            ..SubOptions::default()
        };
        let shared = ClientAction::Subscribe(SubscribeStep {
            filters: vec![("$share/g/a".into(), options)],
            id: None,
            expect: None,
        });
        assert!(
            verdict(&shared, V5).is_some_and(|w| w.contains("no local on a shared subscription"))
        );
        assert!(verdict(&shared, V311).is_some_and(|w| w.contains("only in 5.0")));
        assert!(verdict(&ClientAction::Send(SendStep::Pubrel(0.into())), V5).is_some());
        // Raw bytes are sent as they are: the codec has no say.
        let raw = ClientAction::Send(SendStep::Raw("30 00".into()));
        assert!(of("a", &ClientSpec::default(), &raw, V5).is_none());
    }
}
