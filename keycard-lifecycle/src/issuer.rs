//! The authorization-server side: [`TokenIssuer`] mints access/refresh [`TokenPair`]s, rotates
//! refresh tokens with reuse detection (RFC 9700 §4.14.2), and revokes sessions and subjects.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use keycard::limits::{MAX_ECHO, MAX_LEEWAY};
use keycard::text::escape;
use keycard::{
    Builder, Claims, Clock, Error, ErrorKind, FixedClock, NumericDate, RevokedBy, Signer,
    SystemClock, Validator, ValidatorBuilder, Verifier,
};
use ring::rand::{SecureRandom as _, SystemRandom};

use crate::family::{Family, FamilyStore, MemoryFamilyStore, Superseded};
use crate::revocation::{MemoryRevocationStore, RevocationStore};
use crate::TokenKind;

/// An access token and the refresh token that renews it, as returned by
/// [`TokenIssuer::issue`] and [`TokenIssuer::refresh`].
///
/// It serializes as the members of an OAuth 2.0 token response (RFC 6749 §5.1), `expires_in` in
/// whole seconds. `Debug` shows only the start of each token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenPair {
    /// The access token (`typ: at+jwt`), for the resource servers.
    pub access_token: String,
    /// The refresh token (`typ: refresh+jwt`), for the issuer only.
    pub refresh_token: String,
    /// The access token's lifetime when it was issued.
    #[serde(serialize_with = "seconds_out", deserialize_with = "seconds_in")]
    pub expires_in: Duration,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn start(token: &str) -> String {
            format!("{}…", token.get(..12).unwrap_or(token))
        }
        f.debug_struct("TokenPair")
            .field("access_token", &start(&self.access_token))
            .field("refresh_token", &start(&self.refresh_token))
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

fn seconds_out<S: Serializer>(d: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_i64(d.whole_seconds())
}

fn seconds_in<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    i64::deserialize(deserializer).map(Duration::seconds)
}

/// How long a rotation may stay unconfirmed before a repeat of its token counts as a retry of a
/// refresh that failed (and receives the successor), rather than a concurrent request: longer
/// than a refresh takes from its swap to its answer, store timeouts included.
const RETRY_SETTLE: Duration = Duration::seconds(10);

/// Claims a login may not set: the issuer writes them.
const RESERVED: [&str; 8] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid"];

/// Mints, rotates and revokes access/refresh token pairs: the token endpoint of an authorization
/// server.
///
/// - **Kinds** (RFC 8725 §3.11, RFC 9068): access tokens carry `typ: at+jwt` and your
///   audiences; refresh tokens carry `typ: refresh+jwt` and the issuer itself as audience, so
///   neither passes for the other.
/// - **Sessions**: one login is one session; every token of it carries the same `sid`, and its
///   refresh tokens form one family in a [`FamilyStore`].
/// - **Rotation with reuse detection** (RFC 9700 §4.14.2): [`refresh`](Self::refresh) returns a
///   new pair and retires the refresh token presented. Presenting a retired one again revokes the
///   whole session and fails with [`ErrorKind::RefreshReuse`]. Within the optional
///   [`grace_period`](TokenIssuerBuilder::grace_period) a repeat instead returns the pair already
///   issued. Rotation is a compare-and-set, so N concurrent refreshes with one token issue one
///   pair.
/// - **Revocation**: [`revoke`](Self::revoke) (RFC 7009: an access token, or a refresh token and
///   its whole session) and [`revoke_subject`](Self::revoke_subject) (sign out everywhere), kept
///   in a [`RevocationStore`] that validators check.
///
/// - **Session limits** (optional): an absolute [`session_lifetime`](TokenIssuerBuilder::session_lifetime)
///   that no rotation extends, and an [`idle_timeout`](TokenIssuerBuilder::idle_timeout) after
///   which an unused session ends. Both live in the family record, so every instance sharing the
///   store enforces them.
/// - **Async**: [`issue`](Self::issue), [`refresh`](Self::refresh), [`revoke`](Self::revoke)
///   and [`revoke_subject`](Self::revoke_subject) await the stores; with the in-memory stores
///   their futures are ready at once.
///
/// Defaults: access tokens live 15 minutes, refresh tokens 14 days (renewed at each rotation), a
/// grace period of [`DEFAULT_GRACE`](Self::DEFAULT_GRACE) (30 s), no session limit, in-memory
/// stores, the system clock. Cheap to clone; share it. `Debug` shows the configuration and the
/// stores' sizes, never a session or token id.
///
/// ```
/// use keycard::{Algorithm, HmacKey};
/// use keycard_lifecycle::TokenIssuer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), keycard::Error> {
/// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
/// let issuer = TokenIssuer::builder(key.clone(), key)
///     .issuer("https://auth.example.com")
///     .audience("api")
///     .build()?;
/// let api = issuer.access_validator().build()?;
///
/// let login = issuer.issue("user-42", &serde_json::json!({ "scope": "read" })).await?;
/// let claims: keycard::Claims = api.verify(&login.access_token)?;
/// assert_eq!(claims.subject.as_deref(), Some("user-42"));
///
/// let next = issuer.refresh(&login.refresh_token).await?; // rotate
/// // A concurrent repeat within the grace period receives the same pair...
/// assert_eq!(issuer.refresh(&login.refresh_token).await?, next);
/// # Ok(())
/// # }
/// ```
///
/// ...and a replay after it is reuse: theft is assumed and the session ends. Here without a grace
/// period, to show it at once:
///
/// ```
/// use keycard::{Algorithm, ErrorKind, HmacKey};
/// use keycard_lifecycle::TokenIssuer;
/// use time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), keycard::Error> {
/// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
/// let issuer = TokenIssuer::builder(key.clone(), key)
///     .issuer("https://auth.example.com")
///     .audience("api")
///     .grace_period(Duration::ZERO)
///     .build()?;
/// let login = issuer.issue("user-42", &()).await?;
/// let next = issuer.refresh(&login.refresh_token).await?;
/// let reused = issuer.refresh(&login.refresh_token).await.unwrap_err();
/// assert_eq!(reused.kind(), ErrorKind::RefreshReuse);
/// let after = issuer.refresh(&next.refresh_token).await.unwrap_err();
/// assert_eq!(after.kind(), ErrorKind::Revoked);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TokenIssuer {
    inner: Arc<Inner>,
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The validators only repeat the configuration; the stores print their sizes.
        f.debug_struct("TokenIssuer")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

struct Inner {
    /// The configuration, as checked by [`TokenIssuerBuilder::build`].
    config: TokenIssuerBuilder,
    /// Checks refresh tokens, revocations included.
    refresh_tokens: Validator,
    /// Checks the issuer's own access tokens before revoking one, revocations excluded.
    access_tokens: Validator,
}

/// Configures a [`TokenIssuer`]; finish with [`build`](TokenIssuerBuilder::build).
#[derive(Debug)]
#[must_use = "call `build` to get a TokenIssuer"]
pub struct TokenIssuerBuilder {
    signer: Arc<dyn Signer>,
    verifier: Arc<dyn Verifier>,
    issuer: String,
    audiences: Vec<String>,
    access_lifetime: Duration,
    refresh_lifetime: Duration,
    /// `None`: the default, [`TokenIssuer::DEFAULT_GRACE`] or less for short access tokens.
    grace: Option<Duration>,
    session_lifetime: Option<Duration>,
    idle_timeout: Option<Duration>,
    families: Arc<dyn FamilyStore>,
    revocations: Arc<dyn RevocationStore>,
    clock: Arc<dyn Clock>,
}

impl TokenIssuer {
    /// The default access-token lifetime: 15 minutes.
    pub const DEFAULT_ACCESS_LIFETIME: Duration = Duration::minutes(15);
    /// The default refresh-token lifetime: 14 days.
    pub const DEFAULT_REFRESH_LIFETIME: Duration = Duration::days(14);
    /// The default grace period: 30 seconds (as Okta's default), or half the access-token
    /// lifetime when that is shorter.
    ///
    /// Why not zero: a client whose requests refresh at once (several tabs, a retry after a
    /// timeout, parallel API calls that all saw the expiry) presents one refresh token several
    /// times within milliseconds. With no grace that is indistinguishable from theft, so the
    /// session ends for a well-behaved client, winner included. Within the grace period a repeat
    /// receives the pair already issued, nothing new; a replay after it still revokes the
    /// session. The price is that a thief who replays a stolen refresh token within 30 s of its
    /// rotation receives the same live pair as the client (as with Okta and Auth0's reuse
    /// interval); set [`grace_period`](TokenIssuerBuilder::grace_period) to zero to refuse
    /// every repeat.
    pub const DEFAULT_GRACE: Duration = Duration::seconds(30);

    /// Starts an issuer that signs with `signer` and checks its own refresh tokens with
    /// `verifier`, the matching public key (for an [`HmacKey`](keycard::HmacKey), the same key).
    pub fn builder(
        signer: impl Signer + 'static,
        verifier: impl Verifier + 'static,
    ) -> TokenIssuerBuilder {
        TokenIssuerBuilder {
            signer: Arc::new(signer),
            verifier: Arc::new(verifier),
            issuer: String::new(),
            audiences: Vec::new(),
            access_lifetime: Self::DEFAULT_ACCESS_LIFETIME,
            refresh_lifetime: Self::DEFAULT_REFRESH_LIFETIME,
            grace: None,
            session_lifetime: None,
            idle_timeout: None,
            families: Arc::new(MemoryFamilyStore::new()),
            revocations: Arc::new(MemoryRevocationStore::new()),
            clock: Arc::new(SystemClock),
        }
    }

    /// A validator for this issuer's access tokens, to finish with your own rules (scopes, ...):
    /// its verifier, issuer and audiences, `typ: at+jwt`, `jti` required, its revocation store
    /// and clock.
    pub fn access_validator(&self) -> ValidatorBuilder {
        let config = &self.inner.config;
        config
            .access_tokens()
            .require_claim("jti")
            .revocations(config.revocations.clone())
    }

    /// The store that holds this issuer's revocations, to share with validators elsewhere.
    pub fn revocations(&self) -> Arc<dyn RevocationStore> {
        Arc::clone(&self.inner.config.revocations)
    }

    /// Signs `subject` in: starts a session and returns its first pair, once the family store
    /// has recorded it.
    ///
    /// `claims` (anything that serializes to a JSON object, or `()` for none) go into both tokens
    /// and are carried through every rotation, for instance `{"scope": "read write"}`.
    ///
    /// # Errors
    /// [`ErrorKind::Configuration`] when `claims` is not an object or sets a claim the issuer
    /// writes (`iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`, `sid`); [`ErrorKind::Store`] when
    /// the session cannot be recorded; [`ErrorKind::Signing`] from the signer.
    pub async fn issue(&self, subject: &str, claims: &impl Serialize) -> Result<TokenPair, Error> {
        let extra = login_claims(subject, claims)?;
        let inner = &*self.inner;
        let now = whole_seconds(inner.config.clock.now());
        let session = random_id()?;
        let ends = inner
            .config
            .session_lifetime
            .map(|lifetime| NumericDate::from(later(now, lifetime)));
        let (pair, family) = inner.mint(subject, &session, &extra, now, ends)?;
        inner.config.families.insert(&session, family, now).await?;
        Ok(pair)
    }

    /// Exchanges a refresh token for a new pair and retires it (rotation, RFC 9700 §4.14.2).
    ///
    /// # Errors
    /// - [`ErrorKind::RefreshReuse`]: the token was already exchanged (outside the grace
    ///   period). The whole session is revoked: its refresh tokens and its access tokens.
    /// - [`ErrorKind::Revoked`]: the session was revoked or has ended (idle timeout, session
    ///   lifetime), or the subject was signed out everywhere after the token was issued.
    /// - Any error of [`Validator::verify`]: an expired, forged or wrong-kind token
    ///   ([`ErrorKind::TokenType`] for an access token), ...
    /// - [`ErrorKind::Store`] from the stores. Retrying the same refresh token is safe: if the
    ///   rotation was stored before the error, the retry receives the pair it recorded (the
    ///   same pair every time, whatever the grace period, unless the session was revoked
    ///   meanwhile), never reuse. A repeat within 10 s of the rotation counts as a concurrent
    ///   request, judged by the grace period. When a reuse cannot be recorded as a revoked
    ///   session, no refresh token of the session rotates any more, and the family is kept,
    ///   so the next replay tries again.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, Error> {
        let inner = &*self.inner;
        let claims: Claims = inner.refresh_tokens.verify(refresh_token)?;
        let jti = required(claims.jwt_id.clone(), "jti")?;
        let session = required(claims.session_id.clone(), "sid")?;
        let subject = required(claims.subject.clone(), "sub")?;
        // The second the presented token was issued in.
        let issued = claims.issued_at.map(NumericDate::unix_timestamp);
        let claims = carried_claims(claims);
        let presented = Presented {
            session: &session,
            subject: &subject,
            issued,
        };

        // Read, decide, compare-and-set; a failed swap means another request rotated the family
        // first, and reading again sees its outcome. Two rounds always suffice for one token.
        for _ in 0..4 {
            let family = inner
                .config
                .families
                .get(&session)
                .await?
                .ok_or_else(|| Error::revoked(RevokedBy::Session, &session, None))?;
            let now = whole_seconds(inner.config.clock.now());
            if now >= family.expires_at.to_datetime() {
                // Idle timeout or session end: a store may keep the record a little past it.
                return Err(Error::revoked(RevokedBy::Session, &session, None));
            }
            if family.current == jti {
                let (pair, mut next) =
                    inner.mint(&subject, &session, &claims, now, family.session_ends_at)?;
                // The successor is remembered, whatever the grace period, until it is known to
                // be handed out: if anything after the swap fails (or the swap's answer is
                // lost), a retry of this token receives this pair instead of tripping reuse
                // detection.
                next.previous = Some(Superseded {
                    jti: jti.clone(),
                    until: NumericDate::from(later(now, inner.config.grace())),
                    successor: pair.clone(),
                    unconfirmed_since: Some(NumericDate::from(now)),
                });
                if inner
                    .config
                    .families
                    .compare_and_set(&session, &family, next.clone(), now)
                    .await?
                {
                    return inner.hand_out(&presented, next, pair, now).await;
                }
                continue;
            }
            if let Some(previous) = family.previous.as_ref().filter(|p| p.jti == jti) {
                // A retry after a failed refresh: unconfirmed for longer than any request in
                // flight takes (a concurrent repeat within that time is one, and is judged by
                // the grace period alone).
                let retry = previous
                    .unconfirmed_since
                    .is_some_and(|since| now >= later(since.to_datetime(), RETRY_SETTLE));
                if retry || now < previous.until.to_datetime() {
                    let successor = previous.successor.clone();
                    return inner.hand_out(&presented, family, successor, now).await;
                }
            }
            // A retired refresh token came back: it was stolen, or the client was. Revoke the
            // whole session (RFC 9700 §4.14.2). If that cannot be recorded, fail with the store
            // error, but first retire every refresh token of the family (issue 22): the session
            // no longer rotates, and the family is kept so that the next replay is detected.
            if let Err(e) = inner.revoke_session(&session).await {
                inner.retire_family(&session, &family, now).await;
                return Err(e);
            }
            return Err(Error::RefreshReuse {
                session: escape(&session, MAX_ECHO),
            });
        }
        Err(Error::store(Contention))
    }

    /// Revokes a token this issuer minted (RFC 7009 §2.1): an access token until it expires, or a
    /// refresh token together with its whole session, access tokens included. Revoking a token
    /// that is already revoked or expired succeeds and does nothing.
    ///
    /// # Errors
    /// Any error of [`Validator::verify`] other than expiry or revocation (a token this issuer
    /// did not mint is refused); [`ErrorKind::Store`] from the stores.
    pub async fn revoke(&self, token: &str) -> Result<(), Error> {
        let inner = &*self.inner;
        let header = keycard::unverified::decode_header(token)?;
        // Routing only: the validator chosen checks `typ` again, after the signature.
        let is_refresh = header
            .token_type()
            .is_some_and(|typ| typ.eq_ignore_ascii_case(TokenKind::Refresh.typ()));
        if is_refresh {
            let claims: Claims = match inner.refresh_tokens.verify(token) {
                Err(e) if matches!(e.kind(), ErrorKind::Expired | ErrorKind::Revoked) => {
                    return Ok(())
                }
                other => other?,
            };
            return inner
                .revoke_session(&required(claims.session_id, "sid")?)
                .await;
        }
        let claims: Claims = match inner.access_tokens.verify(token) {
            Err(e) if e.kind() == ErrorKind::Expired => return Ok(()),
            other => other?,
        };
        let (Some(jti), Some(exp)) = (claims.jwt_id, claims.expires_at) else {
            return Err(Error::MissingClaim {
                claim: "jti".into(),
            });
        };
        // Kept past `exp` by the largest leeway a validator may allow, during which it would
        // still accept the token (`later`: an `exp` near the year 9999 must not panic).
        let until = later(exp.to_datetime(), MAX_LEEWAY);
        let now = whole_seconds(inner.config.clock.now());
        inner
            .config
            .revocations
            .revoke_token(&jti, until, now)
            .await
    }

    /// Signs `subject` out everywhere (after a password change, say): every token of the subject
    /// issued up to now, access and refresh alike, is refused from now on, and so is every token
    /// a refresh already in flight mints. Tokens issued within the current second are refused
    /// too, whatever the fraction of their `iat`, so sign in again a second later.
    ///
    /// # Errors
    /// [`ErrorKind::Store`] from the revocation store.
    pub async fn revoke_subject(&self, subject: &str) -> Result<(), Error> {
        let inner = &*self.inner;
        // Two writes. A refresh in flight reads the cutoff after its compare-and-set: if it
        // reads after the first write, it sees the cutoff and ends the session itself; if
        // before, it read its clock (for the new tokens' `iat`) before that write, so before the
        // second clock reading here, whose cutoff therefore covers the new tokens.
        let first = inner.cutoff_now(subject).await?;
        let second = end_of_second(inner.config.clock.now());
        if second > first {
            inner.cutoff_now(subject).await?;
        }
        Ok(())
    }
}

/// The claims a refresh presented, for the checks after its compare-and-set.
struct Presented<'a> {
    session: &'a str,
    subject: &'a str,
    /// The whole second of its `iat`, if it had one.
    issued: Option<i64>,
}

/// Checks and converts the claims of a login.
fn login_claims(subject: &str, claims: &impl Serialize) -> Result<Map<String, Value>, Error> {
    let extra = match serde_json::to_value(claims) {
        Ok(Value::Object(map)) => map,
        Ok(Value::Null) => Map::new(),
        Ok(_) => return Err(configuration("claims must serialize to a JSON object")),
        Err(e) => {
            // The serializer's message may quote the caller's data: escaped and cut, as any
            // value copied into a keycard error.
            return Err(configuration(format!(
                "claims cannot be serialized: {}",
                escape(&e.to_string(), MAX_ECHO)
            )));
        }
    };
    if let Some(name) = RESERVED.iter().find(|name| extra.contains_key(**name)) {
        return Err(configuration(format!(
            "claim `{name}` is written by the issuer and cannot be set at login"
        )));
    }
    if subject.is_empty() {
        return Err(configuration("the subject must not be empty"));
    }
    Ok(extra)
}

/// A [`Error::Configuration`] with `reason`: a fixed text, or one built from fixed texts and
/// escaped values.
#[cold]
fn configuration(reason: impl Into<Cow<'static, str>>) -> Error {
    Error::Configuration {
        reason: reason.into(),
    }
}

/// A fresh random id for a session or a token: 16 bytes from the system's secure generator
/// (128 bits, so ids never collide and cannot be guessed), base64url without padding.
fn random_id() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::random_failure())?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// `t` cut to whole seconds, the precision of a JWT NumericDate as keycard writes it.
fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

/// `t + d`, or the last representable instant when that is out of range: the times computed
/// with it say how long to keep an entry or until when something holds, and later is the safe
/// side there.
fn later(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    t.checked_add(d)
        .unwrap_or_else(|| time::PrimitiveDateTime::MAX.assume_utc())
}

/// The last instant of the second `t` falls in: a subject cutoff, so that `iat <= cutoff` refuses
/// a token minted in the cutoff's second whatever the fraction of its `iat`.
fn end_of_second(t: OffsetDateTime) -> OffsetDateTime {
    let whole = whole_seconds(t);
    whole
        .checked_add(Duration::nanoseconds(999_999_999))
        .unwrap_or(whole)
}

impl Inner {
    /// Mints the pair of session `session` at `now` and the family record whose current token is
    /// the new refresh token. Neither token outlives the session's end `ends`.
    fn mint(
        &self,
        subject: &str,
        session: &str,
        extra: &Map<String, Value>,
        now: OffsetDateTime,
        ends: Option<NumericDate>,
    ) -> Result<(TokenPair, Family), Error> {
        let config = &self.config;
        let left = ends.map(|end| end.to_datetime() - now);
        if left.is_some_and(|left| !left.is_positive()) {
            return Err(Error::revoked(RevokedBy::Session, session, None));
        }
        let cap = |lifetime: Duration| left.map_or(lifetime, |left| lifetime.min(left));
        let access_lifetime = cap(config.access_lifetime);
        let refresh_lifetime = cap(config.refresh_lifetime);
        let common = Builder::new()
            .clock(FixedClock(now))
            .claims(extra)
            .issuer(config.issuer.as_str())
            .subject(subject)
            .claim("sid", session);
        let mut access = common
            .clone()
            .token_type(TokenKind::Access)
            .jwt_id(random_id()?)
            .expires_in(access_lifetime);
        for audience in &config.audiences {
            access = access.audience(audience.as_str());
        }
        let refresh_jti = random_id()?;
        let refresh_token = common
            .token_type(TokenKind::Refresh)
            .audience(config.issuer.as_str())
            .jwt_id(refresh_jti.as_str())
            .expires_in(refresh_lifetime)
            .sign(&*config.signer)?;
        let pair = TokenPair {
            access_token: access.sign(&*config.signer)?,
            refresh_token,
            expires_in: access_lifetime,
        };
        let family_lifetime = config
            .idle_timeout
            .map_or(refresh_lifetime, |idle| refresh_lifetime.min(idle));
        let family = Family {
            current: refresh_jti,
            expires_at: NumericDate::from(later(now, family_lifetime)),
            session_ends_at: ends,
            previous: None,
        };
        Ok((pair, family))
    }

    /// Ends session `session`: first its access tokens, by revoking the `sid` they carry until
    /// the last of them has expired; then its refresh tokens, by forgetting the family. In that
    /// order, so that a failure leaves the session revoked with its family (the operation fails
    /// with `store`, and a retry or the next replay completes it), or untouched, but never
    /// forgotten with its access tokens still valid.
    async fn revoke_session(&self, session: &str) -> Result<(), Error> {
        let now = whole_seconds(self.config.clock.now());
        let until = later(now, self.config.access_lifetime.saturating_add(MAX_LEEWAY));
        self.config
            .revocations
            .revoke_session(session, until, now)
            .await?;
        self.config.families.remove(session).await
    }

    /// Hands out `pair`, the successor recorded in `family` as stored: checks that the session
    /// is still live, then marks the successor as handed out (dropping it at once without a
    /// grace period), so that a later repeat of its token is judged as reuse. A store error
    /// before that fails the refresh with the successor still recorded, for the client's retry.
    async fn hand_out(
        &self,
        presented: &Presented<'_>,
        family: Family,
        pair: TokenPair,
        now: OffsetDateTime,
    ) -> Result<TokenPair, Error> {
        self.still_live(presented).await?;
        let Some(previous) = family
            .previous
            .as_ref()
            .filter(|p| p.unconfirmed_since.is_some())
        else {
            return Ok(pair);
        };
        let mut confirmed = family.clone();
        confirmed.previous = if self.config.grace().is_positive() {
            Some(Superseded {
                unconfirmed_since: None,
                ..previous.clone()
            })
        } else {
            None
        };
        // `false`: the family moved on (its new token was already used), nothing to confirm. An
        // error: the client still gets the pair (it is stored and the session is live); the
        // mark stays, so a late repeat of the old token receives this pair instead of counting
        // as reuse, the one thing lost.
        let _ = self
            .config
            .families
            .compare_and_set(presented.session, &family, confirmed, now)
            .await;
        Ok(pair)
    }

    /// Reuse was detected but the session revocation could not be recorded: replaces the
    /// family's current token by one nobody holds, so that no refresh token of the session
    /// rotates again (each is refused as reuse, which tries the revocation again), or, if even
    /// that fails, forgets the family. Best effort: the caller fails with the store error it
    /// already has.
    async fn retire_family(&self, session: &str, family: &Family, now: OffsetDateTime) {
        let families = &self.config.families;
        let retired = random_id().map(|current| Family {
            current,
            previous: None,
            ..family.clone()
        });
        let swapped = match retired {
            Ok(retired) => {
                families
                    .compare_and_set(session, family, retired, now)
                    .await
            }
            Err(e) => Err(e),
        };
        if !matches!(swapped, Ok(true)) {
            let _ = families.remove(session).await;
        }
    }

    /// After a compare-and-set, reads the subject's cutoff from the revocation store itself
    /// (not the validator's view, which may lag on another instance): if the subject signed out
    /// at or after the presented token's second, ends the session, so that the pair just minted
    /// (and any later one) is refused too, and refuses the refresh. A session revoked meanwhile
    /// needs no check: its `sid` refuses its access tokens, and the family a refresh token needs
    /// is gone.
    async fn still_live(&self, presented: &Presented<'_>) -> Result<(), Error> {
        let revocations = &self.config.revocations;
        if let Some(cutoff) = revocations.fetch_subject_cutoff(presented.subject).await? {
            let cutoff_second = cutoff.unix_timestamp();
            if presented
                .issued
                .is_none_or(|issued| issued <= cutoff_second)
            {
                self.revoke_session(presented.session).await?;
                return Err(Error::revoked(
                    RevokedBy::Subject,
                    presented.subject,
                    Some(cutoff),
                ));
            }
        }
        Ok(())
    }

    /// Writes the subject cutoff at the end of the current second, and returns it.
    async fn cutoff_now(&self, subject: &str) -> Result<OffsetDateTime, Error> {
        let now = self.config.clock.now();
        let cutoff = end_of_second(now);
        let until = later(
            cutoff,
            self.config.refresh_lifetime.saturating_add(MAX_LEEWAY),
        );
        self.config
            .revocations
            .revoke_subject(subject, cutoff, until, now)
            .await?;
        Ok(cutoff)
    }
}

/// A claim the refresh validator has already required.
fn required(value: Option<String>, name: &'static str) -> Result<String, Error> {
    value.ok_or_else(|| Error::MissingClaim { claim: name.into() })
}

/// The login's own claims, which every pair of the session repeats: everything but what the
/// issuer writes itself (`RESERVED`).
fn carried_claims(claims: Claims) -> Map<String, Value> {
    let mut carried = claims.extra;
    let typed = [
        ("scope", claims.scope.map(Value::String)),
        ("azp", claims.authorized_party.map(Value::String)),
        ("nonce", claims.nonce.map(Value::String)),
        (
            "auth_time",
            claims.auth_time.map(|t| Value::from(t.unix_timestamp())),
        ),
    ];
    for (name, value) in typed {
        if let Some(value) = value {
            carried.insert(name.to_owned(), value);
        }
    }
    carried
}

impl TokenIssuerBuilder {
    /// The issuer identifier, written as `iss` and required (RFC 9068 §2.2). Refresh tokens are
    /// addressed to it (`aud`), so it must differ from every access-token audience.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// Adds an audience of the access tokens, the resource servers (RFC 9068 §3). At least one.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// How long access tokens live (default 15 minutes).
    pub fn access_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_lifetime = lifetime;
        self
    }

    /// How long refresh tokens live (default 14 days), counted from each rotation.
    pub fn refresh_lifetime(mut self, lifetime: Duration) -> Self {
        self.refresh_lifetime = lifetime;
        self
    }

    /// For how long a refresh token just rotated may be presented again and return the pair
    /// already issued for it, instead of counting as reuse (default
    /// [`TokenIssuer::DEFAULT_GRACE`], 30 s, or half the access-token lifetime when shorter;
    /// zero turns it off). Meant for a client's concurrent requests and retries, so seconds, and
    /// shorter than the access-token lifetime.
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace = Some(grace);
        self
    }

    /// Ends every session this long after its login, however often it is refreshed (default:
    /// no limit but the refresh tokens' own lifetime). No rotation extends a session past it:
    /// the last tokens minted expire at the session's end.
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = Some(lifetime);
        self
    }

    /// Ends a session that has not been refreshed for this long (default: the refresh-token
    /// lifetime). The family record expires then, on every instance that shares the store.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// The grace period in force.
    fn grace(&self) -> Duration {
        self.grace
            .unwrap_or_else(|| TokenIssuer::DEFAULT_GRACE.min(self.access_lifetime / 2_i32))
    }

    /// Keeps refresh-token families in `store` instead of in memory.
    pub fn families(mut self, store: Arc<dyn FamilyStore>) -> Self {
        self.families = store;
        self
    }

    /// Keeps revocations in `store` instead of in memory; share it with the validators.
    pub fn revocations(mut self, store: Arc<dyn RevocationStore>) -> Self {
        self.revocations = store;
        self
    }

    /// Uses `clock` instead of the system clock, for minting and for checking refresh tokens.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks the configuration and returns the issuer.
    ///
    /// # Errors
    /// [`ErrorKind::Configuration`] without an issuer or an audience, for an audience equal to
    /// the issuer, for lifetimes that are not positive or an access lifetime not shorter than
    /// the refresh lifetime, for a grace period that is negative or not shorter than the
    /// access lifetime, or for a session lifetime or idle timeout that is not positive.
    pub fn build(self) -> Result<TokenIssuer, Error> {
        let problem = if self.issuer.is_empty() {
            Some("an issuer identifier is required (RFC 9068 §2.2)")
        } else if self.audiences.is_empty() {
            Some("at least one access-token audience is required (RFC 9068 §3)")
        } else if self.audiences.iter().any(String::is_empty) {
            Some("an empty audience can never match")
        } else if self.audiences.contains(&self.issuer) {
            Some("an audience equal to the issuer would let refresh tokens reach resource servers")
        } else if !self.access_lifetime.is_positive() {
            Some("the access-token lifetime must be positive")
        } else if self.refresh_lifetime <= self.access_lifetime {
            Some("refresh tokens must outlive access tokens")
        } else if self.grace().is_negative() || self.grace() >= self.access_lifetime {
            Some("the grace period must be between zero and the access-token lifetime")
        } else if self.session_lifetime.is_some_and(|l| !l.is_positive()) {
            Some("the session lifetime must be positive")
        } else if self.idle_timeout.is_some_and(|t| !t.is_positive()) {
            Some("the idle timeout must be positive")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(configuration(problem));
        }
        let refresh_tokens = Validator::builder(Arc::clone(&self.verifier))
            .issuer(self.issuer.clone())
            .audience(self.issuer.clone())
            .token_type(TokenKind::Refresh)
            .require_claim("jti")
            .require_claim("sid")
            .require_claim("sub")
            .revocations(self.revocations.clone())
            .clock(self.clock.clone())
            .build()?;
        Ok(TokenIssuer {
            inner: Arc::new(Inner {
                access_tokens: self.access_tokens().build()?,
                refresh_tokens,
                config: self,
            }),
        })
    }

    /// The rules every access token of this issuer meets: its verifier, issuer and audiences,
    /// `typ: at+jwt`, its clock.
    fn access_tokens(&self) -> ValidatorBuilder {
        let mut builder = Validator::builder(Arc::clone(&self.verifier))
            .issuer(self.issuer.clone())
            .token_type(TokenKind::Access)
            .clock(self.clock.clone());
        for audience in &self.audiences {
            builder = builder.audience(audience.clone());
        }
        builder
    }
}

/// Rotation kept losing its compare-and-set: the store does not behave atomically.
#[derive(Debug)]
struct Contention;

impl fmt::Display for Contention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the refresh family changed on every attempt to rotate it; \
             is the store's compare-and-set atomic?",
        )
    }
}

impl std::error::Error for Contention {}
