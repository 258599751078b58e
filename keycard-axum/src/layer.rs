//! [`AuthLayer`] and [`AuthService`]: the tower middleware that checks the bearer token.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{header, HeaderMap, Request, Uri};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;
use tower_layer::Layer;
use tower_service::Service;

use crate::authorizer::Authorizer;
use crate::extract::{Anonymous, Authenticated};
use crate::rejection::Rejection;

type Check = dyn Fn(&str) -> bool + Send + Sync;

/// The rules of one layer: the authorizer, the scopes, the claims checks.
#[derive(Clone)]
struct Policy {
    auth: Authorizer,
    optional: bool,
    scopes: Vec<String>,
    checks: Vec<Arc<Check>>,
}

/// A tower [`Layer`] that refuses requests without a valid bearer token, from
/// [`Authorizer::layer`], [`Authorizer::require_scope`] or [`Authorizer::optional`]. Put it on
/// a route (`get(handler).layer(..)`), a router (`Router::layer`, `route_layer`), or any tower
/// stack. Handlers read the claims with [`Verified`](crate::Verified).
#[derive(Clone)]
#[must_use = "a layer does nothing until it wraps a service"]
pub struct AuthLayer {
    policy: Arc<Policy>,
}

impl std::fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthLayer")
            .field("optional", &self.policy.optional)
            .field("scopes", &self.policy.scopes)
            .field("checks", &self.policy.checks.len())
            .finish()
    }
}

impl AuthLayer {
    pub(crate) fn new(auth: Authorizer, optional: bool) -> Self {
        AuthLayer {
            policy: Arc::new(Policy {
                auth,
                optional,
                scopes: Vec::new(),
                checks: Vec::new(),
            }),
        }
    }

    fn with(mut self, f: impl FnOnce(&mut Policy)) -> Self {
        f(Arc::make_mut(&mut self.policy));
        self
    }

    /// Also requires `scope`, in the token's `scope` (space-separated, RFC 9068 §2.2.3) or
    /// `scp` (an array or a string): otherwise 403 `insufficient_scope`, naming every scope
    /// the layer requires.
    pub fn require_scope(self, scope: impl Into<String>) -> Self {
        let scope = scope.into();
        self.with(|policy| policy.scopes.push(scope))
    }

    /// Also requires `check` to accept the claims, read as `C`: otherwise (or when the claims
    /// do not read as `C`) 403 `insufficient_scope` with `error_description="claims"`.
    ///
    /// ```
    /// # use keycard::{Algorithm, HmacKey, Validator};
    /// use keycard_axum::Authorizer;
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize)]
    /// struct Tenant { tenant: String }
    ///
    /// # let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
    /// let auth = Authorizer::new(Validator::builder(key).build()?);
    /// let acme_only = auth.layer().check(|t: &Tenant| t.tenant == "acme");
    /// # Ok::<(), keycard::Error>(())
    /// ```
    pub fn check<C, F>(self, check: F) -> Self
    where
        C: DeserializeOwned,
        F: Fn(&C) -> bool + Send + Sync + 'static,
    {
        let check: Arc<Check> = Arc::new(move |claims: &str| {
            serde_json::from_str::<C>(claims).is_ok_and(|c| check(&c))
        });
        self.with(|policy| policy.checks.push(check))
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            policy: Arc::clone(&self.policy),
        }
    }
}

/// The service [`AuthLayer`] makes.
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    policy: Arc<Policy>,
}

impl<S> std::fmt::Debug for AuthService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService").finish_non_exhaustive()
    }
}

impl<S, B> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone that was polled ready serves this request (tower's usual hand-over).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let policy = Arc::clone(&self.policy);
        let credential = bearer(
            request.headers(),
            request.uri(),
            policy.auth.shared.allow_query,
        );
        Box::pin(async move {
            match policy.authenticate(credential).await {
                Ok(Some(authenticated)) => {
                    request.extensions_mut().insert(authenticated);
                }
                Ok(None) => {
                    // Optional authentication, no credentials: a `Verified<T>` (not `Option`)
                    // on this route then answers 401 like a required one.
                    request
                        .extensions_mut()
                        .insert(Anonymous(policy.auth.clone()));
                }
                Err(rejection) => return Ok(policy.auth.reject(&rejection)),
            }
            inner.call(request).await.map(IntoResponse::into_response)
        })
    }
}

impl Policy {
    async fn authenticate(
        &self,
        credential: Result<Option<String>, Rejection>,
    ) -> Result<Option<Authenticated>, Rejection> {
        let token = match credential? {
            Some(token) => token,
            None if self.optional => return Ok(None),
            None => return Err(Rejection::MissingCredentials),
        };
        let claims = self.auth.verify(&token).await?;
        if !self.scopes.is_empty() {
            let granted: Scopes<'_> = serde_json::from_str(claims.get()).unwrap_or_default();
            if self.scopes.iter().any(|scope| !granted.grant(scope)) {
                return Err(Rejection::InsufficientScope(self.scopes.join(" ")));
            }
        }
        if !self.checks.iter().all(|check| check(claims.get())) {
            return Err(Rejection::ClaimsRefused);
        }
        Ok(Some(Authenticated::new(claims, token, self.auth.clone())))
    }
}

/// The scope claims: `scope` (one space-separated string, RFC 9068 §2.2.3) and `scp` (an array
/// of scopes, or a space-separated string), the same rule as keycard's `require_scope`.
#[derive(Deserialize, Default)]
struct Scopes<'a> {
    #[serde(borrow, default)]
    scope: Option<Cow<'a, str>>,
    #[serde(default)]
    scp: Option<Value>,
}

impl Scopes<'_> {
    /// Whether these claims grant `scope`.
    fn grant(&self, scope: &str) -> bool {
        let in_words = |words: &str| words.split(' ').any(|word| word == scope);
        self.scope.as_deref().is_some_and(in_words)
            || match &self.scp {
                Some(Value::String(words)) => in_words(words),
                Some(Value::Array(scopes)) => scopes.iter().any(|s| s.as_str() == Some(scope)),
                _ => false,
            }
    }
}

/// The request's bearer token (RFC 6750 §2.1, and §2.3 when allowed), `None` when there are no
/// credentials at all.
fn bearer(headers: &HeaderMap, uri: &Uri, allow_query: bool) -> Result<Option<String>, Rejection> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let header = values.next();
    if values.next().is_some() {
        return Err(Rejection::InvalidRequest("multiple_credentials"));
    }
    let query = query_token(uri);
    let Some(header) = header else {
        return match query {
            None => Ok(None),
            Some(_) if !allow_query => Err(Rejection::InvalidRequest("query_token_refused")),
            Some(token) => token.map(Some),
        };
    };
    if query.is_some() {
        // RFC 6750 §3.1: more than one method.
        return Err(Rejection::InvalidRequest("multiple_credentials"));
    }
    let value = header
        .to_str()
        .map_err(|_| Rejection::InvalidRequest("malformed_authorization"))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Rejection::InvalidRequest("not_bearer"));
    }
    credential(rest.trim_start_matches(' ')).map(Some)
}

/// One `b64token` (RFC 6750 §2.1): `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn credential(token: &str) -> Result<String, Rejection> {
    if token.is_empty() {
        return Err(Rejection::InvalidRequest("empty_token"));
    }
    if token.contains(' ') {
        return Err(Rejection::InvalidRequest("multiple_credentials"));
    }
    let body = token.trim_end_matches('=');
    let valid = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if !valid {
        return Err(Rejection::InvalidRequest("malformed_authorization"));
    }
    Ok(token.to_owned())
}

/// The `access_token` query parameter, if present (percent-decoded).
fn query_token(uri: &Uri) -> Option<Result<String, Rejection>> {
    let query = uri.query()?;
    let mut found = query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("access_token="));
    let first = found.next()?;
    if found.next().is_some() {
        return Some(Err(Rejection::InvalidRequest("multiple_credentials")));
    }
    Some(percent_decode(first).and_then(|token| credential(&token)))
}

fn percent_decode(text: &str) -> Result<String, Rejection> {
    let bad = Rejection::InvalidRequest("malformed_query_token");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3).ok_or(bad.clone())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad.clone())?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn extract(
        values: &[&'static str],
        uri: &'static str,
        allow: bool,
    ) -> Result<Option<String>, Rejection> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::AUTHORIZATION, HeaderValue::from_static(value));
        }
        bearer(&headers, &Uri::from_static(uri), allow)
    }

    #[test]
    fn bearer_credentials_follow_rfc_6750() {
        let ok = |t: &str| Ok(Some(t.to_owned()));
        assert_eq!(
            extract(&["Bearer abc.def.ghi"], "/", false),
            ok("abc.def.ghi")
        );
        assert_eq!(extract(&["bEaReR abc"], "/", false), ok("abc"));
        assert_eq!(extract(&["Bearer  a+/b=="], "/", false), ok("a+/b=="));
        assert_eq!(extract(&[], "/", false), Ok(None));
        let refused = |why| Err(Rejection::InvalidRequest(why));
        assert_eq!(
            extract(&["Basic YWxpY2U="], "/", false),
            refused("not_bearer")
        );
        assert_eq!(extract(&["Bearer"], "/", false), refused("empty_token"));
        assert_eq!(
            extract(&["Bearer a b"], "/", false),
            refused("multiple_credentials")
        );
        assert_eq!(
            extract(&["Bearer a", "Bearer b"], "/", false),
            refused("multiple_credentials")
        );
        assert_eq!(
            extract(&["Bearer a%b"], "/", false),
            refused("malformed_authorization")
        );
        assert_eq!(
            extract(&["Bearer ="], "/", false),
            refused("malformed_authorization")
        );
    }

    #[test]
    fn query_tokens_only_when_allowed() {
        assert_eq!(
            extract(&[], "/x?access_token=abc", false),
            Err(Rejection::InvalidRequest("query_token_refused"))
        );
        assert_eq!(
            extract(&[], "/x?a=1&access_token=ab%2Bc", true),
            Ok(Some("ab+c".to_owned()))
        );
        assert_eq!(
            extract(&["Bearer abc"], "/x?access_token=abc", true),
            Err(Rejection::InvalidRequest("multiple_credentials"))
        );
        assert_eq!(
            extract(&[], "/x?access_token=%zz", true),
            Err(Rejection::InvalidRequest("malformed_query_token"))
        );
    }

    #[test]
    fn scopes_are_read_from_scope_and_scp() {
        let read = |json: &'static str| serde_json::from_str::<Scopes<'static>>(json).unwrap();
        let claims = read(r#"{"scope":"read write","scp":["admin"],"sub":"x"}"#);
        assert!(claims.grant("write"));
        assert!(claims.grant("admin"));
        assert!(!claims.grant("rea"));
        assert!(read(r#"{"scp":"a b"}"#).grant("b"));
    }
}
