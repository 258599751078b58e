//! The registered claims keycard reads (RFC 7519 §4.1 and the others it names) and the JSON type
//! each must have: one table, [`ClaimType::TABLE`], for the builder, which refuses to mint a
//! token no validator accepts, and for the validator, which reads these claims strictly.

use std::fmt;

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};

use crate::encoding::json::Str;
use crate::token::claims::NumericDate;

/// The JSON type a registered claim must have: one table for the builder, which refuses to
/// mint a token no validator accepts, and the validator, which reads these claims strictly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClaimType {
    /// A string (`iss`, `sub`, `jti`, `sid`, `scope`, `azp`, `nonce`).
    String,
    /// A string or an array of strings (`aud`, `scp`).
    StringOrStrings,
    /// A NumericDate (`exp`, `nbf`, `iat`, `auth_time`).
    Date,
}

impl ClaimType {
    /// The registered claims keycard reads, and their types (RFC 7519 §4.1, RFC 9068 §2.2,
    /// RFC 8693 §4.2, OpenID Connect Core §2, OpenID Connect Front-Channel Logout §3 for `sid`).
    /// [`of`](Self::of) answers by a `match`, tested to agree with this table.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) const TABLE: [(&'static str, ClaimType); 13] = [
        ("iss", ClaimType::String),
        ("sub", ClaimType::String),
        ("aud", ClaimType::StringOrStrings),
        ("exp", ClaimType::Date),
        ("nbf", ClaimType::Date),
        ("iat", ClaimType::Date),
        ("jti", ClaimType::String),
        ("sid", ClaimType::String),
        ("scope", ClaimType::String),
        ("scp", ClaimType::StringOrStrings),
        ("azp", ClaimType::String),
        ("auth_time", ClaimType::Date),
        ("nonce", ClaimType::String),
    ];

    /// The type of a registered claim; `None` for any other name. A `match`, which compiles to
    /// a switch on the length, rather than a walk through [`TABLE`](Self::TABLE) (tested to
    /// agree).
    pub(crate) fn of(name: &str) -> Option<ClaimType> {
        Name::of(name).map(Name::claim_type)
    }

    /// What a message says the claim must be.
    pub(crate) const fn expected(self) -> &'static str {
        match self {
            ClaimType::String => "a string",
            ClaimType::StringOrStrings => "a string or an array of strings",
            ClaimType::Date => "a number (NumericDate, RFC 7519 §2)",
        }
    }

    /// Whether `value` has this type.
    pub(crate) fn admits(self, value: &serde_json::Value) -> bool {
        use serde_json::Value;
        match self {
            ClaimType::String => value.is_string(),
            ClaimType::StringOrStrings => match value {
                Value::String(_) => true,
                Value::Array(all) => all.iter().all(Value::is_string),
                _ => false,
            },
            ClaimType::Date => NumericDate::deserialize(value).is_ok(),
        }
    }
}

impl ClaimType {
    /// Whether the JSON text `value` (one value, as serde_json writes it) has this type: what
    /// [`admits`](Self::admits) says of its `Value`, without building one.
    pub(crate) fn admits_json(self, value: &[u8]) -> bool {
        match self {
            ClaimType::String => value.first() == Some(&b'"'),
            ClaimType::StringOrStrings => {
                value.first() == Some(&b'"') || serde_json::from_slice::<Strings>(value).is_ok()
            }
            // Up to 11 digits is a whole number of seconds below 10^11, inside the years
            // -9999 to 9999 (253_402_300_799), with or without a minus sign: the usual case,
            // decided without parsing.
            ClaimType::Date => {
                let digits = value.strip_prefix(b"-").unwrap_or(value);
                // No early exit: one test per digit (see `typed::write_member`).
                let whole = digits
                    .iter()
                    .fold(true, |whole, b| whole & b.is_ascii_digit());
                (!digits.is_empty() && digits.len() <= 11 && whole)
                    || serde_json::from_slice::<NumericDate>(value).is_ok()
            }
        }
    }
}

/// The registered claims keycard reads, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Name {
    Iss,
    Sub,
    Aud,
    Exp,
    Nbf,
    Iat,
    Jti,
    Sid,
    Scope,
    Scp,
    Azp,
    AuthTime,
    Nonce,
}

impl Name {
    /// The registered claim called `name`. This runs for every member of every token, signed
    /// or verified, so it takes no branch that depends on which name it is: a three-letter name
    /// (ten of the thirteen) is packed into an integer and looked up in a 16-slot table by a
    /// multiplicative hash with no collisions ([`THREE_LETTER`], checked when compiled), one
    /// comparison; the others are compared by length first. (A `match` on the bytes compiled to
    /// jump tables whose target changes from member to member, and mispredicted on nearly every
    /// call.)
    pub(crate) fn of(name: &str) -> Option<Name> {
        match *name.as_bytes() {
            [a, b, c] => {
                let key = u32::from_le_bytes([a, b, c, 0]);
                let (known, name) = THREE_LETTER[three_letter_slot(key)];
                if known == key {
                    name
                } else {
                    None
                }
            }
            [_, _, _, _, _] if name == "scope" => Some(Name::Scope),
            [_, _, _, _, _] if name == "nonce" => Some(Name::Nonce),
            _ if name == "auth_time" => Some(Name::AuthTime),
            _ => None,
        }
    }

    /// Its JSON type, from the one table.
    pub(crate) const fn claim_type(self) -> ClaimType {
        use Name::*;
        match self {
            Iss | Sub | Jti | Sid | Scope | Azp | Nonce => ClaimType::String,
            Aud | Scp => ClaimType::StringOrStrings,
            Exp | Nbf | Iat | AuthTime => ClaimType::Date,
        }
    }
}

/// The multiplier of [`three_letter_slot`], found by search: the ten three-letter names land in
/// ten different slots of sixteen.
const THREE_LETTER_HASH: u32 = 0xbcde_9603;

/// The slot of a packed three-letter name in [`THREE_LETTER`]: the top four bits of a product.
const fn three_letter_slot(key: u32) -> usize {
    (key.wrapping_mul(THREE_LETTER_HASH) >> 28) as usize
}

/// The three-letter registered names, packed little-endian into a `u32`, each in its slot; the
/// empty slots hold no name. Built when compiled, which fails if two names share a slot.
const THREE_LETTER: [(u32, Option<Name>); 16] = {
    use Name::*;
    let names = [
        (*b"iss", Iss),
        (*b"sub", Sub),
        (*b"aud", Aud),
        (*b"exp", Exp),
        (*b"nbf", Nbf),
        (*b"iat", Iat),
        (*b"jti", Jti),
        (*b"sid", Sid),
        (*b"scp", Scp),
        (*b"azp", Azp),
    ];
    let mut table = [(0u32, None); 16];
    let mut i = 0;
    while i < names.len() {
        let ([a, b, c], name) = names[i];
        let key = u32::from_le_bytes([a, b, c, 0]);
        let slot = three_letter_slot(key);
        assert!(table[slot].1.is_none(), "two registered names share a slot");
        table[slot] = (key, Some(name));
        i += 1;
    }
    table
};

/// An array of strings, read and dropped (no allocation unless a string has escapes).
struct Strings;

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StringsVisitor;
        impl<'de> Visitor<'de> for StringsVisitor {
            type Value = Strings;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strings, A::Error> {
                while seq.next_element::<Str<'de>>()?.is_some() {}
                Ok(Strings)
            }
        }
        deserializer.deserialize_seq(StringsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claim_types_agree_with_the_table() {
        for (name, ty) in ClaimType::TABLE {
            assert_eq!(ClaimType::of(name), Some(ty), "{name}");
        }
        for other in [
            "", "is", "isss", "roles", "Exp", "aud ", "\0\0\0", "scopE", "auth_tim",
        ] {
            assert_eq!(ClaimType::of(other), None, "{other}");
        }
        // Every three-letter name is one of the table's or none: no slot answers for another.
        let mut found = 0;
        for a in 0..=255u8 {
            for b in [
                b'a', b'b', b'c', b'd', b'i', b'p', b's', b't', b'u', b'x', b'z', 0, 255,
            ] {
                for c in [b'a', b'b', b'c', b'd', b'f', b'i', b'p', b's', b't', 0, 255] {
                    let Ok(name) = std::str::from_utf8(&[a, b, c]).map(str::to_owned) else {
                        continue;
                    };
                    let registered = Name::of(&name);
                    let listed = ClaimType::TABLE.iter().any(|(n, _)| *n == name);
                    assert_eq!(registered.is_some(), listed, "{name:?}");
                    found += usize::from(listed);
                }
            }
        }
        assert_eq!(found, 10);
        let samples = [
            "\"text\"",
            "[\"a\",\"b\"]",
            "[\"a\",5]",
            "[]",
            "0",
            "-1",
            "1700000000",
            "99999999999",
            "253402300799",
            "253402300800",
            "-253402300800",
            "1.5",
            "1e300",
            "-",
            "true",
            "null",
            "{\"a\":1}",
        ];
        for ty in [
            ClaimType::String,
            ClaimType::StringOrStrings,
            ClaimType::Date,
        ] {
            for json in samples {
                let value: serde_json::Value =
                    serde_json::from_str(json).unwrap_or(serde_json::Value::Bool(false));
                if json == "-" {
                    assert!(!ty.admits_json(json.as_bytes()));
                    continue;
                }
                assert_eq!(
                    ty.admits_json(json.as_bytes()),
                    ty.admits(&value),
                    "{ty:?} {json}"
                );
            }
        }
    }
}
