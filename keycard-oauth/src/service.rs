//! The token service: [`TokenService`] answers the token endpoint (RFC 6749 §3.2), the metadata
//! (RFC 8414) and the JWK Set, on `http` types, over a [`TokenIssuer`] and a [`ClientRegistry`].

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use keycard::{
    Builder, Claims, Clock, EcdsaPrivateKey, Error, FixedClock, Signer, SystemClock, Validator,
    ValidatorBuilder,
};
use keycard_lifecycle::{
    FamilyStore, MemoryFamilyStore, MemoryRevocationStore, RevocationStore, TokenIssuer, TokenKind,
};
use ring::rand::{SecureRandom as _, SystemRandom};
use serde::Serialize;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::auth::{authenticate, Audiences, SeenAssertions};
use crate::client::{AuthMethod, Client, ClientRegistry, GrantType};
use crate::code::{self, CodeGrant, CodeStore, MemoryCodeStore, Redeemed, CODE_LIFETIME};
use crate::error::{invalid_request, ErrorCode, OAuthError};
use crate::form::Form;
use crate::keyring::{KeyRing, KeyRingStore, MemoryKeyRingStore, Policy};
use crate::scope;
use crate::throttle::Throttle;

/// The claim that binds a token to the client it was issued to (RFC 9068 §2.2, RFC 8693 §4.3).
const CLIENT_ID: &str = "client_id";

/// An endpoint of the service, and the path it is served at below the issuer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// The token endpoint (RFC 6749 §3.2): `POST /token`.
    Token,
    /// The revocation endpoint (RFC 7009 §2): `POST /revoke`.
    Revocation,
    /// The introspection endpoint (RFC 7662 §2): `POST /introspect`.
    Introspection,
    /// The authorization server metadata (RFC 8414 §3): `GET /.well-known/oauth-authorization-server`.
    Metadata,
    /// The OpenID Provider configuration subset that discovery needs (OpenID Connect Discovery
    /// §4): `GET /.well-known/openid-configuration`.
    OpenIdConfiguration,
    /// The public signing keys (RFC 7517 §5): `GET /jwks.json`.
    Jwks,
}

impl Endpoint {
    /// Every endpoint, to mount them all.
    pub const ALL: [Endpoint; 6] = [
        Endpoint::Token,
        Endpoint::Revocation,
        Endpoint::Introspection,
        Endpoint::Metadata,
        Endpoint::OpenIdConfiguration,
        Endpoint::Jwks,
    ];

    /// The path of the endpoint below the issuer.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Token => "/token",
            Endpoint::Revocation => "/revoke",
            Endpoint::Introspection => "/introspect",
            Endpoint::Metadata => "/.well-known/oauth-authorization-server",
            Endpoint::OpenIdConfiguration => "/.well-known/openid-configuration",
            Endpoint::Jwks => "/jwks.json",
        }
    }

    /// The method the endpoint answers.
    pub fn method(self) -> Method {
        match self {
            Endpoint::Token | Endpoint::Revocation | Endpoint::Introspection => Method::POST,
            _ => Method::GET,
        }
    }
}

/// A successful token response (RFC 6749 §5.1). `Debug` shows no token.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The access token, an RFC 9068 JWT.
    pub access_token: String,
    /// Always `Bearer` (RFC 6750).
    pub token_type: &'static str,
    /// The access token's lifetime in seconds.
    pub expires_in: i64,
    /// The refresh token, for grants that issue one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The scope granted, space-delimited.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.is_some())
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// An embedded OAuth 2.0 token service: the token endpoint with `client_credentials` and
/// `refresh_token`, client authentication, RFC 9068 access tokens, metadata and the JWK Set.
///
/// Framework-neutral: [`handle`](Self::handle) takes an `http::Request` whose body has been
/// read (at most [`MAX_BODY`](crate::MAX_BODY) bytes) and returns the response; `keycard-axum`
/// mounts it as a `Router`. Cheap to clone; share it.
///
/// ```
/// use keycard::{Algorithm, EcdsaPrivateKey};
/// use keycard_oauth::{AuthMethod, Client, GrantType, SecretHash, StaticClients, TokenService};
///
/// # fn main() -> Result<(), keycard::Error> {
/// let (secret, hash) = SecretHash::generate()?;
/// let clients = StaticClients::new().with(
///     Client::confidential("billing", AuthMethod::ClientSecretBasic, hash)
///         .grant(GrantType::ClientCredentials)
///         .scope("invoices:read"),
/// );
/// let key = EcdsaPrivateKey::generate(Algorithm::ES256)?.with_key_id("k1");
/// let service = TokenService::builder("https://auth.example.com", key)
///     .audience("api")
///     .clients(clients)
///     .build()?;
/// assert_eq!(service.issuer(), "https://auth.example.com");
/// # let _ = secret;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TokenService {
    inner: Arc<Inner>,
}

impl fmt::Debug for TokenService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenService")
            .field("issuer", &self.inner.issuer)
            .field("audiences", &self.inner.audiences)
            .finish_non_exhaustive()
    }
}

struct Inner {
    issuer: String,
    audiences: Vec<String>,
    lifecycle: TokenIssuer,
    ring: Arc<KeyRing>,
    /// When this instance last read the ring from its store.
    ring_synced: std::sync::Mutex<Option<OffsetDateTime>>,
    jwks_max_age: Duration,
    access_lifetime: Duration,
    refresh_tokens: Validator,
    /// This service's access tokens, revocations included (introspection).
    access_tokens: Validator,
    /// This service's access tokens, revocations excluded (revocation of one already revoked).
    any_access_tokens: Validator,
    families: Arc<dyn FamilyStore>,
    codes: Arc<dyn CodeStore>,
    authorization_endpoint: Option<String>,
    clients: Arc<dyn ClientRegistry>,
    throttle: Throttle,
    assertions: SeenAssertions,
    token_endpoint: String,
    clock: Arc<dyn Clock>,
}

/// Configures a [`TokenService`]; finish with [`build`](Self::build).
#[must_use = "call `build` to get a TokenService"]
pub struct TokenServiceBuilder {
    issuer: String,
    key: EcdsaPrivateKey,
    audiences: Vec<String>,
    clients: Arc<dyn ClientRegistry>,
    families: Arc<dyn FamilyStore>,
    revocations: Arc<dyn RevocationStore>,
    codes: Arc<dyn CodeStore>,
    authorization_endpoint: Option<String>,
    clock: Arc<dyn Clock>,
    access_lifetime: Duration,
    refresh_lifetime: Duration,
    grace: Option<Duration>,
    jwks_max_age: Duration,
    key_ring: Arc<dyn KeyRingStore>,
    rotation_period: Option<Duration>,
    publish_ahead: Option<Duration>,
}

impl fmt::Debug for TokenServiceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenServiceBuilder")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

impl TokenServiceBuilder {
    /// Adds an audience of the access tokens: the resource servers (RFC 9068 §3). At least one.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The registered clients (default: none).
    pub fn clients(mut self, clients: impl ClientRegistry + 'static) -> Self {
        self.clients = Arc::new(clients);
        self
    }

    /// Keeps refresh-token families in `store` (default: in memory, one process).
    pub fn families(mut self, store: Arc<dyn FamilyStore>) -> Self {
        self.families = store;
        self
    }

    /// Keeps revocations in `store` (default: in memory); share it with local validators.
    pub fn revocations(mut self, store: Arc<dyn RevocationStore>) -> Self {
        self.revocations = store;
        self
    }

    /// Keeps authorization codes in `store` (default: in memory, one process).
    pub fn codes(mut self, store: Arc<dyn CodeStore>) -> Self {
        self.codes = store;
        self
    }

    /// The URL of the application's login page, published as the `authorization_endpoint`
    /// (RFC 8414 §2) with `response_types_supported: ["code"]`.
    pub fn authorization_endpoint(mut self, url: impl Into<String>) -> Self {
        self.authorization_endpoint = Some(url.into());
        self
    }

    /// The clock for minting and checking (default: the system clock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The longest access-token lifetime (default 15 minutes); a client's own lifetime is
    /// capped by it.
    pub fn access_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_lifetime = lifetime;
        self
    }

    /// The refresh-token lifetime (default 14 days), counted from each rotation.
    pub fn refresh_lifetime(mut self, lifetime: Duration) -> Self {
        self.refresh_lifetime = lifetime;
        self
    }

    /// The refresh grace period, as [`TokenIssuerBuilder::grace_period`](keycard_lifecycle::TokenIssuerBuilder::grace_period).
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace = Some(grace);
        self
    }

    /// The `max-age` of the JWK Set and metadata responses (default 5 minutes).
    pub fn jwks_max_age(mut self, max_age: Duration) -> Self {
        self.jwks_max_age = max_age;
        self
    }

    /// Shares the signing-key ring with other instances through `store` (default: in memory,
    /// this instance only).
    pub fn key_ring(mut self, store: Arc<dyn KeyRingStore>) -> Self {
        self.key_ring = store;
        self
    }

    /// Rotates the signing key every `period` (default: only on demand, with
    /// [`TokenService::rotate_keys`]).
    pub fn rotation_period(mut self, period: Duration) -> Self {
        self.rotation_period = Some(period);
        self
    }

    /// How long the next key is published before it signs (default: the JWKS `max-age` plus a
    /// minute); at least the `max-age`, so that every resource server has fetched it first.
    pub fn publish_ahead(mut self, ahead: Duration) -> Self {
        self.publish_ahead = Some(ahead);
        self
    }

    /// Checks the configuration and returns the service.
    ///
    /// # Errors
    /// [`ErrorKind::Configuration`](keycard::ErrorKind::Configuration)(keycard::ErrorKind::Configuration) for a signing key without
    /// a `kid`, an issuer that is not an `https` or `http` URL or ends in `/`, and anything
    /// [`TokenIssuerBuilder::build`](keycard_lifecycle::TokenIssuerBuilder::build) refuses.
    pub fn build(self) -> Result<TokenService, Error> {
        let configuration = |reason: &'static str| Error::Configuration {
            reason: reason.into(),
        };
        if self.key.key_id().is_none() {
            return Err(configuration(
                "the signing key needs a `kid`, so that resource servers can pick it",
            ));
        }
        if !(self.issuer.starts_with("https://") || self.issuer.starts_with("http://"))
            || self.issuer.ends_with('/')
        {
            return Err(configuration(
                "the issuer must be an http(s) URL without a trailing `/`",
            ));
        }
        let publish_ahead = self
            .publish_ahead
            .unwrap_or(self.jwks_max_age + Duration::minutes(1));
        if publish_ahead < self.jwks_max_age {
            return Err(configuration(
                "the next key must be published at least one JWKS max-age before it signs",
            ));
        }
        let leeway = keycard::limits::MAX_LEEWAY;
        let policy = Policy {
            period: self.rotation_period,
            publish_ahead,
            publish_after: self.access_lifetime + leeway + self.jwks_max_age,
            verify_after: self.refresh_lifetime + leeway,
        };
        let ring = Arc::new(KeyRing::new(
            &self.key,
            self.key_ring,
            policy,
            Arc::clone(&self.clock),
        )?);
        let public = ring.verifier();
        let mut lifecycle = TokenIssuer::builder(ring.signer(), public.clone())
            .issuer(self.issuer.clone())
            .access_lifetime(self.access_lifetime)
            .refresh_lifetime(self.refresh_lifetime)
            .families(Arc::clone(&self.families))
            .revocations(Arc::clone(&self.revocations))
            .clock(Arc::clone(&self.clock));
        for audience in &self.audiences {
            lifecycle = lifecycle.audience(audience.clone());
        }
        if let Some(grace) = self.grace {
            lifecycle = lifecycle.grace_period(grace);
        }
        let lifecycle = lifecycle.build()?;
        // The lifecycle's own rules for refresh tokens, read here before a rotation so that a
        // token of another client never rotates the family.
        let mut any_access_tokens = Validator::builder(public.clone())
            .issuer(self.issuer.clone())
            .token_type(TokenKind::Access)
            .require_claim("jti")
            .clock(Arc::clone(&self.clock));
        for audience in &self.audiences {
            any_access_tokens = any_access_tokens.audience(audience.clone());
        }
        let any_access_tokens = any_access_tokens.build()?;
        let access_tokens = lifecycle.access_validator().build()?;
        let refresh_tokens = Validator::builder(public)
            .issuer(self.issuer.clone())
            .audience(self.issuer.clone())
            .token_type(TokenKind::Refresh)
            .require_claim("jti")
            .require_claim("sid")
            .require_claim("sub")
            .revocations(self.revocations)
            .clock(Arc::clone(&self.clock))
            .build()?;
        Ok(TokenService {
            inner: Arc::new(Inner {
                issuer: self.issuer.clone(),
                audiences: self.audiences,
                lifecycle,
                ring,
                ring_synced: std::sync::Mutex::new(None),
                jwks_max_age: self.jwks_max_age,
                access_lifetime: self.access_lifetime,
                refresh_tokens,
                access_tokens,
                any_access_tokens,
                families: self.families,
                codes: self.codes,
                authorization_endpoint: self.authorization_endpoint,
                clients: self.clients,
                throttle: Throttle::default(),
                assertions: SeenAssertions::default(),
                token_endpoint: format!("{}{}", self.issuer, Endpoint::Token.path()),
                clock: self.clock,
            }),
        })
    }
}

impl TokenService {
    /// Starts a service whose issuer identifier is `issuer` (an `https` URL without a trailing
    /// `/`; the endpoints are served below it) and that signs with `key`, which must carry a
    /// `kid`.
    pub fn builder(issuer: impl Into<String>, key: EcdsaPrivateKey) -> TokenServiceBuilder {
        TokenServiceBuilder {
            issuer: issuer.into(),
            key,
            audiences: Vec::new(),
            clients: Arc::new(crate::StaticClients::new()),
            families: Arc::new(MemoryFamilyStore::new()),
            revocations: Arc::new(MemoryRevocationStore::new()),
            codes: Arc::new(MemoryCodeStore::new()),
            authorization_endpoint: None,
            clock: Arc::new(SystemClock),
            access_lifetime: TokenIssuer::DEFAULT_ACCESS_LIFETIME,
            refresh_lifetime: TokenIssuer::DEFAULT_REFRESH_LIFETIME,
            grace: None,
            jwks_max_age: Duration::minutes(5),
            key_ring: Arc::new(MemoryKeyRingStore::new()),
            rotation_period: None,
            publish_ahead: None,
        }
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The URL of `endpoint`.
    pub fn url(&self, endpoint: Endpoint) -> String {
        format!("{}{}", self.inner.issuer, endpoint.path())
    }

    /// A validator for this service's access tokens in the same process (revocations
    /// included), to finish with your own rules. Resource servers elsewhere use `keycard-jwks`
    /// discovery on [`issuer`](Self::issuer) instead.
    pub fn access_validator(&self) -> ValidatorBuilder {
        self.inner.lifecycle.access_validator()
    }

    /// The lifecycle issuer underneath, for what the HTTP endpoints do not cover
    /// (`revoke_subject`, ...).
    pub fn lifecycle(&self) -> &TokenIssuer {
        &self.inner.lifecycle
    }

    /// Answers `request` at `endpoint`. The body must already be read, at most
    /// [`MAX_BODY`](crate::MAX_BODY) bytes (a longer one is refused with `invalid_request`).
    pub async fn handle(&self, endpoint: Endpoint, request: Request<Bytes>) -> Response<Bytes> {
        if request.method() != endpoint.method() {
            let mut response = error_response(&invalid_request("method not allowed"));
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            let allow = HeaderValue::from_static(if endpoint.method() == Method::POST {
                "POST"
            } else {
                "GET"
            });
            response.headers_mut().insert(header::ALLOW, allow);
            return response;
        }
        self.maintain_keys().await;
        match endpoint {
            Endpoint::Token => match self.token(&request).await {
                Ok(answer) => json_response(StatusCode::OK, &answer, None),
                Err(error) => error_response(&error),
            },
            Endpoint::Revocation => match self.revoke(&request).await {
                Ok(()) => json_response(StatusCode::OK, &json!({}), None),
                Err(error) => error_response(&error),
            },
            Endpoint::Introspection => match self.introspect(&request).await {
                Ok(answer) => json_response(StatusCode::OK, &answer, None),
                Err(error) => error_response(&error),
            },
            Endpoint::Metadata => self.document(&self.metadata()),
            Endpoint::OpenIdConfiguration => self.document(&self.openid_configuration()),
            Endpoint::Jwks => {
                let jwks = self.inner.ring.jwks(self.inner.clock.now());
                let mut response = Response::new(Bytes::from(jwks));
                self.cacheable(&mut response, "application/jwk-set+json");
                response
            }
        }
    }

    /// Rotates the signing key now (on demand): the next key, published since at least
    /// [`publish_ahead`](TokenServiceBuilder::publish_ahead), starts signing; the current one
    /// retires and stays published until its last access token has expired; a new next key is
    /// published. `Ok(false)` when the next key is not old enough yet, or another instance
    /// rotated first (its ring is adopted).
    ///
    /// # Errors
    /// [`ErrorKind::Store`](keycard::ErrorKind::Store) from the key-ring store.
    pub async fn rotate_keys(&self) -> Result<bool, Error> {
        self.inner.ring.rotate(self.inner.clock.now(), true).await
    }

    /// Reads the key ring from its store now, and rotates it if the schedule says so: what
    /// every request does at most every 10 seconds.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](keycard::ErrorKind::Store) from the key-ring store.
    pub async fn sync_keys(&self) -> Result<(), Error> {
        let now = self.inner.clock.now();
        self.inner.ring.rotate(now, false).await?;
        *self
            .inner
            .ring_synced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now);
        Ok(())
    }

    /// [`sync_keys`](Self::sync_keys) when the last one is 10 seconds old. A failing store
    /// leaves the ring as it is: its current key stays valid, so signing with it is safe.
    async fn maintain_keys(&self) {
        let now = self.inner.clock.now();
        let due = self
            .inner
            .ring_synced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_none_or(|last| now - last >= Duration::seconds(10) || now < last);
        if due {
            let _ = self.sync_keys().await;
        }
    }

    /// The answer to a request whose body is longer than [`MAX_BODY`](crate::MAX_BODY), for
    /// an adapter that stops reading it: 413 with an `invalid_request` body.
    pub fn body_too_large(&self) -> Response<Bytes> {
        let mut response = error_response(&invalid_request("the body is larger than 16 KiB"));
        *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        response
    }

    /// Signs `subject` in for `client_id` (the application's own login handler, which has
    /// authenticated the user itself) and returns a pair, as the `refresh_token` grant will
    /// rotate it. `scope` defaults to every scope the client may have.
    ///
    /// # Errors
    /// `invalid_client` for an unknown client, `unauthorized_client` for a client that may not
    /// use refresh tokens, `invalid_scope`, and `temporarily_unavailable` when a store fails.
    pub async fn issue_pair(
        &self,
        client_id: &str,
        subject: &str,
        scope: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        self.maintain_keys().await;
        let inner = &*self.inner;
        let client = inner
            .clients
            .find(client_id)
            .await
            .map_err(|e| OAuthError::internal(&e))?
            .ok_or_else(crate::error::invalid_client)?;
        if !client.allows(GrantType::RefreshToken) {
            return Err(unauthorized());
        }
        let scope = scope::narrow(scope, client.scopes())?;
        let pair = inner
            .lifecycle
            .issue(subject, &json!({ CLIENT_ID: client.id(), "scope": scope }))
            .await
            .map_err(|e| match e.kind() {
                keycard::ErrorKind::Configuration => {
                    OAuthError::new(ErrorCode::InvalidRequest, "the subject is invalid")
                }
                _ => OAuthError::internal(&e),
            })?;
        let claims: Claims = inner
            .refresh_tokens
            .verify(&pair.refresh_token)
            .map_err(|e| OAuthError::internal(&e))?;
        let session = claims.session_id.as_deref();
        self.answer(&client, subject, &scope, session, Some(pair.refresh_token))
    }

    async fn token(&self, request: &Request<Bytes>) -> Result<TokenResponse, OAuthError> {
        let inner = &*self.inner;
        let form = Form::parse(request.headers(), request.body())?;
        let now = inner.clock.now();
        let audiences = Audiences {
            issuer: &inner.issuer,
            endpoint: &inner.token_endpoint,
        };
        let (client, basic) = authenticate(
            &*inner.clients,
            &inner.throttle,
            (&inner.assertions, &audiences, &inner.clock),
            request.headers(),
            &form,
            now,
        )
        .await?;
        let result = async {
            let grant = form
                .get("grant_type")
                .ok_or(invalid_request("grant_type is missing"))?;
            let grant = GrantType::parse(grant).ok_or(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "the grant type is not supported",
            ))?;
            if !client.allows(grant) {
                return Err(unauthorized());
            }
            match grant {
                GrantType::AuthorizationCode => self.authorization_code(&client, &form).await,
                GrantType::ClientCredentials => self.client_credentials(&client, &form),
                GrantType::RefreshToken => self.refresh(&client, &form).await,
            }
        };
        result.await.map_err(|e| e.after_basic(basic))
    }

    /// Issues a one-time authorization code for `request`, once the application's login page
    /// has authenticated the user (RFC 6749 §4.1.2): bound to the client, the redirect URI
    /// (registered, compared exactly), the PKCE challenge (S256 only, RFC 9700 §2.1.1), the
    /// scope and the user; redeemable once, within [`CODE_LIFETIME`].
    ///
    /// # Errors
    /// `invalid_client` for an unknown client, `unauthorized_client` for one that may not use
    /// codes, `invalid_request` for a redirect URI that is not registered (do not redirect to
    /// it, RFC 6749 §4.1.2.1), a method other than `S256` or a malformed challenge,
    /// `invalid_scope`, and `temporarily_unavailable` when the code store fails.
    pub async fn issue_code(&self, request: &AuthorizationRequest) -> Result<String, OAuthError> {
        let inner = &*self.inner;
        let client = inner
            .clients
            .find(&request.client_id)
            .await
            .map_err(|e| OAuthError::internal(&e))?
            .ok_or_else(crate::error::invalid_client)?;
        if !client.allows(GrantType::AuthorizationCode) {
            return Err(unauthorized());
        }
        if !client.redirect_uris().contains(&request.redirect_uri) {
            return Err(invalid_request("the redirect URI is not registered"));
        }
        if request.code_challenge_method != "S256" {
            return Err(invalid_request(
                "only the S256 code challenge method is supported",
            ));
        }
        // RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters.
        let challenge_ok = request.code_challenge.len() == 43
            && URL_SAFE_NO_PAD.decode(&request.code_challenge).is_ok();
        if !challenge_ok {
            return Err(invalid_request("the code challenge is malformed"));
        }
        let scope = scope::narrow(request.scope.as_deref(), client.scopes())?;
        let now = inner.clock.now();
        let code = random_id().map_err(|e| OAuthError::internal(&e))?;
        let grant = CodeGrant {
            client_id: client.id().to_owned(),
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            scope,
            subject: request.subject.clone(),
            expires_at: now + CODE_LIFETIME,
        };
        inner
            .codes
            .insert(&code::key(&code), grant, now + code::REMEMBER_USED, now)
            .await
            .map_err(|e| OAuthError::internal(&e))?;
        Ok(code)
    }

    /// RFC 6749 §4.1.3 with RFC 7636 §4.6: the code is used up by its first presentation,
    /// whatever follows; client, redirect URI and verifier must match its grant. A code
    /// presented again is refused and the tokens of its first use are revoked (§4.1.2).
    async fn authorization_code(
        &self,
        client: &Client,
        form: &Form,
    ) -> Result<TokenResponse, OAuthError> {
        let inner = &*self.inner;
        let presented = form.get("code").ok_or(invalid_request("code is missing"))?;
        let redirect_uri = form
            .get("redirect_uri")
            .ok_or(invalid_request("redirect_uri is missing"))?;
        let verifier = form
            .get("code_verifier")
            .ok_or(invalid_request("code_verifier is missing"))?;
        let invalid = || OAuthError::new(ErrorCode::InvalidGrant, "the grant is invalid");
        let key = code::key(presented);
        let now = inner.clock.now();
        let grant = match inner
            .codes
            .redeem(&key, now)
            .await
            .map_err(|e| OAuthError::internal(&e))?
        {
            Redeemed::Fresh(grant) => grant,
            Redeemed::Replayed(first) => {
                if let Some(refresh_token) = first {
                    match inner.lifecycle.revoke(&refresh_token).await {
                        Err(e) if e.category() != keycard::ErrorCategory::Token => {
                            return Err(OAuthError::internal(&e))
                        }
                        _ => {}
                    }
                }
                return Err(invalid());
            }
            _ => return Err(invalid()),
        };
        let verifier_ok = code::is_verifier(verifier)
            && constant_time_eq(
                code::s256(verifier).as_bytes(),
                grant.code_challenge.as_bytes(),
            );
        if grant.client_id != client.id() || grant.redirect_uri != redirect_uri || !verifier_ok {
            return Err(invalid());
        }
        let pair = inner
            .lifecycle
            .issue(
                &grant.subject,
                &json!({ CLIENT_ID: client.id(), "scope": grant.scope }),
            )
            .await
            .map_err(|e| OAuthError::internal(&e))?;
        if let Err(e) = inner.codes.bind(&key, pair.refresh_token.clone()).await {
            // Unbound, a replay could not revoke these tokens: give them up instead.
            let _ = inner.lifecycle.revoke(&pair.refresh_token).await;
            return Err(OAuthError::internal(&e));
        }
        let claims: Claims = inner
            .refresh_tokens
            .verify(&pair.refresh_token)
            .map_err(|e| OAuthError::internal(&e))?;
        self.answer(
            client,
            &grant.subject,
            &grant.scope,
            claims.session_id.as_deref(),
            Some(pair.refresh_token),
        )
    }

    /// RFC 6749 §4.4: the client's own access token, its id as `sub`, no refresh token
    /// (§4.4.3).
    fn client_credentials(
        &self,
        client: &Client,
        form: &Form,
    ) -> Result<TokenResponse, OAuthError> {
        if client.auth_method() == AuthMethod::None {
            return Err(unauthorized());
        }
        let scope = scope::narrow(form.get("scope"), client.scopes())?;
        self.answer(client, client.id(), &scope, None, None)
    }

    /// RFC 6749 §6: rotation by the lifecycle, for the client the family is bound to, with a
    /// scope no wider than the one granted.
    async fn refresh(&self, client: &Client, form: &Form) -> Result<TokenResponse, OAuthError> {
        let inner = &*self.inner;
        let token = form
            .get("refresh_token")
            .ok_or(invalid_request("refresh_token is missing"))?;
        let claims: Claims = inner
            .refresh_tokens
            .verify(token)
            .map_err(|e| OAuthError::grant(&e))?;
        // The client bound to the family: another client's refresh token is not a grant of
        // this one (RFC 6749 §6: "the refresh token was issued to the authenticated client").
        if claims.extra.get(CLIENT_ID).and_then(|v| v.as_str()) != Some(client.id()) {
            return Err(OAuthError::new(
                ErrorCode::InvalidGrant,
                "the grant is invalid",
            ));
        }
        let granted = claims.scope.as_deref().unwrap_or("");
        let granted: Vec<&str> = granted.split(' ').filter(|s| !s.is_empty()).collect();
        // Narrowing only (RFC 6749 §6), and never past what the client may still have.
        let allowed: Vec<&str> = granted
            .iter()
            .copied()
            .filter(|s| client.scopes().iter().any(|c| c == s))
            .collect();
        let scope = match form.get("scope") {
            Some(requested) => scope::narrow(Some(requested), &allowed)?,
            None => allowed.join(" "),
        };
        let pair = inner
            .lifecycle
            .refresh(token)
            .await
            .map_err(|e| OAuthError::grant(&e))?;
        let subject = claims.subject.as_deref().unwrap_or_default();
        self.answer(
            client,
            subject,
            &scope,
            claims.session_id.as_deref(),
            Some(pair.refresh_token),
        )
    }

    /// The token response: a fresh RFC 9068 access token for `subject`, `client` and `scope`,
    /// in session `session` when there is one, with `refresh_token`.
    fn answer(
        &self,
        client: &Client,
        subject: &str,
        scope: &str,
        session: Option<&str>,
        refresh_token: Option<String>,
    ) -> Result<TokenResponse, OAuthError> {
        let inner = &*self.inner;
        let now = whole_seconds(inner.clock.now());
        // Capped by the service's lifetime: a session's revocation lasts that long.
        let lifetime = client
            .lifetime()
            .map_or(inner.access_lifetime, |l| l.min(inner.access_lifetime));
        let jti = random_id().map_err(|e| OAuthError::internal(&e))?;
        // RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti; `scope` when there is one.
        let mut access = Builder::new()
            .clock(FixedClock(now))
            .token_type(TokenKind::Access)
            .issuer(inner.issuer.as_str())
            .subject(subject)
            .jwt_id(jti)
            .expires_in(lifetime)
            .claim(CLIENT_ID, client.id());
        for audience in &inner.audiences {
            access = access.audience(audience.as_str());
        }
        if !scope.is_empty() {
            access = access.claim("scope", scope);
        }
        if let Some(session) = session {
            access = access.claim("sid", session);
        }
        let access_token = access
            .sign(&*inner.ring.current())
            .map_err(|e| OAuthError::internal(&e))?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: lifetime.whole_seconds(),
            refresh_token,
            scope: scope.to_owned(),
        })
    }

    /// Authenticates the client of a revocation or introspection request.
    async fn caller(&self, request: &Request<Bytes>) -> Result<(Form, Client, bool), OAuthError> {
        let inner = &*self.inner;
        let form = Form::parse(request.headers(), request.body())?;
        let audiences = Audiences {
            issuer: &inner.issuer,
            endpoint: &inner.token_endpoint,
        };
        let (client, basic) = authenticate(
            &*inner.clients,
            &inner.throttle,
            (&inner.assertions, &audiences, &inner.clock),
            request.headers(),
            &form,
            inner.clock.now(),
        )
        .await?;
        Ok((form, client, basic))
    }

    /// RFC 7009 §2: a refresh token ends its family (its session, access tokens included), an
    /// access token is revoked by `jti`. A token that is unknown, invalid, expired, already
    /// revoked or issued to another client answers 200 and changes nothing (§2.2): the answer
    /// tells the caller nothing about a token that is not its own.
    async fn revoke(&self, request: &Request<Bytes>) -> Result<(), OAuthError> {
        let (form, client, basic) = self.caller(request).await?;
        let token = form
            .get("token")
            .ok_or(invalid_request("token is missing").after_basic(basic))?;
        let inner = &*self.inner;
        // A store failure while reading either kind fails the request: answering 200 without
        // revoking would tell the client its token is gone when it is not.
        let claims = match inner.refresh_tokens.verify::<Claims>(token) {
            Err(e) if e.kind() == keycard::ErrorKind::Store => Err(e),
            Err(_) => inner.any_access_tokens.verify::<Claims>(token),
            ok => ok,
        };
        let claims: Claims = match claims {
            Ok(claims) => claims,
            Err(e) if e.kind() == keycard::ErrorKind::Store => {
                return Err(OAuthError::internal(&e).after_basic(basic))
            }
            Err(_) => return Ok(()),
        };
        if claims.extra.get(CLIENT_ID).and_then(|v| v.as_str()) != Some(client.id()) {
            return Ok(());
        }
        match inner.lifecycle.revoke(token).await {
            Ok(()) => Ok(()),
            Err(e) if e.category() == keycard::ErrorCategory::Token => Ok(()),
            Err(e) => Err(OAuthError::internal(&e).after_basic(basic)),
        }
    }

    /// RFC 7662 §2: for confidential clients (the resource servers). `{"active": false}` for
    /// anything this service would not accept now, with no reason; a refresh token is active
    /// only while it is its family's current one, and only to the client it was issued to.
    async fn introspect(&self, request: &Request<Bytes>) -> Result<serde_json::Value, OAuthError> {
        let (form, client, basic) = self.caller(request).await?;
        if client.auth_method() == AuthMethod::None {
            return Err(crate::error::invalid_client().after_basic(basic));
        }
        let token = form
            .get("token")
            .ok_or(invalid_request("token is missing").after_basic(basic))?;
        let inner = &*self.inner;
        let inactive = json!({ "active": false });
        let store_failed = |e: &Error| OAuthError::internal(e).after_basic(basic);
        let (claims, token_type) = match inner.access_tokens.verify::<Claims>(token) {
            Ok(claims) => (claims, "Bearer"),
            Err(e) if e.kind() == keycard::ErrorKind::Store => return Err(store_failed(&e)),
            Err(_) => match inner.refresh_tokens.verify::<Claims>(token) {
                Ok(claims) => {
                    let own =
                        claims.extra.get(CLIENT_ID).and_then(|v| v.as_str()) == Some(client.id());
                    let session = claims.session_id.as_deref().unwrap_or_default();
                    let family = inner
                        .families
                        .get(session)
                        .await
                        .map_err(|e| store_failed(&e))?;
                    let current = family.is_some_and(|f| Some(f.current) == claims.jwt_id);
                    if !(own && current) {
                        return Ok(inactive);
                    }
                    (claims, "refresh_token")
                }
                Err(e) if e.kind() == keycard::ErrorKind::Store => return Err(store_failed(&e)),
                Err(_) => return Ok(inactive),
            },
        };
        let mut answer = json!({
            "active": true,
            "token_type": token_type,
            "iss": claims.issuer,
            "sub": claims.subject,
            "aud": claims.audience,
            "exp": claims.expires_at.map(keycard::NumericDate::unix_timestamp),
            "iat": claims.issued_at.map(keycard::NumericDate::unix_timestamp),
            "jti": claims.jwt_id,
            CLIENT_ID: claims.extra.get(CLIENT_ID),
        });
        if let (Some(map), Some(scope)) = (answer.as_object_mut(), claims.scope) {
            map.insert("scope".into(), scope.into());
        }
        Ok(answer)
    }

    /// RFC 8414 §2.
    fn metadata(&self) -> serde_json::Value {
        let mut document = json!({
            "issuer": self.inner.issuer,
            "token_endpoint": self.url(Endpoint::Token),
            "jwks_uri": self.url(Endpoint::Jwks),
            "revocation_endpoint": self.url(Endpoint::Revocation),
            "introspection_endpoint": self.url(Endpoint::Introspection),
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "RS256", "PS256", "EdDSA"],
            "revocation_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
            "introspection_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            "response_types_supported": [],
        });
        if let (Some(map), Some(url)) = (
            document.as_object_mut(),
            self.inner.authorization_endpoint.as_ref(),
        ) {
            map.insert("authorization_endpoint".into(), json!(url));
            map.insert("response_types_supported".into(), json!(["code"]));
        }
        document
    }

    /// The OpenID Provider Metadata members that discovery reads (OpenID Connect Discovery §3);
    /// no ID tokens are issued.
    fn openid_configuration(&self) -> serde_json::Value {
        let mut document = self.metadata();
        if let Some(map) = document.as_object_mut() {
            map.insert("subject_types_supported".into(), json!(["public"]));
            map.insert(
                "id_token_signing_alg_values_supported".into(),
                json!([self.inner.ring.current().algorithm().as_str()]),
            );
        }
        document
    }

    fn document(&self, document: &serde_json::Value) -> Response<Bytes> {
        let mut response = Response::new(Bytes::from(document.to_string()));
        self.cacheable(&mut response, "application/json");
        response
    }

    fn cacheable(&self, response: &mut Response<Bytes>, content_type: &'static str) {
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        let max_age = format!(
            "public, max-age={}",
            self.inner.jwks_max_age.whole_seconds()
        );
        if let Ok(value) = HeaderValue::from_str(&max_age) {
            headers.insert(header::CACHE_CONTROL, value);
        }
    }
}

/// What the application's login page asks [`TokenService::issue_code`] for, from the
/// authorization request it received (RFC 6749 §4.1.1, RFC 7636 §4.3) and the user it signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    code_challenge_method: String,
    scope: Option<String>,
    subject: String,
}

impl AuthorizationRequest {
    /// A request of `client_id` to return to `redirect_uri`, with the PKCE `code_challenge`
    /// and `code_challenge_method` it sent, for the user `subject` the page signed in.
    pub fn new(
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
        code_challenge: impl Into<String>,
        code_challenge_method: impl Into<String>,
        subject: impl Into<String>,
    ) -> Self {
        AuthorizationRequest {
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            code_challenge: code_challenge.into(),
            code_challenge_method: code_challenge_method.into(),
            scope: None,
            subject: subject.into(),
        }
    }

    /// The `scope` of the request (default: every scope the client may have).
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }
}

/// `a == b` in time that depends on the lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

fn unauthorized() -> OAuthError {
    OAuthError::new(
        ErrorCode::UnauthorizedClient,
        "the client may not use this grant type",
    )
}

/// A JSON answer with RFC 6749 §5.1's `Cache-Control: no-store` and `Pragma: no-cache`.
fn json_response(
    status: StatusCode,
    body: &impl Serialize,
    challenge: Option<HeaderValue>,
) -> Response<Bytes> {
    let body =
        serde_json::to_vec(body).unwrap_or_else(|_| b"{\"error\":\"server_error\"}".to_vec());
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Some(challenge) = challenge {
        headers.insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}

/// The §5.2 error answer of `error`.
pub(crate) fn error_response(error: &OAuthError) -> Response<Bytes> {
    let challenge = (error.status() == StatusCode::UNAUTHORIZED)
        .then(|| HeaderValue::from_static("Basic realm=\"oauth\", charset=\"UTF-8\""));
    let body = json!({
        "error": error.code().as_str(),
        "error_description": error.description(),
    });
    let mut response = json_response(error.status(), &body, challenge);
    if error.code() == ErrorCode::TemporarilyUnavailable {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    let _ = error.basic();
    response
}

/// 16 random bytes (128 bits), base64url: a token id that never collides.
fn random_id() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::random_failure())?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}
