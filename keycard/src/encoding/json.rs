//! The strict JSON object reading that headers, claims, JWKs and JWK Sets share: duplicate
//! member names are refused (RFC 7515 §5.2 and RFC 7517 §4 let a parser pick either; two parsers
//! picking differently is how confusion attacks begin), and strings are borrowed from the decoded
//! bytes whenever they contain no escapes.
//!
//! [`Members`] is the one duplicate detector; its cost is linear in the number of members, and it
//! refuses an object of more than [`MAX_JSON_MEMBERS`] members. [`check_depth`] refuses nesting deeper
//! than [`MAX_JSON_DEPTH`] in one linear pass, whatever type the JSON is read into afterwards.

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

pub(crate) use crate::limits::{MAX_HEADER_MEMBERS, MAX_JSON_DEPTH, MAX_JSON_MEMBERS};

/// Refuses `json` when its arrays and objects nest deeper than [`MAX_JSON_DEPTH`]. One pass over the
/// bytes, no recursion; brackets inside strings do not count. `json` need not be valid: the
/// parse that follows judges that.
pub(crate) fn check_depth(json: &[u8]) -> Result<(), &'static str> {
    // Fast path: fewer opening brackets than the limit cannot nest deeper than it.
    if opening_brackets(json) <= MAX_JSON_DEPTH {
        return Ok(());
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err("arrays and objects nest deeper than 64 levels");
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// How many `[` and `{` bytes `json` has. They differ in one bit only (0x5B, 0x7B), so one
/// comparison per byte finds both.
fn opening_brackets(json: &[u8]) -> usize {
    super::bytes::count(json, |b| (b | 0x20) == b'{')
}

/// How many member names are kept inline before spilling to the heap: more than any ordinary
/// header or claims set has.
const INLINE_MEMBERS: usize = 16;

/// The member names of one object, to refuse duplicates and to answer "is this member present".
/// The first [`INLINE_MEMBERS`] names live on the stack, each with a tag (a name of up to eight
/// bytes is told apart from every other of its length by its tag alone, so most comparisons are
/// two integer compares, no `memcmp`), and ordinary tokens
/// allocate nothing. Past them, or at the first name with escapes (which owns its text), every
/// name goes into a hash set (SipHash, keyed per process, so crafted names cannot make it
/// quadratic), so that reading `n` members costs O(n) whatever their order.
#[derive(Debug)]
pub(crate) struct Members<'de> {
    tags: [u64; INLINE_MEMBERS],
    names: [&'de str; INLINE_MEMBERS],
    len: usize,
    /// Every name once the inline ones do not do (they are moved here, so that each later name
    /// costs one hash lookup); `None` until then, so that an ordinary object never builds it.
    spill: Option<HashSet<Cow<'de, str>>>,
    /// The most names accepted.
    limit: usize,
}

impl Default for Members<'_> {
    fn default() -> Self {
        Members::with_limit(MAX_JSON_MEMBERS)
    }
}

/// A name's tag: for a name of up to eight bytes, its bytes themselves (the first four and the
/// last four, overlapping when shorter; of one to three bytes, the first, middle and last), so
/// that two names of the same length and up to eight bytes have equal tags only when they are
/// equal; for a longer name, its first and last four bytes. No loop (a loop over a name's bytes
/// mispredicts its exit from name to name).
fn tag(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let len = bytes.len();
    match (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        (Some(first), Some(last)) => {
            u64::from(u32::from_le_bytes(*first)) | (u64::from(u32::from_le_bytes(*last)) << 32)
        }
        _ if len > 0 => {
            u64::from(bytes[0])
                | (u64::from(bytes[len / 2]) << 8)
                | (u64::from(bytes[len - 1]) << 16)
        }
        _ => 0,
    }
}

impl<'de> Members<'de> {
    /// No names yet, at most `limit` of them.
    pub(crate) fn with_limit(limit: usize) -> Self {
        Members {
            tags: [0; INLINE_MEMBERS],
            names: [""; INLINE_MEMBERS],
            len: 0,
            spill: None,
            limit,
        }
    }

    /// How many names are recorded.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.spill.as_ref().map_or(self.len, HashSet::len)
    }

    /// Records `name`, failing when it was seen before or when the object would have more
    /// members than its limit ([`MAX_JSON_MEMBERS`] unless made [`with_limit`](Self::with_limit)).
    pub(crate) fn insert<E: de::Error>(&mut self, name: &Str<'de>) -> Result<(), E> {
        if self.len() >= self.limit {
            return Err(E::custom(format_args!(
                "an object has more than {} members",
                self.limit
            )));
        }
        if self.add(name.0.clone()) {
            Ok(())
        } else {
            Err(E::custom(format_args!(
                "duplicate member `{}` (RFC 7515 §5.2)",
                crate::error::echo(&name.0)
            )))
        }
    }

    /// The inline slot holding `name` (whose tag is `tag`), if one does.
    fn find_inline(&self, name: &str, tag: u64) -> Option<usize> {
        let (len, exact) = (name.len(), name.len() <= 8);
        self.tags[..self.len]
            .iter()
            .zip(&self.names)
            .position(|(&t, &n)| t == tag && n.len() == len && (exact || n == name))
    }

    /// Records `name`; `false` when it was seen before.
    pub(crate) fn add(&mut self, name: Cow<'de, str>) -> bool {
        if let Some(spill) = &mut self.spill {
            return spill.insert(name);
        }
        let tag = tag(&name);
        if self.find_inline(&name, tag).is_some() {
            return false;
        }
        match name {
            Cow::Borrowed(borrowed) if self.len < INLINE_MEMBERS => {
                self.tags[self.len] = tag;
                self.names[self.len] = borrowed;
                self.len += 1;
            }
            // Past the inline names, or a name that owns its text: all move to the set.
            name => {
                let mut spill = HashSet::with_capacity(INLINE_MEMBERS * 2);
                spill.extend(self.names[..self.len].iter().map(|&n| Cow::Borrowed(n)));
                spill.insert(name);
                self.len = 0;
                self.spill = Some(spill);
            }
        }
        true
    }

    /// Whether the object has a member called `name`.
    pub(crate) fn contains(&self, name: &str) -> bool {
        match &self.spill {
            Some(spill) => spill.contains(name),
            None => self.find_inline(name, tag(name)).is_some(),
        }
    }
}

/// Why an object with more than [`MAX_JSON_MEMBERS`] members is refused.
const TOO_MANY_MEMBERS: &str = "an object has more than 1024 members";

/// Reads a member's value as `T`, turning a type mismatch into a message that names the member
/// (and quotes at most 128 bytes of serde_json's message, escaped).
pub(crate) fn member<'de, A, T>(map: &mut A, name: &str, expected: &str) -> Result<T, A::Error>
where
    A: de::MapAccess<'de>,
    T: Deserialize<'de>,
{
    map.next_value::<T>().map_err(|e| {
        // serde_json's message quotes the value (`invalid type: string "..."`): cut it like any
        // echoed value.
        let why = crate::error::bounded(&e.to_string(), 2 * crate::error::MAX_ECHO);
        de::Error::custom(format_args!("`{name}` must be {expected} ({why})"))
    })
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
        let mut too_many = false;
        while let Some(name) = map.next_key::<String>()? {
            if too_many || names.len() >= MAX_JSON_MEMBERS {
                too_many = true;
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value = map.next_value::<Value>()?;
            if names.add(Cow::Owned(name.clone())) {
                members.push((name, value));
            } else {
                duplicate.get_or_insert(name);
            }
        }
        Ok(Object(match duplicate {
            _ if too_many => Err(TOO_MANY_MEMBERS.to_owned()),
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
    fn members_tell_names_apart_by_tag_and_text() {
        // Names alike in their first and last bytes, of one length or another, and prefixes.
        let names = [
            "",
            "a",
            "ab",
            "abcdefg",
            "abcdefgh",
            "abcdefgi",
            "abcdefgh ",
            "b",
            "\u{0}",
            "\u{0}\u{0}",
            "aaaa",
            "aaaaa",
            "aaaaaaaa",
            "aba",
            "aca",
            "abca",
            "abcda",
            "abcdabcd",
            "abcdxabcd",
            "abcdyabcd",
        ];
        let mut members = Members::default();
        for name in names {
            assert!(members.add(Cow::Borrowed(name)), "{name:?}");
        }
        for name in names {
            assert!(members.contains(name), "{name:?}");
            assert!(!members.add(Cow::Borrowed(name)), "{name:?}");
        }
        assert!(!members.contains("abcdefgj") && !members.contains("abcdef"));
        // An owned name moves every name to the set; they are still all there.
        assert!(members.add(Cow::Owned("owned".to_owned())));
        assert!(!members.add(Cow::Owned("owned".to_owned())));
        for name in names {
            assert!(
                members.contains(name) && !members.add(Cow::Borrowed(name)),
                "{name:?}"
            );
        }
        assert_eq!(members.len(), names.len() + 1);
        let mut first = Members::default();
        assert!(first.add(Cow::Owned("x".to_owned())));
        assert!(!first.add(Cow::Borrowed("x")) && first.add(Cow::Borrowed("y")));
    }

    #[test]
    fn members_refuse_an_object_past_the_limit() {
        let mut members = Members::default();
        for i in 0..MAX_JSON_MEMBERS {
            let name = Str(Cow::Owned(format!("m{i}")));
            members.insert::<serde_json::Error>(&name).unwrap();
        }
        let one_more = Str(Cow::Borrowed("one more"));
        let err = members.insert::<serde_json::Error>(&one_more).unwrap_err();
        assert!(err.to_string().contains("more than 1024 members"), "{err}");
    }

    #[test]
    fn opening_brackets_are_counted_exactly() {
        let mut all = Vec::new();
        for b in 0..=255u8 {
            all.extend(std::iter::repeat_n(b, 3));
        }
        for len in [0, 1, 254, 255, 256, 600, all.len()] {
            let json = &all[..len.min(all.len())];
            let expected = json.iter().filter(|&&b| b == b'[' || b == b'{').count();
            assert_eq!(opening_brackets(json), expected, "{len}");
        }
        assert_eq!(opening_brackets(&[b'['; 1000]), 1000);
    }

    #[test]
    fn depth_is_counted_outside_strings_only() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(check_depth(deep(MAX_JSON_DEPTH).as_bytes()).is_ok());
        assert!(check_depth(deep(MAX_JSON_DEPTH + 1).as_bytes()).is_err());
        let wide = format!("[{}]", "[],".repeat(1000) + "[]");
        assert!(
            check_depth(wide.as_bytes()).is_ok(),
            "siblings do not add up"
        );
        let quoted = format!("{{\"a\":\"{}\\\"{}\"}}", "[".repeat(100), "{".repeat(100));
        assert!(
            check_depth(quoted.as_bytes()).is_ok(),
            "brackets in strings do not count"
        );
        let object = format!("{}1{}", "{\"a\":".repeat(65), "}".repeat(65));
        assert!(check_depth(object.as_bytes()).is_err());
        assert!(check_depth(b"\"unterminated [[[[").is_ok());
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
