//! Minting tokens: [`Builder`] collects claims and header settings, then
//! [`sign`](Builder::sign) produces the compact JWS `header.payload.signature`.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use serde::ser::{self, Impossible, Serialize, SerializeStruct};
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use crate::algorithm::Algorithm;
use crate::clock::{self, Clock};
use crate::encoding::base64url;
use crate::error::Error;
use crate::keys::Signer;
use crate::token::claims::NumericDate;
use crate::token::header;
use crate::token::registered::{ClaimType, Name};

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
    expiry: Option<When>,
    without_expiry: bool,
    not_before: Option<When>,
    issued_at: IssuedAt,
    token_type: Option<Cow<'static, str>>,
    key_id: Option<String>,
    /// `None`: the system clock (no allocation for the default).
    clock: Option<Arc<dyn Clock>>,
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
            typed: Typed::default(),
            expiry: None,
            without_expiry: false,
            not_before: None,
            issued_at: IssuedAt::Now,
            token_type: Some(Cow::Borrowed("JWT")),
            key_id: None,
            clock: None,
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
            typed.json.reserve(TYPED_CAPACITY);
            typed.members.reserve(16);
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
        self.clock = Some(Arc::new(clock));
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
        let now = self.now();
        // The claims JSON goes to this thread's buffer, reused from token to token, then
        // straight into the token as base64url.
        self.sign_at(now, None, signer)
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
        if self.mistake.is_some() {
            return self.sign(signer);
        }
        let now = self.now();
        if self.claims.is_empty() && self.typed.members.is_empty() {
            if let Some(token) = self.sign_direct(now, claims, signer) {
                return token;
            }
        }
        let signed = OVERLAY
            .try_with(|cell| {
                let mut overlay = cell.try_borrow_mut().ok()?;
                overlay.truncate(0);
                let written = claims.serialize(TypedWriter {
                    sink: &mut *overlay,
                });
                overlay.last_wins(0);
                let signed = match written {
                    Ok(()) => Some(self.sign_at(now, Some(&overlay), signer)),
                    // Not a struct, or a mistake: the way `claims` goes, for its errors.
                    Err(_) => None,
                };
                if overlay.json.capacity() > MAX_KEPT_PAYLOAD {
                    *overlay = Typed::default();
                }
                signed
            })
            .ok()
            .flatten();
        match signed {
            Some(token) => token,
            None => self.clone().claims(claims).sign(signer),
        }
    }

    /// `sign_claims` for a builder without claims of its own: the struct is written straight
    /// into this thread's payload buffer. `None` (nothing decided) for anything the general way
    /// must handle: not a struct, a name perhaps repeated, a serialization error.
    fn sign_direct<T, S>(
        &self,
        now: OffsetDateTime,
        claims: &T,
        signer: &S,
    ) -> Option<Result<String, Error>>
    where
        T: Serialize,
        S: Signer + ?Sized,
    {
        let times = (|| {
            let exp = self.expiry.map(|w| w.resolve(now)).transpose()?;
            let nbf = self.not_before.map(|w| w.resolve(now)).transpose()?;
            let iat = match self.issued_at {
                IssuedAt::Now => Some(When::At(now).resolve(now)?),
                IssuedAt::At(t) => Some(When::At(t).resolve(now)?),
                IssuedAt::Omitted => None,
            };
            Ok::<_, Error>([exp, nbf, iat])
        })();
        let times = match times {
            Ok(times) => times,
            Err(e) => return Some(Err(e)),
        };
        PAYLOAD
            .try_with(|cell| {
                let mut json = cell.try_borrow_mut().ok()?;
                json.clear();
                let mut object = ObjectWriter { json: &mut json };
                for (name, date) in [("exp", times[0]), ("nbf", times[1]), ("iat", times[2])] {
                    if let Some(date) = date {
                        if let Err(e) = object.member(name, &date) {
                            return Some(Err(e));
                        }
                    }
                }
                let mut direct = Direct {
                    json: &mut json,
                    overridden: [
                        times[0].is_some(),
                        times[1].is_some(),
                        !matches!(self.issued_at, IssuedAt::Omitted),
                    ],
                    seen: 0,
                    has_exp: times[0].is_some(),
                    wrong_type: None,
                };
                claims.serialize(TypedWriter { sink: &mut direct }).ok()?;
                let (has_exp, wrong) = (direct.has_exp, direct.wrong_type);
                if !has_exp && !self.without_expiry {
                    return Some(Err(no_expiry()));
                }
                if let Some(name) = wrong {
                    return Some(Err(wrong_type(name)));
                }
                ObjectWriter { json: &mut json }.finish();
                let token = self.sign_payload(signer, &json);
                if json.capacity() > MAX_KEPT_PAYLOAD {
                    *json = Vec::new();
                }
                Some(token)
            })
            .ok()
            .flatten()
    }

    /// The signing time, in whole seconds (RFC 7519 allows fractions, but many peers parse
    /// integers only). The clock is read only when a time depends on it: a builder whose times
    /// are all fixed (or come from the claims) signs without reading it.
    fn now(&self) -> OffsetDateTime {
        let relative = matches!(self.expiry, Some(When::In(_)))
            || matches!(self.not_before, Some(When::In(_)))
            || matches!(self.issued_at, IssuedAt::Now);
        if !relative {
            return OffsetDateTime::UNIX_EPOCH;
        }
        clock::whole_seconds(match &self.clock {
            Some(clock) => clock.now(),
            None => OffsetDateTime::now_utc(),
        })
    }

    /// Signs at `now`, with the members of `overlay` (a claims struct) over this builder's.
    fn sign_at<S: Signer + ?Sized>(
        &self,
        now: OffsetDateTime,
        overlay: Option<&Typed>,
        signer: &S,
    ) -> Result<String, Error> {
        let sign = |json: &mut Vec<u8>| {
            json.clear();
            self.payload(now, overlay, json)?;
            self.sign_payload(signer, json)
        };
        PAYLOAD
            .try_with(|cell| match cell.try_borrow_mut() {
                Ok(mut json) => {
                    let token = sign(&mut json);
                    if json.capacity() > MAX_KEPT_PAYLOAD {
                        *json = Vec::new();
                    }
                    token
                }
                // Signing from inside a `Signer` (or the thread's end): a buffer of its own.
                Err(_) => sign(&mut Vec::new()),
            })
            .unwrap_or_else(|_| sign(&mut Vec::new()))
    }

    /// Signs the claims JSON `payload`: header, payload and signature, in one buffer sized up
    /// front.
    fn sign_payload<S: Signer + ?Sized>(
        &self,
        signer: &S,
        payload: &[u8],
    ) -> Result<String, Error> {
        let algorithm = signer.algorithm();
        let kid = self.key_id.as_deref().or_else(|| signer.key_id());
        let typ = self.token_type.as_deref();
        let signature_len = algorithm.signature_len().unwrap_or(512);
        let mut token = Vec::with_capacity(
            encoded_header_len(algorithm, typ, kid)
                + base64url::encoded_len(payload.len())
                + base64url::encoded_len(signature_len)
                + 2,
        );
        write_header(algorithm, typ, kid, &mut token);
        token.push(b'.');
        base64url::encode_into(payload, &mut token);

        let mut inline = [0u8; MAX_INLINE_SIGNATURE];
        let heap;
        let signature = match signer.sign_into(&token, &mut inline)? {
            Some(len) => inline.get(..len).ok_or_else(|| {
                Error::signing(std::io::Error::other("the signer reported a wrong length"))
            })?,
            None => {
                heap = signer.sign(&token)?;
                &heap[..]
            }
        };
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
        base64url::encode_into(signature, &mut token);
        // Base64url and dots are ASCII; the check is one pass over a few hundred bytes.
        String::from_utf8(token)
            .map_err(|_| Error::signing(std::io::Error::other("the encoded token is not ASCII")))
    }

    /// Writes the claims JSON: the time claims resolved against `now`, then the others.
    fn payload(
        &self,
        now: OffsetDateTime,
        overlay: Option<&Typed>,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let empty = Typed::default();
        let overlay = overlay.unwrap_or(&empty);
        let exp = self.expiry.map(|w| w.resolve(now)).transpose()?;
        let nbf = self.not_before.map(|w| w.resolve_up(now)).transpose()?;
        let iat = match self.issued_at {
            IssuedAt::Now => Some(When::At(now).resolve(now)?),
            IssuedAt::At(t) => Some(When::At(t).resolve(now)?),
            IssuedAt::Omitted => None,
        };
        let has_exp = self.claims.contains_key("exp")
            || self.typed.contains("exp")
            || overlay.contains("exp");
        if exp.is_none() && !has_exp && !self.without_expiry {
            return Err(no_expiry());
        }
        let overridden = |name: &str| match name {
            "exp" => exp.is_some(),
            "nbf" => nbf.is_some(),
            "iat" => !matches!(self.issued_at, IssuedAt::Omitted),
            _ => false,
        };

        let mut object = ObjectWriter { json: out };
        for (name, date) in [("exp", exp), ("nbf", nbf), ("iat", iat)] {
            if let Some(date) = date {
                object.member(name, &date)?;
            }
        }
        for (name, value) in &self.claims {
            if !overridden(name) && !overlay.contains(name) {
                check_registered(name, value)?;
                object.member(name, value)?;
            }
        }
        for typed in [&self.typed, overlay] {
            let replaced = |member: &TypedMember| {
                member.time && overridden(member.name)
                    || (!std::ptr::eq(typed, overlay) && overlay.contains(member.name))
            };
            if let Some(name) = typed
                .members
                .iter()
                .find(|m| m.wrong_type && !replaced(m))
                .map(|m| m.name)
            {
                return Err(wrong_type(name));
            }
            // The usual case, every member kept and in a row: one copy.
            let in_a_row = typed
                .members
                .windows(2)
                .all(|w| w[0].json.end + 1 == w[1].json.start);
            match (typed.members.first(), typed.members.last()) {
                (Some(first), Some(last)) if in_a_row && !typed.members.iter().any(replaced) => {
                    let run = typed.json.get(first.json.start..last.json.end);
                    object.raw_member(run.unwrap_or_default());
                }
                _ => {
                    for member in typed.members.iter().filter(|m| !replaced(m)) {
                        object.raw_member(typed.json.get(member.json.clone()).unwrap_or_default());
                    }
                }
            }
        }
        object.finish();
        Ok(())
    }
}

/// The largest signature made on the stack: ES512's 132 bytes, more than any HMAC, ECDSA or
/// EdDSA signature keycard makes. RSA signatures come from `Signer::sign`: against RSA's cost the
/// allocation does not show, and the stack buffer stays small for the others.
const MAX_INLINE_SIGNATURE: usize = 132;

/// The base64url of the default header (`typ: JWT`, no `kid`) of every algorithm, made once
/// with `header::write`: most tokens need no header work at all.
fn default_headers() -> &'static [String; Algorithm::ALL.len()] {
    static HEADERS: OnceLock<[String; Algorithm::ALL.len()]> = OnceLock::new();
    HEADERS.get_or_init(|| {
        Algorithm::ALL
            .map(|algorithm| base64url::encode(&header::write(algorithm, Some("JWT"), None)))
    })
}

fn default_header(
    algorithm: Algorithm,
    typ: Option<&str>,
    kid: Option<&str>,
) -> Option<&'static str> {
    if typ != Some("JWT") || kid.is_some() {
        return None;
    }
    let i = Algorithm::ALL.iter().position(|a| *a == algorithm)?;
    default_headers().get(i).map(String::as_str)
}

fn encoded_header_len(algorithm: Algorithm, typ: Option<&str>, kid: Option<&str>) -> usize {
    match default_header(algorithm, typ, kid) {
        Some(header) => header.len(),
        // `{"alg":"RS256","typ":"…","kid":"…"}` with room for escapes.
        None => base64url::encoded_len(
            32 + typ.map_or(0, |t| 2 * t.len()) + kid.map_or(0, |k| 2 * k.len()),
        ),
    }
}

fn write_header(algorithm: Algorithm, typ: Option<&str>, kid: Option<&str>, out: &mut Vec<u8>) {
    match default_header(algorithm, typ, kid) {
        Some(header) => out.extend_from_slice(header.as_bytes()),
        None => base64url::encode_into(&header::write(algorithm, typ, kid), out),
    }
}

#[cold]
fn no_expiry() -> Error {
    Error::configuration(
        "the token has no expiry: call `expires_in` or `expires_at` \
         (or `without_expiry` to mint a token that never expires)",
    )
}

#[cold]
fn wrong_type(name: &str) -> Error {
    Error::configuration(format!(
        "claim `{name}` has the wrong type for a registered claim (RFC 7519 §4.1)"
    ))
}

/// Refuses registered claims of the wrong JSON type (RFC 7519 §4.1), which no validator accepts:
/// the validator reads them with the same table (`registered::ClaimType`).
fn check_registered(name: &str, value: &Value) -> Result<(), Error> {
    let ok = ClaimType::of(name).is_none_or(|ty| ty.admits(value));
    if ok {
        Ok(())
    } else {
        Err(wrong_type(name))
    }
}

/// Writes one JSON object member by member.
struct ObjectWriter<'a> {
    json: &'a mut Vec<u8>,
}

impl ObjectWriter<'_> {
    fn separator(&mut self) {
        let separator = if self.json.is_empty() { b'{' } else { b',' };
        self.json.push(separator);
    }

    fn member<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), Error> {
        self.separator();
        serde_json::to_writer(&mut *self.json, name)
            .and_then(|()| {
                self.json.push(b':');
                serde_json::to_writer(&mut *self.json, value)
            })
            .map_err(|e| Error::configuration(format!("claim `{name}` cannot be serialized: {e}")))
    }

    /// A member already written as JSON (`"name":value`), or several, comma-separated.
    fn raw_member(&mut self, json: &[u8]) {
        self.separator();
        self.json.extend_from_slice(json);
    }

    fn finish(self) {
        if self.json.is_empty() {
            self.json.push(b'{');
        }
        self.json.push(b'}');
    }
}

thread_local! {
    /// The claims JSON of the token this thread is signing: one buffer, reused, so that signing
    /// allocates only the token.
    static PAYLOAD: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

thread_local! {
    /// The claims struct of `sign_claims`, written to JSON: reused like `PAYLOAD`.
    static OVERLAY: std::cell::RefCell<Typed> = std::cell::RefCell::new(Typed::default());
}

/// A payload buffer grown past this is dropped after use rather than kept for the thread.
const MAX_KEPT_PAYLOAD: usize = 16 * 1024;

/// The bytes first reserved for the JSON of claims structs.
const TYPED_CAPACITY: usize = 512;

/// The members of claims structs, written to JSON when `claims` is called.
#[derive(Debug, Clone, Default)]
struct Typed {
    /// `"name":value` of every member, one after the other.
    json: Vec<u8>,
    members: Vec<TypedMember>,
}

#[derive(Debug, Clone)]
struct TypedMember {
    /// The field's serialized name.
    name: &'static str,
    /// Where its `"name":value` is in `Typed::json`.
    json: Range<usize>,
    /// A registered claim (RFC 7519 §4.1) of the wrong type: `sign` refuses it unless a
    /// dedicated setter replaces it.
    wrong_type: bool,
    /// `exp`, `nbf` or `iat`, which the dedicated setters replace.
    time: bool,
}

impl Typed {
    fn contains(&self, name: &str) -> bool {
        self.members.iter().any(|m| m.name == name)
    }

    fn remove(&mut self, name: &str) {
        if !self.members.is_empty() {
            self.members.retain(|m| m.name != name);
        }
    }

    /// Removes the member `name` and returns its value.
    fn take_value(&mut self, name: &str) -> Option<Value> {
        let i = self.members.iter().position(|m| m.name == name)?;
        let member = self.members.remove(i);
        let json = self.json.get(member.json)?;
        // Past `"name":`, the value as written by serde_json.
        let value = json.get(name_len(name)?..)?;
        serde_json::from_slice(value).ok()
    }

    /// Drops the members named again later (from `start` on): the last value set wins.
    fn last_wins(&mut self, start: usize) {
        // Names told apart by length, first and last byte need no comparison: a bit for each pair
        // seen, and the full check only when a bit repeats (two names alike in both).
        let mut seen = 0u64;
        let alike = self.members.iter().any(|m| {
            let bytes = m.name.as_bytes();
            let key = bytes.len() * 5
                + 3 * usize::from(bytes.first().copied().unwrap_or(0))
                + usize::from(bytes.last().copied().unwrap_or(0));
            let bit = 1u64 << (key % 64);
            let repeated = seen & bit != 0;
            seen |= bit;
            repeated
        });
        if !alike {
            return;
        }
        let mut dropped = false;
        for i in start..self.members.len() {
            let name = self.members[i].name;
            if let Some(earlier) = self.members[..i]
                .iter()
                .position(|m| same_name(m.name, name))
            {
                self.members[earlier].name = "";
                dropped = true;
            }
        }
        if dropped {
            self.members.retain(|m| !m.name.is_empty());
        }
    }

    fn truncate(&mut self, members: usize) {
        self.members.truncate(members);
        let end = self.members.last().map_or(0, |m| m.json.end);
        self.json.truncate(end);
    }
}

/// `a == b`, deciding most pairs of claim names (`iss`, `sub`, `aud`, ...) on their length and
/// first byte.
fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
}

/// The length of `"name":` as serde_json writes it.
fn name_len(name: &str) -> Option<usize> {
    serde_json::to_vec(name).ok().map(|quoted| quoted.len() + 1)
}

/// Why a value was not written as a claims struct.
enum TypedError {
    /// Not a struct: the caller goes through a `Value` instead.
    NotAStruct,
    Json(serde_json::Error),
}

impl fmt::Display for TypedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypedError::NotAStruct => f.write_str("not a struct"),
            TypedError::Json(e) => e.fmt(f),
        }
    }
}

impl fmt::Debug for TypedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for TypedError {}

impl ser::Error for TypedError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        TypedError::Json(ser::Error::custom(msg))
    }
}

/// Serializes a claims struct into [`Typed`]: each field as `"name":value`, by serde_json,
/// with the registered claims' types checked against the table the validator reads them by.
/// Anything but a struct is [`TypedError::NotAStruct`].
struct TypedWriter<K> {
    sink: K,
}

/// Where [`TypedWriter`] puts each field of the struct.
trait FieldSink {
    fn field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), TypedError>;
}

impl<K: FieldSink> ser::Serializer for TypedWriter<K> {
    type Ok = ();
    type Error = TypedError;
    type SerializeSeq = Impossible<(), TypedError>;
    type SerializeTuple = Impossible<(), TypedError>;
    type SerializeTupleStruct = Impossible<(), TypedError>;
    type SerializeTupleVariant = Impossible<(), TypedError>;
    type SerializeMap = Impossible<(), TypedError>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), TypedError>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, TypedError> {
        Ok(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), TypedError> {
        value.serialize(self)
    }

    fn serialize_bool(self, _: bool) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_i8(self, _: i8) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_i16(self, _: i16) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_i32(self, _: i32) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_i64(self, _: i64) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_u8(self, _: u8) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_u16(self, _: u16) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_u32(self, _: u32) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_u64(self, _: u64) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_f32(self, _: f32) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_f64(self, _: f64) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_char(self, _: char) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_str(self, _: &str) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_none(self) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_unit(self) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, TypedError> {
        Err(TypedError::NotAStruct)
    }
}

impl<K: FieldSink> SerializeStruct for TypedWriter<K> {
    type Ok = ();
    type Error = TypedError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), TypedError> {
        self.sink.field(name, value)
    }

    fn end(self) -> Result<(), TypedError> {
        Ok(())
    }
}

/// Writes `"name":value` to `json` and returns where the value starts.
fn write_member<T: Serialize + ?Sized>(
    json: &mut Vec<u8>,
    name: &'static str,
    value: &T,
) -> Result<usize, TypedError> {
    if name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        // Nothing to escape: what serde_json would write, without its scan.
        json.push(b'"');
        json.extend_from_slice(name.as_bytes());
        json.push(b'"');
    } else {
        serde_json::to_writer(&mut *json, name).map_err(TypedError::Json)?;
    }
    json.push(b':');
    let value_start = json.len();
    serde_json::to_writer(&mut *json, value)
        .map_err(|e| TypedError::Json(ser::Error::custom(format_args!("claim `{name}`: {e}"))))?;
    Ok(value_start)
}

/// Whether the value written from `value_start` on has the type of the registered claim `ty`.
fn wrong_type_at(json: &[u8], value_start: usize, ty: Option<ClaimType>) -> bool {
    ty.is_some_and(|ty| {
        !json
            .get(value_start..)
            .is_some_and(|value| ty.admits_json(value))
    })
}

impl FieldSink for &mut Typed {
    fn field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), TypedError> {
        // Every member after a comma, so that members in a row copy as one slice.
        self.json.push(b',');
        let start = self.json.len();
        let value_start = write_member(&mut self.json, name, value)?;
        let registered = Name::of(name);
        let wrong_type = wrong_type_at(&self.json, value_start, registered.map(Name::claim_type));
        let json = &self.json;
        self.members.push(TypedMember {
            name,
            json: start..json.len(),
            wrong_type,
            time: registered.and_then(Name::time_setter).is_some(),
        });
        Ok(())
    }
}

/// A claims struct written straight into the payload (`sign_claims` on a builder with no claims
/// of its own): no copy, no list of members.
struct Direct<'a> {
    json: &'a mut Vec<u8>,
    /// Which of `exp`, `nbf`, `iat` the builder's own setters write (the struct's are skipped).
    overridden: [bool; 3],
    /// A bit per (length, first, last byte) of the names seen, to notice a name that may be
    /// repeated: then `sign_claims` takes the way that drops the earlier one.
    seen: u64,
    has_exp: bool,
    /// The first registered claim of the wrong type, reported after the expiry check (as `sign`
    /// reports them).
    wrong_type: Option<&'static str>,
}

impl FieldSink for &mut Direct<'_> {
    fn field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), TypedError> {
        let bytes = name.as_bytes();
        let key = bytes.len() * 5
            + 3 * usize::from(bytes.first().copied().unwrap_or(0))
            + usize::from(bytes.last().copied().unwrap_or(0));
        let bit = 1u64 << (key % 64);
        if self.seen & bit != 0 {
            return Err(TypedError::NotAStruct);
        }
        self.seen |= bit;
        let registered = Name::of(name);
        let ty = registered.map(Name::claim_type);
        let slot = registered.and_then(Name::time_setter);
        if slot.is_some_and(|i| self.overridden[i]) {
            return Ok(());
        }
        self.has_exp |= slot == Some(0);
        let separator = if self.json.is_empty() { b'{' } else { b',' };
        self.json.push(separator);
        let value_start = write_member(self.json, name, value)?;
        if wrong_type_at(self.json, value_start, ty) {
            self.wrong_type.get_or_insert(name);
        }
        Ok(())
    }
}

/// A signer returned a signature whose length its algorithm rules out.
#[derive(Debug)]
struct WrongLength {
    algorithm: &'static str,
    expected: usize,
    found: usize,
}

impl fmt::Display for WrongLength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the signer returned {} bytes, but {} signatures are {} bytes \
             (ECDSA must be R || S, not ASN.1 DER: RFC 7518 §3.4)",
            self.found, self.algorithm, self.expected
        )
    }
}

impl std::error::Error for WrongLength {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
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
