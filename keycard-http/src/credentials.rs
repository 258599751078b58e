//! Where a request carries its bearer token: RFC 6750 §2.1 (the `Authorization` header, always),
//! §2.2 (an `application/x-www-form-urlencoded` body, when a layer opts in) and §2.3 (the
//! `access_token` query parameter, when the authorizer opts in). A request that uses more than
//! one method, or one method twice, is `invalid_request` (§2: "MUST NOT use more than one").

use http::header::{self, HeaderMap};

use crate::rejection::{Reason, RequestError};

/// How the token reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Header,
    Query,
    Form,
}

/// The request's bearer token from the `Authorization` header (§2.1) or, when `allow_query`, the
/// query string (§2.3); `None` when there is neither. A query token where it is not allowed is
/// refused rather than ignored, so that a client learns at once why it is not authenticated.
/// A header of another scheme (`Basic ...`) is [`Reason::UnsupportedScheme`]: RFC 6750 §3.1
/// answers "an unsupported authentication method" like no credentials, with a bare challenge.
pub(crate) fn bearer(
    headers: &HeaderMap,
    query: Option<&str>,
    allow_query: bool,
) -> Result<Option<(String, Method)>, Reason> {
    let invalid = Reason::InvalidRequest;

    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let header = values.next();
    if values.next().is_some() {
        return Err(invalid(RequestError::MultipleCredentials));
    }
    let query = query.and_then(|query| parameter(query, false, RequestError::MalformedQueryToken));
    let Some(header) = header else {
        return match query {
            None => Ok(None),
            Some(_) if !allow_query => Err(invalid(RequestError::QueryTokenRefused)),
            Some(token) => token
                .map(|token| Some((token, Method::Query)))
                .map_err(invalid),
        };
    };
    if query.is_some() {
        return Err(invalid(RequestError::MultipleCredentials));
    }
    let value = header
        .to_str()
        .map_err(|_| invalid(RequestError::MalformedAuthorization))?;
    // RFC 7235 §2.1: the scheme is case-insensitive; `1*SP` separates it from the credentials.
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Reason::UnsupportedScheme);
    }
    b64token(
        rest.trim_start_matches(' '),
        RequestError::MalformedAuthorization,
    )
    .map(|token| Some((token, Method::Header)))
    .map_err(invalid)
}

/// The `access_token` of a form body (§2.2), `None` when it has none.
pub(crate) fn form(body: &[u8]) -> Result<Option<String>, RequestError> {
    // §2.2: the body is `application/x-www-form-urlencoded`, which is ASCII.
    let body = std::str::from_utf8(body).map_err(|_| RequestError::MalformedForm)?;
    parameter(body, true, RequestError::MalformedForm).transpose()
}

/// Whether a request's body may carry the token (§2.2): a form, and a method whose body has
/// meaning ("the GET method MUST NOT be used").
pub(crate) fn is_form(method: &http::Method, headers: &HeaderMap) -> bool {
    if matches!(*method, http::Method::GET | http::Method::HEAD) {
        return false;
    }
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

/// The `access_token` pair of a `&`-separated list, percent-decoded (and `+` as a space in a form
/// body), checked as one `b64token`; two such pairs are two credentials.
fn parameter(
    pairs: &str,
    plus_is_space: bool,
    malformed: RequestError,
) -> Option<Result<String, RequestError>> {
    let mut found = pairs
        .split('&')
        .filter_map(|pair| pair.strip_prefix("access_token="));
    let first = found.next()?;
    if found.next().is_some() {
        return Some(Err(RequestError::MultipleCredentials));
    }
    Some(
        percent_decode(first, plus_is_space)
            .ok_or(malformed)
            .and_then(|token| b64token(&token, malformed)),
    )
}

/// One `b64token` (RFC 6750 §2.1): `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn b64token(token: &str, malformed: RequestError) -> Result<String, RequestError> {
    if token.is_empty() {
        return Err(RequestError::EmptyToken);
    }
    if token.contains(' ') {
        return Err(RequestError::MultipleCredentials);
    }
    let body = token.trim_end_matches('=');
    let valid = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if !valid {
        return Err(malformed);
    }
    Ok(token.to_owned())
}

/// `text` percent-decoded, `None` when an escape is cut or not hex, or the result is not UTF-8.
fn percent_decode(text: &str, plus_is_space: bool) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                // `from_str_radix` would take a sign: "%+1".
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderValue, Uri};

    fn extract(
        values: &[&'static str],
        uri: &'static str,
        allow: bool,
    ) -> Result<Option<String>, Reason> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::AUTHORIZATION, HeaderValue::from_static(value));
        }
        bearer(&headers, Uri::from_static(uri).query(), allow).map(|t| t.map(|(t, _)| t))
    }

    #[test]
    fn bearer_credentials_follow_rfc_6750() {
        let ok = |t: &str| Ok(Some(t.to_owned()));
        assert_eq!(
            extract(&["Bearer abc.def.ghi"], "/", false),
            ok("abc.def.ghi")
        );
        assert_eq!(extract(&["bEaReR abc"], "/", false), ok("abc"));
        assert_eq!(extract(&["Bearer  a+/b=="], "/", false), ok("a+/b=="));
        assert_eq!(extract(&[], "/", false), Ok(None));
        let refused = |why| Err(Reason::InvalidRequest(why));
        // RFC 6750 §3.1: another scheme is no bearer credential; a bare challenge follows.
        assert_eq!(
            extract(&["Basic YWxpY2U="], "/", false),
            Err(Reason::UnsupportedScheme)
        );
        assert_eq!(
            extract(&["Bearer"], "/", false),
            refused(RequestError::EmptyToken)
        );
        assert_eq!(
            extract(&["Bearer a b"], "/", false),
            refused(RequestError::MultipleCredentials)
        );
        assert_eq!(
            extract(&["Bearer a", "Bearer b"], "/", false),
            refused(RequestError::MultipleCredentials)
        );
        assert_eq!(
            extract(&["Bearer a%b"], "/", false),
            refused(RequestError::MalformedAuthorization)
        );
        assert_eq!(
            extract(&["Bearer ="], "/", false),
            refused(RequestError::MalformedAuthorization)
        );
    }

    #[test]
    fn query_tokens_only_when_allowed() {
        let refused = |why| Err(Reason::InvalidRequest(why));
        assert_eq!(
            extract(&[], "/x?access_token=abc", false),
            refused(RequestError::QueryTokenRefused)
        );
        assert_eq!(
            extract(&[], "/x?a=1&access_token=ab%2Bc", true),
            Ok(Some("ab+c".to_owned()))
        );
        assert_eq!(
            extract(&["Bearer abc"], "/x?access_token=abc", true),
            refused(RequestError::MultipleCredentials)
        );
        assert_eq!(
            extract(&[], "/x?access_token=%zz", true),
            refused(RequestError::MalformedQueryToken)
        );
        assert_eq!(
            extract(&[], "/x?access_token=a&access_token=b", true),
            refused(RequestError::MultipleCredentials)
        );
    }

    #[test]
    fn form_bodies_follow_rfc_6750_section_2_2() {
        assert_eq!(
            form(b"name=x&access_token=ab%2Bc.d"),
            Ok(Some("ab+c.d".to_owned()))
        );
        assert_eq!(form(b"name=x"), Ok(None));
        assert_eq!(
            form(b"access_token=a+b"),
            Err(RequestError::MultipleCredentials),
            "`+` is a space in a form"
        );
        assert_eq!(form(b"access_token=%zz"), Err(RequestError::MalformedForm));
        assert_eq!(form(&[0xff]), Err(RequestError::MalformedForm));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/X-WWW-Form-Urlencoded; charset=utf-8"),
        );
        assert!(is_form(&http::Method::POST, &headers));
        assert!(!is_form(&http::Method::GET, &headers), "never on GET");
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(!is_form(&http::Method::POST, &headers));
    }
}
