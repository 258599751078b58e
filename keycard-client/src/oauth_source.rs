//! A [`TokenSource`] whose refresh is a [`TokenEndpoint`] grant, with the persistence hook:
//! every new [`TokenSet`] is handed to the application before its access token is used, and a
//! saved set resumes without a refresh while it is valid.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use crate::machine::BoxError;
use crate::{Lease, OAuthError, TokenEndpoint, TokenSet, TokenSource, TokenSourceBuilder};

type Persist = Arc<
    dyn Fn(TokenSet) -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>> + Send + Sync,
>;
type Tune = Box<dyn FnOnce(TokenSourceBuilder) -> TokenSourceBuilder + Send>;

/// What the source asks the token endpoint for.
#[derive(Clone)]
#[non_exhaustive]
pub enum Grant {
    /// The `refresh_token` grant (RFC 6749 §6), from this token set: a saved one (its access
    /// token is used while valid), or [`TokenSet::from_refresh_token`] after sign-in. A rotated
    /// refresh token replaces the old one.
    RefreshToken(TokenSet),
    /// The `client_credentials` grant (RFC 6749 §4.4), for this scope.
    ClientCredentials {
        /// The scope to ask for; `None`: the server's default.
        scope: Option<String>,
    },
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::RefreshToken(set) => f.debug_tuple("RefreshToken").field(set).finish(),
            Grant::ClientCredentials { scope } => f
                .debug_struct("ClientCredentials")
                .field("scope", scope)
                .finish(),
        }
    }
}

/// Configures a [`TokenSource`] over a [`TokenEndpoint`]; from
/// [`TokenEndpoint::token_source`], finished with [`build`](Self::build).
#[must_use = "call `build` to get a TokenSource"]
pub struct OAuthSourceBuilder {
    endpoint: TokenEndpoint,
    grant: Grant,
    persist: Option<Persist>,
    tune: Option<Tune>,
}

impl fmt::Debug for OAuthSourceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthSourceBuilder")
            .field("endpoint", &self.endpoint)
            .field("grant", &self.grant)
            .field("persists", &self.persist.is_some())
            .finish_non_exhaustive()
    }
}

impl TokenEndpoint {
    /// A [`TokenSource`] that obtains its tokens from this endpoint by `grant`, with the
    /// endpoint's clock and the source's defaults (margin, back-off). A dead grant
    /// ([`OAuthError::SignInAgain`]) or a refused request is never retried: every caller
    /// receives it, and the application builds a new source after the user signs in again.
    /// A 5xx, a timeout or an unreachable endpoint is retried after the jittered back-off.
    pub fn token_source(&self, grant: Grant) -> OAuthSourceBuilder {
        OAuthSourceBuilder {
            endpoint: self.clone(),
            grant,
            persist: None,
            tune: None,
        }
    }
}

impl OAuthSourceBuilder {
    /// Hands every new token set to `save` before its access token is used (and before any
    /// caller receives it): save it in the OS keychain, a database row, a file. When `save`
    /// fails, the refresh fails ([`OAuthError::Persist`], retried after the back-off); the
    /// new refresh token is kept in memory for that retry, since the old one may be spent.
    pub fn persist<F, Fut, E>(mut self, save: F) -> Self
    where
        F: Fn(TokenSet) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError>,
    {
        self.persist = Some(Arc::new(move |set| {
            let future = save(set);
            Box::pin(async move { future.await.map_err(Into::into) })
        }));
        self
    }

    /// Adjusts the underlying [`TokenSourceBuilder`] (margin, back-off, clock).
    pub fn configure(
        mut self,
        tune: impl FnOnce(TokenSourceBuilder) -> TokenSourceBuilder + Send + 'static,
    ) -> Self {
        self.tune = Some(Box::new(tune));
        self
    }

    /// The source. A [`Grant::RefreshToken`] whose access token is still valid resumes
    /// with it: no refresh until its margin.
    pub fn build(self) -> TokenSource {
        let OAuthSourceBuilder {
            endpoint,
            grant,
            persist,
            tune,
        } = self;
        let (resume, refresh_token, scope) = match &grant {
            Grant::RefreshToken(set) => (
                Some(set.clone()),
                set.refresh_token().map(str::to_owned),
                None,
            ),
            Grant::ClientCredentials { scope } => (None, None, scope.clone()),
        };
        let uses_refresh_token = matches!(grant, Grant::RefreshToken(_));
        let refresh_token = Arc::new(Mutex::new(refresh_token));
        let clock = Arc::clone(endpoint.clock());
        let mut builder = TokenSource::builder(move || {
            let (endpoint, refresh_token) = (endpoint.clone(), Arc::clone(&refresh_token));
            let (persist, scope) = (persist.clone(), scope.clone());
            async move {
                let previous = lock(&refresh_token).clone();
                let set = if uses_refresh_token {
                    let current = previous.as_deref().ok_or(OAuthError::NoRefreshToken)?;
                    endpoint.refresh(current).await?
                } else {
                    endpoint.client_credentials(scope.as_deref()).await?
                };
                let set = set.keeping(previous);
                // The old refresh token may be spent (rotation): the new one replaces it at
                // once, whether or not the save below succeeds.
                lock(&refresh_token).clone_from(&set.refresh_token().map(str::to_owned));
                if let Some(persist) = &persist {
                    persist(set.clone()).await.map_err(OAuthError::Persist)?;
                }
                // The lifetime counts from when the request was sent, not from its answer.
                let remaining = set.expires_at() - endpoint.clock().now();
                Ok::<_, OAuthError>(Lease::new(set.access_token(), remaining))
            }
        })
        .clock(Arc::clone(&clock));
        if let Some(set) = resume.filter(|set| set.is_valid_at(clock.now())) {
            builder = builder.resume(
                Lease::new(set.access_token(), set.expires_in()),
                set.obtained_at(),
            );
        }
        if let Some(tune) = tune {
            builder = tune(builder);
        }
        builder.build()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // One assignment under the lock: consistent after any panic.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
