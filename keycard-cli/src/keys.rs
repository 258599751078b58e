//! Key files: what a file holds, which algorithms its key fits, and messages that name the flag
//! to pass when a key cannot be used as asked.

use std::sync::Arc;

use keycard::{Algorithm, HmacKey, Jwk, KeySet, Signer, Verifier};
use serde_json::Value;

use crate::failure::{key, usage, Failure};
use crate::input;

/// The kinds of key the CLI handles: one per family of algorithms that share a key type.
///
/// [`Family::of`] is the CLI's one table of algorithms; every list of algorithms here and in the
/// subcommands is derived from it, and the matches over `Family` are exhaustive, so a new family
/// does not compile until keygen and the messages handle it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// RS256 to PS512: RSA keys, which keycard reads but ring cannot generate.
    Rsa,
    /// ES256: EC keys on P-256.
    EcP256,
    /// ES384: EC keys on P-384.
    EcP384,
    /// EdDSA: Ed25519 keys.
    Ed25519,
    /// HS256 to HS512: a shared secret, made by keygen as long as the hash's output, the least
    /// RFC 7518 §3.2 allows.
    Hmac {
        /// The length of the secret keygen makes, in bytes.
        secret_len: usize,
    },
}

impl Family {
    /// The family of `alg`, or `None` for an algorithm keycard knows but cannot use (ES512 and
    /// ES256K: ring implements neither).
    pub(crate) fn of(alg: Algorithm) -> Option<Family> {
        match alg {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => Some(Family::Rsa),
            Algorithm::ES256 => Some(Family::EcP256),
            Algorithm::ES384 => Some(Family::EcP384),
            Algorithm::EdDSA => Some(Family::Ed25519),
            Algorithm::HS256 => Some(Family::Hmac { secret_len: 32 }),
            Algorithm::HS384 => Some(Family::Hmac { secret_len: 48 }),
            Algorithm::HS512 => Some(Family::Hmac { secret_len: 64 }),
            Algorithm::ES512 | Algorithm::ES256K => None,
            // `Algorithm` is `#[non_exhaustive]`, so this arm must exist: an algorithm added to
            // the core lands here, unusable, and
            // `tests::every_algorithm_the_core_knows_has_a_family_or_is_unsupported` fails until
            // it has a row above.
            _ => None,
        }
    }

    /// What this kind of key is, for people: `an RSA key`, `an EC P-256 key`.
    fn describe(self) -> &'static str {
        match self {
            Family::Rsa => "an RSA key",
            Family::EcP256 => "an EC P-256 key",
            Family::EcP384 => "an EC P-384 key",
            Family::Ed25519 => "an Ed25519 key",
            Family::Hmac { .. } => "an HMAC secret",
        }
    }
}

/// The algorithms the CLI can use (those with a [`Family`]), in keycard's order.
pub(crate) fn supported() -> Vec<Algorithm> {
    Algorithm::ALL
        .into_iter()
        .filter(|&alg| Family::of(alg).is_some())
        .collect()
}

/// Whether `alg` is an HMAC algorithm, which needs a shared secret.
pub(crate) fn is_hmac(alg: Algorithm) -> bool {
    matches!(Family::of(alg), Some(Family::Hmac { .. }))
}

/// The algorithms a published (public) key can serve: every supported one but the HMAC ones.
pub(crate) fn asymmetric() -> Vec<Algorithm> {
    supported().into_iter().filter(|&a| !is_hmac(a)).collect()
}

/// What a `--key` file holds.
pub(crate) enum KeyFile {
    /// A PEM key, public or private.
    Pem(String),
    /// One JWK.
    Jwk(Jwk),
    /// A JWK Set: its text and its `keys` array as JSON values.
    Jwks(String, Vec<Value>),
}

/// Reads a `--key` file and says what it holds.
pub(crate) fn read_key_file(path: &str) -> Result<KeyFile, Failure> {
    let text = input::text_file(path)?;
    if text.trim_start().starts_with('{') {
        let json: Value =
            serde_json::from_str(&text).map_err(|e| usage(format!("{path} is not JSON: {e}")))?;
        if let Some(keys) = json.get("keys") {
            let keys = keys.as_array().cloned().unwrap_or_default();
            return Ok(KeyFile::Jwks(text, keys));
        }
        return Ok(KeyFile::Jwk(Jwk::from_json(&text)?));
    }
    if text.contains("-----BEGIN ") {
        return Ok(KeyFile::Pem(text));
    }
    Err(usage(format!(
        "{path} is neither a JWK, a JWK Set nor a PEM key (for a raw HMAC secret, use --secret {path})"
    )))
}

/// Parses `--alg` values.
pub(crate) fn parse_algorithms(algs: &[String]) -> Result<Vec<Algorithm>, Failure> {
    Ok(algs
        .iter()
        .map(|a| a.parse::<Algorithm>())
        .collect::<Result<Vec<_>, _>>()?)
}

fn is_private_pem(pem: &str) -> bool {
    pem.contains("PRIVATE KEY-----")
}

/// The algorithms a PEM key can verify.
pub(crate) fn pem_fits(pem: &str) -> Vec<Algorithm> {
    supported()
        .into_iter()
        .filter(|&alg| keycard::pem::verifier(alg, pem).is_ok())
        .collect()
}

/// The algorithms a JWK can verify (only its own `alg`, when it has one).
pub(crate) fn jwk_fits(jwk: &Jwk) -> Vec<Algorithm> {
    supported()
        .into_iter()
        .filter(|&alg| jwk.to_verifier(alg).is_ok())
        .collect()
}

/// What kind of key fits these algorithms, for people: `an RSA key`, `an EC P-256 key`.
fn family(fits: &[Algorithm]) -> &'static str {
    fits.first()
        .and_then(|&alg| Family::of(alg))
        .map_or("a key keycard cannot use", Family::describe)
}

/// `--alg RS256 (or RS384, ...: whichever its issuer signs with)`, the flag that picks among
/// `fits`.
pub(crate) fn alg_flag(fits: &[Algorithm]) -> String {
    match fits {
        [] => String::new(),
        [one] => format!("--alg {one}"),
        [first, rest @ ..] => {
            let rest: Vec<&str> = rest.iter().map(|a| a.as_str()).collect();
            format!(
                "--alg {first} (or {}: whichever the tokens are signed with)",
                rest.join(", ")
            )
        }
    }
}

/// What keycard can use, said when a key fits nothing.
const USABLE: &str = "keycard uses RSA keys of 2048 bits or more, EC keys on P-256 or P-384, \
                      Ed25519 keys and HMAC secrets";

/// The failure for a key that does not fit `alg`: what the key is, and the `--alg` it fits.
fn mismatch(path: &str, alg: Algorithm, err: &keycard::Error, fits: &[Algorithm]) -> Failure {
    if fits.is_empty() {
        return key(format!(
            "{path} cannot be used for {alg}: {err}; it fits no algorithm keycard supports \
             ({USABLE})"
        ));
    }
    key(format!(
        "{path} is {}, not a key for {alg} ({err}): use {}",
        family(fits),
        alg_flag(fits)
    ))
}

/// The hint for a key given without `--alg`.
fn needs_alg(what: &str, path: &str, fits: &[Algorithm]) -> Failure {
    if fits.is_empty() {
        usage(format!(
            "{what}; {path} fits no algorithm keycard supports ({USABLE})"
        ))
    } else {
        usage(format!(
            "{what}: {path} is {}, so pass {}",
            family(fits),
            alg_flag(fits)
        ))
    }
}

/// Verification keys from a `--key` file, and notes about keys of a JWK Set that were skipped.
pub(crate) fn verification_keys(
    path: &str,
    algs: &[Algorithm],
) -> Result<(KeySet, Vec<String>), Failure> {
    match read_key_file(path)? {
        KeyFile::Pem(pem) => {
            if algs.is_empty() {
                return Err(needs_alg(
                    "a PEM key needs --alg to say which algorithm it is for",
                    path,
                    &pem_fits(&pem),
                ));
            }
            let keys = algs
                .iter()
                .map(|&alg| {
                    keycard::pem::verifier(alg, &pem)
                        .map(Arc::<dyn Verifier>::from)
                        .map_err(|e| mismatch(path, alg, &e, &pem_fits(&pem)))
                })
                .collect::<Result<KeySet, Failure>>()?;
            Ok((keys, Vec::new()))
        }
        KeyFile::Jwk(jwk) => {
            let algs = match (algs, jwk.algorithm()) {
                ([], Some(alg)) => vec![alg.parse::<Algorithm>()?],
                ([], None) => {
                    return Err(needs_alg(
                        "the JWK has no `alg`: say which algorithm with --alg",
                        path,
                        &jwk_fits(&jwk),
                    ))
                }
                (algs, _) => algs.to_vec(),
            };
            let keys = algs
                .iter()
                .map(|&alg| {
                    jwk.to_verifier(alg)
                        .map(Arc::<dyn Verifier>::from)
                        .map_err(|e| mismatch(path, alg, &e, &jwk_fits(&jwk)))
                })
                .collect::<Result<KeySet, Failure>>()?;
            Ok((keys, Vec::new()))
        }
        KeyFile::Jwks(text, raw) => {
            let keys = if algs.is_empty() {
                KeySet::from_jwks(&text)?
            } else {
                KeySet::from_jwks_for(&text, algs)?
            };
            let notes = keys
                .skipped()
                .iter()
                .map(|skipped| explain_skipped(skipped, &raw, algs))
                .collect::<Vec<_>>();
            if keys.is_empty() {
                let mut message = format!("{path} holds no key usable for verifying");
                if !notes.is_empty() {
                    message.push_str(": ");
                    message.push_str(&notes.join("; "));
                }
                return Err(usage(message));
            }
            Ok((keys, notes))
        }
    }
}

/// Why a key of a JWK Set was skipped, and the flag that makes it usable when there is one.
fn explain_skipped(
    skipped: &keycard::jwk::SkippedKey,
    raw: &[Value],
    algs: &[Algorithm],
) -> String {
    let mut what = format!("key #{}", skipped.index());
    if let Some(kid) = skipped.key_id() {
        what.push_str(&format!(" (kid `{kid}`)"));
    }
    let Some(object) = raw.get(skipped.index()) else {
        return format!("{what} skipped: {}", skipped.reason());
    };
    // Would keycard take this key, alone, if every algorithm were allowed? Then the algorithm
    // was the only problem, and the fix is an --alg flag.
    let alone = serde_json::json!({ "keys": [object] }).to_string();
    let fits: Vec<Algorithm> = KeySet::from_jwks_for(&alone, &supported())
        .map(|set| set.iter().map(|k| k.algorithm()).collect())
        .unwrap_or_default();
    let missing: Vec<Algorithm> = fits.into_iter().filter(|a| !algs.contains(a)).collect();
    if missing.is_empty() {
        return format!("{what} skipped: {}", skipped.reason());
    }
    let has_alg = object.get("alg").is_some();
    let reason = match (has_alg, algs.is_empty()) {
        (false, true) => "it has no `alg`".to_owned(),
        _ => skipped.reason().to_owned(),
    };
    let verb = if algs.is_empty() { "pass" } else { "add" };
    format!("{what} skipped: {reason}: {verb} {}", alg_flag(&missing))
}

/// A signing key from `--key` (PEM or private JWK) or `--secret` (raw HMAC secret), for `alg`
/// or, without one, for the one algorithm the key says or fits.
pub(crate) fn signing_key(
    key_path: Option<&str>,
    secret_path: Option<&str>,
    alg: Option<Algorithm>,
) -> Result<Box<dyn Signer>, Failure> {
    if let Some(path) = secret_path {
        return Ok(Box::new(hmac_secret(path, alg)?));
    }
    let Some(path) = key_path else {
        return Err(usage("give --key FILE or --secret FILE"));
    };
    match read_key_file(path)? {
        KeyFile::Pem(pem) => {
            if !is_private_pem(&pem) {
                return Err(key(format!(
                    "{path} is a public key: signing needs the private key"
                )));
            }
            let fits = || -> Vec<Algorithm> {
                supported()
                    .into_iter()
                    .filter(|&a| keycard::pem::signer(a, &pem).is_ok())
                    .collect()
            };
            let alg = match alg {
                Some(alg) => alg,
                None => only_fit("a PEM key", path, &fits())?,
            };
            keycard::pem::signer(alg, &pem).map_err(|e| mismatch(path, alg, &e, &fits()))
        }
        KeyFile::Jwk(jwk) => {
            if !jwk.is_private() {
                return Err(key(format!(
                    "{path} is a public JWK (no `d`): signing needs the private key"
                )));
            }
            let fits = || -> Vec<Algorithm> {
                supported()
                    .into_iter()
                    .filter(|&a| jwk.to_signer(a).is_ok())
                    .collect()
            };
            let alg = match (alg, jwk.algorithm()) {
                (Some(alg), _) => alg,
                (None, Some(alg)) => alg.parse()?,
                (None, None) => only_fit("the JWK has no `alg`", path, &fits())?,
            };
            jwk.to_signer(alg)
                .map_err(|e| mismatch(path, alg, &e, &fits()))
        }
        KeyFile::Jwks(..) => Err(usage(format!(
            "{path} is a JWK Set, which holds public keys: sign with a private JWK or PEM key"
        ))),
    }
}

/// The one algorithm a key fits, or the failure that names the `--alg` to pass.
fn only_fit(what: &str, path: &str, fits: &[Algorithm]) -> Result<Algorithm, Failure> {
    match fits {
        [one] => Ok(*one),
        _ => Err(needs_alg(
            &format!("{what}: say which algorithm to sign with, with --alg"),
            path,
            fits,
        )),
    }
}

/// An HMAC key from a raw secret file, used byte for byte.
pub(crate) fn hmac_secret(path: &str, alg: Option<Algorithm>) -> Result<HmacKey, Failure> {
    let secret = input::bytes_file(path)?;
    let hmac: Vec<Algorithm> = supported().into_iter().filter(|&a| is_hmac(a)).collect();
    let Some(alg) = alg else {
        return Err(usage(format!(
            "an HMAC secret needs --alg to say which algorithm it is for: pass {}",
            alg_flag(&hmac)
        )));
    };
    if !is_hmac(alg) {
        return Err(key(format!(
            "--secret is for HS256, HS384 and HS512; {alg} needs a key: use --key FILE"
        )));
    }
    Ok(HmacKey::new(alg, &secret)?)
}

/// Verification keys from a raw secret file, one per `--alg`.
pub(crate) fn secret_keys(path: &str, algs: &[Algorithm]) -> Result<KeySet, Failure> {
    if algs.is_empty() {
        // The failure that names the --alg to pass.
        return Err(hmac_secret(path, None)
            .err()
            .unwrap_or_else(|| usage("--alg is needed")));
    }
    let mut keys = KeySet::new();
    for &alg in algs {
        keys.insert(hmac_secret(path, Some(alg))?);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Algorithm` is `#[non_exhaustive]`, so `Family::of` has a `_` arm and the compiler cannot
    /// flag a new algorithm: this walks every one the core knows, by the JOSE name a user types,
    /// and requires the CLI to use exactly those the core supports.
    #[test]
    fn every_algorithm_the_core_knows_has_a_family_or_is_unsupported() {
        for alg in Algorithm::ALL {
            let parsed: Algorithm = alg.as_str().parse().expect("the core parses its own names");
            assert_eq!(parsed, alg);
            assert_eq!(
                Family::of(alg).is_some(),
                alg.is_supported(),
                "{alg}: give it a row in Family::of (or the core no longer supports it)"
            );
        }
    }

    /// The families agree with the keys keycard builds: keygen's secret length is the shortest
    /// HMAC key keycard accepts, and a generated EC or Ed25519 key fits its algorithm alone.
    #[test]
    fn families_agree_with_the_keys_keycard_builds() {
        for alg in supported() {
            match Family::of(alg) {
                Some(Family::Hmac { secret_len }) => {
                    assert!(HmacKey::new(alg, &vec![7; secret_len]).is_ok(), "{alg}");
                    assert!(
                        HmacKey::new(alg, &vec![7; secret_len - 1]).is_err(),
                        "{alg}"
                    );
                }
                Some(Family::EcP256 | Family::EcP384) => {
                    let key = keycard::EcdsaPrivateKey::generate(alg).expect("ring makes EC keys");
                    assert_eq!(jwk_fits(&key.public_key().to_jwk()), [alg]);
                }
                Some(Family::Ed25519) => {
                    let key = keycard::Ed25519PrivateKey::generate().expect("ring makes Ed25519");
                    assert_eq!(jwk_fits(&key.public_key().to_jwk()), [alg]);
                }
                Some(Family::Rsa) => {}
                None => panic!("{alg}: supported() holds only algorithms with a family"),
            }
        }
        assert_eq!(family(&[Algorithm::PS384]), "an RSA key");
        assert_eq!(family(&[Algorithm::ES512]), "a key keycard cannot use");
        assert!(asymmetric().iter().all(|&a| !is_hmac(a)));
        assert_eq!(asymmetric().len() + 3, supported().len());
    }
}
