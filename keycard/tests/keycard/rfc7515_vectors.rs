//! The RFC 7515 Appendix A and RFC 7520 §4 examples, read from `tests/vectors/` (copied from the
//! project's shared vectors; each file names its source). Expected values are the RFCs', never
//! keycard's own output.

use crate::common;

use common::{at, b64, text, vector};
use keycard::{
    Algorithm, Claims, EcdsaPublicKey, ErrorKind, HmacKey, RsaPublicKey, Signer, Validator,
    Verifier,
};

/// One minute before the A.1–A.3 payloads expire (exp = 1300819380, 2011-03-22T18:43:00Z).
const BEFORE_EXPIRY: i64 = 1_300_819_320;

fn rsa_public(jwk: &serde_json::Value, alg: Algorithm) -> RsaPublicKey {
    RsaPublicKey::from_components(alg, &b64(text(jwk, "n")), &b64(text(jwk, "e"))).unwrap()
}

fn ec_public(jwk: &serde_json::Value, alg: Algorithm) -> EcdsaPublicKey {
    let mut point = vec![4];
    point.extend(b64(text(jwk, "x")));
    point.extend(b64(text(jwk, "y")));
    EcdsaPublicKey::from_sec1_point(alg, &point).unwrap()
}

/// Verifies a vector's token with a clock before its expiry and checks the RFC's claims.
fn verifies_before_expiry(key: impl Verifier + 'static, token: &str) {
    let validator = Validator::builder(key)
        .clock(at(BEFORE_EXPIRY))
        .issuer("joe")
        .build()
        .unwrap();
    let claims: Claims = validator.verify(token).unwrap();
    assert_eq!(claims.issuer.as_deref(), Some("joe"));
    assert_eq!(claims.expires_at.unwrap().unix_timestamp(), 1_300_819_380);
    assert_eq!(claims.extra["http://example.com/is_root"], true);
}

/// The same token under the real clock is expired, not a signature failure.
fn is_expired_today(key: impl Verifier + 'static, token: &str) {
    let validator = Validator::builder(key).build().unwrap();
    let err = validator.verify::<Claims>(token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired, "{err}");
}

#[test]
fn a1_hs256_verifies_and_recomputes_the_same_mac() {
    let v = vector("rfc7515_a1_hs256.json");
    let key = HmacKey::new(Algorithm::HS256, &b64(text(&v["jwk"], "k"))).unwrap();
    let token = text(&v, "token");
    verifies_before_expiry(key.clone(), token);
    is_expired_today(key.clone(), token);

    // HMAC is deterministic: signing the RFC's signing input gives the RFC's signature bytes.
    let expected: Vec<u8> = serde_json::from_value(v["signature_octets"].clone()).unwrap();
    assert_eq!(
        key.sign(text(&v, "signing_input").as_bytes()).unwrap(),
        expected
    );
}

#[test]
fn a1_tampered_payload_header_or_signature_is_rejected() {
    let v = vector("rfc7515_a1_hs256.json");
    let key = HmacKey::new(Algorithm::HS256, &b64(text(&v["jwk"], "k"))).unwrap();
    let validator = Validator::builder(key)
        .clock(at(BEFORE_EXPIRY))
        .build()
        .unwrap();
    let token = text(&v, "token");
    let parts: Vec<&str> = token.split('.').collect();

    // A payload that says something else (re-encoded canonically) under the old signature.
    let forged_payload =
        common::b64e(br#"{"iss":"joe","exp":1300819380,"http://example.com/is_root":false}"#);
    let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    assert_eq!(
        validator.verify::<Claims>(&forged).unwrap_err().kind(),
        ErrorKind::Signature
    );

    // Another header with the same algorithm.
    let header = common::b64e(br#"{"alg":"HS256"}"#);
    let forged = format!("{header}.{}.{}", parts[1], parts[2]);
    assert_eq!(
        validator.verify::<Claims>(&forged).unwrap_err().kind(),
        ErrorKind::Signature
    );

    // A signature with one byte changed.
    let mut sig = b64(parts[2]);
    sig[0] ^= 0x01;
    let forged = format!("{}.{}.{}", parts[0], parts[1], common::b64e(&sig));
    assert_eq!(
        validator.verify::<Claims>(&forged).unwrap_err().kind(),
        ErrorKind::Signature
    );
}

#[test]
fn a2_rs256_verifies_with_the_rfc_public_key() {
    let v = vector("rfc7515_a2_rs256.json");
    let token = text(&v, "token");
    verifies_before_expiry(rsa_public(&v["jwk"], Algorithm::RS256), token);
    is_expired_today(rsa_public(&v["jwk"], Algorithm::RS256), token);
}

#[test]
fn a2_rs256_token_is_refused_by_the_same_key_bound_to_ps256() {
    let v = vector("rfc7515_a2_rs256.json");
    let validator = Validator::builder(rsa_public(&v["jwk"], Algorithm::PS256))
        .clock(at(BEFORE_EXPIRY))
        .build()
        .unwrap();
    let err = validator.verify::<Claims>(text(&v, "token")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Algorithm);
    assert_eq!(
        err.to_string(),
        "algorithm RS256 is not accepted here; expected PS256"
    );
}

#[test]
fn a3_es256_verifies_with_the_rfc_public_key() {
    let v = vector("rfc7515_a3_es256.json");
    let token = text(&v, "token");
    verifies_before_expiry(ec_public(&v["jwk"], Algorithm::ES256), token);
    is_expired_today(ec_public(&v["jwk"], Algorithm::ES256), token);
}

#[test]
fn a3_es256_token_is_refused_by_an_es384_validator_and_an_hmac_key() {
    let v = vector("rfc7515_a3_es256.json");
    let token = text(&v, "token");
    let es384 = keycard::EcdsaPrivateKey::generate(Algorithm::ES384)
        .unwrap()
        .public_key();
    let hmac = HmacKey::new(Algorithm::HS256, &[7; 32]).unwrap();
    for validator in [
        Validator::builder(es384).build().unwrap(),
        Validator::builder(hmac).build().unwrap(),
    ] {
        let err = validator.verify::<Claims>(token).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Algorithm, "{err}");
    }
}

#[test]
fn a5_unsecured_jws_is_rejected_as_algorithm_none() {
    let v = vector("rfc7515_a5_unsecured.json");
    let key = HmacKey::new(Algorithm::HS256, &[7; 32]).unwrap();
    let validator = Validator::builder(key)
        .clock(at(BEFORE_EXPIRY))
        .build()
        .unwrap();
    let err = validator.verify::<Claims>(text(&v, "token")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Algorithm);
    assert!(matches!(err, keycard::Error::NoneAlgorithm), "{err:?}");
}

#[test]
fn rfc7520_4_1_rs256_signature_verifies_but_text_payload_is_not_claims() {
    let v = vector("rfc7520_4_1_rs256.json");
    let key =
        rsa_public(&v["public_jwk"], Algorithm::RS256).with_key_id(text(&v["public_jwk"], "kid"));
    // The JWS layer: the RFC's signature over the RFC's signing input.
    key.verify(
        text(&v, "signing_input").as_bytes(),
        &b64(text(&v, "signature_b64")),
    )
    .unwrap();
    // The JWT layer: the signature passes, then the non-JSON payload is refused.
    let err = Validator::builder(key)
        .build()
        .unwrap()
        .verify::<Claims>(text(&v, "token"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed, "{err}");
    assert!(err.to_string().contains("claims"), "{err}");
}

#[test]
fn rfc7520_4_4_hs256_signature_verifies_but_text_payload_is_not_claims() {
    let v = vector("rfc7520_4_4_hs256.json");
    let key = HmacKey::new(Algorithm::HS256, &b64(text(&v["jwk"], "k")))
        .unwrap()
        .with_key_id(text(&v["jwk"], "kid"));
    let expected = b64(text(&v, "signature_b64"));
    assert_eq!(
        key.sign(text(&v, "signing_input").as_bytes()).unwrap(),
        expected
    );
    let err = Validator::builder(key)
        .build()
        .unwrap()
        .verify::<Claims>(text(&v, "token"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed, "{err}");
}

#[test]
fn rfc7520_4_4_token_with_another_kid_is_unknown_key_id() {
    let v = vector("rfc7520_4_4_hs256.json");
    let key = HmacKey::new(Algorithm::HS256, &b64(text(&v["jwk"], "k")))
        .unwrap()
        .with_key_id("some-other-key");
    let err = Validator::builder(key)
        .build()
        .unwrap()
        .verify::<Claims>(text(&v, "token"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
    assert_eq!(
        err.to_string(),
        "no key has key id `018c0ae5-4d9b-471b-bfd6-eef314bc7037`"
    );
}
