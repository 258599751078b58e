//! Strict JSON objects for headers and claims: duplicate member names are refused (RFC 7515 §5.2
//! lets a parser pick either; two parsers picking differently is how confusion attacks begin), and
//! strings are borrowed from the decoded bytes whenever they contain no escapes.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A JSON string that borrows from the input when it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Str<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

/// The member names of one object, to refuse duplicates and to answer "is this claim present".
#[derive(Debug, Default)]
pub(crate) struct Members<'de> {
    names: Vec<Cow<'de, str>>,
}

impl<'de> Members<'de> {
    /// Records `name`, failing when it was seen before.
    pub(crate) fn insert<E: de::Error>(&mut self, name: &Str<'de>) -> Result<(), E> {
        match self
            .names
            .binary_search_by(|n| n.as_ref().cmp(name.0.as_ref()))
        {
            Ok(_) => Err(E::custom(format_args!(
                "duplicate member `{}` (RFC 7515 §5.2)",
                crate::error::echo(&name.0)
            ))),
            Err(at) => {
                self.names.insert(at, name.0.clone());
                Ok(())
            }
        }
    }

    /// Whether the object has a member called `name`.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.names
            .binary_search_by(|n| n.as_ref().cmp(name))
            .is_ok()
    }
}

/// Reads a member's value as `T`, turning a type mismatch into a message that names the member.
pub(crate) fn member<'de, A, T>(map: &mut A, name: &str, expected: &str) -> Result<T, A::Error>
where
    A: de::MapAccess<'de>,
    T: Deserialize<'de>,
{
    map.next_value::<T>()
        .map_err(|e| de::Error::custom(format_args!("`{name}` must be {expected} ({e})")))
}
