//! The typed values of a JWK's `kty`, `crv`, `use` and `key_ops` members, with their registered
//! spellings (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2, RFC 8812 §3.1).

use std::fmt;
use std::str::FromStr;

use crate::algorithm::Algorithm;
use crate::error::{echo, Error};

/// A JWK key type, `kty` (RFC 7518 §6.1, RFC 8037 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// `RSA`.
    Rsa,
    /// `EC`: an elliptic-curve key (P-256, P-384, ...).
    Ec,
    /// `OKP`: an octet key pair (Ed25519, X25519, ...).
    Okp,
    /// `oct`: a symmetric secret (HMAC).
    Oct,
}

impl KeyType {
    /// The registered `kty` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyType::Rsa => "RSA",
            KeyType::Ec => "EC",
            KeyType::Okp => "OKP",
            KeyType::Oct => "oct",
        }
    }
}

impl FromStr for KeyType {
    type Err = Error;

    fn from_str(kty: &str) -> Result<Self, Error> {
        [KeyType::Rsa, KeyType::Ec, KeyType::Okp, KeyType::Oct]
            .into_iter()
            .find(|t| t.as_str() == kty)
            .ok_or_else(|| {
                Error::key(format!(
                    "JWK key type `{}` is not supported (RSA, EC, OKP, oct)",
                    echo(kty)
                ))
            })
    }
}

/// A JWK curve, `crv`, of an `EC` or `OKP` key. Only P-256, P-384 and Ed25519 make keys here;
/// the others are named so that errors can say which curve a key was on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Curve {
    /// `P-256` (ES256).
    P256,
    /// `P-384` (ES384).
    P384,
    /// `P-521` (ES512; not implemented by `ring`).
    P521,
    /// `secp256k1` (ES256K, RFC 8812; not implemented by `ring`).
    Secp256k1,
    /// `Ed25519` (EdDSA, RFC 8037).
    Ed25519,
    /// `Ed448` (EdDSA; not implemented by `ring`).
    Ed448,
    /// `X25519`: key agreement, not signatures.
    X25519,
    /// `X448`: key agreement, not signatures.
    X448,
}

impl Curve {
    const ALL: [Curve; 8] = [
        Curve::P256,
        Curve::P384,
        Curve::P521,
        Curve::Secp256k1,
        Curve::Ed25519,
        Curve::Ed448,
        Curve::X25519,
        Curve::X448,
    ];

    /// The registered `crv` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
            Curve::Secp256k1 => "secp256k1",
            Curve::Ed25519 => "Ed25519",
            Curve::Ed448 => "Ed448",
            Curve::X25519 => "X25519",
            Curve::X448 => "X448",
        }
    }

    /// The curve an ECDSA algorithm uses (RFC 7518 §3.4, RFC 8812 §3.2).
    pub const fn of(algorithm: Algorithm) -> Option<Curve> {
        match algorithm {
            Algorithm::ES256 => Some(Curve::P256),
            Algorithm::ES384 => Some(Curve::P384),
            Algorithm::ES512 => Some(Curve::P521),
            Algorithm::ES256K => Some(Curve::Secp256k1),
            _ => None,
        }
    }
}

impl FromStr for Curve {
    type Err = Error;

    fn from_str(crv: &str) -> Result<Self, Error> {
        Curve::ALL
            .into_iter()
            .find(|c| c.as_str() == crv)
            .ok_or_else(|| Error::key(format!("JWK curve `{}` is not known", echo(crv))))
    }
}

/// The public key use, `use` (RFC 7517 §4.2). Values other than `sig` and `enc` are kept as
/// written ("other values MAY be used").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyUse {
    /// `sig`: signatures, the only use keycard has for a key.
    Signature,
    /// `enc`: encryption.
    Encryption,
    /// Any other value.
    Other(String),
}

impl KeyUse {
    /// The value as written in the JWK.
    pub fn as_str(&self) -> &str {
        match self {
            KeyUse::Signature => "sig",
            KeyUse::Encryption => "enc",
            KeyUse::Other(other) => other,
        }
    }
}

impl From<String> for KeyUse {
    fn from(value: String) -> Self {
        match value.as_str() {
            "sig" => KeyUse::Signature,
            "enc" => KeyUse::Encryption,
            _ => KeyUse::Other(value),
        }
    }
}

/// A permitted operation in `key_ops` (RFC 7517 §4.3). Unregistered values are kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyOperation {
    /// `sign`: compute a signature or MAC.
    Sign,
    /// `verify`: verify a signature or MAC.
    Verify,
    /// `encrypt`.
    Encrypt,
    /// `decrypt`.
    Decrypt,
    /// `wrapKey`.
    WrapKey,
    /// `unwrapKey`.
    UnwrapKey,
    /// `deriveKey`.
    DeriveKey,
    /// `deriveBits`.
    DeriveBits,
    /// Any other value.
    Other(String),
}

impl KeyOperation {
    const REGISTERED: [KeyOperation; 8] = [
        KeyOperation::Sign,
        KeyOperation::Verify,
        KeyOperation::Encrypt,
        KeyOperation::Decrypt,
        KeyOperation::WrapKey,
        KeyOperation::UnwrapKey,
        KeyOperation::DeriveKey,
        KeyOperation::DeriveBits,
    ];

    /// The value as written in the JWK.
    pub fn as_str(&self) -> &str {
        match self {
            KeyOperation::Sign => "sign",
            KeyOperation::Verify => "verify",
            KeyOperation::Encrypt => "encrypt",
            KeyOperation::Decrypt => "decrypt",
            KeyOperation::WrapKey => "wrapKey",
            KeyOperation::UnwrapKey => "unwrapKey",
            KeyOperation::DeriveKey => "deriveKey",
            KeyOperation::DeriveBits => "deriveBits",
            KeyOperation::Other(other) => other,
        }
    }
}

impl From<String> for KeyOperation {
    fn from(value: String) -> Self {
        KeyOperation::REGISTERED
            .into_iter()
            .find(|op| op.as_str() == value)
            .unwrap_or(KeyOperation::Other(value))
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}

display_as_str!(KeyType, Curve, KeyUse, KeyOperation);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_spellings_read_back() {
        for kty in ["RSA", "EC", "OKP", "oct"] {
            assert_eq!(kty.parse::<KeyType>().unwrap().as_str(), kty);
        }
        assert!("rsa".parse::<KeyType>().is_err(), "kty is case-sensitive");
        for crv in Curve::ALL {
            assert_eq!(crv.as_str().parse::<Curve>().unwrap(), crv);
        }
        assert_eq!(KeyUse::from("sig".to_owned()), KeyUse::Signature);
        assert_eq!(KeyUse::from("x".to_owned()).as_str(), "x");
        assert_eq!(
            KeyOperation::from("wrapKey".to_owned()),
            KeyOperation::WrapKey
        );
        assert_eq!(
            KeyOperation::from("Verify".to_owned()),
            KeyOperation::Other("Verify".to_owned())
        );
    }
}
