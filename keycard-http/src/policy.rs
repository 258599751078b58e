//! [`Policy`]: the rules of one route (required scopes, claims checks, optional authentication)
//! and the one function that applies them to a request's token.

use std::fmt;
use std::sync::Arc;

use keycard::ErrorKind;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::authenticated::Authenticated;
use crate::authorizer::{check_fn, Authorizer, Check};
use crate::rejection::{Reason, Rejection};

impl Authorizer {
    /// The rules of one route, starting with "a valid token": add scopes and checks to it.
    pub fn policy(&self) -> Policy {
        Policy::new(self.clone())
    }
}

/// The rules of one route: a valid token of the [`Authorizer`], then the scopes and claims checks
/// added here, then the authorizer's own checks. From [`Authorizer::policy`]; cheap to clone.
///
/// [`authenticate`](Self::authenticate) applies it to a token; the [`AuthLayer`](crate::AuthLayer)
/// does that for every request.
#[derive(Clone)]
pub struct Policy {
    auth: Authorizer,
    optional: bool,
    scopes: Vec<String>,
    checks: Vec<Arc<Check>>,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("optional", &self.optional)
            .field("scopes", &self.scopes)
            .field("checks", &self.checks.len())
            .finish_non_exhaustive()
    }
}

impl Policy {
    pub(crate) fn new(auth: Authorizer) -> Self {
        Policy {
            auth,
            optional: false,
            scopes: Vec::new(),
            checks: Vec::new(),
        }
    }

    /// The authorizer whose tokens this policy accepts.
    pub fn authorizer(&self) -> &Authorizer {
        &self.auth
    }

    /// Also requires `scope` (one word; call once per scope), in the token's `scope`
    /// (space-separated, RFC 9068 §2.2.3) or `scp` (an array, or a space-separated string), by
    /// the rule of keycard's `require_scope`: otherwise 403 `insufficient_scope`, naming every
    /// scope the policy requires.
    #[must_use]
    pub fn require_scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// Also requires `check` to accept the claims, read as `C`: otherwise (or when the claims
    /// do not read as `C`) 403 `insufficient_scope` with `error_description="claims"`.
    ///
    /// ```
    /// # use keycard::{Algorithm, HmacKey, Validator};
    /// use keycard_http::Authorizer;
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize)]
    /// struct Tenant { tenant: String }
    ///
    /// # let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
    /// let auth = Authorizer::new(Validator::builder(key).build()?);
    /// let acme_only = auth.policy().check(|t: &Tenant| t.tenant == "acme");
    /// # Ok::<(), keycard::Error>(())
    /// ```
    #[must_use]
    pub fn check<C, F>(mut self, check: F) -> Self
    where
        C: DeserializeOwned,
        F: Fn(&C) -> bool + Send + Sync + 'static,
    {
        self.checks.push(check_fn(check));
        self
    }

    /// Optional authentication: a request without credentials goes through unauthenticated
    /// (the handler finds [`Anonymous`](crate::Anonymous) instead of
    /// [`Authenticated`]); one with credentials must pass like everywhere else.
    #[must_use]
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// Whether requests without credentials go through.
    pub fn is_optional(&self) -> bool {
        self.optional
    }

    /// Checks `token` (the request's credential, `None` when it had none) against this policy,
    /// waiting for a key refetch when its `kid` is unknown ([`crate::verify`]). `Ok(None)`: no
    /// credentials, and the policy is optional.
    ///
    /// # Errors
    /// The [`Rejection`] to answer with.
    pub async fn authenticate(
        &self,
        token: Option<String>,
    ) -> Result<Option<Authenticated>, Rejection> {
        let Some(token) = self.required(token)? else {
            return Ok(None);
        };
        let (verifier, issuer) = self.auth.select(&token)?;
        let claims = verifier
            .verify(&token)
            .await
            .map_err(|e| self.auth.refuse(&e))?;
        self.admit(token, claims, issuer).map(Some)
    }

    /// [`authenticate`](Self::authenticate) without waiting: no key refetch (a token whose
    /// `kid` is unknown is refused at once), for synchronous callers such as tonic interceptors.
    ///
    /// # Errors
    /// The [`Rejection`] to answer with.
    pub fn authenticate_now(
        &self,
        token: Option<String>,
    ) -> Result<Option<Authenticated>, Rejection> {
        let Some(token) = self.required(token)? else {
            return Ok(None);
        };
        let (verifier, issuer) = self.auth.select(&token)?;
        let claims = verifier
            .verify_now(&token)
            .map_err(|e| self.auth.refuse(&e))?;
        self.admit(token, claims, issuer).map(Some)
    }

    fn required(&self, token: Option<String>) -> Result<Option<String>, Rejection> {
        match token {
            Some(token) => Ok(Some(token)),
            None if self.optional => Ok(None),
            None => Err(self.auth.reject(Reason::MissingCredentials)),
        }
    }

    /// The route's rules over verified claims: the issuer that chose the verifier, the scopes,
    /// the route's checks, then the authorizer's.
    fn admit(
        &self,
        token: String,
        claims: Value,
        issuer: Option<&str>,
    ) -> Result<Authenticated, Rejection> {
        if let Some(expected) = issuer {
            if claims.get("iss").and_then(Value::as_str) != Some(expected) {
                return Err(self.auth.reject(Reason::InvalidToken(ErrorKind::Issuer)));
            }
        }
        // The authorizer's token rules (a provider preset's): a token that fails one is not for
        // this service at all, whatever the route.
        if let Some(kind) = self.auth.broken_rule(&claims) {
            return Err(self.auth.reject(Reason::InvalidToken(kind)));
        }
        if !self.scopes.is_empty() {
            // The core's one scope rule, on the claims the validator verified.
            if self
                .scopes
                .iter()
                .any(|scope| !keycard::scope::grants(&claims, scope))
            {
                return Err(self
                    .auth
                    .reject(Reason::InsufficientScope)
                    .with_scope(self.scopes.join(" ")));
            }
        }
        let checks = self.checks.iter().chain(self.auth.checks());
        if !checks.into_iter().all(|check| check(&claims)) {
            return Err(self.auth.reject(Reason::ClaimsRefused));
        }
        Ok(Authenticated::new(claims, token, self.auth.shared_realm()))
    }
}
