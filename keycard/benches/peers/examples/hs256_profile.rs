//! HS256 verify or sign, keycard or the naive pipeline, `N` times, for `valgrind --tool=callgrind`
//! (instruction counts do not depend on the machine's load; BENCHMARKS.md):
//!
//!     cargo build --release --manifest-path keycard/benches/peers/Cargo.toml --example hs256_profile
//!     valgrind --tool=callgrind keycard/benches/peers/target/release/examples/hs256_profile verify 10000
//!
//! Modes: `verify`, `borrowed`, `naive-verify`, `naive-stack-verify` (header and signature on
//! the stack), `sign` (`sign_claims`), `claims-sign`
//! (`claims` then `sign`), `claim-sign`, `naive-sign`, `verify-threads-1`, `verify-threads-2`
//! (one shared validator; compare their CPU time), `none`.

use keycard_peers::{
    crypto, naive_sign, naive_verify, naive_verify_stack, now, session, Session, SessionRef,
    AUDIENCE, ISSUER, SECRET,
};

use keycard::{Algorithm, Builder, HmacKey, Validator};

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
