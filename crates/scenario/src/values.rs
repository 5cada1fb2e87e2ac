//! Small value types of the scenario format: durations, ranges, payloads,
//! reason codes, field matchers.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A duration written `500ms`, `2s`, `1.5s`, `1m`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dur(pub Duration);

impl Dur {
    pub fn parse(s: &str) -> Result<Dur, String> {
        let s = s.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("duration {s:?} needs a unit (ms, s or m)"))?;
        let (num, unit) = s.split_at(split);
        let n: f64 = num
            .parse()
            .map_err(|_| format!("duration {s:?}: {num:?} is not a number"))?;
        let ms = match unit.trim() {
            "ms" => n,
            "s" => n * 1000.0,
            "m" | "min" => n * 60_000.0,
            other => {
                return Err(format!(
                    "duration {s:?}: unknown unit {other:?} (use ms, s or m)"
                ))
            }
        };
        if !(0.0..=1e12).contains(&ms) || ms.fract() != 0.0 {
            return Err(format!(
                "duration {s:?} must be a whole number of milliseconds"
            ));
        }
        Ok(Dur(Duration::from_millis(ms as u64)))
    }

    pub fn millis(self) -> u64 {
        self.0.as_millis() as u64
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.millis();
        if ms.is_multiple_of(1000) {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        let s = String::deserialize(d)?;
        Dur::parse(&s).map_err(de::Error::custom)
    }
}

/// `5ms..80ms`: a uniform random pick between two durations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurRange {
    pub min: Dur,
    pub max: Dur,
}

impl<'de> Deserialize<'de> for DurRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DurRange, D::Error> {
        let s = String::deserialize(d)?;
        let (a, b) = match s.split_once("..") {
            Some((a, b)) => (Dur::parse(a), Dur::parse(b)),
            None => (Dur::parse(&s), Dur::parse(&s)),
        };
        let (min, max) = (a.map_err(de::Error::custom)?, b.map_err(de::Error::custom)?);
        if min > max {
            return Err(de::Error::custom(format!(
                "range {s:?}: {min} is more than {max}"
            )));
        }
        Ok(DurRange { min, max })
    }
}

/// `1..200` (both ends included) or one number `16`: a count drawn
/// uniformly from the seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountRange {
    pub min: u32,
    pub max: u32,
}

impl CountRange {
    pub const fn one(n: u32) -> CountRange {
        CountRange { min: n, max: n }
    }
}

impl fmt::Display for CountRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            write!(f, "{}", self.min)
        } else {
            write!(f, "{}..{}", self.min, self.max)
        }
    }
}

impl<'de> Deserialize<'de> for CountRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<CountRange, D::Error> {
        let v = serde_value::Value::deserialize(d)?;
        let number = |s: &str| s.trim().parse::<u32>().ok();
        let found = match &v {
            serde_value::Value::String(s) => match s.split_once("..") {
                Some((a, b)) => number(a).zip(number(b)),
                None => number(s).map(|n| (n, n)),
            },
            serde_value::Value::U8(n) => Some((u32::from(*n), u32::from(*n))),
            serde_value::Value::U16(n) => Some((u32::from(*n), u32::from(*n))),
            serde_value::Value::U32(n) => Some((*n, *n)),
            serde_value::Value::U64(n) => u32::try_from(*n).ok().map(|n| (n, n)),
            serde_value::Value::I64(n) => u32::try_from(*n).ok().map(|n| (n, n)),
            _ => None,
        };
        match found {
            Some((min, max)) if min <= max => Ok(CountRange { min, max }),
            Some((min, max)) => Err(de::Error::custom(format!(
                "range {min}..{max}: {min} is more than {max}"
            ))),
            None => Err(de::Error::custom(format!(
                "expected a whole number such as 16 or a range such as 1..200, found {v:?}"
            ))),
        }
    }
}

/// One value or a list of them: `2` or `[0, 2]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneOrMore<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMore<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<OneOrMore<T>, D::Error> {
        let v = serde_value::Value::deserialize(d)?;
        match v {
            serde_value::Value::Seq(_) => Vec::<T>::deserialize(v)
                .map(OneOrMore)
                .map_err(de::Error::custom),
            other => T::deserialize(other)
                .map(|one| OneOrMore(vec![one]))
                .map_err(de::Error::custom),
        }
    }
}

/// A payload: a UTF-8 string, `{hex: "00 ff"}` for any bytes, or
/// `{size: 1024}` for that many generated bytes.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Payload(pub Vec<u8>);

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(&self.0) {
            Ok(s) if s.len() <= 64 && !s.chars().any(char::is_control) => write!(f, "{s:?}"),
            _ if self.0.len() <= 16 => write!(f, "0x{}", hex(&self.0)),
            _ => write!(f, "<{} bytes>", self.0.len()),
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a `raw:` step: plain hex, or a template with slots
/// (`30 {len} {topic 'a'} '21'`, see [`protocol::template`]).
pub fn raw_bytes(s: &str) -> Result<Vec<u8>, String> {
    if is_template(s) {
        protocol::template::Template::parse(s)
            .and_then(|t| t.render())
            .map_err(|e| format!("raw template {s:?}: {e}"))
    } else {
        parse_hex(s)
    }
}

/// Whether a `raw:` string is a template rather than plain hex.
pub fn is_template(s: &str) -> bool {
    s.contains(['{', '\''])
}

/// Parses hex digits, ignoring whitespace.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("hex {s:?} has an odd number of digits"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            let t = std::str::from_utf8(pair).unwrap_or("??");
            u8::from_str_radix(t, 16).map_err(|_| format!("hex {s:?}: {t:?} is not a hex byte"))
        })
        .collect()
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Payload, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Payload;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, {hex: \"..\"} or {size: N}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Payload, E> {
                Ok(Payload(s.as_bytes().to_vec()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Payload, E> {
                Ok(Payload(n.to_string().into_bytes()))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Payload, E> {
                Ok(Payload(n.to_string().into_bytes()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Payload, E> {
                Ok(Payload(n.to_string().into_bytes()))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Payload, E> {
                Ok(Payload(b.to_string().into_bytes()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Payload, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Ok(Payload::default());
                };
                let p = match key.as_str() {
                    "hex" => {
                        let s: String = map.next_value()?;
                        Payload(parse_hex(&s).map_err(de::Error::custom)?)
                    }
                    "size" => {
                        let n: usize = map.next_value()?;
                        if n > 16 * 1024 * 1024 {
                            return Err(de::Error::custom("payload size over 16 MiB"));
                        }
                        Payload((0..n).map(|i| b'a' + (i % 26) as u8).collect())
                    }
                    other => return Err(de::Error::unknown_field(other, &["hex", "size"])),
                };
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "a payload has one key (hex or size), found also {extra:?}"
                    )));
                }
                Ok(p)
            }
        }
        d.deserialize_any(V)
    }
}

/// A reason code: a number (`0x87`, `135`) or the spec's name in snake case
/// (`not_authorized`, `granted_qos_1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reason(pub u8);

const REASON_NAMES: &[(&str, u8)] = &[
    ("success", 0x00),
    ("normal_disconnection", 0x00),
    ("granted_qos_0", 0x00),
    ("granted_qos_1", 0x01),
    ("granted_qos_2", 0x02),
    ("disconnect_with_will_message", 0x04),
    ("no_matching_subscribers", 0x10),
    ("no_subscription_existed", 0x11),
    ("continue_authentication", 0x18),
    ("re_authenticate", 0x19),
    ("unspecified_error", 0x80),
    ("failure", 0x80),
    ("malformed_packet", 0x81),
    ("protocol_error", 0x82),
    ("implementation_specific_error", 0x83),
    ("unsupported_protocol_version", 0x84),
    ("client_identifier_not_valid", 0x85),
    ("bad_user_name_or_password", 0x86),
    ("not_authorized", 0x87),
    ("server_unavailable", 0x88),
    ("server_busy", 0x89),
    ("banned", 0x8A),
    ("server_shutting_down", 0x8B),
    ("bad_authentication_method", 0x8C),
    ("keep_alive_timeout", 0x8D),
    ("session_taken_over", 0x8E),
    ("topic_filter_invalid", 0x8F),
    ("topic_name_invalid", 0x90),
    ("packet_identifier_in_use", 0x91),
    ("packet_identifier_not_found", 0x92),
    ("receive_maximum_exceeded", 0x93),
    ("topic_alias_invalid", 0x94),
    ("packet_too_large", 0x95),
    ("message_rate_too_high", 0x96),
    ("quota_exceeded", 0x97),
    ("administrative_action", 0x98),
    ("payload_format_invalid", 0x99),
    ("retain_not_supported", 0x9A),
    ("qos_not_supported", 0x9B),
    ("use_another_server", 0x9C),
    ("server_moved", 0x9D),
    ("shared_subscriptions_not_supported", 0x9E),
    ("connection_rate_exceeded", 0x9F),
    ("maximum_connect_time", 0xA0),
    ("subscription_identifiers_not_supported", 0xA1),
    ("wildcard_subscriptions_not_supported", 0xA2),
];

/// The reason code names a scenario may write, with the codes they stand for.
pub fn reason_names() -> &'static [(&'static str, u8)] {
    REASON_NAMES
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Reason, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Reason;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a reason code: a number such as 0x87, or a name such as not_authorized",
                )
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Reason, E> {
                u8::try_from(n)
                    .map(Reason)
                    .map_err(|_| E::custom(format!("reason code {n} is over 255")))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Reason, E> {
                u8::try_from(n)
                    .map(Reason)
                    .map_err(|_| E::custom(format!("reason code {n} is not 0..=255")))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Reason, E> {
                if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                    return u8::from_str_radix(h, 16)
                        .map(Reason)
                        .map_err(|_| E::custom(format!("{s:?} is not a one-byte hex number")));
                }
                REASON_NAMES
                    .iter()
                    .find(|(n, _)| *n == s)
                    .map(|(_, v)| Reason(*v))
                    .ok_or_else(|| {
                        E::custom(format!(
                            "unknown reason code name {s:?}; use a number or one of: {}",
                            REASON_NAMES
                                .iter()
                                .map(|(n, _)| *n)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })
            }
        }
        d.deserialize_any(V)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02X}", self.0)
    }
}

/// What an expected field must be: a value, `any` (the default), `absent`,
/// or `present` (any value, but there: an Assigned Client Identifier whose
/// value is the broker's choice). A literal string "any", "absent" or
/// "present" is written `{is: any}`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Match<T> {
    #[default]
    Any,
    Absent,
    Present,
    Is(T),
    /// `{between: [56, 57]}`: a number in that range, both ends included —
    /// for values a real clock makes uncertain (expiry intervals counting
    /// down in whole seconds).
    Between(u64, u64),
    /// `{one_of: [a, b]}`: any of these — where the spec lets the broker
    /// choose (accept a long client identifier, or refuse it with 0x85).
    OneOf(Vec<T>),
}

impl<T> Match<T> {
    pub fn is_any(&self) -> bool {
        matches!(self, Match::Any)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Match<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Match<T>, D::Error> {
        // Buffered so that `any`/`absent` can be told from a value first.
        let content = serde_value::Value::deserialize(d)?;
        if let serde_value::Value::String(s) = &content {
            match s.as_str() {
                "any" => return Ok(Match::Any),
                "absent" => return Ok(Match::Absent),
                "present" => return Ok(Match::Present),
                _ => {}
            }
        }
        if let serde_value::Value::Map(m) = &content {
            if m.len() == 1 {
                if let Some(v) = m.get(&serde_value::Value::String("between".into())) {
                    let (lo, hi) = <(u64, u64)>::deserialize(v.clone()).map_err(|_| {
                        de::Error::custom("`between` takes two numbers: {between: [low, high]}")
                    })?;
                    if lo > hi {
                        return Err(de::Error::custom(format!(
                            "`between: [{lo}, {hi}]`: the low end comes first"
                        )));
                    }
                    return Ok(Match::Between(lo, hi));
                }
                if let Some(v) = m.get(&serde_value::Value::String("one_of".into())) {
                    let list = <Vec<T>>::deserialize(v.clone()).map_err(|e| {
                        de::Error::custom(format!("`one_of` takes a list of values: {e}"))
                    })?;
                    if list.is_empty() {
                        return Err(de::Error::custom("`one_of: []` can never match"));
                    }
                    return Ok(Match::OneOf(list));
                }
                if let Some(v) = m.get(&serde_value::Value::String("is".into())) {
                    return T::deserialize(v.clone())
                        .map(Match::Is)
                        .map_err(de::Error::custom);
                }
            }
        }
        T::deserialize(content)
            .map(Match::Is)
            .map_err(de::Error::custom)
    }
}

/// A loss rate: `2%`, or a fraction such as `0.02`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate(pub f64);

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0 * 100.0)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Rate, D::Error> {
        let v = serde_value::Value::deserialize(d)?;
        let fraction = match &v {
            serde_value::Value::String(s) => match s.trim().strip_suffix('%') {
                Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0).ok(),
                None => s.trim().parse::<f64>().ok(),
            },
            serde_value::Value::F64(f) => Some(*f),
            serde_value::Value::F32(f) => Some(f64::from(*f)),
            serde_value::Value::U64(n) => Some(*n as f64),
            serde_value::Value::U8(n) => Some(f64::from(*n)),
            serde_value::Value::U16(n) => Some(f64::from(*n)),
            serde_value::Value::U32(n) => Some(f64::from(*n)),
            serde_value::Value::I64(n) => Some(*n as f64),
            _ => None,
        };
        match fraction {
            Some(f) if (0.0..=1.0).contains(&f) => Ok(Rate(f)),
            _ => Err(de::Error::custom(format!(
                "expected a loss rate such as 2% or 0.02 (between 0% and 100%), found {v:?}"
            ))),
        }
    }
}
