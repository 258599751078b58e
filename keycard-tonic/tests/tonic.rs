//! keycard-tonic over real gRPC on 127.0.0.1: a hand-written unary service (no protoc) behind the
//! layer and behind the interceptor, every refusal as a status with its metadata, and one token
//! matrix put to this server and to an axum server behind keycard-axum.

#[path = "tonic/grpc.rs"]
mod grpc;
#[path = "tonic/interceptor.rs"]
mod interceptor;
#[path = "tonic/layer.rs"]
mod layer;
#[path = "tonic/matrix.rs"]
mod matrix;

use keycard::{Algorithm, Builder, HmacKey};
use time::Duration;

pub(crate) const ISSUER: &str = "https://auth.test";

pub(crate) fn key() -> HmacKey {
    HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!").unwrap()
}

/// A token of `key` for audience `api`, subject `alice`, with `scope`, valid for five minutes.
pub(crate) fn token(key: &HmacKey, scope: &str) -> String {
    Builder::new()
        .issuer(ISSUER)
        .audience("api")
        .subject("alice")
        .claim("scope", scope)
        .expires_in(Duration::minutes(5))
        .sign(key)
        .unwrap()
}
