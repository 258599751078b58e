//! Minting tokens: the public [`Builder`], which collects claims and header settings, then
//! [`sign`](Builder::sign) produces the compact JWS `header.payload.signature`.
//!
//! What it rests on is private: `times` turns the time settings into the `exp`, `nbf` and `iat`
//! written (one rounding rule per claim, on every path), `typed` writes claims structs to JSON
//! member by member, and `writer` writes the payload and signs it.

mod times;
mod typed;
mod writer;

use std::borrow::Cow;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use crate::clock::Clock;
use crate::error::Error;
use crate::keys::Signer;
use times::{IssuedAt, TimeSettings, When};
use typed::{Typed, TypedError, TypedWriter};

/// Builds and signs a JWT.
///
/// Chain the settings, then call [`sign`](Builder::sign) with any [`Signer`]. A token must have
/// an expiry (`expires_in` or `expires_at`) unless you say [`without_expiry`](Builder::without_expiry);
/// `iat` is set to the current time unless you say otherwise; `typ` is `JWT` unless you set
/// another. Mistakes (a claim that does not serialize, `exp` that is not a date) are reported by
/// `sign` as [`ErrorKind::Configuration`](crate::ErrorKind::Configuration).
///
/// A builder is a template: `sign` borrows it, so one builder can mint many tokens, each with
/// times taken when it is signed.
///
/// ```
/// use keycard::{Algorithm, Builder, HmacKey};
/// use time::Duration;
///
/// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
/// let token = Builder::new()
///     .issuer("https://auth.example.com")
///     .subject("user-42")
///     .audience("api")
///     .expires_in(Duration::minutes(15))
///     .claim("scope", "read write")
///     .sign(&key)?;
/// assert!(token.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."));
/// # Ok::<(), keycard::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "call `sign` to get a token"]
pub struct Builder {
    /// Claims set by name (`claim`, `issuer`, ...) or from a map.
    claims: Map<String, Value>,
    /// Claims from structs (`claims`), already JSON: written into tokens as they are.
    typed: Typed,
    /// `expires_*`, `not_before`, `issued_at` and the clock, resolved when a token is signed.
    times: TimeSettings,
    without_expiry: bool,
    token_type: Option<Cow<'static, str>>,
    key_id: Option<String>,
    /// The first mistake made while building, reported by `sign` with its own kind.
    mistake: Option<Mistake>,
}

/// A mistake made while building, kept until `sign` reports it (a builder is a template, signed
/// any number of times, so the error is made anew each time).
#[derive(Debug, Clone)]
enum Mistake {
    /// A claim or setting that cannot work: reported as `configuration`.
    Configuration(String),
    /// The system random generator failed (for `random_jwt_id`): reported as
    /// [`Error::random_failure`], like every other random-generator failure.
    Random,
}

impl Mistake {
    fn to_error(&self) -> Error {
        match self {
            Mistake::Configuration(what) => Error::configuration(what.clone()),
            Mistake::Random => Error::random_failure(),
        }
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// An empty builder: no claims, `typ: JWT`, the system clock.
    pub fn new() -> Self {
        Builder {
            claims: Map::new(),
            typed: Typed::default(),
            times: TimeSettings::default(),
            without_expiry: false,
            token_type: Some(Cow::Borrowed("JWT")),
            key_id: None,
            mistake: None,
        }
    }

    /// Sets the claim `name`, replacing any earlier value, from a struct too.
    fn set(&mut self, name: String, value: Value) {
        self.typed.remove(&name);
        self.claims.insert(name, value);
    }

    /// Sets `iss`, who issues the token.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.set("iss".into(), Value::String(issuer.into()));
        self
    }

    /// Sets `sub`, whom the token is about.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.set("sub".into(), Value::String(subject.into()));
        self
    }

    /// Adds an audience to `aud`. One call gives `"aud":"api"`; more give an array.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        let new = Value::String(audience.into());
        // An `aud` from a struct is extended like one set here.
        if let Some(aud) = self.typed.take_value("aud") {
            self.claims.insert("aud".into(), aud);
        }
        let aud = match self.claims.remove("aud") {
            Some(Value::String(one)) => Value::Array(vec![Value::String(one), new]),
            Some(Value::Array(mut many)) => {
                many.push(new);
                Value::Array(many)
            }
            _ => new,
        };
        self.claims.insert("aud".into(), aud);
        self
    }

    /// Sets `jti`, the token's unique id.
    pub fn jwt_id(mut self, id: impl Into<String>) -> Self {
        self.set("jti".into(), Value::String(id.into()));
        self
    }

    /// Sets `jti` to 128 random bits from the system's secure generator, base64url-encoded.
    pub fn random_jwt_id(self) -> Self {
        match crate::keys::random_id() {
            Ok(id) => self.jwt_id(id),
            Err(_) => self.mistake(Mistake::Random),
        }
    }

    /// Sets `exp` to the signing time plus `lifetime`, rounded down to a whole second. The
    /// signing time is the clock's, rounded down to a whole second as `iat` is.
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.times.expiry = Some(When::In(lifetime));
        self
    }

    /// Sets `exp` to a fixed time, rounded down to a whole second.
    pub fn expires_at(mut self, at: OffsetDateTime) -> Self {
        self.times.expiry = Some(When::At(at));
        self
    }

    /// Mints a token with no `exp`. Such a token is valid until its key is retired, and validators
    /// refuse it unless they opt out of requiring `exp`; prefer a short expiry.
    pub fn without_expiry(mut self) -> Self {
        self.without_expiry = true;
        self
    }

    /// Sets `nbf`: the token is not valid before this time, rounded up to a whole second.
    pub fn not_before(mut self, at: OffsetDateTime) -> Self {
        self.times.not_before = Some(at);
        self
    }

    /// Sets `iat` to a fixed time instead of the signing time, rounded down to a whole second.
    pub fn issued_at(mut self, at: OffsetDateTime) -> Self {
        self.times.issued_at = IssuedAt::At(at);
        self
    }

    /// Leaves `iat` out.
    pub fn without_issued_at(mut self) -> Self {
        self.times.issued_at = IssuedAt::Omitted;
        self
    }

    /// Sets any claim to any serializable value. Setting a name twice keeps the last value; the
    /// dedicated setters (`expires_in`, `not_before`, `issued_at`) win over `exp`, `nbf` and `iat`
    /// set here.
    pub fn claim(mut self, name: impl Into<String>, value: impl Serialize) -> Self {
        let name = name.into();
        match serde_json::to_value(value) {
            Ok(value) => {
                self.set(name, value);
                self
            }
            Err(e) => self.mistake(Mistake::Configuration(format!(
                "claim `{name}` cannot be serialized: {e}"
            ))),
        }
    }

    /// Adds every field of a claims struct (anything that serializes to a JSON object).
    ///
    /// ```
    /// use keycard::{Algorithm, Builder, HmacKey};
    /// use serde::Serialize;
    /// use time::Duration;
    ///
    /// #[derive(Serialize)]
    /// struct Session { sub: String, tenant: u32 }
    ///
    /// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
    /// let token = Builder::new()
    ///     .claims(&Session { sub: "user-42".into(), tenant: 7 })
    ///     .expires_in(Duration::minutes(5))
    ///     .sign(&key)?;
    /// # Ok::<(), keycard::Error>(())
    /// ```
    pub fn claims(mut self, claims: &impl Serialize) -> Self {
        // A struct is written to JSON here, once, member by member; anything else (a map, a
        // `Value`, a struct with flattened members) goes through a `Value`.
        let mut typed = std::mem::take(&mut self.typed);
        if typed.members.is_empty() {
            // Room for an ordinary claims struct, so that it is written without reallocating.
            typed = Typed::with_room();
        }
        let start = typed.members.len();
        match claims.serialize(TypedWriter { sink: &mut typed }) {
            Ok(()) => {
                if !self.claims.is_empty() {
                    for member in &typed.members[start..] {
                        self.claims.remove(member.name);
                    }
                }
                typed.last_wins(0);
                self.typed = typed;
                return self;
            }
            Err(TypedError::NotAStruct) => {
                typed.truncate(start);
                self.typed = typed;
            }
            Err(TypedError::Json(e)) => {
                typed.truncate(start);
                self.typed = typed;
                return self.mistake(Mistake::Configuration(format!(
                    "claims cannot be serialized: {e}"
                )));
            }
        }
        match serde_json::to_value(claims) {
            Ok(Value::Object(map)) => {
                for (name, value) in map {
                    self.set(name, value);
                }
                self
            }
            Ok(_) => self.mistake(Mistake::Configuration(
                "claims must serialize to a JSON object".to_owned(),
            )),
            Err(e) => self.mistake(Mistake::Configuration(format!(
                "claims cannot be serialized: {e}"
            ))),
        }
    }

    /// Sets the header's `kid`, overriding the signer's own key id.
    pub fn key_id(mut self, kid: impl Into<String>) -> Self {
        self.key_id = Some(kid.into());
        self
    }

    /// Sets the header's `typ` (default `JWT`), for instance `at+jwt` for access tokens
    /// (RFC 9068 §2.1, RFC 8725 §3.11).
    pub fn token_type(mut self, typ: impl Into<String>) -> Self {
        let typ = typ.into();
        // No validator can be configured to expect an empty `typ`, so it would mint tokens
        // that nothing accepts.
        if typ.is_empty() {
            return self.mistake(Mistake::Configuration("`typ` must not be empty".to_owned()));
        }
        self.token_type = Some(Cow::Owned(typ));
        self
    }

    /// Uses `clock` for `iat` and relative times instead of the system clock.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.times.clock = Some(Arc::new(clock));
        self
    }

    fn mistake(mut self, mistake: Mistake) -> Self {
        self.mistake.get_or_insert(mistake);
        self
    }

    /// Signs the token and returns it in compact form: `header.payload.signature`.
    ///
    /// # Errors
    /// [`ErrorKind::Configuration`](crate::ErrorKind::Configuration) for a mistake made while
    /// building (no expiry, a registered claim of the wrong type, a claim that did not
    /// serialize); [`ErrorKind::Signing`](crate::ErrorKind::Signing) when the signer fails or
    /// returns a signature of the wrong length for its algorithm.
    pub fn sign<S: Signer + ?Sized>(&self, signer: &S) -> Result<String, Error> {
        if let Some(mistake) = &self.mistake {
            return Err(mistake.to_error());
        }
        let times = self.times.resolve()?;
        self.sign_at(&times, None, signer)
    }

    /// Signs a token with this builder's settings and the members of the claims struct `claims`,
    /// as `self.clone().claims(claims).sign(signer)` would, without storing the claims in the
    /// builder: for claims made per token, from a builder kept as a template. The struct is
    /// written to JSON once, into a buffer this thread reuses, and signing allocates only the
    /// token.
    ///
    /// ```
    /// use keycard::{Algorithm, Builder, HmacKey};
    /// use serde::Serialize;
    /// use time::Duration;
    ///
    /// #[derive(Serialize)]
    /// struct Session<'a> { sub: &'a str, tenant: u32 }
    ///
    /// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
    /// let template = Builder::new().issuer("https://auth.example.com").expires_in(Duration::minutes(5));
    /// let token = template.sign_claims(&Session { sub: "user-42", tenant: 7 }, &key)?;
    /// # Ok::<(), keycard::Error>(())
    /// ```
    ///
    /// # Errors
    /// Those of [`claims`](Self::claims) and [`sign`](Self::sign).
    pub fn sign_claims<T, S>(&self, claims: &T, signer: &S) -> Result<String, Error>
    where
        T: Serialize,
        S: Signer + ?Sized,
    {
        if let Some(mistake) = &self.mistake {
            return Err(mistake.to_error());
        }
        let times = self.times.resolve()?;
        // The shortcut: with no claims of its own to merge, the struct goes straight into the
        // payload.
        if self.claims.is_empty() && self.typed.members.is_empty() {
            if let Some(token) = self.sign_direct(&times, claims, signer) {
                return token;
            }
        }
        if let Some(token) = self.sign_overlay(&times, claims, signer) {
            return token;
        }
        // Not a struct (a map, a `Value`), or a mistake: the way `claims` goes, for its errors,
        // with the same times.
        let builder = self.clone().claims(claims);
        match &builder.mistake {
            Some(mistake) => Err(mistake.to_error()),
            None => builder.sign_at(&times, None, signer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::Algorithm;
    use crate::clock::FixedClock;
    use crate::encoding::base64url;
    use crate::keys::HmacKey;

    #[derive(serde::Serialize)]
    struct Profile<'a> {
        sub: &'a str,
        exp: i64,
        iat: i64,
        roles: [&'a str; 2],
    }

    fn payload(token: &str) -> String {
        let part = token.split('.').nth(1).unwrap();
        String::from_utf8(base64url::decode(part, "payload").unwrap()).unwrap()
    }

    /// The claims of `token`, as a JSON value (member order aside).
    fn claims_of(token: &str) -> serde_json::Value {
        serde_json::from_str(&payload(token)).unwrap()
    }

    #[test]
    fn a_struct_merges_with_the_other_claims_as_its_value_would() {
        // `claims(&struct)` no longer goes through a `Value`; what it signs must not change:
        // the same builder steps with the struct as a `Value` (the map path, the old way) give
        // the same claims.
        let key = HmacKey::new(Algorithm::HS256, &[7; 32]).unwrap();
        let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let profile = Profile {
            sub: "user-1",
            exp: 1_700_000_600,
            iat: 5,
            roles: ["a", "b"],
        };
        let value = serde_json::to_value(&profile).unwrap();
        type Step = fn(Builder, &dyn Fn(Builder) -> Builder) -> Builder;
        let steps: [Step; 6] = [
            |b, with| with(b),
            |b, with| with(b.subject("before")).claim("tenant", 7),
            |b, with| with(b).subject("after").claim("roles", "replaced"),
            |b, with| with(b).audience("one").audience("two"),
            |b, with| with(b.audience("zero")).without_issued_at(),
            |b, with| with(with(b).claim("x", 1)).expires_in(Duration::minutes(1)),
        ];
        for (i, step) in steps.iter().enumerate() {
            let typed = step(Builder::new().clock(FixedClock(at)), &|b| {
                b.claims(&profile)
            });
            let mapped = step(Builder::new().clock(FixedClock(at)), &|b| b.claims(&value));
            let (typed, mapped) = (typed.sign(&key), mapped.sign(&key));
            match (typed, mapped) {
                (Ok(t), Ok(m)) => assert_eq!(claims_of(&t), claims_of(&m), "step {i}"),
                (t, m) => assert_eq!(
                    t.map_err(|e| e.to_string()),
                    m.map_err(|e| e.to_string()),
                    "step {i}"
                ),
            }
        }
        // A struct's `aud` is extended by `audience` like one set by name.
        let token = Builder::new()
            .without_expiry()
            .claims(&serde_json::json!({"x": 1}))
            .claims(&Aud { aud: "first" })
            .audience("second")
            .sign(&key)
            .unwrap();
        assert_eq!(
            claims_of(&token)["aud"],
            serde_json::json!(["first", "second"])
        );
    }

    #[derive(serde::Serialize)]
    struct Aud<'a> {
        aud: &'a str,
    }

    #[test]
    fn sign_claims_signs_what_claims_then_sign_does() {
        let key = HmacKey::new(Algorithm::HS256, &[7; 32]).unwrap();
        let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let profile = Profile {
            sub: "user-1",
            exp: 1_700_000_600,
            iat: 5,
            roles: ["a", "b"],
        };
        let templates = [
            Builder::new().clock(FixedClock(at)),
            Builder::new().clock(FixedClock(at)).without_issued_at(),
            Builder::new()
                .clock(FixedClock(at))
                .subject("replaced")
                .claim("tenant", 7)
                .expires_in(Duration::minutes(1)),
            Builder::new()
                .clock(FixedClock(at))
                .claims(&Profile {
                    sub: "earlier",
                    exp: 1,
                    iat: 1,
                    roles: ["x", "y"],
                })
                .claim("extra", true),
        ];
        for template in templates {
            let one = template.sign_claims(&profile, &key).unwrap();
            let two = template.clone().claims(&profile).sign(&key).unwrap();
            assert_eq!(payload(&one), payload(&two));
            assert_eq!(one, two);
        }
        // A wrongly typed registered claim, a map, a non-object: as `claims` says.
        #[derive(serde::Serialize)]
        struct Bad {
            iss: u32,
        }
        let template = Builder::new().without_expiry();
        let err = template.sign_claims(&Bad { iss: 5 }, &key).unwrap_err();
        assert!(err.to_string().contains("`iss`"), "{err}");
        let map = serde_json::json!({"sub": "m"});
        assert!(payload(&template.sign_claims(&map, &key).unwrap()).contains("\"sub\":\"m\""));
        assert!(template.sign_claims(&[1, 2], &key).is_err());
    }
}
