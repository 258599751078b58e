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

/// How many member names are kept inline before spilling to the heap: more than any ordinary
/// header or claims set has.
const INLINE_MEMBERS: usize = 16;

/// The member names of one object, to refuse duplicates and to answer "is this claim present".
/// The first [`INLINE_MEMBERS`] names live on the stack, so ordinary tokens allocate nothing.
#[derive(Debug)]
pub(crate) struct Members<'de> {
    inline: [Cow<'de, str>; INLINE_MEMBERS],
    len: usize,
    /// Names beyond the inline ones, sorted.
    spill: Vec<Cow<'de, str>>,
}

impl Default for Members<'_> {
    fn default() -> Self {
        Members {
            inline: std::array::from_fn(|_| Cow::Borrowed("")),
            len: 0,
            spill: Vec::new(),
        }
    }
}

impl<'de> Members<'de> {
    /// Records `name`, failing when it was seen before.
    pub(crate) fn insert<E: de::Error>(&mut self, name: &Str<'de>) -> Result<(), E> {
        let name = &name.0;
        if self.contains(name) {
            return Err(E::custom(format_args!(
                "duplicate member `{}` (RFC 7515 §5.2)",
                crate::error::echo(name)
            )));
        }
        if let Some(slot) = self.inline.get_mut(self.len) {
            *slot = name.clone();
            self.len += 1;
        } else {
            let at = self
                .spill
                .binary_search_by(|n| n.as_ref().cmp(name.as_ref()))
                .unwrap_or_else(|at| at);
            self.spill.insert(at, name.clone());
        }
        Ok(())
    }

    /// Whether the object has a member called `name`.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.inline[..self.len].iter().any(|n| n == name)
            || self
                .spill
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
}
