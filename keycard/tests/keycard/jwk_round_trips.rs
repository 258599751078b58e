//! Round trips for every algorithm and every key format, and across formats: a token signed with
//! a key read from PEM, DER, raw bytes or a JWK verifies with the public key read from any other
//! format, and a tampered signature never does. The JWKs are built here from the OpenSSL-made
//! files in `tests/keys/` by a small independent DER reader, not by keycard.

use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use keycard::time::Duration;
use keycard::{
    Algorithm, Builder, Claims, EcdsaPrivateKey, EcdsaPublicKey, Ed25519PrivateKey,
    Ed25519PublicKey, Error, HmacKey, Jwk, KeySet, RsaPrivateKey, RsaPublicKey, Signer, Validator,
    ValidatorBuilder, Verifier,
};
use serde_json::json;

fn key_file(name: &str) -> String {
    let path = format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap()
}

/// The DER inside a PEM file, read without keycard.
fn pem_der(name: &str) -> Vec<u8> {
    let text = key_file(name);
    let body: String = text
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    STANDARD.decode(body).unwrap()
}

/// One DER element: (tag, contents, rest). Short and long definite lengths only.
fn tlv(der: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = der[0];
    let (len, header) = if der[1] < 0x80 {
        (der[1] as usize, 2)
    } else {
        let count = (der[1] & 0x7f) as usize;
        let len = der[2..2 + count]
            .iter()
            .fold(0usize, |n, &b| (n << 8) | b as usize);
        (len, 2 + count)
    };
    (tag, &der[header..header + len], &der[header + len..])
}

/// The elements inside a constructed element's contents.
fn children(mut contents: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while !contents.is_empty() {
        let (tag, value, rest) = tlv(contents);
        out.push((tag, value));
        contents = rest;
    }
    out
}

fn unsigned(int: &[u8]) -> &[u8] {
    match int {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => int,
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 8017 A.1.2 `RSAPrivateKey` as a private JWK (RFC 7518 §6.3.2).
fn rsa_private_jwk() -> Jwk {
    let der = pem_der("rsa2048.pkcs1.pem");
    let (_, seq, _) = tlv(&der);
    let ints: Vec<&[u8]> = children(seq)
        .into_iter()
        .map(|(_, v)| unsigned(v))
        .collect();
    let names = ["n", "e", "d", "p", "q", "dp", "dq", "qi"];
    let mut jwk = json!({"kty": "RSA", "kid": "rsa-2048"});
    for (name, value) in names.iter().zip(&ints[1..]) {
        jwk[*name] = json!(b64(value));
    }
    Jwk::from_json(&jwk.to_string()).unwrap()
}

/// SubjectPublicKeyInfo's key bits.
fn spki_key(name: &str) -> Vec<u8> {
    let der = pem_der(name);
    let (_, seq, _) = tlv(&der);
    let parts = children(seq);
    parts[1].1[1..].to_vec()
}

/// RFC 5915 `ECPrivateKey` as a private JWK (RFC 7518 §6.2.2).
fn ec_private_jwk(sec1_pem: &str, crv: &str) -> Jwk {
    let der = pem_der(sec1_pem);
    let (_, seq, _) = tlv(&der);
    let parts = children(seq);
    let d = parts[1].1;
    let public = parts
        .iter()
        .find(|(tag, _)| *tag == 0xa1)
        .map(|(_, v)| tlv(v).1[1..].to_vec())
        .unwrap();
    let half = (public.len() - 1) / 2;
    let jwk = json!({"kty":"EC","crv":crv,"d":b64(d),
        "x":b64(&public[1..1 + half]),"y":b64(&public[1 + half..]), "kid": crv});
    Jwk::from_json(&jwk.to_string()).unwrap()
}

/// RFC 8410 PKCS#8 and SPKI as a private OKP JWK (RFC 8037 §2).
fn ed25519_private_jwk() -> Jwk {
    let der = pem_der("ed25519.pkcs8.pem");
    let (_, seq, _) = tlv(&der);
    let parts = children(seq);
    let (_, seed, _) = tlv(parts[2].1);
    let x = spki_key("ed25519.spki.pem");
    let jwk = json!({"kty":"OKP","crv":"Ed25519","d":b64(seed),"x":b64(&x),"kid":"ed"});
    Jwk::from_json(&jwk.to_string()).unwrap()
}

type Signers = Vec<(&'static str, Box<dyn Signer>)>;
type Verifiers = Vec<(&'static str, Box<dyn Fn() -> ValidatorBuilder>)>;

/// A validator source for one verification key.
fn key(verifier: impl Verifier + 'static) -> Box<dyn Fn() -> ValidatorBuilder> {
    let verifier: Arc<dyn Verifier> = Arc::new(verifier);
    Box::new(move || Validator::builder(Arc::clone(&verifier)))
}

/// A copy of the token with one signature character changed (not the last, whose spare bits
/// would make it a base64url error instead of a signature error).
fn tampered(token: &str) -> String {
    let at = token.rfind('.').unwrap() + 10;
    let mut bytes = token.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

/// Every signer's token verifies with every verifier, and its tampered copy with none.
fn assert_all_combinations_verify(algorithm: Algorithm, signers: Signers, verifiers: Verifiers) {
    for (signer_name, signer) in &signers {
        assert_eq!(signer.algorithm(), algorithm, "{signer_name}");
        let token = Builder::new()
            .subject("round-trip")
            .expires_in(Duration::minutes(5))
            .sign(signer)
            .unwrap();
        for (verifier_name, verifier) in &verifiers {
            let validator = verifier().build().unwrap();
            let claims: Claims = validator
                .verify(&token)
                .unwrap_or_else(|e| panic!("{algorithm}: {signer_name} → {verifier_name}: {e}"));
            assert_eq!(claims.subject.as_deref(), Some("round-trip"));
            let err = validator.verify::<Claims>(&tampered(&token)).unwrap_err();
            assert!(
                matches!(err, Error::Signature),
                "{algorithm}: {signer_name} → {verifier_name}: {err}"
            );
        }
    }
}

/// The key set form of a JWK: its public half in a JWK Set document, read through
/// `KeySet::from_jwks_for`.
fn through_key_set(jwk: &Jwk, algorithm: Algorithm) -> Box<dyn Fn() -> ValidatorBuilder> {
    let document = format!(r#"{{"keys":[{}]}}"#, jwk.to_public().unwrap().to_json());
    let set = KeySet::from_jwks_for(&document, &[algorithm]).unwrap();
    assert_eq!(set.len(), 1, "{:?}", set.skipped());
    Box::new(move || Validator::builder_with_keys(set.clone()))
}

#[test]
fn rsa_every_algorithm_round_trips_across_pem_der_components_and_jwk() {
    let private_jwk = rsa_private_jwk();
    let public_jwk = private_jwk.to_public().unwrap();
    let pkcs8_der = pem_der("rsa2048.pkcs8.pem");
    let pkcs1_der = pem_der("rsa2048.pkcs1.pem");
    let spki_der = pem_der("rsa2048.spki.pem");
    let spki_bits = spki_key("rsa2048.spki.pem");
    let (_, pkcs1_public, _) = tlv(&spki_bits);
    let ne: Vec<Vec<u8>> = children(pkcs1_public)
        .into_iter()
        .map(|(_, v)| unsigned(v).to_vec())
        .collect();
    for algorithm in [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ] {
        let signers: Signers = vec![
            (
                "PKCS#8 PEM",
                Box::new(
                    RsaPrivateKey::from_pem(algorithm, &key_file("rsa2048.pkcs8.pem")).unwrap(),
                ),
            ),
            (
                "PKCS#1 PEM",
                Box::new(
                    RsaPrivateKey::from_pem(algorithm, &key_file("rsa2048.pkcs1.pem")).unwrap(),
                ),
            ),
            (
                "PKCS#8 DER",
                Box::new(RsaPrivateKey::from_der(algorithm, &pkcs8_der).unwrap()),
            ),
            (
                "PKCS#1 DER",
                Box::new(RsaPrivateKey::from_der(algorithm, &pkcs1_der).unwrap()),
            ),
            (
                "private JWK",
                Box::new(RsaPrivateKey::from_jwk(algorithm, &private_jwk).unwrap()),
            ),
            ("Jwk::to_signer", private_jwk.to_signer(algorithm).unwrap()),
        ];
        let exported = RsaPublicKey::from_pem(algorithm, &key_file("rsa2048.spki.pem"))
            .unwrap()
            .to_jwk();
        let verifiers: Verifiers = vec![
            (
                "SPKI PEM",
                key(RsaPublicKey::from_pem(algorithm, &key_file("rsa2048.spki.pem")).unwrap()),
            ),
            (
                "PKCS#1 PEM",
                key(RsaPublicKey::from_pem(algorithm, &key_file("rsa2048.pkcs1.pub.pem")).unwrap()),
            ),
            (
                "SPKI DER",
                key(RsaPublicKey::from_der(algorithm, &spki_der).unwrap()),
            ),
            (
                "n and e",
                key(RsaPublicKey::from_components(algorithm, &ne[0], &ne[1]).unwrap()),
            ),
            (
                "public JWK",
                key(RsaPublicKey::from_jwk(algorithm, &public_jwk).unwrap()),
            ),
            (
                "private JWK's public half",
                key(private_jwk.to_verifier(algorithm).unwrap()),
            ),
            (
                "exported JWK",
                key(RsaPublicKey::from_jwk(algorithm, &exported).unwrap()),
            ),
            ("key set", through_key_set(&public_jwk, algorithm)),
        ];
        assert_all_combinations_verify(algorithm, signers, verifiers);
    }
}

#[test]
fn es256_round_trips_across_pkcs8_sec1_der_point_and_jwk() {
    let algorithm = Algorithm::ES256;
    let private_jwk = ec_private_jwk("p256.sec1.pem", "P-256");
    let point = spki_key("p256.spki.pem");
    let signers: Signers = vec![
        (
            "PKCS#8 PEM",
            Box::new(EcdsaPrivateKey::from_pem(algorithm, &key_file("p256.pkcs8.pem")).unwrap()),
        ),
        (
            "SEC1 PEM",
            Box::new(EcdsaPrivateKey::from_pem(algorithm, &key_file("p256.sec1.pem")).unwrap()),
        ),
        (
            "PKCS#8 DER",
            Box::new(EcdsaPrivateKey::from_der(algorithm, &pem_der("p256.pkcs8.pem")).unwrap()),
        ),
        (
            "SEC1 DER",
            Box::new(EcdsaPrivateKey::from_der(algorithm, &pem_der("p256.sec1.pem")).unwrap()),
        ),
        (
            "private JWK",
            Box::new(EcdsaPrivateKey::from_jwk(algorithm, &private_jwk).unwrap()),
        ),
        ("Jwk::to_signer", private_jwk.to_signer(algorithm).unwrap()),
    ];
    let exported = EcdsaPublicKey::from_sec1_point(algorithm, &point)
        .unwrap()
        .to_jwk();
    let verifiers: Verifiers = vec![
        (
            "SPKI PEM",
            key(EcdsaPublicKey::from_pem(algorithm, &key_file("p256.spki.pem")).unwrap()),
        ),
        (
            "SPKI DER",
            key(EcdsaPublicKey::from_der(algorithm, &pem_der("p256.spki.pem")).unwrap()),
        ),
        (
            "SEC1 point",
            key(EcdsaPublicKey::from_sec1_point(algorithm, &point).unwrap()),
        ),
        (
            "public JWK",
            key(EcdsaPublicKey::from_jwk(algorithm, &private_jwk.to_public().unwrap()).unwrap()),
        ),
        (
            "exported JWK",
            key(exported.to_verifier(algorithm).unwrap()),
        ),
        ("key set", through_key_set(&private_jwk, algorithm)),
    ];
    assert_all_combinations_verify(algorithm, signers, verifiers);
}

#[test]
fn es384_round_trips_across_sec1_der_point_and_jwk() {
    let algorithm = Algorithm::ES384;
    let private_jwk = ec_private_jwk("p384.sec1.pem", "P-384");
    let point = spki_key("p384.spki.pem");
    let generated = EcdsaPrivateKey::from_pem(algorithm, &key_file("p384.sec1.pem")).unwrap();
    let signers: Signers = vec![
        (
            "SEC1 PEM",
            Box::new(EcdsaPrivateKey::from_pem(algorithm, &key_file("p384.sec1.pem")).unwrap()),
        ),
        (
            "SEC1 DER",
            Box::new(EcdsaPrivateKey::from_der(algorithm, &pem_der("p384.sec1.pem")).unwrap()),
        ),
        (
            "PKCS#8 DER re-read",
            Box::new(EcdsaPrivateKey::from_der(algorithm, &generated.to_der()).unwrap()),
        ),
        (
            "private JWK",
            Box::new(EcdsaPrivateKey::from_jwk(algorithm, &private_jwk).unwrap()),
        ),
    ];
    let verifiers: Verifiers = vec![
        (
            "SPKI PEM",
            key(EcdsaPublicKey::from_pem(algorithm, &key_file("p384.spki.pem")).unwrap()),
        ),
        (
            "SPKI DER",
            key(EcdsaPublicKey::from_der(algorithm, &pem_der("p384.spki.pem")).unwrap()),
        ),
        (
            "SEC1 point",
            key(EcdsaPublicKey::from_sec1_point(algorithm, &point).unwrap()),
        ),
        (
            "public JWK",
            key(private_jwk.to_verifier(algorithm).unwrap()),
        ),
        ("key set", through_key_set(&private_jwk, algorithm)),
    ];
    assert_all_combinations_verify(algorithm, signers, verifiers);
}

#[test]
fn eddsa_round_trips_across_pkcs8_der_raw_bytes_and_jwk() {
    let algorithm = Algorithm::EdDSA;
    let private_jwk = ed25519_private_jwk();
    let der = pem_der("ed25519.pkcs8.pem");
    let (_, seq, _) = tlv(&der);
    let seed = tlv(children(seq)[2].1).1.to_vec();
    let x = spki_key("ed25519.spki.pem");
    let signers: Signers = vec![
        (
            "PKCS#8 PEM",
            Box::new(Ed25519PrivateKey::from_pem(&key_file("ed25519.pkcs8.pem")).unwrap()),
        ),
        (
            "PKCS#8 DER",
            Box::new(Ed25519PrivateKey::from_der(&der).unwrap()),
        ),
        (
            "raw seed",
            Box::new(Ed25519PrivateKey::from_seed(&seed).unwrap()),
        ),
        (
            "private JWK",
            Box::new(Ed25519PrivateKey::from_jwk(&private_jwk).unwrap()),
        ),
    ];
    let verifiers: Verifiers = vec![
        (
            "SPKI PEM",
            key(Ed25519PublicKey::from_pem(&key_file("ed25519.spki.pem")).unwrap()),
        ),
        (
            "SPKI DER",
            key(Ed25519PublicKey::from_der(&pem_der("ed25519.spki.pem")).unwrap()),
        ),
        ("raw bytes", key(Ed25519PublicKey::from_bytes(&x).unwrap())),
        (
            "public JWK",
            key(Ed25519PublicKey::from_jwk(&private_jwk.to_public().unwrap()).unwrap()),
        ),
        (
            "exported JWK",
            key(Ed25519PublicKey::from_bytes(&x)
                .unwrap()
                .to_jwk()
                .to_verifier(algorithm)
                .unwrap()),
        ),
        ("key set", through_key_set(&private_jwk, algorithm)),
    ];
    assert_all_combinations_verify(algorithm, signers, verifiers);
}

#[test]
fn hmac_every_algorithm_round_trips_between_raw_secret_and_jwk() {
    for (algorithm, len) in [
        (Algorithm::HS256, 32u8),
        (Algorithm::HS384, 48),
        (Algorithm::HS512, 64),
    ] {
        let secret: Vec<u8> = (0..len).map(|i: u8| i.wrapping_mul(7) ^ 3).collect();
        let raw = |secret: &[u8]| match algorithm {
            Algorithm::HS256 => HmacKey::new(Algorithm::HS256, secret),
            Algorithm::HS384 => HmacKey::new(Algorithm::HS384, secret),
            _ => HmacKey::new(Algorithm::HS512, secret),
        };
        let jwk = Jwk::from_json(
            &json!({"kty":"oct","alg":algorithm.as_str(),"k":b64(&secret)}).to_string(),
        )
        .unwrap();
        let document = format!(r#"{{"keys":[{}]}}"#, jwk.to_json());
        let set = KeySet::from_jwks_with_secrets(&document).unwrap();
        assert_eq!(set.len(), 1);
        let signers: Signers = vec![
            ("raw", Box::new(raw(&secret).unwrap())),
            ("JWK", Box::new(HmacKey::from_jwk(algorithm, &jwk).unwrap())),
            ("Jwk::to_signer", jwk.to_signer(algorithm).unwrap()),
        ];
        let verifiers: Verifiers = vec![
            ("raw", key(raw(&secret).unwrap())),
            ("JWK", key(jwk.to_verifier(algorithm).unwrap())),
        ];
        assert_all_combinations_verify(algorithm, signers, verifiers);
        // HMAC keys are secrets: never in an exported key set.
        assert_eq!(set.to_json(), r#"{"keys":[]}"#);
    }
}

#[test]
fn generated_keys_round_trip_through_their_public_jwk() {
    let ec = EcdsaPrivateKey::generate(Algorithm::ES256).unwrap();
    let ec = ec.with_key_id("ec");
    let ed = Ed25519PrivateKey::generate().unwrap().with_key_id("ed");
    let ec_jwk = Jwk::from_json(&ec.public_key().to_jwk().to_json()).unwrap();
    let ed_jwk = Jwk::from_json(&ed.public_key().to_jwk().to_json()).unwrap();
    assert_all_combinations_verify(
        Algorithm::ES256,
        vec![("generated", Box::new(ec))],
        vec![(
            "its JWK",
            key(ec_jwk.to_verifier(Algorithm::ES256).unwrap()),
        )],
    );
    assert_all_combinations_verify(
        Algorithm::EdDSA,
        vec![("generated", Box::new(ed))],
        vec![(
            "its JWK",
            key(ed_jwk.to_verifier(Algorithm::EdDSA).unwrap()),
        )],
    );
}

#[test]
fn token_signed_with_a_pem_key_verifies_with_its_jwk() {
    let signer = EcdsaPrivateKey::from_pem(Algorithm::ES256, &key_file("p256.pkcs8.pem")).unwrap();
    let token = Builder::new()
        .expires_in(Duration::minutes(5))
        .sign(&signer)
        .unwrap();
    let public = ec_private_jwk("p256.sec1.pem", "P-256")
        .to_public()
        .unwrap();
    let validator =
        Validator::builder(EcdsaPublicKey::from_jwk(Algorithm::ES256, &public).unwrap())
            .build()
            .unwrap();
    validator.verify::<Claims>(&token).unwrap();
}

#[test]
fn token_signed_with_a_jwk_verifies_with_its_pem_key() {
    let signer = RsaPrivateKey::from_jwk(Algorithm::PS256, &rsa_private_jwk()).unwrap();
    let token = Builder::new()
        .expires_in(Duration::minutes(5))
        .sign(&signer)
        .unwrap();
    let public = RsaPublicKey::from_pem(Algorithm::PS256, &key_file("rsa2048.spki.pem")).unwrap();
    // The signer carries the JWK's kid; a key without kid answers to any.
    let validator = Validator::builder(public).build().unwrap();
    validator.verify::<Claims>(&token).unwrap();
}

#[test]
fn rsa_1024_bit_private_key_is_refused_from_pem_and_jwk() {
    let pem = key_file("rsa1024.pkcs8.pem");
    let err = RsaPrivateKey::from_pem(Algorithm::RS256, &pem).unwrap_err();
    assert_eq!(err.kind(), keycard::ErrorKind::Key);
    // The same rule through a JWK: a 1024-bit modulus.
    let der = pem_der("rsa1024.pkcs8.pem");
    let (_, seq, _) = tlv(&der);
    let (_, pkcs1, _) = tlv(children(seq)[2].1);
    let ints: Vec<&[u8]> = children(pkcs1)
        .into_iter()
        .map(|(_, v)| unsigned(v))
        .collect();
    let mut jwk = json!({"kty": "RSA"});
    for (name, value) in ["n", "e", "d", "p", "q", "dp", "dq", "qi"]
        .iter()
        .zip(&ints[1..])
    {
        jwk[*name] = json!(b64(value));
    }
    let jwk = Jwk::from_json(&jwk.to_string()).unwrap();
    let err = RsaPrivateKey::from_jwk(Algorithm::RS256, &jwk).unwrap_err();
    assert!(err.to_string().contains("1024 bits"), "{err}");
}
