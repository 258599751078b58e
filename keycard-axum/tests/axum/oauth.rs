//! keycard-oauth's token service behind `keycard_axum::oauth::router` on 127.0.0.1, and a
//! resource server on keycard-axum that knows nothing but the issuer URL (discovery, JWKS) and
//! shares the revocation store, as instances share it in Redis.

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use keycard::{Algorithm, Claims, EcdsaPrivateKey, Validator};
use keycard_axum::{Authorizer, Verified};
use keycard_jwks::{RemoteKeySet, ValidatorExt};
use keycard_lifecycle::MemoryRevocationStore;
use keycard_oauth::{
    AuthMethod, AuthorizationRequest, Client, GrantType, SecretHash, StaticClients, TokenService,
};
use serde_json::Value;

use crate::get as fetch;

struct Setup {
    issuer: String,
    api: String,
    secret: String,
    service: TokenService,
    http: reqwest::Client,
}

async fn setup() -> Setup {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let (secret, hash) = SecretHash::generate().unwrap();
    let clients = StaticClients::new()
        .with(
            Client::confidential("service", AuthMethod::ClientSecretBasic, hash.clone())
                .grant(GrantType::ClientCredentials)
                .scope("orders:read"),
        )
        .with(Client::confidential("api", AuthMethod::ClientSecretPost, hash).scope("introspect"))
        .with(
            Client::public("app")
                .grant(GrantType::RefreshToken)
                .grant(GrantType::AuthorizationCode)
                .redirect_uri("http://127.0.0.1/callback")
                .scope("orders:read")
                .scope("profile"),
        );
    let revocations = Arc::new(MemoryRevocationStore::new());
    let key = EcdsaPrivateKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("k1");
    let service = TokenService::builder(issuer.clone(), key)
        .audience("api")
        .clients(clients)
        .revocations(revocations.clone())
        .build()
        .unwrap();
    let router = keycard_axum::oauth::router(service.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    // The resource server: the issuer URL, its audience, RFC 9068's `typ`; revocations shared.
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
    let api = crate::serve(app).await;
    Setup {
        issuer,
        api,
        secret,
        service,
        http: reqwest::Client::new(),
    }
}

impl Setup {
    async fn form(&self, path: &str, basic: Option<(&str, &str)>, body: &str) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.issuer))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn introspect(&self, token: &str) -> bool {
        let body = format!("token={token}&client_id=api&client_secret={}", self.secret);
        let (status, answer) = self.form("/introspect", None, &body).await;
        assert_eq!(status, 200);
        answer["active"].as_bool().unwrap()
    }

    async fn orders(&self, token: &str) -> u16 {
        fetch(
            &format!("{}/orders", self.api),
            &[&format!("Bearer {token}")],
        )
        .await
        .status
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discovering_resource_server_accepts_the_tokens_until_they_are_revoked() {
    let s = setup().await;

    // client_credentials, then the API, introspection agreeing.
    let (status, reply) = s
        .form(
            "/token",
            Some(("service", &s.secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let service_token = reply["access_token"].as_str().unwrap().to_owned();
    assert_eq!(s.orders(&service_token).await, 200);
    assert!(s.introspect(&service_token).await);

    // The login page issues a code for the public client, which redeems it with PKCE.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; // RFC 7636 Appendix B
    let request = AuthorizationRequest::new(
        "app",
        "http://127.0.0.1/callback",
        challenge,
        "S256",
        "alice",
    );
    let code = s.service.issue_code(&request).await.unwrap();
    let (status, login) = s
        .form(
            "/token",
            None,
            &format!(
                "grant_type=authorization_code&client_id=app&code={code}\
                 &redirect_uri=http://127.0.0.1/callback&code_verifier={verifier}"
            ),
        )
        .await;
    assert_eq!(status, 200, "{login}");
    let first_access = login["access_token"].as_str().unwrap().to_owned();
    assert_eq!(s.orders(&first_access).await, 200);
    assert!(s.introspect(&first_access).await);

    // A refresh by the public client, narrowing the scope.
    let (status, refreshed) = s
        .form(
            "/token",
            None,
            &format!(
                "grant_type=refresh_token&client_id=app&scope=orders:read&refresh_token={}",
                login["refresh_token"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(refreshed["scope"], "orders:read");
    let access = refreshed["access_token"].as_str().unwrap().to_owned();
    let refresh = refreshed["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(s.orders(&access).await, 200);
    assert!(s.introspect(&access).await);

    // Sign-out: the refresh token's revocation ends the session, its access tokens included.
    let (status, _) = s
        .form("/revoke", None, &format!("token={refresh}&client_id=app"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(s.orders(&access).await, 401);
    assert!(!s.introspect(&access).await);
    assert_eq!(
        s.orders(&first_access).await,
        401,
        "the code's session ended"
    );
    let (status, reply) = s
        .form(
            "/token",
            None,
            &format!("grant_type=refresh_token&client_id=app&refresh_token={refresh}"),
        )
        .await;
    assert_eq!(
        (status, reply["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // The service's own token, revoked by `jti`.
    let (status, _) = s
        .form(
            "/revoke",
            Some(("service", &s.secret)),
            &format!("token={service_token}"),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(s.orders(&service_token).await, 401);
    assert!(!s.introspect(&service_token).await);
}

#[tokio::test]
async fn an_oversized_body_is_413_and_a_wrong_basic_secret_401_with_its_challenge() {
    let s = setup().await;
    let big = format!("grant_type=client_credentials&x={}", "a".repeat(20 * 1024));
    let (status, reply) = s.form("/token", Some(("service", &s.secret)), &big).await;
    assert_eq!(
        (status, reply["error"].as_str()),
        (413, Some("invalid_request"))
    );

    let response = s
        .http
        .post(format!("{}/token", s.issuer))
        .basic_auth(
            "service",
            Some("a-wrong-secret-that-is-long-enough-to-be-one"),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic "));
    assert_eq!(response.headers()["cache-control"], "no-store");
}

/// Python's authlib, an OAuth client library written against the RFCs by others, runs
/// client_credentials, introspection, code + PKCE, refresh and revocation against the service.
/// Skipped (with a note) where `python3` with authlib and requests is not installed;
/// `KEYCARD_REQUIRE_AUTHLIB=1` (set by `.ci/run`) turns the skip into a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_client_library_interoperates() {
    let has_authlib = std::process::Command::new("python3")
        .args(["-c", "import authlib, requests"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_authlib {
        assert!(
            std::env::var_os("KEYCARD_REQUIRE_AUTHLIB").is_none_or(|v| v.is_empty() || v == "0"),
            "KEYCARD_REQUIRE_AUTHLIB is set but python3 cannot import authlib and requests"
        );
        eprintln!("SKIPPED: `pip install authlib requests` to run the authlib interop test");
        return;
    }
    let s = setup().await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let request = AuthorizationRequest::new(
        "app",
        "http://127.0.0.1/callback",
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "S256",
        "alice",
    );
    let code = s.service.issue_code(&request).await.unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/authlib_client.py"
    );
    let mut command = std::process::Command::new("python3");
    command
        .arg(script)
        .env("ISSUER", &s.issuer)
        .env("SECRET", &s.secret)
        .env("CODE", code)
        .env("VERIFIER", verifier)
        .env("REDIRECT", "http://127.0.0.1/callback");
    // The server runs on this runtime's other worker meanwhile.
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Two instances behind one issuer share the key ring (and the other stores); a resource server
/// discovers the keys once and refreshes them once per cache lifetime, on a clock both sides
/// share. Keys rotate three times while both instances mint: no valid token is refused, because
/// every next key is published a cache lifetime before it signs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_rotations_across_two_instances_refuse_no_valid_token() {
    use keycard_lifecycle::MemoryFamilyStore;
    use keycard_oauth::MemoryKeyRingStore;
    use keycard_test::TestClock;

    let clock = TestClock::new();
    let ring = Arc::new(MemoryKeyRingStore::new());
    let families = Arc::new(MemoryFamilyStore::new());
    let revocations = Arc::new(MemoryRevocationStore::new());
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
        .key_ring(ring.clone())
        .families(families.clone())
        .revocations(revocations.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
        let router = keycard_axum::oauth::router(service.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        services.push(service);
    }
    // Instance A's first request stores its ring; B adopts it on its first.
    services[0].sync_keys().await.unwrap();
    services[1].sync_keys().await.unwrap();

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
    let http = reqwest::Client::new();
    let (mut minted, mut refused, mut kids) = (0, 0, std::collections::BTreeSet::new());
    for round in 0..4 {
        for url in &urls {
            for _ in 0..5 {
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
                let token = reply["access_token"].as_str().unwrap();
                let header = keycard::unverified::decode_header(token).unwrap();
                kids.insert(header.key_id().unwrap_or_default().to_owned());
                minted += 1;
                if validator.verify::<Claims>(token).is_err() {
                    refused += 1;
                }
            }
        }
        if round == 3 {
            break;
        }
        // One publish-ahead later (max-age + 1 min): the resource server has refreshed its
        // cache once meanwhile, and instance A rotates; B follows on its next sync.
        clock.advance(time::Duration::minutes(6));
        keys.refresh().await.unwrap();
        assert!(services[0].rotate_keys().await.unwrap(), "round {round}");
        services[1].sync_keys().await.unwrap();
    }
    eprintln!(
        "minted {minted} tokens under {} keys, {refused} refused",
        kids.len()
    );
    assert_eq!((minted, refused, kids.len()), (40, 0, 4));
    // Every new key was in the cache before it signed: no refetch for an unknown `kid`.
    assert_eq!(keys.stats().unknown_kid_refetches, 0);
}
