//! Runs on a shared broker carry a prefix (`gauntlet/<tag>/` before their
//! topics, `<tag>-` before client ids); reports take a run's own prefix out
//! so that what they show reads as the scenario does.

/// `text` without its run's own prefix (`gauntlet/<tag>/` before topics,
/// on a shared broker), so it reads as the scenario does; another run's
/// prefix stays, since a message from another run is news. Without a
/// known tag, every prefix goes.
pub fn unprefixed_as(text: &str, tag: Option<&str>) -> String {
    match tag {
        Some(tag) => text.replace(&format!("gauntlet/{tag}/"), ""),
        None => unprefixed(text),
    }
}

/// `text` without any run's prefix (`gauntlet/<tag>/` before topics).
pub fn unprefixed(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("gauntlet/") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "gauntlet/".len()..];
        let tag_len = after
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(after.len());
        if tag_len > 0 && after[tag_len..].starts_with('/') {
            rest = &after[tag_len + 1..];
        } else {
            out.push_str("gauntlet/");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_prefixes_are_taken_out_of_reasons() {
        assert_eq!(
            unprefixed("topic is \"gauntlet/gab12/maison/x\", expected \"gauntlet/gab12/a\""),
            "topic is \"maison/x\", expected \"a\""
        );
        assert_eq!(unprefixed("gauntlet/ alone"), "gauntlet/ alone");
        // Only the run's own prefix goes when its tag is known: a message
        // of another run on the same broker shows where it came from.
        assert_eq!(
            unprefixed_as(
                "got \"gauntlet/gab13/x\", expected \"gauntlet/gab12/x\"",
                Some("gab12")
            ),
            "got \"gauntlet/gab13/x\", expected \"x\""
        );
    }
}
