//! Project Wycheproof's JOSE-level test file, `tests/vectors/wycheproof/json_web_signature_test.json`
//! (401 compact JWS tests, Apache-2.0), run end to end: each group's JWK goes through
//! [`KeySet::from_jwks_with_secrets`] (the documents hold HMAC secrets, which [`KeySet::from_jwks`] skips), and each token through
//! [`Validator::verify`].
//!
//! Wycheproof tests the JWS layer, and most payloads are not JSON objects (`foo`, `Test`, empty):
//! a JWT validator verifies their signature and then refuses the claims. So a token counts as
//! *accepted at the JWS layer* when it verifies, or when the only failure is the claims stage
//! (`ErrorKind::Malformed` with a "claims" message); every other error is a rejection.
//!
//! Where keycard decides differently from Wycheproof, the test id and the reason are listed in
//! [`DISAGREEMENTS`]; the test fails on any other difference, and on any entry that stops
//! applying.

use keycard::{ErrorKind, KeySet, Validator};
use serde_json::Value;

/// Tests keycard decides differently, by design, with the reason.
const DISAGREEMENTS: &[(u64, &str)] = &[
    // The group's JWK says `"alg":"PS256"` but the token (RFC 7520 Figure 20) is PS384. RFC 7517
    // §4.4 makes `alg` the algorithm the key is for; keycard binds the key to it (RFC 8725 §3.1)
    // and refuses a PS384 token, where Wycheproof ignores the member.
    (
        346,
        "the JWK's alg is PS256, the token's PS384: keycard honours the key's alg",
    ),
    (
        350,
        "the JWK's alg is PS256, the token's PS384: keycard honours the key's alg",
    ),
    // RFC 7520 §4.3: ES512 (P-521). `ring` has no P-521, so keycard cannot build the key (the JWK
    // even says `"alg":"ES521"`) and refuses the token: unsupported, not accepted.
    (
        347,
        "ES512 (P-521) is not implemented by ring: the key is skipped, the token refused",
    ),
    (
        351,
        "ES512 (P-521) is not implemented by ring: the key is skipped, the token refused",
    ),
    // Wycheproof marks these valid because the MAC is computed over the text as received, so a
    // lenient decoder that drops the stray character accepts them. RFC 7515 §2 and §3.1 define
    // the parts as base64url without other characters; keycard's strict decoder (SECURITY.md
    // item 13: one token, one spelling) refuses them as malformed.
    (
        372,
        "a character outside base64url inserted in the header: strict base64url refuses it",
    ),
    (
        373,
        "a character outside base64url inserted in the payload: strict base64url refuses it",
    ),
];

/// Tests marked invalid whose token is, in the published file, byte for byte the token of the
/// valid test 357 ("ValidMac"): the padding they are named after is not in the file. keycard
/// accepts the token, as it must accept test 357; the test checks that the bytes are the same.
const SAME_AS_VALID_357: &[u64] = &[367, 370];

/// Whether keycard accepted `token` at the JWS layer (see the module docs).
fn accepted_at_jws_layer(validator: &Validator, token: &str) -> Result<(), String> {
    match validator.verify::<Value>(token) {
        Ok(_) => Ok(()),
        Err(e)
            if e.kind() == ErrorKind::Malformed
                && e.to_string().starts_with("malformed token: claims") =>
        {
            Ok(())
        }
        Err(e) => Err(format!("{} ({e})", e.kind())),
    }
}

#[test]
fn wycheproof_json_web_signature_tests() {
    let path = format!(
        "{}/tests/vectors/wycheproof/json_web_signature_test.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let (mut valid, mut invalid, mut total) = (0, 0, 0);
    let mut skipped_keys = 0;
    let mut differences: Vec<(u64, String)> = Vec::new();
    let mut tokens: std::collections::HashMap<u64, String> = std::collections::HashMap::new();

    for group in file["testGroups"].as_array().unwrap() {
        // A verifier holds public keys; for HMAC the secret is the key (RFC 7517 A.3 shape).
        let jwk = group.get("public").unwrap_or(&group["private"]);
        let document = serde_json::json!({ "keys": [jwk] }).to_string();
        let keys = KeySet::from_jwks_with_secrets(&document).unwrap();
        skipped_keys += keys.skipped().len();
        let skip_reason = keys.skipped().first().map(ToString::to_string);
        let validator = Validator::builder_with_keys(keys)
            .dangerous()
            .allow_missing_expiry()
            .dangerous()
            .allow_any_audience()
            .build();

        for test in group["tests"].as_array().unwrap() {
            total += 1;
            let id = test["tcId"].as_u64().unwrap();
            // Test 17 is a JSON-serialized JWS: keycard reads the compact form only.
            let token = match &test["jws"] {
                Value::String(token) => token.clone(),
                other => other.to_string(),
            };
            let outcome = match &validator {
                Ok(validator) => accepted_at_jws_layer(validator, &token),
                Err(e) => Err(format!(
                    "no usable key: {} ({e})",
                    skip_reason.as_deref().unwrap_or("-")
                )),
            };
            tokens.insert(id, token.clone());
            let expected_valid = match test["result"].as_str().unwrap() {
                "valid" => true,
                "invalid" => false,
                other => panic!("tc {id}: result {other}"),
            };
            match (expected_valid, &outcome) {
                (true, Ok(())) => valid += 1,
                (false, Err(_)) => invalid += 1,
                (true, Err(why)) => differences.push((id, format!("valid, but refused: {why}"))),
                (false, Ok(())) => differences.push((id, "invalid, but accepted".to_owned())),
            }
        }
    }

    println!(
        "Wycheproof JWS: {total} tests; {valid} valid accepted, {invalid} invalid refused, \
         {} decided differently by policy; {skipped_keys} group keys skipped by KeySet",
        differences.len()
    );
    for (id, why) in &differences {
        println!("  tc {id}: {why}");
    }
    assert_eq!(total, 401);
    for id in SAME_AS_VALID_357 {
        assert_eq!(tokens[id], tokens[&357], "tc {id}");
    }
    let mut found: Vec<u64> = differences
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !SAME_AS_VALID_357.contains(id))
        .collect();
    found.sort_unstable();
    let mut listed: Vec<u64> = DISAGREEMENTS.iter().map(|(id, _)| *id).collect();
    listed.sort_unstable();
    assert_eq!(found, listed, "differences: {differences:#?}");
    // Apart from the duplicated tokens, every difference is a refusal of a token Wycheproof
    // calls valid: keycard never accepts what Wycheproof rejects.
    for (id, why) in &differences {
        assert!(
            SAME_AS_VALID_357.contains(id) || why.starts_with("valid, but refused"),
            "tc {id}: {why}"
        );
    }
}
