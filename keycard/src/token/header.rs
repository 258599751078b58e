//! The JOSE header (RFC 7515 §4): what keycard writes and what it accepts.
//!
//! Parsing is strict: the header must be a JSON object with a string `alg`, `kid`, `typ` and `cty`
//! are strings when present, member names are unique, and any `crit` is refused, since keycard
//! implements no extension (RFC 7515 §4.1.11). The parameters only a JWE has (`enc`, `zip`,
//! `epk`, `apu`, `apv`, `iv`, `tag`, `p2s`, `p2c`: RFC 7516 §4.1, RFC 7518 §4.6 to §4.8) are
//! refused too: `enc` says the token is a JWE (RFC 7516 §9), and `zip` and `p2c` have been the
//! door to decompression bombs and PBES2 CPU exhaustion elsewhere. Header parameters that carry
//! or point to keys (`jwk`, `jku`, `x5u`, `x5c`, `x5t`) are never used: the validator's own keys
//! decide. At most [`MAX_HEADER_MEMBERS`](crate::limits::MAX_HEADER_MEMBERS) members (the header is read
//! before the signature is checked), nested at most
//! [`MAX_JSON_DEPTH`](crate::limits::MAX_JSON_DEPTH) deep.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};

use crate::algorithm::Algorithm;
use crate::encoding::json::{self, member, Members, Str};
use crate::error::Error;

/// A decoded JOSE header.
///
/// You get one from [`unverified::decode_header`](crate::token::unverified::decode_header), for instance
/// to look at `kid` before choosing which key set to use. Until the signature is verified nothing
/// in it can be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    algorithm: Algorithm,
    key_id: Option<String>,
    token_type: Option<String>,
    content_type: Option<String>,
}

impl Header {
    /// The `alg` parameter.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The `kid` parameter, if present.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// The `typ` parameter, if present.
    pub fn token_type(&self) -> Option<&str> {
        self.token_type.as_deref()
    }

    /// The `cty` parameter, if present.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }
}

/// A header borrowed from its decoded bytes: what the verify path works with.
#[derive(Debug)]
pub(crate) struct RawHeader<'a> {
    pub(crate) algorithm: Algorithm,
    pub(crate) key_id: Option<Cow<'a, str>>,
    pub(crate) token_type: Option<Cow<'a, str>>,
    pub(crate) content_type: Option<Cow<'a, str>>,
}

impl RawHeader<'_> {
    pub(crate) fn to_header(&self) -> Header {
        Header {
            algorithm: self.algorithm,
            key_id: self.key_id.as_deref().map(str::to_owned),
            token_type: self.token_type.as_deref().map(str::to_owned),
            content_type: self.content_type.as_deref().map(str::to_owned),
        }
    }
}

/// Parses the decoded header JSON.
pub(crate) fn parse(json: &[u8]) -> Result<RawHeader<'_>, Error> {
    // RFC 7515 §4 and RFC 8259 §8.1: the header is UTF-8. serde_json does not check the UTF-8 of
    // strings it skips (unknown members), so the whole text is checked first.
    let json = std::str::from_utf8(json).map_err(|e| Error::malformed(format!("header: {e}")))?;
    json::check_depth(json.as_bytes()).map_err(|why| Error::malformed(format!("header: {why}")))?;
    let mut de = serde_json::Deserializer::from_str(json);
    let fields = de::Deserializer::deserialize_map(&mut de, HeaderVisitor)
        .and_then(|fields| de.end().map(|()| fields))
        .map_err(|e| Error::malformed(format!("header: {e}")))?;
    let alg = fields
        .alg
        .ok_or_else(|| Error::malformed("header: `alg` is missing"))?;
    let algorithm: Algorithm = alg.0.parse()?;
    Ok(RawHeader {
        algorithm,
        key_id: fields.kid.map(|s| s.0),
        token_type: fields.typ.map(|s| s.0),
        content_type: fields.cty.map(|s| s.0),
    })
}

#[derive(Default)]
struct Fields<'de> {
    alg: Option<Str<'de>>,
    kid: Option<Str<'de>>,
    typ: Option<Str<'de>>,
    cty: Option<Str<'de>>,
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Fields::default();
        let mut members = Members::with_limit(json::MAX_HEADER_MEMBERS);
        while let Some(name) = map.next_key::<Str<'de>>()? {
            members.insert::<A::Error>(&name)?;
            match name.0.as_ref() {
                "alg" => fields.alg = Some(member(&mut map, "alg", "a string")?),
                "kid" => fields.kid = Some(member(&mut map, "kid", "a string")?),
                "typ" => fields.typ = Some(member(&mut map, "typ", "a string")?),
                "cty" => fields.cty = Some(member(&mut map, "cty", "a string")?),
                "crit" => {
                    let crit: Vec<Str<'de>> = member(&mut map, "crit", "an array of strings")?;
                    return Err(de::Error::custom(crit_message(&crit)));
                }
                name @ ("enc" | "zip" | "epk" | "apu" | "apv" | "iv" | "tag" | "p2s" | "p2c") => {
                    return Err(de::Error::custom(format_args!(
                        "`{name}` is a JWE header parameter (RFC 7516 §4.1, RFC 7518 §4.6 to \
                         §4.8); keycard verifies signed tokens (JWS) only"
                    )));
                }
                "b64" => {
                    // RFC 7797: `b64: false` changes what is signed; keycard signs encoded
                    // payloads only.
                    let encoded: bool = member(&mut map, "b64", "a boolean")?;
                    if !encoded {
                        return Err(de::Error::custom(
                            "unencoded payloads (`b64: false`, RFC 7797) are not supported",
                        ));
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(fields)
    }
}

/// Why a `crit` list is refused (RFC 7515 §4.1.11): the first names, each cut and escaped, and
/// how many more there are.
fn crit_message(crit: &[Str<'_>]) -> String {
    const REGISTERED: [&str; 11] = [
        "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit",
    ];
    const LISTED: usize = 3;
    if crit.is_empty() {
        return "`crit` must not be empty (RFC 7515 §4.1.11)".to_owned();
    }
    if let Some(registered) = crit.iter().find(|n| REGISTERED.contains(&n.0.as_ref())) {
        return format!(
            "`crit` must not list the registered parameter `{}` (RFC 7515 §4.1.11)",
            registered.0
        );
    }
    let names: Vec<String> = crit
        .iter()
        .take(LISTED)
        .map(|s| format!("`{}`", crate::error::echo(&s.0)))
        .collect();
    let more = match crit.len() - names.len() {
        0 => String::new(),
        more => format!(" and {more} more"),
    };
    format!(
        "critical header parameters {}{more} are not understood (RFC 7515 §4.1.11)",
        names.join(", ")
    )
}

/// Writes the header JSON keycard signs: `alg`, then `typ` and `kid` when set.
pub(crate) fn write(
    algorithm: Algorithm,
    token_type: Option<&str>,
    key_id: Option<&str>,
) -> Vec<u8> {
    let mut json = Vec::with_capacity(64);
    json.extend_from_slice(b"{\"alg\":\"");
    json.extend_from_slice(algorithm.as_str().as_bytes());
    json.push(b'"');
    for (name, value) in [("typ", token_type), ("kid", key_id)] {
        if let Some(value) = value {
            json.extend_from_slice(b",\"");
            json.extend_from_slice(name.as_bytes());
            json.extend_from_slice(b"\":");
            // Serializing a &str into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut json, value);
        }
    }
    json.push(b'}');
    json
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn kind(json: &str) -> ErrorKind {
        parse(json.as_bytes()).unwrap_err().kind()
    }

    #[test]
    fn reads_alg_kid_typ_cty() {
        let h = parse(br#"{"alg":"ES256","kid":"k1","typ":"JWT","cty":"x","x5u":"https://e"}"#)
            .unwrap();
        assert_eq!(h.algorithm, Algorithm::ES256);
        assert_eq!(h.key_id.as_deref(), Some("k1"));
        assert_eq!(h.token_type.as_deref(), Some("JWT"));
        assert_eq!(h.content_type.as_deref(), Some("x"));
    }

    #[test]
    fn refuses_missing_or_non_string_alg() {
        assert_eq!(kind(r#"{"typ":"JWT"}"#), ErrorKind::Malformed);
        assert_eq!(kind(r#"{"alg":256}"#), ErrorKind::Malformed);
        assert_eq!(kind(r#"{"alg":"none"}"#), ErrorKind::Algorithm);
    }

    #[test]
    fn refuses_duplicates_even_with_escapes() {
        assert_eq!(
            kind(r#"{"alg":"HS256","alg":"none"}"#),
            ErrorKind::Malformed
        );
        assert_eq!(
            kind(r#"{"alg":"HS256","\u0061lg":"HS256"}"#),
            ErrorKind::Malformed
        );
        assert_eq!(kind(r#"{"alg":"HS256","x":1,"x":2}"#), ErrorKind::Malformed);
    }

    #[test]
    fn refuses_every_crit() {
        for crit in [
            r#"[]"#,
            r#"["alg"]"#,
            r#"["exp"]"#,
            r#"["b64"]"#,
            r#""exp""#,
        ] {
            let json = format!(r#"{{"alg":"HS256","crit":{crit},"exp":1}}"#);
            assert_eq!(kind(&json), ErrorKind::Malformed, "{crit}");
        }
        let err = parse(br#"{"alg":"HS256","crit":["alg"]}"#).unwrap_err();
        assert!(
            err.to_string().contains("registered parameter `alg`"),
            "{err}"
        );
    }

    #[test]
    fn refuses_every_jwe_only_parameter() {
        for name in ["enc", "zip", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c"] {
            let json = format!(r#"{{"alg":"HS256","{name}":1}}"#);
            let err = parse(json.as_bytes()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Malformed, "{name}");
            assert!(err.to_string().contains("JWE"), "{err}");
        }
    }

    #[test]
    fn refuses_nesting_past_the_limit_even_in_ignored_members() {
        let deep = |n: usize| {
            format!(
                r#"{{"alg":"HS256","x":{}{}}}"#,
                "[".repeat(n),
                "]".repeat(n)
            )
        };
        assert!(parse(deep(json::MAX_JSON_DEPTH - 1).as_bytes()).is_ok());
        assert_eq!(kind(&deep(json::MAX_JSON_DEPTH)), ErrorKind::Malformed);
    }

    #[test]
    fn crit_messages_are_bounded() {
        let names: Vec<String> = (0..2000).map(|i| format!("\"ext-{i}\"")).collect();
        let json = format!(r#"{{"alg":"HS256","crit":[{}]}}"#, names.join(","));
        let text = parse(json.as_bytes()).unwrap_err().to_string();
        assert!(text.contains("and 1997 more"), "{text}");
        assert!(text.len() < 200, "{text}");
    }

    #[test]
    fn refuses_unencoded_payload_and_non_objects() {
        assert_eq!(kind(r#"{"alg":"HS256","b64":false}"#), ErrorKind::Malformed);
        assert!(parse(br#"{"alg":"HS256","b64":true}"#).is_ok());
        assert_eq!(kind(r#"["alg","HS256"]"#), ErrorKind::Malformed);
        assert_eq!(kind(r#"{"alg":"HS256"} x"#), ErrorKind::Malformed);
        assert_eq!(kind(r#"{"alg":"HS256","kid":7}"#), ErrorKind::Malformed);
    }

    #[test]
    fn written_header_parses_back() {
        let json = write(Algorithm::HS256, Some("JWT"), Some("k\"1"));
        let h = parse(&json).unwrap();
        assert_eq!(h.key_id.as_deref(), Some("k\"1"));
        assert_eq!(
            std::str::from_utf8(&json).unwrap(),
            r#"{"alg":"HS256","typ":"JWT","kid":"k\"1"}"#
        );
    }
}
