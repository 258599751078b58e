//! Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3):
//! `client_secret_basic`, `client_secret_post`, `private_key_jwt` (RFC 7523 §2.2), and public
//! clients identified by `client_id`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::HeaderMap;
use percent_encoding::percent_decode_str;
use time::OffsetDateTime;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use keycard::{Claims, Clock, Validator};
use time::Duration;

use crate::client::{AuthMethod, Client, ClientRegistry, SecretHash};
use crate::error::{invalid_client, invalid_request, OAuthError};
use crate::form::Form;
use crate::throttle::Throttle;

/// RFC 7523 §2.2's `client_assertion_type`.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest a client assertion may live: its `jti` is remembered that long.
const MAX_ASSERTION_LIFETIME: Duration = Duration::minutes(5);

/// The most assertion ids remembered at once.
const MAX_JTIS: usize = 65_536;

/// The credentials a request presented.
struct Presented {
    id: String,
    secret: Option<String>,
    assertion: Option<String>,
    basic: bool,
}

/// The `jti`s of client assertions seen, each until its assertion expires (RFC 7523 §3
/// item 7: a `jti` is used once), bounded.
#[derive(Debug, Default)]
pub(crate) struct SeenAssertions {
    seen: Mutex<HashMap<String, OffsetDateTime>>,
}

impl SeenAssertions {
    /// Records `jti` of `client` until `until`; `false` when it was seen already, or when the
    /// table is full of live entries (refusing, never forgetting one early).
    fn first_use(
        &self,
        client: &str,
        jti: &str,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> bool {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= MAX_JTIS {
            seen.retain(|_, until| *until > now);
        }
        let key = format!("{client}\u{0}{jti}");
        match seen.get(&key) {
            Some(until) if *until > now => false,
            _ if seen.len() >= MAX_JTIS => false,
            _ => {
                seen.insert(key, until);
                true
            }
        }
    }
}

/// Where an assertion must be addressed: the token endpoint or the issuer (RFC 7523 §3 item 3).
pub(crate) struct Audiences<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) endpoint: &'a str,
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
    if let Some(assertion) = form.get("client_assertion") {
        if basic(headers)?.is_some() || form.has("client_secret") {
            return Err(invalid_request(
                "more than one client authentication method",
            ));
        }
        if form.get("client_assertion_type") != Some(JWT_BEARER) {
            return Err(invalid_client());
        }
        // Routing only: the assertion's signature is checked with the keys of the client it
        // names, and `sub` must then equal that client.
        let named: Option<String> =
            keycard::unverified::decode_claims::<keycard::Claims>(assertion)
                .ok()
                .and_then(|c| c.subject);
        let id = match (form.get("client_id"), named) {
            (Some(id), Some(sub)) if id != sub => return Err(invalid_client()),
            (Some(id), _) => id.to_owned(),
            (None, Some(sub)) => sub,
            (None, None) => return Err(invalid_client()),
        };
        return Ok(Presented {
            id,
            secret: None,
            assertion: Some(assertion.to_owned()),
            basic: false,
        });
    }
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
                assertion: None,
                basic: true,
            })
        }
        None => {
            let id = form.get("client_id").ok_or_else(invalid_client)?;
            Ok(Presented {
                id: id.to_owned(),
                secret: form.get("client_secret").map(str::to_owned),
                assertion: None,
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
    assertions: (&SeenAssertions, &Audiences<'_>, &Arc<dyn Clock>),
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
        (AuthMethod::PrivateKeyJwt, None, _) => match (&presented.assertion, client.keys()) {
            (Some(assertion), Some(keys)) => {
                let (seen, audiences, clock) = assertions;
                assertion_ok(&client, keys, assertion, seen, audiences, clock, now)
            }
            _ => false,
        },
        _ if presented.assertion.is_some() => false,
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

/// RFC 7523 §3 with keycard's validator: signed by one of the client's keys, `iss` and `sub` the
/// client, `aud` the token endpoint or the issuer, `exp` within [`MAX_ASSERTION_LIFETIME`],
/// `jti` never seen before.
fn assertion_ok(
    client: &Client,
    keys: &keycard::KeySet,
    assertion: &str,
    seen: &SeenAssertions,
    audiences: &Audiences<'_>,
    clock: &Arc<dyn Clock>,
    now: OffsetDateTime,
) -> bool {
    let validator = Validator::builder_with_keys(keys.clone())
        .issuer(client.id())
        .subject(client.id())
        .audience(audiences.endpoint)
        .audience(audiences.issuer)
        .require_claim("jti")
        .clock(Arc::clone(clock))
        .build();
    let Ok(claims) = validator.and_then(|v| v.verify::<Claims>(assertion)) else {
        return false;
    };
    let (Some(jti), Some(exp)) = (claims.jwt_id, claims.expires_at) else {
        return false;
    };
    let exp = exp.to_datetime();
    exp <= now + MAX_ASSERTION_LIFETIME && seen.first_use(client.id(), &jti, exp, now)
}
