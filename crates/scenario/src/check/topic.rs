//! Topic names and filters a document writes, judged by the codec's own
//! validation (`protocol::topic`) for each version they are used on, with
//! the statement each version numbers the rule by.

use protocol::topic::{self, TopicError};

use super::cite;
use crate::VersionName;

fn rule(e: TopicError, v: VersionName) -> &'static str {
    use TopicError::*;
    use VersionName::{V311, V5};
    match (e, v) {
        (Empty, _) => "MQTT-4.7.3-1",
        (TooLong, _) => "MQTT-4.7.3-3",
        (NullCharacter, _) => "MQTT-4.7.3-2",
        (WildcardInName, V311) => "MQTT-4.7.1-1",
        (WildcardInName, V5) => "MQTT-4.7.0-1",
        (MultiLevelNotLast, V311) => "MQTT-4.7.1-2",
        (MultiLevelNotLast, V5) => "MQTT-4.7.1-1",
        (SingleLevelNotAlone, V311) => "MQTT-4.7.1-3",
        (SingleLevelNotAlone, V5) => "MQTT-4.7.1-2",
        (SharedEmptyGroup, _) => "MQTT-4.8.2-1",
        (SharedGroupWildcard | SharedNoFilter, _) => "MQTT-4.8.2-2",
    }
}

/// `what` (e.g. "topic filter") `s`, checked by `check` on each version;
/// one message per distinct way it is wrong.
fn judge(
    what: &str,
    s: &str,
    versions: &[VersionName],
    check: impl Fn(VersionName) -> Result<(), TopicError>,
) -> Result<(), String> {
    let failing: Vec<(VersionName, TopicError)> = versions
        .iter()
        .filter_map(|&v| check(v).err().map(|e| (v, e)))
        .collect();
    let Some(&(_, first)) = failing.first() else {
        return Ok(());
    };
    let shown = if s.len() > 60 {
        let cut = (0..=40).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
        format!("{:?}... ({} bytes)", &s[..cut], s.len())
    } else {
        format!("{s:?}")
    };
    if failing.len() == versions.len() && failing.iter().all(|(_, e)| *e == first) {
        let (a, b) = (rule(first, VersionName::V311), rule(first, VersionName::V5));
        return Err(format!("{what} {shown} {first}{}", cite(versions, a, b)));
    }
    // Only some versions refuse it (a malformed `$share/...` is an ordinary
    // filter in 3.1.1), or each for its own reason.
    let parts: Vec<String> = failing
        .iter()
        .map(|&(v, e)| {
            format!(
                "{what} {shown} {e} in MQTT {}{}",
                v.protocol(),
                cite(&[v], rule(e, v), rule(e, v))
            )
        })
        .collect();
    Err(parts.join("; "))
}

/// A topic name as a PUBLISH (or a will) carries it.
pub(crate) fn name(s: &str, versions: &[VersionName]) -> Result<(), String> {
    judge("topic name", s, versions, |_| topic::validate_name(s))
}

/// A topic filter as a SUBSCRIBE or UNSUBSCRIBE carries it; `$share/...` is
/// a shared subscription in 5.0 only.
pub(crate) fn filter(s: &str, versions: &[VersionName]) -> Result<(), String> {
    judge("topic filter", s, versions, |v| {
        topic::validate_filter(s, v == VersionName::V5)
    })
}

/// A topic filter read as an ordinary one on every version (a broker's
/// setting, a workload's subscription: never a shared subscription).
pub(crate) fn plain_filter(s: &str, versions: &[VersionName]) -> Result<(), String> {
    judge("topic filter", s, versions, |_| {
        topic::validate_filter(s, false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use VersionName::{V311, V5};

    #[test]
    fn every_cited_rule_is_a_statement_of_its_version() {
        use TopicError::*;
        for e in [
            Empty,
            TooLong,
            NullCharacter,
            WildcardInName,
            MultiLevelNotLast,
            SingleLevelNotAlone,
            SharedEmptyGroup,
            SharedGroupWildcard,
            SharedNoFilter,
        ] {
            for v in [V311, V5] {
                if v == V311 && matches!(e, SharedEmptyGroup | SharedGroupWildcard | SharedNoFilter)
                {
                    continue;
                }
                let id = rule(e, v);
                assert!(
                    crate::spec::statement(v.protocol(), id).is_some(),
                    "{id} is not a statement of {v}"
                );
            }
        }
    }

    #[test]
    fn messages_name_the_rule_of_each_version() {
        assert_eq!(
            filter("a/#/b", &[V311, V5]).unwrap_err(),
            "topic filter \"a/#/b\" has '#' other than alone in the last level \
             [MQTT-4.7.1-2 in 3.1.1, MQTT-4.7.1-1 in 5.0]"
        );
        assert_eq!(
            name("a/+", &[V5]).unwrap_err(),
            "topic name \"a/+\" contains a wildcard [MQTT-4.7.0-1]"
        );
        assert_eq!(
            filter("$share/g", &[V311, V5]).unwrap_err(),
            "topic filter \"$share/g\" has no topic filter after the share name in MQTT 5.0 \
             [MQTT-4.8.2-2]"
        );
        assert!(filter("$share/g", &[V311]).is_ok());
        assert!(name("", &[V311]).unwrap_err().contains("[MQTT-4.7.3-1]"));
        assert!(name("a\0b", &[V311])
            .unwrap_err()
            .contains("[MQTT-4.7.3-2]"));
        let long = "a".repeat(70_000);
        assert!(filter(&long, &[V5])
            .unwrap_err()
            .contains("(70000 bytes) is longer"));
        assert!(filter("a/+/#", &[V311, V5]).is_ok());
    }
}
