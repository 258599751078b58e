//! `keycard decode`: a token's header and claims, UNVERIFIED, with times shown as dates.

use base64::Engine;
use clap::Args;
use serde_json::Value;

use crate::failure::Failure;
use crate::{input, when, Outcome};

/// `keycard decode`.
#[derive(Args)]
pub(crate) struct DecodeArgs {
    /// Print plain JSON, `{"UNVERIFIED": ..., "header": {...}, "claims": {...}}`, for programs.
    #[arg(long)]
    json: bool,
    /// Show times relative to this Unix time instead of now.
    #[arg(long, value_name = "UNIX_SECS")]
    now: Option<i64>,
    /// The token, or `-` for standard input.
    token: String,
}

/// The warning every decode output starts with.
const UNVERIFIED: &str = "the signature was not checked: do not trust any of this";

/// The claims that hold NumericDates (RFC 7519 §4.1.4-6, OpenID Connect Core §2).
const TIME_CLAIMS: [&str; 4] = ["exp", "nbf", "iat", "auth_time"];

/// Decodes the token without verifying it.
pub(crate) fn run(args: &DecodeArgs) -> Outcome {
    let token = input::token(&args.token)?;
    // Validate the shape with keycard first, so a broken token gets keycard's own error.
    keycard::unverified::decode_header(&token)?;
    let claims: Value = keycard::unverified::decode_claims(&token)?;
    let header = header_json(&token)?;
    if args.json {
        let out = serde_json::json!({
            "UNVERIFIED": UNVERIFIED,
            "header": header,
            "claims": claims,
        });
        return Ok(pretty(&out));
    }
    let now = when::now_or(args.now);
    let mut out = format!("UNVERIFIED: {UNVERIFIED}.\n\nheader\n");
    out.push_str(&members(&header, now));
    out.push_str("\nclaims\n");
    out.push_str(&members(&claims, now));
    Ok(out.trim_end().to_owned())
}

/// The header as the JSON object it is (keycard's `Header` keeps only what it uses).
fn header_json(token: &str) -> Result<Value, Failure> {
    let header_b64 = token.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|e| Failure::new("malformed", format!("malformed token: header: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Failure::new("malformed", format!("malformed token: header: {e}")))
}

/// One line per member, names aligned, times as dates.
fn members(object: &Value, now: i64) -> String {
    let Some(map) = object.as_object() else {
        // Claims that are JSON but not an object: shown as they are.
        return format!("  {}\n", printable(&object.to_string()));
    };
    if map.is_empty() {
        return "  (none)\n".to_owned();
    }
    let names: Vec<String> = map.keys().map(|name| printable(name)).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for ((name, value), shown) in map.iter().zip(&names) {
        let value = if TIME_CLAIMS.contains(&name.as_str()) {
            time_value(name, value, now)
        } else {
            printable(&value.to_string())
        };
        let pad = width - shown.chars().count();
        out.push_str(&format!("  {shown}{}  {value}\n", " ".repeat(pad)));
    }
    out
}

/// `2026-12-02T10:00:00Z (in 14 min)`, with what it means for the token when it matters.
fn time_value(name: &str, value: &Value, now: i64) -> String {
    let secs = match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 1e17)
                .map(|f| {
                    // NumericDates may have fractions (RFC 7519 §2): whole seconds are shown.
                    #[allow(clippy::cast_possible_truncation)]
                    let whole = f.floor() as i64;
                    whole
                })
        }),
        _ => None,
    };
    let Some((secs, date)) = secs.and_then(|s| when::date(s).map(|d| (s, d))) else {
        return format!("{} (not a NumericDate)", printable(&value.to_string()));
    };
    let relative = when::relative(secs, now);
    let verdict = match name {
        "exp" if secs <= now => ", expired",
        "nbf" if secs > now => ", not yet valid",
        "iat" | "auth_time" if secs > now => ", in the future",
        _ => "",
    };
    format!("{date} ({relative}{verdict})")
}

/// Text from a token, made safe for a terminal: control characters and bidirectional overrides
/// are shown as `\u{..}` escapes instead of being interpreted.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi {
                format!("\\u{{{:x}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The failure for a JWE: what it is, and what keycard does instead.
pub(crate) fn jwe_failure(token: &str) -> Failure {
    let header = header_json(token).ok();
    let member = |name: &str| -> String {
        header
            .as_ref()
            .and_then(|h| h.get(name))
            .and_then(Value::as_str)
            .map(|s| {
                format!(
                    ", {name} `{}`",
                    printable(&s.chars().take(40).collect::<String>())
                )
            })
            .unwrap_or_default()
    };
    Failure::new(
        "malformed",
        format!(
            "this is a JWE, an encrypted token (5 parts{}{}), not a signed JWT: keycard reads \
             and verifies JWS tokens (3 parts) only; decrypt it with the recipient's key first",
            member("alg"),
            member("enc")
        ),
    )
}

/// Pretty JSON.
pub(crate) fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_from_a_token_are_escaped() {
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(printable("evil\u{202E}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(printable("plain ünïcode"), "plain ünïcode");
    }

    #[test]
    fn time_claims_are_dates_with_their_meaning() {
        // 2026-12-02T10:00:00Z = 20 789 days after the epoch plus 10 h; now is 14 min 10 s before.
        let exp = 20_789 * 86_400 + 36_000;
        let now = exp - 850;
        assert_eq!(
            time_value("exp", &Value::from(exp), now),
            "2026-12-02T10:00:00Z (in 14 min)"
        );
        assert_eq!(
            time_value("exp", &Value::from(exp), exp + 60),
            "2026-12-02T10:00:00Z (1 min ago, expired)"
        );
        assert_eq!(
            time_value("nbf", &Value::from(exp), now),
            "2026-12-02T10:00:00Z (in 14 min, not yet valid)"
        );
        assert_eq!(
            time_value("iat", &Value::from(exp as f64 + 0.5), exp),
            "2026-12-02T10:00:00Z (now)"
        );
        assert_eq!(
            time_value("exp", &Value::from("tomorrow"), now),
            "\"tomorrow\" (not a NumericDate)"
        );
    }
}
