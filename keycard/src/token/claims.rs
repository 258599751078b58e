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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NumericDate(OffsetDateTime);

/// The largest magnitude accepted: 9999-12-31T23:59:59Z is 253_402_300_799.
const MAX_SECONDS: f64 = 253_402_300_800.0;

impl NumericDate {
    /// The date `seconds` after the Unix epoch; an error outside the years -9999 to 9999.
    pub fn from_unix(seconds: i64) -> Result<Self, Error> {
        OffsetDateTime::from_unix_timestamp(seconds)
            .map(NumericDate)
            .map_err(|_| Error::malformed(format!("NumericDate {seconds} is out of range")))
    }

    /// Whole seconds since the Unix epoch (rounded toward negative infinity).
    pub fn unix_timestamp(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// The date as a [`time::OffsetDateTime`] in UTC.
    pub fn to_datetime(self) -> OffsetDateTime {
        self.0
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
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .map(NumericDate)
    }
}

impl From<OffsetDateTime> for NumericDate {
    fn from(t: OffsetDateTime) -> Self {
        NumericDate(t.to_offset(time::UtcOffset::UTC))
    }
}

impl From<NumericDate> for OffsetDateTime {
    fn from(t: NumericDate) -> Self {
        t.0
    }
}

impl Serialize for NumericDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.nanosecond() == 0 {
            serializer.serialize_i64(self.0.unix_timestamp())
        } else {
            #[allow(clippy::cast_precision_loss)]
            let seconds = self.0.unix_timestamp_nanos() as f64 / 1e9;
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
    fn numeric_date_serializes_fractions_as_numbers() {
        let t = date("1.25").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "1.25");
    }
}
