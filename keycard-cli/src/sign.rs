//! `keycard sign`: claims from JSON, a file, `-c name=value` and flags, signed with a PEM key, a
//! private JWK or a raw HMAC secret.

use clap::Args;
use keycard::time::{Duration, OffsetDateTime};
use keycard::{Algorithm, Builder, FixedClock};
use serde_json::{Map, Value};

use crate::failure::{usage, Failure, Outcome};
use crate::when::{self, When};
use crate::{input, keys, output};

/// `keycard sign`.
#[derive(Args)]
pub(crate) struct SignArgs {
    /// A private key: PEM (PKCS#8, PKCS#1, SEC1) or JWK (`kty: oct` for HMAC).
    #[arg(long, value_name = "FILE", required_unless_present = "secret")]
    key: Option<String>,
    /// A raw HMAC secret file, used byte for byte (with --alg HS256, HS384 or HS512).
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    secret: Option<String>,
    /// The algorithm to sign with (default: the JWK's `alg`, or the one the key fits).
    #[arg(long, value_name = "ALG")]
    alg: Option<String>,
    /// The `kid` to put in the header (default: the JWK's `kid`).
    #[arg(long, value_name = "KID")]
    kid: Option<String>,
    /// The `typ` to put in the header (default JWT).
    #[arg(long, value_name = "TYP")]
    typ: Option<String>,
    /// Set `exp`: `+30m`, `+1h30m`, `+2d` from now, or Unix seconds.
    #[arg(
        long,
        value_name = "WHEN",
        conflicts_with = "expires_in",
        allow_hyphen_values = false
    )]
    exp: Option<String>,
    /// Set `exp` this many seconds from now.
    #[arg(long, value_name = "SECS")]
    expires_in: Option<i64>,
    /// Set `nbf`: `+5m` from now, or Unix seconds.
    #[arg(long, value_name = "WHEN")]
    nbf: Option<String>,
    /// Set `iss`.
    #[arg(long, value_name = "ISS")]
    iss: Option<String>,
    /// Set `sub`.
    #[arg(long, value_name = "SUB")]
    sub: Option<String>,
    /// Set `aud` (repeat for several: an array).
    #[arg(long = "aud", value_name = "AUD")]
    auds: Vec<String>,
    /// Set `jti`.
    #[arg(long, value_name = "JTI", conflicts_with = "random_jti")]
    jti: Option<String>,
    /// Set `jti` to 128 random bits.
    #[arg(long)]
    random_jti: bool,
    /// Set a claim: the value as JSON where it parses (`n=5`, `admin=true`, `roles=["a"]`), a
    /// string otherwise (`name=alice`). Repeat for several.
    #[arg(
        short = 'c',
        long = "claim",
        value_name = "NAME=VALUE",
        visible_short_alias = 'P',
        visible_alias = "payload"
    )]
    claims_kv: Vec<String>,
    /// Sign as of this Unix time instead of now (`iat`, and relative `--exp` and `--nbf`).
    #[arg(long, value_name = "UNIX_SECS")]
    now: Option<i64>,
    /// The claims: a JSON object, `@FILE` to read one from a file, or `-` for standard input
    /// (either at most 1 MiB). `-c` and the claim flags are added to it, and win over it.
    #[arg(value_name = "CLAIMS")]
    claims: Option<String>,
}

/// Signs the claims and returns the token.
pub(crate) fn run(args: &SignArgs) -> Outcome {
    let alg: Option<Algorithm> = args.alg.as_deref().map(str::parse).transpose()?;
    let mut claims = base_claims(args.claims.as_deref())?;
    for pair in &args.claims_kv {
        let (name, value) = pair
            .split_once('=')
            .filter(|(name, _)| !name.is_empty())
            .ok_or_else(|| usage(format!("-c `{pair}`: write it as NAME=VALUE")))?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::from(value));
        claims.insert(name.to_owned(), value);
    }
    for (name, value) in [("iss", &args.iss), ("sub", &args.sub), ("jti", &args.jti)] {
        if let Some(value) = value {
            claims.insert(name.to_owned(), Value::from(value.as_str()));
        }
    }
    match args.auds.as_slice() {
        [] => {}
        [one] => {
            claims.insert("aud".to_owned(), Value::from(one.as_str()));
        }
        many => {
            claims.insert("aud".to_owned(), Value::from(many.to_vec()));
        }
    }

    let now = when::now_or(args.now);
    let now = OffsetDateTime::from_unix_timestamp(now).map_err(|e| usage(format!("--now: {e}")))?;
    let mut builder = Builder::new().clock(FixedClock(now)).claims(&claims);
    if args.random_jti {
        builder = builder.random_jwt_id();
    }
    if let Some(kid) = &args.kid {
        builder = builder.key_id(kid);
    }
    if let Some(typ) = &args.typ {
        builder = builder.token_type(typ);
    }
    let exp = match (&args.exp, args.expires_in) {
        (Some(text), _) => Some(at("--exp", text, now)?),
        (None, Some(secs)) => Some(now + Duration::seconds(secs)),
        (None, None) => None,
    };
    builder = match exp {
        Some(exp) => builder.expires_at(exp),
        None if claims.contains_key("exp") => builder,
        None => {
            return Err(usage(
                "give --exp +30m (or --expires-in SECS, or an `exp` claim): keycard does not \
                 mint tokens that never expire",
            ))
        }
    };
    if let Some(text) = &args.nbf {
        builder = builder.not_before(at("--nbf", text, now)?);
    }
    let signer = keys::signing_key(args.key.as_deref(), args.secret.as_deref(), alg)?;
    if let Some(path) = &args.secret {
        if input::bytes_file(path).is_ok_and(|s| s.ends_with(b"\n")) {
            output::note(&format!(
                "{path} ends with a newline, which is part of the secret (write secrets with \
                 printf, not echo)"
            ));
        }
    }
    Ok(builder.sign(&*signer)?)
}

/// The CLAIMS argument as a JSON object; `{}` when there is none.
fn base_claims(arg: Option<&str>) -> Result<Map<String, Value>, Failure> {
    let Some(arg) = arg else {
        return Ok(Map::new());
    };
    let (text, what) = match arg.strip_prefix('@') {
        Some(path) => (input::text_file(path)?, path.to_owned()),
        None => (input::argument(arg)?, "CLAIMS".to_owned()),
    };
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(usage(format!("{what} is not a JSON object"))),
        Err(e) => Err(usage(format!("{what} is not JSON: {e}"))),
    }
}

/// A `--exp` or `--nbf` value as a time.
fn at(flag: &str, text: &str, now: OffsetDateTime) -> Result<OffsetDateTime, Failure> {
    let time = match when::parse_when(text).map_err(|e| usage(format!("{flag}: {e}")))? {
        When::At(secs) => OffsetDateTime::from_unix_timestamp(secs).ok(),
        When::In(duration) => now.checked_add(duration),
    };
    time.ok_or_else(|| usage(format!("{flag} `{text}` is out of range")))
}
