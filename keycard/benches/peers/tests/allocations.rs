//! Heap allocations per call for keycard, the naive pipeline and the peers on the same 9-claim
//! HS256 token, counted by `allocation-counter` and printed for BENCHMARKS.md:
//!
//!     cargo test --manifest-path keycard/benches/peers/Cargo.toml -- --nocapture
//!
//! Only keycard's counts are asserted (tests/keycard/allocations.rs in the main crate owns
//! them); the others are facts about other code, printed, not enforced.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jwt_simple::prelude::MACLike;
use keycard::{Algorithm, Builder, HmacKey, Validator};
use serde::{Deserialize, Serialize};

const SECRET: &[u8] = b"a benchmark secret of 32 bytes!!";
const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "api";

#[derive(Serialize, Deserialize)]
struct Session {
    iss: String,
    sub: String,
    aud: String,
    exp: u64,
    nbf: u64,
    iat: u64,
    jti: String,
    scope: String,
    roles: Vec<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // Filled by serde; only its allocations matter here.
struct SessionRef<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
    nbf: u64,
    iat: u64,
    jti: &'a str,
    scope: &'a str,
    #[serde(borrow)]
    roles: Vec<&'a str>,
}

#[derive(Serialize, Deserialize)]
struct Custom {
    scope: String,
    roles: Vec<String>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn session(now: u64) -> Session {
    Session {
        iss: ISSUER.to_owned(),
        sub: "user-42".to_owned(),
        aud: AUDIENCE.to_owned(),
        exp: now + 900,
        nbf: now,
        iat: now,
        jti: "7c4b1e7a-6f0e-4f7a-9a55-0d7f0c2f9c11".to_owned(),
        scope: "read write".to_owned(),
        roles: vec!["admin".to_owned(), "billing".to_owned()],
    }
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
    let claims = session(now());
    let token = Builder::new().claims(&claims).sign(&key).unwrap();
    let validator = Validator::builder(key.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .unwrap();

    // The struct itself is made outside the counts: every row signs from the same one.
    let mut buffer = Vec::with_capacity(1024);
    let borrowed = count("keycard verify_borrowed", || {
        let _: SessionRef<'_> = validator.verify_borrowed(&token, &mut buffer).unwrap();
    });
    let owned = count("keycard verify", || {
        let _: Session = validator.verify(&token).unwrap();
    });
    let sign = count("keycard Builder::new().claims(&struct).sign", || {
        Builder::new().claims(&claims).sign(&key).unwrap();
    });
    let template = Builder::new();
    let sign_claims = count("keycard template.sign_claims(&struct)", || {
        template.sign_claims(&claims, &key).unwrap();
    });
    assert_eq!(borrowed, 1, "the roles Vec");
    assert_eq!(owned, 8, "5 Strings, the roles Vec and its 2 Strings");
    assert_eq!(sign, 3);
    assert_eq!(sign_claims, 1);

    let hmac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET);
    count("naive verify", || {
        let (input, signature) = token.rsplit_once('.').unwrap();
        let (header, payload) = input.split_once('.').unwrap();
        let header = URL_SAFE_NO_PAD.decode(header).unwrap();
        #[derive(Deserialize)]
        struct Header<'a> {
            alg: &'a str,
        }
        assert_eq!(serde_json::from_slice::<Header<'_>>(&header).unwrap().alg, "HS256");
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        ring::hmac::verify(&hmac, input.as_bytes(), &signature).unwrap();
        let payload = URL_SAFE_NO_PAD.decode(payload).unwrap();
        let _: Session = serde_json::from_slice(&payload).unwrap();
    });
    count("naive sign", || {
        let payload = serde_json::to_vec(&claims).unwrap();
        let mut token = String::with_capacity(payload.len() * 4 / 3 + 100);
        token.push_str("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.");
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let tag = ring::hmac::sign(&hmac, token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut token);
    });

    let decoding = jsonwebtoken::DecodingKey::from_secret(SECRET).unwrap();
    let encoding = jsonwebtoken::EncodingKey::from_secret(SECRET).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.validate_nbf = true;
    count("jsonwebtoken decode", || {
        jsonwebtoken::decode::<Session>(&token, &decoding, &validation).unwrap();
    });
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    count("jsonwebtoken encode", || {
        jsonwebtoken::encode(&header, &claims, &encoding).unwrap();
    });

    let simple = jwt_simple::prelude::HS256Key::from_bytes(SECRET);
    let options = jwt_simple::prelude::VerificationOptions {
        allowed_issuers: Some(HashSet::from([ISSUER.to_owned()])),
        allowed_audiences: Some(HashSet::from([AUDIENCE.to_owned()])),
        ..Default::default()
    };
    count("jwt-simple verify_token", || {
        simple
            .verify_token::<Custom>(&token, Some(options.clone()))
            .unwrap();
    });
    count("jwt-simple authenticate", || {
        use jwt_simple::prelude::Duration;
        let claims = jwt_simple::prelude::Claims::with_custom_claims(
            Custom {
                scope: claims.scope.clone(),
                roles: claims.roles.clone(),
            },
            Duration::from_mins(15),
        )
        .with_issuer(&claims.iss)
        .with_subject(&claims.sub)
        .with_audience(&claims.aud)
        .with_jwt_id(&claims.jti);
        simple.authenticate(claims).unwrap();
    });
}
