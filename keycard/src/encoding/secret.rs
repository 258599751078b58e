//! The one zeroizing buffer: secret bytes (private key DER, HMAC secrets, JWK private members)
//! overwritten with zeros when dropped.
//!
//! Best effort: `ring`'s own key schedules are not zeroized (it does not promise to), and copies
//! the allocator made before cannot be reached.

/// Bytes overwritten with zeros when dropped.
#[derive(Clone)]
pub(crate) struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.fill(0);
        // Keeps the compiler from dropping the writes as dead stores.
        std::hint::black_box(&mut self.0);
    }
}

/// Text that is a secret (the base64url of a private JWK member), kept in a [`SecretBytes`].
#[derive(Clone)]
pub(crate) struct SecretString(SecretBytes);

impl SecretString {
    pub(crate) fn new(text: String) -> Self {
        SecretString(SecretBytes::new(text.into_bytes()))
    }

    // An invariant, not input: the constructor takes a `String`.
    #[allow(clippy::expect_used)]
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(self.0.as_bytes())
            .expect("a SecretString is only made from a String, so its bytes are UTF-8")
    }
}

impl serde::Serialize for SecretString {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_text_reads_back_what_it_was_given() {
        let text = SecretString::new("c2VjcmV0".to_owned());
        assert_eq!(text.as_str(), "c2VjcmV0");
        assert_eq!(serde_json::to_string(&text).unwrap(), "\"c2VjcmV0\"");
    }
}
