//! What the codec refuses to encode in the fields a document writes:
//! strings with U+0000 or over 65,535 bytes, binary data over 65,535
//! bytes, properties that are unknown, not allowed in their packet, out of
//! range, or sent on MQTT 3.1.1 (which has none).

use std::collections::BTreeMap;

use protocol::{PacketType, PropertyContext, PropertyId, VARINT_MAX};
use serde_value::Value;

use super::{cite, on, Problems};
use crate::props::{self, PropValue};
use crate::tree::Place;
use crate::values::Match;
use crate::VersionName;

const MAX: usize = 65_535;

/// A UTF-8 string field.
pub(crate) fn string(what: &str, s: &str, versions: &[VersionName]) -> Result<(), String> {
    if s.contains('\0') {
        return Err(format!(
            "{what} contains U+0000{}",
            cite(versions, "MQTT-1.5.3-2", "MQTT-1.5.4-2")
        ));
    }
    if s.len() > MAX {
        return Err(format!(
            "{what} is {} bytes; a string is at most 65535{}",
            s.len(),
            cite(versions, "1.5.3", "1.5.4")
        ));
    }
    Ok(())
}

/// A Binary Data field (a password, a will payload); `v311` is the
/// section of 3.1.1 that gives its length field.
pub(crate) fn binary(
    what: &str,
    len: usize,
    versions: &[VersionName],
    v311: &str,
) -> Result<(), String> {
    if len > MAX {
        return Err(format!(
            "{what} is {len} bytes; binary data is at most 65535{}",
            cite(versions, v311, "1.5.6")
        ));
    }
    Ok(())
}

/// The property a scenario names (`topic_alias`, `user_properties`).
fn id_of(name: &str) -> Option<PropertyId> {
    let name = match name {
        "subscription_identifiers" => "subscription_identifier",
        "user_properties" => "user_property",
        other => other,
    };
    PropertyId::ALL
        .into_iter()
        .find(|p| p.name().to_ascii_lowercase().replace(' ', "_") == name)
}

fn packet_of(ctx: PropertyContext) -> String {
    match ctx {
        PropertyContext::Packet(t) => t.to_string(),
        PropertyContext::Will => "will properties".into(),
    }
}

/// Why a value of property `id` cannot be sent in `ctx`, with the section
/// or statement it breaks.
fn value_problem(id: PropertyId, value: &PropValue, ctx: PropertyContext) -> Option<String> {
    use PropertyId::*;
    let v5 = [VersionName::V5];
    let rule = |r: &str| cite(&v5, "", r);
    let publish = ctx == PropertyContext::Packet(PacketType::Publish);
    let text = |what: &str, s: &str| string(what, s, &v5).err();
    match (id, value) {
        (PayloadFormatIndicator, PropValue::Num(n)) if *n > 1 => Some(format!(
            "is 0 (bytes) or 1 (UTF-8), not {n}{}",
            rule(if publish { "3.3.2.3.2" } else { "3.1.3.2.3" })
        )),
        (RequestProblemInformation, PropValue::Num(n)) if *n > 1 => {
            Some(format!("is 0 or 1, not {n}{}", rule("3.1.2.11.7")))
        }
        (RequestResponseInformation, PropValue::Num(n)) if *n > 1 => {
            Some(format!("is 0 or 1, not {n}{}", rule("3.1.2.11.6")))
        }
        (ReceiveMaximum, PropValue::Num(0)) => Some(format!("must not be 0{}", rule("3.1.2.11.3"))),
        (MaximumPacketSize, PropValue::Num(0)) => {
            Some(format!("must not be 0{}", rule("3.1.2.11.4")))
        }
        (TopicAlias, PropValue::Num(0)) => {
            Some(format!("must not be 0{}", cite(&v5, "", "MQTT-3.3.2-8")))
        }
        (SubscriptionIdentifier, PropValue::Nums(ids)) => {
            let section = if publish { "3.3.2.3.8" } else { "3.8.2.1.2" };
            if let Some(bad) = ids.iter().find(|&&n| n == 0 || n > u64::from(VARINT_MAX)) {
                Some(format!(
                    "{bad} is not a subscription identifier (1 to {VARINT_MAX}){}",
                    rule(section)
                ))
            } else if !publish && ids.len() > 1 {
                Some(format!("a SUBSCRIBE carries at most one{}", rule(section)))
            } else {
                None
            }
        }
        (ResponseTopic, PropValue::Str(s)) if s.is_empty() => Some(format!(
            "is empty: a topic name is at least one character{}",
            cite(&v5, "", "MQTT-4.7.3-1")
        )),
        (ResponseTopic, PropValue::Str(s)) if protocol::topic::validate_name(s).is_err() => {
            Some(format!(
                "{s:?} contains a wildcard{}",
                cite(&v5, "", "MQTT-3.3.2-14")
            ))
        }
        (_, PropValue::Str(s)) => text("the value", s),
        (_, PropValue::Bytes(b)) => binary("the value", b.len(), &v5, "").err(),
        (_, PropValue::Pairs(pairs)) => pairs
            .iter()
            .find_map(|(k, v)| text("a name", k).or_else(|| text("a value", v))),
        _ => None,
    }
}

/// Properties written by name for a packet (or a will) sent on `versions`.
/// `place` is the `properties:` map (or where it would be); `fix` says how
/// to keep them off 3.1.1.
pub(crate) fn properties(
    p: &mut Problems,
    place: Place,
    map: &BTreeMap<String, Value>,
    ctx: PropertyContext,
    versions: &[VersionName],
    fix: &str,
) {
    if map.is_empty() {
        return;
    }
    if versions.contains(&VersionName::V311) {
        p.at(
            place,
            format!("MQTT 3.1.1 has no properties, and this is sent on 3.1.1 ({fix})"),
        );
    }
    for (name, raw) in map {
        let at_key = place.key(name);
        let Some(id) = id_of(name) else {
            p.at(
                at_key,
                format!(
                    "unknown property {name:?}; known: {}",
                    props::names().join(", ")
                ),
            );
            continue;
        };
        if !id.allowed_in(ctx) {
            p.at(
                at_key,
                format!(
                    "property {name} is not allowed in {}{}",
                    packet_of(ctx),
                    cite(&[VersionName::V5], "", "2.2.2.2")
                ),
            );
            continue;
        }
        let at_value = place.get(name);
        let one = BTreeMap::from([(name.clone(), raw.clone())]);
        let value = match props::build(&one).and_then(|_| props::parse(name, raw)) {
            Ok(v) => v,
            Err(e) => {
                p.at(at_value, e);
                continue;
            }
        };
        if let Some(why) = value_problem(id, &value, ctx) {
            p.at(at_value, format!("property {name}: {why}"));
        }
    }
}

/// Properties an expectation names: known names, and values that read as
/// their type.
pub(crate) fn expected_properties(
    p: &mut Problems,
    place: Place,
    map: &BTreeMap<String, Match<Value>>,
) {
    for (name, m) in map {
        if id_of(name).is_none() {
            p.at(
                place.key(name),
                format!(
                    "unknown property {name:?}; known: {}",
                    props::names().join(", ")
                ),
            );
            continue;
        }
        if let Match::Is(v) = m {
            if let Err(e) = props::parse(name, v) {
                p.at(place.get(name), e);
            }
        }
    }
}

/// What versions a thing sent on `versions` is refused on, for messages
/// about 5.0-only fields.
pub(crate) fn only_5(what: &str, versions: &[VersionName], fix: &str) -> Option<String> {
    versions.contains(&VersionName::V311).then(|| {
        format!(
            "{what} exists only in MQTT 5.0, and this is sent on {} ({fix})",
            on(versions)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_property_name_is_a_property() {
        for name in props::names() {
            assert!(id_of(name).is_some(), "{name}");
        }
        assert_eq!(
            id_of("subscription_identifier"),
            Some(PropertyId::SubscriptionIdentifier)
        );
    }

    #[test]
    fn values_the_codec_refuses_are_named_with_their_rule() {
        let publish = PropertyContext::Packet(PacketType::Publish);
        let why = value_problem(PropertyId::TopicAlias, &PropValue::Num(0), publish);
        assert_eq!(why.as_deref(), Some("must not be 0 [MQTT-3.3.2-8]"));
        let why = value_problem(
            PropertyId::SubscriptionIdentifier,
            &PropValue::Nums(vec![0]),
            PropertyContext::Packet(PacketType::Subscribe),
        );
        assert!(why.is_some_and(|w| w.contains("§3.8.2.1.2")));
        let why = value_problem(
            PropertyId::ResponseTopic,
            &PropValue::Str("a/#".into()),
            publish,
        );
        assert!(why.is_some_and(|w| w.contains("[MQTT-3.3.2-14]")));
        assert!(value_problem(PropertyId::TopicAlias, &PropValue::Num(3), publish).is_none());
    }
}
