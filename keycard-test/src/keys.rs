//! Fresh signing keys for tests, and the JWK Set that publishes them.

use keycard::{Algorithm, EcdsaPrivateKey, KeySet};

/// A freshly generated ES256 key with `kid`.
///
/// # Panics
/// When the system random generator fails.
pub fn es256(kid: &str) -> EcdsaPrivateKey {
    match EcdsaPrivateKey::generate(Algorithm::ES256) {
        Ok(key) => key.with_key_id(kid),
        Err(e) => panic!("generating an ES256 key: {e}"),
    }
}

/// The JWK Set (RFC 7517 §5) that publishes the public halves of `keys`, as an identity provider
/// serves it.
///
/// ```
/// use keycard::KeySet;
/// use keycard_test::keys;
///
/// let (old, new) = (keys::es256("2026-11"), keys::es256("2026-12"));
/// let document = keys::jwks(&[&old, &new]);
/// assert_eq!(KeySet::from_jwks(&document)?.len(), 2);
/// # Ok::<(), keycard::Error>(())
/// ```
pub fn jwks(keys: &[&EcdsaPrivateKey]) -> String {
    let mut set = KeySet::new();
    for key in keys {
        set.insert(key.public_key());
    }
    set.to_json()
}
