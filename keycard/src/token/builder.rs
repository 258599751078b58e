//! Minting tokens: [`Builder`] collects claims and header settings, then
//! [`sign`](Builder::sign) produces the compact JWS `header.payload.signature`.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use crate::clock::{self, Clock, SystemClock};
use crate::encoding::base64url;
use crate::error::Error;
use crate::keys::Signer;
use crate::token::claims::{ClaimType, NumericDate};
use crate::token::header;

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
    claims: Map<String, Value>,
    expiry: Option<When>,
    without_expiry: bool,
    not_before: Option<When>,
    issued_at: IssuedAt,
    token_type: Option<String>,
    key_id: Option<String>,
    clock: Arc<dyn Clock>,
    /// The first mistake made while building, reported by `sign` with its own kind.
    mistake: Option<Mistake>,
}

/// A mistake made while building, kept until `sign` reports it (a builder is a template, signed
/// any number of times, so the error is made anew each time).
#[derive(Debug, Clone)]
enum Mistake {
    /// A claim or setting that cannot work: reported as `configuration`.
    Configuration(String),
    /// The system random generator failed (for `random_jwt_id`): reported as `signing`, the
    /// kind of every failure to produce a token that is not the caller's fault.
    Random,
}

impl Mistake {
    fn to_error(&self) -> Error {
        match self {
            Mistake::Configuration(what) => Error::configuration(what.clone()),
            Mistake::Random => Error::signing(crate::keys::RandomFailure),
        }
    }
}

/// A time given absolutely or relative to the signing time.
#[derive(Debug, Clone, Copy)]
enum When {
    In(Duration),
    At(OffsetDateTime),
}

impl When {
    /// The time in whole seconds (JWTs carry whole seconds: a fraction would compare differently
    /// from validator to validator), rounded down: `exp` never later and `iat` never later than
    /// asked, so that a sign-out at the second of issue covers the token.
    fn resolve(self, now: OffsetDateTime) -> Result<NumericDate, Error> {
        let t = match self {
            When::At(t) => t,
            When::In(d) => now.checked_add(d).ok_or_else(out_of_range)?,
        };
        Ok(NumericDate::from(clock::whole_seconds(t)))
    }

    /// The time in whole seconds rounded up, for `nbf`: never valid earlier than asked.
    fn resolve_up(self, now: OffsetDateTime) -> Result<NumericDate, Error> {
        let down = self.resolve(now)?.to_datetime();
        let exact = match self {
            When::At(t) => t,
            When::In(d) => now.checked_add(d).ok_or_else(out_of_range)?,
        };
        if exact == down {
            return Ok(NumericDate::from(down));
        }
        down.checked_add(Duration::SECOND)
            .map(NumericDate::from)
            .ok_or_else(out_of_range)
    }
}

#[cold]
fn out_of_range() -> Error {
    Error::configuration("a time is outside the years -9999 to 9999")
}

#[derive(Debug, Clone, Copy)]
enum IssuedAt {
    Now,
    At(OffsetDateTime),
    Omitted,
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
            expiry: None,
            without_expiry: false,
            not_before: None,
            issued_at: IssuedAt::Now,
            token_type: Some("JWT".to_owned()),
            key_id: None,
            clock: Arc::new(SystemClock),
            mistake: None,
        }
    }

    /// Sets `iss`, who issues the token.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.claims
            .insert("iss".into(), Value::String(issuer.into()));
        self
    }

    /// Sets `sub`, whom the token is about.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.claims
            .insert("sub".into(), Value::String(subject.into()));
        self
    }

    /// Adds an audience to `aud`. One call gives `"aud":"api"`; more give an array.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        let new = Value::String(audience.into());
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
        self.claims.insert("jti".into(), Value::String(id.into()));
        self
    }

    /// Sets `jti` to 128 random bits from the system's secure generator, base64url-encoded.
    pub fn random_jwt_id(self) -> Self {
        match crate::keys::random_id() {
            Ok(id) => self.jwt_id(id),
            Err(_) => self.mistake(Mistake::Random),
        }
    }

    /// Sets `exp` to the signing time plus `lifetime`.
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.expiry = Some(When::In(lifetime));
        self
    }

    /// Sets `exp` to a fixed time, rounded down to a whole second.
    pub fn expires_at(mut self, at: OffsetDateTime) -> Self {
        self.expiry = Some(When::At(at));
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
        self.not_before = Some(When::At(at));
        self
    }

    /// Sets `iat` to a fixed time instead of the signing time, rounded down to a whole second.
    pub fn issued_at(mut self, at: OffsetDateTime) -> Self {
        self.issued_at = IssuedAt::At(at);
        self
    }

    /// Leaves `iat` out.
    pub fn without_issued_at(mut self) -> Self {
        self.issued_at = IssuedAt::Omitted;
        self
    }

    /// Sets any claim to any serializable value. Setting a name twice keeps the last value; the
    /// dedicated setters (`expires_in`, `not_before`, `issued_at`) win over `exp`, `nbf` and `iat`
    /// set here.
    pub fn claim(mut self, name: impl Into<String>, value: impl Serialize) -> Self {
        let name = name.into();
        match serde_json::to_value(value) {
            Ok(value) => {
                self.claims.insert(name, value);
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
        match serde_json::to_value(claims) {
            Ok(Value::Object(map)) => {
                self.claims.extend(map);
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
        self.token_type = Some(typ);
        self
    }

    /// Uses `clock` for `iat` and relative times instead of the system clock.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
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
        // Whole seconds: RFC 7519 allows fractions, but many peers parse integers only.
        let now = clock::whole_seconds(self.clock.now());
        let payload = self.payload(now)?;

        let algorithm = signer.algorithm();
        let kid = self.key_id.as_deref().or_else(|| signer.key_id());
        let header = header::write(algorithm, self.token_type.as_deref(), kid);

        let signature_len = algorithm.signature_len().unwrap_or(512);
        let mut token = Vec::with_capacity(
            base64url::encoded_len(header.len())
                + base64url::encoded_len(payload.len())
                + base64url::encoded_len(signature_len)
                + 2,
        );
        base64url::encode_into(&header, &mut token);
        token.push(b'.');
        base64url::encode_into(&payload, &mut token);

        let signature = signer.sign(&token)?;
        if let Some(expected) = algorithm.signature_len() {
            if signature.len() != expected {
                return Err(Error::signing(WrongLength {
                    algorithm: algorithm.as_str(),
                    expected,
                    found: signature.len(),
                }));
            }
        }
        token.push(b'.');
        base64url::encode_into(&signature, &mut token);
        // Base64url and dots are ASCII; the check is one pass over a few hundred bytes.
        String::from_utf8(token)
            .map_err(|_| Error::signing(std::io::Error::other("the encoded token is not ASCII")))
    }

    /// Writes the claims JSON: the time claims resolved against `now`, then the others.
    fn payload(&self, now: OffsetDateTime) -> Result<Vec<u8>, Error> {
        let exp = self.expiry.map(|w| w.resolve(now)).transpose()?;
        let nbf = self.not_before.map(|w| w.resolve_up(now)).transpose()?;
        let iat = match self.issued_at {
            IssuedAt::Now => Some(When::At(now).resolve(now)?),
            IssuedAt::At(t) => Some(When::At(t).resolve(now)?),
            IssuedAt::Omitted => None,
        };
        if exp.is_none() && !self.claims.contains_key("exp") && !self.without_expiry {
            return Err(Error::configuration(
                "the token has no expiry: call `expires_in` or `expires_at` \
                 (or `without_expiry` to mint a token that never expires)",
            ));
        }

        let mut object = ObjectWriter {
            json: Vec::with_capacity(256),
        };
        for (name, date) in [("exp", exp), ("nbf", nbf), ("iat", iat)] {
            if let Some(date) = date {
                object.member(name, &date)?;
            }
        }
        for (name, value) in &self.claims {
            let overridden = match name.as_str() {
                "exp" => exp.is_some(),
                "nbf" => nbf.is_some(),
                "iat" => !matches!(self.issued_at, IssuedAt::Omitted),
                _ => false,
            };
            if !overridden {
                check_registered(name, value)?;
                object.member(name, value)?;
            }
        }
        Ok(object.finish())
    }
}

/// Refuses registered claims of the wrong JSON type (RFC 7519 §4.1), which no validator accepts:
/// the validator reads them with the same table (`claims::ClaimType`).
fn check_registered(name: &str, value: &Value) -> Result<(), Error> {
    let ok = ClaimType::of(name).is_none_or(|ty| ty.admits(value));
    if ok {
        Ok(())
    } else {
        Err(Error::configuration(format!(
            "claim `{name}` has the wrong type for a registered claim (RFC 7519 §4.1)"
        )))
    }
}

/// Writes one JSON object member by member.
struct ObjectWriter {
    json: Vec<u8>,
}

impl ObjectWriter {
    fn member<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), Error> {
        self.json
            .push(if self.json.is_empty() { b'{' } else { b',' });
        serde_json::to_writer(&mut self.json, name)
            .and_then(|()| {
                self.json.push(b':');
                serde_json::to_writer(&mut self.json, value)
            })
            .map_err(|e| Error::configuration(format!("claim `{name}` cannot be serialized: {e}")))
    }

    fn finish(mut self) -> Vec<u8> {
        if self.json.is_empty() {
            self.json.push(b'{');
        }
        self.json.push(b'}');
        self.json
    }
}

/// A signer returned a signature whose length its algorithm rules out.
#[derive(Debug)]
struct WrongLength {
    algorithm: &'static str,
    expected: usize,
    found: usize,
}

impl std::fmt::Display for WrongLength {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the signer returned {} bytes, but {} signatures are {} bytes \
             (ECDSA must be R || S, not ASN.1 DER: RFC 7518 §3.4)",
            self.found, self.algorithm, self.expected
        )
    }
}

impl std::error::Error for WrongLength {}
