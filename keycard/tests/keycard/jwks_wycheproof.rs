//! Project Wycheproof's `json_web_key_test.json` (Apache-2.0, `tests/vectors/wycheproof/`) through
//! keycard's JWK Set parser and validator: each group's key set is read with
//! `KeySet::from_jwks_with_secrets` (the `public` set where the group has one, else the `private` one, which
//! for `oct` keys is the only form), and each test's JWS must verify exactly when the vector says
//! `valid`.
//!
//! The payloads are `foo`, not a JSON object, so "the signature verified" is seen as the
//! validator failing afterwards on the claims (a malformed-claims error), never as a signature,
//! key id or algorithm error.
//!
//! ## Where keycard's policy differs (by test id)
//!
//! - **tcId 1** (`MixedKeySet`, flagged `Ambiguous` by Wycheproof itself): the set holds an HS256
//!   secret and an ES256 public key, and Wycheproof expects the whole set refused. keycard reads a
//!   set key by key and refuses only the keys it cannot use (so one odd key in an identity
//!   provider's set does not take a service down); each key is bound to its own algorithm, so a
//!   mixed set opens no HMAC/public-key confusion: the HS256 token verifies with the HS256 key.
//!   keycard never exports the secret (`KeySet::to_json` writes public keys only).

use std::collections::BTreeSet;

use keycard::{Claims, ErrorKind, KeySet, Validator};
use serde_json::Value;

/// Test ids whose expected result keycard does not share, with the reason in the module docs.
const POLICY_DISAGREEMENTS: [u64; 1] = [1];

fn load() -> Value {
    let path = format!(
        "{}/tests/vectors/wycheproof/json_web_key_test.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// What happened to one token.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The signature verified (the claims were then refused, or accepted).
    Verified,
    /// Refused before or at the signature, with this kind.
    Refused(ErrorKind),
    /// The key set had no usable key, so there was no validator to ask.
    NoUsableKey,
}

fn outcome(set: &KeySet, jws: &str) -> Outcome {
    let Ok(validator) = Validator::builder_with_keys(set.clone()).build() else {
        return Outcome::NoUsableKey;
    };
    match validator.verify::<Claims>(jws) {
        Ok(_) => Outcome::Verified,
        Err(err) if err.kind() == ErrorKind::Malformed && err.to_string().contains("claims") => {
            Outcome::Verified
        }
        Err(err) => Outcome::Refused(err.kind()),
    }
}

#[test]
fn wycheproof_json_web_key_tests_agree_except_documented_policy() {
    let file = load();
    let mut total: u64 = 0;
    let (mut valid, mut invalid) = (0, 0);
    let mut disagreements = BTreeSet::new();
    let mut skipped_keys = 0;
    for group in file["testGroups"].as_array().unwrap() {
        let keys = if group["public"].is_object() {
            &group["public"]
        } else {
            &group["private"]
        };
        let set = KeySet::from_jwks_with_secrets(&keys.to_string()).unwrap();
        skipped_keys += set.skipped().len();
        for test in group["tests"].as_array().unwrap() {
            total += 1;
            let id = test["tcId"].as_u64().unwrap();
            let expected_valid = test["result"] == "valid";
            if expected_valid {
                valid += 1;
            } else {
                invalid += 1;
            }
            let got = outcome(&set, test["jws"].as_str().unwrap());
            if (got == Outcome::Verified) != expected_valid {
                eprintln!(
                    "tcId {id} ({}): expected {}, got {got:?}; skipped: {:?}",
                    test["comment"],
                    test["result"],
                    set.skipped()
                );
                disagreements.insert(id);
            }
        }
    }
    eprintln!(
        "Wycheproof JWK: {total} tests ({valid} valid, {invalid} invalid), {} agree, \
         disagreements {disagreements:?}, {skipped_keys} keys skipped",
        total - disagreements.len() as u64
    );
    assert_eq!(total, file["numberOfTests"].as_u64().unwrap());
    assert_eq!(total, 26);
    assert_eq!(
        disagreements,
        BTreeSet::from(POLICY_DISAGREEMENTS),
        "only the documented policy differences"
    );
}

/// One group's key set, by the group's comment and the test it holds.
fn group_of(test_id: u64) -> (KeySet, String) {
    let file = load();
    for group in file["testGroups"].as_array().unwrap() {
        for test in group["tests"].as_array().unwrap() {
            if test["tcId"] == test_id {
                let keys = if group["public"].is_object() {
                    &group["public"]
                } else {
                    &group["private"]
                };
                let set = KeySet::from_jwks_with_secrets(&keys.to_string()).unwrap();
                return (set, test["jws"].as_str().unwrap().to_owned());
            }
        }
    }
    panic!("no tcId {test_id}");
}

#[test]
fn wycheproof_refusals_happen_for_the_stated_reason() {
    // (tcId, words the skip reason must contain)
    let cases: [(u64, &str); 14] = [
        (6, "use: enc"),
        (7, "ROCA"),
        (8, "1024 bits"),
        (9, "exponent"),
        (10, "at least 32 bytes"),
        (11, "at least 48 bytes"),
        (12, "at least 64 bytes"),
        (16, "at least 32 bytes"),
        (19, "ES521"),
        (20, "ES224"),
        (21, "use: enc"),
        (22, "not a point on the curve"),
        (23, "P-384"),
        (24, "needs `n`"),
    ];
    for (id, reason) in cases {
        let (set, jws) = group_of(id);
        assert!(
            set.is_empty(),
            "tcId {id}: {:?}",
            set.iter().collect::<Vec<_>>()
        );
        let skipped = &set.skipped()[0];
        assert!(
            skipped.reason().contains(reason),
            "tcId {id}: {skipped} lacks {reason:?}"
        );
        assert_eq!(outcome(&set, &jws), Outcome::NoUsableKey, "tcId {id}");
    }
    // AES keys (A256GCM, A256KW) are not JWS algorithms.
    for id in [25, 26] {
        let (set, _) = group_of(id);
        assert_eq!(set.skipped()[0].kind(), ErrorKind::Algorithm, "tcId {id}");
    }
    // Duplicate kid: both keys left out, so the token's kid is unknown to the set.
    let (set, _) = group_of(4);
    assert!(set.is_empty());
    assert_eq!(set.skipped().len(), 2);
    assert!(
        set.skipped()[1].reason().contains("same kid"),
        "{}",
        set.skipped()[1]
    );
}

#[test]
fn wycheproof_modified_signature_is_a_signature_error() {
    let (set, jws) = group_of(3);
    assert_eq!(outcome(&set, &jws), Outcome::Refused(ErrorKind::Signature));
}
