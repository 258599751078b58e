//! End to end: keycard-client (discovery, grants, `TokenSource`, `BearerLayer` over a hyper
//! client) against keycard-oauth's token service behind `keycard_axum::oauth::router`, and a
//! keycard-axum resource server that knows only the issuer URL; all on 127.0.0.1.

use std::error::Error as StdError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::Request;
use axum::routing::get;
use axum::Router;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use keycard::{Algorithm, Claims, EcdsaPrivateKey, Validator};
use keycard_axum::{Authorizer, Verified};
use keycard_client::{BearerLayer, Grant, OAuthError, TokenEndpoint, TokenSet};
use keycard_jwks::{RemoteKeySet, ValidatorExt};
use keycard_lifecycle::MemoryRevocationStore;
use keycard_oauth::{AuthMethod, Client, GrantType, SecretHash, StaticClients, TokenService};
use tower::util::MapRequestLayer;
use tower::{Layer, ServiceExt};

type BoxError = Box<dyn StdError + Send + Sync>;

/// One GET of `url` through `client`: its status, or the layer's error.
async fn call<S, B>(client: &S, url: &str) -> Result<u16, BoxError>
where
    S: tower::Service<Request<String>, Response = axum::http::Response<B>, Error = BoxError>
        + Clone,
{
    let request = Request::get(url).body(String::new()).unwrap();
    let response = client.clone().oneshot(request).await?;
    Ok(response.status().as_u16())
}

/// Issue 20: the client runs against the token service's endpoints. Discovery finds the token
/// endpoint; `client_credentials` with `client_secret_basic` feeds a `TokenSource` whose
/// `BearerLayer` calls the resource server; then a first-party sign-in's refresh token feeds
/// another, until its revocation (RFC 7009) makes the next refresh a typed `SignInAgain`, for
/// exactly one token-endpoint request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_runs_against_the_token_service_end_to_end() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let (secret, hash) = SecretHash::generate().unwrap();
    let revocations = Arc::new(MemoryRevocationStore::new());
    let service = TokenService::builder(
        issuer.clone(),
        EcdsaPrivateKey::generate(Algorithm::ES256)
            .unwrap()
            .with_key_id("k1"),
    )
    .audience("api")
    .clients(
        StaticClients::new().with(
            Client::confidential("service", AuthMethod::ClientSecretBasic, hash)
                .grant(GrantType::ClientCredentials)
                .grant(GrantType::RefreshToken)
                .scope("orders:read"),
        ),
    )
    .revocations(revocations.clone())
    .build()
    .unwrap();
    // Every request to the token endpoint, counted as it arrives.
    let token_requests = Arc::new(AtomicUsize::new(0));
    let counter = token_requests.clone();
    let router = keycard_axum::oauth::router(service.clone()).layer(MapRequestLayer::new(
        move |request: Request<axum::body::Body>| {
            if request.uri().path() == "/token" {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            request
        },
    ));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    // The resource server: the issuer's discovery and JWKS, RFC 9068's `typ`, the revocations.
    let keys = RemoteKeySet::discover(issuer.clone())
        .algorithms([Algorithm::ES256])
        .allow_http()
        .await
        .unwrap();
    let validator = Validator::builder_with_remote(&keys)
        .issuer(issuer.clone())
        .audience("api")
        .token_type("at+jwt")
        .revocations(revocations)
        .build()
        .unwrap();
    let auth = Authorizer::new(validator);
    let app = Router::new().route(
        "/orders",
        get(|Verified(c): Verified<Claims>| async move { c.subject.unwrap_or_default() })
            .layer(auth.require_scope("orders:read")),
    );
    let orders = format!("{}/orders", crate::serve(app).await);

    // The client: the token endpoint by discovery (plain http: loopback only).
    let endpoint = TokenEndpoint::builder("service")
        .client_secret_basic(secret.clone())
        .discover(&issuer)
        .await
        .unwrap();
    assert_eq!(endpoint.url(), format!("{issuer}/token"));
    let hyper = HyperClient::builder(TokioExecutor::new()).build_http::<String>();

    // client_credentials: one token request, then the API through the layer.
    let source = endpoint
        .token_source(Grant::ClientCredentials { scope: None })
        .build();
    let client = BearerLayer::new(source.clone()).layer(hyper.clone());
    assert_eq!(call(&client, &orders).await.unwrap(), 200);
    assert_eq!(call(&client, &orders).await.unwrap(), 200);
    assert_eq!(token_requests.load(Ordering::SeqCst), 1);

    // A first-party sign-in; the client gets its refresh token only.
    let pair = service
        .issue_pair("service", "alice", Some("orders:read"))
        .await
        .unwrap();
    let saved: Arc<Mutex<Option<TokenSet>>> = Arc::default();
    let save = saved.clone();
    let source = endpoint
        .token_source(Grant::RefreshToken(TokenSet::from_refresh_token(
            pair.refresh_token.unwrap(),
        )))
        .persist(move |set| {
            *save.lock().unwrap() = Some(set);
            async { Ok::<_, std::io::Error>(()) }
        })
        .build();
    let client = BearerLayer::new(source.clone()).layer(hyper);
    assert_eq!(call(&client, &orders).await.unwrap(), 200);
    assert_eq!(token_requests.load(Ordering::SeqCst), 2, "one refresh");

    // Sign-out at the revocation endpoint, with the rotated refresh token the client saved.
    let rotated = saved.lock().unwrap().clone().unwrap();
    let status = reqwest::Client::new()
        .post(format!("{issuer}/revoke"))
        .basic_auth("service", Some(&secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={}", rotated.refresh_token().unwrap()))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);

    // The session's access token is refused now (401 invalid_token): the layer invalidates it
    // and refreshes once, and the dead grant reaches the caller typed.
    let before = token_requests.load(Ordering::SeqCst);
    let err = call(&client, &orders).await.unwrap_err();
    let err = err
        .downcast_ref::<keycard::Error>()
        .expect("the layer's error is the source's keycard::Error");
    assert!(
        matches!(OAuthError::of(err), Some(OAuthError::SignInAgain { .. })),
        "{err}"
    );
    // Asked again, the source answers the same without another request.
    let again = source.token().await.unwrap_err();
    assert!(OAuthError::of(&again).is_some_and(OAuthError::is_sign_in_again));
    let spent = token_requests.load(Ordering::SeqCst) - before;
    assert_eq!(spent, 1, "exactly one token request for the dead grant");
    eprintln!(
        "evidence: discovery → client_credentials 200, refresh_token 200, revoked → \
         SignInAgain after {spent} token request ({} in all)",
        token_requests.load(Ordering::SeqCst)
    );
}
