//! [`Provider`]: one constructor per identity provider a resource server meets most, holding
//! that provider's rules (where its keys are, their algorithms, the issuer and audience rule,
//! the token type, and the claim rules every token must meet), so that no route repeats them.
//!
//! The key set and the validator are built here; the claim rules a keycard
//! [`Validator`] cannot express (Cognito's `client_id` and `token_use`, Entra ID's tenant rule)
//! come out as [`TokenRule`]s, which `keycard_http::AuthorizerBuilder::rules` applies to every
//! route of an authorizer. keycard-jwks stays a source of keys and names no HTTP framework.

use std::fmt;
use std::sync::Arc;

use keycard::{Algorithm, ErrorKind, Validator, ValidatorBuilder};
use serde_json::Value;

use crate::error::Error;
use crate::remote::{RemoteKeySet, RemoteKeySetBuilder};
use crate::validator::ValidatorExt;

/// A rule over a token's verified claims and the kind of the 401 it answers when the token fails
/// it: the shape of `keycard_http::TokenRule`.
pub type TokenRule = (ErrorKind, Arc<dyn Fn(&Value) -> bool + Send + Sync>);

type Tweak = Box<dyn FnOnce(RemoteKeySetBuilder) -> RemoteKeySetBuilder + Send>;

/// Where a preset's keys come from.
#[derive(Debug, Clone)]
enum Keys {
    Url(String),
    Discover(String),
}

/// An identity provider's rules for the access tokens (or, for Google, the ID tokens) an API
/// accepts. [`connect`](Self::connect) fetches its keys; the result gives the validator and the
/// [`rules`](Connected::rules) for the whole authorizer.
///
/// ```no_run
/// use keycard_jwks::Provider;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let cognito = Provider::cognito("eu-west-1", "eu-west-1_Example", "app-client-id")
///     .connect()
///     .await?;
/// let validator = cognito.validator()?;
/// let rules = cognito.rules(); // for keycard_http::AuthorizerBuilder::rules
/// # Ok(()) }
/// ```
///
/// | preset | keys | issuer | audience or client | `typ` | scopes, roles |
/// |---|---|---|---|---|---|
/// | [`google`](Self::google) | `googleapis.com/oauth2/v3/certs`, RS256 | `https://accounts.google.com` or `accounts.google.com` | `aud` = OAuth client ID (ID tokens) | `JWT` | — |
/// | [`entra`](Self::entra) | the tenant's `discovery/v2.0/keys`, RS256 (keys without `alg`) | `https://login.microsoftonline.com/{tenant}/v2.0` | `aud` = app's client ID | `JWT` | `scp` (delegated), `roles` (app) |
/// | [`entra_multi_tenant`](Self::entra_multi_tenant) | `common/discovery/v2.0/keys` | `iss` = `https://login.microsoftonline.com/{tid}/v2.0` of the token's own `tid`, `tid` among the listed | as above | `JWT` | as above |
/// | [`auth0`](Self::auth0) | `https://{domain}/.well-known/jwks.json`, RS256 | `https://{domain}/` | `aud` = the API identifier | `at+jwt` or `JWT` | `scope`, `permissions` |
/// | [`okta`](Self::okta) | `{issuer}/v1/keys`, RS256 | a custom authorization server | `aud` (e.g. `api://default`) | `JWT` or none | `scp` |
/// | [`okta_org`](Self::okta_org) | `https://{domain}/oauth2/v1/keys`, RS256 | `https://{domain}` | `aud` | `JWT` or none | `scp` |
/// | [`cognito`](Self::cognito) | `{issuer}/.well-known/jwks.json`, RS256 | `https://cognito-idp.{region}.amazonaws.com/{pool}` | no `aud`: `client_id` = the app client, `token_use` = `access` | none | `scope`, `cognito:groups` |
/// | [`keycloak`](Self::keycloak) | `{issuer}/protocol/openid-connect/certs`, RS256 | `{base}/realms/{realm}` | `aud` (add an Audience mapper); payload `typ` = `Bearer` | `JWT` | `scope`, `realm_access.roles` |
/// | [`rfc9068`](Self::rfc9068) | discovered | the issuer | `aud` | `at+jwt` only (RFC 9068 §4) | `scope` |
pub struct Provider {
    name: &'static str,
    keys: Keys,
    algorithms: Vec<Algorithm>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    token_types: Vec<&'static str>,
    rules: Vec<TokenRule>,
    tweak: Option<Tweak>,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("keys", &self.keys)
            .field("algorithms", &self.algorithms)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("token_types", &self.token_types)
            .field("rules", &self.rules.len())
            .finish()
    }
}

/// `claims[name]` is the string `value`.
fn equals(kind: ErrorKind, name: &'static str, value: String) -> TokenRule {
    let rule = move |claims: &Value| claims.get(name).and_then(Value::as_str) == Some(&value);
    (kind, Arc::new(rule))
}

const ENTRA: &str = "https://login.microsoftonline.com";

impl Provider {
    fn new(name: &'static str, keys: Keys) -> Self {
        Provider {
            name,
            keys,
            algorithms: vec![Algorithm::RS256],
            issuers: Vec::new(),
            audiences: Vec::new(),
            token_types: vec!["JWT"],
            rules: Vec::new(),
            tweak: None,
        }
    }

    /// Google ID tokens for OAuth client `client_id` (Google's access tokens are opaque, not
    /// JWTs): both issuer spellings Google uses, `aud` = `client_id`.
    pub fn google(client_id: impl Into<String>) -> Self {
        let mut preset = Self::new(
            "Google",
            Keys::Url("https://www.googleapis.com/oauth2/v3/certs".to_owned()),
        );
        preset.issuers = vec![
            "https://accounts.google.com".to_owned(),
            "accounts.google.com".to_owned(),
        ];
        preset.audiences = vec![client_id.into()];
        preset
    }

    /// Microsoft Entra ID v2 access tokens of one tenant for the app `client_id` (set
    /// `"accessTokenAcceptedVersion": 2` in the manifest). Entra publishes keys without `alg`:
    /// they are read for RS256.
    pub fn entra(tenant_id: impl Into<String>, client_id: impl Into<String>) -> Self {
        let tenant = tenant_id.into();
        let mut preset = Self::new(
            "Microsoft Entra ID",
            Keys::Url(format!("{ENTRA}/{tenant}/discovery/v2.0/keys")),
        );
        preset.issuers = vec![format!("{ENTRA}/{tenant}/v2.0")];
        preset.audiences = vec![client_id.into()];
        preset
    }

    /// Microsoft Entra ID v2 access tokens of several tenants for a multi-tenant app: keys
    /// from `common`, whose discovery document names the issuer with a literal `{tenantid}`.
    /// The rule: the token's `iss` must be `https://login.microsoftonline.com/{tid}/v2.0` for
    /// its own `tid`, and that `tid` one of `tenants` (401 `issuer` otherwise). Pass every
    /// tenant you onboarded; a token of any other tenant is refused on every route.
    pub fn entra_multi_tenant(
        client_id: impl Into<String>,
        tenants: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        let tenants: Vec<String> = tenants.into_iter().map(Into::into).collect();
        let mut preset = Self::new(
            "Microsoft Entra ID (multi-tenant)",
            Keys::Url(format!("{ENTRA}/common/discovery/v2.0/keys")),
        );
        preset.audiences = vec![client_id.into()];
        let rule = move |claims: &Value| {
            let tid = claims.get("tid").and_then(Value::as_str);
            let iss = claims.get("iss").and_then(Value::as_str);
            match (tid, iss) {
                (Some(tid), Some(iss)) => {
                    tenants.iter().any(|t| t == tid) && iss == format!("{ENTRA}/{tid}/v2.0")
                }
                _ => false,
            }
        };
        preset.rules.push((ErrorKind::Issuer, Arc::new(rule)));
        preset
    }

    /// Auth0 access tokens for the API whose Identifier is `audience`, from the tenant (or
    /// custom) domain `domain` (`example.eu.auth0.com`): issuer `https://{domain}/`, trailing
    /// slash included. Accepts `typ: at+jwt` (the API's "RFC 9068" token profile) and `JWT`
    /// (the default "Auth0" profile).
    pub fn auth0(domain: impl Into<String>, audience: impl Into<String>) -> Self {
        let domain = domain.into();
        let mut preset = Self::new(
            "Auth0",
            Keys::Url(format!("https://{domain}/.well-known/jwks.json")),
        );
        preset.issuers = vec![format!("https://{domain}/")];
        preset.audiences = vec![audience.into()];
        preset.token_types = vec!["at+jwt", "JWT"];
        preset
    }

    /// Okta access tokens of a custom authorization server, `issuer` =
    /// `https://{domain}/oauth2/{server-id}` (`.../oauth2/default` for the default one), for
    /// `audience` (`api://default` unless changed).
    pub fn okta(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        let issuer = issuer.into();
        let mut preset = Self::new(
            "Okta",
            Keys::Url(format!("{}/v1/keys", issuer.trim_end_matches('/'))),
        );
        preset.issuers = vec![issuer];
        preset.audiences = vec![audience.into()];
        preset
    }

    /// Okta access tokens of the org authorization server of `domain` (`example.okta.com`):
    /// issuer `https://{domain}`. The org server mints tokens for Okta's own APIs; prefer a
    /// custom authorization server ([`okta`](Self::okta)) for yours.
    pub fn okta_org(domain: impl Into<String>, audience: impl Into<String>) -> Self {
        let domain = domain.into();
        let mut preset = Self::new(
            "Okta (org)",
            Keys::Url(format!("https://{domain}/oauth2/v1/keys")),
        );
        preset.issuers = vec![format!("https://{domain}")];
        preset.audiences = vec![audience.into()];
        preset
    }

    /// AWS Cognito user-pool access tokens for the app client `client_id`. They carry no `aud`
    /// (the validator names none, so a token with one, such as an ID token, is refused); the
    /// rules require `client_id` = `client_id` (401 `audience` otherwise) and `token_use` =
    /// `access` (401 `token_type`).
    pub fn cognito(
        region: impl Into<String>,
        user_pool_id: impl Into<String>,
        client_id: impl Into<String>,
    ) -> Self {
        let issuer = format!(
            "https://cognito-idp.{}.amazonaws.com/{}",
            region.into(),
            user_pool_id.into()
        );
        let mut preset = Self::new(
            "AWS Cognito",
            Keys::Url(format!("{issuer}/.well-known/jwks.json")),
        );
        preset.issuers = vec![issuer];
        preset.rules = vec![
            equals(ErrorKind::Audience, "client_id", client_id.into()),
            equals(ErrorKind::TokenType, "token_use", "access".to_owned()),
        ];
        preset
    }

    /// Keycloak access tokens of `realm` on `base` (`https://sso.example.com`, with `/auth`
    /// before Keycloak 17): issuer `{base}/realms/{realm}`, `aud` = `audience` (add an Audience
    /// mapper; the default is `account`), and the payload's `typ` = `Bearer`, which keeps the
    /// realm's ID and refresh tokens out (401 `token_type`).
    pub fn keycloak(
        base: impl Into<String>,
        realm: impl Into<String>,
        audience: impl Into<String>,
    ) -> Self {
        let issuer = format!(
            "{}/realms/{}",
            base.into().trim_end_matches('/'),
            realm.into()
        );
        let mut preset = Self::new(
            "Keycloak",
            Keys::Url(format!("{issuer}/protocol/openid-connect/certs")),
        );
        preset.issuers = vec![issuer];
        preset.audiences = vec![audience.into()];
        preset.rules = vec![equals(ErrorKind::TokenType, "typ", "Bearer".to_owned())];
        preset
    }

    /// Any RFC 9068 authorization server: keys by discovery from `issuer` (which the
    /// validator then requires), `aud` = `audience`, `typ` = `at+jwt` only (§4), RS256 (the
    /// one algorithm §2.1 requires; add others with [`algorithms`](Self::algorithms)).
    pub fn rfc9068(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        let mut preset = Self::new("RFC 9068", Keys::Discover(issuer.into()));
        preset.audiences = vec![audience.into()];
        preset.token_types = vec!["at+jwt"];
        preset
    }

    /// Replaces the preset's algorithms (RS256 for every preset).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Fetches the keys from `url` instead of the provider's own JWKS URL (a mirror, a local
    /// provider in tests); every rule stays the provider's.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.keys = Keys::Url(url.into());
        self
    }

    /// Adjusts the key set's builder before it is built: extra root certificates, an HTTP
    /// client, the cache's bounds ([`RemoteKeySetBuilder`]).
    pub fn remote(
        mut self,
        tweak: impl FnOnce(RemoteKeySetBuilder) -> RemoteKeySetBuilder + Send + 'static,
    ) -> Self {
        self.tweak = Some(Box::new(tweak));
        self
    }

    /// Fetches the provider's keys (and discovers them first for [`rfc9068`](Self::rfc9068)).
    ///
    /// # Errors
    /// What [`RemoteKeySetBuilder::build`] returns.
    pub async fn connect(self) -> Result<Connected, Error> {
        let builder = match &self.keys {
            Keys::Url(url) => RemoteKeySet::from_url(url.clone()),
            Keys::Discover(issuer) => RemoteKeySet::discover(issuer.clone()),
        };
        let builder = builder.algorithms(self.algorithms.iter().copied());
        let builder = match self.tweak {
            Some(tweak) => tweak(builder),
            None => builder,
        };
        let keys = builder.build().await?;
        tracing::info!(target: "keycard_jwks", provider = self.name, url = %keys.jwks_uri(), "provider preset connected");
        Ok(Connected {
            keys,
            issuers: self.issuers,
            audiences: self.audiences,
            token_types: self.token_types,
            rules: self.rules,
        })
    }
}

/// A [`Provider`] with its keys: the validator and the rules for a whole authorizer.
pub struct Connected {
    keys: RemoteKeySet,
    issuers: Vec<String>,
    audiences: Vec<String>,
    token_types: Vec<&'static str>,
    rules: Vec<TokenRule>,
}

impl fmt::Debug for Connected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connected")
            .field("keys", &self.keys)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("token_types", &self.token_types)
            .field("rules", &self.rules.len())
            .finish()
    }
}

impl Connected {
    /// The provider's key set.
    pub fn keys(&self) -> &RemoteKeySet {
        &self.keys
    }

    /// A validator builder with the provider's issuers, audience and token types, to add
    /// your own rules (`require_scope`, `leeway`, ...).
    pub fn validator_builder(&self) -> ValidatorBuilder {
        let mut builder = Validator::builder_with_remote(&self.keys);
        for issuer in &self.issuers {
            builder = builder.issuer(issuer.clone());
        }
        for audience in &self.audiences {
            builder = builder.audience(audience.clone());
        }
        for typ in &self.token_types {
            builder = builder.token_type(*typ);
        }
        builder
    }

    /// The validator with the provider's rules.
    ///
    /// # Errors
    /// What [`ValidatorBuilder::build`] returns.
    pub fn validator(&self) -> Result<Validator, keycard::Error> {
        self.validator_builder().build()
    }

    /// The claim rules a validator cannot express, for every route of the authorizer
    /// (`keycard_http::AuthorizerBuilder::rules`): empty for most presets.
    pub fn rules(&self) -> Vec<TokenRule> {
        self.rules.clone()
    }
}
