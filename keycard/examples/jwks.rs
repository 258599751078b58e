//! An API service that verifies tokens against its identity provider's JSON Web Key Set: load
//! the set, verify tokens by `kid`, and follow the provider through a key rotation without a
//! restart. The provider lives in this process so the example needs no network; in a real
//! service `fetch_jwks` would be an HTTPS GET of the provider's `jwks_uri`.
//!
//! Run with `cargo run --example jwks`.

use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

use keycard::time::Duration;
use keycard::{Builder, Claims, Ed25519PrivateKey, Error, ErrorKind, KeySet, Signer, Validator};

/// The identity provider: signs tokens with its current key and publishes its public keys.
struct Provider {
    current: Ed25519PrivateKey,
    published: KeySet,
}

impl Provider {
    fn new() -> Result<Self, Error> {
        let current = new_key()?;
        let mut published = KeySet::new();
        published.insert(current.public_key());
        Ok(Provider { current, published })
    }

    fn issue(&self, subject: &str) -> Result<String, Error> {
        Builder::new()
            .issuer("https://idp.example")
            .audience("orders-api")
            .subject(subject)
            .expires_in(Duration::minutes(10))
            .sign(&self.current)
    }

    /// Step 1 of a rotation: publish the next key next to the current one.
    fn publish_next(&mut self) -> Result<Ed25519PrivateKey, Error> {
        let next = new_key()?;
        self.published.insert(next.public_key());
        Ok(next)
    }

    /// Step 2: sign with the next key.
    fn switch_to(&mut self, next: Ed25519PrivateKey) {
        self.current = next;
    }

    /// Step 3, once the old key's tokens have expired: stop publishing it.
    fn retire(&mut self, kid: &str) {
        self.published.remove(kid);
    }

    /// What `GET /.well-known/jwks.json` returns.
    fn jwks(&self) -> String {
        self.published.to_json()
    }
}

/// A key whose `kid` is its RFC 7638 thumbprint.
fn new_key() -> Result<Ed25519PrivateKey, Error> {
    let key = Ed25519PrivateKey::generate()?;
    let kid = key.public_key().to_jwk().thumbprint();
    Ok(key.with_key_id(kid))
}

/// The service side: one validator shared by every request handler.
struct Service {
    validator: Validator,
    provider: Arc<Mutex<Provider>>,
}

impl Service {
    fn start(provider: Arc<Mutex<Provider>>) -> Result<Self, Error> {
        let keys = load_keys(&fetch_jwks(&provider))?;
        let validator = Validator::builder_with_keys(keys)
            .issuer("https://idp.example")
            .audience("orders-api")
            .build()?;
        Ok(Service {
            validator,
            provider,
        })
    }

    /// Verifies a token; when its `kid` is not in the set, fetches the set again once (the
    /// provider may have rotated) and retries. A real service would rate-limit the refetch.
    fn authenticate(&self, token: &str) -> Result<Claims, Error> {
        match self.validator.verify(token) {
            Err(err) if err.kind() == ErrorKind::UnknownKeyId => {
                println!("  unknown kid ({err}): fetching the key set again");
                self.refresh()?;
                self.validator.verify(token)
            }
            result => result,
        }
    }

    /// Replaces the validator's keys; requests being verified meanwhile are not disturbed.
    fn refresh(&self) -> Result<(), Error> {
        let keys = load_keys(&fetch_jwks(&self.provider))?;
        self.validator.replace_keys(keys)?;
        Ok(())
    }
}

fn fetch_jwks(provider: &Mutex<Provider>) -> String {
    provider.lock().map(|p| p.jwks()).unwrap_or_default()
}

/// Reads a JWK Set, logging the keys it had to leave out instead of failing.
fn load_keys(jwks: &str) -> Result<KeySet, Error> {
    let keys = KeySet::from_jwks(jwks)?;
    for skipped in keys.skipped() {
        println!("  {skipped}");
    }
    let kids: Vec<&str> = keys.iter().filter_map(|key| key.key_id()).collect();
    println!("  key set: {kids:?}");
    Ok(keys)
}

fn short(kid: Option<&str>) -> &str {
    kid.map_or("-", |kid| &kid[..8.min(kid.len())])
}

fn main() -> Result<(), Error> {
    let provider = Arc::new(Mutex::new(Provider::new()?));
    println!("service starts and loads the provider's JWKS:");
    let service = Arc::new(Service::start(Arc::clone(&provider))?);

    let old_token = lock(&provider)?.issue("alice")?;
    let claims = service.authenticate(&old_token)?;
    println!("alice's token verifies: sub = {:?}", claims.subject);

    println!("\nthe provider publishes its next key and switches to it:");
    let next = lock(&provider)?.publish_next()?;
    let old_kid = lock(&provider)?.current.key_id().map(str::to_owned);
    lock(&provider)?.switch_to(next);
    let new_token = lock(&provider)?.issue("bob")?;
    println!(
        "  old kid {}…, new kid {}…",
        short(old_kid.as_deref()),
        short(lock(&provider)?.current.key_id())
    );

    // Several request handlers at once; one of them triggers the refresh.
    let handlers: Vec<_> = [old_token.clone(), new_token.clone(), new_token.clone()]
        .into_iter()
        .map(|token| {
            let service = Arc::clone(&service);
            thread::spawn(move || service.authenticate(&token).map(|c| c.subject))
        })
        .collect();
    for handler in handlers {
        let subject = handler.join().map_err(|_| Error::signing(Poisoned))??;
        println!("  verified a token of {subject:?} during the rotation");
    }

    println!("\nthe old key's tokens have expired; the provider retires it:");
    if let Some(kid) = &old_kid {
        lock(&provider)?.retire(kid);
    }
    service.refresh()?;
    let err = service.authenticate(&old_token).unwrap_err();
    println!(
        "  alice's old token is refused: {err} (kind {})",
        err.kind()
    );
    let claims = service.authenticate(&new_token)?;
    println!("  bob's token still verifies: sub = {:?}", claims.subject);
    Ok(())
}

fn lock(provider: &Mutex<Provider>) -> Result<MutexGuard<'_, Provider>, Error> {
    provider.lock().map_err(|_| Error::signing(Poisoned))
}

/// A lock or thread poisoned by a panic elsewhere.
#[derive(Debug)]
struct Poisoned;

impl std::fmt::Display for Poisoned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a thread panicked")
    }
}

impl std::error::Error for Poisoned {}
