//! JSON Web Keys: the RFC 7517 Appendix A and B key examples, the RFC 7638 §3.1 thumbprint, how
//! `alg`, `use`, `key_ops` and `crv` restrict a key, what the parser refuses, and that public
//! export never carries a private member. Expected values come from `tests/vectors/` (RFC text).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keycard::jwk::KeyUse;
use keycard::{
    Algorithm, EcdsaPrivateKey, EcdsaPublicKey, Ed25519PrivateKey, Ed25519PublicKey, Error,
    ErrorKind, HmacKey, Jwk, RsaPrivateKey, RsaPublicKey, Signer, Verifier,
};
use serde_json::{json, Value};

fn vector(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn examples() -> Value {
    vector("rfc7517_jwk_examples")
}

fn parse(value: &Value) -> Jwk {
    Jwk::from_json(&value.to_string()).unwrap()
}

fn rsa_public_a1() -> Value {
    examples()["a1_public_jwk_set"]["keys"][1].clone()
}

fn ec_public_a1() -> Value {
    examples()["a1_public_jwk_set"]["keys"][0].clone()
}

fn without(mut value: Value, member: &str) -> Value {
    value.as_object_mut().unwrap().remove(member);
    value
}

fn with(mut value: Value, member: &str, new: Value) -> Value {
    value[member] = new;
    value
}

#[test]
fn rfc7638_3_1_thumbprint_of_the_rfc7517_rsa_key() {
    let expected = examples()["rfc7638_thumbprint_of_rsa_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(expected, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    let public = parse(&rsa_public_a1());
    assert_eq!(public.thumbprint(), expected);
    // kid, alg and use are not part of it, nor are private members.
    let private = parse(&examples()["a2_private_jwk_set"]["keys"][1]);
    assert_eq!(private.thumbprint(), expected);
    let bare = parse(&without(without(rsa_public_a1(), "kid"), "alg"));
    assert_eq!(bare.thumbprint(), expected);
    // The key exported by keycard has the same thumbprint.
    let key = RsaPublicKey::from_jwk(Algorithm::RS256, &public).unwrap();
    assert_eq!(key.to_jwk().thumbprint(), expected);
}

#[test]
fn with_thumbprint_key_id_sets_kid_to_the_rfc7638_thumbprint() {
    let jwk = parse(&without(rsa_public_a1(), "kid")).with_thumbprint_key_id();
    assert_eq!(
        jwk.key_id(),
        Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    );
    let key = RsaPublicKey::from_jwk(Algorithm::RS256, &jwk).unwrap();
    assert_eq!(
        Verifier::key_id(&key),
        Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    );
}

#[test]
fn rfc7517_a1_rsa_key_with_alg_rs256_is_refused_for_other_algorithms() {
    let jwk = parse(&rsa_public_a1());
    assert_eq!(jwk.algorithm(), Some("RS256"));
    assert_eq!(jwk.key_id(), Some("2011-04-29"));
    let key = RsaPublicKey::from_jwk(Algorithm::RS256, &jwk).unwrap();
    assert_eq!(Verifier::algorithm(&key), Algorithm::RS256);
    assert_eq!(Verifier::key_id(&key), Some("2011-04-29"));
    for other in [Algorithm::PS256, Algorithm::RS384, Algorithm::RS512] {
        let err = RsaPublicKey::from_jwk(other, &jwk).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Key);
        assert!(err.to_string().contains("`alg: RS256`"), "{err}");
    }
    // The HMAC confusion of SECURITY.md item 2 cannot even be expressed.
    let err = jwk.to_verifier(Algorithm::HS256).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key);
}

#[test]
fn rfc7517_a1_ec_key_marked_use_enc_is_not_used_for_signatures() {
    let jwk = parse(&ec_public_a1());
    assert_eq!(jwk.key_use(), Some(&KeyUse::Encryption));
    let err = EcdsaPublicKey::from_jwk(Algorithm::ES256, &jwk).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key);
    assert!(err.to_string().contains("use: enc"), "{err}");
    // Without `use`, the same point is a valid ES256 key (and not an ES384 one).
    let unmarked = parse(&without(ec_public_a1(), "use"));
    EcdsaPublicKey::from_jwk(Algorithm::ES256, &unmarked).unwrap();
    let err = EcdsaPublicKey::from_jwk(Algorithm::ES384, &unmarked).unwrap_err();
    assert!(err.to_string().contains("P-256"), "{err}");
}

#[test]
fn rfc7517_a2_private_keys_match_their_public_halves() {
    let keys = examples()["a2_private_jwk_set"]["keys"].clone();
    // EC: d·G must be (x, y); ring checks it. `use: enc` refuses the key for signing...
    let ec = parse(&keys[0]);
    assert!(ec.is_private());
    let err = EcdsaPrivateKey::from_jwk(Algorithm::ES256, &ec).unwrap_err();
    assert!(err.to_string().contains("use: enc"), "{err}");
    // ...so take the member away to check the key itself.
    let ec = EcdsaPrivateKey::from_jwk(Algorithm::ES256, &parse(&without(keys[0].clone(), "use")))
        .unwrap();
    let public = parse(&without(ec_public_a1(), "use"));
    let expected = EcdsaPublicKey::from_jwk(Algorithm::ES256, &public).unwrap();
    assert_eq!(ec.public_key().sec1_point(), expected.sec1_point());
    let signature = ec.sign(b"message").unwrap();
    expected.verify(b"message", &signature).unwrap();

    // RSA: the private key signs what the A.1 public key verifies.
    let rsa = RsaPrivateKey::from_jwk(Algorithm::RS256, &parse(&keys[1])).unwrap();
    assert_eq!(Signer::key_id(&rsa), Some("2011-04-29"));
    let public = RsaPublicKey::from_jwk(Algorithm::RS256, &parse(&rsa_public_a1())).unwrap();
    public
        .verify(b"message", &rsa.sign(b"message").unwrap())
        .unwrap();
    assert_eq!(
        rsa.public_key().to_jwk().thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn private_jwk_with_a_scalar_of_another_key_is_refused() {
    let keys = examples()["a2_private_jwk_set"]["keys"].clone();
    let mut ec = without(keys[0].clone(), "use");
    // d + 1 (the last octet of this d is 0x01, so no carry).
    let mut d = URL_SAFE_NO_PAD.decode(ec["d"].as_str().unwrap()).unwrap();
    *d.last_mut().unwrap() ^= 0x01;
    ec["d"] = Value::String(URL_SAFE_NO_PAD.encode(&d));
    let err = EcdsaPrivateKey::from_jwk(Algorithm::ES256, &parse(&ec)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key);

    let mut rsa = keys[1].clone();
    rsa["qi"] = rsa["dp"].clone();
    let err = RsaPrivateKey::from_jwk(Algorithm::RS256, &parse(&rsa)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key);
}

#[test]
fn rfc7517_a3_symmetric_keys_a128kw_refused_and_hmac_key_verifies_rfc7515_a1() {
    let keys = examples()["a3_symmetric_jwk_set"]["keys"].clone();
    let key_wrap = parse(&keys[0]);
    assert_eq!(key_wrap.algorithm(), Some("A128KW"));
    let err = HmacKey::from_jwk(Algorithm::HS256, &key_wrap).unwrap_err();
    assert!(err.to_string().contains("A128KW"), "{err}");

    let hmac = HmacKey::from_jwk(Algorithm::HS256, &parse(&keys[1])).unwrap();
    assert_eq!(
        Verifier::key_id(&hmac),
        Some("HMAC key used in JWS spec Appendix A.1 example")
    );
    // It is the key of RFC 7515 A.1: its signature verifies.
    let a1 = vector("rfc7515_a1_hs256");
    let signature = URL_SAFE_NO_PAD
        .decode(a1["signature_b64"].as_str().unwrap())
        .unwrap();
    let input = a1["signing_input"].as_str().unwrap().as_bytes();
    Verifier::verify(&hmac, input, &signature).unwrap();
    assert_eq!(parse(&keys[1]).thumbprint().len(), 43);
}

#[test]
fn rfc7517_b_key_with_x5c_reads_as_an_rsa_key_and_ignores_the_certificate() {
    let b = examples()["b_x5c_jwk"].clone();
    let jwk = parse(&b);
    assert_eq!(jwk.key_use(), Some(&KeyUse::Signature));
    assert_eq!(jwk.algorithm(), None);
    let key = RsaPublicKey::from_jwk(Algorithm::RS256, &jwk).unwrap();
    assert_eq!(Verifier::key_id(&key), Some("1b94c"));
    // keycard writes only what it understands: no certificate on export.
    assert!(!key.to_jwk().to_json().contains("x5c"));
    // A JWK without `alg` serves whatever RSA algorithm the caller names.
    RsaPublicKey::from_jwk(Algorithm::PS512, &jwk).unwrap();
}

#[test]
fn key_ops_restrict_what_a_key_may_do() {
    let private = examples()["a2_private_jwk_set"]["keys"][0].clone();
    let private = without(private, "use");
    let sign_only = parse(&with(private.clone(), "key_ops", json!(["sign"])));
    sign_only.to_signer(Algorithm::ES256).unwrap();
    let err = sign_only.to_verifier(Algorithm::ES256).unwrap_err();
    assert!(err.to_string().contains("`verify`"), "{err}");
    // The public half of a sign-only key keeps no operation it could do.
    assert_eq!(sign_only.to_public().unwrap().key_ops(), Some(&[][..]));

    let verify_only = parse(&with(private, "key_ops", json!(["verify"])));
    verify_only.to_verifier(Algorithm::ES256).unwrap();
    assert!(verify_only.to_signer(Algorithm::ES256).is_err());

    let hmac = json!({"kty":"oct","k":URL_SAFE_NO_PAD.encode([9u8; 32]),"key_ops":["verify"]});
    let hmac = parse(&hmac);
    hmac.to_verifier(Algorithm::HS256).unwrap();
    assert!(hmac.to_signer(Algorithm::HS256).is_err());
    // An HmacKey both signs and verifies, so it needs both operations.
    assert!(HmacKey::from_jwk(Algorithm::HS256, &hmac).is_err());
}

#[test]
fn unknown_use_and_encryption_key_ops_are_refused() {
    let ec = without(ec_public_a1(), "use");
    let jwk = parse(&with(ec.clone(), "use", json!("tls")));
    assert!(jwk.to_verifier(Algorithm::ES256).is_err());
    let jwk = parse(&with(ec, "key_ops", json!(["encrypt", "wrapKey"])));
    assert!(jwk.to_verifier(Algorithm::ES256).is_err());
}

#[test]
fn parser_refuses_malformed_jwks() {
    let rsa = rsa_public_a1();
    let cases: Vec<(&str, Value)> = vec![
        ("no kty", without(rsa.clone(), "kty")),
        ("unknown kty", with(rsa.clone(), "kty", json!("DSA"))),
        ("kty not a string", with(rsa.clone(), "kty", json!(1))),
        ("no n", without(rsa.clone(), "n")),
        ("no e", without(rsa.clone(), "e")),
        ("kid not a string", with(rsa.clone(), "kid", json!(7))),
        (
            "alg not a string",
            with(rsa.clone(), "alg", json!(["RS256"])),
        ),
        (
            "key_ops not an array",
            with(rsa.clone(), "key_ops", json!("verify")),
        ),
        (
            "key_ops twice the same",
            with(rsa.clone(), "key_ops", json!(["verify", "verify"])),
        ),
        (
            "use sig with key_ops encrypt",
            with(
                with(rsa.clone(), "use", json!("sig")),
                "key_ops",
                json!(["encrypt"]),
            ),
        ),
        ("member of an EC key", with(rsa.clone(), "x", json!("AQAB"))),
        (
            "member of an oct key",
            with(rsa.clone(), "k", json!("AQAB")),
        ),
        ("padded base64url", with(rsa.clone(), "e", json!("AQAB=="))),
        (
            "standard base64 alphabet",
            with(rsa.clone(), "e", json!("AQ+B")),
        ),
        ("stray bits", with(rsa.clone(), "e", json!("AR"))),
        (
            "whitespace in base64url",
            with(rsa.clone(), "e", json!("AQ AB")),
        ),
        ("multi-prime oth", with(rsa.clone(), "oth", json!([]))),
        (
            "d without CRT members",
            with(rsa.clone(), "d", json!("AQAB")),
        ),
        ("EC without crv", without(ec_public_a1(), "crv")),
        ("EC without y", without(ec_public_a1(), "y")),
        ("EC with n", with(ec_public_a1(), "n", json!("AQAB"))),
        ("OKP without x", json!({"kty":"OKP","crv":"Ed25519"})),
        (
            "OKP with y",
            json!({"kty":"OKP","crv":"Ed25519","x":"AQAB","y":"AQAB"}),
        ),
        ("oct without k", json!({"kty":"oct"})),
        ("not an object", json!(["kty", "RSA"])),
        ("a string", json!("RSA")),
    ];
    for (what, value) in cases {
        let err = Jwk::from_json(&value.to_string()).expect_err(what);
        assert_eq!(err.kind(), ErrorKind::Key, "{what}: {err}");
    }
    for text in ["", "{", "{\"kty\":\"oct\",\"k\":\"AQAB\"} trailing", "null"] {
        let err = Jwk::from_json(text).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Key, "{text:?}: {err}");
    }
}

#[test]
fn parser_refuses_duplicate_members_even_when_spelled_with_escapes() {
    let json = r#"{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","alg":"HS256","alg":"none"}"#;
    let err = Jwk::from_json(json).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key);
    assert!(err.to_string().contains("`alg`"), "{err}");
    let escaped =
        r#"{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","\u006b":"AQAB"}"#;
    assert_eq!(Jwk::from_json(escaped).unwrap_err().kind(), ErrorKind::Key);
}

#[test]
fn unknown_members_are_ignored() {
    let jwk = parse(&with(
        with(rsa_public_a1(), "x5t", json!("not checked")),
        "ext",
        json!({"nested": [1, 2, 3]}),
    ));
    RsaPublicKey::from_jwk(Algorithm::RS256, &jwk).unwrap();
}

#[test]
fn ec_jwk_curve_must_match_the_algorithm_and_the_point_must_be_on_it() {
    let ec = without(ec_public_a1(), "use");
    let p384 = parse(&with(ec.clone(), "crv", json!("P-384")));
    let err = EcdsaPublicKey::from_jwk(Algorithm::ES256, &p384).unwrap_err();
    assert!(err.to_string().contains("P-384"), "{err}");
    // A P-256 point is the wrong size for P-384.
    assert_eq!(
        EcdsaPublicKey::from_jwk(Algorithm::ES384, &p384)
            .unwrap_err()
            .kind(),
        ErrorKind::Key
    );
    // One bit of y changed: off the curve (invalid-curve attacks, SECURITY.md item 6).
    let mut y = URL_SAFE_NO_PAD.decode(ec["y"].as_str().unwrap()).unwrap();
    y[31] ^= 1;
    let off = parse(&with(ec.clone(), "y", json!(URL_SAFE_NO_PAD.encode(&y))));
    let err = EcdsaPublicKey::from_jwk(Algorithm::ES256, &off).unwrap_err();
    assert!(
        err.to_string().contains("not a point on the curve"),
        "{err}"
    );
    // RFC 7518 §6.2.1.2: coordinates are full-size; a short x is refused.
    let x = URL_SAFE_NO_PAD.decode(ec["x"].as_str().unwrap()).unwrap();
    let short = parse(&with(
        ec.clone(),
        "x",
        json!(URL_SAFE_NO_PAD.encode(&x[1..])),
    ));
    assert!(EcdsaPublicKey::from_jwk(Algorithm::ES256, &short).is_err());
    // secp256k1 is not in ring.
    let k1 = parse(&with(ec, "crv", json!("secp256k1")));
    let err = k1.to_verifier(Algorithm::ES256K).unwrap_err();
    assert!(matches!(err, Error::UnsupportedAlgorithm { .. }), "{err}");
}

#[test]
fn okp_jwk_must_be_ed25519() {
    let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    for crv in ["X25519", "Ed448", "X448", "ed25519"] {
        // An unknown curve (curve names are case-sensitive) is refused when the JWK is read,
        // a known one that is not Ed25519 when it is made into a key.
        let err = Jwk::from_json(&json!({"kty":"OKP","crv":crv,"x":x}).to_string())
            .and_then(|jwk| Ed25519PublicKey::from_jwk(&jwk))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Key, "{crv}");
    }
    let wrong_alg = parse(&json!({"kty":"OKP","crv":"Ed25519","x":x,"alg":"ES256"}));
    assert!(Ed25519PublicKey::from_jwk(&wrong_alg).is_err());
    // A small-order point is refused like any other way of making the key.
    let identity = URL_SAFE_NO_PAD.encode({
        let mut p = [0u8; 32];
        p[0] = 1;
        p
    });
    let weak = parse(&json!({"kty":"OKP","crv":"Ed25519","x":identity}));
    assert!(Ed25519PublicKey::from_jwk(&weak).is_err());
    // RFC 8037 §2: x is 32 bytes.
    let short = parse(&json!({"kty":"OKP","crv":"Ed25519","x":"AQAB"}));
    assert!(Ed25519PublicKey::from_jwk(&short).is_err());
}

#[test]
fn weak_keys_from_jwk_are_refused_like_any_other() {
    let hmac =
        |bytes: usize| parse(&json!({"kty":"oct","k":URL_SAFE_NO_PAD.encode(vec![1u8; bytes])}));
    assert!(HmacKey::from_jwk(Algorithm::HS256, &hmac(31)).is_err());
    HmacKey::from_jwk(Algorithm::HS256, &hmac(32)).unwrap();
    assert!(HmacKey::from_jwk(Algorithm::HS512, &hmac(63)).is_err());
    assert!(HmacKey::from_jwk(Algorithm::HS256, &hmac(0)).is_err());
    // A 1024-bit modulus (RFC 7518 §3.3 requires 2048).
    let small = json!({"kty":"RSA","e":"AQAB","n":URL_SAFE_NO_PAD.encode([0xc5u8; 128])});
    let err = RsaPublicKey::from_jwk(Algorithm::RS256, &parse(&small)).unwrap_err();
    assert!(err.to_string().contains("1024 bits"), "{err}");
    // e = 1.
    let one = with(rsa_public_a1(), "e", json!("AQ"));
    assert!(RsaPublicKey::from_jwk(Algorithm::RS256, &parse(&one)).is_err());
}

#[test]
fn public_export_never_carries_private_members() {
    let private_members = [
        "\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\"", "\"k\"",
    ];
    let rsa = RsaPrivateKey::from_jwk(
        Algorithm::RS256,
        &parse(&examples()["a2_private_jwk_set"]["keys"][1]),
    )
    .unwrap();
    let ec = EcdsaPrivateKey::generate(Algorithm::ES384).unwrap();
    let ed = Ed25519PrivateKey::generate().unwrap();
    let exported = [
        rsa.public_key().to_jwk(),
        ec.public_key().to_jwk(),
        ed.public_key().to_jwk(),
        parse(&examples()["a2_private_jwk_set"]["keys"][1])
            .to_public()
            .unwrap(),
    ];
    for jwk in exported {
        let json = jwk.to_json();
        assert!(!jwk.is_private());
        for member in private_members {
            assert!(!json.contains(member), "{member} in {json}");
        }
    }
    // An HMAC secret has no public half and no public JWK.
    let hmac = parse(&examples()["a3_symmetric_jwk_set"]["keys"][1]);
    assert!(hmac.to_public().is_none());
    let key = HmacKey::from_jwk(Algorithm::HS256, &hmac).unwrap();
    assert!(key.public_jwk().is_none());
}

#[test]
fn exported_public_jwk_names_its_algorithm_use_and_kid() {
    let key = EcdsaPrivateKey::generate(Algorithm::ES384)
        .unwrap()
        .with_key_id("ec-1");
    let json: Value = serde_json::from_str(&key.public_key().to_jwk().to_json()).unwrap();
    assert_eq!(json["kty"], "EC");
    assert_eq!(json["crv"], "P-384");
    assert_eq!(json["alg"], "ES384");
    assert_eq!(json["use"], "sig");
    assert_eq!(json["kid"], "ec-1");
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(json["x"].as_str().unwrap())
            .unwrap()
            .len(),
        48
    );
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(json["y"].as_str().unwrap())
            .unwrap()
            .len(),
        48
    );
}

#[test]
fn private_jwk_round_trips_through_json_and_serde() {
    let private = examples()["a2_private_jwk_set"]["keys"][1].clone();
    let jwk = parse(&private);
    let again: Value = serde_json::from_str(&jwk.to_json()).unwrap();
    assert_eq!(again, private);
    let through_serde: Jwk = serde_json::from_value(private.clone()).unwrap();
    assert_eq!(through_serde.thumbprint(), jwk.thumbprint());
    let written = serde_json::to_value(&jwk).unwrap();
    assert_eq!(written, private);
    // Deserialize applies the same checks as from_json.
    assert!(serde_json::from_value::<Jwk>(without(private, "n")).is_err());
}

#[test]
fn debug_never_shows_key_material() {
    let private = parse(&examples()["a2_private_jwk_set"]["keys"][1]);
    let shown = format!("{private:?}");
    for member in ["d", "p", "q", "dp", "dq", "qi", "n"] {
        let value = examples()["a2_private_jwk_set"]["keys"][1][member]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(!shown.contains(&value[..16]), "{member} shown in {shown}");
    }
    assert!(
        shown.contains("RSA") && shown.contains("private: true"),
        "{shown}"
    );
    let hmac = parse(&examples()["a3_symmetric_jwk_set"]["keys"][1]);
    assert!(!format!("{hmac:?}").contains("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ"));
    // Errors do not echo key material either.
    let err = Jwk::from_json(r#"{"kty":"oct","k":"c2VjcmV0LXNlY3JldA=="}"#).unwrap_err();
    assert!(!err.to_string().contains("c2VjcmV0"), "{err}");
}

#[test]
fn rsa_crt_members_without_d_are_refused_with_that_reason() {
    let private = examples()["a2_private_jwk_set"]["keys"][1].clone();
    let err = Jwk::from_json(&without(private, "d").to_string()).unwrap_err();
    assert!(err.to_string().contains("no private exponent"), "{err}");
}
