//! The strict reading of a token's claims by the validator: [`read_claims`] reads the payload
//! into the caller's type and the [`Registered`] claims in one pass, [`parse_registered`] reads
//! the registered claims alone (the separate strict pass it falls back to). Both refuse
//! duplicate names, claims deeper than the limit, text that is not UTF-8, and registered claims
//! of a type other than the table's (`registered::ClaimType`).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::encoding::json::{member, Members, Str};
use crate::error::Error;
use crate::token::claims::NumericDate;
use crate::token::registered::{ClaimType, Name};

/// The registered claims as the validator reads them: borrowed where possible, strictly typed,
/// with the names of all members (duplicates refused).
#[derive(Debug, Default)]
pub(crate) struct Registered<'a> {
    pub(crate) iss: Option<Cow<'a, str>>,
    pub(crate) sub: Option<Cow<'a, str>>,
    pub(crate) aud: Option<AudienceRef<'a>>,
    pub(crate) exp: Option<NumericDate>,
    pub(crate) nbf: Option<NumericDate>,
    pub(crate) iat: Option<NumericDate>,
    /// `jti`, `sid`, `scope`, `scp`, `azp`, `auth_time`, `nonce`: read for the lifecycle checks
    /// (revocation, scopes, OpenID Connect), typed strictly like the others.
    pub(crate) jti: Option<Cow<'a, str>>,
    pub(crate) sid: Option<Cow<'a, str>>,
    pub(crate) scope: Option<Cow<'a, str>>,
    pub(crate) scp: Option<AudienceRef<'a>>,
    pub(crate) azp: Option<Cow<'a, str>>,
    pub(crate) auth_time: Option<NumericDate>,
    pub(crate) nonce: Option<Cow<'a, str>>,
    pub(crate) members: Members<'a>,
}

/// Reads the registered claims from the decoded payload, which must be one JSON object.
pub(crate) fn parse_registered(json: &[u8]) -> Result<Registered<'_>, Error> {
    // RFC 7519 §7.2 and RFC 8259 §8.1: the claims are UTF-8. serde_json does not check the UTF-8
    // of strings it skips (claims no one reads), so the whole text is checked first.
    let json = std::str::from_utf8(json).map_err(|e| Error::malformed(format!("claims: {e}")))?;
    // The same depth limit for every type the claims are read into afterwards.
    crate::encoding::json::check_depth(json.as_bytes())
        .map_err(|why| Error::malformed(format!("claims: {why}")))?;
    let mut de = serde_json::Deserializer::from_str(json);
    de::Deserializer::deserialize_map(&mut de, RegisteredVisitor)
        .and_then(|claims| de.end().map(|()| claims))
        .map_err(|e| Error::malformed(format!("claims: {e}")))
}

struct RegisteredVisitor;

impl<'de> Visitor<'de> for RegisteredVisitor {
    type Value = Registered<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        const STR: &str = ClaimType::String.expected();
        const STRS: &str = ClaimType::StringOrStrings.expected();
        const DATE: &str = ClaimType::Date.expected();
        let mut claims = Registered::default();
        while let Some(name) = map.next_key::<Str<'de>>()? {
            claims.members.insert::<A::Error>(&name)?;
            match name.0.as_ref() {
                "iss" => claims.iss = Some(member::<_, Str<'de>>(&mut map, "iss", STR)?.0),
                "sub" => claims.sub = Some(member::<_, Str<'de>>(&mut map, "sub", STR)?.0),
                "aud" => claims.aud = Some(member(&mut map, "aud", STRS)?),
                "exp" => claims.exp = Some(member(&mut map, "exp", DATE)?),
                "nbf" => claims.nbf = Some(member(&mut map, "nbf", DATE)?),
                "iat" => claims.iat = Some(member(&mut map, "iat", DATE)?),
                "jti" => claims.jti = Some(member::<_, Str<'de>>(&mut map, "jti", STR)?.0),
                "sid" => claims.sid = Some(member::<_, Str<'de>>(&mut map, "sid", STR)?.0),
                "scope" => claims.scope = Some(member::<_, Str<'de>>(&mut map, "scope", STR)?.0),
                "scp" => claims.scp = Some(member(&mut map, "scp", STRS)?),
                "azp" => claims.azp = Some(member::<_, Str<'de>>(&mut map, "azp", STR)?.0),
                "auth_time" => claims.auth_time = Some(member(&mut map, "auth_time", DATE)?),
                "nonce" => claims.nonce = Some(member::<_, Str<'de>>(&mut map, "nonce", STR)?.0),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(claims)
    }
}

/// Reads the claims into the caller's `T` and the registered claims in **one pass**: every member
/// name goes through the duplicate detector, every registered claim is read with its type from
/// [`ClaimType::TABLE`] (and handed on to `T` as the same JSON value), every other member goes
/// straight to `T`. The payload must be one JSON object, UTF-8 throughout, with nothing after it.
///
/// `Err(())` says only that the one pass failed, for whatever reason (a strict rule, or `T`
/// refusing the claims): the caller then runs the separate strict pass and the deserialization of
/// `T` one after the other, so that a failure reports exactly the error, of exactly the kind and
/// precedence, that those two passes give. The fast path never decides an error.
pub(crate) fn read_claims<'de, T: Deserialize<'de>>(
    json: &'de [u8],
    registered: &mut Registered<'de>,
) -> Result<T, ()> {
    // As in `parse_registered`: serde_json does not check the UTF-8 of strings `T` skips, and
    // the depth limit holds whatever `T` reads or skips.
    let json = std::str::from_utf8(json).map_err(drop)?;
    crate::encoding::json::check_depth(json.as_bytes()).map_err(drop)?;
    let mut de = serde_json::Deserializer::from_str(json);
    let mut failed = false;
    let value = T::deserialize(Strict {
        de: &mut de,
        state: OnePass {
            registered,
            failed: &mut failed,
        },
    })
    .map_err(drop)?;
    de.end().map_err(drop)?;
    // A `T` whose visitor went on after one of our errors (none that serde derives does) has not
    // been read strictly.
    if failed {
        return Err(());
    }
    Ok(value)
}

/// What the one pass collects beside `T`: the registered claims, and whether a strict rule
/// failed, whatever `T` did with the error.
struct OnePass<'a, 'de> {
    registered: &'a mut Registered<'de>,
    failed: &'a mut bool,
}

/// The claims object as `T` sees it: whatever `T` asks for, the payload is read as a map through
/// [`StrictMap`].
struct Strict<'a, 'de> {
    de: &'a mut serde_json::Deserializer<serde_json::de::StrRead<'de>>,
    state: OnePass<'a, 'de>,
}

impl<'de> Deserializer<'de> for Strict<'_, 'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        de::Deserializer::deserialize_map(
            self.de,
            StrictVisitor {
                inner: visitor,
                state: self.state,
            },
        )
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        // An object is never `null`.
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

struct StrictVisitor<'a, 'de, V> {
    inner: V,
    state: OnePass<'a, 'de>,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for StrictVisitor<'_, 'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_map(StrictMap {
            map,
            state: self.state,
            pending: None,
        })
    }
}

/// A registered claim's value, read (and type-checked) when its name was, waiting for `T` to ask.
enum Pending<'de> {
    Text(Cow<'de, str>),
    /// `aud` or `scp` as read into the registered claims.
    Aud,
    Scp,
    Number(Number),
}

/// A NumericDate's number as serde_json delivered it, to hand `T` the same visit.
#[derive(Clone, Copy)]
enum Number {
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Number {
    fn date(self) -> Option<NumericDate> {
        match self {
            Number::U64(v) => i64::try_from(v)
                .ok()
                .and_then(|v| NumericDate::from_unix(v).ok()),
            Number::I64(v) => NumericDate::from_unix(v).ok(),
            Number::F64(v) => NumericDate::from_f64(v),
        }
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumberVisitor;
        impl Visitor<'_> for NumberVisitor {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(ClaimType::Date.expected())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number::I64(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number::U64(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number::F64(v))
            }
        }
        deserializer.deserialize_any(NumberVisitor)
    }
}

struct StrictMap<'a, 'de, A> {
    map: A,
    state: OnePass<'a, 'de>,
    pending: Option<Pending<'de>>,
}

impl<'de, A: MapAccess<'de>> StrictMap<'_, 'de, A> {
    /// Reads the value of the registered claim `name` (if it is one) into the registered claims.
    fn read_registered(&mut self, name: &str) -> Result<Option<Pending<'de>>, A::Error> {
        let claims = &mut *self.state.registered;
        let map = &mut self.map;
        let text = |map: &mut A, slot: &mut Option<Cow<'de, str>>| {
            let value = map.next_value::<Str<'de>>()?.0;
            *slot = Some(value.clone());
            Ok(Some(Pending::Text(value)))
        };
        let date = |map: &mut A, slot: &mut Option<NumericDate>| {
            let number = map.next_value::<Number>()?;
            *slot = Some(number.date().ok_or_else(|| {
                de::Error::custom("NumericDate is outside the years -9999 to 9999")
            })?);
            Ok(Some(Pending::Number(number)))
        };
        let Some(name) = Name::of(name) else {
            return Ok(None);
        };
        match name {
            Name::Iss => text(map, &mut claims.iss),
            Name::Sub => text(map, &mut claims.sub),
            Name::Aud => {
                claims.aud = Some(map.next_value()?);
                Ok(Some(Pending::Aud))
            }
            Name::Exp => date(map, &mut claims.exp),
            Name::Nbf => date(map, &mut claims.nbf),
            Name::Iat => date(map, &mut claims.iat),
            Name::Jti => text(map, &mut claims.jti),
            Name::Sid => text(map, &mut claims.sid),
            Name::Scope => text(map, &mut claims.scope),
            Name::Scp => {
                claims.scp = Some(map.next_value()?);
                Ok(Some(Pending::Scp))
            }
            Name::Azp => text(map, &mut claims.azp),
            Name::AuthTime => date(map, &mut claims.auth_time),
            Name::Nonce => text(map, &mut claims.nonce),
        }
    }

    fn strict<R>(&mut self, result: Result<R, A::Error>) -> Result<R, A::Error> {
        if result.is_err() {
            *self.state.failed = true;
        }
        result
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for StrictMap<'_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let name = match self.map.next_key::<Str<'de>>() {
            Ok(Some(name)) => name,
            Ok(None) => return Ok(None),
            Err(e) => return self.strict(Err(e)),
        };
        let inserted = self.state.registered.members.insert::<A::Error>(&name);
        self.strict(inserted)?;
        let pending = self.read_registered(&name.0);
        self.pending = self.strict(pending)?;
        seed.deserialize(Replay::<A::Error>::text(&name.0))
            .map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, A::Error> {
        let claims = &*self.state.registered;
        match self.pending.take() {
            None => self.map.next_value_seed(seed),
            Some(Pending::Text(text)) => seed.deserialize(Replay::text(&text)),
            Some(Pending::Number(number)) => seed.deserialize(Replay::number(number)),
            Some(Pending::Aud) => seed.deserialize(Replay::list(claims.aud.as_ref())),
            Some(Pending::Scp) => seed.deserialize(Replay::list(claims.scp.as_ref())),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// A member name or a registered claim's value, handed to `T` as serde_json would have.
struct Replay<'r, 'de, E> {
    value: ReplayValue<'r, 'de>,
    error: std::marker::PhantomData<E>,
}

enum ReplayValue<'r, 'de> {
    Text(&'r Cow<'de, str>),
    Texts(&'r [Cow<'de, str>]),
    Number(Number),
}

impl<'r, 'de, E> Replay<'r, 'de, E> {
    fn text(text: &'r Cow<'de, str>) -> Self {
        Self::new(ReplayValue::Text(text))
    }
    fn number(number: Number) -> Self {
        Self::new(ReplayValue::Number(number))
    }
    fn list(list: Option<&'r AudienceRef<'de>>) -> Self {
        Self::new(match list {
            Some(AudienceRef::One(one)) => ReplayValue::Text(one),
            Some(AudienceRef::Many(many)) => ReplayValue::Texts(many),
            None => ReplayValue::Texts(&[]),
        })
    }
    fn new(value: ReplayValue<'r, 'de>) -> Self {
        Replay {
            value,
            error: std::marker::PhantomData,
        }
    }
}

impl<'de, E: de::Error> Deserializer<'de> for Replay<'_, 'de, E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.value {
            ReplayValue::Text(Cow::Borrowed(text)) => visitor.visit_borrowed_str(text),
            ReplayValue::Text(Cow::Owned(text)) => visitor.visit_str(text),
            ReplayValue::Texts(all) => visitor.visit_seq(ReplaySeq::<E> {
                all: all.iter(),
                error: std::marker::PhantomData,
            }),
            ReplayValue::Number(Number::U64(v)) => visitor.visit_u64(v),
            ReplayValue::Number(Number::I64(v)) => visitor.visit_i64(v),
            ReplayValue::Number(Number::F64(v)) => visitor.visit_f64(v),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        // Registered claims are never `null` (the table has no such type).
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, E> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

struct ReplaySeq<'r, 'de, E> {
    all: std::slice::Iter<'r, Cow<'de, str>>,
    error: std::marker::PhantomData<E>,
}

impl<'de, E: de::Error> SeqAccess<'de> for ReplaySeq<'_, 'de, E> {
    type Error = E;

    fn next_element_seed<S: de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, E> {
        self.all
            .next()
            .map(|one| seed.deserialize(Replay::text(one)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.all.len())
    }
}

/// `aud` as a string or an array of strings, borrowed where possible (a single audience, the
/// common case, allocates nothing).
#[derive(Debug)]
pub(crate) enum AudienceRef<'de> {
    One(Cow<'de, str>),
    Many(Vec<Cow<'de, str>>),
}

impl<'de> AudienceRef<'de> {
    pub(crate) fn as_slice(&self) -> &[Cow<'de, str>] {
        match self {
            AudienceRef::One(one) => std::slice::from_ref(one),
            AudienceRef::Many(many) => many,
        }
    }
}

impl<'de> Deserialize<'de> for AudienceRef<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AudVisitor;
        impl<'de> Visitor<'de> for AudVisitor {
            type Value = AudienceRef<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(AudienceRef::One(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(AudienceRef::One(Cow::Owned(v.to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut all = Vec::new();
                while let Some(one) = seq.next_element::<Str<'de>>()? {
                    all.push(one.0);
                }
                Ok(AudienceRef::Many(all))
            }
        }
        deserializer.deserialize_any(AudVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::claims::{Audience, Claims};

    #[test]
    fn the_validator_reads_every_registered_claim_with_the_tables_type() {
        // The builder refuses by `ClaimType::admits`; the validator must refuse the same values,
        // or one of them mints tokens the other refuses (or accepts what the other calls wrong).
        let samples = [
            serde_json::json!("text"),
            serde_json::json!(["a", "b"]),
            serde_json::json!(1_700_000_000),
            serde_json::json!(true),
            serde_json::json!({"a": 1}),
        ];
        for (name, ty) in ClaimType::TABLE {
            for value in &samples {
                let json = serde_json::json!({ name: value }).to_string();
                let parsed = parse_registered(json.as_bytes()).is_ok();
                assert_eq!(parsed, ty.admits(value), "{name} = {value}");
            }
        }
    }

    #[test]
    fn one_pass_reads_the_claims_and_the_registered_claims_together() {
        let json =
            br#"{"iss":"a","aud":["x","y"],"exp":5,"nbf":-1,"iat":1.5,"n":{"a":[1]},"s":"\u0041"}"#;
        // Into a value: every member, the registered ones as serde_json reads them.
        let mut registered = Registered::default();
        let value = read_claims::<serde_json::Value>(json, &mut registered).unwrap();
        assert_eq!(
            value,
            serde_json::from_slice::<serde_json::Value>(json).unwrap()
        );
        assert_eq!(registered.iss.as_deref(), Some("a"));
        assert_eq!(registered.aud.unwrap().as_slice(), ["x", "y"]);
        assert_eq!(registered.exp.unwrap().unix_timestamp(), 5);
        assert_eq!(registered.nbf.unwrap().unix_timestamp(), -1);
        assert!(registered.members.contains("n") && registered.members.contains("s"));
        // Into `Claims` (flattened extras) and into borrowed fields.
        let claims = read_claims::<Claims>(json, &mut Registered::default()).unwrap();
        assert_eq!(claims, serde_json::from_slice::<Claims>(json).unwrap());
        #[derive(serde::Deserialize)]
        struct Borrowed<'a> {
            iss: &'a str,
            aud: Vec<&'a str>,
            exp: u64,
            iat: f64,
        }
        let b = read_claims::<Borrowed<'_>>(json, &mut Registered::default()).unwrap();
        assert_eq!((b.iss, b.aud, b.exp, b.iat), ("a", vec!["x", "y"], 5, 1.5));
        let one = read_claims::<Claims>(br#"{"aud":"x"}"#, &mut Registered::default()).unwrap();
        assert_eq!(one.audience, Some(Audience::One("x".into())));
    }

    #[test]
    fn one_pass_fails_wherever_the_strict_pass_does() {
        for (name, ty) in ClaimType::TABLE {
            for value in [
                serde_json::json!("text"),
                serde_json::json!(["a", "b"]),
                serde_json::json!(1_700_000_000),
                serde_json::json!(true),
                serde_json::json!(null),
            ] {
                let json = serde_json::json!({ name: value }).to_string();
                let one =
                    read_claims::<serde_json::Value>(json.as_bytes(), &mut Registered::default())
                        .is_ok();
                assert_eq!(one, ty.admits(&value), "{name} = {value}");
            }
        }
        for bad in [
            &br#"{"exp":5,"exp":6}"#[..],
            br#"{"a":1,"a":1}"#,
            br#"{"a":1,"\u0061":1}"#,
            br#"[1]"#,
            br#"{} {}"#,
            br#"{"exp":1e300}"#,
            b"{\"x\":\"\xff\"}",
        ] {
            assert!(read_claims::<IgnoredAny>(bad, &mut Registered::default()).is_err());
            assert!(read_claims::<serde_json::Value>(bad, &mut Registered::default()).is_err());
            assert!(parse_registered(bad).is_err());
        }
    }

    #[test]
    fn registered_claims_are_typed_strictly() {
        let ok = parse_registered(br#"{"iss":"a","aud":["x","y"],"exp":5,"n":{"a":[1]}}"#).unwrap();
        assert_eq!(ok.iss.as_deref(), Some("a"));
        assert_eq!(ok.aud.unwrap().as_slice(), ["x", "y"]);
        assert!(ok.members.contains("n") && !ok.members.contains("sub"));
        for bad in [
            r#"{"exp":"5"}"#,
            r#"{"iss":5}"#,
            r#"{"aud":5}"#,
            r#"{"aud":["x",5]}"#,
            r#"{"sub":null}"#,
            r#"{"jti":1}"#,
            r#"{"exp":5,"exp":6}"#,
            r#"{"a":1,"a":1}"#,
            r#"[1]"#,
            r#"{} {}"#,
        ] {
            assert!(parse_registered(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn deep_nesting_does_not_exhaust_the_stack() {
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        // The strict pass refuses nesting past the limit, whatever type comes next...
        let err = parse_registered(deep.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("deeper than 64"), "{err}");
        // ...and building a value tree stops at its depth limit of 128 with an error.
        let err = serde_json::from_slice::<Claims>(deep.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("recursion limit"), "{err}");
    }
}
