//! `keycard verify`: the interface scripts rely on, unchanged from the `jwt` example, and keys
//! from a remote JWK Set (`--jwks-url`, `--issuer`).

use clap::{ArgGroup, Args};
use keycard::time::{Duration, OffsetDateTime};
use keycard::{ErrorKind, FixedClock, Validator};
use serde_json::Value;

use crate::failure::{usage, Failure, Outcome, EXIT_STATUS_HELP};
use crate::remote::{self, Fetch, Source};
use crate::{input, keys, output};

/// `keycard verify`.
#[derive(Args)]
#[command(group(
    ArgGroup::new("keys")
        .args(["key", "secret", "jwks_url", "issuer"])
        .required(true)
        .multiple(false)
))]
#[command(group(ArgGroup::new("remote").args(["jwks_url", "issuer"]).multiple(false)))]
#[command(after_help = EXIT_STATUS_HELP)]
pub(crate) struct VerifyArgs {
    /// A JWK, JWK Set or PEM key file (SPKI, PKCS#8, PKCS#1, SEC1).
    #[arg(long, value_name = "FILE")]
    key: Option<String>,
    /// A raw HMAC secret file, used byte for byte (with --alg HS256, HS384 or HS512).
    #[arg(long, value_name = "FILE")]
    secret: Option<String>,
    /// The keys of the JWK Set at this https URL, fetched once.
    #[arg(long, value_name = "URL")]
    jwks_url: Option<String>,
    /// The keys of this issuer, found by discovery (OpenID Connect, RFC 8414); `iss` must then
    /// be this issuer, exactly.
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,
    /// With --jwks-url or --issuer: allow plain http URLs, for local testing only.
    #[arg(long, requires = "remote")]
    allow_http: bool,
    /// With --jwks-url or --issuer: how long each request may take, in seconds.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 10,
        requires = "remote",
        value_parser = clap::value_parser!(u64).range(1..=600)
    )]
    timeout: u64,
    /// Algorithms to accept (needed for PEM keys and keys without `alg`; repeat for several).
    #[arg(long = "alg", value_name = "ALG")]
    algs: Vec<String>,
    /// Audiences to accept (repeat for several).
    #[arg(long = "aud", value_name = "AUD")]
    auds: Vec<String>,
    /// The issuer to require.
    #[arg(long, value_name = "ISS")]
    iss: Option<String>,
    /// The `typ` to require (default: absent or JWT).
    #[arg(long, value_name = "TYP")]
    typ: Option<String>,
    /// Clock skew to tolerate, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    leeway: i64,
    /// Check as of this Unix time instead of now.
    #[arg(long, value_name = "UNIX_SECS")]
    now: Option<i64>,
    /// Accept a token without `exp`.
    #[arg(long)]
    no_exp: bool,
    /// The token, or `-` for standard input (at most 9216 bytes: the 8192 of a token and
    /// whitespace).
    token: String,
}

/// Verifies the token and returns its claims as pretty JSON.
pub(crate) fn run(args: &VerifyArgs) -> Outcome {
    let token = input::token(&args.token)?;
    let algs = keys::parse_algorithms(&args.algs)?;
    let fetch = Fetch {
        allow_http: args.allow_http,
        timeout_secs: args.timeout,
    };
    let (keys, notes) = match (&args.key, &args.secret, &args.jwks_url, &args.issuer) {
        (_, Some(secret), _, _) => (keys::secret_keys(secret, &algs)?, Vec::new()),
        (Some(path), None, _, _) => keys::verification_keys(path, &algs)?,
        (None, None, Some(url), _) => {
            remote::verification_keys(&Source::JwksUrl(url), &algs, &fetch)?
        }
        (None, None, None, Some(issuer)) => {
            if args.iss.as_ref().is_some_and(|iss| iss != issuer) {
                return Err(usage(
                    "--iss and --issuer name different issuers: the token's `iss` must be the \
                     --issuer it was discovered from, so give one of them",
                ));
            }
            remote::verification_keys(&Source::Issuer(issuer), &algs, &fetch)?
        }
        (None, None, None, None) => {
            return Err(usage(
                "give --key FILE, --secret FILE, --jwks-url URL or --issuer URL",
            ))
        }
    };
    let mut builder = Validator::builder_with_keys(keys).leeway(Duration::seconds(args.leeway));
    for aud in &args.auds {
        builder = builder.audience(aud);
    }
    // Discovery: the token's `iss` must be the issuer the keys were discovered from.
    if let Some(iss) = args.iss.as_ref().or(args.issuer.as_ref()) {
        builder = builder.issuer(iss);
    }
    if let Some(typ) = &args.typ {
        builder = builder.token_type(typ);
    }
    if args.no_exp {
        builder = builder.dangerous().allow_missing_expiry();
    }
    if let Some(now) = args.now {
        let now =
            OffsetDateTime::from_unix_timestamp(now).map_err(|e| usage(format!("--now: {e}")))?;
        builder = builder.clock(FixedClock(now));
    }
    // A validator that cannot be built is the command line's to fix (`--leeway` too large: exit
    // 2); only what `verify` says is about the token (exit 1).
    let validator = builder.build()?;
    match validator.verify::<Value>(&token) {
        Ok(claims) => {
            for note in &notes {
                output::note(note);
            }
            Ok(output::json(&claims))
        }
        // One line on failure: what was skipped goes into it, since it may be the cause.
        Err(e) => {
            let hint = flag_hint(&e, args);
            Err(Failure::refused(&e)
                .with_note(hint)
                .with_note(&notes.join("; ")))
        }
    }
}

/// The flag that accepts what was refused, where a flag does; keycard's own messages name its
/// Rust API.
fn flag_hint(e: &keycard::Error, args: &VerifyArgs) -> &'static str {
    match e.kind() {
        ErrorKind::Audience if args.auds.is_empty() => {
            "on the command line, --aud AUD names an audience to accept"
        }
        ErrorKind::TokenType if args.typ.is_none() => {
            "on the command line, --typ TYP names the type to accept"
        }
        ErrorKind::MissingClaim if !args.no_exp && e.to_string().contains("`exp`") => {
            "on the command line, --no-exp accepts a token without one"
        }
        _ => "",
    }
}
