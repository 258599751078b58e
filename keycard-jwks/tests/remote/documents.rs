//! What a fetched document may hold: keys without `alg`, secrets, nothing usable, too much.

use keycard::{Algorithm, Claims, KeySet, RsaPrivateKey};
use keycard_jwks::{Error, RemoteKeySet};
use serde_json::{json, Value};

use crate::{es256, remote, start, token, validator};

const RSA_PEM: &str = include_str!("../keys/rsa2048.pkcs8.pem");

/// The RSA test key's public JWK, as Microsoft Entra ID publishes its keys: no `alg`.
fn rsa_without_alg(kid: &str) -> (RsaPrivateKey, Value) {
    let key = RsaPrivateKey::from_pem(Algorithm::RS256, RSA_PEM)
        .unwrap()
        .with_key_id(kid);
    let mut set = KeySet::new();
    set.insert(key.public_key());
    let mut document: Value = serde_json::from_str(&set.to_json()).unwrap();
    let jwk = document["keys"][0].as_object_mut().unwrap();
    jwk.remove("alg");
    jwk.insert("use".into(), json!("sig"));
    (key, document["keys"][0].clone())
}

#[tokio::test]
async fn keys_without_alg_load_for_the_algorithms_named_for_the_set() {
    let (key, jwk) = rsa_without_alg("entra-1");
    let provider = start(json!({ "keys": [jwk] }).to_string()).await;
    let keys = RemoteKeySet::from_url(provider.jwks_uri())
        .algorithms([Algorithm::RS256])
        .allow_http()
        .no_background_refresh()
        .await
        .unwrap();
    assert_eq!(keys.keys().len(), 1);
    let claims: Claims = validator(&keys)
        .verify(&token(
            &key,
            "https://login.microsoftonline.com/tenant/v2.0",
        ))
        .unwrap();
    assert_eq!(claims.subject.as_deref(), Some("user-42"));
}

#[tokio::test]
async fn symmetric_keys_in_a_published_set_are_skipped() {
    let ec = es256("ec");
    let mut document: Value = serde_json::from_str(&crate::jwks(&[&ec])).unwrap();
    document["keys"]
        .as_array_mut()
        .unwrap()
        .insert(0, json!({"kty":"oct","kid":"secret","alg":"HS256","k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"}));
    let provider = start(document.to_string()).await;
    let keys = remote(provider.jwks_uri()).await.unwrap();
    assert_eq!(keys.keys().len(), 1);
    let skipped = keys.skipped();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].index, 0);
    assert_eq!(skipped[0].key_id.as_deref(), Some("secret"));
    assert!(
        skipped[0].reason.contains("kty: oct"),
        "{}",
        skipped[0].reason
    );
}

#[tokio::test]
async fn a_set_with_no_usable_key_lists_every_key_and_why() {
    let (_, rsa) = rsa_without_alg("rsa-1");
    let document = json!({ "keys": [
        {"kty":"oct","kid":"secret","k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"},
        rsa,
        {"kty":"EC","crv":"P-256","use":"enc","kid":"enc-1",
         "x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
         "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}
    ]});
    let provider = start(document.to_string()).await;
    let err = RemoteKeySet::from_url(provider.jwks_uri())
        .algorithms([Algorithm::ES256])
        .allow_http()
        .await
        .unwrap_err();
    let Error::NoUsableKeys { skipped, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        skipped.iter().map(|s| s.index).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    let message = err.to_string();
    assert!(message.contains("3 skipped"), "{message}");
    assert!(message.contains("key #0 (kid `secret`)"), "{message}");
    assert!(message.contains("kty: oct"), "{message}");
    assert!(message.contains("key #1 (kid `rsa-1`)"), "{message}");
    assert!(message.contains("key #2 (kid `enc-1`)"), "{message}");
}

#[tokio::test]
async fn too_many_keys_are_refused() {
    let key = es256("k");
    let many: Vec<Value> = (0..5)
        .map(|i| {
            let mut jwk: Value = serde_json::from_str(&crate::jwks(&[&key])).unwrap();
            jwk["keys"][0]["kid"] = json!(format!("k{i}"));
            jwk["keys"][0].clone()
        })
        .collect();
    let provider = start(json!({ "keys": many }).to_string()).await;
    let err = remote(provider.jwks_uri()).max_keys(4).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooManyKeys {
                count: 5,
                limit: 4,
                ..
            }
        ),
        "{err}"
    );
    assert!(remote(provider.jwks_uri()).max_keys(5).await.is_ok());
}
