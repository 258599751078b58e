//! What the tool prints: claims and headers as text for people or as JSON for programs, `note:`
//! lines, and the one `error[KIND]: message` line of a failure. Every subcommand's result leaves
//! through [`finish`].

use std::process::ExitCode;

use serde_json::Value;

use crate::failure::{Failure, Outcome};
use crate::when;

/// The claims that hold NumericDates (RFC 7519 §4.1.4-6, OpenID Connect Core §2).
const TIME_CLAIMS: [&str; 4] = ["exp", "nbf", "iat", "auth_time"];

/// Prints a subcommand's result: its output on standard output and exit status 0, or the
/// failure's one line on standard error and exit status 1.
pub(crate) fn finish(outcome: Outcome) -> ExitCode {
    match outcome {
        Ok(output) => {
            if !output.is_empty() {
                println!("{output}");
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("{}", error_line(&failure));
            ExitCode::FAILURE
        }
    }
}

/// The line printed on standard error: never more than one, whatever the message holds.
pub(crate) fn error_line(failure: &Failure) -> String {
    let message: String = failure
        .message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("error[{}]: {}", failure.kind, message)
}

/// Prints `note: TEXT` on standard error: something the user should know that is not a failure.
pub(crate) fn note(text: &str) {
    eprintln!("note: {text}");
}

/// Pretty JSON.
pub(crate) fn json(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// A JSON object as text for people: one line per member, names aligned, times as dates
/// relative to `now`.
pub(crate) fn members(object: &Value, now: i64) -> String {
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
