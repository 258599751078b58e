//! `keycard thumbprint`: the RFC 7638 thumbprint of a key, the `kid` keygen gives it.

use base64::Engine;
use clap::Args;
use keycard::text::escape;
use keycard::Jwk;

use crate::failure::{key, usage, Failure, Outcome};
use crate::input;
use crate::keys::{self, KeyFile};

/// `keycard thumbprint`.
#[derive(Args)]
pub(crate) struct ThumbprintArgs {
    /// A JWK, JWK Set or PEM key file (public or private).
    #[arg(value_name = "FILE", required_unless_present = "secret")]
    file: Option<String>,
    /// A raw HMAC secret file instead.
    #[arg(long, value_name = "FILE", conflicts_with = "file")]
    secret: Option<String>,
}

/// Prints the thumbprint of a key, or one line `THUMBPRINT KID` per key of a JWK Set.
pub(crate) fn run(args: &ThumbprintArgs) -> Outcome {
    if let Some(path) = &args.secret {
        let secret = input::bytes_file(path)?;
        let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
        let jwk = serde_json::json!({ "kty": "oct", "k": k });
        return Ok(Jwk::from_json(&jwk.to_string())?.thumbprint());
    }
    let Some(path) = &args.file else {
        return Err(usage("give a key FILE or --secret FILE"));
    };
    match keys::read_key_file(path)? {
        KeyFile::Jwk(jwk) => Ok(jwk.thumbprint()),
        KeyFile::Pem(pem) => Ok(pem_public_jwk(path, &pem)?.thumbprint()),
        KeyFile::Jwks(_, raw) => {
            let mut lines = Vec::new();
            for (index, object) in raw.iter().enumerate() {
                let jwk = Jwk::from_json(&object.to_string())
                    .map_err(|e| Failure::from(e).with_note(&format!("key #{index} of {path}")))?;
                let kid = jwk.key_id().map(|kid| escape(kid, usize::MAX));
                lines.push(format!(
                    "{} {}",
                    jwk.thumbprint(),
                    kid.as_deref().unwrap_or("-")
                ));
            }
            Ok(lines.join("\n"))
        }
    }
}

/// The public JWK of a PEM key of any supported type, public or private: the first algorithm
/// whose reader accepts it (the thumbprint does not depend on which of a family's it is).
fn pem_public_jwk(path: &str, pem: &str) -> Result<Jwk, Failure> {
    keys::asymmetric()
        .into_iter()
        .find_map(|alg| keycard::pem::verifier(alg, pem).ok()?.public_jwk())
        .ok_or_else(|| {
            key(format!(
                "{path} is not a key keycard can read (RSA of 2048 bits or more, EC P-256 or \
                 P-384, Ed25519)"
            ))
        })
}
