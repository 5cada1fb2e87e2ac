//! Encoding of valid packets. Anything `encode` accepts, `decode` gives back
//! unchanged; what it refuses can still be written with [`crate::raw`].

use bytes::{BufMut, BytesMut};

use crate::error::EncodeError;
use crate::packet::*;
use crate::properties::{Properties, PropertyContext};
use crate::reason::ReasonCode;
use crate::topic::{self, SharedFilter};
use crate::types::{PacketType, QoS, Version};
use crate::wire::{put_binary, put_str, with_varint_prefix};

/// Appends `packet`, written as `version`, to `out`.
pub fn encode(packet: &Packet, version: Version, out: &mut BytesMut) -> Result<(), EncodeError> {
    let start = out.len();
    let t = packet.packet_type();
    let result = (|| {
        let flags = match packet {
            Packet::Publish(p) => {
                (u8::from(p.dup) << 3) | ((p.qos as u8) << 1) | u8::from(p.retain)
            }
            _ => t.required_flags().unwrap_or(0),
        };
        out.put_u8(((t as u8) << 4) | flags);
        let e = Enc { version, packet: t };
        with_varint_prefix(out, |out| match packet {
            Packet::Connect(c) => e.connect(c, out),
            Packet::ConnAck(c) => e.connack(c, out),
            Packet::Publish(p) => e.publish(p, out),
            Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
                e.ack(a, out)
            }
            Packet::Subscribe(s) => e.subscribe(s, out),
            Packet::SubAck(s) => e.suback(s, out),
            Packet::Unsubscribe(u) => e.unsubscribe(u, out),
            Packet::UnsubAck(u) => e.unsuback(u, out),
            Packet::PingReq | Packet::PingResp => Ok(()),
            Packet::Disconnect(d) => e.reason_and_properties(d.reason, &d.properties, out),
            Packet::Auth(a) => {
                e.v5_only("AUTH exists only in 5.0")?;
                e.reason_and_properties(a.reason, &a.properties, out)
            }
        })?;
        Ok(())
    })();
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Encodes into a fresh buffer.
pub fn encode_to_vec(packet: &Packet, version: Version) -> Result<Vec<u8>, EncodeError> {
    let mut out = BytesMut::new();
    encode(packet, version, &mut out)?;
    Ok(out.to_vec())
}

struct Enc {
    version: Version,
    packet: PacketType,
}

impl Enc {
    fn invalid(&self, why: impl Into<String>) -> EncodeError {
        EncodeError::Invalid {
            packet: self.packet,
            why: why.into(),
        }
    }

    fn v5_only(&self, why: &'static str) -> Result<(), EncodeError> {
        match self.version {
            Version::V5 => Ok(()),
            Version::V311 => Err(EncodeError::NotInVersion {
                packet: self.packet,
                version: self.version,
                why,
            }),
        }
    }

    fn str(&self, out: &mut BytesMut, s: &str) -> Result<(), EncodeError> {
        if s.contains('\0') {
            return Err(self.invalid(format!("string {s:?} contains U+0000")));
        }
        put_str(out, s, self.packet)
    }

    fn props(
        &self,
        p: &Properties,
        ctx: PropertyContext,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        match self.version {
            Version::V5 => p.encode(out, ctx),
            Version::V311 if p.is_empty() => Ok(()),
            Version::V311 => self.v5_only("properties exist only in 5.0"),
        }
    }

    fn packet_props(&self, p: &Properties, out: &mut BytesMut) -> Result<(), EncodeError> {
        self.props(p, PropertyContext::Packet(self.packet), out)
    }

    fn reason_ok(&self, code: ReasonCode) -> Result<(), EncodeError> {
        if code.is_allowed(self.packet, self.version) {
            Ok(())
        } else {
            Err(self.invalid(format!(
                "reason code {code} is not allowed in {} for MQTT {}",
                self.packet, self.version
            )))
        }
    }

    fn packet_id(&self, id: u16, out: &mut BytesMut) -> Result<(), EncodeError> {
        if id == 0 {
            return Err(self.invalid("packet identifier 0"));
        }
        out.put_u16(id);
        Ok(())
    }

    fn filter(&self, f: &str) -> Result<(), EncodeError> {
        topic::validate_filter(f, self.version == Version::V5)
            .map_err(|e| self.invalid(format!("topic filter {f:?} {e}")))
    }

    fn connect(&self, c: &Connect, out: &mut BytesMut) -> Result<(), EncodeError> {
        if c.version != self.version {
            return Err(self.invalid(format!(
                "CONNECT of MQTT {} cannot be written as MQTT {}",
                c.version, self.version
            )));
        }
        if self.version == Version::V311 && c.password.is_some() && c.username.is_none() {
            return Err(self.invalid("password without user name"));
        }
        if c.properties.authentication_data.is_some()
            && c.properties.authentication_method.is_none()
        {
            return Err(self.invalid("authentication data without authentication method"));
        }
        self.str(out, "MQTT")?;
        out.put_u8(self.version.level());
        let mut flags = u8::from(c.clean_start) << 1;
        if let Some(w) = &c.will {
            flags |= 0x04 | ((w.qos as u8) << 3) | (u8::from(w.retain) << 5);
        }
        flags |= u8::from(c.password.is_some()) << 6;
        flags |= u8::from(c.username.is_some()) << 7;
        out.put_u8(flags);
        out.put_u16(c.keep_alive);
        self.packet_props(&c.properties, out)?;
        self.str(out, &c.client_id)?;
        if let Some(w) = &c.will {
            self.props(&w.properties, PropertyContext::Will, out)?;
            topic::validate_name(&w.topic)
                .map_err(|e| self.invalid(format!("will topic {:?} {e}", w.topic)))?;
            self.str(out, &w.topic)?;
            put_binary(out, &w.payload, self.packet)?;
        }
        if let Some(u) = &c.username {
            self.str(out, u)?;
        }
        if let Some(p) = &c.password {
            put_binary(out, p, self.packet)?;
        }
        Ok(())
    }

    fn connack(&self, c: &ConnAck, out: &mut BytesMut) -> Result<(), EncodeError> {
        self.reason_ok(c.reason)?;
        if c.session_present && c.reason != ReasonCode::SUCCESS {
            return Err(self.invalid("session present with a non-zero return code"));
        }
        out.put_u8(u8::from(c.session_present));
        out.put_u8(match self.version {
            Version::V311 => c.reason.to_v311_connack().unwrap_or(0),
            Version::V5 => c.reason.0,
        });
        self.packet_props(&c.properties, out)
    }

    fn publish(&self, p: &Publish, out: &mut BytesMut) -> Result<(), EncodeError> {
        match (p.qos, p.packet_id) {
            (QoS::AtMostOnce, Some(_)) => return Err(self.invalid("packet identifier on QoS 0")),
            (QoS::AtMostOnce, None) if p.dup => return Err(self.invalid("DUP on QoS 0")),
            (QoS::AtLeastOnce | QoS::ExactlyOnce, None) => {
                return Err(self.invalid("no packet identifier on QoS > 0"))
            }
            _ => {}
        }
        let aliased = self.version == Version::V5 && p.properties.topic_alias.is_some();
        if !(aliased && p.topic.is_empty()) {
            topic::validate_name(&p.topic)
                .map_err(|e| self.invalid(format!("topic name {:?} {e}", p.topic)))?;
        }
        self.str(out, &p.topic)?;
        if let Some(id) = p.packet_id {
            self.packet_id(id, out)?;
        }
        self.packet_props(&p.properties, out)?;
        out.put_slice(&p.payload);
        Ok(())
    }

    fn ack(&self, a: &Ack, out: &mut BytesMut) -> Result<(), EncodeError> {
        self.packet_id(a.packet_id, out)?;
        self.reason_and_properties(a.reason, &a.properties, out)
    }

    /// Reason Code then properties, in the shortest form 5.0 allows: both left
    /// off for Success without properties, properties left off when empty
    /// (except in AUTH).
    fn reason_and_properties(
        &self,
        reason: ReasonCode,
        props: &Properties,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        if self.version == Version::V311 {
            if reason != ReasonCode::SUCCESS {
                return self.v5_only("reason codes exist only in 5.0");
            }
            return self.packet_props(props, out);
        }
        self.reason_ok(reason)?;
        if reason == ReasonCode::SUCCESS && props.is_empty() {
            return Ok(());
        }
        out.put_u8(reason.0);
        // AUTH keeps its Property Length whenever it has a Reason Code (§3.15.2.1).
        if props.is_empty() && self.packet != PacketType::Auth {
            return Ok(());
        }
        self.packet_props(props, out)
    }

    fn subscribe(&self, s: &Subscribe, out: &mut BytesMut) -> Result<(), EncodeError> {
        if s.filters.is_empty() {
            return Err(self.invalid("no topic filters"));
        }
        self.packet_id(s.packet_id, out)?;
        self.packet_props(&s.properties, out)?;
        for sub in &s.filters {
            self.filter(&sub.filter)?;
            let o = sub.options;
            let v5_options = o.no_local
                || o.retain_as_published
                || o.retain_handling != RetainHandling::SendAtSubscribe;
            if v5_options {
                self.v5_only("subscription options other than QoS exist only in 5.0")?;
            }
            if o.no_local && matches!(SharedFilter::parse(&sub.filter), Ok(Some(_))) {
                return Err(self.invalid("no local on a shared subscription"));
            }
            self.str(out, &sub.filter)?;
            out.put_u8(
                (o.qos as u8)
                    | (u8::from(o.no_local) << 2)
                    | (u8::from(o.retain_as_published) << 3)
                    | ((o.retain_handling as u8) << 4),
            );
        }
        Ok(())
    }

    fn suback(&self, s: &SubAck, out: &mut BytesMut) -> Result<(), EncodeError> {
        if s.reasons.is_empty() {
            return Err(self.invalid("no reason codes"));
        }
        self.packet_id(s.packet_id, out)?;
        self.packet_props(&s.properties, out)?;
        for r in &s.reasons {
            self.reason_ok(*r)?;
            out.put_u8(r.0);
        }
        Ok(())
    }

    fn unsubscribe(&self, u: &Unsubscribe, out: &mut BytesMut) -> Result<(), EncodeError> {
        if u.filters.is_empty() {
            return Err(self.invalid("no topic filters"));
        }
        self.packet_id(u.packet_id, out)?;
        self.packet_props(&u.properties, out)?;
        for f in &u.filters {
            self.filter(f)?;
            self.str(out, f)?;
        }
        Ok(())
    }

    fn unsuback(&self, u: &UnsubAck, out: &mut BytesMut) -> Result<(), EncodeError> {
        self.packet_id(u.packet_id, out)?;
        self.packet_props(&u.properties, out)?;
        match self.version {
            Version::V311 if u.reasons.is_empty() => Ok(()),
            Version::V311 => self.v5_only("UNSUBACK reason codes exist only in 5.0"),
            Version::V5 if u.reasons.is_empty() => Err(self.invalid("no reason codes")),
            Version::V5 => {
                for r in &u.reasons {
                    self.reason_ok(*r)?;
                    out.put_u8(r.0);
                }
                Ok(())
            }
        }
    }
}
