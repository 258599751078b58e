//! The keys and tokens every server and the runner share: one HS256 secret, one RSA-2048 key
//! (keycard's test key), and tokens with the claims of keycard-axum's own bench (`iss`, `sub`,
//! `aud`, `exp`, `iat`, `jti`, `scope`), about 250 bytes for HS256 and 530 for RS256.

use keycard::time::Duration;
use keycard::{Algorithm, Builder, HmacKey, RsaPrivateKey, Signer};

/// The issuer every server requires.
pub const ISSUER: &str = "https://auth.example.com";
/// The audience every server requires.
pub const AUDIENCE: &str = "api";
/// The HS256 secret (32 bytes, as text because jwt-authorizer takes a `&str`).
pub const SECRET: &str = "an example secret of 32 bytes!!!";
/// The subject of the one-token rounds; the handler answers it.
pub const SUBJECT: &str = "user-42";

const RSA_PEM: &str = include_str!("../keys/rsa2048.pkcs8.pem");

/// The HS256 key.
pub fn hmac() -> HmacKey {
    HmacKey::new(Algorithm::HS256, SECRET.as_bytes()).expect("a 32-byte secret is an HS256 key")
}

/// The RS256 private key.
pub fn rsa() -> RsaPrivateKey {
    RsaPrivateKey::from_pem(Algorithm::RS256, RSA_PEM).expect("the test key is RSA-2048 PKCS#8")
}

/// A valid token for `sub`, with `jti` = `id`, valid for 12 hours.
pub fn token(key: &dyn Signer, sub: &str, id: usize) -> String {
    Builder::new()
        .issuer(ISSUER)
        .subject(sub)
        .audience(AUDIENCE)
        .expires_in(Duration::hours(12))
        .jwt_id(format!("t-{id:08}"))
        .claim("scope", "read write")
        .sign(key)
        .expect("signing with a test key")
}

/// `token` with one base64url character of its signature changed, a third of the way in: still
/// canonical base64url of the right length, so both libraries run the signature check (an RSA
/// verify for RS256) and refuse it there.
pub fn bad_signature(token: &str) -> String {
    let dot = token.rfind('.').expect("a compact JWS has two dots");
    let at = dot + 1 + (token.len() - dot - 1) / 3;
    let mut bytes = token.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("still ASCII")
}
