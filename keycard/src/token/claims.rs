//! The claims model (RFC 7519 §4): the [`NumericDate`] time type, the [`Audience`] claim and the
//! built-in [`Claims`] set. The registered claims' types are in `registered`, their strict
//! reading in `reader`.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::{Serialize, Serializer};
use time::OffsetDateTime;

use crate::error::Error;

// The validator names the reader's items by this module's path.
pub(crate) use super::reader::{parse_registered, read_claims, AudienceRef, Registered};

/// A JWT time (RFC 7519 §2 "NumericDate"): seconds since 1970-01-01T00:00:00Z, possibly with a
/// fraction, between the years -9999 and 9999.
///
/// In JSON it is a number. Fractions are kept (to about a microsecond) and compared exactly, not
/// truncated. Strings, booleans, `null`, and numbers outside the range are refused rather than
/// clamped.
///
/// ```
/// use keycard::NumericDate;
///
/// let t = NumericDate::from_unix(1_300_819_380)?;
/// assert_eq!(t.unix_timestamp(), 1_300_819_380);
/// assert_eq!(serde_json::to_string(&t).unwrap(), "1300819380");
/// let half: NumericDate = serde_json::from_str("1300819380.5").unwrap();
/// assert!(half > t);
/// assert!(serde_json::from_str::<NumericDate>("\"1300819380\"").is_err());
/// # Ok::<(), keycard::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NumericDate {
    /// Whole seconds since the epoch, rounded toward negative infinity, and the nanoseconds
    /// past them (below 10^9): ordered as the instants are. Between [`MIN_NANOS`] and
    /// [`MAX_NANOS`]. Integers, so that the validator compares times and the builder writes them
    /// with no calendar arithmetic.
    seconds: i64,
    nanos: u32,
}

/// The largest magnitude accepted: 9999-12-31T23:59:59Z is 253_402_300_799.
const MAX_SECONDS: f64 = 253_402_300_800.0;

/// The first and last instants an [`OffsetDateTime`] holds (the years -9999 and 9999), in
/// nanoseconds since the epoch: the range of every NumericDate and of the validator's clock.
pub(crate) const MIN_NANOS: i128 = time::PrimitiveDateTime::MIN
    .assume_utc()
    .unix_timestamp_nanos();
pub(crate) const MAX_NANOS: i128 = time::PrimitiveDateTime::MAX
    .assume_utc()
    .unix_timestamp_nanos();
const MIN_SECONDS: i64 = time::PrimitiveDateTime::MIN.assume_utc().unix_timestamp();
const LAST_SECOND: i64 = time::PrimitiveDateTime::MAX.assume_utc().unix_timestamp();

const NANOS_PER_SECOND: i128 = 1_000_000_000;

impl NumericDate {
    /// The date `seconds` after the Unix epoch; an error outside the years -9999 to 9999.
    pub fn from_unix(seconds: i64) -> Result<Self, Error> {
        Self::from_whole_seconds(seconds)
            .ok_or_else(|| Error::malformed(format!("NumericDate {seconds} is out of range")))
    }

    /// Whole seconds since the Unix epoch (rounded toward negative infinity).
    pub fn unix_timestamp(self) -> i64 {
        self.seconds
    }

    /// The date as a [`time::OffsetDateTime`] in UTC.
    pub fn to_datetime(self) -> OffsetDateTime {
        // Every constructor checks the range, so the conversion cannot fail.
        OffsetDateTime::from_unix_timestamp_nanos(self.unix_nanos())
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Nanoseconds since the Unix epoch, what the validator compares.
    pub(crate) fn unix_nanos(self) -> i128 {
        i128::from(self.seconds) * NANOS_PER_SECOND + i128::from(self.nanos)
    }

    /// The date `seconds` whole seconds after the epoch; `None` outside the years -9999 to 9999.
    pub(crate) fn from_whole_seconds(seconds: i64) -> Option<Self> {
        (MIN_SECONDS..=LAST_SECOND)
            .contains(&seconds)
            .then_some(NumericDate { seconds, nanos: 0 })
    }

    /// The date `seconds` whole seconds after the epoch, moved to the first or last second of
    /// the range when outside it (for a clock, which is never refused).
    pub(crate) fn from_whole_seconds_clamped(seconds: i64) -> Self {
        NumericDate {
            seconds: seconds.clamp(MIN_SECONDS, LAST_SECOND),
            nanos: 0,
        }
    }

    /// The date `nanos` nanoseconds after the epoch; `None` outside the years -9999 to 9999.
    pub(crate) fn from_nanos(nanos: i128) -> Option<Self> {
        if !(MIN_NANOS..=MAX_NANOS).contains(&nanos) {
            return None;
        }
        Some(NumericDate {
            seconds: i64::try_from(nanos.div_euclid(NANOS_PER_SECOND)).ok()?,
            nanos: u32::try_from(nanos.rem_euclid(NANOS_PER_SECOND)).ok()?,
        })
    }

    /// Its seconds since the epoch, when it is a whole number of them.
    pub(crate) fn whole_seconds(self) -> Option<i64> {
        (self.nanos == 0).then_some(self.seconds)
    }

    /// This date rounded down to a whole second.
    pub(crate) fn floor(self) -> Self {
        NumericDate {
            seconds: self.seconds,
            nanos: 0,
        }
    }

    /// This date rounded up to a whole second; `None` past the last second of the year 9999.
    pub(crate) fn ceil(self) -> Option<Self> {
        if self.nanos == 0 {
            return Some(self);
        }
        Self::from_whole_seconds(self.seconds.checked_add(1)?)
    }

    /// The date `seconds` (with a fraction) after the Unix epoch, to the nanosecond; `None` when
    /// not finite or outside the years -9999 to 9999.
    pub(super) fn from_f64(seconds: f64) -> Option<Self> {
        if !seconds.is_finite() || seconds.abs() >= MAX_SECONDS {
            return None;
        }
        // In range, |seconds * 1e9| < 2.6e20, far inside i128.
        #[allow(clippy::cast_possible_truncation)]
        let nanos = (seconds * 1e9).round() as i128;
        Self::from_nanos(nanos)
    }
}

/// As before the integer representation: `NumericDate(` the instant `)`.
impl fmt::Debug for NumericDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NumericDate")
            .field(&self.to_datetime())
            .finish()
    }
}

impl From<OffsetDateTime> for NumericDate {
    fn from(t: OffsetDateTime) -> Self {
        // `unix_timestamp` rounds toward negative infinity, and the nanoseconds count on from it.
        NumericDate {
            seconds: t.unix_timestamp(),
            nanos: t.nanosecond(),
        }
    }
}

impl From<NumericDate> for OffsetDateTime {
    fn from(t: NumericDate) -> Self {
        t.to_datetime()
    }
}

impl Serialize for NumericDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.nanos == 0 {
            serializer.serialize_i64(self.seconds)
        } else {
            #[allow(clippy::cast_precision_loss)]
            let seconds = self.unix_nanos() as f64 / 1e9;
            serializer.serialize_f64(seconds)
        }
    }
}

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DateVisitor;
        impl Visitor<'_> for DateVisitor {
            type Value = NumericDate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of seconds since 1970 (NumericDate, RFC 7519 §2)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NumericDate, E> {
                NumericDate::from_unix(v).map_err(|_| out_of_range(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NumericDate, E> {
                i64::try_from(v)
                    .map_err(|_| out_of_range(v))
                    .and_then(|v| self.visit_i64(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<NumericDate, E> {
                NumericDate::from_f64(v).ok_or_else(|| out_of_range(v))
            }
        }
        deserializer.deserialize_any(DateVisitor)
    }
}

#[cold]
fn out_of_range<E: de::Error>(v: impl fmt::Display) -> E {
    E::custom(format_args!(
        "NumericDate {v} is outside the years -9999 to 9999"
    ))
}

/// The `aud` claim: one audience or several (RFC 7519 §4.1.3).
///
/// ```
/// use keycard::Audience;
///
/// let one: Audience = serde_json::from_str(r#""api""#).unwrap();
/// let many: Audience = serde_json::from_str(r#"["api","web"]"#).unwrap();
/// assert!(one.contains("api") && many.contains("web") && !one.contains("web"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience, serialized as a string.
    One(String),
    /// Several audiences, serialized as an array.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `audience` is among these (exact, case-sensitive comparison).
    pub fn contains(&self, audience: &str) -> bool {
        self.iter().any(|a| a == audience)
    }

    /// The audiences, one by one.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let slice: &[String] = match self {
            Audience::One(one) => std::slice::from_ref(one),
            Audience::Many(many) => many,
        };
        slice.iter().map(String::as_str)
    }
}

/// The registered claims of RFC 7519 §4.1 plus every other claim, for callers who do not define
/// their own claims type.
///
/// ```
/// use keycard::{Algorithm, Builder, Claims, HmacKey, Validator};
/// use time::Duration;
///
/// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
/// let token = Builder::new()
///     .subject("user-42")
///     .claim("role", "admin")
///     .expires_in(Duration::minutes(5))
///     .sign(&key)?;
/// let claims: Claims = Validator::builder(key).build()?.verify(&token)?;
/// assert_eq!(claims.subject.as_deref(), Some("user-42"));
/// assert_eq!(claims.extra["role"], "admin");
/// # Ok::<(), keycard::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Claims {
    /// `iss`: who issued the token.
    #[serde(rename = "iss", default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// `sub`: whom the token is about.
    #[serde(rename = "sub", default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// `aud`: whom the token is meant for.
    #[serde(rename = "aud", default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Audience>,
    /// `exp`: when the token expires.
    #[serde(rename = "exp", default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<NumericDate>,
    /// `nbf`: when the token becomes valid.
    #[serde(rename = "nbf", default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<NumericDate>,
    /// `iat`: when the token was issued.
    #[serde(rename = "iat", default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<NumericDate>,
    /// `jti`: the token's unique id.
    #[serde(rename = "jti", default, skip_serializing_if = "Option::is_none")]
    pub jwt_id: Option<String>,
    /// `sid`: the session the token belongs to (OpenID Connect Front-Channel Logout §3; the
    /// lifecycle's refresh family).
    #[serde(rename = "sid", default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// `scope`: the space-delimited scopes granted (RFC 9068 §2.2.3, RFC 8693 §4.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `azp`: the client the token was issued to (OpenID Connect Core §2).
    #[serde(rename = "azp", default, skip_serializing_if = "Option::is_none")]
    pub authorized_party: Option<String>,
    /// `auth_time`: when the end-user authenticated (OpenID Connect Core §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<NumericDate>,
    /// `nonce`: the value the client sent in its authentication request (OpenID Connect Core
    /// §2), checked by [`Validator::verify_id_token`](crate::Validator::verify_id_token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Every other claim, by name.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(json: &str) -> Result<NumericDate, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn numeric_date_accepts_integers_and_fractions() {
        assert_eq!(date("0").unwrap().unix_timestamp(), 0);
        assert_eq!(date("-1").unwrap().unix_timestamp(), -1);
        let half = date("1.5").unwrap().to_datetime();
        assert_eq!(half.unix_timestamp_nanos(), 1_500_000_000);
        assert_eq!(date("253402300799").unwrap().to_datetime().year(), 9999);
    }

    #[test]
    fn numeric_date_refuses_other_types_and_huge_values() {
        for bad in [
            "\"1\"",
            "true",
            "null",
            "[1]",
            "{}",
            "1e300",
            "-1e300",
            "253402300800",
            "9223372036854775808",
            "18446744073709551615",
        ] {
            assert!(date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numeric_date_range_and_conversions_match_offset_date_time() {
        let first = time::PrimitiveDateTime::MIN.assume_utc();
        let last = time::PrimitiveDateTime::MAX.assume_utc();
        for t in [first, last, OffsetDateTime::UNIX_EPOCH] {
            let date = NumericDate::from(t);
            assert_eq!(date.to_datetime(), t);
            assert_eq!(date.unix_timestamp(), t.unix_timestamp());
        }
        assert!(NumericDate::from_unix(first.unix_timestamp()).is_ok());
        assert!(NumericDate::from_unix(first.unix_timestamp() - 1).is_err());
        assert!(NumericDate::from_unix(last.unix_timestamp()).is_ok());
        assert!(NumericDate::from_unix(last.unix_timestamp() + 1).is_err());
        assert!(
            NumericDate::from_unix(i64::MIN).is_err() && NumericDate::from_unix(i64::MAX).is_err()
        );
        // Before 1970 with a fraction: seconds round toward negative infinity, as before.
        let t = date("-1.5").unwrap();
        assert_eq!(t.unix_timestamp(), -2);
        assert_eq!(t.to_datetime().unix_timestamp_nanos(), -1_500_000_000);
        assert_eq!(
            format!("{:?}", NumericDate::from_unix(0).unwrap()),
            format!("NumericDate({:?})", OffsetDateTime::UNIX_EPOCH)
        );
        // Order is the order of the instants.
        assert!(date("1.5").unwrap() < date("2").unwrap() && date("-2").unwrap() < t);
        assert!(t < date("-1.4").unwrap() && date("-1.4").unwrap() < date("-1").unwrap());
        // Rounding to whole seconds, toward the past and the future, before 1970 too.
        assert_eq!(t.floor().unix_timestamp(), -2);
        assert_eq!(t.ceil().unwrap().unix_timestamp(), -1);
        assert_eq!(date("7").unwrap().ceil(), date("7").ok());
        let last = NumericDate::from(last);
        assert_eq!(last.floor().unix_timestamp(), 253_402_300_799);
        assert!(last.ceil().is_none());
        for nanos in [MIN_NANOS, -1, 0, 1, 999_999_999, 1_000_000_000, MAX_NANOS] {
            let date = NumericDate::from_nanos(nanos).unwrap();
            assert_eq!(date.unix_nanos(), nanos);
            assert_eq!(date.to_datetime().unix_timestamp_nanos(), nanos);
        }
        assert!(NumericDate::from_nanos(MIN_NANOS - 1).is_none());
        assert!(NumericDate::from_nanos(MAX_NANOS + 1).is_none());
    }

    #[test]
    fn numeric_date_serializes_fractions_as_numbers() {
        let t = date("1.25").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "1.25");
    }
}
