//! OpenID Connect ID token checks (OpenID Connect Core 1.0 §3.1.3.7): `azp` when there are
//! several audiences, `auth_time` against `max_age`, and the `nonce` of
//! [`Validator::verify_id_token`].

use serde::de::DeserializeOwned;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::Checks;
use super::Validator;
use crate::clock;
use crate::error::{self, echo, Error};
use crate::token::claims::Registered;

/// The claim rules of an ID token validator and of `max_age`.
pub(crate) fn check(
    rules: &Checks,
    claims: &Registered<'_>,
    now: OffsetDateTime,
    leeway: Duration,
) -> Result<(), Error> {
    if let Some(client_id) = rules.client_id.as_deref() {
        // Core §2: `sub` and `iat` are required in every ID token (`iss`, `aud` and `exp` are
        // already checked by the validator).
        for (name, present) in [("sub", claims.sub.is_some()), ("iat", claims.iat.is_some())] {
            if !present {
                return Err(Error::MissingClaim { claim: name.into() });
            }
        }
        // Core §3.1.3.7 step 3: `aud` MUST contain our client id. The validator's audience rule
        // accepts any of its audiences, and another configured audience must not stand in.
        let audiences = claims.aud.as_ref().map_or(&[][..], |aud| aud.as_slice());
        if !audiences.iter().any(|aud| aud == client_id) {
            return Err(error::wrong_audience(&[client_id.to_owned()], audiences));
        }
        // Core §3.1.3.7 steps 4 and 5: with several audiences `azp` must be present, and when
        // present it must be our client id.
        let audiences = audiences.len();
        match claims.azp.as_deref() {
            Some(azp) if azp == client_id => {}
            None if audiences <= 1 => {}
            found => {
                return Err(Error::AuthorizedParty {
                    expected: client_id.to_owned(),
                    found: found.map(echo),
                })
            }
        }
    }
    if let Some(max_age) = rules.max_age {
        // Core §3.1.3.7 step 13: with `max_age` the ID token MUST carry `auth_time`, and too old
        // an authentication calls for a new one.
        let authenticated_at = claims
            .auth_time
            .ok_or_else(|| Error::MissingClaim {
                claim: "auth_time".into(),
            })?
            .to_datetime();
        // Saturating on both sides: an `auth_time` near the year 9999 plus `max_age`, or a clock
        // near the year -9999 minus the leeway, must not overflow (`+` and `-` panic there).
        let deadline = clock::later(authenticated_at, max_age);
        let (early, _) = clock::window(now, leeway);
        let too_old = early > deadline;
        if too_old {
            return Err(Error::AuthenticationTooOld {
                authenticated_at,
                now,
                max_age,
                leeway,
            });
        }
    }
    Ok(())
}

impl Validator {
    /// Verifies an OpenID Connect ID token like [`verify`](Self::verify), and also that its
    /// `nonce` is the one your client sent in the authentication request (OpenID Connect Core
    /// §3.1.3.7 step 11), which binds the token to that request and defeats replay.
    ///
    /// Build the validator with [`id_token`](crate::ValidatorBuilder::id_token) (and the
    /// provider's `issuer`), so that the other ID token rules apply as well.
    ///
    /// ```
    /// use keycard::{Algorithm, Builder, ErrorKind, HmacKey, Validator};
    /// use time::Duration;
    ///
    /// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
    /// let id_token = Builder::new()
    ///     .issuer("https://accounts.example.com")
    ///     .subject("alice")
    ///     .audience("my-client")
    ///     .claim("nonce", "n-0S6_WzA2Mj")
    ///     .expires_in(Duration::minutes(5))
    ///     .sign(&key)?;
    /// let validator = Validator::builder(key)
    ///     .issuer("https://accounts.example.com")
    ///     .id_token("my-client")
    ///     .build()?;
    /// let claims: keycard::Claims = validator.verify_id_token(&id_token, "n-0S6_WzA2Mj")?;
    /// assert_eq!(claims.subject.as_deref(), Some("alice"));
    /// let err = validator.verify_id_token::<keycard::Claims>(&id_token, "another").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Nonce);
    /// # Ok::<(), keycard::Error>(())
    /// ```
    ///
    /// # Errors
    /// Those of [`verify`](Self::verify), and [`ErrorKind::Nonce`](crate::ErrorKind::Nonce)
    /// when the `nonce` is missing or differs.
    pub fn verify_id_token<T: DeserializeOwned>(
        &self,
        token: &str,
        nonce: &str,
    ) -> Result<T, Error> {
        let claims: Value = self.verify(token)?;
        match claims.get("nonce") {
            Some(Value::String(found)) if found == nonce => {}
            Some(Value::String(found)) => {
                return Err(Error::Nonce {
                    found: Some(echo(found)),
                })
            }
            Some(_) => return Err(Error::malformed("`nonce` must be a string")),
            None => return Err(Error::Nonce { found: None }),
        }
        T::deserialize(claims)
            .map_err(|e| Error::malformed(format!("claims do not fit the requested type: {e}")))
    }
}
