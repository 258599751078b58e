//! No panic on any input (SECURITY.md item 23) for the JWK and JWK Set readers: every truncation
//! and many single-byte mutations of real documents (RFC 7517 and RFC 8037 examples) are read,
//! and whatever parses is turned into keys for every algorithm. Each call must return.

use keycard::{Algorithm, Jwk, KeySet};
use serde_json::Value;

const ALGORITHMS: [Algorithm; 14] = Algorithm::ALL;

fn vector(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Truncations at every length, and each byte replaced by a few characters that matter to JSON
/// and base64url.
fn variants(text: &str) -> impl Iterator<Item = Vec<u8>> + '_ {
    let bytes = text.as_bytes();
    let truncations = (0..bytes.len()).map(move |n| bytes[..n].to_vec());
    let mutations = (0..bytes.len()).flat_map(move |i| {
        [b'"', b'A', b'_', b'=', b'{', b'0', 0xff]
            .into_iter()
            .map(move |b| {
                let mut copy = bytes.to_vec();
                copy[i] = b;
                copy
            })
    });
    truncations.chain(mutations)
}

/// Reads one JWK and makes every key it can; returns whether it parsed.
fn exercise_jwk(bytes: &[u8], signers: bool) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let Ok(jwk) = Jwk::from_json(text) else {
        return false;
    };
    let _ = (
        jwk.thumbprint(),
        jwk.to_json(),
        jwk.to_public(),
        format!("{jwk:?}"),
    );
    for algorithm in ALGORITHMS {
        let _ = jwk.to_verifier(algorithm);
        if signers {
            let _ = jwk.to_signer(algorithm);
        }
    }
    true
}

#[test]
fn mutated_ec_okp_and_oct_jwks_never_panic() {
    let examples = vector("rfc7517_jwk_examples");
    let ed = vector("rfc8037_a4_ed25519");
    let documents = [
        examples["a2_private_jwk_set"]["keys"][0].to_string(),
        examples["a3_symmetric_jwk_set"]["keys"][1].to_string(),
        ed["jwk"].to_string(),
    ];
    let mut parsed = 0;
    for document in &documents {
        for variant in variants(document) {
            parsed += usize::from(exercise_jwk(&variant, true));
        }
    }
    assert!(parsed > 100, "some variants still parse ({parsed})");
}

#[test]
fn mutated_rsa_jwk_never_panics() {
    // Verifiers only: each RSA private key construction is a full key check in ring.
    let examples = vector("rfc7517_jwk_examples");
    let document = examples["a1_public_jwk_set"]["keys"][1].to_string();
    for variant in variants(&document) {
        exercise_jwk(&variant, false);
    }
}

#[test]
fn mutated_jwk_sets_never_panic() {
    let examples = vector("rfc7517_jwk_examples");
    let document = examples["a1_public_jwk_set"].to_string();
    for variant in variants(&document) {
        let Ok(text) = std::str::from_utf8(&variant) else {
            continue;
        };
        if let Ok(set) = KeySet::from_jwks_for(text, &ALGORITHMS) {
            let _ = (set.to_json(), set.skipped().len(), format!("{set:?}"));
        }
    }
}

#[test]
fn deeply_nested_members_are_refused_not_a_stack_overflow() {
    let deep = format!(
        r#"{{"kty":"oct","k":"AQAB","ext":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(Jwk::from_json(&deep).is_err());
    // In a set, the one key too deep is skipped and reported; the document is still read
    // (issue 14, finding 7: one bad key does not fail a whole JWK Set).
    let deep_set = format!(r#"{{"keys":[{}]}}"#, deep);
    let set = KeySet::from_jwks(&deep_set).unwrap();
    assert!(set.is_empty());
    assert!(
        set.skipped()[0].reason().contains("deeper than 64"),
        "{}",
        set.skipped()[0]
    );
}
