//! Keys from PEM and DER in every container keycard reads, made by OpenSSL (see
//! `tests/keys/README.md`): each private key signs, each form of its public key verifies, and
//! weak or mismatched keys are refused when constructed.

use crate::common;

use base64::Engine;
use common::key_file;
use keycard::time::Duration;
use keycard::{
    Algorithm, Builder, Claims, EcdsaPrivateKey, EcdsaPublicKey, Ed25519PrivateKey,
    Ed25519PublicKey, ErrorKind, RsaPrivateKey, RsaPublicKey, Signer, Validator, Verifier,
};

/// The DER inside a PEM file, decoded on the test side.
fn der(name: &str) -> Vec<u8> {
    let body: String = key_file(name)
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

fn round_trip(signer: &dyn Signer, verifiers: Vec<Box<dyn Verifier>>) {
    let token = Builder::new()
        .expires_in(Duration::minutes(1))
        .sign(signer)
        .unwrap();
    for verifier in verifiers {
        let shown = format!("{verifier:?}");
        let validator = Validator::builder(verifier).build().unwrap();
        validator
            .verify::<Claims>(&token)
            .unwrap_or_else(|e| panic!("{shown}: {e}"));
    }
}

#[test]
fn rsa_pkcs8_and_pkcs1_private_keys_sign_for_spki_and_pkcs1_public_keys() {
    for alg in [Algorithm::RS256, Algorithm::PS384, Algorithm::RS512] {
        let signers = [
            RsaPrivateKey::from_pem(alg, &key_file("rsa2048.pkcs8.pem")).unwrap(),
            RsaPrivateKey::from_pem(alg, &key_file("rsa2048.pkcs1.pem")).unwrap(),
            RsaPrivateKey::from_der(alg, &der("rsa2048.pkcs8.pem")).unwrap(),
            RsaPrivateKey::from_der(alg, &der("rsa2048.pkcs1.pem")).unwrap(),
        ];
        for signer in &signers {
            round_trip(
                signer,
                vec![
                    Box::new(RsaPublicKey::from_pem(alg, &key_file("rsa2048.spki.pem")).unwrap()),
                    Box::new(
                        RsaPublicKey::from_pem(alg, &key_file("rsa2048.pkcs1.pub.pem")).unwrap(),
                    ),
                    Box::new(RsaPublicKey::from_der(alg, &der("rsa2048.spki.pem")).unwrap()),
                    Box::new(RsaPublicKey::from_der(alg, &der("rsa2048.pkcs1.pub.pem")).unwrap()),
                    Box::new(signer.public_key()),
                ],
            );
        }
    }
}

#[test]
fn rsa_public_key_exports_the_same_spki_openssl_wrote() {
    let key = RsaPublicKey::from_pem(Algorithm::RS256, &key_file("rsa2048.spki.pem")).unwrap();
    assert_eq!(key.to_der(), der("rsa2048.spki.pem"));
    assert_eq!(key.to_pem(), key_file("rsa2048.spki.pem"));
}

#[test]
fn rsa_keys_under_2048_bits_are_refused() {
    let err =
        RsaPrivateKey::from_pem(Algorithm::RS256, &key_file("rsa1024.pkcs8.pem")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key);
    let modulus = [0xffu8; 128]; // 1024 bits
    let err = RsaPublicKey::from_components(Algorithm::RS256, &modulus, &[1, 0, 1]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key);
    assert!(err.to_string().contains("1024 bits is too small"), "{err}");
}

#[test]
fn rsa_keys_refuse_non_rsa_algorithms_and_bad_exponents() {
    let pem = key_file("rsa2048.spki.pem");
    for alg in [Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA] {
        assert_eq!(
            RsaPublicKey::from_pem(alg, &pem).unwrap_err().kind(),
            ErrorKind::Key
        );
    }
    let n = [0xc3u8; 256];
    for e in [&[][..], &[1], &[2], &[1, 0, 0], &[3, 0, 0, 0, 0, 1]] {
        assert!(
            RsaPublicKey::from_components(Algorithm::RS256, &n, e).is_err(),
            "{e:?}"
        );
    }
}

#[test]
fn ec_pkcs8_and_sec1_private_keys_sign_for_spki_and_point_public_keys() {
    let signers = [
        EcdsaPrivateKey::from_pem(Algorithm::ES256, &key_file("p256.pkcs8.pem")).unwrap(),
        EcdsaPrivateKey::from_pem(Algorithm::ES256, &key_file("p256.sec1.pem")).unwrap(),
        EcdsaPrivateKey::from_der(Algorithm::ES256, &der("p256.pkcs8.pem")).unwrap(),
        EcdsaPrivateKey::from_der(Algorithm::ES256, &der("p256.sec1.pem")).unwrap(),
    ];
    let spki = EcdsaPublicKey::from_pem(Algorithm::ES256, &key_file("p256.spki.pem")).unwrap();
    for signer in &signers {
        round_trip(
            signer,
            vec![
                Box::new(spki.clone()),
                Box::new(
                    EcdsaPublicKey::from_der(Algorithm::ES256, &der("p256.spki.pem")).unwrap(),
                ),
                Box::new(
                    EcdsaPublicKey::from_sec1_point(Algorithm::ES256, spki.sec1_point()).unwrap(),
                ),
                Box::new(signer.public_key()),
            ],
        );
    }
    assert_eq!(spki.to_der(), der("p256.spki.pem"));
}

#[test]
fn es384_keys_read_sec1_and_refuse_the_p256_curve() {
    let key = EcdsaPrivateKey::from_pem(Algorithm::ES384, &key_file("p384.sec1.pem")).unwrap();
    let public = EcdsaPublicKey::from_pem(Algorithm::ES384, &key_file("p384.spki.pem")).unwrap();
    round_trip(&key, vec![Box::new(public)]);
    for (alg, file) in [
        (Algorithm::ES256, "p384.spki.pem"),
        (Algorithm::ES384, "p256.spki.pem"),
    ] {
        let err = EcdsaPublicKey::from_pem(alg, &key_file(file)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Key);
        assert!(err.to_string().contains("curve"), "{err}");
    }
    let err = EcdsaPrivateKey::from_pem(Algorithm::ES256, &key_file("p384.sec1.pem")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key);
}

#[test]
fn ed25519_pkcs8_private_key_signs_for_spki_and_raw_public_keys() {
    let key = Ed25519PrivateKey::from_pem(&key_file("ed25519.pkcs8.pem")).unwrap();
    let public = Ed25519PublicKey::from_pem(&key_file("ed25519.spki.pem")).unwrap();
    round_trip(
        &key,
        vec![
            Box::new(public.clone()),
            Box::new(Ed25519PublicKey::from_bytes(public.as_bytes()).unwrap()),
            Box::new(
                Ed25519PrivateKey::from_seed(&key.to_seed())
                    .unwrap()
                    .public_key(),
            ),
        ],
    );
    assert_eq!(public.to_der(), der("ed25519.spki.pem"));
}

#[test]
fn a_pem_of_the_wrong_kind_is_a_key_error() {
    let cases = [
        RsaPrivateKey::from_pem(Algorithm::RS256, &key_file("p256.pkcs8.pem")).err(),
        RsaPublicKey::from_pem(Algorithm::RS256, &key_file("p256.spki.pem")).err(),
        RsaPublicKey::from_pem(Algorithm::RS256, &key_file("rsa2048.pkcs8.pem")).err(),
        EcdsaPrivateKey::from_pem(Algorithm::ES256, &key_file("rsa2048.pkcs8.pem")).err(),
        EcdsaPublicKey::from_pem(Algorithm::ES256, &key_file("ed25519.spki.pem")).err(),
        Ed25519PrivateKey::from_pem(&key_file("p256.pkcs8.pem")).err(),
        Ed25519PublicKey::from_pem(&key_file("rsa2048.spki.pem")).err(),
        Ed25519PublicKey::from_pem("not a pem").err(),
    ];
    for (i, err) in cases.into_iter().enumerate() {
        let err = err.unwrap_or_else(|| panic!("case {i} was accepted"));
        assert_eq!(err.kind(), ErrorKind::Key, "case {i}: {err}");
    }
}

#[test]
fn debug_output_never_contains_private_key_material() {
    let rsa = RsaPrivateKey::from_pem(Algorithm::RS256, &key_file("rsa2048.pkcs8.pem")).unwrap();
    let ec = EcdsaPrivateKey::from_pem(Algorithm::ES256, &key_file("p256.pkcs8.pem")).unwrap();
    let ed = Ed25519PrivateKey::from_pem(&key_file("ed25519.pkcs8.pem")).unwrap();
    let pkcs8_b64 = |name: &str| {
        key_file(name)
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
    };
    for (shown, name) in [
        (format!("{rsa:?}"), "rsa2048.pkcs8.pem"),
        (format!("{ec:?}"), "p256.pkcs8.pem"),
        (format!("{ed:?}"), "ed25519.pkcs8.pem"),
    ] {
        let secret = pkcs8_b64(name);
        assert!(!shown.contains(&secret[20..40]), "{shown}");
        assert!(shown.len() < 120, "{shown}");
    }
}
