//! Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3):
//! `client_secret_basic`, `client_secret_post`, and public clients identified by `client_id`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::HeaderMap;
use percent_encoding::percent_decode_str;
use time::OffsetDateTime;

use crate::client::{AuthMethod, Client, ClientRegistry, SecretHash};
use crate::error::{invalid_client, invalid_request, OAuthError};
use crate::form::Form;
use crate::throttle::Throttle;

/// The credentials a request presented.
struct Presented {
    id: String,
    secret: Option<String>,
    basic: bool,
}

/// Reads `Authorization: Basic` (RFC 6749 §2.3.1, RFC 7617), whose id and secret are
/// form-urlencoded before base64.
fn basic(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(invalid_request("more than one Authorization header"));
    }
    let value = value
        .to_str()
        .map_err(|_| invalid_request("a malformed Authorization header"))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(invalid_request(
            "only HTTP Basic client authentication is accepted",
        ));
    }
    let malformed = || invalid_client().after_basic(true);
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let unform = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| malformed())
    };
    Ok(Some((unform(id)?, unform(secret)?)))
}

fn presented(headers: &HeaderMap, form: &Form) -> Result<Presented, OAuthError> {
    match basic(headers)? {
        Some((id, secret)) => {
            // RFC 6749 §2.3: a client MUST NOT use more than one authentication method.
            if form.has("client_secret") {
                return Err(invalid_request(
                    "more than one client authentication method",
                ));
            }
            if form.get("client_id").is_some_and(|body_id| body_id != id) {
                return Err(invalid_request("two different client ids"));
            }
            Ok(Presented {
                id,
                secret: Some(secret),
                basic: true,
            })
        }
        None => {
            let id = form.get("client_id").ok_or_else(invalid_client)?;
            Ok(Presented {
                id: id.to_owned(),
                secret: form.get("client_secret").map(str::to_owned),
                basic: false,
            })
        }
    }
}

/// Authenticates the client of a request, or says why not. Every failure counts against the
/// presented client id in `throttle`, known or not.
pub(crate) async fn authenticate(
    registry: &dyn ClientRegistry,
    throttle: &Throttle,
    headers: &HeaderMap,
    form: &Form,
    now: OffsetDateTime,
) -> Result<(Client, bool), OAuthError> {
    let presented = presented(headers, form)?;
    let basic = presented.basic;
    let refuse = |id: &str| {
        throttle.failed(id, now);
        invalid_client().after_basic(basic)
    };
    if !throttle.allows(&presented.id, now) {
        return Err(invalid_client().after_basic(basic));
    }
    let client = registry
        .find(&presented.id)
        .await
        .map_err(|e| OAuthError::internal(&e).after_basic(basic))?;
    let Some(client) = client else {
        // The same work as for a known client, so that timing does not tell ids apart.
        if let Some(secret) = &presented.secret {
            let _ = SecretHash::unmatchable().matches(secret);
        }
        return Err(refuse(&presented.id));
    };
    let ok = match (client.auth_method(), &presented.secret, client.secret()) {
        (AuthMethod::ClientSecretBasic, Some(secret), Some(hash)) if basic => hash.matches(secret),
        (AuthMethod::ClientSecretPost, Some(secret), Some(hash)) if !basic => hash.matches(secret),
        (AuthMethod::None, None, _) => true,
        _ => false,
    };
    if !ok {
        return Err(refuse(&presented.id));
    }
    throttle.succeeded(&presented.id);
    Ok((client, basic))
}
