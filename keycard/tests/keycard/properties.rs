//! Property tests (proptest): any claims and header settings round-trip through `Builder` and
//! `Validator` for every algorithm; flipping any single bit of a token makes it fail; keycard's
//! base64url gives back exactly what it encoded and reads only the canonical spelling.
//!
//! Case counts are kept small (RSA signing is slow in debug builds); raise them locally with
//! `PROPTEST_CASES=...`.

use crate::common;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use common::{at, key_file};
use keycard::time::Duration;
use keycard::{
    Algorithm, Builder, Claims, EcdsaPrivateKey, Ed25519PrivateKey, Error, ErrorKind, HmacKey,
    RsaPrivateKey, Signer, Validator, Verifier,
};
use proptest::prelude::*;
use serde_json::Value;

const NOW: i64 = 1_800_000_000;

type Pair = (Arc<dyn Signer>, Arc<dyn Verifier>);

/// One signer and its verifier per algorithm keycard implements, built once.
fn keys() -> &'static [Pair] {
    static KEYS: OnceLock<Vec<Pair>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let rsa = |alg| RsaPrivateKey::from_pem(alg, &key_file("rsa2048.pkcs8.pem")).unwrap();
        let ec = |alg, file| EcdsaPrivateKey::from_pem(alg, &key_file(file)).unwrap();
        let hmac: Vec<HmacKey> = vec![
            HmacKey::new(Algorithm::HS256, &[1; 32]).unwrap(),
            HmacKey::new(Algorithm::HS384, &[2; 48]).unwrap(),
            HmacKey::new(Algorithm::HS512, &[3; 64]).unwrap(),
        ];
        let mut pairs: Vec<Pair> = hmac
            .into_iter()
            .map(|k| {
                (
                    Arc::new(k.clone()) as Arc<dyn Signer>,
                    Arc::new(k) as Arc<dyn Verifier>,
                )
            })
            .collect();
        for key in [
            ec(Algorithm::ES256, "p256.pkcs8.pem"),
            ec(Algorithm::ES384, "p384.sec1.pem"),
        ] {
            let public = key.public_key();
            pairs.push((Arc::new(key), Arc::new(public)));
        }
        let ed = Ed25519PrivateKey::from_pem(&key_file("ed25519.pkcs8.pem")).unwrap();
        let public = ed.public_key();
        pairs.push((Arc::new(ed), Arc::new(public)));
        for alg in [Algorithm::RS256, Algorithm::PS384] {
            let key = rsa(alg);
            let public = key.public_key();
            pairs.push((Arc::new(key), Arc::new(public)));
        }
        pairs
    })
}

/// Indexes into [`keys`]: the fast algorithms, and the RSA ones.
const FAST: std::ops::Range<usize> = 0..6;
const RSA: std::ops::Range<usize> = 6..8;

/// Claim names outside the registered ones (which have their own setters and types).
fn claim_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_:/.-]{0,12}".prop_filter("not a registered claim", |name| {
        ![
            "iss",
            "sub",
            "aud",
            "exp",
            "nbf",
            "iat",
            "jti",
            "sid",
            "scope",
            "scp",
            "azp",
            "auth_time",
        ]
        .contains(&name.as_str())
    })
}

fn claim_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Finite floats only (JSON has no NaN or infinity), and ones whose shortest decimal
        // form parses back exactly: serde_json without its `float_roundtrip` feature may parse
        // a 16-17 digit float 1 ULP off (947625931926892.9 does), in keycard as anywhere.
        any::<i32>().prop_map(|n| Value::from(f64::from(n) / 8.0)),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Everything a caller can set on a token.
#[derive(Debug, Clone)]
struct Settings {
    issuer: Option<String>,
    subject: Option<String>,
    audiences: Vec<String>,
    lifetime: i64,
    not_before_ago: Option<i64>,
    kid: Option<String>,
    typ: Option<String>,
    extra: BTreeMap<String, Value>,
}

fn settings() -> impl Strategy<Value = Settings> {
    (
        proptest::option::of(any::<String>()),
        proptest::option::of(any::<String>()),
        prop::collection::vec(any::<String>(), 0..3),
        1i64..400_000_000,
        proptest::option::of(0i64..1_000_000_000),
        proptest::option::of(any::<String>()),
        proptest::option::of(prop_oneof![
            Just("JWT".to_owned()),
            Just("at+jwt".to_owned()),
            Just("application/secevent+jwt".to_owned()),
            "[ -~]{1,20}",
        ]),
        prop::collection::btree_map(claim_name(), claim_value(), 0..6),
    )
        .prop_map(
            |(issuer, subject, audiences, lifetime, not_before_ago, kid, typ, extra)| Settings {
                issuer,
                subject,
                audiences,
                lifetime,
                not_before_ago,
                kid,
                typ,
                extra,
            },
        )
}

/// A verifier answering to a chosen kid.
#[derive(Debug)]
struct WithKid(Arc<dyn Verifier>, Option<String>);

impl Verifier for WithKid {
    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }
    fn key_id(&self) -> Option<&str> {
        self.1.as_deref()
    }
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        self.0.verify(message, signature)
    }
}

fn round_trip(pair: &Pair, s: &Settings) -> Result<(), TestCaseError> {
    let (signer, verifier) = pair;
    let mut builder = Builder::new()
        .clock(at(NOW))
        .expires_in(Duration::seconds(s.lifetime));
    for (name, value) in &s.extra {
        builder = builder.claim(name.clone(), value.clone());
    }
    if let Some(iss) = &s.issuer {
        builder = builder.issuer(iss.clone());
    }
    if let Some(sub) = &s.subject {
        builder = builder.subject(sub.clone());
    }
    for aud in &s.audiences {
        builder = builder.audience(aud.clone());
    }
    if let Some(ago) = s.not_before_ago {
        builder = builder.not_before(at(NOW - ago).0);
    }
    if let Some(kid) = &s.kid {
        builder = builder.key_id(kid.clone());
    }
    if let Some(typ) = &s.typ {
        builder = builder.token_type(typ.clone());
    }
    let token = builder.sign(&**signer).unwrap();

    let mut validator = Validator::builder(WithKid(verifier.clone(), s.kid.clone()))
        .clock(at(NOW))
        .max_token_len(1 << 20);
    if let Some(iss) = s.issuer.as_ref().filter(|i| !i.is_empty()) {
        validator = validator.issuer(iss.clone());
    }
    if let Some(sub) = s.subject.as_ref().filter(|i| !i.is_empty()) {
        validator = validator.subject(sub.clone());
    }
    validator = match s.audiences.iter().find(|a| !a.is_empty()) {
        Some(aud) => validator.audience(aud.clone()),
        None => validator.dangerous().allow_any_audience(),
    };
    if let Some(typ) = &s.typ {
        validator = validator.token_type(typ.clone());
    }
    let claims: Claims = validator
        .build()
        .unwrap()
        .verify(&token)
        .map_err(|e| TestCaseError::fail(format!("{e} ({:?})", e.kind())))?;

    let header = keycard::unverified::decode_header(&token).unwrap();
    prop_assert_eq!(header.algorithm(), signer.algorithm());
    prop_assert_eq!(header.key_id(), s.kid.as_deref());
    prop_assert_eq!(header.token_type(), Some(s.typ.as_deref().unwrap_or("JWT")));
    prop_assert_eq!(claims.issuer, s.issuer.clone());
    prop_assert_eq!(claims.subject, s.subject.clone());
    let audiences: Vec<String> = claims
        .audience
        .map(|a| a.iter().map(str::to_owned).collect())
        .unwrap_or_default();
    prop_assert_eq!(audiences, s.audiences.clone());
    prop_assert_eq!(
        claims.expires_at.map(|t| t.unix_timestamp()),
        Some(NOW + s.lifetime)
    );
    prop_assert_eq!(
        claims.not_before.map(|t| t.unix_timestamp()),
        s.not_before_ago.map(|ago| NOW - ago)
    );
    prop_assert_eq!(claims.issued_at.map(|t| t.unix_timestamp()), Some(NOW));
    for (name, value) in &s.extra {
        prop_assert_eq!(&claims.extra[name], value, "claim {}", name);
    }
    prop_assert_eq!(claims.extra.len(), s.extra.len());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_claims_and_header_round_trip_hmac_ecdsa_eddsa(which in FAST, s in settings()) {
        round_trip(&keys()[which], &s)?;
    }

    #[test]
    fn any_single_bit_flip_is_rejected(which in FAST, bit in any::<prop::sample::Index>(), s in settings()) {
        let (signer, verifier) = &keys()[which];
        let token = Builder::new()
            .clock(at(NOW))
            .expires_in(Duration::minutes(5))
            .claim("data", s.extra.iter().next().map(|(_, v)| v.clone()).unwrap_or(Value::Null))
            .sign(&**signer)
            .unwrap();
        let validator = Validator::builder(verifier.clone())
            .clock(at(NOW))
            .max_token_len(1 << 20)
            .build()
            .unwrap();
        validator.verify::<Claims>(&token).unwrap();
        let mut bytes = token.into_bytes();
        let bit = bit.index(bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        let flipped = String::from_utf8_lossy(&bytes);
        let err = validator.verify::<Claims>(&flipped);
        prop_assert!(err.is_err(), "bit {} flipped and still accepted", bit);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn any_claims_and_header_round_trip_rsa(which in RSA, s in settings()) {
        round_trip(&keys()[which], &s)?;
    }

    #[test]
    fn any_single_bit_flip_of_an_rsa_token_is_rejected(which in RSA, bits in prop::collection::vec(any::<prop::sample::Index>(), 16)) {
        let (signer, verifier) = &keys()[which];
        let token = Builder::new().clock(at(NOW)).expires_in(Duration::minutes(5)).sign(&**signer).unwrap();
        let validator = Validator::builder(verifier.clone()).clock(at(NOW)).build().unwrap();
        validator.verify::<Claims>(&token).unwrap();
        for bit in bits {
            let mut bytes = token.clone().into_bytes();
            let bit = bit.index(bytes.len() * 8);
            bytes[bit / 8] ^= 1 << (bit % 8);
            let err = validator.verify::<Claims>(&String::from_utf8_lossy(&bytes));
            prop_assert!(err.is_err(), "bit {} flipped and still accepted", bit);
        }
    }
}

/// A "signature" that is whatever bytes the test chose, so that the signature part of a token is
/// keycard's base64url encoding of arbitrary bytes, and its verifier sees keycard's decoding.
#[derive(Debug)]
struct Echo(Vec<u8>);

impl Signer for Echo {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256 // no fixed signature length
    }
    fn sign(&self, _: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(self.0.clone())
    }
}

impl Verifier for Echo {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
    fn verify(&self, _: &[u8], signature: &[u8]) -> Result<(), Error> {
        if signature == self.0 {
            Ok(())
        } else {
            Err(Error::Signature)
        }
    }
}

/// A verifier that accepts any signature, to see which spellings keycard decodes at all.
#[derive(Debug)]
struct AnySignature;

impl Verifier for AnySignature {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
    fn verify(&self, _: &[u8], _: &[u8]) -> Result<(), Error> {
        Ok(())
    }
}

/// The test side's lenient base64url: ignores stray trailing bits and padding.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn signature_token(bytes: &[u8]) -> String {
    Builder::new()
        .clock(at(NOW))
        .expires_in(Duration::minutes(5))
        .sign(&Echo(bytes.to_vec()))
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn base64url_decodes_what_it_encoded(bytes in prop::collection::vec(any::<u8>(), 1..600)) {
        let token = signature_token(&bytes);
        let part = token.rsplit('.').next().unwrap();
        // The encoding is RFC 4648 §5 without padding (checked against the base64 crate).
        prop_assert_eq!(part, URL_SAFE_NO_PAD.encode(&bytes));
        let validator = Validator::builder(Echo(bytes)).clock(at(NOW)).build().unwrap();
        prop_assert!(validator.verify::<Claims>(&token).is_ok());
    }

    #[test]
    fn base64url_reads_only_the_canonical_spelling(text in "[A-Za-z0-9_-]{1,40}") {
        let token = signature_token(b"x");
        let (input, _) = token.rsplit_once('.').unwrap();
        let validator = Validator::builder(AnySignature).clock(at(NOW)).build().unwrap();
        let result = validator.verify::<Claims>(&format!("{input}.{text}"));
        // Canonical: decodable, and encoding the bytes again gives the same text.
        let canonical = LENIENT
            .decode(&text)
            .is_ok_and(|bytes| URL_SAFE_NO_PAD.encode(bytes) == text);
        match result {
            Ok(_) => prop_assert!(canonical, "{} accepted but not canonical", text),
            Err(e) => {
                prop_assert!(!canonical, "{} canonical but refused: {}", text, e);
                prop_assert_eq!(e.kind(), ErrorKind::Malformed);
            }
        }
    }

    #[test]
    fn base64url_refuses_padded_standard_and_spaced_spellings(bytes in prop::collection::vec(any::<u8>(), 1..100)) {
        let token = signature_token(&bytes);
        let (input, part) = token.rsplit_once('.').unwrap();
        let validator = Validator::builder(Echo(bytes.clone())).clock(at(NOW)).build().unwrap();
        let mut spellings = vec![format!("{part} "), format!(" {part}"), format!("{part}\n")];
        if bytes.len() % 3 != 0 {
            spellings.push(base64::engine::general_purpose::URL_SAFE.encode(&bytes));
        }
        let standard = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&bytes);
        if standard != part {
            spellings.push(standard);
        }
        for spelling in spellings {
            let err = validator.verify::<Claims>(&format!("{input}.{spelling}")).unwrap_err();
            prop_assert_eq!(err.kind(), ErrorKind::Malformed, "{:?}", spelling);
        }
    }
}
