//! What the layer leaves in a request's extensions for the handler: [`Authenticated`] (the verified
//! token and its claims, read once) or, behind an optional layer, [`Anonymous`]. Neither holds the
//! authorizer: only the realm, to draw a refusal.

use std::fmt;
use std::sync::{Arc, OnceLock};

use keycard::ErrorKind;
use serde::Deserialize;
use serde_json::Value;

use crate::rejection::{Reason, Rejection};

/// A request whose bearer token passed every check of its route: the token and its verified
/// claims. Cheap to clone.
///
/// The claims were read once, by the validator's strict reader, into a JSON value; reading them
/// into your types ([`claims_as`](Self::claims_as)) walks that value and parses no JSON text.
///
/// ```
/// # use keycard::{Algorithm, Builder, HmacKey, Validator};
/// # use keycard::time::Duration;
/// use keycard_http::{Authenticated, Authorizer};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Caller<'a> { sub: &'a str }
///
/// # let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
/// # let token = Builder::new().subject("alice").expires_in(Duration::minutes(5)).sign(&key)?;
/// let auth = Authorizer::new(Validator::builder(key).build()?);
/// let authenticated: Authenticated = auth.policy().authenticate_now(Some(token))?.unwrap();
/// let caller: Caller<'_> = authenticated.claims_as()?;
/// assert_eq!(caller.sub, "alice");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Authenticated(Arc<Inner>);

struct Inner {
    claims: Value,
    token: String,
    realm: Arc<str>,
    json: OnceLock<String>,
}

impl Authenticated {
    pub(crate) fn new(claims: Value, token: String, realm: Arc<str>) -> Self {
        Authenticated(Arc::new(Inner {
            claims,
            token,
            realm,
            json: OnceLock::new(),
        }))
    }

    /// The verified claims object.
    pub fn claims(&self) -> &Value {
        &self.0.claims
    }

    /// The claims as `T`, which may borrow from this value (`&str` fields).
    ///
    /// # Errors
    /// The claims do not read as `T` (a field `T` requires is missing, or has another type).
    pub fn claims_as<'a, T: Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.0.claims)
    }

    /// The verified claims as compact JSON text, written from [`claims`](Self::claims) on the
    /// first call (members in name order).
    pub fn claims_json(&self) -> &str {
        self.0
            .json
            .get_or_init(|| self.0.claims.to_string())
            .as_str()
    }

    /// The token itself, e.g. to call a downstream service on the caller's behalf.
    pub fn token(&self) -> &str {
        &self.0.token
    }

    /// The realm of the authorizer that checked it.
    pub fn realm(&self) -> &str {
        &self.0.realm
    }

    /// A refusal in this request's realm: what an extractor answers when the claims do not read
    /// as the handler's type (`Reason::InvalidToken(ErrorKind::Malformed)`).
    pub fn reject(&self, reason: Reason) -> Rejection {
        Rejection::new(reason).with_realm(Arc::clone(&self.0.realm))
    }

    /// [`reject`](Self::reject) for claims that do not fit the handler's type: 401
    /// `invalid_token`, `error_description="malformed"`.
    #[cold]
    pub fn malformed(&self) -> Rejection {
        self.reject(Reason::InvalidToken(ErrorKind::Malformed))
    }
}

/// The token is a credential: never printed.
impl fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticated")
            .field("realm", &self.0.realm)
            .finish_non_exhaustive()
    }
}

/// Left by an optional layer on a request without credentials: the handler may serve it
/// anonymously, and an extractor that needs a token refuses it with
/// [`missing`](Self::missing) (401, bare challenge).
#[derive(Debug, Clone)]
pub struct Anonymous {
    realm: Arc<str>,
}

impl Anonymous {
    pub(crate) fn new(realm: Arc<str>) -> Self {
        Anonymous { realm }
    }

    /// The realm of the authorizer whose layer let the request through.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// 401 with the bare challenge of RFC 6750 §3.1, in this realm.
    pub fn missing(&self) -> Rejection {
        Rejection::new(Reason::MissingCredentials).with_realm(Arc::clone(&self.realm))
    }
}
