//! Heap allocations on the verify and sign paths, counted per thread by `allocation-counter`
//! (a count is deterministic, unlike a time, so asserting it is fair).

use keycard::time::Duration;
use keycard::{Algorithm, Builder, Claims, HmacKey, Validator};
use serde::Deserialize;

fn key() -> HmacKey {
    HmacKey::new(Algorithm::HS256, b"allocation test secret, 32 bytes").unwrap()
}

/// A realistic 7-claim token of about 300 bytes.
fn token() -> String {
    Builder::new()
        .issuer("https://auth.example.com")
        .subject("user-42")
        .audience("api")
        .jwt_id("7c4b1e7a-6f0e-4f7a-9a55-0d7f0c2f9c11")
        .claim("scope", "read write")
        .expires_in(Duration::minutes(15))
        .sign(&key())
        .unwrap()
}

/// A validator that this thread has used once: the first verification on a thread allocates
/// the thread's snapshot of the key set, once; the counts below are the steady state.
fn validator() -> Validator {
    let validator = Validator::builder(key())
        .issuer("https://auth.example.com")
        .audience("api")
        .build()
        .unwrap();
    let _ = validator.verify::<Claims>(&token());
    validator
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Borrowed<'a> {
    sub: &'a str,
    scope: &'a str,
    jti: &'a str,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Owned {
    sub: String,
    scope: String,
}

#[test]
fn verifying_into_borrowed_claims_allocates_nothing() {
    let (validator, token) = (validator(), token());
    let mut buffer = Vec::with_capacity(1024);
    let info = allocation_counter::measure(|| {
        let claims: Borrowed<'_> = validator.verify_borrowed(&token, &mut buffer).unwrap();
        assert_eq!(claims.sub, "user-42");
    });
    assert_eq!(info.count_total, 0);
}

#[test]
fn verifying_into_owned_claims_allocates_only_their_fields() {
    let (validator, token) = (validator(), token());
    let info = allocation_counter::measure(|| {
        let claims: Owned = validator.verify(&token).unwrap();
        assert_eq!(claims.scope, "read write");
    });
    // `sub` and `scope`: one String each, nothing else.
    assert_eq!(info.count_total, 2);
}

#[test]
fn rejecting_a_bad_signature_allocates_nothing() {
    let (validator, token) = (validator(), token());
    let forged = format!("{}AAAA", &token[..token.len() - 4]);
    let info = allocation_counter::measure(|| {
        let err = validator.verify::<Claims>(&forged).unwrap_err();
        assert_eq!(err.kind(), keycard::ErrorKind::Signature);
    });
    assert_eq!(info.count_total, 0);
}

#[test]
fn signing_allocates_header_payload_signature_and_token_once_each() {
    let key = key();
    let builder = Builder::new()
        .issuer("https://auth.example.com")
        .subject("user-42")
        .audience("api")
        .claim("scope", "read write")
        .expires_in(Duration::minutes(15));
    let info = allocation_counter::measure(|| {
        builder.sign(&key).unwrap();
    });
    // The header and claims JSON, the signature the `Signer` returns, and the token, each sized
    // up front: no reallocation.
    assert_eq!(info.count_total, 4);
}
