//! HS256 verify or sign, keycard or the naive pipeline, or RS256 verify (with or without the
//! verified-token cache), `N` times, for `valgrind --tool=callgrind`
//! (instruction counts do not depend on the machine's load; BENCHMARKS.md):
//!
//!     cargo build --release --manifest-path keycard/benches/peers/Cargo.toml --example hs256_profile
//!     valgrind --tool=callgrind keycard/benches/peers/target/release/examples/hs256_profile verify 10000
//!
//! Modes: `verify`, `borrowed`, `naive-verify`, `naive-stack-verify` (header and signature on
//! the stack), `sign` (`sign_claims`), `claims-sign`
//! (`claims` then `sign`), `claim-sign`, `naive-sign`, `verify-threads-1`, `verify-threads-2`
//! (one shared validator; compare their CPU time), `rs256-verify`, `rs256-cache-hit` (RS256
//! verify into the owned struct without and with `cache_verified`, every call a hit),
//! `cache-threads-1`, `cache-threads-2` (hits over 64 tokens from one shared cached validator;
//! `cache-threads-2-same`: every thread the same token), `none`.

use keycard_peers::{
    crypto, naive_sign, naive_verify, naive_verify_stack, now, session, Session, SessionRef,
    AUDIENCE, ISSUER, RSA_PKCS8, SECRET,
};

use keycard::{Algorithm, Builder, HmacKey, RsaPrivateKey, Validator};

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let key = HmacKey::new(Algorithm::HS256, SECRET).expect("key");
    let hmac = crypto::hmac::Key::new(crypto::hmac::HMAC_SHA256, SECRET);
    let claims = session(now());
    let token = Builder::new().claims(&claims).sign(&key).expect("sign");
    let validator = Validator::builder(key.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .expect("validator");
    let builder = Builder::new()
        .issuer(ISSUER)
        .subject("user-42")
        .audience(AUDIENCE)
        .jwt_id("7c4b1e7a-6f0e-4f7a-9a55-0d7f0c2f9c11")
        .claim("scope", "read write")
        .claim("roles", ["admin", "billing"])
        .expires_in(keycard::time::Duration::minutes(15));
    if let Some(threads) = mode.strip_prefix("cache-threads-") {
        // N cache hits split across threads sharing one cached RS256 validator, over 64
        // tokens (`-same`: one token for every thread): compare the CPU time with 1 thread to
        // see what sharing the cache costs.
        let (threads, same) = match threads.strip_suffix("-same") {
            Some(t) => (t, true),
            None => (threads, false),
        };
        let threads: usize = threads.parse().unwrap_or(1);
        let rsa = RsaPrivateKey::from_pem(Algorithm::RS256, RSA_PKCS8).expect("key");
        let tokens: Vec<String> = (0..64)
            .map(|i| {
                let mut s = session(now());
                s.jti = format!("token-{i}");
                Builder::new()
                    .without_issued_at()
                    .sign_claims(&s, &rsa)
                    .expect("sign")
            })
            .collect();
        let validator = Validator::builder(rsa.public_key())
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .cache_verified(10_000, keycard::time::Duration::minutes(5))
            .build()
            .expect("validator");
        for token in &tokens {
            validator.verify::<Session>(token).expect("verify");
        }
        std::thread::scope(|scope| {
            for t in 0..threads {
                let (validator, tokens) = (&validator, &tokens);
                scope.spawn(move || {
                    for i in 0..n / threads {
                        let token = if same {
                            &tokens[0]
                        } else {
                            &tokens[(i + t * 31) % 64]
                        };
                        std::hint::black_box(validator.verify::<Session>(token).expect("verify"));
                    }
                });
            }
        });
        return;
    }
    if let Some(rs256) = mode.strip_prefix("rs256-") {
        // RS256 verify into the owned struct, without and with the verified-token cache (the
        // token verified once before the loop, so every `cache-hit` is a hit).
        let rsa = RsaPrivateKey::from_pem(Algorithm::RS256, RSA_PKCS8).expect("key");
        let token = Builder::new()
            .without_issued_at()
            .sign_claims(&claims, &rsa)
            .expect("sign");
        let builder = Validator::builder(rsa.public_key())
            .issuer(ISSUER)
            .audience(AUDIENCE);
        let validator = match rs256 {
            "cache-hit" => builder.cache_verified(10_000, keycard::time::Duration::minutes(5)),
            _ => builder,
        }
        .build()
        .expect("validator");
        validator.verify::<Session>(&token).expect("verify");
        for _ in 0..n {
            std::hint::black_box(validator.verify::<Session>(&token).expect("verify"));
        }
        return;
    }
    if let Some(threads) = mode.strip_prefix("verify-threads-") {
        // N verifies split across threads sharing one validator: compare the CPU time (user)
        // with `verify-threads-1` to see what sharing costs, whatever the machine's load.
        let threads: usize = threads.parse().unwrap_or(1);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    for _ in 0..n / threads {
                        std::hint::black_box(validator.verify::<Session>(&token).expect("verify"));
                    }
                });
            }
        });
        return;
    }
    let mut buffer = Vec::with_capacity(1024);
    for _ in 0..n {
        match mode.as_str() {
            "verify" => {
                std::hint::black_box(validator.verify::<Session>(&token).expect("verify"));
            }
            "borrowed" => {
                let s: SessionRef<'_> = validator
                    .verify_borrowed(&token, &mut buffer)
                    .expect("verify");
                std::hint::black_box(s.exp);
            }
            "naive-verify" => {
                std::hint::black_box(naive_verify(&token, &hmac).expect("verify"));
            }
            "naive-stack-verify" => {
                std::hint::black_box(naive_verify_stack(&token, &hmac).expect("verify"));
            }
            "sign" => {
                std::hint::black_box(
                    Builder::new()
                        .without_issued_at()
                        .sign_claims(&session(now()), &key)
                        .expect("sign"),
                );
            }
            "claims-sign" => {
                std::hint::black_box(
                    Builder::new()
                        .claims(&session(now()))
                        .sign(&key)
                        .expect("sign"),
                );
            }
            "claim-sign" => {
                std::hint::black_box(builder.sign(&key).expect("sign"));
            }
            "naive-sign" => {
                std::hint::black_box(naive_sign(&session(now()), &hmac).expect("sign"));
            }
            _ => {}
        }
    }
}
