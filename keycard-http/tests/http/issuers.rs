//! Several issuers behind one authorizer: the unverified `iss`, read only within the length
//! limit, picks the validator, which then checks everything with its own keys and rules.

use http::StatusCode;
use keycard::{Algorithm, Builder, HmacKey, Validator};
use keycard_http::{Authorizer, EmptyBody};
use time::Duration;

use crate::{call, get};

fn signed(key: &HmacKey, issuer: Option<&str>, padding: usize) -> String {
    let mut builder = Builder::new()
        .subject("alice")
        .expires_in(Duration::minutes(5))
        .claim("padding", "x".repeat(padding));
    if let Some(issuer) = issuer {
        builder = builder.issuer(issuer);
    }
    format!("Bearer {}", builder.sign(key).unwrap())
}

#[tokio::test]
async fn the_issuer_is_peeked_within_the_length_limit_and_checked_again() {
    let a = HmacKey::new(Algorithm::HS256, b"issuer a's secret of 32 bytes!!!").unwrap();
    let b = HmacKey::new(Algorithm::HS256, b"issuer b's secret of 32 bytes!!!").unwrap();
    let validator = |key: &HmacKey, issuer: &str| {
        Validator::builder(key.clone())
            .issuer(issuer)
            .max_token_len(64 * 1024)
            .build()
            .unwrap()
    };
    let auth = Authorizer::builder()
        .issuer("https://a.test", validator(&a, "https://a.test"))
        .issuer("https://b.test", validator(&b, "https://b.test"))
        .max_token_len(1024)
        .build()
        .unwrap();
    let layer = auth.layer(EmptyBody);
    let kind = |answer: &crate::Answer| {
        let challenge = answer.challenge().unwrap_or_default().to_owned();
        (answer.status, challenge)
    };
    let expect = |code: &str| {
        (
            StatusCode::UNAUTHORIZED,
            format!(r#"Bearer realm="api", error="invalid_token", error_description="{code}""#),
        )
    };

    for (key, issuer) in [(&a, "https://a.test"), (&b, "https://b.test")] {
        let answer = call(&layer, get("/", &[&signed(key, Some(issuer), 0)])).await;
        assert_eq!(answer.body, "alice|", "{issuer}");
    }
    // Signed by one issuer's key, naming the other: that issuer's validator refuses it.
    let answer = call(&layer, get("/", &[&signed(&a, Some("https://b.test"), 0)])).await;
    assert_eq!(kind(&answer), expect("signature"));
    for token in [signed(&a, Some("https://c.test"), 0), signed(&a, None, 0)] {
        assert_eq!(
            kind(&call(&layer, get("/", &[&token])).await),
            expect("issuer")
        );
    }
    // Over the authorizer's limit: refused before the payload is decoded, though the validator
    // (whose own limit is higher) would accept it.
    let long = signed(&a, Some("https://a.test"), 2000);
    assert_eq!(
        kind(&call(&layer, get("/", &[&long])).await),
        expect("malformed")
    );
    let garbage = format!("Bearer {}.{}.x", "e".repeat(600), "A".repeat(600));
    assert_eq!(
        kind(&call(&layer, get("/", &[&garbage])).await),
        expect("malformed")
    );
}
