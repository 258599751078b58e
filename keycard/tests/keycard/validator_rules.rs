//! Every validator rule with a fixed clock, on each side of each boundary.

use crate::common;

use common::{assemble, at};
use keycard::time::{Duration, OffsetDateTime};
use keycard::{
    Algorithm, Builder, Claims, ErrorKind, FixedClock, HmacKey, Signer, Validator, ValidatorBuilder,
};
use serde::Deserialize;

/// 2026-11-28T10:00:00Z.
const T0: i64 = 1_795_860_000;

fn key() -> HmacKey {
    HmacKey::new(Algorithm::HS256, b"validator rules test secret, 32+").unwrap()
}

/// A builder whose clock reads T0 and whose token lives 60 s.
fn minted() -> Builder {
    Builder::new()
        .clock(at(T0))
        .expires_in(Duration::seconds(60))
}

fn validator() -> ValidatorBuilder {
    Validator::builder(key())
}

fn verify_at(v: ValidatorBuilder, secs: i64, token: &str) -> Result<Claims, keycard::Error> {
    v.clock(at(secs)).build().unwrap().verify(token)
}

fn kind_at(v: ValidatorBuilder, secs: i64, token: &str) -> ErrorKind {
    verify_at(v, secs, token).unwrap_err().kind()
}

/// Signs raw JSON (for claims the builder would refuse to write).
fn raw(header: &str, payload: &str) -> String {
    let key = key();
    assemble(header, payload, |input| key.sign(input).unwrap())
}

#[test]
fn accepts_before_exp_and_rejects_at_exp_exactly() {
    let token = minted().sign(&key()).unwrap();
    assert!(verify_at(validator(), T0 + 59, &token).is_ok());
    // RFC 7519 §4.1.4: the current time MUST be before exp.
    assert_eq!(kind_at(validator(), T0 + 60, &token), ErrorKind::Expired);
}

#[test]
fn leeway_extends_exp_by_exactly_its_length() {
    let token = minted().sign(&key()).unwrap();
    let lenient = || validator().leeway(Duration::seconds(30));
    assert!(verify_at(lenient(), T0 + 89, &token).is_ok());
    let err = verify_at(lenient(), T0 + 90, &token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired);
    assert_eq!(
        err.to_string(),
        "token expired at 2026-11-28T10:01:00Z, 30 s ago (leeway 30 s)"
    );
}

#[test]
fn expired_error_carries_the_facts() {
    let token = minted().sign(&key()).unwrap();
    match verify_at(validator(), T0 + 150, &token).unwrap_err() {
        keycard::Error::Expired {
            expired_at,
            now,
            leeway,
        } => {
            assert_eq!(expired_at.unix_timestamp(), T0 + 60);
            assert_eq!(now.unix_timestamp(), T0 + 150);
            assert_eq!(leeway, Duration::ZERO);
        }
        other => panic!("expected Expired, got {other:?}"),
    }
}

#[test]
fn fractional_exp_is_compared_exactly_not_truncated() {
    let token = raw(r#"{"alg":"HS256"}"#, &format!(r#"{{"exp":{T0}.5}}"#));
    let clock = |nanos: i128| {
        FixedClock(
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(T0) * 1_000_000_000 + nanos)
                .unwrap(),
        )
    };
    let v = |nanos| validator().clock(clock(nanos)).build().unwrap();
    assert!(v(400_000_000).verify::<Claims>(&token).is_ok());
    let err = v(500_000_000).verify::<Claims>(&token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired);
}

#[test]
fn missing_exp_is_rejected_unless_the_validator_opts_out() {
    let token = Builder::new()
        .clock(at(T0))
        .without_expiry()
        .sign(&key())
        .unwrap();
    let err = verify_at(validator(), T0, &token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingClaim);
    assert_eq!(err.to_string(), "required claim `exp` is missing");
    assert!(verify_at(validator().dangerous().allow_missing_expiry(), T0, &token).is_ok());
}

#[test]
fn nbf_rejects_before_and_accepts_at_the_instant() {
    let nbf = OffsetDateTime::from_unix_timestamp(T0 + 100).unwrap();
    let token = Builder::new()
        .clock(at(T0))
        .not_before(nbf)
        .expires_in(Duration::hours(1))
        .sign(&key())
        .unwrap();
    assert_eq!(
        kind_at(validator(), T0 + 99, &token),
        ErrorKind::NotYetValid
    );
    assert!(verify_at(validator(), T0 + 100, &token).is_ok());
    let lenient = || validator().leeway(Duration::seconds(10));
    assert!(verify_at(lenient(), T0 + 90, &token).is_ok());
    let err = verify_at(lenient(), T0 + 89, &token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotYetValid);
    assert_eq!(
        err.to_string(),
        "token not valid before 2026-11-28T10:01:40Z, 11 s from now (leeway 10 s)"
    );
}

#[test]
fn iat_in_the_future_is_rejected() {
    let iat = OffsetDateTime::from_unix_timestamp(T0 + 100).unwrap();
    let token = minted().issued_at(iat).sign(&key()).unwrap();
    let err = verify_at(validator(), T0 + 40, &token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotYetValid);
    assert!(err
        .to_string()
        .starts_with("token issued at 2026-11-28T10:01:40Z, 60 s in the future"));
    assert!(verify_at(validator().leeway(Duration::seconds(60)), T0 + 40, &token).is_ok());
}

#[test]
fn token_with_aud_is_rejected_when_no_audience_is_configured() {
    let token = minted().audience("api").sign(&key()).unwrap();
    let err = verify_at(validator(), T0, &token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Audience);
    assert!(err.to_string().contains("expects none"), "{err}");
    assert!(verify_at(validator().dangerous().allow_any_audience(), T0, &token).is_ok());
}

#[test]
fn audience_must_be_among_the_tokens_audiences() {
    let api = minted().audience("api").sign(&key()).unwrap();
    let both = minted()
        .audience("web")
        .audience("api")
        .sign(&key())
        .unwrap();
    let web = minted().audience("web").sign(&key()).unwrap();
    let none = minted().sign(&key()).unwrap();
    let expect_api = || validator().audience("api");
    assert!(verify_at(expect_api(), T0, &api).is_ok());
    assert!(verify_at(expect_api(), T0, &both).is_ok());
    assert_eq!(kind_at(expect_api(), T0, &web), ErrorKind::Audience);
    let err = verify_at(expect_api(), T0, &none).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Audience);
    assert_eq!(
        err.to_string(),
        "token has no audience (aud); expected `api`"
    );
    // Either of several configured audiences will do.
    assert!(verify_at(expect_api().audience("web"), T0, &web).is_ok());
}

#[test]
fn audience_comparison_is_exact() {
    for aud in ["API", "api ", "ap", "api/"] {
        let token = minted().audience(aud).sign(&key()).unwrap();
        assert_eq!(
            kind_at(validator().audience("api"), T0, &token),
            ErrorKind::Audience,
            "{aud}"
        );
    }
    let empty_array = raw(
        r#"{"alg":"HS256"}"#,
        &format!(r#"{{"exp":{},"aud":[]}}"#, T0 + 60),
    );
    assert_eq!(
        kind_at(validator().audience("api"), T0, &empty_array),
        ErrorKind::Audience
    );
}

#[test]
fn issuer_is_compared_exactly_and_required_when_configured() {
    let iss = "https://auth.example.com";
    let expect = || validator().issuer(iss);
    assert!(verify_at(expect(), T0, &minted().issuer(iss).sign(&key()).unwrap()).is_ok());
    for other in [
        "https://auth.example.com/",
        "HTTPS://AUTH.EXAMPLE.COM",
        "https://auth.example.co",
    ] {
        let token = minted().issuer(other).sign(&key()).unwrap();
        assert_eq!(kind_at(expect(), T0, &token), ErrorKind::Issuer, "{other}");
    }
    let err = verify_at(expect(), T0, &minted().sign(&key()).unwrap()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Issuer);
    assert_eq!(
        err.to_string(),
        "token has no issuer; expected `https://auth.example.com`"
    );
    // Several issuers: any one is accepted.
    let token = minted().issuer("b").sign(&key()).unwrap();
    assert!(verify_at(validator().issuer("a").issuer("b"), T0, &token).is_ok());
}

#[test]
fn subject_must_match_when_configured() {
    let token = minted().subject("user-42").sign(&key()).unwrap();
    assert!(verify_at(validator().subject("user-42"), T0, &token).is_ok());
    assert_eq!(
        kind_at(validator().subject("user-4"), T0, &token),
        ErrorKind::Subject
    );
    let anonymous = minted().sign(&key()).unwrap();
    assert_eq!(
        kind_at(validator().subject("user-42"), T0, &anonymous),
        ErrorKind::Subject
    );
}

#[test]
fn default_typ_policy_accepts_jwt_or_none_only() {
    for typ in [Some("JWT"), Some("jwt"), Some("application/jwt"), None] {
        let header = match typ {
            Some(t) => format!(r#"{{"alg":"HS256","typ":"{t}"}}"#),
            None => r#"{"alg":"HS256"}"#.to_owned(),
        };
        let token = raw(&header, &format!(r#"{{"exp":{}}}"#, T0 + 60));
        assert!(verify_at(validator(), T0, &token).is_ok(), "{typ:?}");
    }
    let access = minted().token_type("at+jwt").sign(&key()).unwrap();
    let err = verify_at(validator(), T0, &access).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TokenType);
    assert_eq!(
        err.to_string(),
        "token type (typ) `at+jwt` is not accepted; expected `JWT`"
    );
}

#[test]
fn expected_typ_is_required_and_compared_as_a_media_type() {
    let expect = || validator().token_type("at+jwt");
    for typ in ["at+jwt", "application/at+jwt", "AT+JWT"] {
        let token = minted().token_type(typ).sign(&key()).unwrap();
        assert!(verify_at(expect(), T0, &token).is_ok(), "{typ}");
    }
    let plain = minted().sign(&key()).unwrap();
    assert_eq!(kind_at(expect(), T0, &plain), ErrorKind::TokenType);
    let untyped = raw(r#"{"alg":"HS256"}"#, &format!(r#"{{"exp":{}}}"#, T0 + 60));
    assert_eq!(kind_at(expect(), T0, &untyped), ErrorKind::TokenType);
}

#[test]
fn required_claims_must_be_present() {
    let with = minted().jwt_id("abc").sign(&key()).unwrap();
    let without = minted().sign(&key()).unwrap();
    assert!(verify_at(validator().require_claim("jti"), T0, &with).is_ok());
    let err = verify_at(validator().require_claim("jti"), T0, &without).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingClaim);
    assert_eq!(err.to_string(), "required claim `jti` is missing");
}

#[test]
fn oversized_tokens_are_rejected_before_decoding() {
    // Not even base64: the length alone decides.
    let huge = "%".repeat(keycard::limits::DEFAULT_MAX_TOKEN_LEN + 1);
    let err = verify_at(validator(), T0, &huge).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
    assert!(
        err.to_string().contains("longer than the 8192 allowed"),
        "{err}"
    );

    let token = minted().sign(&key()).unwrap();
    let tight = || validator().max_token_len(token.len());
    assert!(verify_at(tight(), T0, &token).is_ok());
    let tighter = validator().max_token_len(token.len() - 1);
    assert_eq!(kind_at(tighter, T0, &token), ErrorKind::Malformed);
}

#[test]
fn signature_is_checked_before_the_payload_is_parsed() {
    let token = minted().sign(&key()).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    // "not json", validly encoded: the signature fails before anything parses it.
    let forged = format!("{}.bm90IGpzb24.{}", parts[0], parts[2]);
    assert_eq!(kind_at(validator(), T0, &forged), ErrorKind::Signature);
}

#[test]
fn structure_rules_reject_malformed_tokens() {
    let token = minted().sign(&key()).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    let std_alphabet = format!("{h}+/");
    let cases = [
        format!("{h}.{p}"),             // two parts
        format!("{h}.{p}.{s}.{s}"),     // four parts
        format!("{h}.{p}.{s}.{s}.{s}"), // five parts (a JWE)
        format!(".{p}.{s}"),            // empty header
        format!("{h}..{s}"),            // empty payload: `""` is not a JSON object... nor signed
        format!("{h}=.{p}.{s}"),        // padding
        format!("{h}.{p}.{s} "),        // whitespace
        format!(" {h}.{p}.{s}"),
        format!("{h}.{p}\n.{s}"),          // line break
        format!("{std_alphabet}.{p}.{s}"), // standard alphabet
        format!("{h}.!!not-base64!!.{s}"),
        String::new(),
        "..".to_owned(),
    ];
    for case in &cases {
        let err = verify_at(validator(), T0, case).unwrap_err();
        let expected = if case.starts_with(&format!("{h}..")) {
            ErrorKind::Signature
        } else {
            ErrorKind::Malformed
        };
        assert_eq!(err.kind(), expected, "{case:?}: {err}");
    }
    // Signature stripping.
    assert_eq!(
        kind_at(validator(), T0, &format!("{h}.{p}.")),
        ErrorKind::Signature
    );
}

#[test]
fn non_canonical_trailing_bits_are_malformed() {
    let token = minted().sign(&key()).unwrap();
    let (input, s) = token.rsplit_once('.').unwrap();
    // A 32-byte HMAC encodes to 43 characters whose last carries 2 unused bits: set one.
    let last = s.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.find(last).unwrap();
    let sibling = alphabet.as_bytes()[index | 1] as char;
    assert_ne!(
        sibling, last,
        "the canonical last character has zero low bits"
    );
    let forged = format!("{input}.{}{sibling}", &s[..s.len() - 1]);
    assert_eq!(kind_at(validator(), T0, &forged), ErrorKind::Malformed);
}

#[derive(Debug, Deserialize, PartialEq)]
struct Session {
    sub: String,
    tenant: u32,
}

#[test]
fn claims_deserialize_into_the_callers_type() {
    let token = minted()
        .subject("user-42")
        .claim("tenant", 7)
        .sign(&key())
        .unwrap();
    let session: Session = validator()
        .clock(at(T0))
        .build()
        .unwrap()
        .verify(&token)
        .unwrap();
    assert_eq!(
        session,
        Session {
            sub: "user-42".into(),
            tenant: 7
        }
    );

    let missing = minted().subject("user-42").sign(&key()).unwrap();
    let err = validator()
        .clock(at(T0))
        .build()
        .unwrap()
        .verify::<Session>(&missing)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
    assert!(err.to_string().contains("tenant"), "{err}");
}

#[test]
fn configuration_mistakes_are_reported_by_build() {
    let cases: Vec<(ValidatorBuilder, &str)> = vec![
        (validator().leeway(Duration::seconds(-1)), "leeway"),
        (validator().leeway(Duration::minutes(6)), "leeway"),
        (validator().max_token_len(0), "max_token_len"),
        (
            validator().audience("api").dangerous().allow_any_audience(),
            "allow_any_audience",
        ),
        (validator().issuer(""), "issuer"),
        (validator().audience(""), "audience"),
        (validator().token_type(""), "token type"),
    ];
    for (builder, mentions) in cases {
        let err = builder.build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration);
        assert!(err.to_string().contains(mentions), "{err}");
    }
    assert!(validator()
        .leeway(keycard::limits::MAX_LEEWAY)
        .build()
        .is_ok());
}

#[test]
fn a_validator_is_shared_across_threads() {
    let validator = validator().clock(at(T0)).build().unwrap();
    let token = minted().sign(&key()).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (validator, token) = (validator.clone(), &token);
            s.spawn(move || assert!(validator.verify::<Claims>(token).is_ok()));
        }
    });
}
