//! A signer whose private key lives elsewhere (an HSM, AWS KMS, Google Cloud KMS): implement
//! `Signer` and hand it to `Builder::sign`.
//!
//! Run with `cargo run --example custom_signer`.

use std::sync::atomic::{AtomicUsize, Ordering};

use keycard::{Algorithm, Builder, Claims, EcdsaPrivateKey, Error, Signer, Validator};
use time::Duration;

/// Stands in for a remote key service: it counts calls and signs with a key it keeps to itself.
/// A real one would send `message` (or its SHA-256 digest) to the service and return the raw
/// `R || S` signature; many KMS APIs return ASN.1 DER, which must be converted first.
#[derive(Debug)]
struct RemoteKms {
    key: EcdsaPrivateKey,
    calls: AtomicUsize,
}

impl Signer for RemoteKms {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }

    fn key_id(&self) -> Option<&str> {
        Some("kms/keys/2026-11")
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        // A network failure would be reported with `Error::signing(io_error)`.
        self.key.sign(message)
    }
}

fn main() -> Result<(), Error> {
    let local = EcdsaPrivateKey::generate(Algorithm::ES256)?;
    let public = local.public_key().with_key_id("kms/keys/2026-11");
    let kms = RemoteKms {
        key: local,
        calls: AtomicUsize::new(0),
    };

    let token = Builder::new()
        .subject("service-a")
        .expires_in(Duration::minutes(5))
        .sign(&kms)?;
    println!(
        "signed by the KMS ({} call):\n{token}\n",
        kms.calls.load(Ordering::Relaxed)
    );

    let claims: Claims = Validator::builder(public).build()?.verify(&token)?;
    println!(
        "verified with the published public key: sub = {:?}",
        claims.subject
    );
    Ok(())
}
