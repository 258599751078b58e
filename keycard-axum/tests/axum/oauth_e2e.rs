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

/// Issue 19's rotation under traffic, on one real redis-server: two instances share the key
/// ring (`RedisOAuthStore`) and the families and revocations (`keycard_redis::RedisStore`); a
/// keycard-jwks resource server on the shared clock verifies every token as it is minted, and
/// the previous round's tokens again after each rotation. Keys rotate three times: no valid
/// token is refused. Then, once the first key's grace is over (its last token expired, plus the
/// JWKS max-age), the ring stops publishing it, the resource server refetches, and a token it
/// signed is refused for its key (`UnknownKeyId`), while a retired key still published refuses
/// only for expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_rotations_on_redis_refuse_no_valid_token_and_drop_the_first_key_after_its_grace() {
    use keycard::ErrorKind;
    use keycard_oauth::RedisOAuthStore;
    use keycard_redis::{RedisConfig, RedisStore};
    use keycard_test::{RedisServer, TestClock};
    use serde_json::Value;

    let Some(redis) = RedisServer::start() else {
        return;
    };
    let clock = TestClock::new();
    let (secret, hash) = SecretHash::generate().unwrap();
    let listeners = [
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    ];
    let urls: Vec<String> = listeners
        .iter()
        .map(|l| format!("http://{}", l.local_addr().unwrap()))
        .collect();
    let issuer = urls[0].clone();
    let mut services = Vec::new();
    for listener in listeners {
        // Each instance has its own connections to the one Redis.
        let ring = Arc::new(
            RedisOAuthStore::connect(&redis.url(), "oauth:")
                .await
                .unwrap(),
        );
        let store = Arc::new(
            RedisStore::connect(RedisConfig::new(redis.url()).clock(clock.clone()))
                .await
                .unwrap(),
        );
        let service = TokenService::builder(
            issuer.clone(),
            EcdsaPrivateKey::generate(Algorithm::ES256)
                .unwrap()
                .with_key_id("first"),
        )
        .audience("api")
        .clients(
            StaticClients::new().with(
                Client::confidential("service", AuthMethod::ClientSecretBasic, hash.clone())
                    .grant(GrantType::ClientCredentials),
            ),
        )
        .key_ring(ring)
        .families(store.clone())
        .revocations(store)
        .clock(clock.clone())
        .build()
        .unwrap();
        let router = keycard_axum::oauth::router(service.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        services.push(service);
    }
    // Instance A stores its ring in Redis; B adopts it.
    services[0].sync_keys().await.unwrap();
    services[1].sync_keys().await.unwrap();

    // The resource server: keycard-jwks over discovery, refreshed explicitly on the clock.
    let keys = RemoteKeySet::discover(issuer.clone())
        .algorithms([Algorithm::ES256])
        .allow_http()
        .clock(clock.clone())
        .no_background_refresh()
        .await
        .unwrap();
    let validator = Validator::builder_with_remote(&keys)
        .issuer(issuer.clone())
        .audience("api")
        .token_type("at+jwt")
        .clock(clock.clone())
        .build()
        .unwrap();
    let app = Router::new().route(
        "/orders",
        get(|Verified(_): Verified<Claims>| async { "orders" })
            .layer(Authorizer::new(validator.clone()).layer()),
    );
    let orders = format!("{}/orders", crate::serve(app).await);
    let status = |token: String| {
        let orders = orders.clone();
        async move {
            crate::get(&orders, &[&format!("Bearer {token}")])
                .await
                .status
        }
    };

    let http = reqwest::Client::new();
    let mint = |url: String| {
        let http = http.clone();
        let secret = secret.clone();
        async move {
            let reply: Value = http
                .post(format!("{url}/token"))
                .basic_auth("service", Some(&secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials")
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            reply["access_token"].as_str().unwrap().to_owned()
        }
    };
    let kid = |token: &str| {
        keycard::unverified::decode_header(token)
            .unwrap()
            .key_id()
            .unwrap_or_default()
            .to_owned()
    };
    let (mut minted, mut verified, mut refused) = (0, 0, 0);
    let mut kids = std::collections::BTreeSet::new();
    let mut previous: Vec<String> = Vec::new();
    let (mut first_key_token, mut second_key_token) = (None, None);
    for round in 0..4 {
        // The previous round's tokens, signed by the key that has just retired: still valid.
        for token in &previous {
            match status(token.clone()).await {
                200 => verified += 1,
                _ => refused += 1,
            }
        }
        let mut this_round = Vec::new();
        for url in &urls {
            for _ in 0..5 {
                let token = mint(url.clone()).await;
                kids.insert(kid(&token));
                minted += 1;
                match status(token.clone()).await {
                    200 => verified += 1,
                    _ => refused += 1,
                }
                this_round.push(token);
            }
        }
        match round {
            0 => first_key_token = Some(this_round[0].clone()),
            1 => second_key_token = Some(this_round[0].clone()),
            _ => {}
        }
        previous = this_round;
        if round == 3 {
            break;
        }
        // One publish-ahead later (max-age + 1 min) the resource server has refreshed once,
        // and instance A rotates; B follows on its next sync, both through Redis.
        clock.advance(time::Duration::minutes(6));
        keys.refresh().await.unwrap();
        assert!(services[0].rotate_keys().await.unwrap(), "round {round}");
        services[1].sync_keys().await.unwrap();
    }
    eprintln!(
        "evidence (redis): minted {minted} tokens under {} keys on 2 instances; \
         {verified} verifications accepted, {refused} refused",
        kids.len()
    );
    assert_eq!((minted, verified, refused, kids.len()), (40, 70, 0, 4));
    assert_eq!(keys.stats().unknown_kid_refetches, 0);
    // The ring the instances shared is the one in Redis.
    let stored = redis.query(&["EXISTS", "oauth:keyring:document"]).unwrap();
    assert_eq!(stored.as_deref(), Some("1"));

    // The first key retired at +6 min; it stays published for the access lifetime (15 min),
    // the leeway (5 min) and the JWKS max-age (5 min): until +31 min. The clock is at +18 min.
    let published = |url: String| {
        let http = http.clone();
        async move {
            let set: Value = http
                .get(format!("{url}/jwks.json"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            set["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    clock.advance(time::Duration::minutes(13) - time::Duration::seconds(1));
    for url in &urls {
        assert!(published(url.clone()).await.contains(&"first".to_owned()));
    }
    clock.advance(time::Duration::seconds(1));
    for url in &urls {
        let kids = published(url.clone()).await;
        assert!(!kids.contains(&"first".to_owned()), "{kids:?}");
    }
    // The resource server refetches: the first key's token is refused for its key.
    keys.refresh().await.unwrap();
    let first_key_token = first_key_token.unwrap();
    assert_eq!(kid(&first_key_token), "first");
    assert_eq!(status(first_key_token.clone()).await, 401);
    let err = validator.verify::<Claims>(&first_key_token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKeyId, "{err}");
    // A token of the second key (retired at +12 min, still published until +37 min) is refused
    // only because it has expired; a fresh token of the current key is accepted.
    let second_key_token = second_key_token.unwrap();
    let second_kid = kid(&second_key_token);
    assert_ne!(second_kid, "first");
    assert!(published(urls[0].clone()).await.contains(&second_kid));
    assert_eq!(status(second_key_token.clone()).await, 401);
    let err = validator.verify::<Claims>(&second_key_token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired, "{err}");
    let fresh = mint(urls[1].clone()).await;
    assert_eq!(status(fresh).await, 200);
    eprintln!("evidence (redis): the first key unpublished at +31 min, its token refused (401, UnknownKeyId)");
}
