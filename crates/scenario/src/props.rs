//! MQTT 5.0 properties by name, as scenarios write them: building them for
//! packets to send, listing them for traces, comparing them with expectations.

use std::collections::BTreeMap;
use std::fmt;

use bytes::Bytes;
use protocol::PropertyValues;
use serde_value::Value;

use crate::values::{hex, Match};

/// A property's value, whatever its type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropValue {
    Num(u64),
    Str(String),
    Bytes(Vec<u8>),
    Nums(Vec<u64>),
    Pairs(Vec<(String, String)>),
}

impl fmt::Display for PropValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropValue::Num(n) => write!(f, "{n}"),
            PropValue::Str(s) => write!(f, "{s:?}"),
            PropValue::Bytes(b) => write!(f, "0x{}", hex(b)),
            PropValue::Nums(v) => write!(f, "{v:?}"),
            PropValue::Pairs(v) => {
                let items: Vec<String> = v.iter().map(|(k, v)| format!("{k:?}:{v:?}")).collect();
                write!(f, "[{}]", items.join(","))
            }
        }
    }
}

/// The single list of properties with a plain value: each use below (names,
/// listing, building) is generated from it, so they cannot drift apart.
macro_rules! with_properties {
    ($use:ident) => {
        $use! {
            numbers: [
                payload_format_indicator: u8,
                message_expiry_interval: u32,
                session_expiry_interval: u32,
                server_keep_alive: u16,
                request_problem_information: u8,
                will_delay_interval: u32,
                request_response_information: u8,
                receive_maximum: u16,
                topic_alias_maximum: u16,
                topic_alias: u16,
                maximum_qos: u8,
                retain_available: u8,
                maximum_packet_size: u32,
                wildcard_subscription_available: u8,
                subscription_identifier_available: u8,
                shared_subscription_available: u8,
            ],
            strings: [
                content_type,
                response_topic,
                assigned_client_identifier,
                authentication_method,
                response_information,
                server_reference,
                reason_string,
            ],
            binary: [correlation_data, authentication_data],
        }
    };
}

macro_rules! name_lists {
    (numbers: [$($n:ident: $t:ty),* $(,)?], strings: [$($s:ident),* $(,)?], binary: [$($b:ident),* $(,)?] $(,)?) => {
        const NUMBERS: &[&str] = &[$(stringify!($n)),*];
        const STRINGS: &[&str] = &[$(stringify!($s)),*];
        const BINARY: &[&str] = &[$(stringify!($b)),*];
    };
}

with_properties!(name_lists);

/// Every property name a scenario may use.
pub fn names() -> Vec<&'static str> {
    let mut all: Vec<&str> = NUMBERS
        .iter()
        .chain(STRINGS)
        .chain(BINARY)
        .copied()
        .collect();
    all.extend(["subscription_identifiers", "user_properties"]);
    all.sort_unstable();
    all
}

/// The properties present in `p`, by name, in a fixed order.
pub fn to_named(p: &PropertyValues) -> Vec<(&'static str, PropValue)> {
    let mut out = Vec::new();
    macro_rules! list {
        (numbers: [$($n:ident: $t:ty),* $(,)?], strings: [$($s:ident),* $(,)?], binary: [$($b:ident),* $(,)?] $(,)?) => {
            $(if let Some(v) = p.$n { out.push((stringify!($n), PropValue::Num(u64::from(v)))); })*
            $(if let Some(v) = &p.$s { out.push((stringify!($s), PropValue::Str(v.clone()))); })*
            $(if let Some(v) = &p.$b { out.push((stringify!($b), PropValue::Bytes(v.to_vec()))); })*
        };
    }
    with_properties!(list);
    if !p.subscription_identifiers.is_empty() {
        out.push((
            "subscription_identifiers",
            PropValue::Nums(
                p.subscription_identifiers
                    .iter()
                    .map(|&n| u64::from(n))
                    .collect(),
            ),
        ));
    }
    if !p.user_properties.is_empty() {
        out.push((
            "user_properties",
            PropValue::Pairs(p.user_properties.clone()),
        ));
    }
    out
}

fn as_u64(v: &Value) -> Option<u64> {
    match *v {
        Value::U8(n) => Some(n.into()),
        Value::U16(n) => Some(n.into()),
        Value::U32(n) => Some(n.into()),
        Value::U64(n) => Some(n),
        Value::I8(n) => u64::try_from(n).ok(),
        Value::I16(n) => u64::try_from(n).ok(),
        Value::I32(n) => u64::try_from(n).ok(),
        Value::I64(n) => u64::try_from(n).ok(),
        _ => None,
    }
}

fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Char(c) => Some(c.to_string()),
        other => as_u64(other).map(|n| n.to_string()),
    }
}

/// Reads what a scenario wrote for property `name` into a typed value.
pub fn parse(name: &str, v: &Value) -> Result<PropValue, String> {
    let bad = |what: &str| format!("property {name}: expected {what}, found {v:?}");
    if NUMBERS.contains(&name) {
        return as_u64(v).map(PropValue::Num).ok_or_else(|| bad("a number"));
    }
    if STRINGS.contains(&name) {
        return as_string(v)
            .map(PropValue::Str)
            .ok_or_else(|| bad("a string"));
    }
    if BINARY.contains(&name) {
        return match v {
            Value::String(s) => Ok(PropValue::Bytes(s.as_bytes().to_vec())),
            Value::Map(m) => match m.get(&Value::String("hex".into())) {
                Some(Value::String(h)) => crate::values::parse_hex(h).map(PropValue::Bytes),
                _ => Err(bad("a string or {hex: ..}")),
            },
            _ => Err(bad("a string or {hex: ..}")),
        };
    }
    match name {
        "subscription_identifiers" | "subscription_identifier" => match v {
            Value::Seq(items) => items
                .iter()
                .map(|i| as_u64(i).ok_or_else(|| bad("a list of numbers")))
                .collect::<Result<Vec<_>, _>>()
                .map(PropValue::Nums),
            other => as_u64(other)
                .map(|n| PropValue::Nums(vec![n]))
                .ok_or_else(|| bad("a number or a list of numbers")),
        },
        "user_properties" => {
            let Value::Seq(items) = v else {
                return Err(bad("a list of [name, value] pairs"));
            };
            let mut pairs = Vec::new();
            for item in items {
                match item {
                    Value::Seq(kv) if kv.len() == 2 => {
                        let k = as_string(&kv[0]).ok_or_else(|| bad("string pairs"))?;
                        let val = as_string(&kv[1]).ok_or_else(|| bad("string pairs"))?;
                        pairs.push((k, val));
                    }
                    Value::Map(m) if m.len() == 1 => {
                        let (k, val) = m.iter().next().expect("one entry");
                        let k = as_string(k).ok_or_else(|| bad("string pairs"))?;
                        let val = as_string(val).ok_or_else(|| bad("string pairs"))?;
                        pairs.push((k, val));
                    }
                    _ => return Err(bad("a list of [name, value] pairs")),
                }
            }
            Ok(PropValue::Pairs(pairs))
        }
        _ => Err(format!(
            "unknown property {name:?}; known: {}",
            names().join(", ")
        )),
    }
}

/// Builds properties from a scenario's map.
pub fn build(map: &BTreeMap<String, Value>) -> Result<PropertyValues, String> {
    let mut p = PropertyValues::default();
    for (name, raw) in map {
        let value = parse(name, raw)?;
        let range = |n: u64, max: u64| {
            if n <= max {
                Ok(n)
            } else {
                Err(format!("property {name}: {n} is over {max}"))
            }
        };
        macro_rules! set {
            (numbers: [$($n:ident: $t:ty),* $(,)?], strings: [$($s:ident),* $(,)?], binary: [$($b:ident),* $(,)?] $(,)?) => {
                match (name.as_str(), value) {
                    $( (stringify!($n), PropValue::Num(n)) => p.$n = Some(range(n, <$t>::MAX as u64)? as $t), )*
                    $( (stringify!($s), PropValue::Str(v)) => p.$s = Some(v), )*
                    $( (stringify!($b), PropValue::Bytes(v)) => p.$b = Some(Bytes::from(v)), )*
                    (_, PropValue::Nums(v)) => {
                        p.subscription_identifiers = v
                            .into_iter()
                            .map(|n| range(n, u64::from(u32::MAX)).map(|n| n as u32))
                            .collect::<Result<_, _>>()?
                    }
                    (_, PropValue::Pairs(v)) => p.user_properties = v,
                    (other, v) => return Err(format!("property {other}: unexpected value {v}")),
                }
            };
        }
        with_properties!(set);
    }
    Ok(p)
}

/// Checks a packet's properties against what a scenario expects. Properties
/// not named are not checked. The error says which differs and how.
pub fn check(
    expected: &BTreeMap<String, Match<Value>>,
    actual: &PropertyValues,
) -> Result<(), String> {
    let present = to_named(actual);
    for (name, m) in expected {
        let name = if name == "subscription_identifier" {
            "subscription_identifiers"
        } else {
            name.as_str()
        };
        let found = present.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
        match (m, found) {
            (Match::Any, _) => {}
            (Match::Absent, None) | (Match::Present, Some(_)) => {}
            (Match::Absent, Some(v)) => {
                return Err(format!("property {name} is {v}, expected absent"))
            }
            (Match::Present, None) => {
                return Err(format!("property {name} is absent, expected present"))
            }
            (Match::Between(lo, hi), Some(PropValue::Num(n))) if (*lo..=*hi).contains(n) => {}
            (Match::Between(lo, hi), found) => {
                let is = found.map_or("absent".to_string(), |v| v.to_string());
                return Err(format!(
                    "property {name} is {is}, expected between {lo} and {hi}"
                ));
            }
            (Match::OneOf(raws), found) => {
                let mut wants = Vec::new();
                for raw in raws {
                    wants.push(parse(name, raw)?);
                }
                match found {
                    Some(v) if wants.contains(v) => {}
                    _ => {
                        let is = found.map_or("absent".to_string(), |v| v.to_string());
                        let shown: Vec<String> = wants.iter().map(|w| w.to_string()).collect();
                        return Err(format!(
                            "property {name} is {is}, expected one of {}",
                            shown.join(", ")
                        ));
                    }
                }
            }
            (Match::Is(raw), found) => {
                let want = parse(name, raw)?;
                match found {
                    Some(v) if *v == want => {}
                    // "their order is not significant" (MQTT-3.3.4-4)
                    Some(v) if name == "subscription_identifiers" && same_items(v, &want) => {}
                    Some(v) => return Err(format!("property {name} is {v}, expected {want}")),
                    None => return Err(format!("property {name} is absent, expected {want}")),
                }
            }
        }
    }
    Ok(())
}

/// Two lists of numbers with the same items, in any order.
fn same_items(a: &PropValue, b: &PropValue) -> bool {
    match (a, b) {
        (PropValue::Nums(a), PropValue::Nums(b)) => {
            let (mut a, mut b) = (a.clone(), b.clone());
            a.sort_unstable();
            b.sort_unstable();
            a == b
        }
        _ => false,
    }
}
