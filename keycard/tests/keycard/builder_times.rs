//! The time claims a builder writes, on every signing path: `sign`, `claims(..).sign(..)` and
//! `sign_claims`, on a template without claims and on templates with claims of their own (by
//! name, from a struct). Fractional settings are rounded the one documented way on each path:
//! `exp` and `iat` down, `nbf` up (never valid earlier than asked); relative times count from the
//! signing time, the clock rounded down. Every expected value is worked out here by hand.

use crate::common::b64;
use keycard::time::{Duration, OffsetDateTime};
use keycard::{Algorithm, Builder, FixedClock, HmacKey};
use serde::Serialize;
use serde_json::{json, Value};

const T0: i64 = 1_795_860_000;

fn key() -> HmacKey {
    HmacKey::new(Algorithm::HS256, b"builder test secret of 32 bytes!").unwrap()
}

/// `secs` seconds and `ms` milliseconds after the epoch (`ms` may be negative).
fn at(secs: i64, ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap() + Duration::milliseconds(ms)
}

fn claims_of(token: &str) -> Value {
    serde_json::from_slice(&b64(token.split('.').nth(1).unwrap())).unwrap()
}

/// Time settings and the whole seconds they must give: `None` where no setter writes the claim.
struct Case {
    name: &'static str,
    settings: fn(Builder) -> Builder,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
}

const CASES: &[Case] = &[
    Case {
        name: "fixed fractional times",
        settings: |b| {
            b.clock(FixedClock(at(T0, 700)))
                .expires_at(at(T0 + 900, 300))
                .not_before(at(T0 + 5, 200))
                .issued_at(at(T0 - 30, 900))
        },
        exp: Some(T0 + 900), // T0 + 900.3, down
        nbf: Some(T0 + 6),   // T0 + 5.2, up
        iat: Some(T0 - 30),  // T0 - 29.1, down
    },
    Case {
        name: "relative times from a fractional clock",
        settings: |b| {
            b.clock(FixedClock(at(T0, 700)))
                .expires_in(Duration::milliseconds(60_500))
                .not_before(at(T0, 700))
        },
        exp: Some(T0 + 60), // signed at T0 (T0.7 down), + 60.5, down
        nbf: Some(T0 + 1),  // T0.7, up
        iat: Some(T0),      // the signing time
    },
    Case {
        name: "a negative fractional lifetime",
        settings: |b| {
            b.clock(FixedClock(at(T0, 700)))
                .expires_in(Duration::milliseconds(-500))
        },
        exp: Some(T0 - 1), // T0 - 0.5, down
        nbf: None,
        iat: Some(T0),
    },
    Case {
        name: "fractional times before 1970",
        settings: |b| {
            b.expires_at(at(0, -500))
                .not_before(at(-10, -500))
                .issued_at(at(-20, -250))
        },
        exp: Some(-1),  // -0.5, down
        nbf: Some(-10), // -10.5, up
        iat: Some(-21), // -20.25, down
    },
    Case {
        name: "whole seconds stay as they are",
        settings: |b| {
            b.clock(FixedClock(at(T0, 0)))
                .expires_at(at(T0 + 900, 0))
                .not_before(at(T0 + 5, 0))
                .issued_at(at(T0, 0))
        },
        exp: Some(T0 + 900),
        nbf: Some(T0 + 5),
        iat: Some(T0),
    },
    Case {
        name: "no iat, no nbf: the claims' own stay",
        settings: |b| {
            b.clock(FixedClock(at(T0, 999)))
                .expires_in(Duration::milliseconds(1_500))
                .without_issued_at()
        },
        exp: Some(T0 + 1), // signed at T0 (T0.999 down), + 1.5, down
        nbf: None,
        iat: None,
    },
];

/// Claims set on the template, with their own `nbf` and `iat`, and `exp` the setters replace.
#[derive(Serialize)]
struct Base {
    sub: &'static str,
    exp: i64,
    nbf: i64,
    iat: i64,
}

/// Claims made per token.
#[derive(Serialize)]
struct Session {
    sub: &'static str,
    jti: &'static str,
    nbf: i64,
    iat: i64,
}

#[derive(Serialize)]
struct Plain {
    sub: &'static str,
}

/// A template shape and the `nbf` / `iat` its own claims carry.
struct Template {
    name: &'static str,
    claims: fn(Builder) -> Builder,
    nbf: Option<i64>,
    iat: Option<i64>,
}

const TEMPLATES: &[Template] = &[
    Template {
        name: "empty",
        claims: |b| b,
        nbf: None,
        iat: None,
    },
    Template {
        name: "claims by name",
        claims: |b| {
            b.issuer("https://auth.example.com")
                .claim("exp", 1)
                .claim("nbf", 100)
                .claim("iat", 101)
        },
        nbf: Some(100),
        iat: Some(101),
    },
    Template {
        name: "claims from a struct",
        claims: |b| {
            b.claims(&Base {
                sub: "base",
                exp: 1,
                nbf: 200,
                iat: 201,
            })
        },
        nbf: Some(200),
        iat: Some(201),
    },
];

/// The claims given per token: a struct with its own `nbf` and `iat`, a struct without, a map
/// (which `sign_claims` signs the way of `claims`, for anything not a struct).
#[derive(Debug, Clone, Copy)]
enum PerToken {
    Struct,
    StructWithoutTimes,
    Map,
}

impl PerToken {
    const ALL: [PerToken; 3] = [
        PerToken::Struct,
        PerToken::StructWithoutTimes,
        PerToken::Map,
    ];

    /// The `nbf` and `iat` these claims carry.
    fn times(self) -> (Option<i64>, Option<i64>) {
        match self {
            PerToken::Struct => (Some(300), Some(301)),
            PerToken::StructWithoutTimes => (None, None),
            PerToken::Map => (Some(400), Some(401)),
        }
    }

    /// `template.clone().claims(c).sign(k)` and `template.sign_claims(c, k)`.
    fn sign_both_ways(self, template: &Builder) -> [(&'static str, String); 2] {
        fn both<T: Serialize>(template: &Builder, claims: &T) -> [(&'static str, String); 2] {
            [
                (
                    "claims then sign",
                    template.clone().claims(claims).sign(&key()).unwrap(),
                ),
                ("sign_claims", template.sign_claims(claims, &key()).unwrap()),
            ]
        }
        match self {
            PerToken::Struct => both(
                template,
                &Session {
                    sub: "user-42",
                    jti: "j-1",
                    nbf: 300,
                    iat: 301,
                },
            ),
            PerToken::StructWithoutTimes => both(template, &Plain { sub: "user-42" }),
            PerToken::Map => both(template, &json!({"sub": "user-42", "nbf": 400, "iat": 401})),
        }
    }
}

/// What is wrong with the time claims of `token`, if anything: `[exp, nbf, iat]` as written
/// (`null` for a claim left out), against the whole seconds expected.
fn wrong(
    token: &str,
    case: &Case,
    nbf: Option<i64>,
    iat: Option<i64>,
    path: &str,
) -> Option<String> {
    let claims = claims_of(token);
    let found = json!([claims.get("exp"), claims.get("nbf"), claims.get("iat")]);
    let expected = json!([case.exp, case.nbf.or(nbf), case.iat.or(iat)]);
    (found != expected).then(|| format!("{path}: [exp, nbf, iat] {found}, expected {expected}"))
}

#[test]
fn every_signing_path_rounds_nbf_up_and_exp_and_iat_down() {
    let (mut failures, mut tokens_checked) = (Vec::new(), 0);
    for case in CASES {
        for template in TEMPLATES {
            let builder = (template.claims)((case.settings)(Builder::new()));
            let path = format!("{} / template {} / sign", case.name, template.name);
            let token = builder.sign(&key()).unwrap();
            failures.extend(wrong(&token, case, template.nbf, template.iat, &path));
            tokens_checked += 1;

            for given in PerToken::ALL {
                // The per-token claims win over the template's; the setters over both.
                let (nbf, iat) = given.times();
                let (nbf, iat) = (nbf.or(template.nbf), iat.or(template.iat));
                let tokens = given.sign_both_ways(&builder);
                for (way, token) in &tokens {
                    let path = format!(
                        "{} / template {} / {given:?} / {way}",
                        case.name, template.name
                    );
                    failures.extend(wrong(token, case, nbf, iat, &path));
                    tokens_checked += 1;
                }
                // And the two ways sign the same bytes.
                if tokens[0].1 != tokens[1].1 {
                    failures.push(format!(
                        "{} / template {} / {given:?}: the two ways sign different tokens",
                        case.name, template.name
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} wrong of {tokens_checked} tokens:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
