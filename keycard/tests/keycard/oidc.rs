//! OpenID Connect ID token checks (Core 1.0 §3.1.3.7): issuer and audience, `azp` with several
//! audiences, `nonce`, `auth_time` against `max_age`.

use keycard::time::{Duration, OffsetDateTime};
use keycard::{Algorithm, Builder, Claims, Error, ErrorKind, FixedClock, HmacKey, Validator};

const ISSUER: &str = "https://accounts.example.com";
const CLIENT: &str = "my-client";
const NONCE: &str = "n-0S6_WzA2Mj";
const NOW: i64 = 1_795_824_000;

fn key() -> HmacKey {
    HmacKey::new(Algorithm::HS256, b"oidc test secret of 32 bytes!!!!").unwrap()
}

fn clock() -> FixedClock {
    FixedClock(OffsetDateTime::from_unix_timestamp(NOW).unwrap())
}

/// A well-formed ID token for CLIENT with NONCE, authenticated 10 minutes ago.
fn id_token() -> Builder {
    Builder::new()
        .issuer(ISSUER)
        .subject("alice")
        .audience(CLIENT)
        .claim("nonce", NONCE)
        .claim("auth_time", NOW - 600)
        .expires_in(Duration::minutes(5))
        .clock(clock())
}

fn validator() -> Validator {
    Validator::builder(key())
        .issuer(ISSUER)
        .id_token(CLIENT)
        .clock(clock())
        .build()
        .unwrap()
}

fn check(token: &Builder) -> Result<Claims, Error> {
    validator().verify_id_token(&token.sign(&key()).unwrap(), NONCE)
}

#[test]
fn a_valid_id_token_passes() {
    let claims = check(&id_token()).unwrap();
    assert_eq!(claims.subject.as_deref(), Some("alice"));
    assert_eq!(claims.nonce.as_deref(), Some(NONCE));
}

#[test]
fn the_nonce_must_be_the_one_sent() {
    let tok = id_token().sign(&key()).unwrap();
    let err = validator()
        .verify_id_token::<Claims>(&tok, "another")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Nonce);
    assert_eq!(
        err.to_string(),
        "ID token nonce `n-0S6_WzA2Mj` is not the one sent in the authentication request"
    );

    let no_nonce = Builder::new()
        .issuer(ISSUER)
        .subject("alice")
        .audience(CLIENT)
        .expires_in(Duration::minutes(5))
        .clock(clock())
        .sign(&key())
        .unwrap();
    let err = validator()
        .verify_id_token::<Claims>(&no_nonce, NONCE)
        .unwrap_err();
    assert!(matches!(err, Error::Nonce { found: None }), "{err}");
    // Without a nonce in the request, plain `verify` applies the other rules.
    validator().verify::<Claims>(&no_nonce).unwrap();

    // Builder refuses to mint a non-string `nonce`, so the token is assembled by hand.
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": "alice", "aud": CLIENT, "nonce": 5,
        "auth_time": NOW - 600, "iat": NOW, "exp": NOW + 300,
    });
    let typed = crate::common::assemble(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &claims.to_string(),
        |input| keycard::Signer::sign(&key(), input).unwrap(),
    );
    let err = validator()
        .verify_id_token::<Claims>(&typed, NONCE)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
    assert!(
        Builder::new()
            .claim("nonce", 5)
            .expires_in(Duration::minutes(5))
            .sign(&key())
            .is_err(),
        "a nonce that is not a string is never minted"
    );
}

#[test]
fn the_audience_must_contain_the_client_id() {
    let other = Builder::new()
        .issuer(ISSUER)
        .subject("alice")
        .audience("another-client")
        .claim("nonce", NONCE)
        .expires_in(Duration::minutes(5))
        .clock(clock());
    assert_eq!(check(&other).unwrap_err().kind(), ErrorKind::Audience);
}

#[test]
fn the_issuer_must_match_exactly() {
    let other = id_token().issuer("https://accounts.example.com/");
    assert_eq!(check(&other).unwrap_err().kind(), ErrorKind::Issuer);
}

#[test]
fn several_audiences_require_azp_naming_this_client() {
    let several = id_token().audience("another-client");
    let err = check(&several).unwrap_err();
    assert!(
        matches!(&err, Error::AuthorizedParty { expected, found: None } if expected == CLIENT),
        "{err}"
    );
    assert_eq!(err.kind().as_str(), "authorized_party");
    check(&several.clone().claim("azp", CLIENT)).unwrap();
    let err = check(&several.claim("azp", "another-client")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "authorized party (azp) `another-client` is not this client `my-client`"
    );
}

#[test]
fn an_azp_present_must_name_this_client_even_with_one_audience() {
    check(&id_token().claim("azp", CLIENT)).unwrap();
    let err = check(&id_token().claim("azp", "someone-else")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthorizedParty);
}

#[test]
fn sub_and_iat_are_required() {
    let no_iat = id_token().without_issued_at();
    let err = check(&no_iat).unwrap_err();
    assert!(
        matches!(err, Error::MissingClaim { ref claim } if claim == "iat"),
        "{err}"
    );
    let no_sub = Builder::new()
        .issuer(ISSUER)
        .audience(CLIENT)
        .claim("nonce", NONCE)
        .expires_in(Duration::minutes(5))
        .clock(clock());
    let err = check(&no_sub).unwrap_err();
    assert!(
        matches!(err, Error::MissingClaim { ref claim } if claim == "sub"),
        "{err}"
    );
}

fn with_max_age(max_age: Duration, leeway: Duration) -> Validator {
    Validator::builder(key())
        .issuer(ISSUER)
        .id_token(CLIENT)
        .max_age(max_age)
        .leeway(leeway)
        .clock(clock())
        .build()
        .unwrap()
}

#[test]
fn max_age_bounds_auth_time_with_the_leeway() {
    let tok = id_token().sign(&key()).unwrap(); // authenticated 600 s ago
    with_max_age(Duration::seconds(600), Duration::ZERO)
        .verify_id_token::<Claims>(&tok, NONCE)
        .unwrap();
    let err = with_max_age(Duration::seconds(599), Duration::ZERO)
        .verify_id_token::<Claims>(&tok, NONCE)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthTime);
    assert_eq!(
        err.to_string(),
        "authenticated at 2026-11-27T23:50:00Z, 600 s ago, longer than max_age 599 s \
         (leeway 0 s): authenticate again"
    );
    with_max_age(Duration::seconds(599), Duration::seconds(1))
        .verify_id_token::<Claims>(&tok, NONCE)
        .unwrap();
}

#[test]
fn max_age_requires_auth_time() {
    let tok = Builder::new()
        .issuer(ISSUER)
        .subject("alice")
        .audience(CLIENT)
        .claim("nonce", NONCE)
        .expires_in(Duration::minutes(5))
        .clock(clock())
        .sign(&key())
        .unwrap();
    let err = with_max_age(Duration::hours(1), Duration::ZERO)
        .verify_id_token::<Claims>(&tok, NONCE)
        .unwrap_err();
    assert!(
        matches!(err, Error::MissingClaim { ref claim } if claim == "auth_time"),
        "{err}"
    );
}

#[test]
fn impossible_id_token_validators_are_refused_when_building() {
    for (what, builder) in [
        ("issuer", Validator::builder(key()).id_token(CLIENT)),
        (
            "empty",
            Validator::builder(key()).issuer(ISSUER).id_token(""),
        ),
        (
            "max_age",
            Validator::builder(key()).max_age(Duration::seconds(-1)),
        ),
    ] {
        let err = builder.build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration, "{what}");
        assert!(err.to_string().contains(what), "{what}: {err}");
    }
}

#[test]
fn an_auth_time_at_the_end_of_the_range_does_not_panic() {
    let far = id_token().claim("auth_time", 253_402_300_799_i64);
    with_max_age(Duration::days(365), Duration::ZERO)
        .verify_id_token::<Claims>(&far.sign(&key()).unwrap(), NONCE)
        .unwrap();
}

#[test]
fn another_configured_audience_does_not_stand_in_for_the_client_id() {
    // Core §3.1.3.7 step 3: `aud` must contain *our* client id, whatever else the validator
    // accepts for its other audiences.
    let validator = Validator::builder(key())
        .issuer(ISSUER)
        .id_token(CLIENT)
        .audience("api")
        .clock(clock())
        .build()
        .unwrap();
    let for_api = Builder::new()
        .issuer(ISSUER)
        .subject("alice")
        .audience("api")
        .claim("nonce", NONCE)
        .expires_in(Duration::minutes(5))
        .clock(clock())
        .sign(&key())
        .unwrap();
    let err = validator
        .verify_id_token::<Claims>(&for_api, NONCE)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Audience);
    let for_us = id_token().sign(&key()).unwrap();
    assert!(validator.verify_id_token::<Claims>(&for_us, NONCE).is_ok());
}
