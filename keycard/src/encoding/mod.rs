//! Encodings, the bottom layer: base64url (RFC 7515 §2, strict and unpadded), the one strict JSON
//! object reader that headers, claims, JWKs and key sets share (duplicate names refused), and the
//! PEM and DER containers keys come in. Nothing here knows what a token or a key is.

pub(crate) mod base64url;
pub(crate) mod bytes;
pub(crate) mod der;
pub(crate) mod json;
pub(crate) mod pem;
pub(crate) mod secret;
