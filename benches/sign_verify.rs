#![allow(missing_docs)] // criterion_group! generates an undocumented function.
//! Sign and verify through keycard beside the raw `ring` primitive on the same bytes, in one run,
//! so the ratio ours ÷ ring is read off one table.
//!
//! Run with `cargo bench --bench sign_verify`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use keycard::{
    Algorithm, Builder, Claims, EcdsaPrivateKey, HmacKey, RsaPrivateKey, Signer, Validator,
    Verifier,
};
use ring::signature::{self as sig, KeyPair};
use time::Duration;

const SECRET: &[u8] = b"a benchmark secret of 32 bytes!!";
const RSA_PKCS8: &str = include_str!("../tests/keys/rsa2048.pkcs8.pem");

/// A realistic 7-claim token.
fn builder() -> Builder {
    Builder::new()
        .issuer("https://auth.example.com")
        .subject("user-42")
        .audience("api")
        .jwt_id("7c4b1e7a-6f0e-4f7a-9a55-0d7f0c2f9c11")
        .claim("scope", "read write")
        .expires_in(Duration::minutes(15))
}

fn validator(key: impl Verifier + 'static) -> Validator {
    Validator::builder(key)
        .issuer("https://auth.example.com")
        .audience("api")
        .build()
        .expect("valid configuration")
}

fn signing_input(token: &str) -> (&[u8], Vec<u8>) {
    let (input, sig_b64) = token.rsplit_once('.').expect("three parts");
    let sig = base64_decode(sig_b64);
    (input.as_bytes(), sig)
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .expect("base64url")
}

fn hs256(c: &mut Criterion) {
    let key = HmacKey::hs256(SECRET).expect("key");
    let token = builder().sign(&key).expect("sign");
    let (input, _) = signing_input(&token);
    let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET);
    let tag = ring::hmac::sign(&ring_key, input);
    let validator = validator(key.clone());
    let builder = builder();

    let mut g = c.benchmark_group("HS256");
    g.bench_function("sign/keycard", |b| b.iter(|| builder.sign(&key)));
    g.bench_function("sign/ring", |b| {
        b.iter(|| ring::hmac::sign(&ring_key, black_box(input)))
    });
    g.bench_function("verify/keycard", |b| {
        b.iter(|| validator.verify::<Claims>(black_box(&token)))
    });
    g.bench_function("verify/ring", |b| {
        b.iter(|| ring::hmac::verify(&ring_key, black_box(input), tag.as_ref()))
    });
    g.finish();
}

fn rs256(c: &mut Criterion) {
    let key = RsaPrivateKey::from_pem(Algorithm::RS256, RSA_PKCS8).expect("key");
    let token = builder().sign(&key).expect("sign");
    let (input, signature) = signing_input(&token);
    let pair = {
        let (_, der) = pem_body(RSA_PKCS8);
        sig::RsaKeyPair::from_pkcs8(&der).expect("ring key")
    };
    let public = sig::UnparsedPublicKey::new(
        &sig::RSA_PKCS1_2048_8192_SHA256,
        pair.public_key().as_ref().to_vec(),
    );
    let rng = ring::rand::SystemRandom::new();
    let validator = validator(key.public_key());
    let builder = builder();

    let mut g = c.benchmark_group("RS256");
    g.bench_function("sign/keycard", |b| b.iter(|| builder.sign(&key)));
    g.bench_function("sign/ring", |b| {
        let mut out = vec![0; pair.public().modulus_len()];
        b.iter(|| pair.sign(&sig::RSA_PKCS1_SHA256, &rng, black_box(input), &mut out))
    });
    g.bench_function("verify/keycard", |b| {
        b.iter(|| validator.verify::<Claims>(black_box(&token)))
    });
    g.bench_function("verify/ring", |b| {
        b.iter(|| public.verify(black_box(input), &signature))
    });
    g.finish();
}

fn es256(c: &mut Criterion) {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .expect("generate");
    let key = EcdsaPrivateKey::from_der(Algorithm::ES256, pkcs8.as_ref()).expect("key");
    let pair =
        sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("ring key");
    let token = builder().sign(&key).expect("sign");
    let (input, signature) = signing_input(&token);
    let public = sig::UnparsedPublicKey::new(
        &sig::ECDSA_P256_SHA256_FIXED,
        pair.public_key().as_ref().to_vec(),
    );
    let validator = validator(key.public_key());
    let builder = builder();

    let mut g = c.benchmark_group("ES256");
    g.bench_function("sign/keycard", |b| b.iter(|| builder.sign(&key)));
    g.bench_function("sign/ring", |b| {
        b.iter(|| pair.sign(&rng, black_box(input)))
    });
    g.bench_function("verify/keycard", |b| {
        b.iter(|| validator.verify::<Claims>(black_box(&token)))
    });
    g.bench_function("verify/ring", |b| {
        b.iter(|| public.verify(black_box(input), &signature))
    });
    g.finish();
    // Keeps the unused-import lint quiet when a group is commented out while profiling.
    let _ = Signer::algorithm(&key);
}

fn pem_body(pem: &str) -> (String, Vec<u8>) {
    use base64::Engine;
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    let der = base64::engine::general_purpose::STANDARD
        .decode(&body)
        .expect("pem base64");
    (body, der)
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = hs256, rs256, es256
}
criterion_main!(benches);
