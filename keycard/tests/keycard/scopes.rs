//! Required scopes: `scope` as a space-delimited string (RFC 9068 §2.2.3, RFC 8693 §4.2) or `scp`
//! as an array (or string); `insufficient_scope` names the scope missing (RFC 6750 §3.1).

use keycard::time::Duration;
use keycard::{Algorithm, Builder, Claims, Error, ErrorKind, HmacKey, Validator, ValidatorBuilder};

fn key() -> HmacKey {
    HmacKey::new(Algorithm::HS256, b"scopes test secret of 32 bytes!!").unwrap()
}

fn token(name: &str, value: serde_json::Value) -> String {
    Builder::new()
        .claim(name, value)
        .expires_in(Duration::minutes(5))
        .sign(&key())
        .unwrap()
}

fn requiring(scopes: &[&str]) -> Validator {
    scopes
        .iter()
        .fold(Validator::builder(key()), |b, s| b.require_scope(*s))
        .build()
        .unwrap()
}

fn missing(validator: &Validator, token: &str) -> Option<String> {
    match validator.verify::<Claims>(token) {
        Ok(_) => None,
        Err(Error::InsufficientScope { missing }) => Some(missing),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

#[test]
fn scope_string_grants_each_of_its_words() {
    let tok = token("scope", "read write admin:users".into());
    assert_eq!(missing(&requiring(&["read"]), &tok), None);
    assert_eq!(missing(&requiring(&["write", "admin:users"]), &tok), None);
    assert_eq!(
        missing(&requiring(&["read", "delete"]), &tok).as_deref(),
        Some("delete")
    );
}

#[test]
fn scopes_compare_exactly() {
    let tok = token("scope", "read write".into());
    for near_miss in ["Read", "rea", "read write", "ead"] {
        let v = match Validator::builder(key()).require_scope(near_miss).build() {
            Ok(v) => v,
            Err(e) => {
                // "read write" is refused when building: a scope is one word.
                assert_eq!(e.kind(), ErrorKind::Configuration);
                continue;
            }
        };
        assert_eq!(missing(&v, &tok).as_deref(), Some(near_miss));
    }
}

#[test]
fn scp_array_grants_its_entries() {
    let tok = token("scp", serde_json::json!(["read", "write"]));
    assert_eq!(missing(&requiring(&["read", "write"]), &tok), None);
    assert_eq!(
        missing(&requiring(&["admin"]), &tok).as_deref(),
        Some("admin")
    );
}

#[test]
fn scp_string_is_read_as_space_delimited() {
    let tok = token("scp", "User.Read Mail.Send".into());
    assert_eq!(missing(&requiring(&["Mail.Send"]), &tok), None);
}

#[test]
fn a_token_without_scopes_lacks_the_first_required() {
    let tok = token("sub", "alice".into());
    let err = requiring(&["read", "write"])
        .verify::<Claims>(&tok)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InsufficientScope);
    assert_eq!(err.kind().as_str(), "insufficient_scope");
    assert_eq!(
        err.to_string(),
        "insufficient scope: the token does not grant `read`"
    );
}

#[test]
fn an_empty_scope_claim_grants_nothing() {
    let tok = token("scope", "".into());
    assert_eq!(
        missing(&requiring(&["read"]), &tok).as_deref(),
        Some("read")
    );
}

#[test]
fn scope_checks_come_after_the_signature_and_expiry() {
    let tok = token("scope", "none-of-these".into());
    let forged = format!("{}AAAA", &tok[..tok.len() - 4]);
    let err = requiring(&["read"]).verify::<Claims>(&forged).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signature);
}

#[test]
fn impossible_scopes_are_refused_when_building() {
    let builders: [ValidatorBuilder; 3] = [
        Validator::builder(key()).require_scope(""),
        Validator::builder(key()).require_scope("read write"),
        Validator::builder(key()).require_scope(" read"),
    ];
    for builder in builders {
        let err = builder.build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration);
        assert!(err.to_string().contains("RFC 6749 §3.3"), "{err}");
    }
}

/// The rule per-route policies apply to claims already verified (`keycard::scope`) says what the
/// validator's `require_scope` says, claim shape by claim shape.
#[test]
fn the_public_rule_agrees_with_the_validator() {
    let cases = [
        r#"{"scope":"read write","scp":["admin"]}"#,
        r#"{"scope":"read"}"#,
        r#"{"scp":"a b"}"#,
        r#"{"scp":["a b"]}"#,
        r#"{"scp":["read","write"]}"#,
        r#"{"scope":""}"#,
        r#"{"sub":"no scopes"}"#,
    ];
    for case in cases {
        let claims: serde_json::Value = serde_json::from_str(case).unwrap();
        let mut builder = Builder::new().expires_in(Duration::minutes(5));
        for (name, value) in claims.as_object().unwrap() {
            builder = builder.claim(name.as_str(), value.clone());
        }
        let token = builder.sign(&key()).unwrap();
        for need in ["read", "write", "admin", "a", "b", "a b", "rea", ""] {
            if need.is_empty() || need.contains(' ') {
                // Never a scope (RFC 6749 §3.3): the validator refuses to be built with it, and
                // the public rule grants it in no claims.
                assert!(
                    !keycard::scope::grants(&claims, need),
                    "{case} granting {need:?}"
                );
                continue;
            }
            let by_validator = missing(&requiring(&[need]), &token).is_none();
            assert_eq!(
                keycard::scope::grants(&claims, need),
                by_validator,
                "{case} granting {need:?}"
            );
        }
        let required = ["read", "admin"];
        let by_validator = missing(&requiring(&required), &token);
        let by_rule = keycard::scope::require(&claims, required)
            .err()
            .map(|e| match e {
                Error::InsufficientScope { missing } => missing,
                other => panic!("{other}"),
            });
        assert_eq!(by_rule, by_validator, "{case}: the first scope missing");
    }
}
