#![allow(missing_docs)] // criterion_group! generates an undocumented function.
//! keycard, the raw `ring` primitive, jsonwebtoken 12 and jwt-simple 0.15 side by side, one
//! criterion group per operation, in one run (BENCHMARKS.md).
//!
//! Every library does the same work: sign the realistic 7-claim token (`iss`, `sub`, `aud`,
//! `jti`, `scope`, `exp`, `iat`) with a key parsed once, outside the timing; or verify the token
//! keycard minted, check issuer, audience and expiry, and decode the claims into a typed struct
//! (owned fields: `sub`, `jti`, `scope`). Each is called the way its documentation shows. `ring`
//! is the signature primitive alone on the same signing input and key: the floor.
//!
//! Run from the repository root with `cargo bench --manifest-path benches/peers/Cargo.toml`
//! (about 2 minutes).

use std::collections::HashSet;
use std::time::Duration as StdDuration;

use criterion::measurement::WallTime;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkGroup, Criterion};
use keycard::time::Duration;
use keycard::{
    Algorithm, Builder, EcdsaPrivateKey, HmacKey, RsaPrivateKey, Signer, Validator, Verifier,
};
use ring::signature::{self as sig, KeyPair};
use serde::{Deserialize, Serialize};

const SECRET: &[u8] = b"a benchmark secret of 32 bytes!!";
const RSA_PKCS8: &str = include_str!("../../../tests/keys/rsa2048.pkcs8.pem");
const RSA_SPKI: &str = include_str!("../../../tests/keys/rsa2048.spki.pem");
const P256_PKCS8: &str = include_str!("../../../tests/keys/p256.pkcs8.pem");
const P256_SPKI: &str = include_str!("../../../tests/keys/p256.spki.pem");

const ISSUER: &str = "https://auth.example.com";
const SUBJECT: &str = "user-42";
const AUDIENCE: &str = "api";
const JWT_ID: &str = "7c4b1e7a-6f0e-4f7a-9a55-0d7f0c2f9c11";
const SCOPE: &str = "read write";
const LIFETIME_SECS: u64 = 15 * 60;

/// What an API handler reads from a verified token, owned.
#[derive(Deserialize)]
#[allow(dead_code)] // Filled by serde and returned to criterion, which keeps it alive unread.
struct Access {
    sub: String,
    jti: String,
    scope: String,
}

/// jwt-simple keeps the registered claims itself; its custom part is the rest.
#[derive(Serialize, Deserialize)]
struct Scope {
    scope: String,
}

/// The 7 claims as jsonwebtoken serializes them.
#[derive(Serialize)]
struct Mint<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: &'a str,
    scope: &'a str,
    exp: u64,
    iat: u64,
}

fn keycard_builder() -> Builder {
    Builder::new()
        .issuer(ISSUER)
        .subject(SUBJECT)
        .audience(AUDIENCE)
        .jwt_id(JWT_ID)
        .claim("scope", SCOPE)
        .expires_in(Duration::minutes(15))
}

fn keycard_validator(key: impl Verifier + 'static) -> Validator {
    Validator::builder(key)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .expect("valid configuration")
}

fn jsonwebtoken_validation(algorithm: jsonwebtoken::Algorithm) -> jsonwebtoken::Validation {
    // `exp` is required and checked by default.
    let mut validation = jsonwebtoken::Validation::new(algorithm);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation
}

fn jsonwebtoken_sign(
    header: &jsonwebtoken::Header,
    key: &jsonwebtoken::EncodingKey,
) -> jsonwebtoken::errors::Result<String> {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = Mint {
        iss: ISSUER,
        sub: SUBJECT,
        aud: AUDIENCE,
        jti: JWT_ID,
        scope: SCOPE,
        exp: now + LIFETIME_SECS,
        iat: now,
    };
    jsonwebtoken::encode(header, &claims, key)
}

fn jwt_simple_options() -> jwt_simple::prelude::VerificationOptions {
    jwt_simple::prelude::VerificationOptions {
        allowed_issuers: Some(HashSet::from([ISSUER.to_owned()])),
        allowed_audiences: Some(HashSet::from([AUDIENCE.to_owned()])),
        ..Default::default()
    }
}

fn jwt_simple_claims() -> jwt_simple::prelude::JWTClaims<Scope> {
    use jwt_simple::prelude::{Claims, Duration};
    let mut claims = Claims::with_custom_claims(
        Scope {
            scope: SCOPE.to_owned(),
        },
        Duration::from_secs(LIFETIME_SECS),
    )
    .with_issuer(ISSUER)
    .with_subject(SUBJECT)
    .with_audience(AUDIENCE)
    .with_jwt_id(JWT_ID);
    // jwt-simple adds `nbf` by default; the others mint 7 claims.
    claims.invalid_before = None;
    claims
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

/// Sets fewer, longer samples for operations that take a millisecond or more.
fn slow(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.sample_size(20)
        .measurement_time(StdDuration::from_secs(3))
        .sampling_mode(criterion::SamplingMode::Flat);
}

fn hs256(c: &mut Criterion) {
    use jwt_simple::prelude::MACLike;

    let key = HmacKey::new(Algorithm::HS256, SECRET).expect("key");
    let builder = keycard_builder();
    let token = builder.sign(&key).expect("sign");
    let (input, tag) = signing_input(&token);
    let validator = keycard_validator(key.clone());
    let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET);
    let jwt_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let jwt_encoding = jsonwebtoken::EncodingKey::from_secret(SECRET).expect("key");
    let jwt_decoding = jsonwebtoken::DecodingKey::from_secret(SECRET).expect("key");
    let jwt_validation = jsonwebtoken_validation(jsonwebtoken::Algorithm::HS256);
    let simple_key = jwt_simple::prelude::HS256Key::from_bytes(SECRET);
    let simple_options = jwt_simple_options();

    // Every verifier accepts the token every signer makes, and keycard's.
    let verify_all = |token: &str| {
        validator.verify::<Access>(token).expect("keycard");
        jsonwebtoken::decode::<Access>(token, &jwt_decoding, &jwt_validation).expect("jwt");
        simple_key
            .verify_token::<Scope>(token, Some(simple_options.clone()))
            .expect("jwt-simple");
    };
    verify_all(&token);
    verify_all(&jsonwebtoken_sign(&jwt_header, &jwt_encoding).expect("sign"));
    verify_all(&simple_key.authenticate(jwt_simple_claims()).expect("sign"));

    let mut g = c.benchmark_group("HS256 verify+decode");
    g.bench_function("keycard", |b| {
        b.iter(|| validator.verify::<Access>(black_box(&token)))
    });
    g.bench_function("ring", |b| {
        b.iter(|| ring::hmac::verify(&ring_key, black_box(input), black_box(&tag)))
    });
    g.bench_function("jsonwebtoken", |b| {
        b.iter(|| jsonwebtoken::decode::<Access>(black_box(&token), &jwt_decoding, &jwt_validation))
    });
    g.bench_function("jwt-simple", |b| {
        b.iter(|| simple_key.verify_token::<Scope>(black_box(&token), Some(simple_options.clone())))
    });
    g.finish();

    let mut g = c.benchmark_group("HS256 sign");
    g.bench_function("keycard", |b| b.iter(|| builder.sign(&key)));
    g.bench_function("ring", |b| {
        b.iter(|| ring::hmac::sign(&ring_key, black_box(input)))
    });
    g.bench_function("jsonwebtoken", |b| {
        b.iter(|| jsonwebtoken_sign(&jwt_header, &jwt_encoding))
    });
    g.bench_function("jwt-simple", |b| {
        b.iter(|| simple_key.authenticate(jwt_simple_claims()))
    });
    g.finish();
}

/// The sign and verify groups of one asymmetric algorithm. `ring_sign` and `ring_verify` run the
/// primitive on the signing input (and signature) of keycard's token.
#[allow(clippy::too_many_arguments)]
fn asymmetric<R, S, V, E: std::fmt::Debug>(
    c: &mut Criterion,
    name: &str,
    key: &(impl Signer + ?Sized),
    validator: &Validator,
    mut ring_sign: impl FnMut(&[u8]) -> R,
    ring_verify: impl Fn(&[u8], &[u8]) -> bool,
    (jwt_encoding, jwt_decoding, jwt_algorithm): (
        &jsonwebtoken::EncodingKey,
        &jsonwebtoken::DecodingKey,
        jsonwebtoken::Algorithm,
    ),
    simple_sign: impl Fn() -> S,
    simple_verify: impl Fn(&str) -> Result<V, E>,
    is_slow: bool,
) {
    let builder = keycard_builder();
    let token = builder.sign(key).expect("sign");
    let (input, signature) = signing_input(&token);
    let jwt_header = jsonwebtoken::Header::new(jwt_algorithm);
    let jwt_validation = jsonwebtoken_validation(jwt_algorithm);
    assert!(
        ring_verify(input, &signature),
        "ring accepts keycard's signature"
    );
    validator.verify::<Access>(&token).expect("keycard");
    jsonwebtoken::decode::<Access>(&token, jwt_decoding, &jwt_validation).expect("jwt");
    let jwt_token = jsonwebtoken_sign(&jwt_header, jwt_encoding).expect("sign");
    validator.verify::<Access>(&jwt_token).expect("keycard");
    simple_verify(&token).expect("jwt-simple");

    let mut g = c.benchmark_group(format!("{name} sign"));
    if is_slow {
        slow(&mut g);
    }
    g.bench_function("keycard", |b| b.iter(|| builder.sign(key)));
    g.bench_function("ring", |b| b.iter(|| ring_sign(black_box(input))));
    g.bench_function("jsonwebtoken", |b| {
        b.iter(|| jsonwebtoken_sign(&jwt_header, jwt_encoding))
    });
    g.bench_function("jwt-simple", |b| b.iter(&simple_sign));
    g.finish();

    let mut g = c.benchmark_group(format!("{name} verify+decode"));
    if is_slow {
        slow(&mut g);
    }
    g.bench_function("keycard", |b| {
        b.iter(|| validator.verify::<Access>(black_box(&token)))
    });
    g.bench_function("ring", |b| {
        b.iter(|| ring_verify(black_box(input), black_box(&signature)))
    });
    g.bench_function("jsonwebtoken", |b| {
        b.iter(|| jsonwebtoken::decode::<Access>(black_box(&token), jwt_decoding, &jwt_validation))
    });
    g.bench_function("jwt-simple", |b| {
        b.iter(|| simple_verify(black_box(&token)))
    });
    g.finish();
}

fn rs256(c: &mut Criterion) {
    use jwt_simple::prelude::{RS256KeyPair, RS256PublicKey, RSAKeyPairLike, RSAPublicKeyLike};

    let key = RsaPrivateKey::from_pem(Algorithm::RS256, RSA_PKCS8).expect("key");
    let pair = sig::RsaKeyPair::from_pkcs8(&pem_der(RSA_PKCS8)).expect("ring key");
    let public = sig::UnparsedPublicKey::new(
        &sig::RSA_PKCS1_2048_8192_SHA256,
        pair.public_key().as_ref().to_vec(),
    );
    let rng = ring::rand::SystemRandom::new();
    let mut out = vec![0; pair.public().modulus_len()];
    let jwt_encoding = jsonwebtoken::EncodingKey::from_rsa_pem(RSA_PKCS8.as_bytes()).expect("key");
    let jwt_decoding = jsonwebtoken::DecodingKey::from_rsa_pem(RSA_SPKI.as_bytes()).expect("key");
    let simple_pair = RS256KeyPair::from_pem(RSA_PKCS8).expect("key");
    let simple_public = RS256PublicKey::from_pem(RSA_SPKI).expect("key");
    let simple_options = jwt_simple_options();

    asymmetric(
        c,
        "RS256",
        &key,
        &keycard_validator(key.public_key()),
        |input| {
            pair.sign(&sig::RSA_PKCS1_SHA256, &rng, input, &mut out)
                .is_ok()
        },
        |input, signature| public.verify(input, signature).is_ok(),
        (&jwt_encoding, &jwt_decoding, jsonwebtoken::Algorithm::RS256),
        || simple_pair.sign(jwt_simple_claims()),
        |token| simple_public.verify_token::<Scope>(token, Some(simple_options.clone())),
        true,
    );
}

fn es256(c: &mut Criterion) {
    use jwt_simple::prelude::{
        ECDSAP256KeyPairLike, ECDSAP256PublicKeyLike, ES256KeyPair, ES256PublicKey,
    };

    let key = EcdsaPrivateKey::from_pem(Algorithm::ES256, P256_PKCS8).expect("key");
    let rng = ring::rand::SystemRandom::new();
    let pair = sig::EcdsaKeyPair::from_pkcs8(
        &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
        &pem_der(P256_PKCS8),
        &rng,
    )
    .expect("ring key");
    let public = sig::UnparsedPublicKey::new(
        &sig::ECDSA_P256_SHA256_FIXED,
        pair.public_key().as_ref().to_vec(),
    );
    let jwt_encoding = jsonwebtoken::EncodingKey::from_ec_pem(P256_PKCS8.as_bytes()).expect("key");
    let jwt_decoding = jsonwebtoken::DecodingKey::from_ec_pem(P256_SPKI.as_bytes()).expect("key");
    let simple_pair = ES256KeyPair::from_pem(P256_PKCS8).expect("key");
    let simple_public = ES256PublicKey::from_pem(P256_SPKI).expect("key");
    let simple_options = jwt_simple_options();

    asymmetric(
        c,
        "ES256",
        &key,
        &keycard_validator(key.public_key()),
        |input| pair.sign(&rng, input).is_ok(),
        |input, signature| public.verify(input, signature).is_ok(),
        (&jwt_encoding, &jwt_decoding, jsonwebtoken::Algorithm::ES256),
        || simple_pair.sign(jwt_simple_claims()),
        |token| simple_public.verify_token::<Scope>(token, Some(simple_options.clone())),
        false,
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(StdDuration::from_millis(500))
        .measurement_time(StdDuration::from_secs(1))
        .sample_size(50)
        .nresamples(20_000);
    targets = hs256, rs256, es256
}
criterion_main!(benches);
