//! `keycard decode`: a token's header and claims, UNVERIFIED, with times shown as dates.

use clap::Args;
use serde_json::Value;

use crate::failure::{Failure, Outcome};
use crate::{input, output, when};

/// `keycard decode`.
#[derive(Args)]
pub(crate) struct DecodeArgs {
    /// Print plain JSON, `{"UNVERIFIED": ..., "header": {...}, "claims": {...}}`, for programs.
    #[arg(long)]
    json: bool,
    /// Show times relative to this Unix time instead of now.
    #[arg(long, value_name = "UNIX_SECS")]
    now: Option<i64>,
    /// The token, or `-` for standard input (at most 9216 bytes: the 8192 of a token and
    /// whitespace).
    token: String,
}

/// The warning every decode output starts with.
const UNVERIFIED: &str = "the signature was not checked: do not trust any of this";

/// Decodes the token without verifying it.
pub(crate) fn run(args: &DecodeArgs) -> Outcome {
    let token = input::token(&args.token)?;
    // Validate the shape with keycard first, so a broken token gets keycard's own error; a token
    // that cannot be read is refused (exit 1), as verify refuses it.
    let refused = |e: keycard::Error| Failure::refused(&e);
    keycard::unverified::decode_header(&token).map_err(refused)?;
    let claims: Value = keycard::unverified::decode_claims(&token).map_err(refused)?;
    let header = input::header_json(&token)?;
    if args.json {
        let out = serde_json::json!({
            "UNVERIFIED": UNVERIFIED,
            "header": header,
            "claims": claims,
        });
        return Ok(output::json(&out));
    }
    let now = when::now_or(args.now);
    let mut out = format!("UNVERIFIED: {UNVERIFIED}.\n\nheader\n");
    out.push_str(&output::members(&header, now));
    out.push_str("\nclaims\n");
    out.push_str(&output::members(&claims, now));
    Ok(out.trim_end().to_owned())
}
