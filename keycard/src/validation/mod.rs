//! Validation: the [`Validator`] and its rules, from the token's bytes to checked claims, and
//! the resource-server checks that run after the registered claims: revocation lookup through
//! the [`RevocationList`] trait, scopes, and OpenID Connect ID tokens.
//!
//! This layer reads tokens; it never mints them and never writes to a store. The lifecycle
//! (issuer, refresh families: the `keycard-lifecycle` crate) builds on it through its public API.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::error::Error;
use crate::token::claims::Registered;

mod cache;
mod oidc;
mod revocation;
pub mod scope;
mod validator;

pub use revocation::RevocationList;
pub use validator::{DangerousOptions, Validator, ValidatorBuilder};

/// The validator steps that run after the registered-claim checks: revocation, scopes, and the
/// OpenID Connect rules. All empty by default, and then free.
#[derive(Debug, Default)]
pub(crate) struct Checks {
    pub(crate) revocations: Option<Arc<dyn RevocationList>>,
    pub(crate) scopes: Vec<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) max_age: Option<Duration>,
}

impl Checks {
    /// Runs the configured checks in order: revoked first (nothing else matters then), then
    /// scopes, then the ID token rules.
    #[inline]
    pub(crate) fn check(
        &self,
        claims: &Registered<'_>,
        now: impl FnOnce() -> OffsetDateTime,
        leeway: Duration,
    ) -> Result<(), Error> {
        if let Some(store) = &self.revocations {
            revocation::check(&**store, claims)?;
        }
        if !self.scopes.is_empty() {
            scope::check(&self.scopes, claims)?;
        }
        if self.client_id.is_some() || self.max_age.is_some() {
            oidc::check(self, claims, now(), leeway)?;
        }
        Ok(())
    }

    /// Refuses configurations that can never pass.
    pub(crate) fn validate(&self, has_issuer: bool) -> Result<(), Error> {
        if let Some(bad) = self.scopes.iter().find(|s| s.is_empty() || s.contains(' ')) {
            return Err(Error::configuration(format!(
                "required scope `{bad}` can never match: a scope is one non-empty word \
                 (RFC 6749 §3.3); call `require_scope` once per scope"
            )));
        }
        if self.client_id.as_deref() == Some("") {
            return Err(Error::configuration("an empty client id can never match"));
        }
        if self.client_id.is_some() && !has_issuer {
            return Err(Error::configuration(
                "an ID token validator needs the expected `issuer` \
                 (OpenID Connect Core §3.1.3.7, step 2)",
            ));
        }
        if self.max_age.is_some_and(Duration::is_negative) {
            return Err(Error::configuration("max_age must not be negative"));
        }
        Ok(())
    }
}
