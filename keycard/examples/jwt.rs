//! `jwt`: decode, verify and sign JSON Web Tokens from the command line, with keycard.
//!
//! ```text
//! cargo run --example jwt -- decode TOKEN
//! cargo run --example jwt -- verify --key FILE [--alg ALG]... [--aud AUD]... [--iss ISS]
//!     [--typ TYP] [--leeway SECS] [--now UNIX_SECS] [--no-exp] TOKEN
//! cargo run --example jwt -- sign --key FILE --alg ALG [--kid KID] [--typ TYP]
//!     [--expires-in SECS] CLAIMS_JSON
//! ```
//!
//! FILE is a JWK, a JWKS, or a PEM key (SPKI, PKCS#8, PKCS#1, SEC1). TOKEN or CLAIMS_JSON `-`
//! reads standard input. `verify` prints the claims as JSON and exits 0, or prints one line
//! `error[KIND]: message` on standard error and exits 1, where KIND is the stable
//! `ErrorKind::as_str()` name (`expired`, `signature`, `audience`, ...).

use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;

use base64::Engine;
use clap::{Parser, Subcommand};
use keycard::time::{Duration, OffsetDateTime};
use keycard::{Algorithm, Builder, Error, FixedClock, Jwk, KeySet, Signer, Validator, Verifier};
use serde_json::Value;

#[derive(Parser)]
#[command(
    name = "jwt",
    about = "Decode, verify and sign JSON Web Tokens with keycard"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a token's header and claims WITHOUT verifying anything.
    Decode {
        /// The token, or `-` for standard input.
        token: String,
    },
    /// Verify a token and print its claims.
    Verify {
        /// A JWK, JWKS or PEM key file.
        #[arg(long)]
        key: String,
        /// Algorithms to accept (needed for PEM keys; repeat for several).
        #[arg(long = "alg")]
        algs: Vec<String>,
        /// Audiences to accept (repeat for several).
        #[arg(long = "aud")]
        auds: Vec<String>,
        /// The issuer to require.
        #[arg(long)]
        iss: Option<String>,
        /// The `typ` to require (default: absent or JWT).
        #[arg(long)]
        typ: Option<String>,
        /// Clock skew to tolerate, in seconds.
        #[arg(long, default_value_t = 0)]
        leeway: i64,
        /// Check as of this Unix time instead of now.
        #[arg(long)]
        now: Option<i64>,
        /// Accept a token without `exp`.
        #[arg(long)]
        no_exp: bool,
        /// The token, or `-` for standard input.
        token: String,
    },
    /// Sign claims (a JSON object) and print the token.
    Sign {
        /// A JWK or PEM private key file (or a JWK `oct` secret for HMAC).
        #[arg(long)]
        key: String,
        /// The algorithm to sign with.
        #[arg(long)]
        alg: String,
        /// The `kid` to put in the header.
        #[arg(long)]
        kid: Option<String>,
        /// The `typ` to put in the header (default JWT).
        #[arg(long)]
        typ: Option<String>,
        /// Set `exp` this many seconds from now.
        #[arg(long)]
        expires_in: Option<i64>,
        /// The claims JSON, or `-` for standard input.
        claims: String,
    },
}

/// Everything that can go wrong, with the kind printed in `error[KIND]`.
struct Failure {
    kind: &'static str,
    message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure {
            kind: e.kind().as_str(),
            message: e.to_string(),
        }
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        kind: "usage",
        message: message.into(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode { token } => decode(&token),
        Command::Verify {
            key,
            algs,
            auds,
            iss,
            typ,
            leeway,
            now,
            no_exp,
            token,
        } => verify(&key, &algs, &auds, iss, typ, leeway, now, no_exp, &token),
        Command::Sign {
            key,
            alg,
            kid,
            typ,
            expires_in,
            claims,
        } => sign(&key, &alg, kid, typ, expires_in, &claims),
    };
    match result {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("error[{}]: {}", failure.kind, failure.message);
            ExitCode::FAILURE
        }
    }
}

/// Reads an argument, or standard input for `-`.
fn argument(value: &str) -> Result<String, Failure> {
    if value != "-" {
        return Ok(value.to_owned());
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| usage(format!("cannot read standard input: {e}")))?;
    Ok(text.trim().to_owned())
}

fn decode(token: &str) -> Result<String, Failure> {
    let token = argument(token)?;
    // Validate the shape with keycard first, so a broken token gets keycard's own error.
    keycard::unverified::decode_header(&token)?;
    let claims: Value = keycard::unverified::decode_claims(&token)?;
    let header_b64 = token.split('.').next().unwrap_or_default();
    let header_bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|e| usage(e.to_string()))?;
    let header: Value = serde_json::from_slice(&header_bytes).map_err(|e| usage(e.to_string()))?;
    let out = serde_json::json!({
        "UNVERIFIED": "the signature was not checked: do not trust any of this",
        "header": header,
        "claims": claims,
    });
    Ok(pretty(&out))
}

#[allow(clippy::too_many_arguments)]
fn verify(
    key_file: &str,
    algs: &[String],
    auds: &[String],
    iss: Option<String>,
    typ: Option<String>,
    leeway: i64,
    now: Option<i64>,
    no_exp: bool,
    token: &str,
) -> Result<String, Failure> {
    let token = argument(token)?;
    let algs = algs
        .iter()
        .map(|a| a.parse::<Algorithm>())
        .collect::<Result<Vec<_>, _>>()?;
    let keys = load_keys(key_file, &algs)?;
    if keys.is_empty() {
        return Err(usage(format!(
            "{key_file} holds no key usable for verifying"
        )));
    }
    let mut builder = Validator::builder_with_keys(keys).leeway(Duration::seconds(leeway));
    for aud in auds {
        builder = builder.audience(aud);
    }
    if let Some(iss) = iss {
        builder = builder.issuer(iss);
    }
    if let Some(typ) = typ {
        builder = builder.token_type(typ);
    }
    if no_exp {
        builder = builder.dangerous().allow_missing_expiry();
    }
    if let Some(now) = now {
        let now =
            OffsetDateTime::from_unix_timestamp(now).map_err(|e| usage(format!("--now: {e}")))?;
        builder = builder.clock(FixedClock(now));
    }
    let claims: Value = builder.build()?.verify(&token)?;
    Ok(pretty(&claims))
}

fn sign(
    key_file: &str,
    alg: &str,
    kid: Option<String>,
    typ: Option<String>,
    expires_in: Option<i64>,
    claims: &str,
) -> Result<String, Failure> {
    let alg: Algorithm = alg.parse()?;
    let claims: Value = serde_json::from_str(&argument(claims)?)
        .map_err(|e| usage(format!("CLAIMS_JSON is not JSON: {e}")))?;
    let signer = load_signer(key_file, alg)?;
    let mut builder = Builder::new().claims(&claims);
    if let Some(kid) = kid {
        builder = builder.key_id(kid);
    }
    if let Some(typ) = typ {
        builder = builder.token_type(typ);
    }
    builder = match expires_in {
        Some(secs) => builder.expires_in(Duration::seconds(secs)),
        None if claims.get("exp").is_some() => builder,
        None => {
            return Err(usage(
                "give --expires-in SECS or an `exp` claim: keycard does not mint tokens that never expire",
            ))
        }
    };
    Ok(builder.sign(&*signer)?)
}

fn read_file(path: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read {path}: {e}")))
}

/// Public keys from a JWKS, a JWK, or a PEM file (one key per `--alg`).
fn load_keys(path: &str, algs: &[Algorithm]) -> Result<KeySet, Failure> {
    let text = read_file(path)?;
    if !text.trim_start().starts_with('{') {
        if algs.is_empty() {
            return Err(usage(
                "a PEM key needs --alg to say which algorithm it is for",
            ));
        }
        return algs.iter().map(|&alg| pem_verifier(&text, alg)).collect();
    }
    let json: Value =
        serde_json::from_str(&text).map_err(|e| usage(format!("{path} is not JSON: {e}")))?;
    if json.get("keys").is_some() {
        let keys = if algs.is_empty() {
            KeySet::from_jwks(&text)?
        } else {
            KeySet::from_jwks_for(&text, algs)?
        };
        for skipped in keys.skipped() {
            eprintln!("note: {skipped}");
        }
        return Ok(keys);
    }
    let jwk = Jwk::from_json(&text)?;
    jwk_algorithms(&jwk, algs)?
        .into_iter()
        .map(|alg| jwk.to_verifier(alg))
        .collect::<Result<KeySet, Error>>()
        .map_err(Failure::from)
}

/// The algorithms to use a JWK for: those given, else the JWK's own `alg`.
fn jwk_algorithms(jwk: &Jwk, algs: &[Algorithm]) -> Result<Vec<Algorithm>, Failure> {
    if !algs.is_empty() {
        return Ok(algs.to_vec());
    }
    match jwk.algorithm() {
        Some(alg) => Ok(vec![alg.parse()?]),
        None => Err(usage(
            "the JWK has no `alg`: say which algorithm with --alg",
        )),
    }
}

fn pem_verifier(pem: &str, alg: Algorithm) -> Result<Arc<dyn Verifier>, Failure> {
    Ok(Arc::from(keycard::verifier_from_pem(alg, pem)?))
}

fn load_signer(path: &str, alg: Algorithm) -> Result<Box<dyn Signer>, Failure> {
    let text = read_file(path)?;
    if text.trim_start().starts_with('{') {
        return Ok(Jwk::from_json(&text)?.to_signer(alg)?);
    }
    Ok(keycard::signer_from_pem(alg, &text)?)
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
