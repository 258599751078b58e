//! Reading a token **without verifying it**. Nothing here checks a signature; nothing returned
//! may be trusted or used to authorize anything.
//!
//! The one legitimate use is routing before verification: looking at `kid` or `iss` to choose
//! which [`Validator`](crate::Validator) or key set to verify with. The validator checks
//! everything again.

use serde::de::DeserializeOwned;

use crate::encoding::base64url;
use crate::error::Error;
use crate::token::compact;
use crate::token::header;
pub use crate::token::header::Header;

/// Decodes the header of `token` without verifying anything.
///
/// ```
/// use keycard::{unverified, Algorithm};
///
/// let token = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.e30.c2ln";
/// let header = unverified::decode_header(token)?;
/// assert_eq!(header.algorithm(), Algorithm::HS256);
/// assert_eq!(header.key_id(), Some("k1"));
/// # Ok::<(), keycard::Error>(())
/// ```
pub fn decode_header(token: &str) -> Result<Header, Error> {
    let parts = compact::split(token)?;
    let json = base64url::decode(parts.header, "header")?;
    Ok(header::parse(&json)?.to_header())
}

/// Decodes the claims of `token` as `T` without verifying anything.
pub fn decode_claims<T: DeserializeOwned>(token: &str) -> Result<T, Error> {
    let parts = compact::split(token)?;
    let json = base64url::decode(parts.payload, "payload")?;
    serde_json::from_slice(&json).map_err(|e| Error::malformed(format!("claims: {e}")))
}
