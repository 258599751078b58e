//! The key source seam: a validator built with keycard's own `builder_with_source`, an outage
//! during a rotation named as such, `refetch` off a tokio runtime, and the provider's text
//! escaped wherever it is echoed.

use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use keycard::{Claims, ErrorCategory, ErrorKind, KeySource, Validator};
use keycard_jwks::{Error, RemoteKeySet};
use keycard_test::{Discovery, JwksReply};
use serde_json::{json, Value};

use crate::{es256, jwks, jwks_error, remote, start, token, verify_or_refetch};

#[tokio::test]
async fn a_remote_set_is_a_key_source_for_any_validator() {
    let key = es256("k1");
    let provider = start(jwks(&[&key])).await;
    let keys = remote(provider.jwks_uri()).await.unwrap();
    let source: Arc<dyn KeySource> = Arc::new(keys.clone());
    let validator = Validator::builder_with_source(source)
        .audience("api")
        .build()
        .unwrap();
    validator
        .verify::<Claims>(&token(&key, "https://idp.test"))
        .unwrap();
    assert!(validator.key_source().is_some());
    assert_eq!(validator.keys().len(), 1);
}

#[tokio::test]
async fn an_outage_during_a_rotation_is_a_key_source_failure_not_only_an_unknown_kid() {
    let old = es256("2026-11");
    let provider = start(jwks(&[&old])).await;
    let keys = remote(provider.jwks_uri()).await.unwrap();
    let validator = crate::validator(&keys);
    // The provider signs with a new key, and its JWKS endpoint fails.
    let new = es256("2026-12");
    provider.serve(JwksReply::Status(503));
    let err = verify_or_refetch::<Claims>(&validator, &token(&new, "https://idp.test"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
    let failure = err.key_source_failure().unwrap();
    assert_eq!(failure.kind(), ErrorKind::KeySource);
    assert_eq!(failure.category(), ErrorCategory::Backend);
    assert!(
        matches!(jwks_error(failure), Error::Status { status: 503, .. }),
        "{failure}"
    );
    // Old tokens still pass on the cached set.
    validator
        .verify::<Claims>(&token(&old, "https://idp.test"))
        .unwrap();
}

#[tokio::test]
async fn refetch_off_a_tokio_runtime_is_a_configuration_error_not_a_panic() {
    let provider = start(jwks(&[&es256("k1")])).await;
    let keys = remote(provider.jwks_uri()).await.unwrap();
    let outcome = std::thread::spawn(move || {
        let mut refetch = keys.refetch();
        match refetch
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(outcome) => outcome,
            Poll::Pending => panic!("pending without a runtime"),
        }
    })
    .join()
    .unwrap();
    let err = outcome.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.to_string().contains("tokio runtime"), "{err}");
    assert_eq!(provider.jwks_hits(), 1);
}

#[tokio::test]
async fn a_skipped_keys_kid_is_escaped() {
    let ec = es256("ec");
    let mut document: Value = serde_json::from_str(&jwks(&[&ec])).unwrap();
    let keys_array = document["keys"].as_array_mut().unwrap();
    keys_array.push(json!({"kty":"oct","kid":"a\nINFO forged\u{202e}","k":"AAAA"}));
    keys_array.push(
        json!({"kty":"EC","crv":"P-256","use":"enc","kid":"b\r\n\u{1b}[31m",
        "x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
        "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}),
    );
    let provider = start(document.to_string()).await;
    let keys = remote(provider.jwks_uri()).await.unwrap();
    let kids: Vec<String> = keys
        .skipped()
        .iter()
        .map(|s| s.key_id.clone().unwrap())
        .collect();
    assert_eq!(kids, [r"a\nINFO forged\u{202e}", r"b\r\n\u{1b}[31m"]);
    for skipped in keys.skipped() {
        let shown = skipped.to_string();
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(!shown.contains('\u{202e}'), "{shown:?}");
    }
}

#[tokio::test]
async fn a_discovery_documents_issuer_is_escaped() {
    let provider = start(jwks(&[&es256("k1")])).await;
    let forged = format!("{}\n\u{202e}{}", provider.issuer(), "x".repeat(500));
    provider.set_discovery(Discovery::OpenId(
        json!({ "issuer": forged, "jwks_uri": provider.jwks_uri() }),
    ));
    let err = RemoteKeySet::discover(provider.issuer())
        .algorithms([keycard::Algorithm::ES256])
        .allow_http()
        .await
        .unwrap_err();
    let Error::IssuerMismatch { found, .. } = &err else {
        panic!("{err}")
    };
    assert!(
        found.starts_with(&format!(r"{}\n\u{{202e}}", provider.issuer())),
        "{found}"
    );
    assert!(
        found.len() <= keycard::limits::MAX_ECHO + '…'.len_utf8(),
        "{found}"
    );
    let message = err.to_string();
    assert!(!message.chars().any(char::is_control), "{message:?}");
    assert!(!message.contains('\u{202e}'), "{message:?}");
    assert_eq!(err.kind(), ErrorKind::KeySource);
}
