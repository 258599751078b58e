//! `private_key_jwt` client authentication (RFC 7523 §2.2, §3), checked by keycard's validator.

use keycard::{Builder, EcdsaPrivateKey, Signer};
use keycard_oauth::Endpoint;

use crate::common::{client_key, fixture, Fixture, ISSUER};

const BEARER: &str = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

fn assertion(key: &dyn Signer, iss: &str, aud: &str, jti: &str, lifetime: i64) -> String {
    Builder::new()
        .issuer(iss)
        .subject("jwt-client")
        .audience(aud)
        .jwt_id(jti)
        .expires_in(time::Duration::seconds(lifetime))
        .sign(key)
        .unwrap()
}

impl Fixture {
    async fn with_assertion(&self, assertion: &str) -> crate::common::Reply {
        let body = format!(
            "grant_type=client_credentials&client_assertion_type={BEARER}&client_assertion={assertion}"
        );
        self.post(Endpoint::Token, None, &body).await
    }
}

#[tokio::test]
async fn an_assertion_for_the_token_endpoint_or_the_issuer_authenticates_once() {
    let f = fixture();
    let endpoint = f.service.url(Endpoint::Token);
    let first = assertion(client_key(), "jwt-client", &endpoint, "a1", 60);
    let reply = f.with_assertion(&first).await;
    assert_eq!(reply.status, 200, "{}", reply.body());
    assert_eq!(reply.json["scope"], "read");
    // RFC 7523 §3 item 7: the same `jti` again is refused while the assertion lives.
    let again = f.with_assertion(&first).await;
    assert_eq!((again.status, again.error()), (400, "invalid_client"));
    let to_issuer = assertion(client_key(), "jwt-client", ISSUER, "a2", 60);
    assert_eq!(f.with_assertion(&to_issuer).await.status, 200);
}

#[tokio::test]
async fn assertions_with_a_wrong_key_audience_issuer_or_lifetime_are_refused() {
    let f = fixture();
    let endpoint = f.service.url(Endpoint::Token);
    let stranger = EcdsaPrivateKey::generate(keycard::Algorithm::ES256)
        .unwrap()
        .with_key_id("client-1");
    for (bad, why) in [
        (
            assertion(&stranger, "jwt-client", &endpoint, "b1", 60),
            "another key",
        ),
        (
            assertion(client_key(), "jwt-client", "https://elsewhere", "b2", 60),
            "audience",
        ),
        (
            assertion(client_key(), "someone", &endpoint, "b3", 60),
            "iss is not sub",
        ),
        (
            assertion(client_key(), "jwt-client", &endpoint, "b4", 3600),
            "lifetime",
        ),
        (
            assertion(client_key(), "jwt-client", &endpoint, "b5", -120),
            "expired",
        ),
        ("not.a.jwt".to_owned(), "malformed"),
    ] {
        assert_eq!(
            f.with_assertion(&bad).await.error(),
            "invalid_client",
            "{why}"
        );
        f.clock.advance(time::Duration::seconds(60));
    }
}

#[tokio::test]
async fn an_assertion_with_another_method_or_type_is_refused() {
    let f = fixture();
    let endpoint = f.service.url(Endpoint::Token);
    let good = assertion(client_key(), "jwt-client", &endpoint, "c1", 60);
    let body = format!(
        "grant_type=client_credentials&client_assertion_type={BEARER}&client_assertion={good}&client_secret={}",
        f.secret
    );
    assert_eq!(
        f.post(Endpoint::Token, None, &body).await.error(),
        "invalid_request"
    );
    let body = format!(
        "grant_type=client_credentials&client_assertion_type=urn%3Aother&client_assertion={good}"
    );
    assert_eq!(
        f.post(Endpoint::Token, None, &body).await.error(),
        "invalid_client"
    );
    let body = format!(
        "grant_type=client_credentials&client_id=basic-client&client_assertion_type={BEARER}&client_assertion={good}"
    );
    assert_eq!(
        f.post(Endpoint::Token, None, &body).await.error(),
        "invalid_client"
    );
}
