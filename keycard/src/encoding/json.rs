//! The strict JSON object reading that headers, claims, JWKs and JWK Sets share: duplicate
//! member names are refused (RFC 7515 §5.2 and RFC 7517 §4 let a parser pick either; two parsers
//! picking differently is how confusion attacks begin), and strings are borrowed from the decoded
//! bytes whenever they contain no escapes.
//!
//! [`Members`] is the one duplicate detector; its cost is linear in the number of members.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

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

/// How many member names are kept inline before spilling to the heap: more than any ordinary
/// header or claims set has.
const INLINE_MEMBERS: usize = 16;

/// The member names of one object, to refuse duplicates and to answer "is this member present".
/// The first [`INLINE_MEMBERS`] names live on the stack, so ordinary tokens allocate nothing;
/// the rest go into a hash set (SipHash, keyed per process, so crafted names cannot make it
/// quadratic), so that reading `n` members costs O(n) whatever their order.
#[derive(Debug)]
pub(crate) struct Members<'de> {
    inline: [Cow<'de, str>; INLINE_MEMBERS],
    len: usize,
    /// Names beyond the inline ones.
    spill: HashSet<Cow<'de, str>>,
}

impl Default for Members<'_> {
    fn default() -> Self {
        Members {
            inline: std::array::from_fn(|_| Cow::Borrowed("")),
            len: 0,
            spill: HashSet::new(),
        }
    }
}

impl<'de> Members<'de> {
    /// Records `name`, failing when it was seen before.
    pub(crate) fn insert<E: de::Error>(&mut self, name: &Str<'de>) -> Result<(), E> {
        if self.add(name.0.clone()) {
            Ok(())
        } else {
            Err(E::custom(format_args!(
                "duplicate member `{}` (RFC 7515 §5.2)",
                crate::error::echo(&name.0)
            )))
        }
    }

    /// Records `name`; `false` when it was seen before.
    pub(crate) fn add(&mut self, name: Cow<'de, str>) -> bool {
        if self.contains(&name) {
            return false;
        }
        if let Some(slot) = self.inline.get_mut(self.len) {
            *slot = name;
            self.len += 1;
        } else {
            self.spill.insert(name);
        }
        true
    }

    /// Whether the object has a member called `name`.
    pub(crate) fn contains(&self, name: &str) -> bool {
        // Length and first byte first: most names differ there, without a call to `memcmp`.
        let first = name.as_bytes().first();
        self.inline[..self.len]
            .iter()
            .any(|n| n.len() == name.len() && n.as_bytes().first() == first && n == name)
            || self.spill.contains(name)
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

/// The members of one JSON object in order, or why the value is not an acceptable object (not
/// an object, or a member name repeated). Reading it fails only on invalid JSON, so that one bad
/// key in a JWK Set does not stop the others from being read.
pub(crate) struct Object(pub(crate) Result<Vec<(String, Value)>, String>);

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjectVisitor)
    }
}

struct ObjectVisitor;

impl ObjectVisitor {
    fn not_object<E>(found: &str) -> Result<Object, E> {
        Ok(Object(Err(format!(
            "expected a JSON object, found {found}"
        ))))
    }
}

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Object;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object, A::Error> {
        let mut members: Vec<(String, Value)> = Vec::new();
        let mut names = Members::default();
        let mut duplicate = None;
        while let Some(name) = map.next_key::<String>()? {
            let value = map.next_value::<Value>()?;
            if names.add(Cow::Owned(name.clone())) {
                members.push((name, value));
            } else {
                duplicate.get_or_insert(name);
            }
        }
        Ok(Object(match duplicate {
            None => Ok(members),
            Some(name) => Err(format!(
                "the member `{}` appears more than once",
                crate::error::echo(&name)
            )),
        }))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Object, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Self::not_object("an array")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Object, E> {
        Self::not_object("a boolean")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Object, E> {
        Self::not_object("a number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Object, E> {
        Self::not_object("a number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Object, E> {
        Self::not_object("a number")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Object, E> {
        Self::not_object("a string")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Object, E> {
        Self::not_object("null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Object, E> {
        Self::not_object("null")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_find_duplicates_inline_and_spilled() {
        let mut members = Members::default();
        for i in 0..100 {
            let name = Str(Cow::Owned(format!("m{i}")));
            members.insert::<serde_json::Error>(&name).unwrap();
        }
        for i in [0, 15, 16, 99] {
            let name = Str(Cow::Owned(format!("m{i}")));
            assert!(members.contains(&name.0));
            assert!(members.insert::<serde_json::Error>(&name).is_err(), "m{i}");
        }
        assert!(!members.contains("m100"));
    }

    #[test]
    fn object_reports_duplicates_and_non_objects_without_failing_the_parse() {
        let parse = |json: &str| serde_json::from_str::<Object>(json).map(|o| o.0);
        assert_eq!(parse(r#"{"a":1,"b":"x"}"#).unwrap().unwrap().len(), 2);
        assert!(parse(r#"{"a":1,"a":2}"#)
            .unwrap()
            .unwrap_err()
            .contains("`a`"));
        assert!(parse(r#"{"a":1,"\u0061":2}"#).unwrap().is_err());
        for not_object in ["[1,[2]]", "true", "-1", "1", "1.5", "\"s\"", "null"] {
            assert!(parse(not_object).unwrap().is_err(), "{not_object}");
        }
        assert!(parse("{").is_err(), "invalid JSON is an error of the parse");
    }
}
