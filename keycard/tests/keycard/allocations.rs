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
fn signing_allocates_only_the_token() {
    let key = key();
    let builder = Builder::new()
        .issuer("https://auth.example.com")
        .subject("user-42")
        .audience("api")
        .claim("scope", "read write")
        .expires_in(Duration::minutes(15));
    builder.sign(&key).unwrap(); // The default headers are encoded once per process.
    let info = allocation_counter::measure(|| {
        builder.sign(&key).unwrap();
    });
    // The claims JSON is written on the stack, the default header is encoded once per process,
    // the built-in keys sign into a stack buffer: the token is the one allocation, sized up
    // front (issue 5 measured 4: header JSON, claims JSON, signature, token).
    assert_eq!(info.count_total, 1);
}

/// The 9 claims of the benchmarks, owned.
#[derive(serde::Serialize, Deserialize)]
struct Session {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: String,
    scope: String,
    roles: Vec<String>,
}

fn session() -> Session {
    let now = keycard::time::OffsetDateTime::now_utc().unix_timestamp();
    Session {
        iss: "https://auth.example.com".to_owned(),
        sub: "user-42".to_owned(),
        aud: "api".to_owned(),
        exp: now + 900,
        nbf: now,
        iat: now,
        jti: "7c4b1e7a-6f0e-4f7a-9a55-0d7f0c2f9c11".to_owned(),
        scope: "read write".to_owned(),
        roles: vec!["admin".to_owned(), "billing".to_owned()],
    }
}

#[test]
fn signing_from_a_struct_allocates_only_the_token_once_the_thread_has_signed() {
    let (key, claims) = (key(), session());
    Builder::new().claims(&claims).sign(&key).unwrap();
    let info = allocation_counter::measure(|| {
        Builder::new().claims(&claims).sign(&key).unwrap();
    });
    // `Builder::new` allocates nothing; `claims` writes the struct's JSON once (its bytes and
    // the list of its members) into the buffers the thread's last dropped builder left; `sign`
    // allocates the token. No `serde_json::Value`. (3 before the buffers were reused.)
    assert_eq!(info.count_total, 1);
    // A builder kept as a template owns its buffers: one more made now allocates them.
    let kept = Builder::new().claims(&claims);
    let info = allocation_counter::measure(|| {
        Builder::new().claims(&claims).sign(&key).unwrap();
    });
    assert_eq!(info.count_total, 3);
    drop(kept);
}

#[test]
fn verifying_the_nine_claims_allocates_only_the_owned_fields() {
    let key = key();
    let token = Builder::new().claims(&session()).sign(&key).unwrap();
    let validator = validator();
    let info = allocation_counter::measure(|| {
        let s: Session = validator.verify(&token).unwrap();
        assert_eq!(s.roles.len(), 2);
    });
    // 5 Strings, the roles Vec and its 2 Strings.
    assert_eq!(info.count_total, 8);

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct SessionRef<'a> {
        iss: &'a str,
        sub: &'a str,
        exp: i64,
        scope: &'a str,
        #[serde(borrow)]
        roles: Vec<&'a str>,
    }
    let mut buffer = Vec::with_capacity(1024);
    let info = allocation_counter::measure(|| {
        let s: SessionRef<'_> = validator.verify_borrowed(&token, &mut buffer).unwrap();
        assert_eq!(s.roles, ["admin", "billing"]);
    });
    // The roles Vec only: the strings borrow from the buffer.
    assert_eq!(info.count_total, 1);
}

#[test]
fn signing_claims_from_a_template_allocates_only_the_token() {
    let (key, claims) = (key(), session());
    let template = Builder::new();
    template.sign_claims(&claims, &key).unwrap();
    let info = allocation_counter::measure(|| {
        template.sign_claims(&claims, &key).unwrap();
    });
    // The struct's JSON goes to a buffer the thread reuses.
    assert_eq!(info.count_total, 1);
}
