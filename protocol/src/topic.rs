//! Topic names and filters (MQTT 3.1.1 §4.7, MQTT 5.0 §4.7, §4.8.2): validation
//! and matching.

use std::fmt;

/// Why a topic name or filter is not valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopicError {
    /// MQTT-4.7.3-1: at least one character.
    Empty,
    /// MQTT-4.7.3-3: at most 65535 bytes.
    TooLong,
    /// MQTT-4.7.3-2.
    NullCharacter,
    /// MQTT-4.7.1-1 (3.1.1) / MQTT-4.7.0-1 (5.0): no wildcards in a name.
    WildcardInName,
    /// `#` not alone in the last level.
    MultiLevelNotLast,
    /// `+` sharing a level with other characters.
    SingleLevelNotAlone,
    /// `$share/` without a ShareName (MQTT-4.8.2-1).
    SharedEmptyGroup,
    /// ShareName containing `+` or `#` (MQTT-4.8.2-2).
    SharedGroupWildcard,
    /// `$share/group` with no `/filter` after it (MQTT-4.8.2-2).
    SharedNoFilter,
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TopicError::Empty => "is empty",
            TopicError::TooLong => "is longer than 65535 bytes",
            TopicError::NullCharacter => "contains U+0000",
            TopicError::WildcardInName => "contains a wildcard",
            TopicError::MultiLevelNotLast => "has '#' other than alone in the last level",
            TopicError::SingleLevelNotAlone => "has '+' sharing a level",
            TopicError::SharedEmptyGroup => "has an empty share name",
            TopicError::SharedGroupWildcard => "has a wildcard in its share name",
            TopicError::SharedNoFilter => "has no topic filter after the share name",
        })
    }
}

impl std::error::Error for TopicError {}

pub(crate) fn has_wildcard(s: &str) -> bool {
    s.bytes().any(|b| b == b'+' || b == b'#')
}

fn check_common(s: &str) -> Result<(), TopicError> {
    if s.is_empty() {
        return Err(TopicError::Empty);
    }
    if s.len() > usize::from(u16::MAX) {
        return Err(TopicError::TooLong);
    }
    if s.contains('\0') {
        return Err(TopicError::NullCharacter);
    }
    Ok(())
}

/// A topic name as PUBLISH carries it: non-empty, no wildcards.
pub fn validate_name(name: &str) -> Result<(), TopicError> {
    check_common(name)?;
    if has_wildcard(name) {
        return Err(TopicError::WildcardInName);
    }
    Ok(())
}

/// A topic filter as SUBSCRIBE carries it. With `shared`, a `$share/...`
/// filter is checked as a shared subscription (MQTT 5.0); without, it is an
/// ordinary filter (MQTT 3.1.1 has no shared subscriptions).
pub fn validate_filter(filter: &str, shared: bool) -> Result<(), TopicError> {
    check_common(filter)?;
    let filter = if shared {
        match SharedFilter::parse(filter)? {
            Some(s) => s.filter,
            None => filter,
        }
    } else {
        filter
    };
    check_common(filter)?;
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        if level.contains('#') && (level != "#" || levels.peek().is_some()) {
            return Err(TopicError::MultiLevelNotLast);
        }
        if level.contains('+') && level != "+" {
            return Err(TopicError::SingleLevelNotAlone);
        }
    }
    Ok(())
}

/// A shared subscription `$share/{group}/{filter}` (MQTT 5.0 §4.8.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharedFilter<'a> {
    pub group: &'a str,
    pub filter: &'a str,
}

impl<'a> SharedFilter<'a> {
    /// `Ok(None)` when the filter is not a shared subscription at all.
    pub fn parse(filter: &'a str) -> Result<Option<SharedFilter<'a>>, TopicError> {
        let Some(rest) = filter.strip_prefix("$share/") else {
            return Ok(None);
        };
        let Some((group, inner)) = rest.split_once('/') else {
            return Err(if rest.is_empty() {
                TopicError::SharedEmptyGroup
            } else {
                TopicError::SharedNoFilter
            });
        };
        if group.is_empty() {
            return Err(TopicError::SharedEmptyGroup);
        }
        if has_wildcard(group) {
            return Err(TopicError::SharedGroupWildcard);
        }
        if inner.is_empty() {
            return Err(TopicError::SharedNoFilter);
        }
        Ok(Some(SharedFilter {
            group,
            filter: inner,
        }))
    }
}

/// Whether `filter` matches the topic name `name` (§4.7). The filter must be
/// valid and not a shared subscription (match its inner filter instead).
///
/// `#` matches its parent level too (`a/#` matches `a`), and a filter that
/// starts with a wildcard never matches a name starting with `$` (MQTT-4.7.2-1).
pub fn matches(filter: &str, name: &str) -> bool {
    if name.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut n = name.split('/');
    loop {
        match (f.next(), n.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(fl), Some(nl)) if fl == nl => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples_of_multi_level_wildcard() {
        // MQTT 3.1.1 §4.7.1.2 / 5.0 §4.7.1.2.
        for name in [
            "sport/tennis/player1",
            "sport/tennis/player1/ranking",
            "sport/tennis/player1/score/wimbledon",
        ] {
            assert!(matches("sport/tennis/player1/#", name), "{name}");
        }
        assert!(matches("sport/#", "sport"), "# matches the parent level");
        assert!(matches("#", "anything/at/all"));
        assert_eq!(
            validate_filter("sport/tennis#", false),
            Err(TopicError::MultiLevelNotLast)
        );
        assert_eq!(
            validate_filter("sport/tennis/#/ranking", false),
            Err(TopicError::MultiLevelNotLast)
        );
    }

    #[test]
    fn spec_examples_of_single_level_wildcard() {
        assert!(matches("sport/tennis/+", "sport/tennis/player1"));
        assert!(!matches("sport/tennis/+", "sport/tennis/player1/ranking"));
        assert!(!matches("sport/+", "sport"));
        assert!(matches("sport/+", "sport/"));
        assert!(matches("+/+", "/finance"));
        assert!(matches("/+", "/finance"));
        assert!(!matches("+", "/finance"));
        assert!(validate_filter("+", false).is_ok());
        assert!(validate_filter("+/tennis/#", false).is_ok());
        assert_eq!(
            validate_filter("sport+", false),
            Err(TopicError::SingleLevelNotAlone)
        );
    }

    #[test]
    fn dollar_topics_are_not_matched_by_leading_wildcards() {
        assert!(!matches("#", "$SYS/broker/uptime"));
        assert!(!matches("+/monitor/Clients", "$SYS/monitor/Clients"));
        assert!(matches("$SYS/#", "$SYS/monitor/Clients"));
        assert!(matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
        assert!(matches("a/+", "a/$b"), "only a leading $ is special");
    }

    #[test]
    fn names_and_filters_are_case_sensitive_and_not_normalised() {
        assert!(!matches("ACCOUNTS", "Accounts"));
        assert!(!matches("a/b", "a/b/"));
        assert!(matches("a/ b", "a/ b"));
    }

    #[test]
    fn name_validation() {
        assert_eq!(validate_name(""), Err(TopicError::Empty));
        assert_eq!(validate_name("a/+"), Err(TopicError::WildcardInName));
        assert_eq!(validate_name("a/#"), Err(TopicError::WildcardInName));
        assert_eq!(validate_name("a\0b"), Err(TopicError::NullCharacter));
        assert_eq!(validate_name(&"x".repeat(65536)), Err(TopicError::TooLong));
        assert!(validate_name("/").is_ok());
        assert!(validate_name("maison/salon/température").is_ok());
    }

    #[test]
    fn shared_subscriptions() {
        let s = SharedFilter::parse("$share/consumers/maison/+/temperature")
            .unwrap()
            .unwrap();
        assert_eq!(s.group, "consumers");
        assert_eq!(s.filter, "maison/+/temperature");
        assert_eq!(
            SharedFilter::parse("$share//a"),
            Err(TopicError::SharedEmptyGroup)
        );
        assert_eq!(
            SharedFilter::parse("$share/"),
            Err(TopicError::SharedEmptyGroup)
        );
        assert_eq!(
            SharedFilter::parse("$share/g"),
            Err(TopicError::SharedNoFilter)
        );
        assert_eq!(
            SharedFilter::parse("$share/g/"),
            Err(TopicError::SharedNoFilter)
        );
        assert_eq!(
            SharedFilter::parse("$share/g+/a"),
            Err(TopicError::SharedGroupWildcard)
        );
        assert_eq!(SharedFilter::parse("$sharex/g/a"), Ok(None));
        assert_eq!(
            validate_filter("$share/g/a/#/b", true),
            Err(TopicError::MultiLevelNotLast)
        );
        // Without shared subscriptions (3.1.1) it is an ordinary filter.
        assert!(validate_filter("$share/g+/a", false).is_err());
        assert!(validate_filter("$share//a", false).is_ok());
    }
}
