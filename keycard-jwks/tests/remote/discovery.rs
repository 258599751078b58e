//! Discovery: OpenID Connect first, RFC 8414 as the fallback, the issuer compared exactly.

use keycard::{Claims, ErrorKind, Validator};
use keycard_jwks::{Error, RemoteKeySet, ValidatorExt};
use serde_json::json;

use keycard_test::Discovery;

use crate::{es256, jwks, start, token, validator};

#[tokio::test]
async fn discovered_keys_verify_and_the_validator_requires_the_issuer() {
    let key = es256("k1");
    let provider = start(jwks(&[&key])).await;
    let keys = RemoteKeySet::discover(provider.issuer())
        .algorithms([keycard::Algorithm::ES256])
        .allow_http()
        .await
        .unwrap();
    assert_eq!(provider.discovery_hits(), 1);
    assert_eq!(provider.jwks_hits(), 1);
    assert_eq!(keys.issuer(), Some(provider.issuer().as_str()));
    assert_eq!(keys.jwks_uri(), provider.jwks_uri());

    let validator = Validator::builder_with_remote(&keys)
        .audience("api")
        .build()
        .unwrap();
    let claims: Claims = validator.verify(&token(&key, &provider.issuer())).unwrap();
    assert_eq!(claims.issuer.as_deref(), Some(provider.issuer().as_str()));
    let err = validator
        .verify::<Claims>(&token(&key, "https://someone.else/"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Issuer);
}

#[tokio::test]
async fn rfc_8414_metadata_is_used_when_there_is_no_openid_configuration() {
    let key = es256("k1");
    let provider = start(jwks(&[&key])).await;
    provider.set_discovery(Discovery::OAuth(provider.configuration()));
    let keys = RemoteKeySet::discover(provider.issuer())
        .algorithms([keycard::Algorithm::ES256])
        .allow_http()
        .await
        .unwrap();
    assert_eq!(
        provider.discovery_hits(),
        2,
        "OpenID configuration (404), then RFC 8414"
    );
    validator(&keys)
        .verify::<Claims>(&token(&key, &provider.issuer()))
        .unwrap();
}

#[tokio::test]
async fn a_document_naming_another_issuer_is_refused() {
    let provider = start(jwks(&[&es256("k1")])).await;
    // The same issuer without its trailing slash is another issuer (exact comparison).
    provider.set_discovery(Discovery::OpenId(
        json!({ "issuer": provider.base(), "jwks_uri": provider.jwks_uri() }),
    ));
    let err = RemoteKeySet::discover(provider.issuer())
        .algorithms([keycard::Algorithm::ES256])
        .allow_http()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::IssuerMismatch { .. }), "{err}");
    assert!(err.to_string().contains("not the configured"), "{err}");
    assert_eq!(
        provider.jwks_hits(),
        0,
        "no key fetched from an unverified document"
    );
}

#[tokio::test]
async fn a_document_without_jwks_uri_is_refused() {
    let provider = start(jwks(&[&es256("k1")])).await;
    provider.set_discovery(Discovery::OpenId(json!({ "issuer": provider.issuer() })));
    let err = RemoteKeySet::discover(provider.issuer())
        .algorithms([keycard::Algorithm::ES256])
        .allow_http()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no `jwks_uri`"), "{err}");
}

#[tokio::test]
async fn plain_http_is_refused_unless_allowed() {
    let provider = start(jwks(&[&es256("k1")])).await;
    let err = RemoteKeySet::discover(provider.issuer())
        .algorithms([keycard::Algorithm::ES256])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InsecureUrl { .. }), "{err}");
    let err = RemoteKeySet::from_url(provider.jwks_uri())
        .algorithms([keycard::Algorithm::ES256])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InsecureUrl { .. }), "{err}");
    assert_eq!(provider.discovery_hits() + provider.jwks_hits(), 0);
}

#[tokio::test]
async fn configurations_that_cannot_work_are_refused() {
    let provider = start(jwks(&[&es256("k1")])).await;
    let none = RemoteKeySet::from_url(provider.jwks_uri())
        .allow_http()
        .await;
    assert!(matches!(none, Err(Error::Configuration(_))));
    let hmac = RemoteKeySet::from_url(provider.jwks_uri())
        .algorithms([keycard::Algorithm::HS256])
        .allow_http()
        .await;
    assert!(matches!(hmac, Err(Error::Configuration(m)) if m.contains("shared secret")));
    let bounds = RemoteKeySet::from_url(provider.jwks_uri())
        .algorithms([keycard::Algorithm::ES256])
        .allow_http()
        .max_age_bounds(
            std::time::Duration::from_secs(10),
            std::time::Duration::from_secs(5),
        )
        .await;
    assert!(matches!(bounds, Err(Error::Configuration(_))));
    assert_eq!(provider.jwks_hits(), 0);
}
