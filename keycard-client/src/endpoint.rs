//! [`TokenEndpoint`]: an RFC 6749 token-endpoint client. The `refresh_token` (§6) and
//! `client_credentials` (§4.4) grants, client authentication by `client_secret_basic`,
//! `client_secret_post` (§2.3.1) or `private_key_jwt` (RFC 7523 §2.2), the endpoint given by URL
//! or found by RFC 8414 / OpenID Connect discovery, and every answer checked into a
//! [`TokenSet`] or a typed [`OAuthError`].
//!
//! Hardening: the response body is bounded, the request has a timeout, redirects are not
//! followed (the request carries credentials), and no token or secret ever reaches an error,
//! a log or a `Debug`.

use std::fmt;
use std::sync::Arc;

use keycard::text::escape;
use keycard::time::{Duration, OffsetDateTime};
use keycard::{Builder, Clock, Signer, SystemClock};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::{Client, Response, StatusCode, Url};
use serde_json::{Map, Value};

use crate::oauth_error::{Malformed, OAuthError};
use crate::TokenSet;

/// The longest `expires_in` accepted: a year. Anything longer is a server bug, not a token.
const MAX_EXPIRES_IN: i64 = 366 * 24 * 3600;
/// How long a `private_key_jwt` assertion lives (RFC 7523 §3: a short `exp`).
const ASSERTION_LIFETIME: Duration = Duration::seconds(60);
/// How much of a server-chosen text (an error code or description) an error repeats.
const MAX_ECHOED: usize = 200;

/// How the client authenticates to the token endpoint.
#[derive(Clone)]
enum ClientAuth {
    /// A public client: `client_id` in the body, no secret (RFC 6749 §2.1).
    None,
    /// RFC 6749 §2.3.1: HTTP Basic with the form-urlencoded id and secret.
    SecretBasic(String),
    /// RFC 6749 §2.3.1: `client_id` and `client_secret` in the body.
    SecretPost(String),
    /// RFC 7523 §2.2: a JWT signed by the client's key.
    PrivateKeyJwt(Arc<dyn Signer>),
}

impl ClientAuth {
    fn name(&self) -> &'static str {
        match self {
            ClientAuth::None => "none",
            ClientAuth::SecretBasic(_) => "client_secret_basic",
            ClientAuth::SecretPost(_) => "client_secret_post",
            ClientAuth::PrivateKeyJwt(_) => "private_key_jwt",
        }
    }
}

/// A client of one token endpoint; cheap to clone. Build with [`TokenEndpoint::builder`].
///
/// ```no_run
/// use keycard_client::TokenEndpoint;
///
/// # async fn run() -> Result<(), keycard_client::OAuthError> {
/// let endpoint = TokenEndpoint::builder("my-client")
///     .client_secret_basic("s3cret")
///     .discover("https://login.example.com")
///     .await?;
/// let tokens = endpoint.client_credentials(Some("read")).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TokenEndpoint {
    inner: Arc<Inner>,
}

struct Inner {
    url: Url,
    client_id: String,
    auth: ClientAuth,
    http: Client,
    timeout: std::time::Duration,
    max_body: usize,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("url", &self.inner.url.as_str())
            .field("client_id", &self.inner.client_id)
            .field("auth", &self.inner.auth.name())
            .finish_non_exhaustive()
    }
}

/// Configures a [`TokenEndpoint`]; finish with [`url`](Self::url) or
/// [`discover`](Self::discover).
#[must_use = "finish with `url` or `discover`"]
pub struct TokenEndpointBuilder {
    client_id: String,
    auth: ClientAuth,
    http: Option<Client>,
    timeout: std::time::Duration,
    max_body: usize,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for TokenEndpointBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEndpointBuilder")
            .field("client_id", &self.client_id)
            .field("auth", &self.auth.name())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl TokenEndpoint {
    /// The default timeout of one request: 10 seconds.
    pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
    /// The default limit of a response body: 64 KiB.
    pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

    /// Starts a client for `client_id`, a public client until given credentials.
    pub fn builder(client_id: impl Into<String>) -> TokenEndpointBuilder {
        TokenEndpointBuilder {
            client_id: client_id.into(),
            auth: ClientAuth::None,
            http: None,
            timeout: Self::DEFAULT_TIMEOUT,
            max_body: Self::DEFAULT_MAX_BODY,
            clock: Arc::new(SystemClock),
        }
    }

    /// The token endpoint's URL.
    pub fn url(&self) -> &str {
        self.inner.url.as_str()
    }

    /// The clock it stamps token sets with.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The `refresh_token` grant (RFC 6749 §6). The answer's refresh token, when the server
    /// rotates it, is the one to keep; without one, the caller keeps `refresh_token`.
    ///
    /// # Errors
    /// [`OAuthError::SignInAgain`] when the refresh token is dead; the other variants for
    /// everything else that can go wrong.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenSet, OAuthError> {
        self.grant(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    /// The `client_credentials` grant (RFC 6749 §4.4), for `scope` if given.
    ///
    /// # Errors
    /// As [`refresh`](Self::refresh).
    pub async fn client_credentials(&self, scope: Option<&str>) -> Result<TokenSet, OAuthError> {
        match scope {
            Some(scope) => {
                self.grant(&[("grant_type", "client_credentials"), ("scope", scope)])
                    .await
            }
            None => self.grant(&[("grant_type", "client_credentials")]).await,
        }
    }

    async fn grant(&self, params: &[(&str, &str)]) -> Result<TokenSet, OAuthError> {
        let inner = &*self.inner;
        let obtained_at = inner.clock.now();
        let mut form: Vec<(&str, &str)> = params.to_vec();
        let mut request = inner
            .http
            .post(inner.url.clone())
            .timeout(inner.timeout)
            .header(ACCEPT, "application/json");
        let assertion;
        match &inner.auth {
            ClientAuth::None => form.push(("client_id", &inner.client_id)),
            ClientAuth::SecretBasic(secret) => {
                request = request.header(AUTHORIZATION, basic(&inner.client_id, secret)?);
            }
            ClientAuth::SecretPost(secret) => {
                form.push(("client_id", &inner.client_id));
                form.push(("client_secret", secret));
            }
            ClientAuth::PrivateKeyJwt(signer) => {
                assertion = self.assertion(&**signer)?;
                form.push(("client_id", &inner.client_id));
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ));
                form.push(("client_assertion", &assertion));
            }
        }
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = response.status();
        if status.is_redirection() || response.url() != &inner.url {
            return Err(OAuthError::Redirected {
                status: status.as_u16(),
            });
        }
        let body = self.read_body(response).await?;
        parse_token_response(status, &body, obtained_at, inner.max_body)
    }

    /// RFC 7523 §3: `iss` and `sub` the client id, `aud` the token endpoint, a short `exp` and
    /// a unique `jti`.
    fn assertion(&self, signer: &dyn Signer) -> Result<String, OAuthError> {
        let inner = &*self.inner;
        Builder::new()
            .issuer(inner.client_id.clone())
            .subject(inner.client_id.clone())
            .audience(inner.url.as_str())
            .expires_in(ASSERTION_LIFETIME)
            .random_jwt_id()
            .clock(Arc::clone(&inner.clock))
            .sign(signer)
            .map_err(OAuthError::Assertion)
    }

    fn transport(&self, error: &reqwest::Error) -> OAuthError {
        if error.is_timeout() {
            OAuthError::Timeout {
                millis: self.inner.timeout.as_millis(),
            }
        } else {
            // reqwest's message names the URL (no secret: credentials travel in the body or a
            // header), and the kind of failure.
            OAuthError::Unreachable(escape(&error.to_string(), MAX_ECHOED))
        }
    }

    async fn read_body(&self, response: Response) -> Result<Vec<u8>, OAuthError> {
        read_bounded(response, self.inner.max_body, |e| self.transport(e)).await
    }
}

/// Reads at most `max` bytes of `response`; one byte more is [`Malformed::TooLarge`].
async fn read_bounded(
    mut response: Response,
    max: usize,
    transport: impl Fn(&reqwest::Error) -> OAuthError,
) -> Result<Vec<u8>, OAuthError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport(&e))? {
        if body.len() + chunk.len() > max {
            return Err(OAuthError::Malformed(Malformed::TooLarge { limit: max }));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined for HTTP Basic.
fn basic(client_id: &str, secret: &str) -> Result<HeaderValue, OAuthError> {
    use base64::Engine as _;
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(client_id), encode(secret));
    let value = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    );
    let mut value = HeaderValue::from_str(&value)
        .map_err(|_| OAuthError::Configuration("the client id or secret is not text".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Reads a token endpoint's answer (RFC 6749 §5.1 success, §5.2 error) into a token set
/// obtained at `obtained_at`, or the typed error it amounts to.
pub(crate) fn parse_token_response(
    status: StatusCode,
    body: &[u8],
    obtained_at: OffsetDateTime,
    max_body: usize,
) -> Result<TokenSet, OAuthError> {
    if body.len() > max_body {
        return Err(OAuthError::Malformed(Malformed::TooLarge {
            limit: max_body,
        }));
    }
    let object = serde_json::from_slice::<Map<String, Value>>(body).ok();
    // §5.2: an `error` member, whatever the status (a 200 carrying one is still an error).
    if let Some(code) = object.as_ref().and_then(|o| o.get("error")) {
        let code = code.as_str().unwrap_or("(not a string)");
        let description = object
            .as_ref()
            .and_then(|o| o.get("error_description"))
            .and_then(Value::as_str)
            .map(|d| escape(d, MAX_ECHOED));
        return Err(if code == "invalid_grant" {
            OAuthError::SignInAgain { description }
        } else {
            OAuthError::Refused {
                code: escape(code, MAX_ECHOED),
                description,
                status: status.as_u16(),
            }
        });
    }
    if !status.is_success() {
        return Err(OAuthError::Status {
            status: status.as_u16(),
        });
    }
    let object = object.ok_or(OAuthError::Malformed(Malformed::NotJson))?;
    let malformed = |m| Err(OAuthError::Malformed(m));
    let access_token = match object.get("access_token").and_then(Value::as_str) {
        Some(token) if !token.is_empty() => token,
        _ => return malformed(Malformed::MissingAccessToken),
    };
    // RFC 6749 §5.1: the type is case-insensitive; only Bearer (RFC 6750) is supported.
    match object.get("token_type").and_then(Value::as_str) {
        Some(kind) if kind.eq_ignore_ascii_case("bearer") => {}
        Some(kind) => return malformed(Malformed::TokenType(escape(kind, MAX_ECHOED))),
        None => return malformed(Malformed::TokenType("(none)".into())),
    }
    let expires_in = match object.get("expires_in") {
        None | Some(Value::Null) => return malformed(Malformed::MissingExpiresIn),
        Some(value) => match value.as_i64() {
            Some(seconds) if (1..=MAX_EXPIRES_IN).contains(&seconds) => seconds,
            _ => {
                return malformed(Malformed::AbsurdExpiresIn(escape(
                    &value.to_string(),
                    MAX_ECHOED,
                )))
            }
        },
    };
    let text = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_owned);
    Ok(TokenSet::new(
        access_token,
        text("refresh_token"),
        obtained_at,
        Duration::seconds(expires_in),
    )
    .with_scope(text("scope")))
}

impl TokenEndpointBuilder {
    /// Authenticates with HTTP Basic (`client_secret_basic`, RFC 6749 §2.3.1).
    pub fn client_secret_basic(mut self, secret: impl Into<String>) -> Self {
        self.auth = ClientAuth::SecretBasic(secret.into());
        self
    }

    /// Authenticates with the secret in the request body (`client_secret_post`).
    pub fn client_secret_post(mut self, secret: impl Into<String>) -> Self {
        self.auth = ClientAuth::SecretPost(secret.into());
        self
    }

    /// Authenticates with a JWT signed by `signer` (`private_key_jwt`, RFC 7523 §2.2): any
    /// keycard [`Signer`], a KMS key included.
    pub fn private_key_jwt(mut self, signer: Arc<dyn Signer>) -> Self {
        self.auth = ClientAuth::PrivateKeyJwt(signer);
        self
    }

    /// Uses `http` instead of a client of its own. Its own has no redirects, rustls, and the
    /// timeout; a supplied one keeps its settings, but a redirect is still refused (the answer
    /// must come from the token endpoint's URL) and the timeout still applies per request.
    pub fn http_client(mut self, http: Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The timeout of one request, body included (default 10 s).
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The longest response body read (default 64 KiB).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Uses `clock` (for when a token set was obtained, and the assertion's times) instead of
    /// the system clock.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The client of the token endpoint at `url`.
    ///
    /// # Errors
    /// [`OAuthError::Configuration`] for a URL that is not `https` (plain `http` only to a
    /// loopback address) or an HTTP client that cannot be built.
    pub fn url(self, url: &str) -> Result<TokenEndpoint, OAuthError> {
        let url = checked_url(url)?;
        let http = match self.http {
            Some(http) => http,
            None => Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(self.timeout)
                .build()
                .map_err(|e| OAuthError::Configuration(escape(&e.to_string(), MAX_ECHOED)))?,
        };
        Ok(TokenEndpoint {
            inner: Arc::new(Inner {
                url,
                client_id: self.client_id,
                auth: self.auth,
                http,
                timeout: self.timeout,
                max_body: self.max_body,
                clock: self.clock,
            }),
        })
    }

    /// The client of the token endpoint that `issuer` publishes: its RFC 8414 metadata
    /// (`/.well-known/oauth-authorization-server`, inserted before the issuer's path), else its
    /// OpenID Connect discovery document (`/.well-known/openid-configuration`). The document's
    /// `issuer` must be `issuer` exactly (RFC 8414 §3.3).
    ///
    /// # Errors
    /// [`OAuthError::Discovery`] when neither document names a token endpoint for this issuer;
    /// as [`url`](Self::url) for the endpoint found.
    pub async fn discover(self, issuer: &str) -> Result<TokenEndpoint, OAuthError> {
        let issuer_url = checked_url(issuer)?;
        // Discovery needs its own request settings; build the endpoint client first.
        let probe = self.clone_settings().url(issuer_url.as_str())?;
        let mut last = String::from("no discovery document");
        for candidate in discovery_urls(&issuer_url) {
            match probe.metadata(&candidate, issuer).await {
                Ok(token_endpoint) => {
                    let http = probe.inner.http.clone();
                    return self.http_client(http).url(&token_endpoint);
                }
                Err(reason) => last = reason,
            }
        }
        Err(OAuthError::Discovery(last))
    }

    fn clone_settings(&self) -> TokenEndpointBuilder {
        TokenEndpointBuilder {
            client_id: self.client_id.clone(),
            auth: ClientAuth::None,
            http: self.http.clone(),
            timeout: self.timeout,
            max_body: self.max_body,
            clock: Arc::clone(&self.clock),
        }
    }
}

impl TokenEndpoint {
    /// The `token_endpoint` of the metadata document at `url`, if it is for `issuer`.
    async fn metadata(&self, url: &Url, issuer: &str) -> Result<String, String> {
        let response = self
            .inner
            .http
            .get(url.clone())
            .timeout(self.inner.timeout)
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.transport(&e).to_string())?;
        if !response.status().is_success() || response.url() != url {
            return Err(format!(
                "{url} answered HTTP {}",
                response.status().as_u16()
            ));
        }
        let body = self.read_body(response).await.map_err(|e| e.to_string())?;
        let document = serde_json::from_slice::<Map<String, Value>>(&body)
            .map_err(|_| format!("{url} is not a JSON object"))?;
        if document.get("issuer").and_then(Value::as_str) != Some(issuer) {
            return Err(format!("{url} is for another issuer"));
        }
        document
            .get("token_endpoint")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("{url} names no token_endpoint"))
    }
}

/// RFC 8414 §3.1 first (the well-known segment between host and path), then OpenID Connect
/// Discovery §4 (appended to the issuer).
fn discovery_urls(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let mut rfc8414 = issuer.clone();
    rfc8414.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    let mut oidc = issuer.clone();
    oidc.set_path(&format!("{path}/.well-known/openid-configuration"));
    vec![rfc8414, oidc]
}

/// `https`, or `http` to a loopback address (a local test server); no credentials, no fragment.
fn checked_url(url: &str) -> Result<Url, OAuthError> {
    // The messages name the scheme and host only: a URL may carry what it should not.
    let parsed = Url::parse(url)
        .map_err(|e| OAuthError::Configuration(format!("the URL does not parse: {e}")))?;
    // Credentials go in the request (RFC 6749 §2.3), never in a URL that errors repeat.
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(OAuthError::Configuration(
            "a token endpoint URL carries no credentials".into(),
        ));
    }
    let loopback = match parsed.host() {
        Some(url::Host::Domain(host)) => host == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        scheme => {
            return Err(OAuthError::Configuration(format!(
                "{}://{} is neither https nor a loopback http URL",
                escape(scheme, MAX_ECHOED),
                escape(parsed.host_str().unwrap_or_default(), MAX_ECHOED)
            )))
        }
    }
    if parsed.fragment().is_some() {
        return Err(OAuthError::Configuration(
            "a token endpoint URL has no fragment (RFC 6749 §3.2)".into(),
        ));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(status: u16, body: &str) -> Result<TokenSet, OAuthError> {
        parse_token_response(
            StatusCode::from_u16(status).unwrap(),
            body.as_bytes(),
            OffsetDateTime::UNIX_EPOCH,
            1024,
        )
    }

    fn malformed(status: u16, body: &str) -> Malformed {
        match parse(status, body) {
            Err(OAuthError::Malformed(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bearer_response_is_a_token_set() {
        let set = parse(
            200,
            r#"{"access_token":"at","token_type":"bEaReR","expires_in":900,"refresh_token":"rt","scope":"a b"}"#,
        )
        .unwrap();
        assert_eq!(set.access_token(), "at");
        assert_eq!(set.refresh_token(), Some("rt"));
        assert_eq!(set.scope(), Some("a b"));
        assert_eq!(set.expires_at().unix_timestamp(), 900);
    }

    #[test]
    fn bad_answers_are_typed_errors() {
        assert_eq!(malformed(200, "<html>oops</html>"), Malformed::NotJson);
        assert_eq!(malformed(200, r#"{"access_tok"#), Malformed::NotJson);
        assert_eq!(
            malformed(200, r#"{"token_type":"Bearer","expires_in":60}"#),
            Malformed::MissingAccessToken
        );
        assert_eq!(
            malformed(
                200,
                r#"{"access_token":"x","token_type":"mac","expires_in":60}"#
            ),
            Malformed::TokenType("mac".into())
        );
        assert_eq!(
            malformed(200, r#"{"access_token":"x","token_type":"Bearer"}"#),
            Malformed::MissingExpiresIn
        );
        for absurd in ["0", "-5", "1e30", "\"soon\"", "99999999999"] {
            let body =
                format!(r#"{{"access_token":"x","token_type":"Bearer","expires_in":{absurd}}}"#);
            assert!(
                matches!(malformed(200, &body), Malformed::AbsurdExpiresIn(_)),
                "{absurd}"
            );
        }
        assert_eq!(
            malformed(200, &"x".repeat(2000)),
            Malformed::TooLarge { limit: 1024 }
        );
    }

    #[test]
    fn an_error_member_is_an_error_even_in_a_200() {
        let err = parse(200, r#"{"error":"invalid_grant","access_token":"x"}"#).unwrap_err();
        assert!(err.is_sign_in_again(), "{err}");
        let err = parse(
            400,
            r#"{"error":"invalid_grant","error_description":"revoked\n"}"#,
        )
        .unwrap_err();
        assert!(err.is_sign_in_again());
        assert!(!err.is_retryable());
        assert_eq!(
            err.to_string(),
            "sign in again: the authorization server refused the grant (invalid_grant): revoked\\n"
        );
        let err = parse(401, r#"{"error":"invalid_client"}"#).unwrap_err();
        assert!(
            matches!(&err, OAuthError::Refused { code, status: 401, .. } if code == "invalid_client")
        );
        assert!(!err.is_retryable());
    }

    #[test]
    fn a_5xx_is_retryable_whatever_its_body() {
        let err = parse(503, "<html>maintenance</html>").unwrap_err();
        assert!(matches!(err, OAuthError::Status { status: 503 }));
        assert!(err.is_retryable());
    }

    #[test]
    fn no_token_reaches_an_error_message() {
        let body = r#"{"access_token":"SECRET-AT","token_type":"SECRET-TYPE","expires_in":60}"#;
        let shown = format!("{:?} {}", parse(200, body).unwrap_err(), "");
        assert!(!shown.contains("SECRET-AT"), "{shown}");
        let set = parse(
            200,
            r#"{"access_token":"SECRET-AT","token_type":"Bearer","expires_in":60,"refresh_token":"SECRET-RT"}"#,
        )
        .unwrap();
        assert!(!format!("{set:?}").contains("SECRET"));
    }

    #[test]
    fn urls_must_be_https_or_loopback_and_discovery_inserts_the_well_known_segment() {
        assert!(checked_url("http://example.com/token").is_err());
        assert!(checked_url("http://127.0.0.1:8080/token").is_ok());
        assert!(checked_url("https://example.com/token#x").is_err());
        for leaky in ["https://id:SECRET@example.com/token", "ftp://id:SECRET@x/"] {
            let err = checked_url(leaky).unwrap_err();
            assert!(!err.to_string().contains("SECRET"), "{err}");
        }
        let urls = discovery_urls(&Url::parse("https://as.example/tenant/").unwrap());
        assert_eq!(
            urls[0].as_str(),
            "https://as.example/.well-known/oauth-authorization-server/tenant"
        );
        assert_eq!(
            urls[1].as_str(),
            "https://as.example/tenant/.well-known/openid-configuration"
        );
    }
}
