//! HS256 verify or sign, keycard or the naive pipeline, `N` times, for `valgrind --tool=callgrind`
//! (instruction counts do not depend on the machine's load; BENCHMARKS.md):
//!
//!     cargo build --release --manifest-path keycard/benches/peers/Cargo.toml --example hs256_profile
//!     valgrind --tool=callgrind keycard/benches/peers/target/release/examples/hs256_profile verify 10000
//!
//! Modes: `verify`, `borrowed`, `naive-verify`, `sign` (`sign_claims`), `claims-sign`
//! (`claims` then `sign`), `claim-sign`, `naive-sign`, `verify-threads-1`, `verify-threads-2`
//! (one shared validator; compare their CPU time), `none`.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
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
#[allow(dead_code)]
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

fn naive_verify(token: &str, key: &ring::hmac::Key) -> Option<Session> {
    #[derive(Deserialize)]
    struct Header<'a> {
        alg: &'a str,
    }
    let (input, signature) = token.rsplit_once('.')?;
    let (header, payload) = input.split_once('.')?;
    let header = URL_SAFE_NO_PAD.decode(header).ok()?;
    if serde_json::from_slice::<Header<'_>>(&header).ok()?.alg != "HS256" {
        return None;
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    ring::hmac::verify(key, input.as_bytes(), &signature).ok()?;
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Session = serde_json::from_slice(&payload).ok()?;
    let now = now();
    (claims.exp > now && claims.nbf <= now && claims.iss == ISSUER && claims.aud == AUDIENCE)
        .then_some(claims)
}

fn naive_sign(claims: &Session, key: &ring::hmac::Key) -> Option<String> {
    const HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
    let payload = serde_json::to_vec(claims).ok()?;
    let mut token = String::with_capacity(HEADER.len() + payload.len() * 4 / 3 + 50);
    token.push_str(HEADER);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
    let tag = ring::hmac::sign(key, token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut token);
    Some(token)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let key = HmacKey::new(Algorithm::HS256, SECRET).expect("key");
    let hmac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET);
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
