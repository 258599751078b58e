//! What the tool prints: claims and headers as text for people or as JSON for programs, `note:`
//! lines, and the one `error[KIND]: message` line of a failure. Every subcommand's result leaves
//! through [`finish`].
//!
//! Tokens, key files and identity providers are written by someone else. Whatever of theirs is
//! printed goes through keycard's one escaping policy, `keycard::text` (C0 and C1 controls, DEL,
//! and the format characters that reorder or hide text), so that no output can move the cursor,
//! recolour the terminal, forge a line or reorder what is around it: `keycard::text::escape` for
//! text, and the same characters as `\uXXXX` escapes inside JSON strings, so JSON stays JSON.

use std::fmt::Write as _;
use std::process::ExitCode;

use keycard::text::{escape, needs_escape};
use serde_json::Value;

use crate::failure::{Failure, Outcome};
use crate::when;

/// The claims that hold NumericDates (RFC 7519 §4.1.4-6, OpenID Connect Core §2).
const TIME_CLAIMS: [&str; 4] = ["exp", "nbf", "iat", "auth_time"];

/// Prints a subcommand's result: its output on standard output and exit status 0, or the
/// failure's one line on standard error and its exit status (1 for a refused token, 2 for the
/// command line or its files, 3 for a failing service: [`crate::failure::Status`]).
pub(crate) fn finish(outcome: Outcome) -> ExitCode {
    match outcome {
        Ok(output) => {
            if !output.is_empty() {
                // The last guard: a subcommand builds its output from escaped parts; anything
                // left raw (a path from the command line in keygen's report) is escaped here.
                // Line breaks between lines are the output's own.
                let lines: Vec<String> = output
                    .split('\n')
                    .map(|line| escape(line, usize::MAX))
                    .collect();
                println!("{}", lines.join("\n"));
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("{}", error_line(&failure));
            ExitCode::from(failure.status.code())
        }
    }
}

/// The line printed on standard error: never more than one, whatever the message holds (a line
/// break in it is written `\n`).
pub(crate) fn error_line(failure: &Failure) -> String {
    format!(
        "error[{}]: {}",
        failure.kind,
        escape(&failure.message, usize::MAX)
    )
}

/// Prints `note: TEXT` on standard error, on one line: something the user should know that is
/// not a failure.
pub(crate) fn note(text: &str) {
    eprintln!("note: {}", escape(text, usize::MAX));
}

/// Pretty JSON, safe for a terminal.
pub(crate) fn json(value: &Value) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    escape_json_strings(&text)
}

/// Compact JSON (one value on a line of text), safe for a terminal.
fn json_compact(value: &Value) -> String {
    escape_json_strings(&value.to_string())
}

/// JSON text with every [`needs_escape`] character inside a string written as a `\uXXXX`
/// escape (RFC 8259 §7), so the text still parses to the same value. serde_json escapes only
/// what JSON requires (`"`, `\\`, U+0000 to U+001F), leaving DEL, the C1 controls and the
/// bidirectional and invisible format characters raw; outside strings JSON text is ASCII.
fn escape_json_strings(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 16);
    let (mut in_string, mut after_backslash) = (false, false);
    for c in json.chars() {
        if !in_string {
            in_string = c == '"';
        } else if after_backslash {
            after_backslash = false;
        } else if c == '\\' {
            after_backslash = true;
        } else if c == '"' {
            in_string = false;
        } else if needs_escape(c) {
            for unit in c.encode_utf16(&mut [0; 2]) {
                let _ = write!(out, "\\u{unit:04x}");
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// A JSON object as text for people: one line per member, names aligned, times as dates
/// relative to `now`.
pub(crate) fn members(object: &Value, now: i64) -> String {
    let Some(map) = object.as_object() else {
        // Claims that are JSON but not an object: shown as they are.
        return format!("  {}\n", json_compact(object));
    };
    if map.is_empty() {
        return "  (none)\n".to_owned();
    }
    let names: Vec<String> = map.keys().map(|name| escape(name, usize::MAX)).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for ((name, value), shown) in map.iter().zip(&names) {
        let value = if TIME_CLAIMS.contains(&name.as_str()) {
            time_value(name, value, now)
        } else {
            json_compact(value)
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
        return format!("{} (not a NumericDate)", json_compact(value));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character keycard::text escapes, and text around them.
    const DANGEROUS: &str = "\u{1b}[2J\r\n\u{7f}\u{9b}31m\u{202e}\u{200b}\u{2028}\u{feff}\u{61c}";

    #[test]
    fn json_strings_escape_terminal_controls_and_stay_json() {
        let value = serde_json::json!({ DANGEROUS: [DANGEROUS, 1, "plain ünïcode \\ \"q\""] });
        for text in [json(&value), json_compact(&value)] {
            let lines: Vec<&str> = text.split('\n').collect();
            assert!(
                !lines.iter().any(|l| l.chars().any(needs_escape)),
                "{text:?}"
            );
            assert_eq!(
                serde_json::from_str::<Value>(&text).unwrap(),
                value,
                "{text}"
            );
            assert!(text.contains(r"\u001b[2J\r\n\u007f\u009b31m\u202e\u200b\u2028\ufeff\u061c"));
            assert!(text.contains(r#"plain ünïcode \\ \"q\""#), "{text}");
        }
        // Only inside strings: pretty JSON keeps its own line breaks.
        assert_eq!(json(&serde_json::json!([1])), "[\n  1\n]");
    }

    #[test]
    fn member_names_and_values_from_a_token_are_escaped() {
        let object = serde_json::json!({ "evil\u{202e}": "a\u{1b}]0;x\u{7}", "n": 1 });
        let text = members(&object, 0);
        assert_eq!(
            text,
            "  evil\\u{202e}  \"a\\u001b]0;x\\u0007\"\n  n             1\n"
        );
    }

    #[test]
    fn the_error_line_is_one_line() {
        let failure = Failure::new(keycard::ErrorKind::Issuer, format!("`{DANGEROUS}`"));
        let line = error_line(&failure);
        assert!(!line.chars().any(needs_escape), "{line:?}");
        assert_eq!(line, escape(&line, usize::MAX), "escaped once");
        assert!(
            line.starts_with(r"error[issuer]: `\u{1b}[2J\r\n\u{7f}"),
            "{line}"
        );
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
