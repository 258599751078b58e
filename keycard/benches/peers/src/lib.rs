//! What the benches, the examples and the allocation test of this crate share, so that every
//! measurement runs the same token, the same keys and the same naive pipeline: the 9-claim
//! [`Session`] (`iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`, `scope`, `roles` of 2), its
//! borrowed twin, the test keys, and [`naive_verify`] / [`naive_sign`], what anyone writes in 30
//! lines with the primitive, base64 and serde_json, and [`naive_verify_stack`], the same verify
//! as a careful user writes it (header and signature decoded on the stack). The comparison
//! itself is in `benches/peers.rs`.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The primitive: `ring`, or `aws-lc-rs` with `--features aws-lc-rs` (which also switches
/// keycard to its aws-lc-rs backend).
#[cfg(feature = "aws-lc-rs")]
pub use aws_lc_rs as crypto;
#[cfg(not(feature = "aws-lc-rs"))]
pub use ring as crypto;

pub const SECRET: &[u8] = b"a benchmark secret of 32 bytes!!";
pub const RSA_PKCS8: &str = include_str!("../../../tests/keys/rsa2048.pkcs8.pem");
pub const RSA_SPKI: &str = include_str!("../../../tests/keys/rsa2048.spki.pem");
pub const P256_PKCS8: &str = include_str!("../../../tests/keys/p256.pkcs8.pem");
pub const P256_SPKI: &str = include_str!("../../../tests/keys/p256.spki.pem");
pub const ED25519_PKCS8: &str = include_str!("../../../tests/keys/ed25519.pkcs8.pem");
pub const ED25519_SPKI: &str = include_str!("../../../tests/keys/ed25519.spki.pem");

pub const ISSUER: &str = "https://auth.example.com";
pub const AUDIENCE: &str = "api";
pub const LIFETIME_SECS: u64 = 15 * 60;

/// The 9 claims, owned: what every library signs from and verifies into.
#[derive(Serialize, Deserialize, Clone)]
pub struct Session {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub nbf: u64,
    pub iat: u64,
    pub jti: String,
    pub scope: String,
    pub roles: Vec<String>,
}

/// The same claims borrowed from the decoded payload (keycard `verify_borrowed`).
#[derive(Deserialize)]
pub struct SessionRef<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    pub aud: &'a str,
    pub exp: u64,
    pub nbf: u64,
    pub iat: u64,
    pub jti: &'a str,
    pub scope: &'a str,
    #[serde(borrow)]
    pub roles: Vec<&'a str>,
}

/// jwt-simple keeps the registered claims itself; its custom part is the rest.
#[derive(Serialize, Deserialize)]
pub struct Custom {
    pub scope: String,
    pub roles: Vec<String>,
}

/// Unix seconds now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The claims as an application makes them for each token: times from the clock.
pub fn session(now: u64) -> Session {
    Session {
        iss: ISSUER.to_owned(),
        sub: "user-42".to_owned(),
        aud: AUDIENCE.to_owned(),
        exp: now + LIFETIME_SECS,
        nbf: now,
        iat: now,
        jti: "7c4b1e7a-6f0e-4f7a-9a55-0d7f0c2f9c11".to_owned(),
        scope: "read write".to_owned(),
        roles: vec!["admin".to_owned(), "billing".to_owned()],
    }
}

/// The naive HS256 verify: split, decode the header and check `alg`, HMAC, decode the payload,
/// `serde_json::from_slice` into the struct, compare `exp`/`nbf`/`iss`/`aud`. Correct for honest
/// tokens and nothing more: no duplicate names refused, no types of registered claims, no bound.
pub fn naive_verify(token: &str, key: &crypto::hmac::Key) -> Option<Session> {
    #[derive(Deserialize)]
    struct Header<'a> {
        alg: &'a str,
    }
    let (input, signature) = token.rsplit_once('.')?;
    let (header, payload) = input.split_once('.')?;
    let header = URL_SAFE_NO_PAD.decode(header).ok()?;
    if serde_json::from_slice::<Header<'_>>(&header).ok()?.alg != "HS256" {
        return None;
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    crypto::hmac::verify(key, input.as_bytes(), &signature).ok()?;
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Session = serde_json::from_slice(&payload).ok()?;
    let now = now();
    (claims.exp > now && claims.nbf <= now && claims.iss == ISSUER && claims.aud == AUDIENCE)
        .then_some(claims)
}

/// The naive HS256 verify as a careful user writes it: [`naive_verify`] with the header and the
/// signature decoded into stack buffers instead of two `Vec`s (the payload still goes to a
/// `Vec`, which the owned struct is read from). The same checks, as few: the stricter baseline of
/// issue 23.
pub fn naive_verify_stack(token: &str, key: &crypto::hmac::Key) -> Option<Session> {
    #[derive(Deserialize)]
    struct Header<'a> {
        alg: &'a str,
    }
    let (input, signature) = token.rsplit_once('.')?;
    let (header, payload) = input.split_once('.')?;
    let mut header_buf = [0u8; 128];
    let n = URL_SAFE_NO_PAD.decode_slice(header, &mut header_buf).ok()?;
    if serde_json::from_slice::<Header<'_>>(&header_buf[..n])
        .ok()?
        .alg
        != "HS256"
    {
        return None;
    }
    let mut signature_buf = [0u8; 64];
    let n = URL_SAFE_NO_PAD
        .decode_slice(signature, &mut signature_buf)
        .ok()?;
    crypto::hmac::verify(key, input.as_bytes(), &signature_buf[..n]).ok()?;
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Session = serde_json::from_slice(&payload).ok()?;
    let now = now();
    (claims.exp > now && claims.nbf <= now && claims.iss == ISSUER && claims.aud == AUDIENCE)
        .then_some(claims)
}

/// The naive HS256 sign: a constant header, the struct's JSON, base64, HMAC.
pub fn naive_sign(claims: &Session, key: &crypto::hmac::Key) -> Option<String> {
    const HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"; // {"alg":"HS256","typ":"JWT"}
    let payload = serde_json::to_vec(claims).ok()?;
    let mut token = String::with_capacity(HEADER.len() + payload.len() * 4 / 3 + 50);
    token.push_str(HEADER);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
    let tag = crypto::hmac::sign(key, token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut token);
    Some(token)
}

/// The DER inside a PEM document.
pub fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("pem base64")
}
