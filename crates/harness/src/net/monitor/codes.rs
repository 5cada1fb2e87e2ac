//! Reason codes a server may send, per packet type: the 5.0 Reason Code
//! tables (§3.2.2.2, §3.4.2.1 .. §3.15.2.1) with their "Sent by" column,
//! and the 3.1.1 CONNACK return codes (Table 3.1) and SUBACK return codes
//! (§3.9.3).

use protocol::{Packet, PacketType, ReasonCode, Version};

/// The statement a wrong reason code in `packet` breaks.
fn rule(packet: PacketType, version: Version) -> &'static str {
    use PacketType::*;
    match (version, packet) {
        // 3.1.1 has no statement naming the valid CONNACK return codes; a
        // server with none applicable must close without CONNACK.
        (Version::V311, ConnAck) => "MQTT-3.2.2-6",
        (Version::V311, _) => "MQTT-3.9.3-2",
        (Version::V5, ConnAck) => "MQTT-3.2.2-8",
        (Version::V5, PubAck) => "MQTT-3.4.2-1",
        (Version::V5, PubRec) => "MQTT-3.5.2-1",
        (Version::V5, PubRel) => "MQTT-3.6.2-1",
        (Version::V5, PubComp) => "MQTT-3.7.2-1",
        (Version::V5, SubAck) => "MQTT-3.9.3-2",
        (Version::V5, UnsubAck) => "MQTT-3.11.3-2",
        (Version::V5, Disconnect) => "MQTT-3.14.2-1",
        (Version::V5, _) => "MQTT-3.15.2-1",
    }
}

/// Codes the 5.0 tables mark as sent by the Client only.
fn client_only(packet: PacketType) -> &'static [u8] {
    match packet {
        // 0x04 Disconnect with Will Message.
        PacketType::Disconnect => &[0x04],
        // 0x19 Re-authenticate.
        PacketType::Auth => &[0x19],
        _ => &[],
    }
}

/// The statement the reason codes of `p` are checked against, for a packet
/// that has them in `version`.
pub(super) fn rule_for(p: &Packet, version: Version) -> Option<&'static str> {
    let t = p.packet_type();
    let has_codes = match t {
        PacketType::ConnAck | PacketType::SubAck => true,
        PacketType::PubAck
        | PacketType::PubRec
        | PacketType::PubRel
        | PacketType::PubComp
        | PacketType::UnsubAck
        | PacketType::Disconnect
        | PacketType::Auth => version == Version::V5,
        _ => false,
    };
    has_codes.then(|| rule(t, version))
}

/// 5.0's rules that a Reason String or User Property must not take a
/// packet of this type over the receiver's Maximum Packet Size: a packet
/// within the limit keeps them.
pub(super) fn size_rules(packet: PacketType) -> &'static [&'static str] {
    use PacketType::*;
    match packet {
        ConnAck => &["MQTT-3.2.2-19", "MQTT-3.2.2-20"],
        PubAck => &["MQTT-3.4.2-2", "MQTT-3.4.2-3"],
        PubRec => &["MQTT-3.5.2-2", "MQTT-3.5.2-3"],
        PubRel => &["MQTT-3.6.2-2", "MQTT-3.6.2-3"],
        PubComp => &["MQTT-3.7.2-2", "MQTT-3.7.2-3"],
        SubAck => &["MQTT-3.9.2-1", "MQTT-3.9.2-2"],
        UnsubAck => &["MQTT-3.11.2-1", "MQTT-3.11.2-2"],
        Disconnect => &["MQTT-3.14.2-3", "MQTT-3.14.2-4"],
        Auth => &["MQTT-3.15.2-2", "MQTT-3.15.2-3"],
        _ => &[],
    }
}

/// Each reason code in `p` a server may not send: (rule, code).
pub(super) fn invalid(p: &Packet, version: Version) -> Vec<(&'static str, ReasonCode)> {
    let Some(rule) = rule_for(p, version) else {
        return Vec::new();
    };
    let codes: Vec<ReasonCode> = match p {
        Packet::ConnAck(a) => vec![a.reason],
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            vec![a.reason]
        }
        Packet::SubAck(a) => a.reasons.clone(),
        Packet::UnsubAck(a) => a.reasons.clone(),
        Packet::Disconnect(d) => vec![d.reason],
        Packet::Auth(a) => vec![a.reason],
        _ => return Vec::new(),
    };
    let t = p.packet_type();
    codes
        .into_iter()
        .filter(|c| !c.is_allowed(t, version) || client_only(t).contains(&c.0))
        .map(|c| (rule, c))
        .collect()
}
