//! `keycard verify`: the interface scripts rely on, unchanged from the `jwt` example.

use clap::Args;
use keycard::time::{Duration, OffsetDateTime};
use keycard::{ErrorKind, FixedClock, Validator};
use serde_json::Value;

use crate::failure::{usage, Failure};
use crate::{input, keys, Outcome};

/// `keycard verify`.
#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// A JWK, JWK Set or PEM key file (SPKI, PKCS#8, PKCS#1, SEC1).
    #[arg(long, value_name = "FILE", required_unless_present = "secret")]
    key: Option<String>,
    /// A raw HMAC secret file, used byte for byte (with --alg HS256, HS384 or HS512).
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    secret: Option<String>,
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
    /// The token, or `-` for standard input.
    token: String,
}

/// Verifies the token and returns its claims as pretty JSON.
pub(crate) fn run(args: &VerifyArgs) -> Outcome {
    let token = input::token(&args.token)?;
    let algs = keys::parse_algorithms(&args.algs)?;
    let (keys, notes) = match (&args.key, &args.secret) {
        (_, Some(secret)) => (keys::secret_keys(secret, &algs)?, Vec::new()),
        (Some(path), None) => keys::verification_keys(path, &algs)?,
        (None, None) => return Err(usage("give --key FILE or --secret FILE")),
    };
    let mut builder = Validator::builder_with_keys(keys).leeway(Duration::seconds(args.leeway));
    for aud in &args.auds {
        builder = builder.audience(aud);
    }
    if let Some(iss) = &args.iss {
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
    let verified = builder
        .build()
        .and_then(|validator| validator.verify::<Value>(&token));
    match verified {
        Ok(claims) => {
            for note in &notes {
                eprintln!("note: {note}");
            }
            Ok(crate::decode::pretty(&claims))
        }
        // One line on failure: what was skipped goes into it, since it may be the cause.
        Err(e) => {
            let hint = flag_hint(&e, args);
            Err(Failure::from(e)
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
