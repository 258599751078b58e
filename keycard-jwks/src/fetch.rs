//! One HTTP GET with the configured limits, and reading the two documents it fetches: a JWK Set
//! (RFC 7517 §5) and a discovery document (OpenID Connect Discovery 1.0, RFC 8414).

use std::time::Duration;

use keycard::{Algorithm, KeySet};
use reqwest::header::{ACCEPT, CACHE_CONTROL};
use reqwest::{Client, StatusCode, Url};
use serde_json::Value;

use crate::error::{echo, reason, Error, Skipped};

/// The limits and switches one fetch obeys.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) allow_http: bool,
    pub(crate) max_bytes: usize,
    pub(crate) max_keys: usize,
}

/// A fetched body and the `Cache-Control: max-age` it came with, if any.
pub(crate) struct Body {
    pub(crate) bytes: Vec<u8>,
    pub(crate) max_age: Option<Duration>,
}

/// Parses `url` and refuses anything but https (and http when allowed).
pub(crate) fn parse_url(url: &str, allow_http: bool) -> Result<Url, Error> {
    // `url` may come from a discovery document: echoed escaped.
    let parsed = Url::parse(url).map_err(|e| Error::InvalidUrl {
        url: echo(url),
        reason: e.to_string(),
    })?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if allow_http => Ok(parsed),
        _ => Err(Error::InsecureUrl { url: echo(url) }),
    }
}

/// The most redirects one request follows.
const MAX_REDIRECTS: usize = 5;

/// The redirect policy of every request keycard-jwks makes: a redirect is followed only within
/// the origin (scheme, host and port) of the URL that was configured or discovered, at most 5
/// times. Keys from an origin nobody configured would be trusted like the provider's own, so a
/// redirect to another host (an open redirect, a hijacked path) fails the fetch instead.
pub(crate) fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.stop();
        };
        if attempt.url().origin() != first.origin() {
            let refused = format!(
                "a redirect to another origin (`{}`) is not followed",
                echo(attempt.url().as_str())
            );
            return attempt.error(refused);
        }
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        attempt.follow()
    })
}

fn request_error(url: &Url, e: &reqwest::Error) -> Error {
    if e.is_timeout() {
        return Error::Timeout {
            url: url.to_string(),
        };
    }
    // The full chain (e.g. "error sending request: connection refused"), without the URL, which
    // the message names already. It may quote a redirect's `Location`: escaped.
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::Fetch {
        url: url.to_string(),
        reason: reason(text.replace(&format!(" for url ({url})"), "")),
    }
}

/// GETs `url`: status 200, at most `max_bytes` of body.
pub(crate) async fn get(client: &Client, url: &Url, max_bytes: usize) -> Result<Body, Error> {
    let mut response = client
        .get(url.clone())
        .header(ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| request_error(url, &e))?;
    if response.status() != StatusCode::OK {
        return Err(Error::Status {
            url: url.to_string(),
            status: response.status().as_u16(),
        });
    }
    let too_large = || Error::TooLarge {
        url: url.to_string(),
        limit: max_bytes,
    };
    if response
        .content_length()
        .is_some_and(|len| len > max_bytes as u64)
    {
        return Err(too_large());
    }
    let max_age = freshness(response.headers());
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| request_error(url, &e))? {
        if bytes.len() + chunk.len() > max_bytes {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Body { bytes, max_age })
}

/// How long a response stays fresh: its `Cache-Control: max-age` less its `Age` (RFC 9111
/// §4.2, for a set served through a cache), `None` without `max-age`.
fn freshness(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let max_age = max_age(headers.get_all(CACHE_CONTROL).iter())?;
    let age = headers
        .get(reqwest::header::AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_secs);
    Some(max_age.saturating_sub(age))
}

/// The `max-age` of `Cache-Control` header values (RFC 9111 §5.2.2.1); `no-store` and
/// `no-cache` count as 0 (the caller's lower bound then applies).
fn max_age<'a>(values: impl Iterator<Item = &'a reqwest::header::HeaderValue>) -> Option<Duration> {
    let mut found = None;
    for value in values {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',') {
            let directive = directive.trim();
            let (name, argument) = directive
                .split_once('=')
                .map_or((directive, None), |(n, a)| (n.trim(), Some(a.trim())));
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                return Some(Duration::ZERO);
            }
            if name.eq_ignore_ascii_case("max-age") {
                let seconds = argument
                    .map(|a| a.trim_matches('"'))
                    .and_then(|a| a.parse::<u64>().ok());
                if let Some(seconds) = seconds {
                    found = Some(Duration::from_secs(seconds));
                }
            }
        }
    }
    found
}

fn text<'a>(url: &Url, bytes: &'a [u8], what: &'static str) -> Result<&'a str, Error> {
    std::str::from_utf8(bytes).map_err(|e| Error::InvalidDocument {
        url: url.to_string(),
        what,
        reason: format!("not UTF-8: {e}"),
    })
}

/// A JWK Set read for `algorithms`, with every key left out and why.
pub(crate) struct Loaded {
    pub(crate) keys: KeySet,
    pub(crate) skipped: Vec<Skipped>,
}

const JWKS: &str = "JWK Set (RFC 7517 §5)";

/// Reads a fetched JWK Set. Symmetric (`kty: oct`) entries are skipped whatever they say; a set
/// with no usable key is an error that lists every key and why it was skipped.
pub(crate) fn read_jwks(
    url: &Url,
    bytes: &[u8],
    algorithms: &[Algorithm],
    limits: &Limits,
) -> Result<Loaded, Error> {
    // serde_json's messages may quote the document: escaped.
    let invalid = |text: String| Error::InvalidDocument {
        url: url.to_string(),
        what: JWKS,
        reason: reason(text),
    };
    let json = text(url, bytes, JWKS)?;
    // A first, loose look, for the key count and the symmetric entries; the keys themselves are
    // read by keycard's strict parser from the original text.
    let document: Value = serde_json::from_str(json).map_err(|e| invalid(e.to_string()))?;
    let entries = document
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("no `keys` array".to_owned()))?;
    if entries.len() > limits.max_keys {
        return Err(Error::TooManyKeys {
            url: url.to_string(),
            count: entries.len(),
            limit: limits.max_keys,
        });
    }
    let mut skipped: Vec<Skipped> = entries
        .iter()
        .enumerate()
        .filter(|(_, entry)| entry.get("kty").and_then(Value::as_str) == Some("oct"))
        .map(|(index, entry)| Skipped {
            index,
            key_id: entry.get("kid").and_then(Value::as_str).map(echo),
            reason: "a symmetric (`kty: oct`) key: a published key set must not carry secrets"
                .to_owned(),
        })
        .collect();
    // `algorithms` holds no HMAC algorithm (checked when configured), so keycard skips every
    // `oct` entry itself; its reasons for those are replaced by the one above.
    let keys = KeySet::from_jwks_for(json, algorithms).map_err(|e| invalid(e.to_string()))?;
    let symmetric: Vec<usize> = skipped.iter().map(|s| s.index).collect();
    skipped.extend(
        keys.skipped()
            .iter()
            .filter(|s| !symmetric.contains(&s.index()))
            .map(|s| Skipped {
                index: s.index(),
                key_id: s.key_id().map(str::to_owned),
                reason: s.reason().to_owned(),
            }),
    );
    skipped.sort_by_key(|s| s.index);
    if keys.is_empty() {
        return Err(Error::NoUsableKeys {
            url: url.to_string(),
            skipped,
        });
    }
    Ok(Loaded { keys, skipped })
}

/// The discovery document's URLs for `issuer`: OpenID Connect Discovery 1.0 §4 (the issuer with
/// `/.well-known/openid-configuration` appended) and RFC 8414 §3.1 (the well-known segment
/// inserted between the host and the issuer's path).
pub(crate) fn discovery_urls(issuer: &Url) -> Result<[Url; 2], Error> {
    let join = |path: String| {
        let mut url = issuer.clone();
        url.set_path(&path);
        url.set_query(None);
        url.set_fragment(None);
        url
    };
    let path = issuer.path().trim_end_matches('/');
    Ok([
        join(format!("{path}/.well-known/openid-configuration")),
        join(format!("/.well-known/oauth-authorization-server{path}")),
    ])
}

const DISCOVERY: &str = "discovery document (OpenID Connect Discovery §3, RFC 8414 §2)";

/// Reads a discovery document: its `issuer` must be `issuer` exactly, and its `jwks_uri` must be
/// https (or http when allowed). Returns the `jwks_uri`.
pub(crate) fn read_discovery(
    url: &Url,
    bytes: &[u8],
    issuer: &str,
    allow_http: bool,
) -> Result<Url, Error> {
    let invalid = |text: String| Error::InvalidDocument {
        url: url.to_string(),
        what: DISCOVERY,
        reason: reason(text),
    };
    let document: Value =
        serde_json::from_str(text(url, bytes, DISCOVERY)?).map_err(|e| invalid(e.to_string()))?;
    let found = document
        .get("issuer")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("no `issuer` string".to_owned()))?;
    if found != issuer {
        return Err(Error::IssuerMismatch {
            url: url.to_string(),
            expected: issuer.to_owned(),
            found: echo(found),
        });
    }
    let jwks_uri = document
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("no `jwks_uri` string".to_owned()))?;
    parse_url(jwks_uri, allow_http)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn age(values: &[&'static str]) -> Option<Duration> {
        let values: Vec<HeaderValue> = values.iter().map(|v| HeaderValue::from_static(v)).collect();
        max_age(values.iter())
    }

    #[test]
    fn cache_control_max_age_is_read() {
        assert_eq!(
            age(&["public, max-age=300"]),
            Some(Duration::from_secs(300))
        );
        assert_eq!(age(&["Max-Age=\"60\""]), Some(Duration::from_secs(60)));
        assert_eq!(age(&["public", "max-age=5"]), Some(Duration::from_secs(5)));
        assert_eq!(age(&["no-store"]), Some(Duration::ZERO));
        assert_eq!(age(&["max-age=soon"]), None);
        assert_eq!(age(&[]), None);
    }

    #[test]
    fn a_cached_response_is_fresh_for_max_age_less_its_age() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(freshness(&headers), None);
        headers.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        assert_eq!(freshness(&headers), Some(Duration::from_secs(3600)));
        headers.insert(reqwest::header::AGE, HeaderValue::from_static("600"));
        assert_eq!(freshness(&headers), Some(Duration::from_secs(3000)));
        headers.insert(reqwest::header::AGE, HeaderValue::from_static("9999"));
        assert_eq!(freshness(&headers), Some(Duration::ZERO));
        headers.insert(reqwest::header::AGE, HeaderValue::from_static("soon"));
        assert_eq!(freshness(&headers), Some(Duration::from_secs(3600)));
    }

    #[test]
    fn discovery_urls_follow_both_specifications() -> Result<(), Error> {
        let issuer = parse_url("https://login.example.com/tenant/v2.0/", false)?;
        let [oidc, oauth] = discovery_urls(&issuer)?;
        assert_eq!(
            oidc.as_str(),
            "https://login.example.com/tenant/v2.0/.well-known/openid-configuration"
        );
        assert_eq!(
            oauth.as_str(),
            "https://login.example.com/.well-known/oauth-authorization-server/tenant/v2.0"
        );
        let root = parse_url("https://login.example.com", false)?;
        let [oidc, oauth] = discovery_urls(&root)?;
        assert_eq!(
            oidc.as_str(),
            "https://login.example.com/.well-known/openid-configuration"
        );
        assert_eq!(
            oauth.as_str(),
            "https://login.example.com/.well-known/oauth-authorization-server"
        );
        Ok(())
    }

    #[test]
    fn a_discovered_jwks_uri_must_be_https() -> Result<(), Error> {
        let url = parse_url(
            "https://idp.example/.well-known/openid-configuration",
            false,
        )?;
        let document = br#"{"issuer":"https://idp.example/","jwks_uri":"http://idp.example/jwks"}"#;
        assert!(matches!(
            read_discovery(&url, document, "https://idp.example/", false),
            Err(Error::InsecureUrl { .. })
        ));
        let document =
            br#"{"issuer":"https://idp.example/","jwks_uri":"https://idp.example/jwks"}"#;
        let jwks = read_discovery(&url, document, "https://idp.example/", false)?;
        assert_eq!(jwks.as_str(), "https://idp.example/jwks");
        assert!(matches!(
            read_discovery(&url, document, "https://idp.example", false),
            Err(Error::IssuerMismatch { .. })
        ));
        Ok(())
    }

    /// Characters that forge log lines or drive a terminal.
    fn raw_control(text: &str) -> bool {
        text.chars().any(|c| {
            c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}' | '\u{61c}')
        })
    }

    #[test]
    fn provider_text_in_skipped_keys_is_escaped() {
        let url = parse_url("https://idp.example/jwks", false).unwrap();
        let evil = "k\u{1b}[31m\r\nINFO forged\u{202e}";
        let document = serde_json::json!({"keys": [
            {"kty": "oct", "kid": evil, "k": "AAAA"},
            {"kty": "EC", "kid": evil, "crv": evil, "x": "AAAA", "y": "AAAA"},
            {"kty": "RSA", "kid": evil, "alg": evil, "n": "AAAA", "e": "AQAB"},
            {"kty": "RSA", "kid": evil, "alg": "RS256", "use": evil, "n": "AAAA", "e": "AQAB"},
            {"kty": evil, "kid": evil},
            {"kty": "RSA", "kid": evil, "key_ops": [evil], "n": "AAAA", "e": "AQAB"},
        ]})
        .to_string()
        .replacen(
            "]}",
            r#",{"kty":"RSA","kid":"a\u001b\n","kid":"b\u001b\n"},{"k\u001b[2J\n\u202e":1,"k\u001b[2J\n\u202e":2},{"kty":"RSA","n\u001b\n":"x"}]}"#,
            1,
        );
        let limits = Limits {
            allow_http: false,
            max_bytes: 1 << 20,
            max_keys: 100,
        };
        let Err(err @ Error::NoUsableKeys { .. }) =
            read_jwks(&url, document.as_bytes(), &[Algorithm::ES256], &limits)
        else {
            panic!("a set of broken keys loaded");
        };
        assert!(!raw_control(&err.to_string()), "{err}");
        let Error::NoUsableKeys { skipped, .. } = &err else {
            unreachable!()
        };
        for s in skipped {
            assert!(!raw_control(&s.to_string()), "{s}");
            assert!(!raw_control(s.key_id.as_deref().unwrap_or("")), "{s:?}");
        }
    }

    #[test]
    fn provider_text_in_a_discovery_issuer_is_escaped() {
        let url = parse_url(
            "https://idp.example/.well-known/openid-configuration",
            false,
        )
        .unwrap();
        let document = serde_json::json!({
            "issuer": "https://idp.example/\u{1b}[2J\r\nforged\u{202e}",
            "jwks_uri": "https://idp.example/jwks",
        })
        .to_string();
        let err =
            read_discovery(&url, document.as_bytes(), "https://idp.example/", false).unwrap_err();
        assert!(matches!(err, Error::IssuerMismatch { .. }));
        assert!(!raw_control(&err.to_string()), "{err}");
        let document = serde_json::json!({"issuer": "https://idp.example/", "jwks_uri": "https://idp.example/\u{1b}\n"}).to_string();
        match read_discovery(&url, document.as_bytes(), "https://idp.example/", false) {
            Ok(jwks) => assert!(!raw_control(jwks.as_str()), "{jwks}"),
            Err(err) => assert!(!raw_control(&err.to_string()), "{err}"),
        }
    }

    #[test]
    fn only_https_unless_allowed() {
        assert!(matches!(
            parse_url("http://127.0.0.1:1/jwks", false),
            Err(Error::InsecureUrl { .. })
        ));
        assert!(parse_url("http://127.0.0.1:1/jwks", true).is_ok());
        assert!(matches!(
            parse_url("file:///etc/passwd", true),
            Err(Error::InsecureUrl { .. })
        ));
        assert!(matches!(
            parse_url("not a url", true),
            Err(Error::InvalidUrl { .. })
        ));
    }
}
