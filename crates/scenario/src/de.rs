//! Reading the model from a [`crate::tree`]: a serde `Deserializer` whose
//! errors name the node they are about, so a wrong type, an unknown key or
//! an unknown name is reported at that very value. It reads scalars as the
//! YAML parser would for each type asked (a plain `yes` is `true` to a
//! boolean and "yes" to a string; `0x10` is 16 to a number), and
//! [`crate::Located`] values get their place in the file.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::located::{LocatedAccess, LOCATED};
use crate::tree::{Node, Pos, Value};

/// A deserialization error and the node it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeError {
    pub message: String,
    /// The node (its id in the tree), once known.
    pub node: Option<u32>,
    pub pos: Pos,
    /// For "missing field": the field, so that a loader that took a key out
    /// can tell its own doing from the author's.
    pub missing: Option<&'static str>,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

fn plain(message: String) -> DeError {
    DeError {
        message,
        node: None,
        pos: Pos::UNKNOWN,
        missing: None,
    }
}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> DeError {
        plain(msg.to_string())
    }

    fn invalid_type(unexp: de::Unexpected, exp: &dyn de::Expected) -> DeError {
        plain(format!("expected {exp}, found {unexp}"))
    }

    fn invalid_value(unexp: de::Unexpected, exp: &dyn de::Expected) -> DeError {
        plain(format!("expected {exp}, found {unexp}"))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> DeError {
        plain(if expected.is_empty() {
            format!("unknown field `{field}`: there are no fields here")
        } else {
            format!(
                "unknown field `{field}`, expected one of {}",
                expected.join(", ")
            )
        })
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> DeError {
        plain(format!(
            "unknown value {variant:?}; expected one of {}",
            expected.join(", ")
        ))
    }

    fn missing_field(field: &'static str) -> DeError {
        DeError {
            missing: Some(field),
            ..plain(format!("missing field `{field}`"))
        }
    }
}

/// Gives an error that names no node yet the node it came from.
pub(crate) fn at<T>(node: &Node, r: Result<T, DeError>) -> Result<T, DeError> {
    r.map_err(|mut e| {
        if e.node.is_none() {
            e.node = Some(node.id);
            e.pos = node.pos;
        }
        e
    })
}

/// `T` read from `node`.
pub fn from_node<T: de::DeserializeOwned>(node: &Node) -> Result<T, DeError> {
    at(node, T::deserialize(NodeDe(node)))
}

/// Deserializes from one node of the tree.
pub struct NodeDe<'a>(pub &'a Node);

impl NodeDe<'_> {
    fn unexpected(&self) -> de::Unexpected<'_> {
        match &self.0.value {
            Value::Null => de::Unexpected::Unit,
            Value::Bool(b) => de::Unexpected::Bool(*b),
            Value::Uint(n) => de::Unexpected::Unsigned(*n),
            Value::Int(n) => de::Unexpected::Signed(*n),
            Value::Float(f) => de::Unexpected::Float(*f),
            Value::Str(s) => de::Unexpected::Str(s),
            Value::Seq(_) => de::Unexpected::Seq,
            Value::Map(_) => de::Unexpected::Map,
        }
    }

    fn wrong(&self, expected: &str) -> DeError {
        let found = match &self.0.value {
            Value::Seq(_) | Value::Map(_) | Value::Null => self.0.kind().to_owned(),
            _ => format!("{:?}", self.0.text),
        };
        plain(format!("expected {expected}, found {found}"))
    }

    /// A whole number, as YAML writes it (`12`, `0x0c`, `0o14`, `1_000`,
    /// or quoted).
    fn integer(&self, what: &str) -> Result<i128, DeError> {
        match self.0.value {
            Value::Uint(n) => Ok(i128::from(n)),
            Value::Int(n) => Ok(i128::from(n)),
            Value::Str(_) | Value::Float(_) => {
                parse_integer(&self.0.text).ok_or_else(|| self.wrong(what))
            }
            _ => Err(self.wrong(what)),
        }
    }

    fn ranged<T: TryFrom<i128>>(&self, min: i128, max: i128) -> Result<T, DeError> {
        let what = if min == 0 {
            format!("a whole number from 0 to {max}")
        } else {
            format!("a whole number from {min} to {max}")
        };
        let n = self.integer(&what)?;
        T::try_from(n)
            .ok()
            .filter(|_| (min..=max).contains(&n))
            .ok_or_else(|| plain(format!("expected {what}, found {n}")))
    }

    fn float(&self) -> Result<f64, DeError> {
        match self.0.value {
            Value::Uint(n) => Ok(n as f64),
            Value::Int(n) => Ok(n as f64),
            Value::Float(f) => Ok(f),
            Value::Str(_) => self
                .0
                .text
                .trim()
                .parse()
                .map_err(|_| self.wrong("a number")),
            _ => Err(self.wrong("a number")),
        }
    }

    /// The text of a scalar (a string field takes `yes` or `12` as written).
    fn text(&self) -> Result<&str, DeError> {
        match self.0.value {
            Value::Seq(_) | Value::Map(_) | Value::Null => Err(self.wrong("a string")),
            _ => Ok(&self.0.text),
        }
    }
}

fn parse_integer(text: &str) -> Option<i128> {
    let t: String = text.trim().chars().filter(|&c| c != '_').collect();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(&t)),
    };
    let (radix, digits) = if let Some(h) = digits.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = digits.strip_prefix("0o") {
        (8, o)
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let n = i128::from_str_radix(digits, radix).ok()?;
    Some(if negative { -n } else { n })
}

macro_rules! integer {
    ($($method:ident $visit:ident $t:ty),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
            let n: $t = self.ranged(i128::from(<$t>::MIN), i128::from(<$t>::MAX))?;
            at(self.0, v.$visit(n))
        })*
    };
}

impl<'de> Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let r = match &self.0.value {
            Value::Null => v.visit_unit(),
            Value::Bool(b) => v.visit_bool(*b),
            Value::Uint(n) => v.visit_u64(*n),
            Value::Int(n) => v.visit_i64(*n),
            Value::Float(f) => v.visit_f64(*f),
            Value::Str(s) => v.visit_str(s),
            Value::Seq(items) => v.visit_seq(SeqDe(items.iter())),
            Value::Map(entries) => v.visit_map(MapDe {
                entries: entries.iter(),
                value: None,
            }),
        };
        at(self.0, r)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let b = match (&self.0.value, self.0.text.as_str()) {
            (Value::Bool(b), _) => *b,
            (Value::Str(_), "true") => true,
            (Value::Str(_), "false") => false,
            _ => return Err(self.wrong("true or false")),
        };
        at(self.0, v.visit_bool(b))
    }

    integer! {
        deserialize_u8 visit_u8 u8,
        deserialize_u16 visit_u16 u16,
        deserialize_u32 visit_u32 u32,
        deserialize_u64 visit_u64 u64,
        deserialize_i8 visit_i8 i8,
        deserialize_i16 visit_i16 i16,
        deserialize_i32 visit_i32 i32,
        deserialize_i64 visit_i64 i64,
    }

    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(v)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let f = self.float()?;
        at(self.0, v.visit_f64(f))
    }

    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let mut chars = self.text()?.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => at(self.0, v.visit_char(c)),
            _ => Err(self.wrong("one character")),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let s = self.text()?;
        at(self.0, v.visit_str(s))
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_any(v)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_any(v)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let r = if self.0.is_null() {
            v.visit_none()
        } else {
            v.visit_some(NodeDe(self.0))
        };
        at(self.0, r)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        if self.0.is_null() {
            at(self.0, v.visit_unit())
        } else {
            Err(self.wrong("nothing"))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(v)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        let r = if name == LOCATED {
            v.visit_map(LocatedAccess::new(self.0))
        } else {
            v.visit_newtype_struct(NodeDe(self.0))
        };
        at(self.0, r)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        // YAML's null is an empty list here, as serde-saphyr reads it.
        let r = match &self.0.value {
            Value::Seq(items) => v.visit_seq(SeqDe(items.iter())),
            Value::Null => v.visit_seq(SeqDe([].iter())),
            _ => Err(de::Error::invalid_type(self.unexpected(), &v)),
        };
        at(self.0, r)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        // `sensor:` with nothing after it is an empty map, `sensor: {}`.
        let r = match &self.0.value {
            Value::Map(entries) => v.visit_map(MapDe {
                entries: entries.iter(),
                value: None,
            }),
            Value::Null => v.visit_map(MapDe {
                entries: [].iter(),
                value: None,
            }),
            _ => Err(self.wrong("a map, e.g. {connect: {}} or {key: value}")),
        };
        at(self.0, r)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(v)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        let r = match &self.0.value {
            Value::Map(entries) if entries.len() == 1 => {
                let (key, value) = &entries[0];
                v.visit_enum(EnumDe {
                    name: key,
                    value: Some(value),
                })
            }
            Value::Map(_) => Err(plain(format!(
                "expected a map with one key, one of {}",
                variants.join(", ")
            ))),
            Value::Seq(_) | Value::Null => Err(self.wrong(&format!(
                "one of {}, or a map with one of them as its key",
                variants.join(", ")
            ))),
            _ => v.visit_enum(EnumDe {
                name: self.0,
                value: None,
            }),
        };
        at(self.0, r)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_unit()
    }
}

struct SeqDe<'a>(std::slice::Iter<'a, Node>);

impl<'de> SeqAccess<'de> for SeqDe<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.0.next() {
            Some(node) => at(node, seed.deserialize(NodeDe(node))).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapDe<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    value: Option<&'a Node>,
}

impl<'de> MapAccess<'de> for MapDe<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                at(key, seed.deserialize(NodeDe(key))).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let node = self
            .value
            .take()
            .ok_or_else(|| plain("a map value asked for before its key".into()))?;
        at(node, seed.deserialize(NodeDe(node)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// `name` or `{name: value}`.
struct EnumDe<'a> {
    name: &'a Node,
    value: Option<&'a Node>,
}

impl<'de, 'a> de::EnumAccess<'de> for EnumDe<'a> {
    type Error = DeError;
    type Variant = VariantDe<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantDe<'a>), DeError> {
        let variant = at(self.name, seed.deserialize(NodeDe(self.name)))?;
        Ok((
            variant,
            VariantDe {
                name: self.name,
                value: self.value,
            },
        ))
    }
}

struct VariantDe<'a> {
    name: &'a Node,
    value: Option<&'a Node>,
}

impl VariantDe<'_> {
    fn content(&self, what: &str) -> Result<&Node, DeError> {
        self.value.ok_or_else(|| {
            let name = &self.name.text;
            plain(format!("`{name}` needs {what}: write `{name}: ...`"))
        })
    }
}

impl<'de> de::VariantAccess<'de> for VariantDe<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match self.value {
            None => Ok(()),
            Some(v) if v.is_null() => Ok(()),
            Some(v) => at(
                v,
                Err(plain(format!(
                    "`{}` takes no value, found {}",
                    self.name.text,
                    v.kind()
                ))),
            ),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        let node = self.content("a value")?;
        at(node, seed.deserialize(NodeDe(node)))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, DeError> {
        let node = self.content("a list")?;
        NodeDe(node).deserialize_seq(v)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        let node = self.content("a map")?;
        NodeDe(node).deserialize_map(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse;
    use crate::Located;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct T {
        a: u8,
        #[serde(default)]
        s: Option<String>,
        #[serde(default)]
        l: Vec<Located<String>>,
    }

    fn read<X: de::DeserializeOwned>(text: &str) -> Result<X, DeError> {
        from_node(&parse(text).expect("YAML"))
    }

    #[test]
    fn scalars_read_as_each_type_asks() {
        let t: T = read("a: 0x10\ns: yes\nl: [x, 12]\n").expect("reads");
        assert_eq!(t.a, 16);
        assert_eq!(t.s.as_deref(), Some("yes"));
        assert_eq!(t.l[1].value, "12");
        assert_eq!((t.l[1].at.line, t.l[1].at.column), (3, 8));
        assert_eq!(read::<T>("a: \"7\"\n").expect("quoted number").a, 7);
    }

    #[test]
    fn errors_name_the_offending_node() {
        let e = read::<T>("s: x\na: 300\n").expect_err("over 255");
        assert_eq!(
            e.message,
            "expected a whole number from 0 to 255, found 300"
        );
        assert_eq!((e.pos.line, e.pos.column), (2, 4));
        let e = read::<T>("a: 1\nb: 2\n").expect_err("unknown key");
        assert_eq!((e.pos.line, e.pos.column), (2, 1));
        assert!(e
            .message
            .starts_with("unknown field `b`, expected one of a, s"));
        let e = read::<T>("s: x\n").expect_err("missing");
        assert_eq!(e.missing, Some("a"));
        let e = read::<T>("a: [1]\n").expect_err("a list");
        assert_eq!(
            e.message,
            "expected a whole number from 0 to 255, found a list"
        );
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum E {
        Ping,
        Wait(String),
        Go { far: bool },
    }

    #[test]
    fn enums_are_a_word_or_a_one_key_map() {
        assert_eq!(read::<E>("ping").expect("word"), E::Ping);
        assert_eq!(read::<E>("{ping: }").expect("null content"), E::Ping);
        assert_eq!(
            read::<E>("{wait: 2s}").expect("newtype"),
            E::Wait("2s".into())
        );
        assert_eq!(
            read::<E>("go: {far: true}").expect("struct"),
            E::Go { far: true }
        );
        let e = read::<E>("{ping: , wait: 2s}").expect_err("two keys");
        assert_eq!(
            e.message,
            "expected a map with one key, one of ping, wait, go"
        );
        let e = read::<Vec<E>>("[ping, pong]").expect_err("unknown");
        assert_eq!(
            e.message,
            "unknown value \"pong\"; expected one of ping, wait, go"
        );
        assert_eq!((e.pos.line, e.pos.column), (1, 8));
        let e = read::<E>("wait").expect_err("no content");
        assert_eq!(e.message, "`wait` needs a value: write `wait: ...`");
    }
}
