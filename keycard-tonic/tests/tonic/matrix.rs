//! One token matrix, two protocols: a tonic server behind keycard-tonic and an axum server behind
//! keycard-axum, both on the same keycard-http authorizer, over real loopback servers and
//! clients, must classify every token the same way: the same reason code, HTTP status and gRPC
//! code in their fixed pairs, the same challenge and `Retry-After`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::routing::get;
use keycard::{Algorithm, Builder, Claims, Error, HmacKey, KeySet, KeySource, Validator};
use keycard_axum::Verified;
use time::{Duration, OffsetDateTime};
use tonic::transport::Server;
use tonic::Code;

use crate::grpc::{bind, connect, me, Who};

const GOOD: &str = "https://auth.test";
const DOWN: &str = "https://down.test";

/// An identity provider's keys as a `KeySource`: `stale` while its keys are too old to trust;
/// asking it for a newer set always fails (the provider is unreachable).
#[derive(Debug)]
struct Provider {
    keys: Arc<KeySet>,
    stale: bool,
}

impl KeySource for Provider {
    fn generation(&self) -> Result<u64, Error> {
        if self.stale {
            return Err(Error::key_source(std::io::Error::other(
                "no answer for 4 h, keys too old",
            )));
        }
        Ok(1)
    }

    fn keys(&self) -> Arc<KeySet> {
        Arc::clone(&self.keys)
    }

    fn refetch(&self) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send + '_>> {
        Box::pin(async {
            Err(Error::key_source(std::io::Error::other(
                "connection refused",
            )))
        })
    }
}

fn hs256(secret: &[u8; 32], kid: &str) -> HmacKey {
    HmacKey::new(Algorithm::HS256, secret)
        .unwrap()
        .with_key_id(kid)
}

fn validator(issuer: &str, key: &HmacKey, stale: bool) -> Validator {
    let provider = Provider {
        keys: Arc::new(KeySet::from_iter([key.clone()])),
        stale,
    };
    Validator::builder_with_source(Arc::new(provider))
        .issuer(issuer)
        .audience("api")
        .build()
        .unwrap()
}

/// What one protocol answered, in the terms both share.
#[derive(Debug, PartialEq, Eq)]
struct Verdict {
    /// `ok` and the subject, or the reason code.
    code: String,
    challenge: Option<String>,
    retry_after: Option<String>,
}

/// The HTTP status ↔ gRPC code pairs.
fn pair(status: u16) -> Code {
    match status {
        200 => Code::Ok,
        400 | 401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        503 => Code::Unavailable,
        _ => Code::Internal,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tonic_and_an_axum_server_classify_the_same_tokens_the_same_way() {
    let key = hs256(b"the provider's secret of 32 byte", "k1");
    let down_key = hs256(b"the other issuer's 32-byte secre", "d1");
    let auth = keycard_axum::Authorizer::builder()
        .issuer(GOOD, validator(GOOD, &key, false))
        .issuer(DOWN, validator(DOWN, &down_key, true))
        .build()
        .unwrap();

    // The axum server and the tonic server, both requiring the scope `read`.
    let http_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_url = format!("http://{}/me", http_listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/me",
        get(|Verified(c): Verified<Claims>| async move { c.subject.unwrap_or_default() })
            .layer(auth.require_scope("read")),
    );
    tokio::spawn(async move { axum::serve(http_listener, app).await.unwrap() });
    let (incoming, grpc_url) = bind().await;
    tokio::spawn(
        Server::builder()
            .layer(keycard_tonic::layer(auth.http()).require_scope("read"))
            .add_service(Who)
            .serve_with_incoming(incoming),
    );
    let channel = connect(&grpc_url).await;
    let http = reqwest::Client::new();

    let sign = |signer: &HmacKey, iss: &str, aud: &str, scope: &str, exp: OffsetDateTime| {
        let token = Builder::new()
            .issuer(iss)
            .audience(aud)
            .subject("alice")
            .claim("scope", scope)
            .expires_at(exp)
            .sign(signer)
            .unwrap();
        format!("Bearer {token}")
    };
    let soon = OffsetDateTime::now_utc() + Duration::minutes(5);
    let forger = hs256(b"a forger's own secret of 32 byte", "k1");
    let new_key = hs256(b"a key the provider just publishe", "k2");
    let matrix: Vec<(&str, Option<String>, u16, &str)> = vec![
        (
            "valid",
            Some(sign(&key, GOOD, "api", "read", soon)),
            200,
            "ok alice",
        ),
        (
            "expired",
            Some(sign(
                &key,
                GOOD,
                "api",
                "read",
                OffsetDateTime::now_utc() - Duration::minutes(1),
            )),
            401,
            "expired",
        ),
        (
            "bad signature",
            Some(sign(&forger, GOOD, "api", "read", soon)),
            401,
            "signature",
        ),
        (
            "wrong audience",
            Some(sign(&key, GOOD, "billing", "read", soon)),
            401,
            "audience",
        ),
        (
            "missing scope",
            Some(sign(&key, GOOD, "api", "profile", soon)),
            403,
            "insufficient_scope",
        ),
        (
            "provider outage: keys too old",
            Some(sign(&down_key, DOWN, "api", "read", soon)),
            503,
            "temporarily_unavailable",
        ),
        (
            "provider outage: a new kid the refetch could not fetch",
            Some(sign(&new_key, GOOD, "api", "read", soon)),
            503,
            "temporarily_unavailable",
        ),
        ("no credentials", None, 401, "missing_token"),
        (
            "not a bearer credential",
            Some("Basic YWxpY2U=".to_owned()),
            // RFC 6750 §3.1: an unsupported scheme is answered like no credentials.
            401,
            "not_bearer",
        ),
    ];

    let mut rows = Vec::new();
    for (case, authorization, status, code) in &matrix {
        // Over HTTP, to the axum server.
        let mut request = http.get(&http_url);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        let http_status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let (challenge, retry_after) = (header("www-authenticate"), header("retry-after"));
        let body = response.text().await.unwrap();
        let http_code = if http_status == 200 {
            format!("ok {body}")
        } else {
            let json: serde_json::Value = serde_json::from_str(&body).unwrap();
            let code = json.get("error_description").unwrap_or(&json["error"]);
            code.as_str().unwrap().to_owned()
        };
        let over_http = Verdict {
            code: http_code,
            challenge,
            retry_after,
        };

        // Over gRPC, to the tonic server.
        let values: Vec<&str> = authorization.iter().map(String::as_str).collect();
        let answer = me(&channel, &values).await;
        let grpc_code = answer.code;
        let over_grpc = Verdict {
            code: if grpc_code == Code::Ok {
                format!("ok {}", answer.message)
            } else {
                answer.message
            },
            challenge: answer.challenge,
            retry_after: answer.retry_after,
        };

        assert_eq!(http_status, *status, "{case}: HTTP status");
        assert_eq!(over_http.code, *code, "{case}: reason code over HTTP");
        assert_eq!(
            grpc_code,
            pair(http_status),
            "{case}: gRPC code pairs with {http_status}"
        );
        assert_eq!(over_grpc, over_http, "{case}: the same classification");
        rows.push(format!(
            "{case:<56} HTTP {http_status}  gRPC {grpc_code:?}  {code}"
        ));
    }
    println!("{}", rows.join("\n"));
}
