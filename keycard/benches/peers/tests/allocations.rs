//! Heap allocations per call for keycard and its peers on the same HS256 token, counted by
//! `allocation-counter` and printed for BENCHMARKS.md:
//!
//!     cargo test --manifest-path benches/peers/Cargo.toml -- --nocapture
//!
//! Only keycard's counts are asserted (tests/allocations.rs in the main crate owns them); the
//! peers' are facts about other crates, printed, not enforced.

use std::collections::HashSet;

use jwt_simple::prelude::MACLike;
use keycard::time::Duration;
use keycard::{Builder, Claims, HmacKey, Validator};
use serde::{Deserialize, Serialize};

const SECRET: &[u8] = b"a benchmark secret of 32 bytes!!";
const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "api";

#[derive(Deserialize)]
#[allow(dead_code)] // Filled by serde; only its allocations matter here.
struct Access {
    sub: String,
    jti: String,
    scope: String,
}

#[derive(Deserialize)]
#[allow(dead_code)] // Filled by serde; only its allocations matter here.
struct Borrowed<'a> {
    sub: &'a str,
    jti: &'a str,
    scope: &'a str,
}

#[derive(Serialize, Deserialize)]
struct Scope {
    scope: String,
}

fn count(what: &str, f: impl FnMut()) -> u64 {
    let mut f = f;
    f(); // Warm up: per-thread state, lazily initialised statics.
    let n = allocation_counter::measure(f).count_total;
    println!("{what}: {n} allocations");
    n
}

#[test]
fn allocations_per_hs256_verify_and_sign() {
    let key = HmacKey::new(Algorithm::HS256, SECRET).unwrap();
    let builder = Builder::new()
        .issuer(ISSUER)
        .subject("user-42")
        .audience(AUDIENCE)
        .jwt_id("7c4b1e7a-6f0e-4f7a-9a55-0d7f0c2f9c11")
        .claim("scope", "read write")
        .expires_in(Duration::minutes(15));
    let token = builder.sign(&key).unwrap();
    let validator = Validator::builder(key.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .unwrap();

    let mut buffer = Vec::with_capacity(1024);
    let borrowed = count("keycard verify_borrowed (sub, jti, scope)", || {
        let _: Borrowed<'_> = validator.verify_borrowed(&token, &mut buffer).unwrap();
    });
    let owned = count("keycard verify owned struct (sub, jti, scope)", || {
        let _: Access = validator.verify(&token).unwrap();
    });
    count("keycard verify Claims", || {
        let _: Claims = validator.verify(&token).unwrap();
    });
    count("keycard sign", || {
        builder.sign(&key).unwrap();
    });
    assert_eq!(borrowed, 0);
    assert_eq!(owned, 3, "one String per owned field");

    let decoding = jsonwebtoken::DecodingKey::from_secret(SECRET).unwrap();
    let encoding = jsonwebtoken::EncodingKey::from_secret(SECRET).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    count("jsonwebtoken decode owned struct (sub, jti, scope)", || {
        jsonwebtoken::decode::<Access>(&token, &decoding, &validation).unwrap();
    });
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    count("jsonwebtoken encode", || {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = serde_json_claims(now);
        jsonwebtoken::encode(&header, &claims, &encoding).unwrap();
    });

    let simple = jwt_simple::prelude::HS256Key::from_bytes(SECRET);
    let options = jwt_simple::prelude::VerificationOptions {
        allowed_issuers: Some(HashSet::from([ISSUER.to_owned()])),
        allowed_audiences: Some(HashSet::from([AUDIENCE.to_owned()])),
        ..Default::default()
    };
    count("jwt-simple verify_token (custom: scope)", || {
        simple
            .verify_token::<Scope>(&token, Some(options.clone()))
            .unwrap();
    });
    count("jwt-simple authenticate", || {
        use jwt_simple::prelude::Duration;
        let claims = jwt_simple::prelude::Claims::with_custom_claims(
            Scope {
                scope: "read write".to_owned(),
            },
            Duration::from_mins(15),
        )
        .with_issuer(ISSUER)
        .with_subject("user-42")
        .with_audience(AUDIENCE)
        .with_jwt_id("7c4b1e7a-6f0e-4f7a-9a55-0d7f0c2f9c11");
        simple.authenticate(claims).unwrap();
    });
}

/// The 7 claims as jsonwebtoken is given them in the benches.
fn serde_json_claims(now: u64) -> impl Serialize {
    #[derive(Serialize)]
    struct Mint {
        iss: &'static str,
        sub: &'static str,
        aud: &'static str,
        jti: &'static str,
        scope: &'static str,
        exp: u64,
        iat: u64,
    }
    Mint {
        iss: ISSUER,
        sub: "user-42",
        aud: AUDIENCE,
        jti: "7c4b1e7a-6f0e-4f7a-9a55-0d7f0c2f9c11",
        scope: "read write",
        exp: now + 900,
        iat: now,
    }
}
