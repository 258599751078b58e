//! Times on the command line: `--exp +30m`, `--nbf 1767225600`, and dates shown to people as
//! `2026-12-02T10:00:00Z (in 14 min)`.

use keycard::time::format_description::well_known::Rfc3339;
use keycard::time::{Duration, OffsetDateTime};

/// A time given absolutely (Unix seconds) or relative to the signing time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum When {
    /// Seconds since 1970-01-01T00:00:00Z.
    At(i64),
    /// This long after the signing time.
    In(Duration),
}

/// Parses `+30m`, `30m`, `+1h30m`, `+2d`, `+90` or `+90s` (relative), or `1767225600` (Unix
/// seconds).
pub(crate) fn parse_when(text: &str) -> Result<When, String> {
    if let Some(relative) = text.strip_prefix('+') {
        return parse_duration(relative).map(When::In);
    }
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(When::At(secs));
    }
    parse_duration(text).map(When::In)
}

/// Parses a duration: numbers each followed by a unit (`s`, `m` or `min`, `h`, `d`, `w`), as in
/// `1h30m`; a number alone is seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "`{text}` is not a duration: write it as +30m, +1h30m, +2d or +90s \
             (units s, m, h, d, w), or give Unix seconds"
        )
    };
    if text.is_empty() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(bad());
        }
        let (number, after) = rest.split_at(digits);
        let number: i64 = number.parse().map_err(|_| bad())?;
        let unit_len = after.len()
            - after
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .len();
        let (unit, after) = after.split_at(unit_len);
        let scale = match unit {
            "" | "s" | "sec" => 1,
            "m" | "min" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            _ => return Err(bad()),
        };
        total = number
            .checked_mul(scale)
            .and_then(|secs| total.checked_add(secs))
            .ok_or_else(bad)?;
        rest = after;
    }
    Ok(Duration::seconds(total))
}

/// A Unix time as an RFC 3339 date, or `None` when it is out of range.
pub(crate) fn date(secs: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

/// How far `secs` lies from `now`: `in 14 min`, `3 h 5 min ago`, `now`.
pub(crate) fn relative(secs: i64, now: i64) -> String {
    let delta = i128::from(secs) - i128::from(now);
    let span = delta.unsigned_abs();
    let text = if span < 60 {
        format!("{span} s")
    } else if span < 3600 {
        format!("{} min", span / 60)
    } else if span < 2 * 86_400 {
        let (hours, minutes) = (span / 3600, span % 3600 / 60);
        if minutes == 0 {
            format!("{hours} h")
        } else {
            format!("{hours} h {minutes} min")
        }
    } else {
        format!("{} days", span / 86_400)
    };
    match delta {
        0 => "now".to_owned(),
        d if d > 0 => format!("in {text}"),
        _ => format!("{text} ago"),
    }
}

/// The current time in whole Unix seconds, or `--now` when given.
pub(crate) fn now_or(now: Option<i64>) -> i64 {
    now.unwrap_or_else(|| OffsetDateTime::now_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_jwt_cli_writes_them() {
        assert_eq!(parse_when("+30m"), Ok(When::In(Duration::minutes(30))));
        assert_eq!(parse_when("30min"), Ok(When::In(Duration::minutes(30))));
        assert_eq!(parse_when("+1h30m"), Ok(When::In(Duration::seconds(5400))));
        assert_eq!(parse_when("+2d"), Ok(When::In(Duration::days(2))));
        assert_eq!(parse_when("+1w"), Ok(When::In(Duration::days(7))));
        assert_eq!(parse_when("+90"), Ok(When::In(Duration::seconds(90))));
        assert_eq!(parse_when("1767225600"), Ok(When::At(1_767_225_600)));
        for bad in [
            "",
            "+",
            "+m",
            "+3x",
            "soon",
            "+1h-5m",
            "+99999999999999999999s",
        ] {
            assert!(parse_when(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn relative_times_say_which_way() {
        assert_eq!(relative(1000, 1000), "now");
        assert_eq!(relative(1042, 1000), "in 42 s");
        assert_eq!(relative(1000 + 14 * 60 + 59, 1000), "in 14 min");
        assert_eq!(relative(1000, 1000 + 3 * 3600 + 5 * 60), "3 h 5 min ago");
        assert_eq!(relative(1000 + 7200, 1000), "in 2 h");
        assert_eq!(relative(1000 + 3 * 86_400, 1000), "in 3 days");
        assert!(relative(i64::MIN, i64::MAX).ends_with(" days ago"));
    }

    #[test]
    fn dates_are_rfc_3339_in_utc() {
        // 2026-12-02T10:00:00Z, counted by hand: 20 789 days after 1970-01-01, plus 10 h.
        assert_eq!(
            date(20_789 * 86_400 + 36_000).as_deref(),
            Some("2026-12-02T10:00:00Z")
        );
        assert_eq!(date(i64::MAX), None);
    }
}
