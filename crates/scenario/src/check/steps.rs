//! What a client step must be for the packets it sends to be ones a
//! correct client can write, on each version it runs on, and for its
//! expectations to be ones a packet can meet.

use protocol::{PacketType, PropertyContext, ReasonCode, VARINT_MAX};

use super::{cite, encoding, packets, topic, Problems};
use crate::tree::{Place, Value};
use crate::values::Match;
use crate::{
    AuthSend, ClientAction, ClientSpec, ConnectStep, DisconnectStep, ExpectStep, PacketMatch,
    PublishStep, SendStep, SubscribeStep, VersionName, WillSpec,
};

/// A client step as the checks see it.
pub(crate) struct Step<'a> {
    /// The versions the step runs on (the scenario's, narrowed by `only`).
    pub versions: Vec<VersionName>,
    pub client: &'a str,
    /// The client's declaration (none if it did not load).
    pub spec: Option<&'a ClientSpec>,
    /// Where the client is declared.
    pub declared: Place<'a>,
    /// Whether the client's declaration was found sound: if not, its
    /// mistakes are reported there, not again at each of its connects.
    pub declared_ok: bool,
    /// The action's value: `{topic: .., qos: ..}` of `publish: {..}`.
    pub place: Place<'a>,
}

const FIX: &str = "add `only: 5` to the step, or `versions: [5]`";

/// Everything wrong with `action`; when nothing named is, whether the
/// codec would refuse the packet all the same.
pub(crate) fn action(p: &mut Problems, a: &ClientAction, s: &Step) {
    let before = p.count();
    match a {
        ClientAction::Connect(c) => connect(p, c, s),
        ClientAction::Subscribe(sub) => subscribe(p, sub, s),
        ClientAction::Unsubscribe(filters) => {
            if filters.is_empty() {
                p.at(
                    s.place,
                    format!(
                        "unsubscribe needs at least one topic filter{}",
                        cite(&s.versions, "MQTT-3.10.3-2", "MQTT-3.10.3-2")
                    ),
                );
            }
            for (i, f) in filters.iter().enumerate() {
                if let Err(e) = topic::filter(f, &s.versions) {
                    p.at(s.place.item(i), e);
                }
            }
        }
        ClientAction::Publish(pb) => publish(p, pb, s),
        ClientAction::Disconnect(d) => disconnect(p, d, s),
        ClientAction::Send(send) => {
            let (key, a) = match send {
                SendStep::Raw(hex) => {
                    if let Err(e) = crate::values::raw_bytes(hex) {
                        p.at(s.place.get("raw"), e);
                    }
                    return;
                }
                SendStep::Pingreq => return,
                SendStep::Auth(a) => return auth(p, a, s),
                SendStep::Puback(a) => ("puback", a),
                SendStep::Pubrec(a) => ("pubrec", a),
                SendStep::Pubrel(a) => ("pubrel", a),
                SendStep::Pubcomp(a) => ("pubcomp", a),
            };
            if a.reason.is_some_and(|r| r.0 != 0)
                && !s.versions.iter().all(|v| *v == VersionName::V5)
            {
                p.at(
                    s.place.get(key).get("reason"),
                    "a reason code in an acknowledgement needs MQTT 5 (use `versions: [5]`)",
                );
            }
            let id = a.id;
            if id == 0 {
                p.at(
                    s.place.get(key),
                    format!(
                        "packet identifier 0: identifiers run from 1 to 65535{} \
                         (send raw bytes to test identifier 0)",
                        cite(&s.versions, "2.3.1", "2.2.1")
                    ),
                );
            }
        }
        ClientAction::Expect(e) => expect(p, e, s),
        ClientAction::ExpectNothing(_) | ClientAction::ExpectClosed(_) => {}
    }
    let connects_with_bad_declaration = matches!(a, ClientAction::Connect(_)) && !s.declared_ok;
    if p.count() > before || connects_with_bad_declaration {
        return;
    }
    let Some(spec) = s.spec else { return };
    for &v in &s.versions {
        let Some(packet) = packets::of(s.client, spec, a, v) else {
            continue;
        };
        if let Some(why) = packets::refused(&packet, v) {
            p.at(
                s.place,
                format!(
                    "the codec refuses this {} on MQTT {}: {why}",
                    packet.packet_type(),
                    v.protocol()
                ),
            );
            return;
        }
    }
}

fn qos_problem(
    q: u8,
    what: &str,
    versions: &[VersionName],
    v311: &str,
    v5: &str,
) -> Option<String> {
    (q > 2).then(|| format!("{what}QoS {q} is not 0, 1 or 2{}", cite(versions, v311, v5)))
}

const RAW_QOS: &str = " (send raw bytes to test an invalid QoS)";

/// A will, declared with a client or given to one connect.
pub(crate) fn will(
    p: &mut Problems,
    place: Place,
    w: &WillSpec,
    versions: &[VersionName],
    fix: &str,
) {
    if let Some(e) = qos_problem(w.qos, "will ", versions, "MQTT-3.1.2-14", "MQTT-3.1.2-12") {
        p.at(place.get("qos"), format!("{e}{RAW_QOS}"));
    }
    if let Err(e) = topic::name(&w.topic, versions) {
        p.at(place.get("topic"), format!("will: {e}"));
    }
    if let Err(e) = encoding::binary("the will payload", w.payload.0.len(), versions, "3.1.3.3") {
        p.at(place.get("payload"), e);
    }
    if w.delay.is_some() {
        if let Some(e) = encoding::only_5("the Will Delay Interval", versions, fix) {
            p.at(place.get("delay"), e);
        }
    }
    encoding::properties(
        p,
        place.get("properties"),
        &w.properties,
        PropertyContext::Will,
        versions,
        fix,
    );
}

fn connect(p: &mut Problems, c: &ConnectStep, s: &Step) {
    if let Some(hex) = &c.raw {
        if let Err(e) = crate::values::raw_bytes(hex) {
            p.at(s.place.get("raw"), e);
        }
        // The raw bytes are the whole CONNECT: fields would be ignored.
        let fields = c.clean_start.is_some()
            || c.keep_alive.is_some()
            || c.session_expiry.is_some()
            || c.client_id.is_some()
            || c.username.is_some()
            || c.password.is_some()
            || c.will.is_some()
            || !c.properties.is_empty();
        if fields {
            p.at(
                s.place.get("raw"),
                "connect: `raw` is sent as it is; it cannot be combined with CONNECT fields",
            );
        }
        return;
    }
    let v = &s.versions;
    if let Some(w) = &c.will {
        will(p, s.place.get("will"), w, v, FIX);
    }
    encoding::properties(
        p,
        s.place.get("properties"),
        &c.properties,
        PropertyContext::Packet(PacketType::Connect),
        v,
        FIX,
    );
    if let Some(id) = &c.client_id {
        if let Err(e) = encoding::string("the client identifier", id, v) {
            p.at(s.place.get("client_id"), e);
        }
    }
    if let Some(u) = &c.username {
        if let Err(e) = encoding::string("the user name", u, v) {
            p.at(s.place.get("username"), e);
        }
    }
    if let Some(pw) = &c.password {
        if let Err(e) = encoding::binary("the password", pw.len(), v, "3.1.3.5") {
            p.at(s.place.get("password"), e);
        }
    }
    let spec = s.spec;
    let username = c.username.is_some() || spec.is_some_and(|c| c.username.is_some());
    let password = c.password.is_some() || spec.is_some_and(|c| c.password.is_some());
    if password && !username && v.contains(&VersionName::V311) {
        let place = if c.password.is_some() {
            s.place.get("password")
        } else {
            s.declared.get("password")
        };
        p.at(
            place,
            format!(
                "a password without a user name cannot be sent on MQTT 3.1.1{} \
                 (send raw bytes to test it)",
                cite(&[VersionName::V311], "MQTT-3.1.2-22", "")
            ),
        );
    }
    let mut named = spec.map(|c| c.properties.clone()).unwrap_or_default();
    named.extend(c.properties.clone());
    if named.contains_key("authentication_data")
        && !named.contains_key("authentication_method")
        && v.contains(&VersionName::V5)
    {
        p.at(
            s.place.get("properties"),
            format!(
                "authentication_data without authentication_method{}",
                cite(&[VersionName::V5], "", "3.1.2.11.10")
            ),
        );
    }
    if let Some(m) = &c.expect {
        encoding::expected_properties(p, s.place.get("expect").get("properties"), &m.properties);
    }
}

fn subscribe(p: &mut Problems, sub: &SubscribeStep, s: &Step) {
    let v = &s.versions;
    for (f, o) in &sub.filters {
        if let Err(e) = topic::filter(f, v) {
            p.at(s.place.key(f), e);
        }
        let options = s.place.get(f);
        let field = |name: &str| match options.node.value {
            Value::Map(_) => options.get(name),
            _ => options,
        };
        if let Some(e) = qos_problem(o.qos, "", v, "MQTT-3.8.3-4", "3.8.3.1") {
            p.at(field("qos"), format!("subscribe {f:?}: {e}{RAW_QOS}"));
        }
        if o.retain_handling > 2 {
            p.at(
                field("retain_handling"),
                format!(
                    "subscribe {f:?}: retain_handling is 0, 1 or 2{}",
                    cite(&[VersionName::V5], "", "3.8.3.1")
                ),
            );
        }
        for (set, name) in [
            (o.no_local, "no_local"),
            (o.retain_as_published, "retain_as_published"),
            (o.retain_handling != 0, "retain_handling"),
        ] {
            if set {
                if let Some(e) = encoding::only_5(&format!("the option {name}"), v, FIX) {
                    p.at(field(name), e);
                }
            }
        }
        let shared = matches!(protocol::topic::SharedFilter::parse(f), Ok(Some(_)));
        if o.no_local && shared && v.contains(&VersionName::V5) {
            p.at(
                field("no_local"),
                format!(
                    "no_local cannot be set on a shared subscription{}",
                    cite(&[VersionName::V5], "", "MQTT-3.8.3-4")
                ),
            );
        }
    }
    if let Some(id) = sub.id {
        if id == 0 || id > VARINT_MAX {
            p.at(
                s.place.get("id"),
                format!(
                    "{id} is not a subscription identifier (1 to {VARINT_MAX}){}",
                    cite(&[VersionName::V5], "", "3.8.2.1.2")
                ),
            );
        }
        if let Some(e) = encoding::only_5("a subscription identifier", v, FIX) {
            p.at(s.place.get("id"), e);
        }
    }
    if let Some(expect) = &sub.expect {
        if expect.len() != sub.filters.len() {
            p.at(
                s.place.get("expect"),
                format!(
                    "subscribe: `expect` lists {} reason codes for {} filters",
                    expect.len(),
                    sub.filters.len()
                ),
            );
        }
    }
}

fn publish(p: &mut Problems, pb: &PublishStep, s: &Step) {
    let v = &s.versions;
    if let Some(e) = qos_problem(pb.qos, "publish: ", v, "MQTT-3.3.1-4", "MQTT-3.3.1-4") {
        p.at(s.place.get("qos"), format!("{e}{RAW_QOS}"));
    }
    // In 5.0 a Topic Alias may stand for the topic: the name is then empty.
    let aliased = pb.topic.is_empty() && pb.properties.contains_key("topic_alias");
    let named: Vec<VersionName> = v
        .iter()
        .copied()
        .filter(|&v| !(aliased && v == VersionName::V5))
        .collect();
    if let Err(e) = topic::name(&pb.topic, &named) {
        p.at(s.place.get("topic"), format!("publish: {e}"));
    }
    match (pb.qos, pb.id) {
        (0, Some(_)) => p.at(
            s.place.get("id"),
            format!(
                "publish: a QoS 0 PUBLISH has no packet identifier{}",
                cite(v, "MQTT-2.3.1-5", "MQTT-2.2.1-2")
            ),
        ),
        (_, Some(0)) => p.at(
            s.place.get("id"),
            format!(
                "publish: packet identifier 0: identifiers run from 1 to 65535{} \
                 (send raw bytes to test identifier 0)",
                cite(v, "MQTT-2.3.1-1", "MQTT-2.2.1-3")
            ),
        ),
        _ => {}
    }
    if pb.qos == 0 && pb.dup {
        p.at(
            s.place.get("dup"),
            format!(
                "publish: DUP is 0 on a QoS 0 PUBLISH{}",
                cite(v, "MQTT-3.3.1-2", "MQTT-3.3.1-2")
            ),
        );
    }
    if pb.await_ack && pb.qos == 0 {
        p.at(s.place.get("await"), "publish: `await` needs QoS 1 or 2");
    }
    encoding::properties(
        p,
        s.place.get("properties"),
        &pb.properties,
        PropertyContext::Packet(PacketType::Publish),
        v,
        FIX,
    );
}

fn auth(p: &mut Problems, a: &AuthSend, s: &Step) {
    let at = s.place.get("auth");
    if let Some(e) = encoding::only_5("AUTH", &s.versions, "use `versions: [5]`") {
        p.at(at, e);
        return;
    }
    if !ReasonCode(a.reason.0).is_allowed(PacketType::Auth, protocol::Version::V5) {
        p.at(
            at.get("reason"),
            format!(
                "send auth: 0x{:02X} is not an AUTH reason code (0x00, 0x18 or 0x19){}",
                a.reason.0,
                cite(&s.versions, "", "MQTT-3.15.2-1")
            ),
        );
    }
    encoding::properties(
        p,
        at.get("properties"),
        &a.properties,
        PropertyContext::Packet(PacketType::Auth),
        &s.versions,
        "use `versions: [5]`",
    );
}

fn disconnect(p: &mut Problems, d: &DisconnectStep, s: &Step) {
    let fields = [
        (d.reason.is_some(), "reason", "a DISCONNECT reason code"),
        (
            d.session_expiry.is_some(),
            "session_expiry",
            "a Session Expiry Interval on DISCONNECT",
        ),
    ];
    for (given, key, what) in fields {
        if !given {
            continue;
        }
        if d.abrupt {
            p.at(
                s.place.get(key),
                format!(
                    "`abrupt` closes the connection without DISCONNECT: {key} would never be sent"
                ),
            );
        } else if let Some(e) = encoding::only_5(what, &s.versions, FIX) {
            p.at(s.place.get(key), e);
        }
    }
    if let Some(r) = d.reason {
        if !d.abrupt && !ReasonCode(r.0).is_allowed(PacketType::Disconnect, protocol::Version::V5) {
            p.at(
                s.place.get("reason"),
                format!(
                    "reason code {r} is not a DISCONNECT reason code{}",
                    cite(&[VersionName::V5], "", "MQTT-3.14.2-1")
                ),
            );
        }
    }
}

fn expect(p: &mut Problems, e: &ExpectStep, s: &Step) {
    match &e.packet {
        PacketMatch::Publish(m) => {
            let at = s.place.get("publish");
            if let Match::Is(t) = &m.topic {
                // A PUBLISH whose Topic Alias stands for its topic has none.
                let aliased = t.is_empty()
                    && matches!(
                        m.properties.get("topic_alias"),
                        Some(Match::Is(_) | Match::Present)
                    );
                let named: Vec<VersionName> = s
                    .versions
                    .iter()
                    .copied()
                    .filter(|&v| !(aliased && v == VersionName::V5))
                    .collect();
                if let Err(err) = topic::name(t, &named) {
                    p.at(
                        at.get("topic"),
                        format!("expect publish: {err}: no PUBLISH can carry it"),
                    );
                }
            }
            if let Match::Is(q) = m.qos {
                if let Some(err) = qos_problem(
                    q,
                    "expect publish: ",
                    &s.versions,
                    "MQTT-3.3.1-4",
                    "MQTT-3.3.1-4",
                ) {
                    p.at(at.get("qos"), format!("{err}: no PUBLISH can carry it"));
                }
            }
            encoding::expected_properties(p, at.get("properties"), &m.properties);
        }
        PacketMatch::ConnAck(m) => {
            encoding::expected_properties(
                p,
                s.place.get("connack").get("properties"),
                &m.properties,
            );
        }
        PacketMatch::Auth(m) => {
            if let Some(e) = encoding::only_5("AUTH", &s.versions, "use `versions: [5]`") {
                p.at(s.place.get("auth"), e);
            }
            encoding::expected_properties(p, s.place.get("auth").get("properties"), &m.properties);
        }
        _ => {}
    }
}
