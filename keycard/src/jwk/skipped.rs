//! [`SkippedKey`]: a key of a JWK Set document that could not be used, and why.

use std::fmt;

use crate::error::ErrorKind;

/// A key of a JWK Set document that [`KeySet`](crate::KeySet) left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    index: usize,
    key_id: Option<String>,
    kind: ErrorKind,
    reason: String,
}

impl SkippedKey {
    pub(crate) fn new(
        index: usize,
        key_id: Option<String>,
        kind: ErrorKind,
        reason: String,
    ) -> Self {
        SkippedKey {
            index,
            key_id,
            kind,
            reason,
        }
    }

    /// The key's position in the document's `keys` array, from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The key's `kid`, when it has a readable one (shortened).
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// The kind of the error that refused the key, for instance
    /// [`ErrorKind::Key`] or [`ErrorKind::Algorithm`].
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Why the key was left out, for people.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for SkippedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key #{}", self.index)?;
        if let Some(kid) = &self.key_id {
            write!(f, " (kid `{kid}`)")?;
        }
        write!(f, " skipped: {}", self.reason)
    }
}
