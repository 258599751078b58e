//! The form-encoded request body (RFC 6749 §3.2, Appendix B): bounded, UTF-8, every parameter at
//! most once (§3.1), an empty value treated as omitted (§3.1).

use std::collections::HashMap;

use http::HeaderMap;

use crate::error::{invalid_request, OAuthError};

/// The largest request body any endpoint reads: 16 KiB.
pub const MAX_BODY: usize = 16 * 1024;

/// The parameters of a form body, each name once.
#[derive(Debug, Default)]
pub(crate) struct Form {
    params: HashMap<String, String>,
}

impl Form {
    /// Reads `body` sent with `headers`.
    pub(crate) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Form, OAuthError> {
        let form_type = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|media| {
                media
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form_type {
            return Err(invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        if body.len() > MAX_BODY {
            return Err(invalid_request("the body is larger than 16 KiB"));
        }
        if std::str::from_utf8(body).is_err() {
            return Err(invalid_request("the body is not UTF-8"));
        }
        let mut seen = std::collections::HashSet::new();
        let mut params = HashMap::new();
        for (name, value) in form_urlencoded::parse(body) {
            // The decoded bytes may still be invalid UTF-8 (`%FF`): refused, not replaced.
            if name.contains('\u{FFFD}') || value.contains('\u{FFFD}') {
                return Err(invalid_request("a parameter is not UTF-8"));
            }
            // RFC 6749 §3.1: request and response parameters MUST NOT be included more than once.
            if !seen.insert(name.to_string()) {
                return Err(invalid_request("a parameter is repeated"));
            }
            if !value.is_empty() {
                params.insert(name.into_owned(), value.into_owned());
            }
        }
        Ok(Form { params })
    }

    /// The value of `name`, if it was sent with one.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// Whether `name` was sent with a value.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.params.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Result<Form, OAuthError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-www-form-urlencoded; charset=UTF-8"),
        );
        Form::parse(&headers, body.as_bytes())
    }

    #[test]
    fn repeated_parameters_are_refused_even_when_one_is_empty() {
        assert!(form("a=1&a=2").is_err());
        assert!(form("a=&a=2").is_err());
        assert_eq!(form("a=1&b=").unwrap().get("a"), Some("1"));
        assert!(!form("a=1&b=").unwrap().has("b"));
    }

    #[test]
    fn invalid_percent_encoded_utf8_is_refused() {
        assert!(form("a=%FF").is_err());
        assert_eq!(form("a=%C3%A9+x").unwrap().get("a"), Some("é x"));
    }

    #[test]
    fn other_media_types_and_large_bodies_are_refused() {
        assert!(Form::parse(&HeaderMap::new(), b"a=1").is_err());
        assert!(form(&"a".repeat(MAX_BODY + 1)).is_err());
    }
}
