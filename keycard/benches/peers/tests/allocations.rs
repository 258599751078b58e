//! Heap allocations per call for keycard, the naive pipeline and the peers on the same 9-claim
//! HS256 token, counted by `allocation-counter` and printed for BENCHMARKS.md:
//!
//!     cargo test --manifest-path keycard/benches/peers/Cargo.toml -- --nocapture
//!
//! Only keycard's counts are asserted (tests/keycard/allocations.rs in the main crate owns
//! them); the others are facts about other code, printed, not enforced.

use keycard_peers::{
    crypto, naive_sign, naive_verify, naive_verify_stack, now, session, Custom, Session,
    SessionRef, AUDIENCE, ISSUER, SECRET,
};
use std::collections::HashSet;

use jwt_simple::prelude::MACLike;
use keycard::{Algorithm, Builder, HmacKey, Validator};

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
    // The token only: the builder's JSON buffers are those the thread's last builder left.
    assert_eq!(sign, 1);
    assert_eq!(sign_claims, 1);

    // The same naive pipeline the benches time (`keycard_peers::naive_verify` / `naive_sign`).
    let hmac = crypto::hmac::Key::new(crypto::hmac::HMAC_SHA256, SECRET);
    count("naive verify", || {
        naive_verify(&token, &hmac).expect("the naive pipeline verifies the token");
    });
    count("naive verify, header and signature on the stack", || {
        naive_verify_stack(&token, &hmac).expect("the naive pipeline verifies the token");
    });
    count("naive sign", || {
        naive_sign(&claims, &hmac).expect("the naive pipeline signs");
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
