//! RFC vectors through JWK keys: RFC 7515 A.2 (RS256, full private JWK) and A.4 (ES512),
//! RFC 7520 §4.1–4.4 (RS256, PS384, ES512, HS256), RFC 8037 Appendix A (Ed25519). The vectors
//! are the files in `tests/vectors/` (copied from the RFC texts, see their `source` members);
//! every expected value comes from there, never from keycard's own output.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keycard::time::OffsetDateTime;
use keycard::{
    Algorithm, Claims, EcdsaPublicKey, Ed25519PrivateKey, Ed25519PublicKey, Error, ErrorKind,
    FixedClock, HmacKey, Jwk, KeySet, RsaPrivateKey, RsaPublicKey, Signer, Validator, Verifier,
};
use serde_json::Value;

fn vector(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn text<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("vector has no `{name}`"))
}

fn jwk(v: &Value, name: &str) -> Jwk {
    Jwk::from_json(&v[name].to_string()).unwrap()
}

fn b64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// The vector's signing input and decoded signature.
fn jws(v: &Value) -> (Vec<u8>, Vec<u8>) {
    let token = text(v, "token");
    let (input, signature) = token.rsplit_once('.').unwrap();
    assert_eq!(input, text(v, "signing_input"));
    assert_eq!(signature, text(v, "signature_b64"));
    (input.as_bytes().to_vec(), b64(signature))
}

/// A copy of `signature` with one bit flipped in the middle.
fn tampered(signature: &[u8]) -> Vec<u8> {
    let mut bad = signature.to_vec();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x01;
    bad
}

/// The payload of RFC 7520 §4 and RFC 8037 is text, not a JSON object: once the signature has
/// verified, a JWT validator must fail on the claims, with a typed error, not on the signature.
fn assert_fails_on_claims_after_signature(validator: &Validator, token: &str) {
    let err = validator.verify::<Claims>(token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed, "{err}");
    assert!(err.to_string().contains("claims"), "{err}");
}

#[test]
fn rfc7515_a2_rs256_private_jwk_re_signs_byte_identical() {
    let v = vector("rfc7515_a2_rs256");
    let private = jwk(&v, "jwk");
    assert!(private.is_private());
    let key = RsaPrivateKey::from_jwk(Algorithm::RS256, &private).unwrap();
    let (input, signature) = jws(&v);
    let expected: Vec<u8> = v["signature_octets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| u8::try_from(b.as_u64().unwrap()).unwrap())
        .collect();
    assert_eq!(signature, expected);
    assert_eq!(key.sign(&input).unwrap(), expected);
    let via_jwk = private.to_signer(Algorithm::RS256).unwrap();
    assert_eq!(via_jwk.sign(&input).unwrap(), expected);
}

#[test]
fn rfc7515_a2_rs256_verifies_with_the_public_half_and_rejects_tampering() {
    let v = vector("rfc7515_a2_rs256");
    let public = jwk(&v, "jwk").to_public().unwrap();
    assert!(!public.to_json().contains("\"d\""));
    let key = RsaPublicKey::from_jwk(Algorithm::RS256, &public).unwrap();
    let (input, signature) = jws(&v);
    key.verify(&input, &signature).unwrap();
    assert!(matches!(
        key.verify(&input, &tampered(&signature)),
        Err(Error::Signature)
    ));

    // The payload's exp is 2011-03-22T18:43:00Z: verified one second before, it passes...
    let before = OffsetDateTime::from_unix_timestamp(1_300_819_379).unwrap();
    let validator = Validator::builder(key.clone())
        .clock(FixedClock(before))
        .build()
        .unwrap();
    let claims: Claims = validator.verify(text(&v, "token")).unwrap();
    assert_eq!(claims.issuer.as_deref(), Some("joe"));
    // ...and with today's clock it is refused as expired, not as a bad signature.
    let validator = Validator::builder(key).build().unwrap();
    let err = validator.verify::<Claims>(text(&v, "token")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired);
}

#[test]
fn rfc7515_a2_rs256_key_is_refused_for_ps256() {
    let v = vector("rfc7515_a2_rs256");
    let key = RsaPublicKey::from_jwk(Algorithm::PS256, &jwk(&v, "jwk")).unwrap();
    let (input, signature) = jws(&v);
    assert!(matches!(
        key.verify(&input, &signature),
        Err(Error::Signature)
    ));
    let validator = Validator::builder(key).build().unwrap();
    let err = validator.verify::<Claims>(text(&v, "token")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::AlgorithmMismatch {
                found: Algorithm::RS256,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn rfc7515_a4_es512_is_unsupported_not_a_panic() {
    let v = vector("rfc7515_a4_es512");
    let private = jwk(&v, "jwk");
    assert_eq!(private.curve(), Some(keycard::jwk::Curve::P521));
    for err in [
        EcdsaPublicKey::from_jwk(Algorithm::ES512, &private).unwrap_err(),
        private.to_verifier(Algorithm::ES512).unwrap_err(),
        private.to_signer(Algorithm::ES512).unwrap_err(),
    ] {
        assert!(matches!(err, Error::UnsupportedAlgorithm { .. }), "{err}");
    }
    // The token is refused as unsupported whatever key the validator holds.
    let validator = Validator::builder(HmacKey::new(Algorithm::HS256, &[7; 32]).unwrap())
        .build()
        .unwrap();
    let err = validator.verify::<Claims>(text(&v, "token")).unwrap_err();
    assert!(
        matches!(err, Error::UnsupportedAlgorithm { ref alg } if alg == "ES512"),
        "{err}"
    );
    // A P-521 key asked for as ES256 is refused for its curve.
    let err = EcdsaPublicKey::from_jwk(Algorithm::ES256, &private).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key);
}

#[test]
fn rfc7520_4_1_rs256_re_signs_byte_identical_and_fails_on_claims() {
    let v = vector("rfc7520_4_1_rs256");
    let (input, signature) = jws(&v);
    let private = RsaPrivateKey::from_jwk(Algorithm::RS256, &jwk(&v, "jwk")).unwrap();
    assert_eq!(private.sign(&input).unwrap(), signature);
    assert_eq!(
        Signer::key_id(&private),
        Some("bilbo.baggins@hobbiton.example")
    );

    let public = RsaPublicKey::from_jwk(Algorithm::RS256, &jwk(&v, "public_jwk")).unwrap();
    public.verify(&input, &signature).unwrap();
    assert!(matches!(
        public.verify(&input, &tampered(&signature)),
        Err(Error::Signature)
    ));
    let validator = Validator::builder(public).build().unwrap();
    assert_fails_on_claims_after_signature(&validator, text(&v, "token"));
}

#[test]
fn rfc7520_4_2_ps384_verifies_and_is_not_accepted_as_rs384() {
    let v = vector("rfc7520_4_2_ps384");
    let (input, signature) = jws(&v);
    let public = jwk(&v, "public_jwk");
    let key = RsaPublicKey::from_jwk(Algorithm::PS384, &public).unwrap();
    key.verify(&input, &signature).unwrap();
    // Same modulus, other scheme: the PSS signature is not a PKCS#1 v1.5 one.
    let rs384 = RsaPublicKey::from_jwk(Algorithm::RS384, &public).unwrap();
    assert!(matches!(
        rs384.verify(&input, &signature),
        Err(Error::Signature)
    ));

    // A fresh PSS signature by the private JWK verifies too (PSS is randomized).
    let private = jwk(&v, "jwk").to_signer(Algorithm::PS384).unwrap();
    let fresh = private.sign(&input).unwrap();
    assert_ne!(fresh, signature);
    key.verify(&input, &fresh).unwrap();

    let validator = Validator::builder(key).build().unwrap();
    assert_fails_on_claims_after_signature(&validator, text(&v, "token"));
    let validator = Validator::builder(rs384).build().unwrap();
    let err = validator.verify::<Claims>(text(&v, "token")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Algorithm);
}

#[test]
fn rfc7520_4_3_es512_is_unsupported_through_jwk_key_set_and_validator() {
    let v = vector("rfc7520_4_3_es512");
    let public = jwk(&v, "public_jwk");
    let err = public.to_verifier(Algorithm::ES512).unwrap_err();
    assert!(matches!(err, Error::UnsupportedAlgorithm { .. }), "{err}");

    let document = format!(r#"{{"keys":[{}]}}"#, v["public_jwk"]);
    let set = KeySet::from_jwks_for(&document, &[Algorithm::ES512]).unwrap();
    assert!(set.is_empty());
    assert_eq!(set.skipped()[0].kind(), ErrorKind::Algorithm);
    assert_eq!(
        set.skipped()[0].key_id(),
        Some("bilbo.baggins@hobbiton.example")
    );

    let validator = Validator::builder(HmacKey::new(Algorithm::HS256, &[7; 32]).unwrap())
        .build()
        .unwrap();
    let err = validator.verify::<Claims>(text(&v, "token")).unwrap_err();
    assert!(matches!(err, Error::UnsupportedAlgorithm { .. }), "{err}");
}

#[test]
fn rfc7520_4_4_hs256_re_signs_byte_identical_and_fails_on_claims() {
    let v = vector("rfc7520_4_4_hs256");
    let (input, signature) = jws(&v);
    let key = HmacKey::from_jwk(Algorithm::HS256, &jwk(&v, "jwk")).unwrap();
    assert_eq!(key.sign(&input).unwrap(), signature);
    assert!(matches!(
        Verifier::verify(&key, &input, &tampered(&signature)),
        Err(Error::Signature)
    ));
    // The JWK says HS256: it is no HS384 or HS512 key.
    for other in [Algorithm::HS384, Algorithm::HS512] {
        assert_eq!(
            HmacKey::from_jwk(other, &jwk(&v, "jwk"))
                .unwrap_err()
                .kind(),
            ErrorKind::Key
        );
    }
    // Read as a key set, the kid selects it.
    let document = format!(r#"{{"keys":[{}]}}"#, v["jwk"]);
    let validator =
        Validator::builder_with_keys(KeySet::from_jwks_with_secrets(&document).unwrap())
            .build()
            .unwrap();
    assert_fails_on_claims_after_signature(&validator, text(&v, "token"));
}

#[test]
fn rfc8037_ed25519_private_jwk_re_signs_byte_identical() {
    let v = vector("rfc8037_a4_ed25519");
    let private = jwk(&v, "jwk");
    let key = Ed25519PrivateKey::from_jwk(&private).unwrap();
    assert_eq!(key.to_seed(), hex(text(&v, "secret_key_hex")));
    assert_eq!(
        key.public_key().as_bytes().to_vec(),
        hex(text(&v, "public_key_hex"))
    );
    let (input, signature) = jws(&v);
    assert_eq!(key.sign(&input).unwrap(), signature);
    assert_eq!(
        private
            .to_signer(Algorithm::EdDSA)
            .unwrap()
            .sign(&input)
            .unwrap(),
        signature
    );
}

#[test]
fn rfc8037_ed25519_public_jwk_verifies_and_fails_on_claims() {
    let v = vector("rfc8037_a4_ed25519");
    let key = Ed25519PublicKey::from_jwk(&jwk(&v, "public_jwk")).unwrap();
    let (input, signature) = jws(&v);
    key.verify(&input, &signature).unwrap();
    assert!(matches!(
        key.verify(&input, &tampered(&signature)),
        Err(Error::Signature)
    ));
    let validator = Validator::builder(key).build().unwrap();
    assert_fails_on_claims_after_signature(&validator, text(&v, "token"));
}

#[test]
fn rfc8037_a3_thumbprint_matches_for_private_and_public_jwk() {
    let v = vector("rfc8037_a4_ed25519");
    let expected = text(&v, "a3_thumbprint_b64");
    assert_eq!(
        b64(expected),
        hex(text(&v, "a3_thumbprint_sha256_hex")),
        "the vector's two spellings agree"
    );
    assert_eq!(jwk(&v, "public_jwk").thumbprint(), expected);
    assert_eq!(jwk(&v, "jwk").thumbprint(), expected);
    let exported = Ed25519PublicKey::from_jwk(&jwk(&v, "public_jwk"))
        .unwrap()
        .to_jwk();
    assert_eq!(exported.thumbprint(), expected);
}

#[test]
fn rfc8037_private_jwk_with_a_foreign_public_key_is_refused() {
    let v = vector("rfc8037_a4_ed25519");
    let mut other = v["jwk"].clone();
    // Another valid Ed25519 public key (RFC 8032 §7.1 TEST 2).
    other["x"] = Value::String(URL_SAFE_NO_PAD.encode(hex(
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    )));
    let err =
        Ed25519PrivateKey::from_jwk(&Jwk::from_json(&other.to_string()).unwrap()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key);
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}
