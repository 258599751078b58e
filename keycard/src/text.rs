//! Text copied from untrusted input into errors, logs and terminals: the one escaping policy of
//! the workspace.
//!
//! A token, a JWK Set or a provider's discovery document is written by someone else. When a value
//! from one of them is shown (in an [`Error`](crate::Error) message, a `tracing` event, the CLI's
//! output), it goes through [`escape`] first, so that it cannot end a log line, move the cursor,
//! recolour a terminal or reorder the text around it. Every keycard crate uses this function for
//! that; none has a sanitiser of its own.

use std::fmt::Write as _;

pub(crate) use crate::limits::MAX_ECHO;

/// Whether `c` is written as an escape rather than as itself: the C0 and C1 controls and DEL,
/// and the Unicode format characters that reorder, join or hide text (the Arabic letter mark
/// U+061C, the Mongolian vowel separator U+180E, U+200B to U+200F, U+2028 to U+202E, U+2060 to
/// U+2069, U+FEFF) — the characters behind log forging, terminal escape sequences and
/// "Trojan Source" bidirectional overrides (CVE-2021-42574).
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// `value` with every [`needs_escape`] character written as a Rust escape (`\n`, `\u{1b}`,
/// `\u{202e}`), at most `max` bytes of it (cut at a character or escape boundary), followed by `…`
/// when it was cut. Pass `usize::MAX` to escape without cutting.
///
/// The result never holds a control character, a line break or a bidirectional control, so it
/// cannot forge a log line or write to a terminal. Backslashes are left as they are: escaping
/// twice changes nothing, and ordinary text (paths, regexes) reads as it was.
///
/// ```
/// use keycard::text::escape;
///
/// assert_eq!(escape("user-42", 64), "user-42");
/// assert_eq!(escape("a\r\nINFO forged line", 64), r"a\r\nINFO forged line");
/// assert_eq!(escape("\u{1b}[31mred", 64), r"\u{1b}[31mred");
/// assert_eq!(escape("evil\u{202e}txt", 64), r"evil\u{202e}txt");
/// assert_eq!(escape("abcdef", 3), "abc…");
/// ```
#[cold]
pub fn escape(value: &str, max: usize) -> String {
    let mut out = String::with_capacity(value.len().min(max).saturating_add('…'.len_utf8()));
    for c in value.chars() {
        let before = out.len();
        if needs_escape(c) {
            let _ = write!(out, "{}", c.escape_debug());
        } else {
            out.push(c);
        }
        if out.len() > max {
            out.truncate(before);
            out.push('…');
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_and_format_character_is_escaped() {
        for c in [
            '\0', '\n', '\r', '\t', '\u{7f}', '\u{9b}', '\u{61c}', '\u{180e}', '\u{200b}',
            '\u{200f}', '\u{2028}', '\u{202e}', '\u{2066}', '\u{feff}',
        ] {
            let out = escape(&format!("a{c}b"), usize::MAX);
            assert!(!out.contains(c), "{c:?} left raw in {out:?}");
            assert!(out.starts_with('a') && out.ends_with('b'));
        }
    }

    #[test]
    fn cuts_at_an_escape_boundary() {
        assert_eq!(escape("ab\ncd", 3), "ab…");
        assert_eq!(escape("ab\ncd", 4), r"ab\n…");
        assert_eq!(escape("héllo", 2), "h…");
    }

    #[test]
    fn escaping_twice_changes_nothing() {
        let once = escape("x\u{1b}y\\n", usize::MAX);
        assert_eq!(escape(&once, usize::MAX), once);
    }
}
