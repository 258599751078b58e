//! `keycard keygen`: new keys in every form a service needs, named by their RFC 7638 thumbprint.

use std::io::Write;

use base64::Engine;
use clap::Args;
use keycard::{Algorithm, EcdsaPrivateKey, Ed25519PrivateKey, ErrorKind, Jwk};
use serde_json::Value;

use crate::failure::{key, usage, Failure, Outcome};
use crate::keys::Family;
use crate::output;

/// `keycard keygen`.
#[derive(Args)]
pub(crate) struct KeygenArgs {
    /// The algorithm the key is for: ES256, ES384, EdDSA, HS256, HS384 or HS512 (RSA keys come
    /// from openssl: keygen prints the command).
    #[arg(long, value_name = "ALG")]
    alg: String,
    /// Where to write: PREFIX.pem, PREFIX.jwk (private), PREFIX.pub.jwk, PREFIX.jwks (public);
    /// for HMAC, PREFIX.secret and PREFIX.jwk. Existing files are never overwritten.
    #[arg(long, value_name = "PREFIX")]
    out: String,
}

/// A file to write, and whether it holds a secret.
struct Output {
    path: String,
    contents: Vec<u8>,
    secret: bool,
    what: &'static str,
}

/// Makes the key and writes its files.
pub(crate) fn run(args: &KeygenArgs) -> Outcome {
    let alg: Algorithm = args.alg.parse()?;
    let prefix = &args.out;
    let (kid, outputs) = match Family::of(alg) {
        Some(Family::EcP256 | Family::EcP384) => {
            let private = EcdsaPrivateKey::generate(alg)?;
            let public = private.public_key().to_jwk().with_thumbprint_key_id();
            let d = ec_private_scalar(&private.to_der())
                .ok_or_else(|| key("the generated key's PKCS#8 form has no private scalar"))?;
            asymmetric(prefix, alg, &private.to_pem(), &public, &d)?
        }
        Some(Family::Ed25519) => {
            let private = Ed25519PrivateKey::generate()?;
            let public = private.public_key().to_jwk().with_thumbprint_key_id();
            asymmetric(prefix, alg, &private.to_pem(), &public, &private.to_seed())?
        }
        Some(Family::Hmac { secret_len }) => hmac(prefix, alg, secret_len)?,
        Some(Family::Rsa) => {
            return Err(Failure::new(
                ErrorKind::Algorithm,
                format!(
                    "ring cannot generate RSA keys, so keycard cannot either; make one with \
                     `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out {prefix}.pem` \
                     (its public half: `openssl pkey -in {prefix}.pem -pubout -out {prefix}.pub.pem`; \
                     its kid: `keycard thumbprint {prefix}.pem`), then sign with \
                     `keycard sign --key {prefix}.pem --alg {alg}`"
                ),
            ))
        }
        None => {
            return Err(Failure::new(
                ErrorKind::Algorithm,
                format!("{alg} is not supported by ring, so keycard cannot make keys for it"),
            ))
        }
    };
    for output in &outputs {
        if std::path::Path::new(&output.path).exists() {
            return Err(usage(format!(
                "{} exists: keygen never overwrites a key (choose another --out)",
                output.path
            )));
        }
    }
    let mut report = format!("kid {kid}\n");
    for output in &outputs {
        write_new(output)?;
        report.push_str(&format!("wrote {}  {}\n", output.path, output.what));
    }
    let verify_with = if outputs.len() > 2 {
        format!("{prefix}.jwks")
    } else {
        format!("{prefix}.jwk")
    };
    report.push_str(&format!(
        "sign with `keycard sign --key {prefix}.jwk --exp +30m` (the JWK carries alg and kid); \
         verify with `keycard verify --key {verify_with} TOKEN`"
    ));
    Ok(report)
}

/// The files of an EC or Ed25519 key: private PEM and JWK, public JWK and JWK Set.
fn asymmetric(
    prefix: &str,
    alg: Algorithm,
    pem: &str,
    public: &Jwk,
    d: &[u8],
) -> Result<(String, Vec<Output>), Failure> {
    let kid = public.key_id().unwrap_or_default().to_owned();
    let public_json: Value = serde_json::from_str(&public.to_json())
        .map_err(|e| key(format!("the public JWK is not JSON: {e}")))?;
    let mut private_json = public_json.clone();
    if let Some(object) = private_json.as_object_mut() {
        object.insert("d".to_owned(), Value::from(b64(d)));
    }
    let private_text = output::json(&private_json);
    // Check that what is written is one key, before writing it.
    let private = Jwk::from_json(&private_text)?;
    if private.thumbprint() != kid || private.to_signer(alg).is_err() {
        return Err(key("the private JWK does not match its public key"));
    }
    let jwks = serde_json::json!({ "keys": [public_json] });
    Ok((
        kid,
        vec![
            Output {
                path: format!("{prefix}.pem"),
                contents: pem.as_bytes().to_vec(),
                secret: true,
                what: "private key, PKCS#8 PEM: keep it secret",
            },
            Output {
                path: format!("{prefix}.jwk"),
                contents: lines(&private_text),
                secret: true,
                what: "private JWK: keep it secret",
            },
            Output {
                path: format!("{prefix}.pub.jwk"),
                contents: lines(&output::json(&public_json)),
                secret: false,
                what: "public JWK",
            },
            Output {
                path: format!("{prefix}.jwks"),
                contents: lines(&output::json(&jwks)),
                secret: false,
                what: "public JWK Set, to publish",
            },
        ],
    ))
}

/// The files of an HMAC secret: the raw bytes and an `oct` JWK. It has no public half.
fn hmac(prefix: &str, alg: Algorithm, len: usize) -> Result<(String, Vec<Output>), Failure> {
    let mut secret = vec![0u8; len];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
        .map_err(|_| keycard::Error::random_failure())?;
    keycard::HmacKey::new(alg, &secret)?;
    let mut jwk =
        serde_json::json!({ "kty": "oct", "use": "sig", "alg": alg.as_str(), "k": b64(&secret) });
    let kid = Jwk::from_json(&jwk.to_string())?.thumbprint();
    if let Some(object) = jwk.as_object_mut() {
        object.insert("kid".to_owned(), Value::from(kid.as_str()));
    }
    Ok((
        kid,
        vec![
            Output {
                path: format!("{prefix}.secret"),
                contents: secret,
                secret: true,
                what: "raw secret, for --secret: keep it secret",
            },
            Output {
                path: format!("{prefix}.jwk"),
                contents: lines(&output::json(&jwk)),
                secret: true,
                what: "secret JWK (kty oct): keep it secret; an HMAC key has no public half",
            },
        ],
    ))
}

/// Writes a file that must not exist yet; secrets are readable by their owner only.
fn write_new(output: &Output) -> Result<(), Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if output.secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let fail = |e: std::io::Error| usage(format!("cannot write {}: {e}", output.path));
    let mut file = options.open(&output.path).map_err(fail)?;
    file.write_all(&output.contents).map_err(fail)
}

/// Unpadded base64url.
fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Text ending with a newline, as files should.
fn lines(text: &str) -> Vec<u8> {
    format!("{text}\n").into_bytes()
}

/// The private scalar `d` of a PKCS#8 EC key (RFC 5208 §5 around RFC 5915 §3), which a JWK
/// carries (RFC 7518 §6.2.2.1).
fn ec_private_scalar(pkcs8: &[u8]) -> Option<Vec<u8>> {
    let (0x30, body, _) = der(pkcs8)? else {
        return None;
    };
    let (0x02, _, rest) = der(body)? else {
        return None;
    };
    let (0x30, _, rest) = der(rest)? else {
        return None;
    };
    let (0x04, ec_private_key, _) = der(rest)? else {
        return None;
    };
    let (0x30, sequence, _) = der(ec_private_key)? else {
        return None;
    };
    let (0x02, _, rest) = der(sequence)? else {
        return None;
    };
    let (0x04, d, _) = der(rest)? else {
        return None;
    };
    Some(d.to_vec())
}

/// One DER element: its tag, its contents, and what follows it.
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81 => {
            let (&len, rest) = rest.split_first()?;
            (usize::from(len), rest)
        }
        0x82 => {
            let (&[high, low], rest) = rest.split_at_checked(2)? else {
                return None;
            };
            (usize::from(u16::from_be_bytes([high, low])), rest)
        }
        _ => return None,
    };
    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_elements_of_each_length_form() {
        assert_eq!(
            der(&[0x04, 2, 7, 8, 9]),
            Some((0x04, &[7u8, 8][..], &[9u8][..]))
        );
        let long: Vec<u8> = [0x04, 0x81, 0x80].into_iter().chain([1; 0x80]).collect();
        assert_eq!(der(&long).map(|(_, c, _)| c.len()), Some(0x80));
        assert_eq!(der(&[0x04, 3, 1]), None);
        assert_eq!(der(&[0x04, 0x83, 0, 0, 1]), None);
    }
}
