//! What is stored where, and in which form: the key names with their hash tags, and the text
//! forms of times (milliseconds for TTLs, 20-digit nanoseconds for subject cutoffs).

use keycard::time::OffsetDateTime;

/// The key names, under one prefix. Every key but the feed carries its id in a `{...}` hash
/// tag, so that a session's family and its revocation share a Redis Cluster slot.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    pub(crate) prefix: String,
}

impl Keys {
    pub(crate) fn family(&self, sid: &str) -> String {
        format!("{}:fam:{{{sid}}}", self.prefix)
    }
    pub(crate) fn session(&self, sid: &str) -> String {
        format!("{}:rs:{{{sid}}}", self.prefix)
    }
    pub(crate) fn token(&self, jti: &str) -> String {
        format!("{}:rt:{{{jti}}}", self.prefix)
    }
    pub(crate) fn subject(&self, sub: &str) -> String {
        format!("{}:rc:{{{sub}}}", self.prefix)
    }
    pub(crate) fn feed(&self) -> String {
        format!("{}:feed", self.prefix)
    }
    /// The id inside a revocation key, and its kind, for the snapshot.
    pub(crate) fn parse(&self, key: &str) -> Option<(u8, String)> {
        let rest = key.strip_prefix(self.prefix.as_str())?.strip_prefix(':')?;
        let (kind, id) = rest.split_once(':')?;
        let id = id.strip_prefix('{')?.strip_suffix('}')?;
        let kind = match kind {
            "rt" => b't',
            "rs" => b's',
            "rc" => b'c',
            _ => return None,
        };
        Some((kind, id.to_owned()))
    }
    pub(crate) fn revocation_pattern(&self) -> String {
        format!("{}:r[tsc]:*", self.prefix)
    }
}

/// Milliseconds since the epoch, at least 1 (`PXAT` refuses 0 and negatives).
pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
        .max(1)
}

/// A cutoff as 20 digits of nanoseconds since the epoch (comparable as strings in Lua).
pub(crate) fn cutoff_digits(t: OffsetDateTime) -> String {
    format!("{:020}", t.unix_timestamp_nanos().max(0))
}

/// A stored subject cutoff, `<cutoff digits> <until ms>`, read back; `None` when it is not one.
pub(crate) fn parse_cutoff(value: &str) -> Option<(OffsetDateTime, i64)> {
    let (c, u) = value.split_once(' ')?;
    let nanos: i128 = c.parse().ok()?;
    let until: i64 = u.parse().ok()?;
    Some((
        OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?,
        until,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_round_trip_through_their_stored_form() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_795_824_000_999_999_999).unwrap();
        let stored = format!("{} {}", cutoff_digits(t), 1_795_824_300_000_i64);
        assert_eq!(stored.len(), 20 + 1 + 13);
        assert_eq!(parse_cutoff(&stored), Some((t, 1_795_824_300_000)));
        assert_eq!(parse_cutoff("garbage"), None);
        assert_eq!(parse_cutoff("1 x"), None);
    }

    #[test]
    fn revocation_keys_parse_back_to_their_kind_and_id() {
        let keys = Keys {
            prefix: "keycard".to_owned(),
        };
        assert_eq!(keys.parse(&keys.token("j")), Some((b't', "j".to_owned())));
        assert_eq!(keys.parse(&keys.session("s")), Some((b's', "s".to_owned())));
        assert_eq!(keys.parse(&keys.subject("u")), Some((b'c', "u".to_owned())));
        assert_eq!(keys.parse(&keys.family("s")), None);
        assert_eq!(keys.parse("other:rt:{j}"), None);
    }
}
