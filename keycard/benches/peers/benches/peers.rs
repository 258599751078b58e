#![allow(missing_docs)] // criterion_group! generates an undocumented function.
//! keycard beside the raw primitive, a naive pipeline, jsonwebtoken 12 and jwt-simple 0.15, one
//! criterion group per operation, all in one run (BENCHMARKS.md).
//!
//! Every library does the same work on the same 9-claim token (`iss`, `sub`, `aud`, `exp`, `nbf`,
//! `iat`, `jti`, `scope`, `roles` of 2): **verify** it into the same owned struct ([`Session`])
//! with issuer, audience, `exp` and `nbf` checked, or **sign** it from that struct, its times
//! taken from the clock on each call, with a key parsed once outside the timing. Each library is
//! called the way its documentation shows.
//!
//! - `primitive` is the signature primitive alone on the same signing input: the floor. It is
//!   `ring`, or `aws-lc-rs` when this crate is built with `--features aws-lc-rs` (which also
//!   switches keycard to its aws-lc-rs backend).
//! - `naive` (HS256) is what anyone writes in 30 lines with the primitive, base64 and
//!   serde_json: split, decode the header and check `alg`, HMAC, decode the payload,
//!   `serde_json::from_slice` into the struct, compare `exp`/`nbf`/`iss`/`aud`; and for signing a
//!   constant header, `serde_json::to_vec` of the struct, base64, HMAC. It does not refuse
//!   duplicate names, check the types of registered claims, or bound anything. `naive stack`
//!   is the same verify with the header and the signature decoded into stack buffers instead of
//!   two `Vec`s, as a careful user writes it (issue 23): the stricter baseline.
//!
//! Run from the repository root (about 3 minutes each):
//!
//!     cargo bench --manifest-path keycard/benches/peers/Cargo.toml
//!     cargo bench --manifest-path keycard/benches/peers/Cargo.toml --features aws-lc-rs

use keycard_peers::{
    crypto, naive_sign, naive_verify, naive_verify_stack, now, pem_der, session, Custom, Session,
    SessionRef, AUDIENCE, ED25519_PKCS8, ED25519_SPKI, ISSUER, LIFETIME_SECS, P256_PKCS8,
    P256_SPKI, RSA_PKCS8, RSA_SPKI, SECRET,
};
use std::collections::HashSet;
use std::time::Duration as StdDuration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::measurement::WallTime;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkGroup, Criterion};
use crypto::signature::{self as sig, KeyPair};
use keycard::time::Duration;
use keycard::{
    Algorithm, Builder, EcdsaPrivateKey, Ed25519PrivateKey, HmacKey, RsaPrivateKey, Signer,
    Validator, Verifier,
};

/// keycard signing the struct as it is (`iat` too, like the others) with a template builder:
/// `sign_claims`.
fn keycard_sign(claims: &Session, key: &(impl Signer + ?Sized)) -> Result<String, keycard::Error> {
    Builder::new().without_issued_at().sign_claims(claims, key)
}

/// The same through `Builder::claims` and `sign`, a builder made per token, with the builder's
/// own `iat` (the signing time, read from the clock) in place of the struct's.
fn keycard_claims_sign(
    claims: &Session,
    key: &(impl Signer + ?Sized),
) -> Result<String, keycard::Error> {
    Builder::new().claims(claims).sign(key)
}

/// keycard signing claim by claim (the `claim(name, value)` API), from a builder made once.
fn keycard_claim_builder() -> Builder {
    Builder::new()
        .issuer(ISSUER)
        .subject("user-42")
        .audience(AUDIENCE)
        .jwt_id("7c4b1e7a-6f0e-4f7a-9a55-0d7f0c2f9c11")
        .claim("scope", "read write")
        .claim("roles", ["admin", "billing"])
        .expires_in(Duration::minutes(15))
        .not_before(
            keycard::time::OffsetDateTime::from_unix_timestamp(now() as i64).expect("in range"),
        )
}

fn keycard_validator(key: impl Verifier + 'static) -> Validator {
    Validator::builder(key)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .expect("valid configuration")
}

fn jsonwebtoken_validation(algorithm: jsonwebtoken::Algorithm) -> jsonwebtoken::Validation {
    // `exp` is required and checked by default; `nbf` is checked when asked.
    let mut validation = jsonwebtoken::Validation::new(algorithm);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.validate_nbf = true;
    validation
}

fn jsonwebtoken_sign(
    header: &jsonwebtoken::Header,
    key: &jsonwebtoken::EncodingKey,
) -> jsonwebtoken::errors::Result<String> {
    jsonwebtoken::encode(header, &session(now()), key)
}

fn jwt_simple_options() -> jwt_simple::prelude::VerificationOptions {
    jwt_simple::prelude::VerificationOptions {
        allowed_issuers: Some(HashSet::from([ISSUER.to_owned()])),
        allowed_audiences: Some(HashSet::from([AUDIENCE.to_owned()])),
        ..Default::default()
    }
}

fn jwt_simple_claims() -> jwt_simple::prelude::JWTClaims<Custom> {
    use jwt_simple::prelude::{Claims, Duration};
    let s = session(now());
    Claims::with_custom_claims(
        Custom {
            scope: s.scope,
            roles: s.roles,
        },
        Duration::from_secs(LIFETIME_SECS),
    )
    .with_issuer(s.iss)
    .with_subject(s.sub)
    .with_audience(s.aud)
    .with_jwt_id(s.jti)
}

/// The primitive's public key, parsed once outside the timing like every library's: ring
/// verifies from the key's bytes (it has no parsed form; its parsing is part of every verify),
/// aws-lc-rs from a `ParsedPublicKey`.
#[cfg(not(feature = "aws-lc-rs"))]
struct PublicKey(sig::UnparsedPublicKey<Vec<u8>>);

#[cfg(not(feature = "aws-lc-rs"))]
impl PublicKey {
    fn new(algorithm: &'static dyn sig::VerificationAlgorithm, bytes: &[u8]) -> Self {
        PublicKey(sig::UnparsedPublicKey::new(algorithm, bytes.to_vec()))
    }
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), crypto::error::Unspecified> {
        self.0.verify(message, signature)
    }
}

#[cfg(feature = "aws-lc-rs")]
struct PublicKey(sig::ParsedPublicKey);

#[cfg(feature = "aws-lc-rs")]
impl PublicKey {
    fn new(algorithm: &'static dyn sig::VerificationAlgorithm, bytes: &[u8]) -> Self {
        PublicKey(sig::ParsedPublicKey::new(algorithm, bytes).expect("primitive key"))
    }
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), crypto::error::Unspecified> {
        self.0.verify_sig(message, signature)
    }
}

/// Splits a compact token into its signing input and decoded signature.
fn signing_input(token: &str) -> (&[u8], Vec<u8>) {
    let (input, signature) = token.rsplit_once('.').expect("three parts");
    let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
    (input.as_bytes(), signature)
}

/// Sets fewer, longer samples for operations that take a millisecond or more.
fn slow(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.sample_size(20)
        .measurement_time(StdDuration::from_secs(2))
        .sampling_mode(criterion::SamplingMode::Flat);
}

fn hs256(c: &mut Criterion) {
    use jwt_simple::prelude::MACLike;

    let key = HmacKey::new(Algorithm::HS256, SECRET).expect("key");
    let claims = session(now());
    let token = keycard_sign(&claims, &key).expect("sign");
    let (input, tag) = signing_input(&token);
    let validator = keycard_validator(key.clone());
    let builder = keycard_claim_builder();
    let hmac = crypto::hmac::Key::new(crypto::hmac::HMAC_SHA256, SECRET);
    let jwt_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let jwt_encoding = jsonwebtoken::EncodingKey::from_secret(SECRET).expect("key");
    let jwt_decoding = jsonwebtoken::DecodingKey::from_secret(SECRET).expect("key");
    let jwt_validation = jsonwebtoken_validation(jsonwebtoken::Algorithm::HS256);
    let simple_key = jwt_simple::prelude::HS256Key::from_bytes(SECRET);
    let simple_options = jwt_simple_options();

    // Every verifier accepts the token every signer makes.
    let mut buffer = Vec::with_capacity(1024);
    let mut verify_all = |token: &str| {
        validator.verify::<Session>(token).expect("keycard");
        validator
            .verify_borrowed::<SessionRef<'_>>(token, &mut buffer)
            .expect("keycard borrowed");
        naive_verify(token, &hmac).expect("naive");
        naive_verify_stack(token, &hmac).expect("naive stack");
        jsonwebtoken::decode::<Session>(token, &jwt_decoding, &jwt_validation).expect("jwt");
        simple_key
            .verify_token::<Custom>(token, Some(simple_options.clone()))
            .expect("jwt-simple");
    };
    verify_all(&token);
    verify_all(&naive_sign(&claims, &hmac).expect("sign"));
    verify_all(&jsonwebtoken_sign(&jwt_header, &jwt_encoding).expect("sign"));
    verify_all(&simple_key.authenticate(jwt_simple_claims()).expect("sign"));
    verify_all(&builder.sign(&key).expect("sign"));
    verify_all(&keycard_claims_sign(&claims, &key).expect("sign"));

    let mut g = c.benchmark_group("HS256 verify");
    g.bench_function("keycard", |b| {
        b.iter(|| validator.verify::<Session>(black_box(&token)))
    });
    g.bench_function("keycard borrowed", |b| {
        b.iter(|| {
            validator
                .verify_borrowed::<SessionRef<'_>>(black_box(&token), &mut buffer)
                .map(|s| s.exp)
        })
    });
    g.bench_function("primitive", |b| {
        b.iter(|| crypto::hmac::verify(&hmac, black_box(input), black_box(&tag)))
    });
    g.bench_function("naive", |b| {
        b.iter(|| naive_verify(black_box(&token), &hmac))
    });
    g.bench_function("naive stack", |b| {
        b.iter(|| naive_verify_stack(black_box(&token), &hmac))
    });
    g.bench_function("jsonwebtoken", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Session>(black_box(&token), &jwt_decoding, &jwt_validation)
        })
    });
    g.bench_function("jwt-simple", |b| {
        b.iter(|| {
            simple_key.verify_token::<Custom>(black_box(&token), Some(simple_options.clone()))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("HS256 sign");
    g.bench_function("keycard", |b| {
        b.iter(|| keycard_sign(&session(now()), &key))
    });
    g.bench_function("keycard claims()", |b| {
        b.iter(|| keycard_claims_sign(&session(now()), &key))
    });
    g.bench_function("keycard claim()", |b| b.iter(|| builder.sign(&key)));
    g.bench_function("primitive", |b| {
        b.iter(|| crypto::hmac::sign(&hmac, black_box(input)))
    });
    g.bench_function("naive", |b| b.iter(|| naive_sign(&session(now()), &hmac)));
    g.bench_function("jsonwebtoken", |b| {
        b.iter(|| jsonwebtoken_sign(&jwt_header, &jwt_encoding))
    });
    g.bench_function("jwt-simple", |b| {
        b.iter(|| simple_key.authenticate(jwt_simple_claims()))
    });
    g.finish();
}

/// The sign and verify groups of one asymmetric algorithm. `primitive_sign` and
/// `primitive_verify` run the primitive on the signing input (and signature) of keycard's token.
#[allow(clippy::too_many_arguments)]
fn asymmetric<R, S, V, E: std::fmt::Debug>(
    c: &mut Criterion,
    name: &str,
    key: &(impl Signer + ?Sized),
    validator: &Validator,
    mut primitive_sign: impl FnMut(&[u8]) -> R,
    primitive_verify: impl Fn(&[u8], &[u8]) -> bool,
    (jwt_encoding, jwt_decoding, jwt_algorithm): (
        &jsonwebtoken::EncodingKey,
        &jsonwebtoken::DecodingKey,
        jsonwebtoken::Algorithm,
    ),
    simple_sign: impl Fn() -> S,
    simple_verify: impl Fn(&str) -> Result<V, E>,
    is_slow: bool,
) {
    let token = keycard_sign(&session(now()), key).expect("sign");
    let (input, signature) = signing_input(&token);
    let jwt_header = jsonwebtoken::Header::new(jwt_algorithm);
    let jwt_validation = jsonwebtoken_validation(jwt_algorithm);
    assert!(
        primitive_verify(input, &signature),
        "the primitive accepts keycard's signature"
    );
    validator.verify::<Session>(&token).expect("keycard");
    jsonwebtoken::decode::<Session>(&token, jwt_decoding, &jwt_validation).expect("jwt");
    let jwt_token = jsonwebtoken_sign(&jwt_header, jwt_encoding).expect("sign");
    validator.verify::<Session>(&jwt_token).expect("keycard");
    simple_verify(&token).expect("jwt-simple");
    let mut buffer = Vec::with_capacity(1024);

    let mut g = c.benchmark_group(format!("{name} sign"));
    if is_slow {
        slow(&mut g);
    }
    g.bench_function("keycard", |b| b.iter(|| keycard_sign(&session(now()), key)));
    g.bench_function("primitive", |b| b.iter(|| primitive_sign(black_box(input))));
    g.bench_function("jsonwebtoken", |b| {
        b.iter(|| jsonwebtoken_sign(&jwt_header, jwt_encoding))
    });
    g.bench_function("jwt-simple", |b| b.iter(&simple_sign));
    g.finish();

    let mut g = c.benchmark_group(format!("{name} verify"));
    if is_slow {
        slow(&mut g);
    }
    g.bench_function("keycard", |b| {
        b.iter(|| validator.verify::<Session>(black_box(&token)))
    });
    g.bench_function("keycard borrowed", |b| {
        b.iter(|| {
            validator
                .verify_borrowed::<SessionRef<'_>>(black_box(&token), &mut buffer)
                .map(|s| s.exp)
        })
    });
    g.bench_function("primitive", |b| {
        b.iter(|| primitive_verify(black_box(input), black_box(&signature)))
    });
    g.bench_function("jsonwebtoken", |b| {
        b.iter(|| jsonwebtoken::decode::<Session>(black_box(&token), jwt_decoding, &jwt_validation))
    });
    g.bench_function("jwt-simple", |b| {
        b.iter(|| simple_verify(black_box(&token)))
    });
    g.finish();
}

fn rs256(c: &mut Criterion) {
    use jwt_simple::prelude::{RS256KeyPair, RS256PublicKey, RSAKeyPairLike, RSAPublicKeyLike};

    let key = RsaPrivateKey::from_pem(Algorithm::RS256, RSA_PKCS8).expect("key");
    let pair = sig::RsaKeyPair::from_pkcs8(&pem_der(RSA_PKCS8)).expect("primitive key");
    let public = PublicKey::new(&sig::RSA_PKCS1_2048_8192_SHA256, pair.public_key().as_ref());
    let rng = crypto::rand::SystemRandom::new();
    // ring deprecates this name for `public().modulus_len()`, which aws-lc-rs lacks.
    #[allow(deprecated)]
    let mut out = vec![0; pair.public_modulus_len()];
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
        |token| simple_public.verify_token::<Custom>(token, Some(simple_options.clone())),
        true,
    );
}

fn es256(c: &mut Criterion) {
    use jwt_simple::prelude::{
        ECDSAP256KeyPairLike, ECDSAP256PublicKeyLike, ES256KeyPair, ES256PublicKey,
    };

    let key = EcdsaPrivateKey::from_pem(Algorithm::ES256, P256_PKCS8).expect("key");
    let rng = crypto::rand::SystemRandom::new();
    #[cfg(not(feature = "aws-lc-rs"))]
    let pair = sig::EcdsaKeyPair::from_pkcs8(
        &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
        &pem_der(P256_PKCS8),
        &rng,
    )
    .expect("primitive key");
    #[cfg(feature = "aws-lc-rs")]
    let pair =
        sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &pem_der(P256_PKCS8))
            .expect("primitive key");
    let public = PublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref());
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
        |token| simple_public.verify_token::<Custom>(token, Some(simple_options.clone())),
        false,
    );
}

fn eddsa(c: &mut Criterion) {
    use jwt_simple::prelude::{
        Ed25519KeyPair, Ed25519PublicKey, EdDSAKeyPairLike, EdDSAPublicKeyLike,
    };

    let key = Ed25519PrivateKey::from_pem(ED25519_PKCS8).expect("key");
    let pair = sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pem_der(ED25519_PKCS8))
        .expect("primitive key");
    let public = PublicKey::new(&sig::ED25519, pair.public_key().as_ref());
    let jwt_encoding =
        jsonwebtoken::EncodingKey::from_ed_pem(ED25519_PKCS8.as_bytes()).expect("key");
    let jwt_decoding =
        jsonwebtoken::DecodingKey::from_ed_pem(ED25519_SPKI.as_bytes()).expect("key");
    let simple_pair = Ed25519KeyPair::from_pem(ED25519_PKCS8).expect("key");
    let simple_public = Ed25519PublicKey::from_pem(ED25519_SPKI).expect("key");
    let simple_options = jwt_simple_options();

    asymmetric(
        c,
        "EdDSA",
        &key,
        &keycard_validator(key.public_key()),
        |input| pair.sign(input),
        |input, signature| public.verify(input, signature).is_ok(),
        (&jwt_encoding, &jwt_decoding, jsonwebtoken::Algorithm::EdDSA),
        || simple_pair.sign(jwt_simple_claims()),
        |token| simple_public.verify_token::<Custom>(token, Some(simple_options.clone())),
        false,
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(StdDuration::from_millis(300))
        .measurement_time(StdDuration::from_secs(1))
        .sample_size(50)
        .nresamples(20_000);
    targets = hs256, rs256, es256, eddsa
}
criterion_main!(benches);
