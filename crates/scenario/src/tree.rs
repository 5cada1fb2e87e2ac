//! A YAML document as a tree of located nodes: the one place that knows
//! where each key and value of a file is. The model is read from it (see
//! [`crate::de`]) and every mistake found later is placed through it, so an
//! error points at the offending value itself (the `3` of `qos: 3`, the
//! `cutt` of `pick: [cutt]`) rather than at the step or the file.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// Where a node starts: 1-based line and column; 0 when unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

impl Pos {
    pub const UNKNOWN: Pos = Pos { line: 0, column: 0 };

    pub fn line(self) -> u64 {
        self.line
    }

    pub fn column(self) -> u64 {
        self.column
    }

    pub fn is_known(self) -> bool {
        self.line > 0
    }
}

/// A node of the document.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub pos: Pos,
    /// Unique in its tree (clones keep it): errors name the node they are
    /// about by it.
    pub id: u32,
    pub value: Value,
    /// A scalar as written in the file (`0x87`, `yes`, `007`): what a
    /// string field takes from a plain scalar YAML would read as a number
    /// or a boolean. For strings, the string.
    pub text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Uint(u64),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The value under `key` in a map.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()
            .iter()
            .find(|(k, _)| k.text == key)
            .map(|(_, v)| v)
    }

    /// The key node `key` itself in a map.
    pub fn key(&self, key: &str) -> Option<&Node> {
        self.entries()
            .iter()
            .find(|(k, _)| k.text == key)
            .map(|(k, _)| k)
    }

    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Uint(_) | Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a map",
        }
    }

    /// The node with this id, and the way to it from here: each step is
    /// the index of a list item or of a map entry.
    pub fn path_to(&self, id: u32) -> Option<Vec<usize>> {
        if self.id == id {
            return Some(Vec::new());
        }
        let found = |i: usize, n: &Node| {
            n.path_to(id).map(|mut p| {
                p.insert(0, i);
                p
            })
        };
        match &self.value {
            Value::Seq(items) => items.iter().enumerate().find_map(|(i, n)| found(i, n)),
            Value::Map(entries) => entries.iter().enumerate().find_map(|(i, (k, v))| {
                // A key counts as its entry.
                if k.id == id {
                    Some(vec![i])
                } else {
                    found(i, v)
                }
            }),
            _ => None,
        }
    }

    /// The node at `path` (as [`Node::path_to`] gives it).
    pub fn at_path(&self, path: &[usize]) -> Option<&Node> {
        let Some((&first, rest)) = path.split_first() else {
            return Some(self);
        };
        let child = match &self.value {
            Value::Seq(items) => items.get(first)?,
            Value::Map(entries) => &entries.get(first)?.1,
            _ => return None,
        };
        child.at_path(rest)
    }

    /// Takes out the list item or map entry at `path` (not the root);
    /// for a map entry, gives its key.
    pub fn remove(&mut self, path: &[usize]) -> Option<Removed> {
        let (&last, parent) = path.split_last()?;
        let mut node = self;
        for &i in parent {
            node = match &mut node.value {
                Value::Seq(items) => items.get_mut(i)?,
                Value::Map(entries) => &mut entries.get_mut(i)?.1,
                _ => return None,
            };
        }
        let parent_id = node.id;
        match &mut node.value {
            Value::Seq(items) if last < items.len() => {
                items.remove(last);
                Some(Removed {
                    parent: parent_id,
                    key: None,
                })
            }
            Value::Map(entries) if last < entries.len() => {
                let (k, _) = entries.remove(last);
                Some(Removed {
                    parent: parent_id,
                    key: Some(k.text),
                })
            }
            _ => None,
        }
    }
}

/// What [`Node::remove`] took out: from which node, under which key.
pub struct Removed {
    pub parent: u32,
    pub key: Option<String>,
}

/// A place in a document for a message: a node, found by keys and indices
/// from another; a key or index that is not there leaves the place where
/// it was (the nearest node that exists), so a message always has one.
#[derive(Clone, Copy)]
pub struct Place<'t> {
    pub node: &'t Node,
    exact: bool,
}

impl<'t> Place<'t> {
    pub fn new(node: &'t Node) -> Place<'t> {
        Place { node, exact: true }
    }

    fn step(self, next: Option<&'t Node>) -> Place<'t> {
        match next {
            Some(node) if self.exact => Place { node, exact: true },
            _ => Place {
                node: self.node,
                exact: false,
            },
        }
    }

    /// The value under `key`.
    pub fn get(self, key: &str) -> Place<'t> {
        self.step(self.node.get(key))
    }

    /// The key `key` itself (a topic filter of `subscribe`, a client name).
    pub fn key(self, key: &str) -> Place<'t> {
        self.step(self.node.key(key))
    }

    pub fn item(self, i: usize) -> Place<'t> {
        self.step(self.node.items().get(i))
    }

    pub fn pos(self) -> Pos {
        self.node.pos
    }
}

/// Reads `text` as one YAML document into a tree. Only YAML itself can
/// fail here (syntax, duplicate keys, several documents); the error is the
/// parser's, with its location.
pub fn parse(text: &str) -> Result<Node, serde_saphyr::Error> {
    let raw: Spanned<Raw> = serde_saphyr::from_str(text)?;
    let mut next_id = 0;
    Ok(build(raw, text, &mut next_id))
}

/// The tree as the YAML parser gives it, each node with its location.
enum Raw {
    Null,
    Bool(bool),
    Uint(u64),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<Raw>, Spanned<Raw>)>),
}

fn build(raw: Spanned<Raw>, text: &str, next_id: &mut u32) -> Node {
    let id = *next_id;
    *next_id += 1;
    let pos = Pos {
        line: raw.referenced.line(),
        column: raw.referenced.column(),
    };
    // An alias is written `*name`; its value is where it was defined.
    let span = raw.defined.span();
    let written = span
        .byte_offset()
        .and_then(|start| {
            let start = usize::try_from(start).ok()?;
            let end = start.checked_add(usize::try_from(span.len()).ok()?)?;
            text.get(start..end)
        })
        .unwrap_or("")
        .to_owned();
    let (value, text_of) = match raw.value {
        Raw::Null => (Value::Null, written),
        Raw::Bool(b) => (Value::Bool(b), written),
        Raw::Uint(n) => (Value::Uint(n), written),
        Raw::Int(n) => (Value::Int(n), written),
        Raw::Float(f) => (Value::Float(f), written),
        Raw::Str(s) => (Value::Str(s.clone()), s),
        Raw::Seq(items) => (
            Value::Seq(items.into_iter().map(|n| build(n, text, next_id)).collect()),
            String::new(),
        ),
        Raw::Map(entries) => (
            Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (build(k, text, next_id), build(v, text, next_id)))
                    .collect(),
            ),
            String::new(),
        ),
    };
    Node {
        pos,
        id,
        value,
        text: text_of,
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Raw;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_unit<E>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_none<E>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
                Raw::deserialize(d)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Raw, E> {
                Ok(Raw::Bool(b))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Raw, E> {
                Ok(Raw::Uint(n))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Raw, E> {
                Ok(Raw::Int(n))
            }
            fn visit_u128<E: de::Error>(self, n: u128) -> Result<Raw, E> {
                Ok(u64::try_from(n).map_or(Raw::Float(n as f64), Raw::Uint))
            }
            fn visit_i128<E: de::Error>(self, n: i128) -> Result<Raw, E> {
                Ok(i64::try_from(n).map_or(Raw::Float(n as f64), Raw::Int))
            }
            fn visit_f64<E>(self, f: f64) -> Result<Raw, E> {
                Ok(Raw::Float(f))
            }
            fn visit_str<E>(self, s: &str) -> Result<Raw, E> {
                Ok(Raw::Str(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<Raw, E> {
                Ok(Raw::Str(s))
            }
            fn visit_bytes<E>(self, b: &[u8]) -> Result<Raw, E> {
                Ok(Raw::Str(String::from_utf8_lossy(b).into_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Raw::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Raw::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_know_where_they_are_and_how_they_were_written() {
        let text = "a: { qos: 0x2, t: \"x\" }\nb:\n  - yes\n  - *c\n";
        assert!(parse(text).is_err(), "an unknown alias is a YAML error");
        let text = "a: &c { qos: 0x2, t: \"x\" }\nb:\n  - yes\n  - *c\n";
        let root = parse(text).expect("parses");
        let qos = root.get("a").and_then(|a| a.get("qos")).expect("qos");
        assert_eq!((qos.pos.line, qos.pos.column), (1, 14));
        assert_eq!((&qos.value, qos.text.as_str()), (&Value::Uint(2), "0x2"));
        let yes = &root.get("b").expect("b").items()[0];
        assert_eq!((&yes.value, yes.text.as_str()), (&Value::Bool(true), "yes"));
        // The alias is placed where it is used, and reads as its definition.
        let alias = &root.get("b").expect("b").items()[1];
        assert_eq!(alias.pos.line, 4);
        assert_eq!(alias.get("qos").map(|n| n.text.as_str()), Some("0x2"));
    }

    #[test]
    fn paths_find_and_remove_nodes() {
        let mut root = parse("a: [1, {b: 2}]\nc: 3\n").expect("parses");
        let b = root.get("a").expect("a").items()[1].get("b").expect("b").id;
        let path = root.path_to(b).expect("found");
        assert_eq!(path, vec![0, 1, 0]);
        assert_eq!(root.at_path(&path).map(|n| n.text.as_str()), Some("2"));
        let removed = root.remove(&path).expect("removed");
        assert_eq!(removed.key.as_deref(), Some("b"));
        assert!(root.get("a").expect("a").items()[1].entries().is_empty());
        assert!(root.remove(&[]).is_none(), "the root stays");
    }

    #[test]
    fn a_place_stays_at_the_nearest_node() {
        let root = parse("s:\n  - x: { publish: { qos: 3 } }\n").expect("parses");
        let step = Place::new(&root).get("s").item(0);
        assert_eq!(step.get("x").get("publish").get("qos").pos().line, 2);
        assert_eq!(step.get("x").get("publish").get("qos").node.text, "3");
        // `nope` is not there: the place stays at the step, even though
        // its map has a `x`.
        let missing = step.get("nope").get("x");
        assert_eq!(missing.node.id, step.node.id);
        assert_eq!(step.key("x").node.text, "x");
    }
}
