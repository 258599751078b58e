#![allow(missing_docs)] // criterion_group! generates an undocumented function.
//! Sign and verify through keycard beside the raw `ring` primitive on the same bytes, in one run,
//! so that the ratio ours ÷ ring is read off one table (BENCHMARKS.md).
//!
//! - One group per algorithm (`HS256` … `EdDSA`): `sign/keycard` mints the realistic 7-claim
//!   token with a reused [`Builder`]; `sign/ring` is the primitive alone on that token's signing
//!   input with the same key; `verify/keycard` is [`Validator::verify`] into [`Claims`] (issuer,
//!   audience and expiry checked); `verify/ring` is `hmac::verify` or
//!   `UnparsedPublicKey::verify` on the same signing input and signature.
//!   `verify/keycard borrowed struct` is [`Validator::verify_borrowed`] into a struct of `&str`
//!   with a buffer reused across calls; `HS256` adds `verify/keycard owned struct`.
//! - `reject (HS256)`: what refusing costs (bad signature, expired, 9 KiB, malformed header),
//!   beside a successful verify and the HMAC alone.
//! - `reject worst case (HS256)` and `reject worst case (RS256)`: the costliest tokens an
//!   unauthenticated caller can send at the default limits (issue 14: most members, deepest
//!   nesting, JWE parameters, long `crit`, control characters in `kid`, a long `aud`; no `kid` or
//!   an unknown one against 100 keys without `kid`), beside an ordinary bad signature. SECURITY.md
//!   quotes them.
//! - `floor (HS256 verify parts)`: the HMAC, base64url and serde_json steps alone; their sum is
//!   what an HS256 verify cannot go below with these crates.
//! - `threads (HS256 verify)`: the same shared [`Validator`] on 1 and on 2 scoped threads, beside
//!   ring's HMAC alone as the control; the time is wall time ÷ verifies, so 1-thread ÷ 2-thread
//!   is the throughput gained.
//!
//! Run with `cargo bench --bench sign_verify` (under 3 minutes); one group with
//! `cargo bench --bench sign_verify -- RS256`.

use std::time::{Duration as StdDuration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    black_box, criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput,
};
use keycard::limits::*;
use keycard::{
    Algorithm, Builder, Claims, EcdsaPrivateKey, Ed25519PrivateKey, FixedClock, HmacKey, KeySet,
    RsaPrivateKey, Signer, Validator, Verifier,
};
use ring::signature::{self as sig, KeyPair};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

/// 64 bytes: the first 32, 48 or 64 are the HS256, HS384 or HS512 secret.
const SECRET: &[u8; 64] = b"a benchmark secret of 64 bytes, long enough for HS512 keys!!!!!!";
const RSA_PKCS8: &str = include_str!("../tests/keys/rsa2048.pkcs8.pem");
const P256_PKCS8: &str = include_str!("../tests/keys/p256.pkcs8.pem");
const P384_SEC1: &str = include_str!("../tests/keys/p384.sec1.pem");
const ED25519_PKCS8: &str = include_str!("../tests/keys/ed25519.pkcs8.pem");

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "api";

/// A realistic 7-claim token: `iss`, `sub`, `aud`, `jti`, `scope`, `exp`, `iat`.
fn builder() -> Builder {
    Builder::new()
        .issuer(ISSUER)
        .subject("user-42")
        .audience(AUDIENCE)
        .jwt_id("7c4b1e7a-6f0e-4f7a-9a55-0d7f0c2f9c11")
        .claim("scope", "read write")
        .expires_in(Duration::minutes(15))
}

/// Checks issuer, audience and expiry: the work every peer is asked to do too.
fn validator(key: impl Verifier + 'static) -> Validator {
    Validator::builder(key)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .expect("valid configuration")
}

/// The claims an API handler typically reads, owned.
#[derive(Deserialize)]
struct Owned {
    sub: String,
    jti: String,
    scope: String,
}

/// The same claims borrowed from the decoded payload.
#[derive(Deserialize)]
struct Borrowed<'a> {
    sub: &'a str,
    jti: &'a str,
    scope: &'a str,
}

/// Splits a compact token into its signing input and decoded signature.
fn signing_input(token: &str) -> (&[u8], Vec<u8>) {
    use base64::Engine;
    let (input, signature) = token.rsplit_once('.').expect("three parts");
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .expect("base64url");
    (input.as_bytes(), signature)
}

/// The DER inside a PEM document.
fn pem_der(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("pem base64")
}

/// The four timings of one algorithm's group. `ring_sign` and `ring_verify` run the primitive
/// on the signing input (and signature) of the token keycard minted.
fn sign_and_verify<R>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    key: &(impl Signer + ?Sized),
    validator: &Validator,
    mut ring_sign: impl FnMut(&[u8]) -> R,
    ring_verify: impl Fn(&[u8], &[u8]) -> bool,
) -> String {
    let builder = builder();
    let token = builder.sign(key).expect("sign");
    let (input, signature) = signing_input(&token);
    assert!(
        ring_verify(input, &signature),
        "ring accepts keycard's signature"
    );
    validator
        .verify::<Claims>(&token)
        .expect("keycard accepts its own token");

    g.bench_function("sign/keycard", |b| b.iter(|| builder.sign(key)));
    g.bench_function("sign/ring", |b| b.iter(|| ring_sign(black_box(input))));
    g.bench_function("verify/keycard", |b| {
        b.iter(|| validator.verify::<Claims>(black_box(&token)))
    });
    g.bench_function("verify/ring", |b| {
        b.iter(|| ring_verify(black_box(input), black_box(&signature)))
    });
    g.bench_function("verify/keycard borrowed struct", |b| {
        let mut buffer = Vec::with_capacity(1024);
        b.iter(|| {
            let claims: Borrowed<'_> = validator
                .verify_borrowed(black_box(&token), &mut buffer)
                .expect("valid");
            black_box((claims.sub.len(), claims.jti.len(), claims.scope.len()))
        })
    });
    token
}

fn hmac(c: &mut Criterion) {
    let algorithms = [
        (Algorithm::HS256, ring::hmac::HMAC_SHA256, 32),
        (Algorithm::HS384, ring::hmac::HMAC_SHA384, 48),
        (Algorithm::HS512, ring::hmac::HMAC_SHA512, 64),
    ];
    for (algorithm, ring_algorithm, len) in algorithms {
        let secret = &SECRET[..len];
        let key = match algorithm {
            Algorithm::HS256 => HmacKey::new(Algorithm::HS256, secret),
            Algorithm::HS384 => HmacKey::new(Algorithm::HS384, secret),
            _ => HmacKey::new(Algorithm::HS512, secret),
        }
        .expect("key");
        let ring_key = ring::hmac::Key::new(ring_algorithm, secret);
        let validator = validator(key.clone());

        let mut g = c.benchmark_group(algorithm.as_str());
        let token = sign_and_verify(
            &mut g,
            &key,
            &validator,
            |input| ring::hmac::sign(&ring_key, input),
            |input, tag| ring::hmac::verify(&ring_key, input, tag).is_ok(),
        );
        if algorithm == Algorithm::HS256 {
            g.bench_function("verify/keycard owned struct", |b| {
                b.iter(|| {
                    let claims: Owned = validator.verify(black_box(&token)).expect("valid");
                    black_box((claims.sub, claims.jti, claims.scope))
                })
            });
        }
        g.finish();
    }
}

fn rsa(c: &mut Criterion) {
    let der = pem_der(RSA_PKCS8);
    let pair = sig::RsaKeyPair::from_pkcs8(&der).expect("ring key");
    let public = pair.public_key().as_ref().to_vec();
    let rng = ring::rand::SystemRandom::new();
    let algorithms: [(
        Algorithm,
        &'static dyn sig::RsaEncoding,
        &sig::RsaParameters,
    ); 6] = [
        (
            Algorithm::RS256,
            &sig::RSA_PKCS1_SHA256,
            &sig::RSA_PKCS1_2048_8192_SHA256,
        ),
        (
            Algorithm::RS384,
            &sig::RSA_PKCS1_SHA384,
            &sig::RSA_PKCS1_2048_8192_SHA384,
        ),
        (
            Algorithm::RS512,
            &sig::RSA_PKCS1_SHA512,
            &sig::RSA_PKCS1_2048_8192_SHA512,
        ),
        (
            Algorithm::PS256,
            &sig::RSA_PSS_SHA256,
            &sig::RSA_PSS_2048_8192_SHA256,
        ),
        (
            Algorithm::PS384,
            &sig::RSA_PSS_SHA384,
            &sig::RSA_PSS_2048_8192_SHA384,
        ),
        (
            Algorithm::PS512,
            &sig::RSA_PSS_SHA512,
            &sig::RSA_PSS_2048_8192_SHA512,
        ),
    ];
    for (algorithm, padding, parameters) in algorithms {
        let key = RsaPrivateKey::from_pem(algorithm, RSA_PKCS8).expect("key");
        let verifying = sig::UnparsedPublicKey::new(parameters, &public);
        let validator = validator(key.public_key());
        let mut out = vec![0; pair.public().modulus_len()];

        let mut g = c.benchmark_group(algorithm.as_str());
        // A private-key operation takes ~0.6 ms: fewer, longer samples keep the run short.
        g.sample_size(20)
            .measurement_time(StdDuration::from_millis(1500));
        sign_and_verify(
            &mut g,
            &key,
            &validator,
            |input| pair.sign(padding, &rng, input, &mut out).is_ok(),
            |input, signature| verifying.verify(input, signature).is_ok(),
        );
        g.finish();
    }
}

fn ecdsa(c: &mut Criterion) {
    let rng = ring::rand::SystemRandom::new();
    let curves = [
        (
            Algorithm::ES256,
            P256_PKCS8,
            &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            &sig::ECDSA_P256_SHA256_FIXED,
        ),
        (
            Algorithm::ES384,
            P384_SEC1,
            &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
            &sig::ECDSA_P384_SHA384_FIXED,
        ),
    ];
    for (algorithm, pem, signing, verifying) in curves {
        let key = EcdsaPrivateKey::from_pem(algorithm, pem).expect("key");
        // The same key for ring (PKCS#8 is what ring reads; the P-384 file is SEC1).
        let pair = sig::EcdsaKeyPair::from_pkcs8(signing, &key.to_der(), &rng).expect("ring key");
        let public = sig::UnparsedPublicKey::new(verifying, pair.public_key().as_ref().to_vec());
        let validator = validator(key.public_key());

        let mut g = c.benchmark_group(algorithm.as_str());
        if algorithm == Algorithm::ES384 {
            // ring's P-384 has no assembly: ~0.4 ms to sign, ~0.7 ms to verify.
            g.sample_size(20)
                .measurement_time(StdDuration::from_millis(1500));
        }
        sign_and_verify(
            &mut g,
            &key,
            &validator,
            |input| pair.sign(&rng, input).is_ok(),
            |input, signature| public.verify(input, signature).is_ok(),
        );
        g.finish();
    }
}

fn eddsa(c: &mut Criterion) {
    let key = Ed25519PrivateKey::from_pem(ED25519_PKCS8).expect("key");
    let pair = sig::Ed25519KeyPair::from_seed_unchecked(&key.to_seed()).expect("ring key");
    let public = sig::UnparsedPublicKey::new(&sig::ED25519, pair.public_key().as_ref().to_vec());
    let validator = validator(key.public_key());

    let mut g = c.benchmark_group("EdDSA");
    sign_and_verify(
        &mut g,
        &key,
        &validator,
        |input| pair.sign(input),
        |input, signature| public.verify(input, signature).is_ok(),
    );
    g.finish();
}

fn rejections(c: &mut Criterion) {
    let key = HmacKey::new(Algorithm::HS256, &SECRET[..32]).expect("key");
    let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &SECRET[..32]);
    let token = builder().sign(&key).expect("sign");
    let (input, tag) = signing_input(&token);
    let validator = validator(key.clone());

    // The last four characters of the signature replaced: still canonical base64url.
    let bad_signature = format!("{}AAAA", &token[..token.len() - 4]);
    // The token checked an hour later, when it expired 45 minutes ago.
    let later = OffsetDateTime::now_utc() + Duration::hours(1);
    let expired_validator = Validator::builder(key.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .clock(FixedClock(later))
        .build()
        .expect("valid configuration");
    // Over the 8 KiB default limit.
    let (header, rest) = token.split_once('.').expect("three parts");
    let oversized = format!(
        "{header}.{}.{}",
        "A".repeat(9 * 1024),
        &rest[rest.len() - 43..]
    );
    // `{"alg":"HS256","typ":"JWT"` without its closing brace, then the real payload and signature.
    let malformed_header = format!("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCI.{rest}");

    for (bad, validator) in [
        (&bad_signature, &validator),
        (&malformed_header, &validator),
        (&oversized, &validator),
    ] {
        assert!(validator.verify::<Claims>(bad).is_err());
    }
    assert_eq!(
        expired_validator
            .verify::<Claims>(&token)
            .map(drop)
            .map_err(|e| e.kind()),
        Err(keycard::ErrorKind::Expired)
    );

    let mut g = c.benchmark_group("reject (HS256)");
    g.bench_function("accept/keycard", |b| {
        b.iter(|| validator.verify::<Claims>(black_box(&token)))
    });
    g.bench_function("hmac verify/ring", |b| {
        b.iter(|| ring::hmac::verify(&ring_key, black_box(input), black_box(&tag)))
    });
    g.bench_function("bad signature", |b| {
        b.iter(|| validator.verify::<Claims>(black_box(&bad_signature)))
    });
    g.bench_function("expired", |b| {
        b.iter(|| expired_validator.verify::<Claims>(black_box(&token)))
    });
    g.bench_function("oversized 9 KiB", |b| {
        b.iter(|| validator.verify::<Claims>(black_box(&oversized)))
    });
    g.bench_function("malformed header", |b| {
        b.iter(|| validator.verify::<Claims>(black_box(&malformed_header)))
    });
    g.finish();
}

/// `header.payload.signature` from raw JSON, signed by `key`.
fn raw_token(key: &dyn Signer, header: &str, payload: &str) -> String {
    use base64::Engine;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let signature = key.sign(input.as_bytes()).expect("sign");
    format!("{input}.{}", b64(&signature))
}

/// The same token with the end of its signature changed (still canonical base64url).
fn bad_mac(token: &str) -> String {
    format!("{}AAAA", &token[..token.len() - 4])
}

/// The largest header of `unit`-sized pieces whose token stays within `max_len` bytes.
fn filled_header(max_len: usize, piece: impl Fn(usize) -> String) -> String {
    let mut header = String::from(r#"{"alg":"HS256""#);
    let mut i = 0;
    loop {
        let next = piece(i);
        // base64url grows 4/3; leave room for a small payload and the signature.
        if (header.len() + next.len() + 2) * 4 / 3 > max_len - 200 {
            break;
        }
        header.push_str(&next);
        i += 1;
    }
    header.push('}');
    header
}

/// Issue 14: what the costliest refusals cost at the default limits, beside the ordinary bad
/// signature they must stay within twice of (SECURITY.md, "Limits and worst-case costs").
fn worst_case(c: &mut Criterion) {
    const PAYLOAD: &str = r#"{"sub":"user-42","exp":4102444800}"#;
    let key = HmacKey::new(Algorithm::HS256, &SECRET[..32]).expect("key");
    let validator = Validator::builder(key.clone())
        .build()
        .expect("valid configuration");
    let ordinary = raw_token(&key, r#"{"alg":"HS256","typ":"JWT"}"#, PAYLOAD);
    let max = DEFAULT_MAX_TOKEN_LEN;
    // Finding 1: as many members as fit, named in reverse order, bad MAC.
    let members = filled_header(max, |i| format!(r#","m{:05}":0"#, 99_999 - i));
    // The same size as one unknown member: the linear cost of reading 8 KiB at all.
    let one_long = format!(
        r#"{{"alg":"HS256","x":"{}"}}"#,
        "a".repeat(max * 3 / 4 - 250)
    );
    // Finding 7: nesting as deep as fits (refused at 64).
    let deep = format!(r#"{{"alg":"HS256","x":{}}}"#, "[".repeat(max * 3 / 4 - 250));
    // Finding 5: a long `crit` of the wrong type, control characters in an unknown `kid`.
    let crit = format!(
        r#"{{"alg":"HS256","crit":"{}"}}"#,
        "A".repeat(max * 3 / 4 - 250)
    );
    let kid = format!(
        r#"{{"alg":"HS256","kid":"{}"}}"#,
        r"\n\u001b[31m".repeat((max * 3 / 4 - 250) / 12)
    );
    let cases = [
        (
            "members, 8 KiB, reverse order",
            bad_mac(&raw_token(&key, &members, PAYLOAD)),
        ),
        (
            "one 8 KiB member",
            bad_mac(&raw_token(&key, &one_long, PAYLOAD)),
        ),
        ("nesting, 8 KiB", bad_mac(&raw_token(&key, &deep, PAYLOAD))),
        (
            "JWE enc + p2c",
            bad_mac(&raw_token(
                &key,
                r#"{"alg":"HS256","enc":"A256GCM","p2c":100000000}"#,
                PAYLOAD,
            )),
        ),
        (
            "crit of 6 KB, wrong type",
            bad_mac(&raw_token(&key, &crit, PAYLOAD)),
        ),
        (
            "kid of control characters",
            bad_mac(&raw_token(&key, &kid, PAYLOAD)),
        ),
    ];
    for (name, token) in &cases {
        assert!(token.len() <= max, "{name}: {} bytes", token.len());
        assert!(validator.verify::<Claims>(token).is_err(), "{name}");
    }
    // After the MAC: an `aud` of as many entries as fit, none expected.
    let audiences: Vec<String> = (0..450).map(|i| format!(r#""aud-{i:04}""#)).collect();
    let aud_payload = format!(r#"{{"exp":4102444800,"aud":[{}]}}"#, audiences.join(","));
    let long_aud = raw_token(&key, r#"{"alg":"HS256"}"#, &aud_payload);
    assert!(long_aud.len() <= max, "aud: {} bytes", long_aud.len());
    assert!(validator.verify::<Claims>(&long_aud).is_err());
    // Raised limits (4 MiB): 200 000 members in reverse order are refused at the 1025th.
    let big = Validator::builder(key.clone())
        .max_token_len(4 << 20)
        .build()
        .expect("valid configuration");
    let many = filled_header(4 << 20, |i| format!(r#","m{:06}":0"#, 999_999 - i));
    let many = bad_mac(&raw_token(&key, &many, PAYLOAD));
    let many_long = format!(
        r#"{{"alg":"HS256","x":"{}"}}"#,
        "a".repeat((4 << 20) * 3 / 4 - 250)
    );
    let many_long = bad_mac(&raw_token(&key, &many_long, PAYLOAD));

    let mut g = c.benchmark_group("reject worst case (HS256)");
    g.bench_function("accept", |b| {
        b.iter(|| validator.verify::<Claims>(black_box(&ordinary)))
    });
    let bad = bad_mac(&ordinary);
    g.bench_function("bad signature", |b| {
        b.iter(|| validator.verify::<Claims>(black_box(&bad)))
    });
    for (name, token) in &cases {
        g.bench_function(*name, |b| {
            b.iter(|| validator.verify::<Claims>(black_box(token)))
        });
    }
    g.bench_function("aud of 450 entries (after the MAC)", |b| {
        b.iter(|| validator.verify::<Claims>(black_box(&long_aud)))
    });
    g.sample_size(10)
        .measurement_time(StdDuration::from_secs(2));
    g.bench_function("4 MiB limit: 200k+ members, reverse order", |b| {
        b.iter(|| big.verify::<Claims>(black_box(&many)))
    });
    g.bench_function("4 MiB limit: one 4 MiB member", |b| {
        b.iter(|| big.verify::<Claims>(black_box(&many_long)))
    });
    g.finish();

    // Finding 6: tokens that fit many keys cost at most MAX_KEYS_TRIED verifications.
    let rsa = RsaPrivateKey::from_pem(Algorithm::RS256, RSA_PKCS8).expect("key");
    let one = Validator::builder(rsa.public_key().with_key_id("k1"))
        .build()
        .expect("valid configuration");
    let kidless: KeySet = (0..MAX_JWKS_KEYS).map(|_| rsa.public_key()).collect();
    let hundred = Validator::builder_with_keys(kidless)
        .build()
        .expect("valid configuration");
    let with_kid = bad_mac(&raw_token(&rsa, r#"{"alg":"RS256","kid":"k1"}"#, PAYLOAD));
    let no_kid = bad_mac(&raw_token(&rsa, r#"{"alg":"RS256"}"#, PAYLOAD));
    let unknown_kid = bad_mac(&raw_token(
        &rsa,
        r#"{"alg":"RS256","kid":"other"}"#,
        PAYLOAD,
    ));
    let mut g = c.benchmark_group("reject worst case (RS256)");
    g.sample_size(30);
    g.bench_function("bad signature, 1 key", |b| {
        b.iter(|| one.verify::<Claims>(black_box(&with_kid)))
    });
    g.bench_function("bad signature, no kid, 100 keys without kid", |b| {
        b.iter(|| hundred.verify::<Claims>(black_box(&no_kid)))
    });
    g.bench_function("bad signature, unknown kid, 100 keys without kid", |b| {
        b.iter(|| hundred.verify::<Claims>(black_box(&unknown_kid)))
    });
    g.finish();
}

/// The header fields a verifier reads, borrowed.
#[derive(Deserialize)]
struct HeaderFields<'a> {
    alg: &'a str,
    typ: Option<&'a str>,
}

/// The registered claims a verifier checks, borrowed.
#[derive(Deserialize)]
struct RegisteredFields<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: &'a str,
    exp: i64,
    iat: i64,
}

/// The parts an HS256 verify cannot avoid, each alone with the same crates keycard uses: their
/// sum is the floor for `verify/keycard` with serde_json, whatever the hot path does.
fn floor(c: &mut Criterion) {
    use base64::Engine;
    let engine = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let key = HmacKey::new(Algorithm::HS256, &SECRET[..32]).expect("key");
    let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &SECRET[..32]);
    let token = builder().sign(&key).expect("sign");
    let (input, tag) = signing_input(&token);
    let mut parts = token.split('.');
    let (header_b64, payload_b64, signature_b64) = (
        parts.next().expect("header"),
        parts.next().expect("payload"),
        parts.next().expect("signature"),
    );
    let header = engine.decode(header_b64).expect("base64url");
    let payload = engine.decode(payload_b64).expect("base64url");

    let mut g = c.benchmark_group("floor (HS256 verify parts)");
    g.bench_function("hmac verify/ring", |b| {
        b.iter(|| ring::hmac::verify(&ring_key, black_box(input), black_box(&tag)))
    });
    g.bench_function("base64url decode 3 parts", |b| {
        let mut out = [0u8; 1024];
        b.iter(|| {
            let mut total = 0;
            for part in [header_b64, payload_b64, signature_b64] {
                total += engine
                    .decode_slice(black_box(part), &mut out)
                    .expect("base64url");
            }
            total
        })
    });
    g.bench_function("header json", |b| {
        b.iter(|| {
            let h: HeaderFields<'_> = serde_json::from_slice(black_box(&header)).expect("json");
            (h.alg.len(), h.typ.map(str::len))
        })
    });
    g.bench_function("claims json borrowed", |b| {
        b.iter(|| {
            let r: RegisteredFields<'_> =
                serde_json::from_slice(black_box(&payload)).expect("json");
            (
                r.iss.len() + r.sub.len() + r.aud.len() + r.jti.len(),
                r.exp,
                r.iat,
            )
        })
    });
    g.bench_function("claims json Claims", |b| {
        b.iter(|| serde_json::from_slice::<Claims>(black_box(&payload)).expect("json"))
    });
    g.finish();
}

/// Runs `iters` verifies split evenly across `threads` scoped threads sharing one validator, and
/// returns the wall time.
fn verify_on_threads(
    threads: u64,
    iters: u64,
    verify_one: &(impl Fn(&mut Vec<u8>) -> bool + Sync),
) -> StdDuration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let share = iters / threads + u64::from(t < iters % threads);
            s.spawn(move || {
                let mut buffer = Vec::with_capacity(1024);
                for _ in 0..share {
                    black_box(verify_one(&mut buffer));
                }
            });
        }
    });
    start.elapsed()
}

fn threads(c: &mut Criterion) {
    let key = HmacKey::new(Algorithm::HS256, &SECRET[..32]).expect("key");
    let token = builder().sign(&key).expect("sign");
    let validator = validator(key);
    let owned = |_: &mut Vec<u8>| validator.verify::<Claims>(black_box(&token)).is_ok();
    let borrowed = |buffer: &mut Vec<u8>| {
        validator
            .verify_borrowed::<Borrowed<'_>>(black_box(&token), buffer)
            .is_ok()
    };

    // The control: if ring's HMAC alone does not scale either, the machine is the limit.
    let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &SECRET[..32]);
    let (input, tag) = signing_input(&token);
    let ring_only = |_: &mut Vec<u8>| ring::hmac::verify(&ring_key, black_box(input), &tag).is_ok();

    let mut g = c.benchmark_group("threads (HS256 verify)");
    g.throughput(Throughput::Elements(1));
    for threads in [1, 2] {
        g.bench_function(format!("ring hmac/{threads} thread"), |b| {
            b.iter_custom(|iters| verify_on_threads(threads, iters, &ring_only))
        });
        g.bench_function(format!("Claims/{threads} thread"), |b| {
            b.iter_custom(|iters| verify_on_threads(threads, iters, &owned))
        });
        g.bench_function(format!("borrowed/{threads} thread"), |b| {
            b.iter_custom(|iters| verify_on_threads(threads, iters, &borrowed))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // Short warm-up and measurement, fewer bootstrap resamples: the whole run in under 3 minutes.
    config = Criterion::default()
        .warm_up_time(StdDuration::from_millis(500))
        .measurement_time(StdDuration::from_secs(1))
        .sample_size(50)
        .nresamples(20_000);
    targets = hmac, rsa, ecdsa, eddsa, rejections, worst_case, floor, threads
}
criterion_main!(benches);
