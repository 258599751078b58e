//! Registered clients (RFC 6749 §2): what each may do, how it authenticates, and the registry the
//! service finds them in.

use std::collections::HashMap;
use std::fmt;
use std::future::ready;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use keycard::{Error, KeySet};
use keycard_lifecycle::StoreFuture;
use ring::digest::{digest, SHA256};
use ring::rand::{SecureRandom as _, SystemRandom};
use time::Duration;

/// A grant type of the token endpoint (RFC 6749 §4, §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GrantType {
    /// `authorization_code` with PKCE (RFC 6749 §4.1, RFC 7636 S256): a code the application's
    /// login page obtained with [`TokenService::issue_code`](crate::TokenService::issue_code).
    AuthorizationCode,
    /// `client_credentials` (RFC 6749 §4.4): a confidential client's own token, no refresh
    /// token.
    ClientCredentials,
    /// `refresh_token` (RFC 6749 §6): a new pair for a refresh token issued to this client.
    RefreshToken,
}

impl GrantType {
    /// The `grant_type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::RefreshToken => "refresh_token",
        }
    }

    /// The grant type named `value`, if the service supports it.
    pub fn parse(value: &str) -> Option<GrantType> {
        [
            GrantType::AuthorizationCode,
            GrantType::ClientCredentials,
            GrantType::RefreshToken,
        ]
        .into_iter()
        .find(|g| g.as_str() == value)
    }
}

/// How a client authenticates at the token endpoint (RFC 6749 §2.3, RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthMethod {
    /// `client_secret_basic`: HTTP Basic with the client id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// `none`: a public client, identified by `client_id` but not authenticated.
    None,
    /// `private_key_jwt`: a JWT signed with the client's own key (RFC 7523 §2.2, OpenID
    /// Connect Core §9), checked against the public keys registered for it.
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The method's registered name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// The SHA-256 digest of a client secret: what the registry stores instead of the secret.
///
/// SHA-256 and not a password hash (PBKDF2, Argon2) because the secrets are high-entropy, never
/// chosen by a person: [`generate`](Self::generate) draws 256 random bits, and
/// [`of`](Self::of) refuses anything shorter than 32 characters. Against a 256-bit secret a slow
/// hash adds nothing but a CPU cost per request that an attacker can make the service pay.
/// Comparison is constant-time. `Debug` shows nothing of the digest.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash([u8; 32]);

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

impl SecretHash {
    /// The shortest secret [`of`](Self::of) accepts.
    pub const MIN_SECRET_LEN: usize = 32;

    /// A new random secret (32 bytes from the system's secure generator, base64url: 43
    /// characters) and its hash. Hand the secret to the client once; keep only the hash.
    ///
    /// # Errors
    /// [`ErrorKind::Random`](keycard::ErrorKind::Random)(keycard::ErrorKind) when the system generator fails.
    pub fn generate() -> Result<(String, SecretHash), Error> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| Error::random_failure())?;
        let secret = URL_SAFE_NO_PAD.encode(bytes);
        let hash = SecretHash::digest(&secret);
        Ok((secret, hash))
    }

    /// The hash of an existing `secret`, which must be at least
    /// [`MIN_SECRET_LEN`](Self::MIN_SECRET_LEN) characters of high entropy.
    ///
    /// # Errors
    /// [`ErrorKind::Configuration`](keycard::ErrorKind::Configuration) for a shorter secret.
    pub fn of(secret: &str) -> Result<SecretHash, Error> {
        if secret.len() < Self::MIN_SECRET_LEN {
            return Err(Error::Configuration {
                reason: "a client secret must be at least 32 characters of high entropy".into(),
            });
        }
        Ok(SecretHash::digest(secret))
    }

    /// A hash no secret is expected to match, compared against for unknown client ids so that
    /// they cost the same work as known ones.
    pub(crate) fn unmatchable() -> SecretHash {
        SecretHash([0u8; 32])
    }

    fn digest(secret: &str) -> SecretHash {
        let mut out = [0u8; 32];
        out.copy_from_slice(digest(&SHA256, secret.as_bytes()).as_ref());
        SecretHash(out)
    }

    /// Whether `presented` is the secret, compared in constant time (over the digests, so the
    /// time does not depend on the secret's length or content either).
    pub fn matches(&self, presented: &str) -> bool {
        let theirs = SecretHash::digest(presented);
        let diff = self
            .0
            .iter()
            .zip(theirs.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        // `black_box` keeps the fold from being turned into an early exit.
        std::hint::black_box(diff) == 0
    }
}

/// A registered client: its id, how it authenticates, the grants and scopes it may use, its
/// redirect URIs and its access-token lifetime.
#[derive(Debug, Clone)]
pub struct Client {
    id: String,
    method: AuthMethod,
    secret: Option<SecretHash>,
    keys: Option<KeySet>,
    grants: Vec<GrantType>,
    scopes: Vec<String>,
    redirect_uris: Vec<String>,
    access_lifetime: Option<Duration>,
}

impl Client {
    /// A confidential client that authenticates with `method`
    /// ([`ClientSecretBasic`](AuthMethod::ClientSecretBasic) or
    /// [`ClientSecretPost`](AuthMethod::ClientSecretPost)) and the secret whose hash is `secret`.
    pub fn confidential(id: impl Into<String>, method: AuthMethod, secret: SecretHash) -> Client {
        Client {
            id: id.into(),
            method,
            secret: Some(secret),
            keys: None,
            grants: Vec::new(),
            scopes: Vec::new(),
            redirect_uris: Vec::new(),
            access_lifetime: None,
        }
    }

    /// A public client (a mobile app, a single-page app): identified, never authenticated. It
    /// cannot use `client_credentials`.
    pub fn public(id: impl Into<String>) -> Client {
        Client {
            id: id.into(),
            method: AuthMethod::None,
            secret: None,
            keys: None,
            grants: Vec::new(),
            scopes: Vec::new(),
            redirect_uris: Vec::new(),
            access_lifetime: None,
        }
    }

    /// A confidential client that authenticates with `private_key_jwt` (RFC 7523 §2.2): its
    /// assertions are signed by one of `keys`, its public keys (a JWK Set it registered).
    pub fn private_key_jwt(id: impl Into<String>, keys: KeySet) -> Client {
        Client {
            id: id.into(),
            method: AuthMethod::PrivateKeyJwt,
            secret: None,
            keys: Some(keys),
            grants: Vec::new(),
            scopes: Vec::new(),
            redirect_uris: Vec::new(),
            access_lifetime: None,
        }
    }

    /// Allows `grant`.
    #[must_use]
    pub fn grant(mut self, grant: GrantType) -> Self {
        if !self.grants.contains(&grant) {
            self.grants.push(grant);
        }
        self
    }

    /// Allows the scope token `scope`; a request without `scope` receives every allowed scope.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        let scope = scope.into();
        if !self.scopes.contains(&scope) {
            self.scopes.push(scope);
        }
        self
    }

    /// Registers a redirect URI, compared exactly (RFC 9700 §2.1).
    #[must_use]
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// The lifetime of this client's access tokens, at most the service's.
    #[must_use]
    pub fn access_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_lifetime = Some(lifetime);
        self
    }

    /// The client id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// How the client authenticates.
    pub fn auth_method(&self) -> AuthMethod {
        self.method
    }

    /// Whether the client may use `grant`: a public client never uses `client_credentials`.
    pub fn allows(&self, grant: GrantType) -> bool {
        let public = self.method == AuthMethod::None;
        self.grants.contains(&grant) && !(public && grant == GrantType::ClientCredentials)
    }

    /// The scopes the client may ask for.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The registered redirect URIs.
    pub fn redirect_uris(&self) -> &[String] {
        &self.redirect_uris
    }

    /// The client's own access-token lifetime, if set.
    pub fn lifetime(&self) -> Option<Duration> {
        self.access_lifetime
    }

    /// The public keys of a `private_key_jwt` client.
    pub(crate) fn keys(&self) -> Option<&KeySet> {
        self.keys.as_ref()
    }

    /// The hash of the client's secret (`None` for a public client).
    pub(crate) fn secret(&self) -> Option<&SecretHash> {
        self.secret.as_ref()
    }
}

/// Where the service finds its clients: implement it over a database, or use [`StaticClients`].
///
/// A failing lookup returns an [`ErrorKind::Store`](keycard::ErrorKind::Store) error; the request then fails with
/// `temporarily_unavailable`.
pub trait ClientRegistry: fmt::Debug + Send + Sync {
    /// The client `id`, if registered.
    fn find<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Client>>;
}

/// A fixed set of clients, in memory.
#[derive(Debug, Default, Clone)]
pub struct StaticClients {
    clients: HashMap<String, Client>,
}

impl StaticClients {
    /// No clients yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) `client`.
    #[must_use]
    pub fn with(mut self, client: Client) -> Self {
        self.clients.insert(client.id.clone(), client);
        self
    }
}

impl ClientRegistry for StaticClients {
    fn find<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Client>> {
        Box::pin(ready(Ok(self.clients.get(id).cloned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_matches_its_hash_only() {
        let (secret, hash) = SecretHash::generate().unwrap();
        assert_eq!(secret.len(), 43);
        assert!(hash.matches(&secret));
        assert!(!hash.matches(&secret[1..]));
        assert!(!hash.matches(""));
        assert_eq!(SecretHash::of(&secret).unwrap(), hash);
        assert!(SecretHash::of("short").is_err());
        assert_eq!(format!("{hash:?}"), "SecretHash(..)");
    }

    #[test]
    fn public_clients_never_use_client_credentials() {
        let client = Client::public("app").grant(GrantType::ClientCredentials);
        assert!(!client.allows(GrantType::ClientCredentials));
    }
}
