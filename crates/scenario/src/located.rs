//! A value with its place in the file: how the model keeps where a step
//! or a name was written, for errors about it at load time and failures
//! at run time (`file:line`). [`crate::de::NodeDe`] gives the place; any
//! other deserializer reads the value alone, at an unknown place.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::de::{at, DeError, NodeDe};
use crate::tree::{Node, Pos};

/// A value with its place in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub at: Pos,
}

/// The name [`NodeDe`] knows a [`Located`] by.
pub(crate) const LOCATED: &str = "$gauntlet::Located";

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Located<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Located<T>, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Located<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Located<T>, D::Error> {
                T::deserialize(d).map(|value| Located {
                    value,
                    at: Pos::UNKNOWN,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Located<T>, A::Error> {
                let mut at = Pos::UNKNOWN;
                let mut value = None;
                while let Some(key) = map.next_key::<&str>()? {
                    match key {
                        "line" => at.line = map.next_value()?,
                        "column" => at.column = map.next_value()?,
                        _ => value = Some(map.next_value()?),
                    }
                }
                let value = value.ok_or_else(|| de::Error::missing_field("value"))?;
                Ok(Located { value, at })
            }
        }
        d.deserialize_newtype_struct(LOCATED, V(PhantomData))
    }
}

/// The place of a [`Located`], then its value.
pub(crate) struct LocatedAccess<'a> {
    node: &'a Node,
    next: u8,
}

impl LocatedAccess<'_> {
    pub(crate) fn new(node: &Node) -> LocatedAccess<'_> {
        LocatedAccess { node, next: 0 }
    }
}

impl<'de> MapAccess<'de> for LocatedAccess<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let key = match self.next {
            0 => "line",
            1 => "column",
            2 => "value",
            _ => return Ok(None),
        };
        seed.deserialize(de::value::BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        self.next += 1;
        match self.next {
            1 => seed.deserialize(self.node.pos.line.into_deserializer()),
            2 => seed.deserialize(self.node.pos.column.into_deserializer()),
            _ => at(self.node, seed.deserialize(NodeDe(self.node))),
        }
    }
}
