//! Issue 14, hardening round 2: one regression test per finding of the outside review, each
//! named for the behaviour it pins down. Costs are measured in `benches/sign_verify.rs`
//! (`reject worst case` groups); these tests assert work counts and size bounds only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::common::{assemble, at};
use keycard::limits::*;
use keycard::time::{Duration, OffsetDateTime};
use keycard::{
    unverified, Algorithm, Builder, Claims, Ed25519PrivateKey, Error, ErrorKind, HmacKey, KeySet,
    RevocationList, Signer, Validator, Verifier,
};
use serde::Deserialize;
use serde_json::Value;

const NOW: i64 = 1_800_000_000;
const SECRET: &[u8; 32] = b"hardening tests secret, 32 bytes";
const PAYLOAD: &str = r#"{"sub":"user-1","exp":1800000600}"#;

fn hs256() -> HmacKey {
    HmacKey::new(Algorithm::HS256, SECRET).unwrap()
}

fn signed(header: &str, payload: &str) -> String {
    let key = hs256();
    assemble(header, payload, |input| key.sign(input).unwrap())
}

/// The same token with its signature's last characters replaced (still canonical base64url).
fn bad_mac(token: &str) -> String {
    format!("{}AAAA", &token[..token.len() - 4])
}

fn lenient(max_len: usize) -> Validator {
    Validator::builder(hs256())
        .clock(at(NOW))
        .max_token_len(max_len)
        .build()
        .unwrap()
}

fn err(validator: &Validator, token: &str) -> Error {
    validator.verify::<Claims>(token).map(drop).unwrap_err()
}

/// `n` members named in reverse order (the order that made the old sorted spill quadratic).
fn reverse_members(n: usize) -> String {
    (0..n)
        .rev()
        .map(|i| format!(r#""m{i:07}":0"#))
        .collect::<Vec<_>>()
        .join(",")
}

// Finding 1 ---------------------------------------------------------------------------------

#[test]
fn objects_with_more_than_the_member_limit_are_refused_before_the_signature_is_checked() {
    let v = lenient(64 << 20);
    // 64 members in the header: read (and then the bad MAC is what fails).
    let header = format!(
        r#"{{"alg":"HS256",{}}}"#,
        reverse_members(MAX_HEADER_MEMBERS - 1)
    );
    let token = bad_mac(&signed(&header, PAYLOAD));
    assert_eq!(err(&v, &token).kind(), ErrorKind::Signature);
    // One more, and the header is refused before any key is tried.
    let header = format!(
        r#"{{"alg":"HS256",{}}}"#,
        reverse_members(MAX_HEADER_MEMBERS)
    );
    let token = bad_mac(&signed(&header, PAYLOAD));
    let e = err(&v, &token);
    assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
    assert!(e.to_string().contains("more than 64 members"), "{e}");
    // The review's 200 000 members: the same answer.
    let header = format!(r#"{{"alg":"HS256",{}}}"#, reverse_members(200_000));
    let token = bad_mac(&signed(&header, PAYLOAD));
    assert_eq!(err(&v, &token).kind(), ErrorKind::Malformed);
    // The claims, correctly signed, may have up to 1024 members, and no more.
    let payload = format!(
        r#"{{"exp":1800000600,{}}}"#,
        reverse_members(MAX_JSON_MEMBERS - 1)
    );
    v.verify::<Claims>(&signed(r#"{"alg":"HS256"}"#, &payload))
        .unwrap();
    let payload = format!(
        r#"{{"exp":1800000600,{}}}"#,
        reverse_members(MAX_JSON_MEMBERS)
    );
    let e = err(&v, &signed(r#"{"alg":"HS256"}"#, &payload));
    assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
    assert!(e.to_string().contains("more than 1024 members"), "{e}");
}

// Finding 4 ---------------------------------------------------------------------------------

#[test]
fn jwe_only_header_parameters_are_refused_in_a_signed_token() {
    let v = lenient(8192);
    for (name, value) in [
        ("enc", r#""A256GCM""#),
        ("zip", r#""DEF""#),
        ("p2c", "100000000"),
        ("p2s", r#""c2FsdA""#),
        ("epk", r#"{"kty":"EC"}"#),
        ("apu", r#""YQ""#),
        ("apv", r#""Yg""#),
        ("iv", r#""aXY""#),
        ("tag", r#""dGFn""#),
    ] {
        let header = format!(r#"{{"alg":"HS256","{name}":{value}}}"#);
        let token = signed(&header, PAYLOAD);
        let e = err(&v, &token);
        assert_eq!(e.kind(), ErrorKind::Malformed, "{name}: {e}");
        assert!(e.to_string().contains("JWE"), "{name}: {e}");
    }
    // The check runs before the signature's.
    let token = bad_mac(&signed(r#"{"alg":"HS256","enc":"A128GCM"}"#, PAYLOAD));
    assert_eq!(err(&v, &token).kind(), ErrorKind::Malformed);
}

// Finding 5 ---------------------------------------------------------------------------------

/// The longest message any error of these tests may have.
const MAX_TEXT: usize = 512;

fn assert_safe_text(e: &Error) {
    let text = e.to_string();
    assert!(text.len() <= MAX_TEXT, "{} bytes: {text}", text.len());
    assert!(!text.chars().any(char::is_control), "{text:?}");
}

#[test]
fn error_text_escapes_control_characters_and_stays_short_whatever_the_input() {
    let v = Validator::builder(hs256().with_key_id("k1"))
        .clock(at(NOW))
        .max_token_len(64 << 10)
        .audience("api")
        .build()
        .unwrap();
    // A `kid` with a line break and an escape sequence, before any signature check.
    let token = bad_mac(&signed(
        r#"{"alg":"HS256","kid":"x\nERROR forged line\u001b[31m"}"#,
        PAYLOAD,
    ));
    let e = err(&v, &token);
    assert_eq!(e.kind(), ErrorKind::UnknownKeyId);
    assert_safe_text(&e);
    assert!(
        e.to_string().contains(r"x\nERROR forged line\u{1b}[31m"),
        "{e}"
    );

    // `crit` and `b64` of the wrong type, 6 KB long, and serde_json's own messages quoting
    // input (`invalid type: string "..."`), before the MAC.
    let long = "A".repeat(6000);
    for header in [
        format!(r#"{{"alg":"HS256","crit":"{long}"}}"#),
        format!(r#"{{"alg":"HS256","b64":"{long}"}}"#),
        format!(r#"{{"alg":"HS256","kid":["{long}"]}}"#),
        format!(r#"{{"alg":"{long}\r\n"}}"#),
        format!(r#"{{"alg":"HS256","typ":"{long}\u001b"}}"#),
        format!(
            r#"{{"alg":"HS256","crit":[{}]}}"#,
            vec![r#""\u001bx""#; 2000].join(",")
        ),
    ] {
        let e = err(&v, &bad_mac(&signed(&header, PAYLOAD)));
        assert_safe_text(&e);
    }

    // After the MAC: an `aud` of 2000 entries is summarised, not listed.
    let audiences: Vec<String> = (0..2000).map(|i| format!("\"aud-{i}\\n\"")).collect();
    let payload = format!(r#"{{"exp":1800000600,"aud":[{}]}}"#, audiences.join(","));
    let e = err(&v, &signed(r#"{"alg":"HS256","kid":"k1"}"#, &payload));
    assert_eq!(e.kind(), ErrorKind::Audience);
    assert_safe_text(&e);
    assert!(e.to_string().contains("2000 audiences"), "{e}");
    // Claims that do not fit the caller's type quote serde_json's message, bounded too.
    let payload = format!(r#"{{"exp":1800000600,"aud":"api","sub":"{long}\n"}}"#);
    let token = signed(r#"{"alg":"HS256","kid":"k1"}"#, &payload);
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        sub: u64,
    }
    let e = v.verify::<Strict>(&token).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Malformed);
    assert_safe_text(&e);
}

// Finding 6 ---------------------------------------------------------------------------------

/// An HS256 verifier that counts the signatures it checks.
#[derive(Debug)]
struct Counting {
    inner: HmacKey,
    kid: Option<&'static str>,
    calls: Arc<AtomicUsize>,
}

impl Verifier for Counting {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
    fn key_id(&self) -> Option<&str> {
        self.kid
    }
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.verify(message, signature)
    }
}

/// A distinct 32-byte secret per `i`.
fn secret(i: usize) -> [u8; 32] {
    let mut secret = [1; 32];
    secret[..8].copy_from_slice(&(i as u64).to_le_bytes());
    secret
}

fn counting_set(n: usize, kid: Option<&'static str>, calls: &Arc<AtomicUsize>) -> KeySet {
    (0..n)
        .map(|i| Counting {
            inner: HmacKey::new(Algorithm::HS256, &secret(i)).unwrap(),
            kid,
            calls: Arc::clone(calls),
        })
        .collect()
}

#[test]
fn a_token_costs_at_most_two_signature_checks_whatever_the_size_of_the_key_set() {
    assert_eq!(MAX_KEYS_TRIED, 2);
    let calls = Arc::new(AtomicUsize::new(0));
    let v = Validator::builder_with_keys(counting_set(1000, None, &calls))
        .clock(at(NOW))
        .build()
        .unwrap();
    // Without `kid`, and with a `kid` no key has while the keys have none.
    for header in [r#"{"alg":"HS256"}"#, r#"{"alg":"HS256","kid":"unknown"}"#] {
        calls.store(0, Ordering::Relaxed);
        let e = err(&v, &signed(header, PAYLOAD));
        assert_eq!(e.kind(), ErrorKind::Signature, "{e}");
        assert!(
            matches!(
                e,
                Error::TooManyCandidateKeys {
                    candidates: 1000,
                    tried: 2
                }
            ),
            "{e}"
        );
        assert_eq!(calls.load(Ordering::Relaxed), MAX_KEYS_TRIED);
    }

    // A rotation between two keys without `kid` still works for tokens of either.
    let old = HmacKey::new(Algorithm::HS256, &[7; 32]).unwrap();
    let new = HmacKey::new(Algorithm::HS256, &[8; 32]).unwrap();
    let v = Validator::builder_with_keys(KeySet::from_iter([old.clone(), new.clone()]))
        .clock(at(NOW))
        .build()
        .unwrap();
    for key in [&old, &new] {
        let token = assemble(r#"{"alg":"HS256"}"#, PAYLOAD, |i| key.sign(i).unwrap());
        v.verify::<Claims>(&token).unwrap();
    }

    // A token whose `kid` a key has is tried against that key first, whatever comes before it.
    let calls = Arc::new(AtomicUsize::new(0));
    let mut set = counting_set(10, None, &calls);
    set.insert(Counting {
        inner: hs256(),
        kid: Some("mine"),
        calls: Arc::clone(&calls),
    });
    let v = Validator::builder_with_keys(set)
        .clock(at(NOW))
        .build()
        .unwrap();
    v.verify::<Claims>(&signed(r#"{"alg":"HS256","kid":"mine"}"#, PAYLOAD))
        .unwrap();
    assert_eq!(calls.load(Ordering::Relaxed), 1);
}

// Finding 7 ---------------------------------------------------------------------------------

#[test]
fn one_unreadable_key_is_skipped_and_reported_not_fatal_to_the_jwk_set() {
    let mut published = KeySet::new();
    published.insert(
        Ed25519PrivateKey::generate()
            .unwrap()
            .with_key_id("good")
            .public_key(),
    );
    let document: Value = serde_json::from_str(&published.to_json()).unwrap();
    let good = document["keys"][0].to_string();
    let bad = [
        r#"{"kty":"EC","kid":"huge","x":1e999999}"#.to_owned(),
        format!(
            r#"{{"kty":"RSA","kid":"long","n":{}}}"#,
            "9".repeat(1_000_000)
        ),
        format!(
            r#"{{"kty":"RSA","kid":"deep","x":{}{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        ),
    ];
    let jwks = format!(r#"{{"keys":[{good},{}]}}"#, bad.join(","));
    let set = KeySet::from_jwks(&jwks).unwrap();
    assert_eq!(set.len(), 1);
    let skipped: Vec<usize> = set.skipped().iter().map(|s| s.index()).collect();
    assert_eq!(skipped, [1, 2, 3]);
    for s in set.skipped() {
        assert_eq!(s.kind(), ErrorKind::Key);
        let text = s.to_string();
        assert!(
            text.len() <= MAX_TEXT && !text.chars().any(char::is_control),
            "{text}"
        );
    }
    assert!(
        set.skipped()[2].reason().contains("deeper than 64"),
        "{}",
        set.skipped()[2]
    );

    // A document is read up to its 100th key; the rest are one skipped entry.
    let many = vec![good.as_str(); MAX_JWKS_KEYS + 50].join(",");
    let set = KeySet::from_jwks(&format!(r#"{{"keys":[{many}]}}"#)).unwrap();
    assert_eq!(set.skipped().last().map(|s| s.index()), Some(MAX_JWKS_KEYS));
    assert!(set
        .skipped()
        .last()
        .unwrap()
        .reason()
        .contains("49 after it"));
}

#[test]
fn the_nesting_limit_is_the_same_for_every_target_type_and_for_the_header() {
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct OnlySub {
        sub: String,
    }
    let v = lenient(4 << 20);
    for depth in [MAX_JSON_DEPTH, 100, 10_000] {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let payload = format!(r#"{{"sub":"u","exp":1800000600,"x":{nested}}}"#);
        let token = signed(r#"{"alg":"HS256"}"#, &payload);
        let kinds = [
            v.verify::<Claims>(&token).map(drop).map_err(|e| e.kind()),
            v.verify::<Value>(&token).map(drop).map_err(|e| e.kind()),
            v.verify::<OnlySub>(&token).map(drop).map_err(|e| e.kind()),
        ];
        assert_eq!(kinds, [Err(ErrorKind::Malformed); 3], "claims {depth} deep");
        let header = format!(r#"{{"alg":"HS256","x":{nested}}}"#);
        let token = signed(&header, PAYLOAD);
        assert_eq!(
            err(&v, &token).kind(),
            ErrorKind::Malformed,
            "header {depth}"
        );
    }
    // Just inside the limit (the outer object is level 1): every type reads it.
    let nested = format!(
        "{}{}",
        "[".repeat(MAX_JSON_DEPTH - 1),
        "]".repeat(MAX_JSON_DEPTH - 1)
    );
    let token = signed(
        r#"{"alg":"HS256"}"#,
        &format!(r#"{{"sub":"u","exp":1800000600,"x":{nested}}}"#),
    );
    v.verify::<Claims>(&token).unwrap();
    v.verify::<Value>(&token).unwrap();
    v.verify::<OnlySub>(&token).unwrap();
}

// Finding 8 ---------------------------------------------------------------------------------

#[test]
fn the_builder_writes_whole_seconds_for_every_time_claim() {
    let t =
        OffsetDateTime::from_unix_timestamp(1_796_180_475).unwrap() + Duration::milliseconds(770);
    let token = Builder::new()
        .expires_at(t)
        .not_before(t)
        .issued_at(t)
        .sign(&hs256())
        .unwrap();
    let claims: Value = unverified::decode_claims(&token).unwrap();
    assert_eq!(claims["exp"], Value::from(1_796_180_475_i64), "{claims}");
    assert_eq!(claims["iat"], Value::from(1_796_180_475_i64), "{claims}");
    assert_eq!(claims["nbf"], Value::from(1_796_180_476_i64), "{claims}");

    let token = Builder::new()
        .expires_in(Duration::milliseconds(1500))
        .sign(&hs256())
        .unwrap();
    let claims: Value = unverified::decode_claims(&token).unwrap();
    assert!(claims["exp"].is_i64() && claims["iat"].is_i64(), "{claims}");
}

// Finding 9 ---------------------------------------------------------------------------------

#[test]
fn a_jwk_set_skips_hmac_secrets_unless_read_as_a_trusted_document_of_secrets() {
    let jwks = r#"{"keys":[{"kty":"oct","kid":"s1","alg":"HS256",
        "k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"}]}"#;
    let published = KeySet::from_jwks(jwks).unwrap();
    assert!(published.is_empty());
    assert_eq!(published.skipped()[0].kind(), ErrorKind::Key);
    assert!(
        published.skipped()[0].reason().contains("kty: oct"),
        "{}",
        published.skipped()[0]
    );
    assert!(KeySet::from_jwks_for(jwks, &[Algorithm::HS256])
        .unwrap()
        .is_empty());
    assert_eq!(KeySet::from_jwks_with_secrets(jwks).unwrap().len(), 1);
}

// Finding 10 --------------------------------------------------------------------------------

/// A revocation list whose own `Debug` is enormous, as a store after many logins.
struct Huge;

impl std::fmt::Debug for Huge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&"revoked-jti-entry ".repeat(100_000))
    }
}

impl RevocationList for Huge {
    fn is_token_revoked(&self, _: &str) -> Result<bool, Error> {
        Ok(false)
    }
    fn is_session_revoked(&self, _: &str) -> Result<bool, Error> {
        Ok(false)
    }
    fn subject_cutoff(&self, _: &str) -> Result<Option<OffsetDateTime>, Error> {
        Ok(None)
    }
}

#[test]
fn validator_debug_shows_its_configuration_and_key_count_never_store_contents() {
    let builder = Validator::builder(hs256().with_key_id("k1"))
        .issuer("https://auth.example.com")
        .revocations(Arc::new(Huge));
    let builder_text = format!("{builder:?}");
    let v = builder.build().unwrap();
    for text in [format!("{v:?}"), builder_text] {
        assert!(!text.contains("revoked-jti-entry"), "{} bytes", text.len());
        assert!(text.len() < 1024, "{text}");
        assert!(text.contains("keys: 1"), "{text}");
        assert!(text.contains("revocations: true"), "{text}");
        assert!(text.contains("https://auth.example.com"), "{text}");
    }
}
