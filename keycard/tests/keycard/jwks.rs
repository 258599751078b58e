//! JWK Sets (RFC 7517 §5) through `KeySet`: unusable keys are skipped and reported instead of
//! failing the set, keys are chosen by `kid` and `alg`, an unknown `kid` is its own error, a
//! token without `kid` is tried only against keys of its algorithm, and export writes public keys
//! only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keycard::time::Duration;
use keycard::{
    Algorithm, Builder, Claims, EcdsaPrivateKey, Ed25519PrivateKey, Error, ErrorKind, HmacKey, Jwk,
    KeySet, Signer, Validator, Verifier,
};
use serde_json::{json, Value};

fn examples() -> Value {
    let path = format!(
        "{}/tests/vectors/rfc7517_jwk_examples.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn token(signer: &impl Signer) -> String {
    Builder::new()
        .expires_in(Duration::minutes(5))
        .sign(signer)
        .unwrap()
}

fn document(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}

fn public_jwk(key: &EcdsaPrivateKey) -> Value {
    serde_json::from_str(&key.public_key().to_jwk().to_json()).unwrap()
}

#[test]
fn rfc7517_a1_set_keeps_the_rs256_key_and_reports_the_encryption_key() {
    let set = KeySet::from_jwks(&examples()["a1_public_jwk_set"].to_string()).unwrap();
    assert_eq!(set.len(), 1);
    let key = set.iter().next().unwrap();
    assert_eq!(key.algorithm(), Algorithm::RS256);
    assert_eq!(key.key_id(), Some("2011-04-29"));
    let skipped = &set.skipped()[0];
    assert_eq!(skipped.index(), 0);
    assert_eq!(skipped.key_id(), Some("1"));
    assert_eq!(skipped.kind(), ErrorKind::Key);
    assert!(skipped.reason().contains("use: enc"), "{skipped}");
    assert_eq!(
        skipped.to_string(),
        format!("key #0 (kid `1`) skipped: {}", skipped.reason())
    );
}

#[test]
fn rfc7517_a2_private_set_is_not_a_verification_set() {
    let set = KeySet::from_jwks(&examples()["a2_private_jwk_set"].to_string()).unwrap();
    assert!(set.is_empty());
    assert!(
        set.skipped()[1].reason().contains("private key"),
        "{}",
        set.skipped()[1]
    );
    let err = Validator::builder_with_keys(set).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
}

#[test]
fn one_bad_key_does_not_fail_the_set() {
    let good = EcdsaPrivateKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("good");
    let ed = Ed25519PrivateKey::generate().unwrap();
    let mut alg_none = public_jwk(&good);
    alg_none["alg"] = json!("none");
    alg_none["kid"] = json!("none");
    let mut no_alg = public_jwk(&good);
    no_alg.as_object_mut().unwrap().remove("alg");
    no_alg["kid"] = json!("no-alg");
    let keys = [
        json!("not an object"),
        public_jwk(&good),
        json!({"kty":"EC","crv":"P-521","alg":"ES512","kid":"p521",
               "x":"AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt",
               "y":"AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1"}),
        json!({"kty":"RSA","alg":"RSA-OAEP","kid":"jwe","e":"AQAB","n":"AQAB"}),
        json!({"kty":"oct","alg":"HS256","kid":"short","k":"c2hvcnQ"}),
        json!({"kty":"EC","crv":"P-256","alg":"ES256","kid":"bad-b64","x":"A=","y":"B="}),
        alg_none,
        no_alg,
        json!({"kty":"OKP","crv":"Ed25519","alg":"EdDSA","kid":"ed",
               "x": URL_SAFE_NO_PAD.encode(ed.public_key().as_bytes())}),
        json!({"kty":"oct","kid":"dup","k":"AQAB","k":"AQAB"}),
    ];
    // serde_json's json! macro keeps one `k`: write the duplicate member by hand.
    let text = document(&keys).replace(
        r#"{"k":"AQAB","kid":"dup","kty":"oct"}"#,
        r#"{"k":"AQAB","kid":"dup","kty":"oct","k":"AQAC"}"#,
    );
    let set = KeySet::from_jwks(&text).unwrap();
    let kept: Vec<Option<&str>> = set.iter().map(|k| k.key_id()).collect();
    assert_eq!(kept, [Some("good"), Some("ed")]);
    let skipped: Vec<(usize, ErrorKind)> = set
        .skipped()
        .iter()
        .map(|s| (s.index(), s.kind()))
        .collect();
    assert_eq!(
        skipped,
        [
            (0, ErrorKind::Key),
            (2, ErrorKind::Algorithm), // P-521: unsupported
            (3, ErrorKind::Algorithm), // a JWE algorithm
            (4, ErrorKind::Key),       // 5-byte HS256 secret
            (5, ErrorKind::Key),       // padded base64url
            (6, ErrorKind::Algorithm), // `none`
            (7, ErrorKind::Key),       // no `alg`
            (9, ErrorKind::Key),       // duplicate member
        ]
    );
    assert!(set.skipped()[6].reason().contains("from_jwks_for"));
    // The usable keys work.
    let validator = Validator::builder_with_keys(set).build().unwrap();
    validator.verify::<Claims>(&token(&good)).unwrap();
    validator
        .verify::<Claims>(&token(&ed.with_key_id("ed")))
        .unwrap();
}

#[test]
fn documents_that_are_not_jwk_sets_are_key_errors() {
    for text in [
        "",
        "[]",
        "{}",
        r#"{"keys":{}}"#,
        r#"{"keys":"[]"}"#,
        r#"{"keys":[],"keys":[]}"#,
        r#"{"keys":[{"kty":"oct"}"#,
    ] {
        let err = KeySet::from_jwks(text).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Key, "{text:?}: {err}");
    }
    // Other members of the document are ignored (RFC 7517 §5).
    let set = KeySet::from_jwks(r#"{"keys":[],"issuer":"https://idp.example"}"#).unwrap();
    assert!(set.is_empty() && set.skipped().is_empty());
}

#[test]
fn from_jwks_for_names_algorithms_for_keys_without_alg_and_filters_the_others() {
    // RFC 7517 Appendix B: an RSA key with `use: sig` and no `alg`.
    let b = examples()["b_x5c_jwk"].clone();
    let with_alg = examples()["a1_public_jwk_set"]["keys"][1].clone(); // alg RS256
    let text = document(&[b, with_alg]);

    let set = KeySet::from_jwks_for(&text, &[Algorithm::RS256, Algorithm::PS256]).unwrap();
    let algorithms: Vec<(Option<&str>, Algorithm)> =
        set.iter().map(|k| (k.key_id(), k.algorithm())).collect();
    assert_eq!(
        algorithms,
        [
            (Some("1b94c"), Algorithm::RS256),
            (Some("1b94c"), Algorithm::PS256),
            (Some("2011-04-29"), Algorithm::RS256),
        ]
    );

    // A key whose `alg` is not accepted is skipped; one without `alg` that no accepted algorithm
    // fits is too.
    let set = KeySet::from_jwks_for(&text, &[Algorithm::PS256]).unwrap();
    assert_eq!(set.len(), 1);
    assert!(matches!(
        set.skipped()[0],
        ref s if s.key_id() == Some("2011-04-29") && s.kind() == ErrorKind::Algorithm
    ));
    let set = KeySet::from_jwks_for(&text, &[Algorithm::ES256, Algorithm::HS256]).unwrap();
    assert!(set.is_empty());
    assert!(
        set.skipped()[0].reason().contains("none of the accepted"),
        "{}",
        set.skipped()[0]
    );
}

#[test]
fn token_kid_selects_the_key_and_an_unknown_kid_is_its_own_error() {
    let k1 = EcdsaPrivateKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("k1");
    let k2 = EcdsaPrivateKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("k2");
    let set = KeySet::from_jwks(&document(&[public_jwk(&k1), public_jwk(&k2)])).unwrap();
    let validator = Validator::builder_with_keys(set).build().unwrap();
    validator.verify::<Claims>(&token(&k1)).unwrap();
    validator.verify::<Claims>(&token(&k2)).unwrap();

    let stranger = EcdsaPrivateKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("k3");
    let err = validator.verify::<Claims>(&token(&stranger)).unwrap_err();
    assert!(
        matches!(err, Error::UnknownKeyId { ref kid, .. } if kid == "k3"),
        "{err}"
    );

    // k2's signature under k1's kid: k1 is tried, not k2.
    let lying = Builder::new()
        .key_id("k1")
        .expires_in(Duration::minutes(5))
        .sign(&k2)
        .unwrap();
    let err = validator.verify::<Claims>(&lying).unwrap_err();
    assert!(matches!(err, Error::Signature), "{err}");

    // The right kid with another algorithm: refused for the algorithm.
    let hs = HmacKey::new(Algorithm::HS256, &[1; 32])
        .unwrap()
        .with_key_id("k1");
    let err = validator.verify::<Claims>(&token(&hs)).unwrap_err();
    assert!(
        matches!(err, Error::AlgorithmMismatch { found: Algorithm::HS256, ref expected } if expected == &[Algorithm::ES256]),
        "{err}"
    );
}

#[test]
fn unknown_kid_in_the_error_is_shortened() {
    let key = HmacKey::new(Algorithm::HS256, &[1; 32])
        .unwrap()
        .with_key_id("k1");
    let validator = Validator::builder(key).build().unwrap();
    let long = "x".repeat(1_000);
    let other = HmacKey::new(Algorithm::HS256, &[1; 32])
        .unwrap()
        .with_key_id(long);
    let err = validator.verify::<Claims>(&token(&other)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
    assert!(err.to_string().len() < 200, "{err}");
}

/// A verifier that counts how often it is asked.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn Verifier>,
    calls: Arc<AtomicUsize>,
}

impl Verifier for Counting {
    fn algorithm(&self) -> Algorithm {
        self.inner.algorithm()
    }
    fn key_id(&self) -> Option<&str> {
        self.inner.key_id()
    }
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.verify(message, signature)
    }
}

#[test]
fn token_without_kid_is_tried_only_against_keys_of_its_algorithm() {
    let es = EcdsaPrivateKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("es");
    let ed = Ed25519PrivateKey::generate().unwrap().with_key_id("ed");
    let hs = HmacKey::new(Algorithm::HS256, &[3; 32])
        .unwrap()
        .with_key_id("hs");
    let counters: Vec<Arc<AtomicUsize>> = (0..3).map(|_| Arc::default()).collect();
    let keys: [Arc<dyn Verifier>; 3] = [
        Arc::new(es.public_key()),
        Arc::new(ed.public_key()),
        Arc::new(hs.clone()),
    ];
    let mut set = KeySet::new();
    for (inner, calls) in keys.into_iter().zip(&counters) {
        set.insert(Counting {
            inner,
            calls: Arc::clone(calls),
        });
    }
    let validator = Validator::builder_with_keys(set).build().unwrap();
    let no_kid = |signer: &dyn Signer| {
        // The builder writes the signer's kid; sign by hand to leave it out.
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{}"}}"#, signer.algorithm()));
        let exp = keycard::time::OffsetDateTime::now_utc().unix_timestamp() + 300;
        let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp}}}"#));
        let input = format!("{header}.{payload}");
        let signature = URL_SAFE_NO_PAD.encode(signer.sign(input.as_bytes()).unwrap());
        format!("{input}.{signature}")
    };
    validator.verify::<Claims>(&no_kid(&ed)).unwrap();
    let calls: Vec<usize> = counters.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert_eq!(calls, [0, 1, 0], "only the EdDSA key was asked");

    // A token of an algorithm no key has: refused without asking any key.
    let hs512 = HmacKey::new(Algorithm::HS512, &[3; 64]).unwrap();
    let err = validator.verify::<Claims>(&no_kid(&hs512)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::AlgorithmMismatch {
                found: Algorithm::HS512,
                ..
            }
        ),
        "{err}"
    );
    let calls: Vec<usize> = counters.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert_eq!(calls, [0, 1, 0]);
}

#[test]
fn keys_sharing_kid_and_algorithm_are_ambiguous_but_different_key_types_may_share_a_kid() {
    let a = EcdsaPrivateKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("same");
    let b = EcdsaPrivateKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("same");
    let set = KeySet::from_jwks(&document(&[public_jwk(&a), public_jwk(&b)])).unwrap();
    assert!(set.is_empty());
    assert_eq!(set.skipped().len(), 2);

    // RFC 7517 §4.5: keys of different types may share a kid as alternatives.
    let ed = Ed25519PrivateKey::generate().unwrap().with_key_id("same");
    let ed_jwk: Value = serde_json::from_str(&ed.public_key().to_jwk().to_json()).unwrap();
    let set = KeySet::from_jwks(&document(&[public_jwk(&a), ed_jwk])).unwrap();
    assert_eq!(set.len(), 2);
    let validator = Validator::builder_with_keys(set).build().unwrap();
    validator.verify::<Claims>(&token(&a)).unwrap();
    validator.verify::<Claims>(&token(&ed)).unwrap();
    // b shares a's kid and algorithm but is not in the set.
    let err = validator.verify::<Claims>(&token(&b)).unwrap_err();
    assert!(matches!(err, Error::Signature), "{err}");
}

#[test]
fn exported_key_set_holds_public_keys_only_and_reads_back() {
    let ec = EcdsaPrivateKey::generate(Algorithm::ES384)
        .unwrap()
        .with_key_id("ec");
    let ed = Ed25519PrivateKey::generate().unwrap().with_key_id("ed");
    let mut set = KeySet::new();
    set.insert(ec.public_key());
    set.insert(ed.public_key());
    set.insert(HmacKey::new(Algorithm::HS256, b"a secret that must never be seen").unwrap());
    let json = set.to_json();
    let parsed: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["keys"].as_array().unwrap().len(), 2);
    for member in ["\"d\"", "\"k\"", "\"p\"", "\"q\""] {
        assert!(!json.contains(member), "{member} in {json}");
    }
    assert!(!json.contains(&URL_SAFE_NO_PAD.encode(b"a secret that must never be seen")));
    for key in parsed["keys"].as_array().unwrap() {
        assert_eq!(key["use"], "sig");
        assert!(key["alg"].is_string() && key["kid"].is_string());
    }

    let again = KeySet::from_jwks(&json).unwrap();
    assert_eq!(again.len(), 2);
    assert!(again.skipped().is_empty());
    let validator = Validator::builder_with_keys(again).build().unwrap();
    validator.verify::<Claims>(&token(&ec)).unwrap();
    validator.verify::<Claims>(&token(&ed)).unwrap();
}

#[test]
fn thumbprint_key_ids_survive_export_and_select_the_key() {
    let key = Ed25519PrivateKey::generate().unwrap();
    let jwk = key.public_key().to_jwk().with_thumbprint_key_id();
    let kid = jwk.key_id().unwrap().to_owned();
    let key = key.with_key_id(kid.clone());
    let set = KeySet::from_jwks(&format!(r#"{{"keys":[{}]}}"#, jwk.to_json())).unwrap();
    assert_eq!(set.iter().next().unwrap().key_id(), Some(kid.as_str()));
    let reread = Jwk::from_json(&jwk.to_json()).unwrap();
    assert_eq!(reread.thumbprint(), kid);
    Validator::builder_with_keys(set)
        .build()
        .unwrap()
        .verify::<Claims>(&token(&key))
        .unwrap();
}

#[test]
fn remove_takes_a_key_out_by_kid() {
    let a = HmacKey::new(Algorithm::HS256, &[1; 32])
        .unwrap()
        .with_key_id("a");
    let b = HmacKey::new(Algorithm::HS256, &[2; 32])
        .unwrap()
        .with_key_id("b");
    let mut set = KeySet::from_iter([a.clone(), b.clone()]);
    assert_eq!(set.remove("a"), 1);
    assert_eq!(set.remove("a"), 0);
    let validator = Validator::builder_with_keys(set).build().unwrap();
    assert_eq!(
        validator.verify::<Claims>(&token(&a)).unwrap_err().kind(),
        ErrorKind::UnknownKeyId
    );
    validator.verify::<Claims>(&token(&b)).unwrap();
}

#[test]
fn builder_key_and_key_set_agree() {
    let a = HmacKey::new(Algorithm::HS256, &[1; 32])
        .unwrap()
        .with_key_id("a");
    let b = EcdsaPrivateKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("b");
    let validator = Validator::builder(a.clone())
        .key(b.public_key())
        .build()
        .unwrap();
    assert_eq!(validator.keys().len(), 2);
    validator.verify::<Claims>(&token(&a)).unwrap();
    validator.verify::<Claims>(&token(&b)).unwrap();
    let err = Validator::builder_with_keys(KeySet::new())
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
}
