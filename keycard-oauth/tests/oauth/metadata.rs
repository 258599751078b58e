//! Metadata (RFC 8414, OpenID Connect Discovery) and the JWK Set (RFC 7517).

use bytes::Bytes;
use http::Request;
use keycard_oauth::Endpoint;

use crate::common::{fixture, ISSUER};

async fn get(f: &crate::common::Fixture, endpoint: Endpoint) -> crate::common::Reply {
    let request = Request::get(f.service.url(endpoint))
        .body(Bytes::new())
        .unwrap();
    f.send(endpoint, request).await
}

#[tokio::test]
async fn both_metadata_documents_name_the_issuer_and_every_endpoint() {
    let f = fixture();
    for endpoint in [Endpoint::Metadata, Endpoint::OpenIdConfiguration] {
        let reply = get(&f, endpoint).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("cache-control"), Some("public, max-age=300"));
        let doc = &reply.json;
        // RFC 8414 §3.3: the issuer is exactly the one the document was asked for.
        assert_eq!(doc["issuer"], ISSUER);
        assert_eq!(doc["token_endpoint"], format!("{ISSUER}/token"));
        assert_eq!(doc["jwks_uri"], format!("{ISSUER}/jwks.json"));
        assert_eq!(doc["revocation_endpoint"], format!("{ISSUER}/revoke"));
        assert_eq!(
            doc["introspection_endpoint"],
            format!("{ISSUER}/introspect")
        );
        assert!(doc["grant_types_supported"].as_array().unwrap().len() >= 2);
    }
    let oidc = get(&f, Endpoint::OpenIdConfiguration).await;
    assert_eq!(
        oidc.json["id_token_signing_alg_values_supported"][0],
        "ES256"
    );
}

#[tokio::test]
async fn the_jwk_set_publishes_public_keys_only_and_is_cacheable() {
    let f = fixture();
    let reply = get(&f, Endpoint::Jwks).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("application/jwk-set+json")
    );
    assert_eq!(reply.header("cache-control"), Some("public, max-age=300"));
    let keys = reply.json["keys"].as_array().unwrap();
    // The current key and the next one, published ahead of its first signature.
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["kid"], "k1");
    assert!(keys.iter().all(|k| k.get("d").is_none()), "no private part");
    // A token of the service verifies with nothing but the published set.
    let set = keycard::KeySet::from_jwks(&reply.body()).unwrap();
    let token = f.token("grant_type=client_credentials").await.json["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // RFC 9068 §4: a resource server checks `typ: at+jwt`; keycard's validators refuse an
    // explicitly typed token unless told its type.
    let validator = keycard::Validator::builder_with_keys(set)
        .token_type("at+jwt")
        .issuer(ISSUER)
        .audience("api")
        .build()
        .unwrap();
    if let Err(e) = validator.verify::<keycard::Claims>(&token) {
        panic!("{e}");
    }
}
