//! Several issuers behind one layer: the unverified `iss` picks the validator, which then
//! checks the token with that issuer's own keys and rules only.

use axum::routing::get;
use axum::Router;
use keycard::{Algorithm, Builder, Claims, EcdsaPrivateKey, Validator};
use keycard_axum::{Authorizer, Verified};
use keycard_jwks::{RemoteKeySet, ValidatorExt};
use time::Duration;

use crate::provider::Provider;
use crate::{get as fetch, serve};

const STATIC_ISSUER: &str = "https://static.test";

fn es256(kid: &str) -> EcdsaPrivateKey {
    EcdsaPrivateKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id(kid)
}

fn token(key: &EcdsaPrivateKey, issuer: Option<&str>) -> String {
    let mut builder = Builder::new()
        .audience("api")
        .subject("bob")
        .expires_in(Duration::minutes(5));
    if let Some(issuer) = issuer {
        builder = builder.issuer(issuer);
    }
    format!("Bearer {}", builder.sign(key).unwrap())
}

#[tokio::test]
async fn each_issuer_is_checked_with_its_own_keys_and_rules() {
    // Both issuers use the kid `shared`, so only the choice of key set tells them apart.
    let static_key = es256("shared");
    let remote_key = es256("shared");
    let provider = Provider::start(crate::remote::jwks(&[&remote_key])).await;
    let keys = RemoteKeySet::discover(provider.issuer())
        .algorithms([Algorithm::ES256])
        .allow_http()
        .no_background_refresh()
        .await
        .unwrap();
    let remote_issuer = provider.issuer();
    let auth = Authorizer::builder()
        .issuer(
            STATIC_ISSUER,
            Validator::builder(static_key.public_key())
                .issuer(STATIC_ISSUER)
                .audience("api")
                .build()
                .unwrap(),
        )
        .issuer(
            remote_issuer.as_str(),
            Validator::builder_with_remote(&keys)
                .audience("api")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let base = serve(
        Router::new().route(
            "/who",
            get(|Verified(c): Verified<Claims>| async move { c.issuer.unwrap_or_default() })
                .layer(auth.layer()),
        ),
    )
    .await;
    let url = format!("{base}/who");

    let from_static = fetch(&url, &[&token(&static_key, Some(STATIC_ISSUER))]).await;
    assert_eq!(
        (from_static.status, from_static.body.as_str()),
        (200, STATIC_ISSUER)
    );
    let from_remote = fetch(&url, &[&token(&remote_key, Some(&remote_issuer))]).await;
    assert_eq!(
        (from_remote.status, from_remote.body.as_str()),
        (200, remote_issuer.as_str())
    );

    // A token naming one issuer but signed with the other's key fails that issuer's check.
    for forged in [
        token(&static_key, Some(&remote_issuer)),
        token(&remote_key, Some(STATIC_ISSUER)),
    ] {
        let reply = fetch(&url, &[&forged]).await;
        assert_eq!(reply.status, 401);
        assert_eq!(reply.json()["error_description"], "signature");
    }
    for (token, kind) in [
        (token(&static_key, Some("https://unknown.test")), "issuer"),
        (token(&static_key, None), "issuer"),
        ("Bearer not.a.token".to_owned(), "malformed"),
    ] {
        let reply = fetch(&url, &[&token]).await;
        assert_eq!(reply.status, 401, "{kind}");
        assert_eq!(
            reply.challenge.as_deref(),
            Some(
                format!(r#"Bearer realm="api", error="invalid_token", error_description="{kind}""#)
                    .as_str()
            )
        );
    }
}

#[test]
fn an_authorizer_without_validators_or_with_a_duplicate_issuer_is_refused() {
    assert!(Authorizer::builder().build().is_err());
    let validator = || {
        Validator::builder(es256("k").public_key())
            .audience("api")
            .build()
            .unwrap()
    };
    let twice = Authorizer::builder()
        .issuer("https://a.test", validator())
        .issuer("https://a.test", validator())
        .build();
    assert!(twice.unwrap_err().to_string().contains("named twice"));
    let both = Authorizer::builder()
        .validator(validator())
        .issuer("https://a.test", validator())
        .build();
    assert!(both.is_err());
}
