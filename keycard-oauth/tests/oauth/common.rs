//! The fixture: a service with one confidential client of each secret method and one public
//! client, a test clock, and helpers to send form requests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use http::{Request, Response};
use keycard::{Algorithm, EcdsaPrivateKey, Error};
use keycard_lifecycle::{Family, FamilyStore, MemoryFamilyStore, StoreFuture};
use keycard_oauth::{
    AuthMethod, Client, CodeGrant, CodeStore, Endpoint, GrantType, MemoryCodeStore, Redeemed,
    SecretHash, StaticClients, TokenService,
};
use keycard_test::TestClock;
use serde_json::Value;
use time::OffsetDateTime;

pub(crate) const ISSUER: &str = "https://auth.example.com";
pub(crate) const REDIRECT: &str = "https://app.example/callback";

pub(crate) struct Fixture {
    pub(crate) service: TokenService,
    pub(crate) clock: TestClock,
    /// The secret of `basic-client` (client_secret_basic) and `post-client` (client_secret_post).
    pub(crate) secret: String,
    pub(crate) families: Arc<Gated>,
    pub(crate) codes: Arc<GatedCodes>,
}

pub(crate) fn key() -> EcdsaPrivateKey {
    EcdsaPrivateKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("k1")
}

/// The private key of `jwt-client` (private_key_jwt).
pub(crate) fn client_key() -> &'static EcdsaPrivateKey {
    static KEY: std::sync::OnceLock<EcdsaPrivateKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        EcdsaPrivateKey::generate(Algorithm::ES256)
            .unwrap()
            .with_key_id("client-1")
    })
}

pub(crate) fn clients(hash: &SecretHash) -> StaticClients {
    let grants = |c: Client| {
        c.grant(GrantType::ClientCredentials)
            .grant(GrantType::RefreshToken)
            .grant(GrantType::AuthorizationCode)
            .redirect_uri(REDIRECT)
            .scope("read")
            .scope("write")
    };
    StaticClients::new()
        .with(grants(Client::confidential(
            "basic-client",
            AuthMethod::ClientSecretBasic,
            hash.clone(),
        )))
        .with(grants(Client::confidential(
            "post-client",
            AuthMethod::ClientSecretPost,
            hash.clone(),
        )))
        .with(grants(Client::public("public-client")))
        .with(
            Client::private_key_jwt("jwt-client", {
                let mut keys = keycard::KeySet::new();
                keys.insert(client_key().public_key());
                keys
            })
            .grant(GrantType::ClientCredentials)
            .scope("read"),
        )
        .with(
            Client::confidential("cc-only", AuthMethod::ClientSecretBasic, hash.clone())
                .grant(GrantType::ClientCredentials)
                .scope("read"),
        )
}

pub(crate) fn fixture() -> Fixture {
    fixture_with(|b| b)
}

pub(crate) fn fixture_with(
    configure: impl FnOnce(keycard_oauth::TokenServiceBuilder) -> keycard_oauth::TokenServiceBuilder,
) -> Fixture {
    let (secret, hash) = SecretHash::generate().unwrap();
    let clock = TestClock::new();
    let families = Arc::new(Gated::default());
    let codes = Arc::new(GatedCodes::default());
    let builder = TokenService::builder(ISSUER, key())
        .codes(codes.clone())
        .audience("api")
        .clients(clients(&hash))
        .families(families.clone())
        .clock(clock.clone());
    let service = configure(builder).build().unwrap();
    Fixture {
        service,
        clock,
        secret,
        families,
        codes,
    }
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) json: Value,
    pub(crate) response: Response<Bytes>,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
    }

    pub(crate) fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or("")
    }

    pub(crate) fn body(&self) -> String {
        String::from_utf8_lossy(self.response.body()).into_owned()
    }
}

pub(crate) fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

impl Fixture {
    /// POSTs `body` (form-encoded) to `endpoint` with optional `Authorization`.
    pub(crate) async fn post(
        &self,
        endpoint: Endpoint,
        authorization: Option<&str>,
        body: &str,
    ) -> Reply {
        let mut request = Request::post(self.service.url(endpoint))
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let request = request.body(Bytes::from(body.to_owned())).unwrap();
        self.send(endpoint, request).await
    }

    pub(crate) async fn send(&self, endpoint: Endpoint, request: Request<Bytes>) -> Reply {
        let response = self.service.handle(endpoint, request).await;
        let json = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
        Reply {
            status: response.status().as_u16(),
            json,
            response,
        }
    }

    /// The token endpoint as `basic-client`.
    pub(crate) async fn token(&self, body: &str) -> Reply {
        let auth = basic("basic-client", &self.secret);
        self.post(Endpoint::Token, Some(&auth), body).await
    }
}

/// A family store over memory that counts successful rotations (swaps that change the family's
/// `current` refresh token; the issuer's second write, which marks a successor handed out, is
/// not one), can fail on demand, and can
/// hold the first `n` reads at a barrier so that `n` refreshes race on one compare-and-set.
#[derive(Debug, Default)]
pub(crate) struct Gated {
    inner: MemoryFamilyStore,
    pub(crate) rotations: AtomicUsize,
    pub(crate) failing: std::sync::atomic::AtomicBool,
    gate: std::sync::Mutex<Option<(Arc<tokio::sync::Barrier>, usize)>>,
}

impl Gated {
    pub(crate) fn hold_first_reads(&self, n: usize) {
        *self.gate.lock().unwrap() = Some((Arc::new(tokio::sync::Barrier::new(n)), n));
    }

    fn fail(&self) -> Option<Error> {
        self.failing
            .load(Ordering::SeqCst)
            .then(|| Error::store(std::io::Error::other("the test store is down")))
    }
}

impl FamilyStore for Gated {
    fn insert<'a>(
        &'a self,
        id: &'a str,
        family: Family,
        now: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if let Some(e) = self.fail() {
                return Err(e);
            }
            self.inner.insert(id, family, now).await
        })
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Family>> {
        Box::pin(async move {
            if let Some(e) = self.fail() {
                return Err(e);
            }
            let read = self.inner.get(id).await;
            let barrier = {
                let mut gate = self.gate.lock().unwrap();
                match gate.as_mut() {
                    Some((barrier, left)) if *left > 0 => {
                        *left -= 1;
                        Some(Arc::clone(barrier))
                    }
                    _ => None,
                }
            };
            if let Some(barrier) = barrier {
                barrier.wait().await;
            }
            read
        })
    }

    fn compare_and_set<'a>(
        &'a self,
        id: &'a str,
        expected: &'a Family,
        new: Family,
        now: OffsetDateTime,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            if let Some(e) = self.fail() {
                return Err(e);
            }
            let rotates = new.current != expected.current;
            let swapped = self.inner.compare_and_set(id, expected, new, now).await?;
            if swapped && rotates {
                self.rotations.fetch_add(1, Ordering::SeqCst);
            }
            Ok(swapped)
        })
    }

    fn remove<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if let Some(e) = self.fail() {
                return Err(e);
            }
            self.inner.remove(id).await
        })
    }
}

/// A code store over memory whose first `n` redemptions wait at a barrier until all `n` are in
/// flight, so that they race on the one atomic redemption.
#[derive(Debug, Default)]
pub(crate) struct GatedCodes {
    inner: MemoryCodeStore,
    gate: std::sync::Mutex<Option<(Arc<tokio::sync::Barrier>, usize)>>,
}

impl GatedCodes {
    pub(crate) fn hold_first_redemptions(&self, n: usize) {
        *self.gate.lock().unwrap() = Some((Arc::new(tokio::sync::Barrier::new(n)), n));
    }
}

impl CodeStore for GatedCodes {
    fn insert<'a>(
        &'a self,
        key: &'a str,
        grant: CodeGrant,
        keep_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        self.inner.insert(key, grant, keep_until, now)
    }

    fn redeem<'a>(&'a self, key: &'a str, now: OffsetDateTime) -> StoreFuture<'a, Redeemed> {
        Box::pin(async move {
            let barrier = {
                let mut gate = self.gate.lock().unwrap();
                match gate.as_mut() {
                    Some((barrier, left)) if *left > 0 => {
                        *left -= 1;
                        Some(Arc::clone(barrier))
                    }
                    _ => None,
                }
            };
            if let Some(barrier) = barrier {
                barrier.wait().await;
            }
            self.inner.redeem(key, now).await
        })
    }

    fn bind<'a>(&'a self, key: &'a str, refresh_token: String) -> StoreFuture<'a, ()> {
        self.inner.bind(key, refresh_token)
    }
}
