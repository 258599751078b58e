//! What `Builder` writes: header, registered claims, custom claims, and the mistakes it refuses.

use crate::common;

use common::{at, b64, b64e};
use keycard::time::{Duration, OffsetDateTime};
use keycard::{Algorithm, Builder, Claims, Error, ErrorKind, HmacKey, Signer, Validator};
use serde::Serialize;
use serde_json::{json, Value};

const T0: i64 = 1_795_860_000;

fn key() -> HmacKey {
    HmacKey::new(Algorithm::HS256, b"builder test secret of 32 bytes!").unwrap()
}

fn part(token: &str, index: usize) -> Value {
    let encoded = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&b64(encoded)).unwrap()
}

#[test]
fn default_header_is_alg_and_typ_jwt() {
    let token = Builder::new()
        .expires_in(Duration::minutes(1))
        .sign(&key())
        .unwrap();
    // The exact bytes matter: they are what gets signed.
    let header = token.split('.').next().unwrap();
    assert_eq!(b64(header), br#"{"alg":"HS256","typ":"JWT"}"#);
}

#[test]
fn kid_comes_from_the_signer_unless_the_builder_overrides_it() {
    let key = key().with_key_id("signer-kid");
    let token = Builder::new()
        .expires_in(Duration::minutes(1))
        .sign(&key)
        .unwrap();
    assert_eq!(part(&token, 0)["kid"], "signer-kid");
    let token = Builder::new()
        .key_id("builder-kid")
        .expires_in(Duration::minutes(1))
        .sign(&key)
        .unwrap();
    assert_eq!(part(&token, 0)["kid"], "builder-kid");
}

#[test]
fn registered_claims_are_written_with_their_rfc_names() {
    let token = Builder::new()
        .clock(at(T0))
        .issuer("iss-1")
        .subject("sub-1")
        .audience("aud-1")
        .jwt_id("jti-1")
        .not_before(OffsetDateTime::from_unix_timestamp(T0 + 5).unwrap())
        .expires_in(Duration::minutes(15))
        .sign(&key())
        .unwrap();
    assert_eq!(
        part(&token, 1),
        json!({
            "iss": "iss-1", "sub": "sub-1", "aud": "aud-1", "jti": "jti-1",
            "iat": T0, "nbf": T0 + 5, "exp": T0 + 900,
        })
    );
}

#[test]
fn times_are_whole_seconds_from_the_clock() {
    let clock = keycard::FixedClock(
        OffsetDateTime::from_unix_timestamp_nanos(1_795_860_000_700_000_000).unwrap(),
    );
    let token = Builder::new()
        .clock(clock)
        .expires_in(Duration::seconds(10))
        .sign(&key())
        .unwrap();
    let claims = part(&token, 1);
    assert_eq!(claims["iat"], json!(T0));
    assert_eq!(claims["exp"], json!(T0 + 10));
}

#[test]
fn two_audiences_become_an_array() {
    let token = Builder::new()
        .audience("api")
        .audience("web")
        .expires_in(Duration::minutes(1))
        .sign(&key())
        .unwrap();
    assert_eq!(part(&token, 1)["aud"], json!(["api", "web"]));
}

#[test]
fn iat_can_be_fixed_or_left_out() {
    let fixed = OffsetDateTime::from_unix_timestamp(T0 - 30).unwrap();
    let token = Builder::new()
        .clock(at(T0))
        .issued_at(fixed)
        .expires_in(Duration::minutes(1))
        .sign(&key())
        .unwrap();
    assert_eq!(part(&token, 1)["iat"], json!(T0 - 30));
    let token = Builder::new()
        .without_issued_at()
        .expires_in(Duration::minutes(1))
        .sign(&key())
        .unwrap();
    assert!(part(&token, 1).get("iat").is_none());
}

#[derive(Serialize)]
struct Profile {
    sub: String,
    roles: Vec<&'static str>,
}

#[test]
fn custom_claims_and_claim_structs_are_merged() {
    let token = Builder::new()
        .claims(&Profile {
            sub: "user-1".into(),
            roles: vec!["admin", "dev"],
        })
        .claim("tenant", 7)
        .expires_in(Duration::minutes(1))
        .sign(&key())
        .unwrap();
    let claims = part(&token, 1);
    assert_eq!(claims["sub"], "user-1");
    assert_eq!(claims["roles"], json!(["admin", "dev"]));
    assert_eq!(claims["tenant"], 7);
}

#[test]
fn dedicated_time_setters_win_over_claim() {
    let token = Builder::new()
        .clock(at(T0))
        .claim("exp", 1)
        .expires_in(Duration::seconds(60))
        .sign(&key())
        .unwrap();
    assert_eq!(part(&token, 1)["exp"], json!(T0 + 60));
}

#[test]
fn a_token_without_expiry_must_be_asked_for() {
    let err = Builder::new().sign(&key()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.to_string().contains("no expiry"), "{err}");
    let token = Builder::new().without_expiry().sign(&key()).unwrap();
    assert!(part(&token, 1).get("exp").is_none());
    // An `exp` from a claims struct counts.
    assert!(Builder::new().claim("exp", T0).sign(&key()).is_ok());
}

#[test]
fn registered_claims_of_the_wrong_type_are_refused() {
    for (name, value) in [
        ("exp", json!("tomorrow")),
        ("nbf", json!(true)),
        ("iat", json!(1e300)),
        ("iss", json!(5)),
        ("sub", json!(null)),
        ("aud", json!(["ok", 5])),
        ("jti", json!({})),
    ] {
        let err = Builder::new()
            .without_expiry()
            .without_issued_at() // else the signing time would replace `iat`
            .claim(name, value)
            .sign(&key())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration, "{name}");
        assert!(err.to_string().contains(name), "{err}");
    }
}

#[test]
fn claims_that_are_not_an_object_are_refused() {
    let err = Builder::new()
        .claims(&[1, 2, 3])
        .expires_in(Duration::minutes(1))
        .sign(&key())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.to_string().contains("JSON object"), "{err}");
}

#[test]
fn random_jwt_ids_are_128_bit_and_distinct() {
    let a = Builder::new()
        .random_jwt_id()
        .expires_in(Duration::minutes(1))
        .sign(&key())
        .unwrap();
    let b = Builder::new()
        .random_jwt_id()
        .expires_in(Duration::minutes(1))
        .sign(&key())
        .unwrap();
    let (a, b) = (part(&a, 1)["jti"].clone(), part(&b, 1)["jti"].clone());
    assert_eq!(b64(a.as_str().unwrap()).len(), 16);
    assert_ne!(a, b);
}

#[test]
fn a_builder_is_a_template_that_signs_many_tokens() {
    let template = Builder::new()
        .issuer("desk")
        .expires_in(Duration::seconds(60));
    let first = template.clone().clock(at(T0)).sign(&key()).unwrap();
    let later = template.clock(at(T0 + 100)).sign(&key()).unwrap();
    assert_eq!(part(&first, 1)["exp"], json!(T0 + 60));
    assert_eq!(part(&later, 1)["exp"], json!(T0 + 160));
}

#[test]
fn the_token_verifies_with_the_same_key() {
    let token = Builder::new()
        .subject("s")
        .expires_in(Duration::minutes(1))
        .sign(&key())
        .unwrap();
    let claims: Claims = Validator::builder(key())
        .build()
        .unwrap()
        .verify(&token)
        .unwrap();
    assert_eq!(claims.subject.as_deref(), Some("s"));
}

/// A signer that returns what it is told to.
#[derive(Debug)]
struct Scripted(Result<Vec<u8>, &'static str>);

impl Signer for Scripted {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
    fn sign(&self, _: &[u8]) -> Result<Vec<u8>, Error> {
        self.0
            .clone()
            .map_err(|e| Error::signing(std::io::Error::other(e)))
    }
}

#[test]
fn signer_failures_and_wrong_lengths_are_signing_errors() {
    let builder = Builder::new().expires_in(Duration::minutes(1));
    let err = builder.sign(&Scripted(Err("KMS unreachable"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signing);
    assert_eq!(err.to_string(), "signing failed: KMS unreachable");

    // A 70-byte ASN.1 DER ECDSA signature where JWS needs 64 bytes of R || S.
    let err = builder.sign(&Scripted(Ok(vec![0x30; 70]))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signing);
    assert!(
        err.to_string().contains("ES256 signatures are 64 bytes"),
        "{err}"
    );

    let token = builder.sign(&Scripted(Ok(vec![1; 64]))).unwrap();
    assert_eq!(token.rsplit('.').next().unwrap(), b64e(&[1; 64]));
}
