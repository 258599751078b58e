//! The cryptographic backend, chosen at build time: `ring` by default, `aws-lc-rs` with the
//! `aws-lc-rs` feature. aws-lc-rs mirrors ring's API, so the key code names `crypto::...` once
//! and compiles against either; the few calls that differ are marked `cfg(feature = "aws-lc-rs")`
//! where they are made. Neither backend's types appear in keycard's public API.

#[cfg(feature = "aws-lc-rs")]
pub(crate) use aws_lc_rs::{agreement, error, hmac, rand, rsa, signature};
#[cfg(not(feature = "aws-lc-rs"))]
pub(crate) use ring::{agreement, error, hmac, rand, rsa, signature};
