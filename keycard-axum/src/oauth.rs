//! Mounts keycard-oauth's [`TokenService`] as an axum [`Router`]: every endpoint at its path
//! below the issuer, each request body read up to [`MAX_BODY`] bytes (a longer one is a 413
//! `invalid_request`, read no further).

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use keycard_oauth::{Endpoint, TokenService, MAX_BODY};

/// The service's endpoints (token, revocation, introspection, metadata, JWK Set) as a router, to
/// merge into your application's at the root of the issuer URL.
///
/// ```
/// use keycard::{Algorithm, EcdsaPrivateKey};
/// use keycard_oauth::TokenService;
///
/// # fn main() -> Result<(), keycard::Error> {
/// let key = EcdsaPrivateKey::generate(Algorithm::ES256)?.with_key_id("k1");
/// let service = TokenService::builder("https://auth.example.com", key).audience("api").build()?;
/// let app: axum::Router = axum::Router::new().merge(keycard_axum::oauth::router(service));
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
pub fn router(service: TokenService) -> Router {
    let mut router = Router::new();
    for endpoint in Endpoint::ALL {
        router = router.route(
            endpoint.path(),
            any(
                move |State(service): State<TokenService>, request: Request| async move {
                    handle(&service, endpoint, request).await
                },
            ),
        );
    }
    router.with_state(service)
}

async fn handle(service: &TokenService, endpoint: Endpoint, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return service.body_too_large().map(Body::from);
    };
    service
        .handle(endpoint, Request::from_parts(parts, body))
        .await
        .map(Body::from)
}
