//! The identity provider over real HTTP, read with a hand-written HTTP/1.1 GET (the kit's users
//! bring their own client).

use std::time::Duration;

use keycard::KeySet;
use keycard_test::{keys, Discovery, IdentityProvider, JwksReply};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The status line, the headers (lowercased names) and the body of a GET of `url`.
async fn get(url: &str) -> std::io::Result<(u16, Vec<(String, String)>, String)> {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = TcpStream::connect(host).await?;
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|l| {
            let (name, value) = l.split_once(':').unwrap();
            (name.to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    Ok((status, headers, body.to_owned()))
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn serves_the_published_keys_and_counts_requests() {
    let (old, new) = (keys::es256("old"), keys::es256("new"));
    let provider = IdentityProvider::start(keys::jwks(&[&old])).await;
    let (status, headers, body) = get(&provider.jwks_uri()).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "connection"), Some("close"));
    assert_eq!(KeySet::from_jwks(&body).unwrap().len(), 1);

    provider.publish_keys(&[&old, &new]);
    let (_, _, body) = get(&provider.jwks_uri()).await.unwrap();
    assert_eq!(KeySet::from_jwks(&body).unwrap().len(), 2);
    provider.serve(JwksReply::Document(
        keys::jwks(&[&new]),
        Some("max-age=120"),
    ));
    let (_, headers, _) = get(&provider.jwks_uri()).await.unwrap();
    assert_eq!(header(&headers, "cache-control"), Some("max-age=120"));
    assert_eq!(provider.jwks_hits(), 3);
    provider.wait_for_hits(3).await;
    assert_eq!(provider.discovery_hits(), 0);
}

#[tokio::test]
async fn discovery_documents_name_the_issuer_and_the_jwks() {
    let provider = IdentityProvider::start(String::new()).await;
    let openid = format!("{}/.well-known/openid-configuration", provider.base());
    let oauth = format!("{}/.well-known/oauth-authorization-server", provider.base());
    let (status, _, body) = get(&openid).await.unwrap();
    assert_eq!(status, 200);
    let document: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(document, provider.configuration());
    assert_eq!(document["issuer"], provider.issuer());
    assert_eq!(document["jwks_uri"], provider.jwks_uri());
    assert_eq!(get(&oauth).await.unwrap().0, 404);

    provider.set_discovery(Discovery::OAuth(json!({ "issuer": "x" })));
    assert_eq!(get(&openid).await.unwrap().0, 404);
    assert_eq!(get(&oauth).await.unwrap().2, r#"{"issuer":"x"}"#);
    assert_eq!(provider.discovery_hits(), 4);
}

#[tokio::test]
async fn fault_modes_fail_as_named() {
    let provider = IdentityProvider::start(String::new()).await;
    let url = provider.jwks_uri();

    provider.serve(JwksReply::Status(503));
    assert_eq!(get(&url).await.unwrap().0, 503);
    provider.serve(JwksReply::Malformed);
    let (status, _, body) = get(&url).await.unwrap();
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
    provider.serve(JwksReply::Huge);
    let (_, headers, body) = get(&url).await.unwrap();
    assert!(
        header(&headers, "content-length")
            .unwrap()
            .parse::<usize>()
            .unwrap()
            > 10 << 20
    );
    assert!(body.len() > 10 << 20);
    provider.serve(JwksReply::HugeChunked);
    let (_, headers, _) = get(&url).await.unwrap();
    assert_eq!(header(&headers, "content-length"), None);
    provider.serve(JwksReply::Redirect {
        status: 307,
        location: "http://elsewhere.test/jwks".to_owned(),
    });
    let (status, headers, _) = get(&url).await.unwrap();
    assert_eq!(status, 307);
    assert_eq!(
        header(&headers, "location"),
        Some("http://elsewhere.test/jwks")
    );

    for stall in [JwksReply::Stall, JwksReply::StallBody] {
        provider.serve(stall);
        let stalled = tokio::time::timeout(Duration::from_millis(200), get(&url)).await;
        assert!(stalled.is_err(), "no complete answer");
    }
    assert_eq!(provider.jwks_hits(), 7);
}

#[tokio::test]
async fn a_closed_gate_holds_requests_until_released() {
    let provider = IdentityProvider::start(keys::jwks(&[&keys::es256("k")])).await;
    let gate = provider.close_gate();
    let url = provider.jwks_uri();
    let held = tokio::spawn(async move { get(&url).await.unwrap().0 });
    provider.wait_for_hits(1).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!held.is_finished(), "held at the gate");
    gate.release(1);
    assert_eq!(held.await.unwrap(), 200);
    provider.open_gate();
    assert_eq!(get(&provider.jwks_uri()).await.unwrap().0, 200);
}

#[tokio::test]
async fn a_stopped_or_dropped_provider_refuses_connections() {
    let provider = IdentityProvider::start(String::new()).await;
    let url = provider.jwks_uri();
    provider.stop().await;
    assert!(get(&url).await.is_err(), "refused after stop");

    let provider = IdentityProvider::start(String::new()).await;
    let url = provider.jwks_uri();
    provider.serve(JwksReply::Stall);
    // A stalled request does not keep `stop` waiting.
    let stalled = tokio::spawn({
        let url = url.clone();
        async move { get(&url).await }
    });
    provider.wait_for_hits(1).await;
    tokio::time::timeout(Duration::from_secs(5), provider.stop())
        .await
        .unwrap();
    stalled.abort();

    let provider = IdentityProvider::start(String::new()).await;
    let url = provider.jwks_uri();
    drop(provider);
    tokio::task::yield_now().await;
    assert!(get(&url).await.is_err(), "refused after drop");
}
