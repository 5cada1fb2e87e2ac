//! Raw bytes with slots: the hex a scenario sends as it is, where the
//! lengths are worked out when the bytes are written and the names (topics,
//! filters, client ids) are marked, so that a run on a shared broker can put
//! its own prefix in front of them without breaking a single length.
//!
//! ```text
//! 30 {len} {topic 'salon' C3 28} '21'     PUBLISH to "salon" + C3 28, payload "21"
//! 82 {len} 00 01 {props} {filter 'a/#'} 01  5.0 SUBSCRIBE with no properties
//! C0 {len:2} 'x'                          PINGREQ, Remaining Length 1 written 81 00
//! ```
//!
//! - hex bytes (whitespace between them ignored) and `'text'` (its UTF-8);
//! - `{len}`: the Remaining Length of every byte after it, minimally
//!   encoded; `{len:N}` the same value in N bytes (not minimal when N is more
//!   than it needs); `{len+K}` / `{len-K}` a value K more or less than that;
//! - `{str …}`: a two-byte length and the bytes; `{topic …}`, `{filter …}`
//!   and `{client_id …}` are the same, marked as a name a run may prefix;
//! - `{props …}`: a 5.0 Property Length (a Variable Byte Integer) and the
//!   properties.
//!
//! Slots nest: `{props 08 {topic 'r'}}`. Plain hex (no slot) stays as it is.

use std::fmt::Write as _;

/// What a string slot holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Name {
    Plain,
    Topic,
    Filter,
    ClientId,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Bytes(Vec<u8>),
    /// The Remaining Length of the rest of the template.
    Len {
        adjust: i64,
        width: Option<u8>,
    },
    Str(Name, Vec<Piece>),
    Props(Vec<Piece>),
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Reads a template; the error says what is wrong and at which
    /// character (1-based).
    pub fn parse(text: &str) -> Result<Template, String> {
        let chars: Vec<char> = text.chars().collect();
        let mut at = 0;
        let pieces = parse_seq(&chars, &mut at, false)?;
        let lens = count_lens(&pieces);
        if lens > 1 {
            return Err(format!(
                "{lens} `{{len}}` slots: a template is one packet and has at most one"
            ));
        }
        if pieces
            .iter()
            .any(|p| matches!(p, Piece::Str(_, body) | Piece::Props(body) if any_len(body)))
        {
            return Err(
                "`{len}` stands at the top level, not inside a string or properties".into(),
            );
        }
        Ok(Template { pieces })
    }

    /// Whether it has slots (lengths worked out, names marked) rather than
    /// being plain bytes.
    pub fn has_slots(&self) -> bool {
        self.pieces.iter().any(|p| !matches!(p, Piece::Bytes(_)))
    }

    /// The bytes, lengths filled in.
    pub fn render(&self) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        render_seq(&self.pieces, &mut out)?;
        Ok(out)
    }

    /// Puts `topic_prefix` in front of every topic and filter (after the
    /// share name of a `$share/<group>/` filter) and `client_prefix` in
    /// front of every client id. An empty name stays empty.
    pub fn prefixed(&self, topic_prefix: &str, client_prefix: &str) -> Result<Template, String> {
        Ok(Template {
            pieces: prefix_seq(&self.pieces, topic_prefix, client_prefix)?,
        })
    }
}

impl Template {
    /// The topic names in topic slots (response topics included), as
    /// rendered: where a run may have left a retained message.
    pub fn topics(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        topics_in(&self.pieces, &mut out);
        out
    }
}

fn topics_in(pieces: &[Piece], out: &mut Vec<Vec<u8>>) {
    for p in pieces {
        match p {
            Piece::Str(Name::Topic, body) => {
                let mut b = Vec::new();
                if render_seq(body, &mut b).is_ok() {
                    out.push(b);
                }
            }
            Piece::Props(body) => topics_in(body, out),
            _ => {}
        }
    }
}

impl std::fmt::Display for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&show_seq(&self.pieces))
    }
}

fn count_lens(pieces: &[Piece]) -> usize {
    pieces
        .iter()
        .filter(|p| matches!(p, Piece::Len { .. }))
        .count()
}

fn any_len(pieces: &[Piece]) -> bool {
    pieces.iter().any(|p| match p {
        Piece::Len { .. } => true,
        Piece::Str(_, body) | Piece::Props(body) => any_len(body),
        Piece::Bytes(_) => false,
    })
}

fn err_at(at: usize, what: impl std::fmt::Display) -> String {
    format!("character {}: {what}", at + 1)
}

fn parse_seq(chars: &[char], at: &mut usize, nested: bool) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut bytes = Vec::new();
    let flush = |bytes: &mut Vec<u8>, pieces: &mut Vec<Piece>| {
        if !bytes.is_empty() {
            pieces.push(Piece::Bytes(std::mem::take(bytes)));
        }
    };
    while *at < chars.len() {
        let c = chars[*at];
        match c {
            c if c.is_whitespace() => *at += 1,
            '}' if nested => {
                *at += 1;
                flush(&mut bytes, &mut pieces);
                return Ok(pieces);
            }
            '}' => return Err(err_at(*at, "`}` with no `{` before it")),
            '\'' => {
                let start = *at;
                *at += 1;
                let mut text = String::new();
                loop {
                    match chars.get(*at) {
                        None => return Err(err_at(start, "text not closed with `'`")),
                        Some('\'') => break,
                        Some(&c) => text.push(c),
                    }
                    *at += 1;
                }
                *at += 1;
                bytes.extend_from_slice(text.as_bytes());
            }
            '{' => {
                flush(&mut bytes, &mut pieces);
                pieces.push(parse_slot(chars, at)?);
            }
            c if c.is_ascii_hexdigit() => {
                let Some(d) = chars.get(*at + 1).filter(|d| d.is_ascii_hexdigit()) else {
                    return Err(err_at(
                        *at,
                        format!("`{c}` is half a byte: hex comes in pairs"),
                    ));
                };
                let pair: String = [c, *d].iter().collect();
                bytes.push(u8::from_str_radix(&pair, 16).expect("two hex digits"));
                *at += 2;
            }
            c => {
                return Err(err_at(
                    *at,
                    format!("`{c}` is not hex, `'text'` or a `{{slot}}`"),
                ))
            }
        }
    }
    if nested {
        return Err(err_at(
            chars.len().saturating_sub(1),
            "a slot not closed with `}`",
        ));
    }
    flush(&mut bytes, &mut pieces);
    Ok(pieces)
}

fn parse_slot(chars: &[char], at: &mut usize) -> Result<Piece, String> {
    let start = *at;
    *at += 1;
    let mut word = String::new();
    while let Some(&c) = chars.get(*at) {
        if c.is_whitespace() || c == '}' {
            break;
        }
        word.push(c);
        *at += 1;
    }
    let name = match word.as_str() {
        "str" => Some(Name::Plain),
        "topic" => Some(Name::Topic),
        "filter" => Some(Name::Filter),
        "client_id" => Some(Name::ClientId),
        _ => None,
    };
    if let Some(name) = name {
        return Ok(Piece::Str(name, parse_seq(chars, at, true)?));
    }
    if word == "props" {
        return Ok(Piece::Props(parse_seq(chars, at, true)?));
    }
    let Some(rest) = word.strip_prefix("len") else {
        return Err(err_at(
            start,
            format!(
                "unknown slot `{{{word}`: expected len, str, topic, filter, client_id or props"
            ),
        ));
    };
    let bad = || {
        err_at(
            start,
            format!("`{{{word}}}`: expected {{len}}, {{len:N}}, {{len+K}} or {{len-K}}"),
        )
    };
    let (adjust, width) = if rest.is_empty() {
        (0, None)
    } else if let Some(n) = rest.strip_prefix(':') {
        let n: u8 = n.parse().map_err(|_| bad())?;
        if !(1..=5).contains(&n) {
            return Err(err_at(start, "a Remaining Length takes 1 to 5 bytes here"));
        }
        (0, Some(n))
    } else if let Some(k) = rest.strip_prefix('+') {
        (k.parse::<i64>().map_err(|_| bad())?, None)
    } else if let Some(k) = rest.strip_prefix('-') {
        (-k.parse::<i64>().map_err(|_| bad())?, None)
    } else {
        return Err(bad());
    };
    // `{len}` takes nothing inside.
    while chars.get(*at).is_some_and(|c| c.is_whitespace()) {
        *at += 1;
    }
    if chars.get(*at) != Some(&'}') {
        return Err(err_at(*at, "`{len…}` takes nothing inside"));
    }
    *at += 1;
    Ok(Piece::Len { adjust, width })
}

fn render_seq(pieces: &[Piece], out: &mut Vec<u8>) -> Result<(), String> {
    for (i, p) in pieces.iter().enumerate() {
        match p {
            Piece::Bytes(b) => out.extend_from_slice(b),
            Piece::Str(_, body) => {
                let mut inner = Vec::new();
                render_seq(body, &mut inner)?;
                let n = u16::try_from(inner.len())
                    .map_err(|_| format!("a string of {} bytes: at most 65,535", inner.len()))?;
                out.extend_from_slice(&n.to_be_bytes());
                out.extend_from_slice(&inner);
            }
            Piece::Props(body) => {
                let mut inner = Vec::new();
                render_seq(body, &mut inner)?;
                varint(out, inner.len() as u64, None)?;
                out.extend_from_slice(&inner);
            }
            Piece::Len { adjust, width } => {
                let mut rest = Vec::new();
                render_seq(&pieces[i + 1..], &mut rest)?;
                let value = rest.len() as i64 + adjust;
                let value = u64::try_from(value)
                    .map_err(|_| format!("Remaining Length {value}: below zero"))?;
                varint(out, value, *width)?;
                out.extend_from_slice(&rest);
                return Ok(());
            }
        }
    }
    Ok(())
}

/// A Variable Byte Integer, in `width` bytes if given.
fn varint(out: &mut Vec<u8>, value: u64, width: Option<u8>) -> Result<(), String> {
    let mut groups = Vec::new();
    let mut v = value;
    loop {
        groups.push((v & 0x7F) as u8);
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    if let Some(w) = width {
        let w = usize::from(w);
        if groups.len() > w {
            return Err(format!(
                "Remaining Length {value} does not fit in {w} bytes"
            ));
        }
        groups.resize(w, 0);
    }
    let last = groups.len() - 1;
    for (i, g) in groups.iter().enumerate() {
        out.push(if i < last { g | 0x80 } else { *g });
    }
    Ok(())
}

fn prefix_seq(pieces: &[Piece], topic: &str, client: &str) -> Result<Vec<Piece>, String> {
    pieces
        .iter()
        .map(|p| {
            Ok(match p {
                Piece::Str(name, body) => {
                    let mut bytes = Vec::new();
                    render_seq(body, &mut bytes)?;
                    let prefixed = match name {
                        Name::Plain => {
                            return Ok(Piece::Str(*name, prefix_seq(body, topic, client)?))
                        }
                        _ if bytes.is_empty() => bytes,
                        Name::Topic => [topic.as_bytes(), &bytes].concat(),
                        Name::ClientId => [client.as_bytes(), &bytes].concat(),
                        Name::Filter => share_prefixed(&bytes, topic),
                    };
                    Piece::Str(*name, vec![Piece::Bytes(prefixed)])
                }
                Piece::Props(body) => Piece::Props(prefix_seq(body, topic, client)?),
                other => other.clone(),
            })
        })
        .collect()
}

/// `$share/<group>/<filter>` keeps its share name in front.
fn share_prefixed(filter: &[u8], topic: &str) -> Vec<u8> {
    if let Some(rest) = filter.strip_prefix(b"$share/") {
        if let Some(slash) = rest.iter().position(|b| *b == b'/') {
            let (group, f) = rest.split_at(slash + 1);
            return [b"$share/", group, topic.as_bytes(), f].concat();
        }
    }
    [topic.as_bytes(), filter].concat()
}

fn show_seq(pieces: &[Piece]) -> String {
    let mut parts = Vec::new();
    for p in pieces {
        parts.push(match p {
            Piece::Bytes(b) => show_bytes(b),
            Piece::Len { adjust, width } => match (adjust, width) {
                (_, Some(w)) => format!("{{len:{w}}}"),
                (0, None) => "{len}".into(),
                (k, None) if *k > 0 => format!("{{len+{k}}}"),
                (k, None) => format!("{{len{k}}}"),
            },
            Piece::Str(name, body) => {
                let word = match name {
                    Name::Plain => "str",
                    Name::Topic => "topic",
                    Name::Filter => "filter",
                    Name::ClientId => "client_id",
                };
                slot(word, body)
            }
            Piece::Props(body) => slot("props", body),
        });
    }
    parts.join(" ")
}

fn slot(word: &str, body: &[Piece]) -> String {
    let inner = show_seq(body);
    if inner.is_empty() {
        format!("{{{word}}}")
    } else {
        format!("{{{word} {inner}}}")
    }
}

/// Printable ASCII runs as `'text'`, the rest as hex.
fn show_bytes(b: &[u8]) -> String {
    let printable = |c: &u8| (0x20..0x7F).contains(c) && *c != b'\'';
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let run = b[i..].iter().take_while(|c| printable(c)).count();
        if !out.is_empty() {
            out.push(' ');
        }
        if run >= 2 {
            out.push('\'');
            out.push_str(std::str::from_utf8(&b[i..i + run]).expect("ASCII"));
            out.push('\'');
            i += run;
        } else {
            let _ = write!(out, "{:02X}", b[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(t: &str) -> Vec<u8> {
        Template::parse(t).unwrap().render().unwrap()
    }

    #[test]
    fn plain_hex_is_itself() {
        assert_eq!(
            bytes("30 05 00 01 61 68 69"),
            [0x30, 5, 0, 1, 0x61, 0x68, 0x69]
        );
        assert!(!Template::parse("30 05").unwrap().has_slots());
    }

    #[test]
    fn lengths_are_worked_out() {
        assert_eq!(
            bytes("30 {len} {topic 'ab' C3 28} '21'"),
            [0x30, 8, 0, 4, b'a', b'b', 0xC3, 0x28, b'2', b'1']
        );
        assert_eq!(bytes("C0 {len:2} 'x'"), [0xC0, 0x81, 0x00, b'x']);
        assert_eq!(bytes("C0 {len+1}"), [0xC0, 1]);
        assert_eq!(bytes("40 {len-1} 00 01"), [0x40, 1, 0, 1]);
        assert_eq!(bytes("{props 03 {str 'a'}}"), [4, 3, 0, 1, b'a']);
        let big = format!("30 {{len}} {{topic '{}'}}", "a".repeat(200));
        assert_eq!(&bytes(&big)[..3], [0x30, 0xCA, 0x01]);
    }

    #[test]
    fn prefixes_go_in_front_of_names_only() {
        let t = Template::parse(
            "10 {len} {client_id 'c'} {str 'u'} {topic 'a'} {filter '$share/g/a/#'} {filter ''}",
        )
        .unwrap();
        let p = t.prefixed("g/t/", "t-").unwrap();
        assert_eq!(
            p.render().unwrap(),
            bytes("10 {len} {str 't-c'} {str 'u'} {str 'g/t/a'} {str '$share/g/g/t/a/#'} {str}")
        );
        // What is shown reads back as the same template.
        assert_eq!(
            Template::parse(&p.to_string()).unwrap().render(),
            p.render()
        );
    }

    #[test]
    fn mistakes_are_named_with_their_place() {
        let e = |t: &str| Template::parse(t).unwrap_err();
        assert!(e("30 0").contains("character 4"), "{}", e("30 0"));
        assert!(e("30 {lenx}").contains("{len:N}"));
        assert!(e("30 {topic 'a'").contains("not closed"));
        assert!(e("{len} {len}").contains("at most one"));
        assert!(e("{str {len}}").contains("top level"));
        assert!(e("30 {nope}").contains("unknown slot"));
        assert!(e("'abc").contains("not closed"));
        assert!(Template::parse("C0 {len-1}").unwrap().render().is_err());
        assert!(Template::parse("C0 {len:1} {str '…'}").is_ok());
    }
}
