//! The known JWT attacks of the project's SECURITY.md list (items 1–23; 24 is in
//! `tests/secrets.rs`), one test per attack, each asserting the exact `ErrorKind` keycard answers
//! with. Where an RFC gives the bytes (RFC 7515 A.2/A.3/A.5/E, RFC 7797, RFC 8037) the vector
//! from `tests/vectors/` is used; the attacker's tokens are assembled by hand, never by keycard's
//! `Builder`, so that the builder's own checks cannot hide a hole in the validator.

use crate::common;

use common::{assemble, at, b64, b64e, key_file, text, vector};
use keycard::time::Duration;
use keycard::{
    Algorithm, Claims, EcdsaPrivateKey, EcdsaPublicKey, Ed25519PrivateKey, Ed25519PublicKey,
    ErrorKind, HmacKey, Jwk, KeySet, RsaPrivateKey, RsaPublicKey, Signer, Validator, Verifier,
};

/// The validators' clock: 2027-01-15T08:00:00Z.
const NOW: i64 = 1_800_000_000;
const SECRET: &[u8; 32] = b"attack tests secret of 32 bytes!";
/// A payload every default validator accepts at [`NOW`].
const PAYLOAD: &str = r#"{"sub":"user-1","exp":1800000600}"#;

fn hs256() -> HmacKey {
    HmacKey::new(Algorithm::HS256, SECRET).unwrap()
}

fn rsa_private(alg: Algorithm) -> RsaPrivateKey {
    RsaPrivateKey::from_pem(alg, &key_file("rsa2048.pkcs8.pem")).unwrap()
}

fn p256_private() -> EcdsaPrivateKey {
    EcdsaPrivateKey::from_pem(Algorithm::ES256, &key_file("p256.pkcs8.pem")).unwrap()
}

fn ed25519_private() -> Ed25519PrivateKey {
    Ed25519PrivateKey::from_pem(&key_file("ed25519.pkcs8.pem")).unwrap()
}

fn validator(key: impl Verifier + 'static) -> Validator {
    Validator::builder(key).clock(at(NOW)).build().unwrap()
}

/// A token of `header` and `payload` JSON signed by `signer` whatever the header says.
fn signed(signer: &dyn Signer, header: &str, payload: &str) -> String {
    assemble(header, payload, |input| signer.sign(input).unwrap())
}

/// A token with raw (possibly non-UTF-8) header and payload bytes, signed by `signer`.
fn signed_bytes(signer: &dyn Signer, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64e(header), b64e(payload));
    let signature = signer.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64e(&signature))
}

/// The kind of error `validator` answers `token` with; fails the test if it accepts it.
#[track_caller]
fn kind(validator: &Validator, token: &str) -> ErrorKind {
    match validator.verify::<Claims>(token) {
        Ok(claims) => panic!("accepted {token:.80}…: {claims:?}"),
        Err(e) => e.kind(),
    }
}

#[track_caller]
fn assert_kind(validator: &Validator, token: &str, expected: ErrorKind) {
    let found = kind(validator, token);
    assert_eq!(found, expected, "token {token:.120}");
}

/// Every validator of the attack tests: one per key family, all with the same clock.
fn all_validators() -> Vec<(&'static str, Validator)> {
    vec![
        ("HS256", validator(hs256())),
        (
            "RS256",
            validator(rsa_private(Algorithm::RS256).public_key()),
        ),
        (
            "PS256",
            validator(rsa_private(Algorithm::PS256).public_key()),
        ),
        ("ES256", validator(p256_private().public_key())),
        ("EdDSA", validator(ed25519_private().public_key())),
    ]
}

// ---------------------------------------------------------------------------------------------
// 1. alg: none
// ---------------------------------------------------------------------------------------------

#[test]
fn rejects_alg_none_in_every_spelling_with_or_without_signature() {
    for spelling in ["none", "None", "NONE", "nOnE", "NoNe"] {
        let header = b64e(format!(r#"{{"alg":"{spelling}","typ":"JWT"}}"#).as_bytes());
        let payload = b64e(PAYLOAD.as_bytes());
        let forged_mac = b64e(
            &hs256()
                .sign(format!("{header}.{payload}").as_bytes())
                .unwrap(),
        );
        for (_, v) in all_validators() {
            // Unsecured JWS (RFC 7515 A.5 shape): empty signature part.
            assert_kind(&v, &format!("{header}.{payload}."), ErrorKind::Algorithm);
            // With a signature part, even a valid MAC under the validator's own secret.
            assert_kind(
                &v,
                &format!("{header}.{payload}.{forged_mac}"),
                ErrorKind::Algorithm,
            );
            // Two parts only: malformed before anything else.
            assert_kind(&v, &format!("{header}.{payload}"), ErrorKind::Malformed);
        }
    }
}

#[test]
fn rejects_rfc7515_a5_unsecured_jws() {
    let v = vector("rfc7515_a5_unsecured.json");
    for (_, validator) in all_validators() {
        assert_kind(&validator, text(&v, "token"), ErrorKind::Algorithm);
    }
}

// ---------------------------------------------------------------------------------------------
// 2. HMAC / public-key confusion
// ---------------------------------------------------------------------------------------------

/// The attacker knows the verifier's public key and uses its bytes as an HS256 secret.
fn forge_hs256_with_secret(secret: &[u8], kid: Option<&str>) -> String {
    let forger =
        HmacKey::new(Algorithm::HS256, secret).expect("public key bytes are longer than 32 bytes");
    let header = match kid {
        Some(kid) => format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#),
        None => r#"{"alg":"HS256","typ":"JWT"}"#.to_owned(),
    };
    signed(&forger, &header, PAYLOAD)
}

#[test]
fn rejects_hs256_signed_with_rsa_public_key_pem_der_or_jwk_as_secret() {
    let public = rsa_private(Algorithm::RS256).public_key();
    let jwk = public.to_jwk().to_json();
    let secrets: Vec<(&str, Vec<u8>)> = vec![
        (
            "PEM as distributed",
            key_file("rsa2048.spki.pem").into_bytes(),
        ),
        ("PKCS#1 PEM", key_file("rsa2048.pkcs1.pub.pem").into_bytes()),
        ("PEM as keycard writes it", public.to_pem().into_bytes()),
        ("DER", public.to_der()),
        ("JWK JSON", jwk.into_bytes()),
    ];
    let plain = validator(public.clone());
    let with_kid = validator(public.clone().with_key_id("rsa-1"));
    let from_jwks = Validator::builder_with_keys(
        KeySet::from_jwks(&format!(
            r#"{{"keys":[{}]}}"#,
            public.clone().with_key_id("rsa-1").to_jwk().to_json()
        ))
        .unwrap(),
    )
    .clock(at(NOW))
    .build()
    .unwrap();
    for (what, secret) in &secrets {
        assert_eq!(
            kind(&plain, &forge_hs256_with_secret(secret, None)),
            ErrorKind::Algorithm,
            "{what}"
        );
        for v in [&with_kid, &from_jwks] {
            let token = forge_hs256_with_secret(secret, Some("rsa-1"));
            assert_eq!(kind(v, &token), ErrorKind::Algorithm, "{what} with kid");
        }
    }
}

#[test]
fn rejects_hs256_signed_with_ec_or_ed25519_public_key_as_secret() {
    let ec = p256_private().public_key();
    let ed = ed25519_private().public_key();
    let cases: Vec<(&str, Vec<u8>, Validator)> = vec![
        (
            "EC PEM",
            key_file("p256.spki.pem").into_bytes(),
            validator(ec.clone()),
        ),
        ("EC DER", ec.to_der(), validator(ec.clone())),
        ("EC point", ec.sec1_point().to_vec(), validator(ec.clone())),
        (
            "EC JWK",
            ec.to_jwk().to_json().into_bytes(),
            validator(ec.clone()),
        ),
        (
            "Ed25519 PEM",
            key_file("ed25519.spki.pem").into_bytes(),
            validator(ed.clone()),
        ),
        (
            "Ed25519 JWK",
            ed.to_jwk().to_json().into_bytes(),
            validator(ed.clone()),
        ),
    ];
    for (what, secret, v) in &cases {
        let token = forge_hs256_with_secret(secret, None);
        assert_eq!(kind(v, &token), ErrorKind::Algorithm, "{what}");
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Cross-family confusion
// ---------------------------------------------------------------------------------------------

#[test]
fn rejects_rs256_token_for_ps256_key_and_ps256_for_rs256() {
    let rs = rsa_private(Algorithm::RS256);
    let ps = rsa_private(Algorithm::PS256);
    let rs_token = signed(&rs, r#"{"alg":"RS256"}"#, PAYLOAD);
    let ps_token = signed(&ps, r#"{"alg":"PS256"}"#, PAYLOAD);
    // The same RSA key pair, bound to the other scheme: the algorithm differs.
    assert_kind(&validator(ps.public_key()), &rs_token, ErrorKind::Algorithm);
    assert_kind(&validator(rs.public_key()), &ps_token, ErrorKind::Algorithm);
    // Relabelled: a PKCS#1 v1.5 signature under a header that says PS256 is not a PSS signature.
    let relabelled = signed(&rs, r#"{"alg":"PS256"}"#, PAYLOAD);
    assert_kind(
        &validator(ps.public_key()),
        &relabelled,
        ErrorKind::Signature,
    );
    let relabelled = signed(&ps, r#"{"alg":"RS256"}"#, PAYLOAD);
    assert_kind(
        &validator(rs.public_key()),
        &relabelled,
        ErrorKind::Signature,
    );
    // And RS384 for an RS256 key.
    assert_kind(
        &validator(rs.public_key()),
        &signed(
            &rsa_private(Algorithm::RS384),
            r#"{"alg":"RS384"}"#,
            PAYLOAD,
        ),
        ErrorKind::Algorithm,
    );
}

#[test]
fn rejects_es256_for_es384_eddsa_for_es256_and_hs256_for_hs384() {
    let es256 = p256_private();
    let es384 = EcdsaPrivateKey::from_pem(Algorithm::ES384, &key_file("p384.sec1.pem")).unwrap();
    let ed = ed25519_private();
    let es256_token = signed(&es256, r#"{"alg":"ES256"}"#, PAYLOAD);
    assert_kind(
        &validator(es384.public_key()),
        &es256_token,
        ErrorKind::Algorithm,
    );
    let ed_token = signed(&ed, r#"{"alg":"EdDSA"}"#, PAYLOAD);
    assert_kind(
        &validator(es256.public_key()),
        &ed_token,
        ErrorKind::Algorithm,
    );
    let hs384 = HmacKey::new(Algorithm::HS384, &[1; 48]).unwrap();
    let hs256_token = signed(&hs256(), r#"{"alg":"HS256"}"#, PAYLOAD);
    assert_kind(&validator(hs384), &hs256_token, ErrorKind::Algorithm);
    // ES512 and ES256K name algorithms ring lacks: unsupported, whatever the key.
    for alg in ["ES512", "ES256K", "HS1", "RS1", "A256GCM", "hs256"] {
        let token = signed(&hs256(), &format!(r#"{{"alg":"{alg}"}}"#), PAYLOAD);
        assert_kind(&validator(hs256()), &token, ErrorKind::Algorithm);
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Keys supplied by the token
// ---------------------------------------------------------------------------------------------

#[test]
fn ignores_jwk_jku_x5u_x5c_x5t_in_the_header() {
    let real = p256_private();
    let attacker = EcdsaPrivateKey::generate(Algorithm::ES256).unwrap();
    let attacker_jwk = attacker.public_key().to_jwk().to_json();
    let header = format!(
        r#"{{"alg":"ES256","jwk":{attacker_jwk},"jku":"https://attacker.example/jwks.json","x5u":"https://attacker.example/cert.pem","x5c":["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],"x5t":"dGVzdA","x5t#S256":"dGVzdA"}}"#
    );
    let v = validator(real.public_key());
    // Signed with the attacker's own (embedded) key: the embedded key is not used.
    assert_kind(
        &v,
        &signed(&attacker, &header, PAYLOAD),
        ErrorKind::Signature,
    );
    // The same for HMAC: an embedded `oct` key supplies no secret.
    let attacker_secret = [9u8; 32];
    let header = format!(
        r#"{{"alg":"HS256","jwk":{{"kty":"oct","k":"{}"}}}}"#,
        b64e(&attacker_secret)
    );
    let token = signed(
        &HmacKey::new(Algorithm::HS256, &attacker_secret).unwrap(),
        &header,
        PAYLOAD,
    );
    assert_kind(&validator(hs256()), &token, ErrorKind::Signature);
    // Ignored, not refused: the real key's token with those members still verifies.
    let header =
        r#"{"alg":"ES256","jku":"https://attacker.example/jwks.json","x5u":"https://a.example/"}"#;
    v.verify::<Claims>(&signed(&real, header, PAYLOAD)).unwrap();
}

// ---------------------------------------------------------------------------------------------
// 5. kid
// ---------------------------------------------------------------------------------------------

#[test]
fn kid_is_an_opaque_lookup_key_and_unknown_kids_are_their_own_error() {
    let key = hs256().with_key_id("k1");
    let v = validator(key.clone());
    let long = "x".repeat(4000);
    for kid in [
        "../../../../dev/null",
        "/etc/passwd",
        "' OR '1'='1' --",
        "k1\u{0}",
        "K1",
        " k1",
        "k1 ",
        "",
        "|| rm -rf /",
        "ｋ1",
        long.as_str(),
    ] {
        let header = serde_json::json!({"alg": "HS256", "kid": kid}).to_string();
        // Even correctly signed with the real secret: the kid names no key.
        let token = signed(&key, &header, PAYLOAD);
        let err = v.verify::<Claims>(&token).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKeyId, "kid {kid:.40?}");
        // The error echoes at most a short prefix of what the attacker sent.
        assert!(err.to_string().len() < 120, "{err}");
    }
    for kid in ["1", "null", "[\"k1\"]", "{\"k\":\"k1\"}", "true"] {
        let token = signed(&key, &format!(r#"{{"alg":"HS256","kid":{kid}}}"#), PAYLOAD);
        assert_kind(&v, &token, ErrorKind::Malformed);
    }
    // A kid that names a key of another algorithm is an algorithm error, not a lookup.
    let token = signed(&key, r#"{"alg":"HS384","kid":"k1"}"#, PAYLOAD);
    assert_kind(&v, &token, ErrorKind::Algorithm);
    v.verify::<Claims>(&signed(&key, r#"{"alg":"HS256","kid":"k1"}"#, PAYLOAD))
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// 6. Weak keys
// ---------------------------------------------------------------------------------------------

#[test]
fn refuses_weak_keys_when_they_are_made() {
    // RFC 7518 §3.2: HMAC secrets at least as long as the hash.
    assert_eq!(
        HmacKey::new(Algorithm::HS256, &[1; 31]).unwrap_err().kind(),
        ErrorKind::Key
    );
    assert_eq!(
        HmacKey::new(Algorithm::HS384, &[1; 47]).unwrap_err().kind(),
        ErrorKind::Key
    );
    assert_eq!(
        HmacKey::new(Algorithm::HS512, &[1; 63]).unwrap_err().kind(),
        ErrorKind::Key
    );
    assert_eq!(
        HmacKey::new(Algorithm::HS256, b"").unwrap_err().kind(),
        ErrorKind::Key
    );
    let short_oct = format!(r#"{{"kty":"oct","k":"{}"}}"#, b64e(&[1; 16]));
    let jwk = Jwk::from_json(&short_oct).unwrap();
    assert_eq!(
        jwk.to_verifier(Algorithm::HS256).unwrap_err().kind(),
        ErrorKind::Key
    );

    // RFC 7518 §3.3: RSA moduli of 2048 bits or more.
    let rsa1024 = key_file("rsa1024.pkcs8.pem");
    for alg in [Algorithm::RS256, Algorithm::PS256] {
        assert_eq!(
            RsaPrivateKey::from_pem(alg, &rsa1024).unwrap_err().kind(),
            ErrorKind::Key
        );
    }
    let mut n2047 = vec![0xff; 256];
    n2047[0] = 0x7f;
    let err = RsaPublicKey::from_components(Algorithm::RS256, &n2047, &[1, 0, 1]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key);
    // Exponent 1 makes "signatures" trivial.
    let err = RsaPublicKey::from_components(Algorithm::RS256, &[0xff; 256], &[1]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key);

    // EC points off the curve, at infinity, or on another curve (invalid-curve attacks).
    let good = p256_private().public_key().sec1_point().to_vec();
    let mut off = good.clone();
    off[64] ^= 1;
    for (what, point) in [
        ("off the curve", off),
        ("infinity", vec![0]),
        ("all zeros", vec![0; 65]),
        ("x = y = 0", {
            let mut p = vec![0; 65];
            p[0] = 4;
            p
        }),
        ("compressed", good[..33].to_vec()),
    ] {
        let err = EcdsaPublicKey::from_sec1_point(Algorithm::ES256, &point).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Key, "{what}");
    }
    // A P-384 key for ES256, in SPKI and in a JWK whose crv does not match.
    let p384 = key_file("p384.spki.pem");
    assert_eq!(
        EcdsaPublicKey::from_pem(Algorithm::ES256, &p384)
            .unwrap_err()
            .kind(),
        ErrorKind::Key
    );
    let p384_jwk = EcdsaPublicKey::from_pem(Algorithm::ES384, &p384)
        .unwrap()
        .to_jwk();
    assert_eq!(
        p384_jwk.to_verifier(Algorithm::ES256).unwrap_err().kind(),
        ErrorKind::Key
    );
    let mut relabelled: serde_json::Value = serde_json::from_str(&p384_jwk.to_json()).unwrap();
    relabelled["crv"] = "P-256".into();
    let refused = Jwk::from_json(&relabelled.to_string())
        .and_then(|jwk| jwk.to_verifier(Algorithm::ES256).map(|_| ()));
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::Key);

    // Ed25519 small-order points (RFC 8032 §5.1.7 does not forbid them; they make forgeries
    // possible for some messages).
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(
        Ed25519PublicKey::from_bytes(&identity).unwrap_err().kind(),
        ErrorKind::Key
    );
    assert_eq!(
        Ed25519PublicKey::from_bytes(&[0; 32]).unwrap_err().kind(),
        ErrorKind::Key
    );
}

// ---------------------------------------------------------------------------------------------
// 7. ECDSA psychic signatures, 8. wrong signature encodings
// ---------------------------------------------------------------------------------------------

/// The order n of P-256 (SEC 2 §2.4.2), big-endian.
const P256_N: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
/// The order n of P-384 (SEC 2 §2.5.1), big-endian.
const P384_N: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// `token` with its signature part replaced by `signature`.
fn with_signature(token: &str, signature: &[u8]) -> String {
    let (input, _) = token.rsplit_once('.').unwrap();
    format!("{input}.{}", b64e(signature))
}

#[test]
fn rejects_ecdsa_psychic_signatures_and_out_of_range_r_or_s() {
    for (alg, key, n) in [
        (Algorithm::ES256, p256_private(), hex(P256_N)),
        (
            Algorithm::ES384,
            EcdsaPrivateKey::from_pem(Algorithm::ES384, &key_file("p384.sec1.pem")).unwrap(),
            hex(P384_N),
        ),
    ] {
        let v = validator(key.public_key());
        let token = signed(&key, &format!(r#"{{"alg":"{alg}"}}"#), PAYLOAD);
        v.verify::<Claims>(&token).unwrap();
        let good = b64(token.rsplit_once('.').unwrap().1);
        let half = good.len() / 2;
        let (r, s) = good.split_at(half);
        let zero = vec![0u8; half];
        let ones = vec![0xffu8; half];
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "r = s = 0 (CVE-2022-21449)",
                [&zero[..], &zero[..]].concat(),
            ),
            ("r = 0", [&zero[..], s].concat()),
            ("s = 0", [r, &zero[..]].concat()),
            ("r = n", [&n[..], s].concat()),
            ("s = n", [r, &n[..]].concat()),
            ("r = s = n", [&n[..], &n[..]].concat()),
            ("all 0xff", [&ones[..], &ones[..]].concat()),
            ("r and s swapped", [s, r].concat()),
        ];
        for (what, signature) in cases {
            let forged = with_signature(&token, &signature);
            assert_eq!(kind(&v, &forged), ErrorKind::Signature, "{alg} {what}");
        }
    }
}

/// ASN.1 DER `ECDSA-Sig-Value` (RFC 3279 §2.2.3) of a fixed-width `r || s`.
fn der_signature(fixed: &[u8]) -> Vec<u8> {
    let integer = |bytes: &[u8]| {
        let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|&b| b == 0).collect();
        let mut contents = Vec::new();
        if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
            contents.push(0);
        }
        contents.extend(trimmed);
        let mut out = vec![0x02, u8::try_from(contents.len()).unwrap()];
        out.extend(contents);
        out
    };
    let (r, s) = fixed.split_at(fixed.len() / 2);
    let body = [integer(r), integer(s)].concat();
    let mut out = vec![0x30, u8::try_from(body.len()).unwrap()];
    out.extend(body);
    out
}

fn rfc7515_a3() -> (Validator, String, Vec<u8>) {
    let v = vector("rfc7515_a3_es256.json");
    let jwk = &v["jwk"];
    let mut point = vec![4];
    point.extend(b64(text(jwk, "x")));
    point.extend(b64(text(jwk, "y")));
    let key = EcdsaPublicKey::from_sec1_point(Algorithm::ES256, &point).unwrap();
    let r: Vec<u8> = serde_json::from_value(v["r_octets"].clone()).unwrap();
    let s: Vec<u8> = serde_json::from_value(v["s_octets"].clone()).unwrap();
    let fixed = [r, s].concat();
    // Before the payload's exp (2011-03-22T18:43:00Z): the RFC's own token verifies.
    let validator = Validator::builder(key)
        .clock(at(1_300_819_320))
        .build()
        .unwrap();
    (validator, text(&v, "token").to_owned(), fixed)
}

#[test]
fn rejects_ecdsa_signature_in_der_or_of_the_wrong_length() {
    let (v, token, fixed) = rfc7515_a3();
    v.verify::<Claims>(&token).unwrap();
    assert_eq!(b64(token.rsplit_once('.').unwrap().1), fixed);
    // RFC 7518 §3.4: the JWS form is R || S; the same signature in DER is refused.
    let der = der_signature(&fixed);
    assert_kind(&v, &with_signature(&token, &der), ErrorKind::Signature);
    for len in [0, 1, 32, 63, 65, 96, 128] {
        let mut wrong = fixed.clone();
        wrong.resize(len, 0);
        assert_eq!(
            kind(&v, &with_signature(&token, &wrong)),
            ErrorKind::Signature,
            "{len} bytes"
        );
    }
    // A leading zero byte (the DER habit) makes it 65 bytes.
    let padded = [&[0u8][..], &fixed[..]].concat();
    assert_kind(&v, &with_signature(&token, &padded), ErrorKind::Signature);
}

#[test]
fn rejects_rsa_signature_shorter_or_longer_than_the_modulus() {
    let v = vector("rfc7515_a2_rs256.json");
    let jwk = &v["jwk"];
    let key =
        RsaPublicKey::from_components(Algorithm::RS256, &b64(text(jwk, "n")), &b64(text(jwk, "e")))
            .unwrap();
    let validator = Validator::builder(key)
        .clock(at(1_300_819_320))
        .build()
        .unwrap();
    let token = text(&v, "token");
    validator.verify::<Claims>(token).unwrap();
    let signature: Vec<u8> = serde_json::from_value(v["signature_octets"].clone()).unwrap();
    assert_eq!(signature.len(), 256);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("leading zero added", [&[0u8][..], &signature[..]].concat()),
        ("first byte dropped", signature[1..].to_vec()),
        ("last byte dropped", signature[..255].to_vec()),
        ("doubled", [&signature[..], &signature[..]].concat()),
        ("all zeros", vec![0; 256]),
        ("modulus", b64(text(jwk, "n"))),
    ];
    for (what, bad) in cases {
        assert_eq!(
            kind(&validator, &with_signature(token, &bad)),
            ErrorKind::Signature,
            "{what}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 9. Signature stripping
// ---------------------------------------------------------------------------------------------

#[test]
fn rejects_signature_stripping_for_every_algorithm() {
    let signers: Vec<(Box<dyn Signer>, Validator)> = vec![
        (Box::new(hs256()), validator(hs256())),
        (
            Box::new(rsa_private(Algorithm::RS256)),
            validator(rsa_private(Algorithm::RS256).public_key()),
        ),
        (
            Box::new(p256_private()),
            validator(p256_private().public_key()),
        ),
        (
            Box::new(ed25519_private()),
            validator(ed25519_private().public_key()),
        ),
    ];
    for (signer, v) in &signers {
        let header = format!(r#"{{"alg":"{}"}}"#, signer.algorithm());
        let token = signed(&**signer, &header, PAYLOAD);
        v.verify::<Claims>(&token).unwrap();
        let (input, _) = token.rsplit_once('.').unwrap();
        assert_kind(v, &format!("{input}."), ErrorKind::Signature);
        assert_kind(v, input, ErrorKind::Malformed);
    }
}

// ---------------------------------------------------------------------------------------------
// 10. EdDSA malleability, 11. HMAC tags
// ---------------------------------------------------------------------------------------------

/// The order L of the Ed25519 base point (RFC 8032 §5.1), little-endian.
const ED25519_L_LE: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

#[test]
fn rejects_ed25519_signature_with_unreduced_s_or_wrong_length() {
    let v = vector("rfc8037_a4_ed25519.json");
    let key = Ed25519PublicKey::from_bytes(&b64(text(&v["public_jwk"], "x"))).unwrap();
    let message = text(&v, "signing_input").as_bytes().to_vec();
    let signature = b64(text(&v, "signature_b64"));
    key.verify(&message, &signature).unwrap();
    // S + L encodes the same scalar modulo L: a malleable twin that must be refused.
    let mut twin = signature.clone();
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(twin[32 + i]) + u16::from(ED25519_L_LE[i]) + carry;
        twin[32 + i] = sum.to_le_bytes()[0];
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    assert_eq!(
        key.verify(&message, &twin).unwrap_err().kind(),
        ErrorKind::Signature
    );
    for len in [0, 63, 65, 128] {
        let mut wrong = signature.clone();
        wrong.resize(len, 0);
        assert_eq!(
            key.verify(&message, &wrong).unwrap_err().kind(),
            ErrorKind::Signature
        );
    }
    // Through the validator too (the payload is not JSON: the signature fails first).
    let validator = validator(key);
    let token = text(&v, "token");
    assert_kind(
        &validator,
        &with_signature(token, &twin),
        ErrorKind::Signature,
    );
    // The genuine token verifies, then fails on its non-JSON payload, as the vector notes say.
    assert_kind(&validator, token, ErrorKind::Malformed);
}

#[test]
fn rejects_truncated_extended_or_flipped_hmac_tags() {
    let v = validator(hs256());
    let token = signed(&hs256(), r#"{"alg":"HS256"}"#, PAYLOAD);
    v.verify::<Claims>(&token).unwrap();
    let tag = b64(token.rsplit_once('.').unwrap().1);
    for (what, bad) in [
        ("truncated to 16 bytes", tag[..16].to_vec()),
        ("truncated by one byte", tag[..31].to_vec()),
        ("extended by one byte", [&tag[..], &[0][..]].concat()),
        ("first bit flipped", {
            let mut t = tag.clone();
            t[0] ^= 0x80;
            t
        }),
        ("last bit flipped", {
            let mut t = tag.clone();
            t[31] ^= 1;
            t
        }),
    ] {
        assert_eq!(
            kind(&v, &with_signature(&token, &bad)),
            ErrorKind::Signature,
            "{what}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 12. Part count, 13. base64url strictness
// ---------------------------------------------------------------------------------------------

#[test]
fn rejects_jwe_nested_jwt_and_every_wrong_part_count() {
    let v = validator(hs256());
    let token = signed(&hs256(), r#"{"alg":"HS256"}"#, PAYLOAD);
    let jwe_header = b64e(br#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#);
    for bad in [
        String::new(),
        ".".to_owned(),
        "..".to_owned(),
        "...".to_owned(),
        "....".to_owned(),
        token.replace('.', ""),
        token.split('.').next().unwrap().to_owned(),
        format!("{token}."),
        format!("{token}.{}", b64e(b"x")),
        format!(".{token}"),
        format!("{jwe_header}.a2V5.aXY.Y2lwaGVydGV4dA.dGFn"),
    ] {
        assert_eq!(kind(&v, &bad), ErrorKind::Malformed, "{bad:.60}");
    }
    // Empty header or payload part of a correctly signed token.
    let (input, _) = token.rsplit_once('.').unwrap();
    let (_, payload_b64) = input.split_once('.').unwrap();
    let no_header = format!(".{payload_b64}");
    let sig = b64e(&hs256().sign(no_header.as_bytes()).unwrap());
    assert_kind(&v, &format!("{no_header}.{sig}"), ErrorKind::Malformed);
    let empty_payload = signed(&hs256(), r#"{"alg":"HS256"}"#, "");
    assert_kind(&v, &empty_payload, ErrorKind::Malformed);
    // RFC 8725 §2.8: a nested JWT is not unwrapped.
    let nested = signed(&hs256(), r#"{"alg":"HS256","cty":"JWT"}"#, PAYLOAD);
    assert_kind(&v, &nested, ErrorKind::Malformed);
}

#[test]
fn rejects_padding_standard_alphabet_and_whitespace_in_any_part() {
    let v = validator(hs256());
    // `{"alg":"HS256"}` is 15 bytes (no padding needed); this header is 16 bytes, so its
    // base64url has a partial last group where padding would go.
    let token = signed(&hs256(), r#"{"alg":"HS256"} "#, PAYLOAD);
    v.verify::<Claims>(&token).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    for i in 0..3 {
        let mutate = |f: &dyn Fn(&str) -> String| {
            let mut p: Vec<String> = parts.iter().map(|s| (*s).to_owned()).collect();
            p[i] = f(parts[i]);
            p.join(".")
        };
        for (what, bad) in [
            ("padding", mutate(&|s| format!("{s}="))),
            ("double padding", mutate(&|s| format!("{s}=="))),
            ("leading space", mutate(&|s| format!(" {s}"))),
            ("trailing newline", mutate(&|s| format!("{s}\n"))),
            (
                "CRLF inside",
                mutate(&|s| format!("{}\r\n{}", &s[..4], &s[4..])),
            ),
            (
                "tab inside",
                mutate(&|s| format!("{}\t{}", &s[..4], &s[4..])),
            ),
            (
                "percent-encoded",
                mutate(&|s| format!("{}%41{}", &s[..4], &s[4..])),
            ),
        ] {
            assert_eq!(kind(&v, &bad), ErrorKind::Malformed, "part {i}: {what}");
        }
    }
    // The standard alphabet's `+` and `/` in place of `-` and `_`.
    let with_url_chars = (0..64u8)
        .map(|seed| {
            signed(
                &hs256(),
                &format!(r#"{{"alg":"HS256","n":{seed}}}"#),
                PAYLOAD,
            )
        })
        .find(|t| t.contains('-') || t.contains('_'))
        .expect("some token uses - or _");
    v.verify::<Claims>(&with_url_chars).unwrap();
    let standard = with_url_chars.replace('-', "+").replace('_', "/");
    assert_kind(&v, &standard, ErrorKind::Malformed);
}

#[test]
fn rejects_non_canonical_trailing_bits_in_every_part() {
    let v = validator(hs256());
    // Header of 16 bytes and payload of 34 bytes: both end in a partial base64 group.
    let token = signed(
        &hs256(),
        r#"{"alg":"HS256"} "#,
        r#"{"sub":"user-1","exp":1800000600} "#,
    );
    v.verify::<Claims>(&token).unwrap();
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let parts: Vec<&str> = token.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let unused_bits = match part.len() % 4 {
            2 => 4, // one byte in the last group: 12 bits, 4 unused
            3 => 2, // two bytes: 18 bits, 2 unused
            _ => continue,
        };
        let last = part.as_bytes()[part.len() - 1];
        let value = ALPHABET.iter().position(|&c| c == last).unwrap();
        assert_eq!(
            value & ((1 << unused_bits) - 1),
            0,
            "canonical to begin with"
        );
        // Same decoded bytes, other spelling: set one unused bit.
        let twin = char::from(ALPHABET[value | 1]);
        let mut p: Vec<String> = parts.iter().map(|s| (*s).to_owned()).collect();
        p[i] = format!("{}{twin}", &part[..part.len() - 1]);
        assert_kind(&v, &p.join("."), ErrorKind::Malformed);
    }
}

// ---------------------------------------------------------------------------------------------
// 14. JSON strictness
// ---------------------------------------------------------------------------------------------

#[test]
fn rejects_non_utf8_non_object_and_non_json_headers_and_claims() {
    let v = validator(hs256());
    let key = hs256();
    let good_header: &[u8] = br#"{"alg":"HS256"}"#;
    for header in [
        &b"{\"alg\":\"HS256\",\"x\":\"\xff\xfe\"}"[..],
        b"\xef\xbb\xbf{\"alg\":\"HS256\"}",
        b"[\"HS256\"]",
        b"\"HS256\"",
        b"null",
        b"256",
        b"{\"alg\":\"HS256\"} {}",
        b"{\"alg\":\"HS256\",}",
        b"{'alg':'HS256'}",
        b"",
    ] {
        let token = signed_bytes(&key, header, PAYLOAD.as_bytes());
        assert_eq!(kind(&v, &token), ErrorKind::Malformed, "header {header:?}");
    }
    for payload in [
        &b"{\"exp\":1800000600,\"sub\":\"\xc3\x28\"}"[..],
        b"{\"exp\":1800000600,\"unread\":\"\xff\"}",
        b"{\"exp\":1800000600,\"\xed\xa0\x80\":1}",
        b"[{\"exp\":1800000600}]",
        b"\"exp\"",
        b"1800000600",
        b"null",
        b"{\"exp\":1800000600}x",
        b"{\"exp\":1800000600,}",
        b"",
    ] {
        let token = signed_bytes(&key, good_header, payload);
        assert_eq!(
            kind(&v, &token),
            ErrorKind::Malformed,
            "payload {payload:?}"
        );
    }
    // Even for a caller whose claims type never reads the member that is not UTF-8.
    let token = signed_bytes(
        &key,
        good_header,
        b"{\"exp\":1800000600,\"unread\":\"\xff\"}",
    );
    let err = v.verify::<serde::de::IgnoredAny>(&token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
    // A non-string alg.
    for alg in ["256", "null", "[\"HS256\"]", "{\"alg\":\"HS256\"}"] {
        let token = signed(&key, &format!(r#"{{"alg":{alg}}}"#), PAYLOAD);
        assert_kind(&v, &token, ErrorKind::Malformed);
    }
}

#[test]
fn rejects_duplicate_member_names_in_header_or_claims() {
    let v = validator(hs256());
    let key = hs256();
    for header in [
        r#"{"alg":"HS256","alg":"HS256"}"#,
        r#"{"alg":"none","alg":"HS256"}"#,
        r#"{"alg":"HS256","\u0061lg":"none"}"#,
        r#"{"alg":"HS256","kid":"a","kid":"b"}"#,
        r#"{"alg":"HS256","x":1,"x":1}"#,
    ] {
        assert_kind(&v, &signed(&key, header, PAYLOAD), ErrorKind::Malformed);
    }
    for payload in [
        r#"{"exp":1800000600,"exp":1}"#,
        r#"{"exp":1,"exp":1800000600}"#,
        r#"{"exp":1800000600,"sub":"a","sub":"b"}"#,
        r#"{"exp":1800000600,"\u0073ub":"a","sub":"b"}"#,
        r#"{"exp":1800000600,"role":"user","role":"admin"}"#,
    ] {
        assert_kind(
            &v,
            &signed(&key, r#"{"alg":"HS256"}"#, payload),
            ErrorKind::Malformed,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 15. crit and b64
// ---------------------------------------------------------------------------------------------

#[test]
fn rejects_every_crit_and_unencoded_payloads() {
    let v = validator(hs256());
    let key = hs256();
    for header in [
        r#"{"alg":"HS256","crit":["exp"],"exp":1800000600}"#,
        r#"{"alg":"HS256","crit":["http://example.invalid/UNDEFINED"]}"#,
        r#"{"alg":"HS256","crit":[]}"#,
        r#"{"alg":"HS256","crit":["alg"]}"#,
        r#"{"alg":"HS256","crit":["kid"],"kid":"k"}"#,
        r#"{"alg":"HS256","crit":["b64"],"b64":true}"#,
        r#"{"alg":"HS256","crit":"exp"}"#,
        r#"{"alg":"HS256","crit":[1]}"#,
        r#"{"alg":"HS256","b64":false}"#,
        r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#,
        r#"{"alg":"HS256","b64":"false"}"#,
    ] {
        assert_kind(&v, &signed(&key, header, PAYLOAD), ErrorKind::Malformed);
    }
    // RFC 7515 Appendix E: "must be rejected by all implementations".
    let e = vector("rfc7515_appendix_e_crit.json");
    assert_kind(&v, text(&e, "token"), ErrorKind::Malformed);
    // RFC 7797 §4.2: the b64:false example, with the RFC's own key.
    let b64_vectors = vector("rfc7797_b64.json");
    let rfc_key = HmacKey::new(Algorithm::HS256, &b64(text(&b64_vectors["jwk"], "k"))).unwrap();
    let rfc_validator = validator(rfc_key);
    let unencoded = &b64_vectors["section_4_2_b64_false"];
    let token = match unencoded.get("token_detached").or(unencoded.get("token")) {
        Some(token) => token.as_str().unwrap().to_owned(),
        None => panic!("rfc7797 vector has no token: {unencoded}"),
    };
    assert_kind(&rfc_validator, &token, ErrorKind::Malformed);
}

// ---------------------------------------------------------------------------------------------
// 16. Size and depth
// ---------------------------------------------------------------------------------------------

#[test]
fn rejects_oversized_tokens_before_decoding_anything() {
    let v = validator(hs256());
    // Eight KiB exactly is allowed through to the next checks; one byte more is not.
    let filler = |len: usize| format!("{}.e30.{}", "A".repeat(len - 6), "A");
    assert_eq!(filler(8 * 1024).len(), 8 * 1024);
    assert_kind(&v, &filler(8 * 1024), ErrorKind::Malformed);
    let err = v.verify::<Claims>(&filler(8 * 1024 + 1)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
    assert!(err.to_string().contains("longer than"), "{err}");
    // A megabyte of garbage (not even base64url) fails on its length alone, quickly.
    let megabyte = format!("{}.{}.{}", "!".repeat(1 << 20), "!", "!");
    let started = std::time::Instant::now();
    let err = v.verify::<Claims>(&megabyte).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
    assert!(err.to_string().contains("longer than"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_millis(50));
    // A valid, correctly signed, 100 KiB token is refused by size too.
    let big = signed(
        &hs256(),
        r#"{"alg":"HS256"}"#,
        &format!(r#"{{"exp":1800000600,"pad":"{}"}}"#, "x".repeat(100 * 1024)),
    );
    let err = v.verify::<Claims>(&big).unwrap_err();
    assert!(err.to_string().contains("longer than"), "{err}");
    assert_eq!(err.kind(), ErrorKind::Malformed);
}

#[test]
fn deeply_nested_json_does_not_exhaust_the_stack() {
    let v = Validator::builder(hs256())
        .clock(at(NOW))
        .max_token_len(4 << 20)
        .build()
        .unwrap();
    for depth in [1_000, 100_000] {
        let nest =
            |open: &str, close: &str| format!("{}{}", open.repeat(depth), close.repeat(depth));
        // In the claims: refused by serde_json's recursion limit when claims become values.
        let payload = format!(r#"{{"exp":1800000600,"x":{}}}"#, nest("[", "]"));
        let token = signed(&hs256(), r#"{"alg":"HS256"}"#, &payload);
        assert_kind(&v, &token, ErrorKind::Malformed);
        let payload = format!(r#"{{"exp":1800000600,"x":{}}}"#, nest(r#"{"a":"#, "}"));
        let token = signed(&hs256(), r#"{"alg":"HS256"}"#, &payload);
        assert_kind(&v, &token, ErrorKind::Malformed);
        // In the header: refused past `MAX_JSON_DEPTH` like the claims, though nobody reads the
        // member (issue 14, finding 7: the limit no longer depends on what reads the JSON).
        let header = format!(r#"{{"alg":"HS256","x":{}}}"#, nest("[", "]"));
        let token = signed(&hs256(), &header, PAYLOAD);
        assert_kind(&v, &token, ErrorKind::Malformed);
        // Unbalanced nesting is malformed JSON, found without recursing either.
        let header = format!(r#"{{"alg":"HS256","x":{}}}"#, "[".repeat(depth));
        let token = signed(&hs256(), &header, PAYLOAD);
        assert_kind(&v, &token, ErrorKind::Malformed);
    }
}

// ---------------------------------------------------------------------------------------------
// 17. Time claims
// ---------------------------------------------------------------------------------------------

fn with_claims(v: &Validator, payload: &str) -> Result<Claims, ErrorKind> {
    let token = signed(&hs256(), r#"{"alg":"HS256"}"#, payload);
    v.verify::<Claims>(&token).map_err(|e| e.kind())
}

#[test]
fn time_claims_must_be_numbers_in_range_and_never_overflow() {
    let v = validator(hs256());
    for claim in ["exp", "nbf", "iat"] {
        for value in [
            r#""1800000600""#,
            "true",
            "null",
            "[1800000600]",
            r#"{"t":1800000600}"#,
            "1e300",
            "-1e300",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            "18446744073709551616",
            "253402300800",
            "1e19",
            "-377705116801",
        ] {
            let payload = if claim == "exp" {
                format!(r#"{{"exp":{value}}}"#)
            } else {
                format!(r#"{{"exp":1800000600,"{claim}":{value}}}"#)
            };
            assert_eq!(
                with_claims(&v, &payload),
                Err(ErrorKind::Malformed),
                "{claim}: {value}"
            );
        }
    }
    // The year 9999 is the last accepted, and never overflows when compared.
    assert!(with_claims(&v, r#"{"exp":253402300799}"#).is_ok());
    assert_eq!(
        with_claims(&v, r#"{"exp":253402300799,"nbf":253402300799}"#),
        Err(ErrorKind::NotYetValid)
    );
    assert_eq!(
        with_claims(&v, r#"{"exp":253402300799,"iat":253402300799}"#),
        Err(ErrorKind::NotYetValid)
    );
    // Negative and ancient times are in range, and expired.
    assert_eq!(with_claims(&v, r#"{"exp":-1}"#), Err(ErrorKind::Expired));
    assert_eq!(
        with_claims(&v, r#"{"exp":-253402300799}"#),
        Err(ErrorKind::Expired)
    );
    assert_eq!(with_claims(&v, r#"{"exp":0}"#), Err(ErrorKind::Expired));
    assert!(with_claims(&v, r#"{"exp":1800000600,"nbf":-253402300799,"iat":0}"#).is_ok());
    // `exp` is required by default.
    assert_eq!(
        with_claims(&v, r#"{"sub":"a"}"#),
        Err(ErrorKind::MissingClaim)
    );
}

#[test]
fn fractional_times_are_compared_exactly_not_truncated() {
    let v = validator(hs256());
    // RFC 7519 §4.1.4: expired when now >= exp.
    assert_eq!(
        with_claims(&v, r#"{"exp":1800000000}"#),
        Err(ErrorKind::Expired)
    );
    assert!(with_claims(&v, r#"{"exp":1800000000.5}"#).is_ok());
    assert_eq!(
        with_claims(&v, r#"{"exp":1799999999.999}"#),
        Err(ErrorKind::Expired)
    );
    // nbf: valid from nbf on.
    assert!(with_claims(&v, r#"{"exp":1800000600,"nbf":1800000000}"#).is_ok());
    assert_eq!(
        with_claims(&v, r#"{"exp":1800000600,"nbf":1800000000.25}"#),
        Err(ErrorKind::NotYetValid)
    );
    assert!(with_claims(&v, r#"{"exp":1800000600,"nbf":1799999999.75}"#).is_ok());
}

#[test]
fn leeway_is_symmetric_and_bounded() {
    let v = Validator::builder(hs256())
        .clock(at(NOW))
        .leeway(Duration::seconds(30))
        .build()
        .unwrap();
    assert!(with_claims(&v, r#"{"exp":1799999971}"#).is_ok());
    assert_eq!(
        with_claims(&v, r#"{"exp":1799999970}"#),
        Err(ErrorKind::Expired)
    );
    assert!(with_claims(&v, r#"{"exp":1800000600,"nbf":1800000030}"#).is_ok());
    assert_eq!(
        with_claims(&v, r#"{"exp":1800000600,"nbf":1800000031}"#),
        Err(ErrorKind::NotYetValid)
    );
    assert!(with_claims(&v, r#"{"exp":1800000600,"iat":1800000030}"#).is_ok());
    assert_eq!(
        with_claims(&v, r#"{"exp":1800000600,"iat":1800000031}"#),
        Err(ErrorKind::NotYetValid)
    );
    for leeway in [
        Duration::minutes(6),
        Duration::seconds(-1),
        Duration::days(365),
    ] {
        let err = Validator::builder(hs256())
            .leeway(leeway)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration, "{leeway}");
    }
}

// ---------------------------------------------------------------------------------------------
// 18. Audience, 19. issuer and subject
// ---------------------------------------------------------------------------------------------

#[test]
fn audience_string_or_array_must_name_this_service() {
    let api = Validator::builder(hs256())
        .clock(at(NOW))
        .audience("api")
        .build()
        .unwrap();
    let none = validator(hs256());
    let any = Validator::builder(hs256())
        .clock(at(NOW))
        .dangerous()
        .allow_any_audience()
        .build()
        .unwrap();
    let exp = r#""exp":1800000600"#;
    for (aud, for_api, for_none, for_any) in [
        (r#""api""#, Ok(()), Err(ErrorKind::Audience), Ok(())),
        (r#"["web","api"]"#, Ok(()), Err(ErrorKind::Audience), Ok(())),
        (r#"["api"]"#, Ok(()), Err(ErrorKind::Audience), Ok(())),
        (
            r#""web""#,
            Err(ErrorKind::Audience),
            Err(ErrorKind::Audience),
            Ok(()),
        ),
        (
            r#""API""#,
            Err(ErrorKind::Audience),
            Err(ErrorKind::Audience),
            Ok(()),
        ),
        (
            r#""api ""#,
            Err(ErrorKind::Audience),
            Err(ErrorKind::Audience),
            Ok(()),
        ),
        (
            r#""apis""#,
            Err(ErrorKind::Audience),
            Err(ErrorKind::Audience),
            Ok(()),
        ),
        (
            r#"[]"#,
            Err(ErrorKind::Audience),
            Err(ErrorKind::Audience),
            Ok(()),
        ),
        (
            r#""api,web""#,
            Err(ErrorKind::Audience),
            Err(ErrorKind::Audience),
            Ok(()),
        ),
        (
            r#"["api web"]"#,
            Err(ErrorKind::Audience),
            Err(ErrorKind::Audience),
            Ok(()),
        ),
        (
            "5",
            Err(ErrorKind::Malformed),
            Err(ErrorKind::Malformed),
            Err(ErrorKind::Malformed),
        ),
        (
            r#"["api",5]"#,
            Err(ErrorKind::Malformed),
            Err(ErrorKind::Malformed),
            Err(ErrorKind::Malformed),
        ),
        (
            r#"{"aud":"api"}"#,
            Err(ErrorKind::Malformed),
            Err(ErrorKind::Malformed),
            Err(ErrorKind::Malformed),
        ),
        (
            "null",
            Err(ErrorKind::Malformed),
            Err(ErrorKind::Malformed),
            Err(ErrorKind::Malformed),
        ),
        (
            r#"[["api"]]"#,
            Err(ErrorKind::Malformed),
            Err(ErrorKind::Malformed),
            Err(ErrorKind::Malformed),
        ),
    ] {
        let payload = format!(r#"{{{exp},"aud":{aud}}}"#);
        assert_eq!(
            with_claims(&api, &payload).map(|_| ()),
            for_api,
            "api: aud {aud}"
        );
        assert_eq!(
            with_claims(&none, &payload).map(|_| ()),
            for_none,
            "none: aud {aud}"
        );
        assert_eq!(
            with_claims(&any, &payload).map(|_| ()),
            for_any,
            "any: aud {aud}"
        );
    }
    // No `aud` at all: refused when one is expected.
    let payload = format!("{{{exp}}}");
    assert_eq!(
        with_claims(&api, &payload).map(|_| ()),
        Err(ErrorKind::Audience)
    );
    assert!(with_claims(&none, &payload).is_ok());
}

#[test]
fn issuer_and_subject_are_compared_exactly() {
    let v = Validator::builder(hs256())
        .clock(at(NOW))
        .issuer("https://issuer.example")
        .subject("user-1")
        .build()
        .unwrap();
    let check = |iss: &str, sub: &str| {
        with_claims(
            &v,
            &format!(r#"{{"exp":1800000600,"iss":{iss},"sub":{sub}}}"#),
        )
        .map(|_| ())
    };
    assert_eq!(check(r#""https://issuer.example""#, r#""user-1""#), Ok(()));
    for iss in [
        r#""https://issuer.example.evil""#,
        r#""https://issuer.example/""#,
        r#""HTTPS://ISSUER.EXAMPLE""#,
        r#""https://issuer.exampl""#,
        r#"" https://issuer.example""#,
        r#""""#,
    ] {
        assert_eq!(check(iss, r#""user-1""#), Err(ErrorKind::Issuer), "{iss}");
    }
    for sub in [r#""user-10""#, r#""User-1""#, r#""user-""#, r#""""#] {
        assert_eq!(
            check(r#""https://issuer.example""#, sub),
            Err(ErrorKind::Subject),
            "{sub}"
        );
    }
    for (iss, sub) in [
        ("5", r#""user-1""#),
        (r#"["https://issuer.example"]"#, r#""user-1""#),
        ("null", r#""user-1""#),
        (r#""https://issuer.example""#, "1"),
        (r#""https://issuer.example""#, r#"["user-1"]"#),
    ] {
        assert_eq!(check(iss, sub), Err(ErrorKind::Malformed), "{iss} {sub}");
    }
    // Missing claims.
    let missing_iss = with_claims(&v, r#"{"exp":1800000600,"sub":"user-1"}"#);
    assert_eq!(missing_iss.map(|_| ()), Err(ErrorKind::Issuer));
    let missing_sub = with_claims(&v, r#"{"exp":1800000600,"iss":"https://issuer.example"}"#);
    assert_eq!(missing_sub.map(|_| ()), Err(ErrorKind::Subject));
}

// ---------------------------------------------------------------------------------------------
// 20. Token kinds
// ---------------------------------------------------------------------------------------------

#[test]
fn typ_keeps_one_kind_of_token_from_passing_for_another() {
    let access = Validator::builder(hs256())
        .clock(at(NOW))
        .token_type("at+jwt")
        .build()
        .unwrap();
    let plain = validator(hs256());
    let token = |typ: Option<&str>| {
        let header = match typ {
            Some(typ) => serde_json::json!({"alg": "HS256", "typ": typ}).to_string(),
            None => r#"{"alg":"HS256"}"#.to_owned(),
        };
        signed(&hs256(), &header, PAYLOAD)
    };
    for (typ, for_access, for_plain) in [
        (Some("at+jwt"), Ok(()), Err(ErrorKind::TokenType)),
        (
            Some("application/at+jwt"),
            Ok(()),
            Err(ErrorKind::TokenType),
        ),
        (Some("AT+JWT"), Ok(()), Err(ErrorKind::TokenType)),
        (Some("JWT"), Err(ErrorKind::TokenType), Ok(())),
        (Some("jwt"), Err(ErrorKind::TokenType), Ok(())),
        (None, Err(ErrorKind::TokenType), Ok(())),
        (
            Some("refresh+jwt"),
            Err(ErrorKind::TokenType),
            Err(ErrorKind::TokenType),
        ),
        (
            Some("id_token+jwt"),
            Err(ErrorKind::TokenType),
            Err(ErrorKind::TokenType),
        ),
        (
            Some("secevent+jwt"),
            Err(ErrorKind::TokenType),
            Err(ErrorKind::TokenType),
        ),
        (
            Some("at+jwt "),
            Err(ErrorKind::TokenType),
            Err(ErrorKind::TokenType),
        ),
        (
            Some(""),
            Err(ErrorKind::TokenType),
            Err(ErrorKind::TokenType),
        ),
    ] {
        let t = token(typ);
        let got = access
            .verify::<Claims>(&t)
            .map(|_| ())
            .map_err(|e| e.kind());
        assert_eq!(got, for_access, "access validator, typ {typ:?}");
        let got = plain.verify::<Claims>(&t).map(|_| ()).map_err(|e| e.kind());
        assert_eq!(got, for_plain, "default validator, typ {typ:?}");
    }
    let non_string = signed(&hs256(), r#"{"alg":"HS256","typ":1}"#, PAYLOAD);
    assert_kind(&access, &non_string, ErrorKind::Malformed);
}

// ---------------------------------------------------------------------------------------------
// 21. Signature before claims, 22. no accidental acceptance
// ---------------------------------------------------------------------------------------------

#[test]
fn claims_are_not_parsed_before_the_signature_verifies() {
    let v = validator(hs256());
    let other = HmacKey::new(Algorithm::HS256, &[3; 32]).unwrap();
    // Each payload would fail a claim check; with a wrong signature the answer is Signature.
    for payload in [
        "not json at all",
        r#"{"exp":"soon"}"#,
        r#"{"exp":1}"#,
        r#"{"exp":1800000600,"exp":1800000600}"#,
        r#"{"exp":1800000600,"aud":"someone-else"}"#,
        r#"{"sub":"no exp"}"#,
        r#"{"exp":1800000600,"nbf":1900000000}"#,
    ] {
        let forged = signed(&other, r#"{"alg":"HS256"}"#, payload);
        assert_kind(&v, &forged, ErrorKind::Signature);
    }
}

#[test]
fn weakening_a_default_takes_a_named_opt_out() {
    let no_exp = r#"{"sub":"a"}"#;
    let with_aud = r#"{"exp":1800000600,"aud":"elsewhere"}"#;
    let strict = validator(hs256());
    assert_eq!(
        with_claims(&strict, no_exp).map(|_| ()),
        Err(ErrorKind::MissingClaim)
    );
    assert_eq!(
        with_claims(&strict, with_aud).map(|_| ()),
        Err(ErrorKind::Audience)
    );
    let lax = Validator::builder(hs256())
        .clock(at(NOW))
        .dangerous()
        .allow_missing_expiry()
        .dangerous()
        .allow_any_audience()
        .build()
        .unwrap();
    assert!(with_claims(&lax, no_exp).is_ok());
    assert!(with_claims(&lax, with_aud).is_ok());
    // Contradictory settings are refused when the validator is built, not at run time.
    let err = Validator::builder(hs256())
        .audience("api")
        .dangerous()
        .allow_any_audience()
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
}

// ---------------------------------------------------------------------------------------------
// 23. No panic: every prefix and single-character change of a token
// ---------------------------------------------------------------------------------------------

#[test]
fn no_prefix_or_single_character_change_of_a_token_panics_or_verifies() {
    let key = p256_private();
    let token = signed(&key, r#"{"alg":"ES256","typ":"JWT","kid":"k"}"#, PAYLOAD);
    let v = validator(key.public_key().with_key_id("k"));
    v.verify::<Claims>(&token).unwrap();
    for end in 0..token.len() {
        assert!(
            v.verify::<Claims>(&token[..end]).is_err(),
            "prefix of {end}"
        );
    }
    let replacements = [
        'A', 'B', 'Q', 'g', 'z', '0', '-', '_', '.', '=', '+', '/', ' ', 'é',
    ];
    for i in 0..token.len() {
        for &c in &replacements {
            let mut changed: String = token[..i].to_owned();
            changed.push(c);
            changed.push_str(&token[i + 1..]);
            if changed == token {
                continue;
            }
            assert!(v.verify::<Claims>(&changed).is_err(), "{c:?} at {i}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions: what the fuzz targets found (inputs kept in fuzz/corpus/)
// ---------------------------------------------------------------------------------------------

#[test]
fn auth_time_in_the_year_9999_with_max_age_does_not_panic() {
    // fuzz/corpus/claims/auth-time-max: `auth_time + max_age` overflowed OffsetDateTime.
    let v = Validator::builder(hs256())
        .clock(at(NOW))
        .issuer("https://issuer.example")
        .id_token("client-1")
        .max_age(Duration::hours(1))
        .build()
        .unwrap();
    let payload = r#"{"iss":"https://issuer.example","sub":"u","aud":"client-1","exp":1800000600,"iat":1800000000,"auth_time":253402300799}"#;
    // Authenticated "in the future" is not too old; the token passes the max_age rule.
    assert!(with_claims(&v, payload).is_ok());
    let old = payload.replace("253402300799", "-377705116800");
    assert_eq!(with_claims(&v, &old).map(|_| ()), Err(ErrorKind::AuthTime));
}

#[test]
fn builder_refuses_what_no_validator_would_accept() {
    // fuzz/corpus/roundtrip: the builder minted tokens its own validator refused.
    let key = hs256();
    let minted = |builder: keycard::Builder| builder.expires_in(Duration::minutes(5)).sign(&key);
    for (what, builder) in [
        ("empty typ", keycard::Builder::new().token_type("")),
        ("sid number", keycard::Builder::new().claim("sid", 5)),
        (
            "scope array",
            keycard::Builder::new().claim("scope", ["read"]),
        ),
        ("scp number", keycard::Builder::new().claim("scp", 1)),
        ("azp null", keycard::Builder::new().claim("azp", ())),
        (
            "auth_time bool",
            keycard::Builder::new().claim("auth_time", false),
        ),
        (
            "auth_time string",
            keycard::Builder::new().claim("auth_time", "1800000000"),
        ),
    ] {
        let err = minted(builder).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration, "{what}");
    }
    // The well-typed forms are minted and verify.
    let token = minted(
        keycard::Builder::new()
            .clock(at(NOW))
            .claim("sid", "s")
            .claim("scope", "read")
            .claim("scp", ["read"])
            .claim("azp", "client-1")
            .claim("auth_time", NOW),
    )
    .unwrap();
    validator(hs256()).verify::<Claims>(&token).unwrap();
}

#[test]
fn a_clock_at_the_edge_of_the_time_range_does_not_overflow_with_leeway() {
    // `now + leeway` overflowed OffsetDateTime when the validator's clock stood in 9999-12-31.
    use keycard::time::OffsetDateTime;
    use keycard::FixedClock;
    let end = OffsetDateTime::from_unix_timestamp(253_402_300_799).unwrap();
    let start = OffsetDateTime::from_unix_timestamp(-377_705_116_800).unwrap();
    for now in [end, start] {
        let v = Validator::builder(hs256())
            .clock(FixedClock(now))
            .leeway(Duration::minutes(5))
            .build()
            .unwrap();
        let t = now.unix_timestamp();
        let payload = format!(r#"{{"exp":253402300799,"nbf":{t},"iat":{t}}}"#);
        // Within the leeway of exp at the end; valid from nbf = now at the start.
        assert_eq!(with_claims(&v, &payload).map(|_| ()), Ok(()), "{now}");
    }
}
