//! The hot paths, `N` times each, for instruction counts under callgrind: what
//! `keycard/benches/instructions.sh` runs (in `.ci/run`) and compares with the committed
//! baseline, `keycard/benches/instructions.txt`. A count does not depend on the machine's load,
//! so a tolerance on it can guard performance where a time cannot.
//!
//!     cargo build --release -p keycard --example instructions
//!     valgrind --tool=callgrind target/release/examples/instructions hs256-verify 2000
//!
//! The count of one operation is `(I(N) - I(0)) / N`: the run with `N = 0` does the same setup
//! (keys, the token, the validator, one warm-up call) and nothing else.
//!
//! Modes, on the 9-claim token of the peers bench (`iss`, `sub`, `aud`, `exp`, `nbf`, `iat`,
//! `jti`, `scope`, `roles` of 2), issuer and audience checked:
//! - `hs256-verify`: `Validator::verify` into the owned struct;
//! - `hs256-verify-borrowed`: `verify_borrowed` into `&str` fields, one buffer reused;
//! - `hs256-sign-claims`: `template.sign_claims(&struct, &key)`, a template made once;
//! - `hs256-claims-sign`: `Builder::new().claims(&struct).sign(&key)`, a builder per token;
//! - `rs256-verify`: RS256 `verify` into the owned struct;
//! - `rs256-cache-hit`: the same with `cache_verified`, every call a hit.

use keycard::time::{Duration, OffsetDateTime};
use keycard::{Algorithm, Builder, HmacKey, RsaPrivateKey, Validator};
use serde::{Deserialize, Serialize};

const SECRET: &[u8] = b"a benchmark secret of 32 bytes!!";
const RSA_PKCS8: &str = include_str!("../tests/keys/rsa2048.pkcs8.pem");
const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "api";

#[derive(Serialize, Deserialize)]
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

#[derive(Deserialize)]
#[allow(dead_code)]
struct SessionRef<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: &'a str,
    scope: &'a str,
    #[serde(borrow)]
    roles: Vec<&'a str>,
}

fn session() -> Session {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    Session {
        iss: ISSUER.to_owned(),
        sub: "user-42".to_owned(),
        aud: AUDIENCE.to_owned(),
        exp: now + 15 * 60,
        nbf: now,
        iat: now,
        jti: "7c4b1e7a-6f0e-4f7a-9a55-0d7f0c2f9c11".to_owned(),
        scope: "read write".to_owned(),
        roles: vec!["admin".to_owned(), "billing".to_owned()],
    }
}

fn validator(builder: keycard::ValidatorBuilder) -> Validator {
    builder
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .expect("a valid configuration")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let template = Builder::new().without_issued_at();
    // Each mode: one warm-up call (per-thread buffers, the default headers), then `n`.
    let mut op: Box<dyn FnMut()> = match mode.as_str() {
        "hs256-verify" | "hs256-verify-borrowed" => {
            let key = HmacKey::new(Algorithm::HS256, SECRET).expect("key");
            let token = template.sign_claims(&session(), &key).expect("sign");
            let validator = validator(Validator::builder(key));
            if mode == "hs256-verify" {
                Box::new(move || {
                    std::hint::black_box(validator.verify::<Session>(&token).expect("verify"));
                })
            } else {
                let mut buffer = Vec::with_capacity(1024);
                Box::new(move || {
                    let claims: SessionRef<'_> = validator
                        .verify_borrowed(&token, &mut buffer)
                        .expect("verify");
                    std::hint::black_box(claims.exp);
                })
            }
        }
        "hs256-sign-claims" => {
            let key = HmacKey::new(Algorithm::HS256, SECRET).expect("key");
            Box::new(move || {
                std::hint::black_box(template.sign_claims(&session(), &key).expect("sign"));
            })
        }
        "hs256-claims-sign" => {
            let key = HmacKey::new(Algorithm::HS256, SECRET).expect("key");
            Box::new(move || {
                std::hint::black_box(Builder::new().claims(&session()).sign(&key).expect("sign"));
            })
        }
        "rs256-verify" | "rs256-cache-hit" => {
            let key = RsaPrivateKey::from_pem(Algorithm::RS256, RSA_PKCS8).expect("key");
            let token = template.sign_claims(&session(), &key).expect("sign");
            let builder = Validator::builder(key.public_key());
            let validator = validator(if mode == "rs256-cache-hit" {
                builder.cache_verified(1000, Duration::minutes(5))
            } else {
                builder
            });
            Box::new(move || {
                std::hint::black_box(validator.verify::<Session>(&token).expect("verify"));
            })
        }
        _ => {
            eprintln!(
                "modes: hs256-verify hs256-verify-borrowed hs256-sign-claims hs256-claims-sign \
                 rs256-verify rs256-cache-hit"
            );
            std::process::exit(2);
        }
    };
    op();
    for _ in 0..n {
        op();
    }
}
