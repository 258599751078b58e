//! Each provider preset against a local provider serving a JWK Set shaped like that provider's
//! (RSA keys with `kid`, `use`, `x5t`; Entra ID's without `alg`), with tokens shaped like its
//! real ones (header `typ` or none, the claim names and types it sends). A token of another
//! client, tenant or audience fails the validator or one of the preset's rules.

use keycard::{Algorithm, ErrorKind, KeySet, RsaPrivateKey, Signer};
use keycard_jwks::{Connected, Provider};
use serde_json::{json, Value};

use crate::start;

const RSA_PEM: &str = include_str!("../keys/rsa2048.pkcs8.pem");

fn key() -> RsaPrivateKey {
    RsaPrivateKey::from_pem(Algorithm::RS256, RSA_PEM)
        .unwrap()
        .with_key_id("provider-key-1")
}

/// The test key as providers publish it: `use: sig`, an `x5t`, with or without `alg`.
fn document(with_alg: bool) -> String {
    let mut set = KeySet::new();
    set.insert(key().public_key());
    let mut document: Value = serde_json::from_str(&set.to_json()).unwrap();
    let jwk = document["keys"][0].as_object_mut().unwrap();
    jwk.insert("use".into(), json!("sig"));
    jwk.insert("x5t".into(), json!("nYlUMcwkTCIpDmcrcSS1KWvXoWQ"));
    if !with_alg {
        jwk.remove("alg");
    }
    document.to_string()
}

fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// A token with exactly this header (`kid` and `alg` added) and these claims, `exp` in 5 min.
fn token(typ: Option<&str>, mut claims: Value) -> String {
    let mut header = json!({"alg": "RS256", "kid": "provider-key-1"});
    if let Some(typ) = typ {
        header["typ"] = json!(typ);
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + 300);
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = key().sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&signature))
}

async fn connect(preset: Provider, with_alg: bool) -> (keycard_test::IdentityProvider, Connected) {
    let provider = start(document(with_alg)).await;
    let connected = preset
        .jwks_url(provider.jwks_uri())
        .remote(|keys| keys.allow_http().no_background_refresh())
        .connect()
        .await
        .unwrap();
    (provider, connected)
}

/// What an authorizer built from the preset does: the validator, then every rule.
fn admit(connected: &Connected, token: &str) -> Result<Value, ErrorKind> {
    let claims: Value = connected
        .validator()
        .unwrap()
        .verify(token)
        .map_err(|e| e.kind())?;
    match connected.rules().iter().find(|(_, rule)| !rule(&claims)) {
        Some((kind, _)) => Err(*kind),
        None => Ok(claims),
    }
}

#[tokio::test]
async fn cognito_access_tokens_are_checked_by_client_id_and_token_use() {
    let issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example";
    let (_idp, cognito) = connect(
        Provider::cognito("eu-west-1", "eu-west-1_Example", "app-a"),
        true,
    )
    .await;
    let access = |client: &str, token_use: &str| {
        json!({"sub": "5f2b", "iss": issuer, "client_id": client, "token_use": token_use,
               "scope": "orders/read", "auth_time": 1, "jti": "j", "username": "alice",
               "origin_jti": "o", "event_id": "e", "version": 2})
    };
    // Cognito headers have `kid` and `alg` only.
    assert!(admit(&cognito, &token(None, access("app-a", "access"))).is_ok());
    assert_eq!(
        admit(&cognito, &token(None, access("app-b", "access"))),
        Err(ErrorKind::Audience)
    );
    // An ID token: `aud` instead of `client_id`, `token_use: id`.
    let id = json!({"sub": "5f2b", "iss": issuer, "aud": "app-a", "token_use": "id"});
    assert!(admit(&cognito, &token(None, id)).is_err());
    let other_pool = json!({"sub": "5f2b", "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other",
                            "client_id": "app-a", "token_use": "access"});
    assert_eq!(
        admit(&cognito, &token(None, other_pool)),
        Err(ErrorKind::Issuer)
    );
}

#[tokio::test]
async fn entra_multi_tenant_tokens_must_name_their_own_tenant_in_iss() {
    // Entra publishes keys without `alg`, headers `typ: JWT` with `kid` and `x5t`.
    let (_idp, entra) = connect(
        Provider::entra_multi_tenant("api-client", ["tenant-a", "tenant-b"]),
        false,
    )
    .await;
    let claims = |tid: &str, iss_tid: &str, aud: &str| {
        json!({"aud": aud, "iss": format!("https://login.microsoftonline.com/{iss_tid}/v2.0"),
               "tid": tid, "oid": "o", "sub": "s", "scp": "orders.read", "ver": "2.0", "azp": "client"})
    };
    for tid in ["tenant-a", "tenant-b"] {
        assert!(admit(&entra, &token(Some("JWT"), claims(tid, tid, "api-client"))).is_ok());
    }
    let other_tenant = token(Some("JWT"), claims("tenant-c", "tenant-c", "api-client"));
    assert_eq!(admit(&entra, &other_tenant), Err(ErrorKind::Issuer));
    let mismatch = token(Some("JWT"), claims("tenant-a", "tenant-c", "api-client"));
    assert_eq!(admit(&entra, &mismatch), Err(ErrorKind::Issuer));
    let graph = token(
        Some("JWT"),
        claims(
            "tenant-a",
            "tenant-a",
            "00000003-0000-0000-c000-000000000000",
        ),
    );
    assert_eq!(admit(&entra, &graph), Err(ErrorKind::Audience));
}

#[tokio::test]
async fn entra_google_auth0_okta_and_keycloak_presets_accept_their_tokens_and_refuse_others() {
    let entra_iss = "https://login.microsoftonline.com/tenant-a/v2.0";
    let cases: Vec<(Provider, bool, Option<&str>, Value, Value)> = vec![
        (
            Provider::entra("tenant-a", "api-client"),
            false,
            Some("JWT"),
            json!({"aud": "api-client", "iss": entra_iss, "tid": "tenant-a", "scp": "a b", "ver": "2.0"}),
            json!({"aud": "api-client", "iss": "https://login.microsoftonline.com/tenant-b/v2.0", "tid": "tenant-b"}),
        ),
        (
            Provider::google("1234.apps.googleusercontent.com"),
            true,
            Some("JWT"),
            json!({"aud": "1234.apps.googleusercontent.com", "iss": "accounts.google.com",
                   "azp": "1234.apps.googleusercontent.com", "sub": "1", "email_verified": true}),
            json!({"aud": "9999.apps.googleusercontent.com", "iss": "https://accounts.google.com", "sub": "1"}),
        ),
        (
            Provider::auth0("example.eu.auth0.com", "https://api.example.com"),
            true,
            Some("at+jwt"),
            json!({"aud": ["https://api.example.com", "https://example.eu.auth0.com/userinfo"],
                   "iss": "https://example.eu.auth0.com/", "scope": "read:orders", "permissions": ["read:orders"]}),
            json!({"aud": "https://other.example.com", "iss": "https://example.eu.auth0.com/"}),
        ),
        (
            Provider::okta("https://example.okta.com/oauth2/default", "api://default"),
            true,
            None,
            json!({"ver": 1, "aud": "api://default", "iss": "https://example.okta.com/oauth2/default",
                   "cid": "0oa", "uid": "00u", "scp": ["orders.read"], "sub": "alice@example.com"}),
            json!({"aud": "https://example.okta.com", "iss": "https://example.okta.com/oauth2/default"}),
        ),
        (
            Provider::okta_org("example.okta.com", "https://example.okta.com"),
            true,
            None,
            json!({"aud": "https://example.okta.com", "iss": "https://example.okta.com", "scp": ["okta.users.read"]}),
            json!({"aud": "https://example.okta.com", "iss": "https://example.okta.com/oauth2/default"}),
        ),
        (
            Provider::keycloak("https://sso.example.com", "staff", "orders-api"),
            true,
            Some("JWT"),
            json!({"aud": ["orders-api", "account"], "iss": "https://sso.example.com/realms/staff", "typ": "Bearer",
                   "azp": "web", "scope": "openid profile", "realm_access": {"roles": ["clerk"]}}),
            json!({"aud": "orders-api", "iss": "https://sso.example.com/realms/staff", "typ": "ID"}),
        ),
    ];
    for (preset, with_alg, typ, good, other) in cases {
        let name = format!("{preset:?}");
        let (_idp, connected) = connect(preset, with_alg).await;
        assert!(admit(&connected, &token(typ, good)).is_ok(), "{name}");
        assert!(admit(&connected, &token(typ, other)).is_err(), "{name}");
        // An ID token's `typ` of another kind never passes for an access token.
        assert!(
            admit(&connected, &token(Some("id+jwt"), json!({}))).is_err(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn the_rfc9068_preset_discovers_and_requires_at_jwt() {
    let provider = start(document(true)).await;
    let issuer = provider.issuer();
    let connected = Provider::rfc9068(issuer.clone(), "api")
        .remote(|keys| keys.allow_http().no_background_refresh())
        .connect()
        .await
        .unwrap();
    let claims = json!({"aud": "api", "iss": issuer, "sub": "s", "client_id": "c", "jti": "j"});
    assert!(admit(&connected, &token(Some("at+jwt"), claims.clone())).is_ok());
    assert!(admit(
        &connected,
        &token(Some("application/at+jwt"), claims.clone())
    )
    .is_ok());
    assert_eq!(
        admit(&connected, &token(Some("JWT"), claims.clone())),
        Err(ErrorKind::TokenType)
    );
    assert_eq!(
        admit(&connected, &token(None, claims)),
        Err(ErrorKind::TokenType)
    );
}
