//! SECURITY.md item 24: no secret, private key or HMAC key bytes in any `Debug` or `Display`
//! output or error message, in any common spelling (hex, base64, base64url, decimal bytes, the
//! PEM body), and no whole token in an error. What is and is not zeroized is documented in the
//! project's `SECURITY.md` ("Secrets in memory").

use crate::common;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::{at, key_file};
use keycard::time::Duration;
use keycard::{
    Algorithm, Builder, Claims, EcdsaPrivateKey, Ed25519PrivateKey, HmacKey, Jwk, KeySet,
    RsaPrivateKey, Signer, Validator,
};

/// The spellings of `secret` worth looking for: hex (both cases), base64 and base64url, and
/// `Debug`'s decimal list. Windows of 12 characters catch a secret that is printed in part.
fn spellings(secret: &[u8]) -> Vec<String> {
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let mut all = vec![
        hex.clone(),
        hex.to_uppercase(),
        STANDARD.encode(secret),
        STANDARD_NO_PAD.encode(secret),
        URL_SAFE_NO_PAD.encode(secret),
        format!("{:?}", &secret[..secret.len().min(8)])
            .trim_end_matches(']')
            .to_owned(),
    ];
    if let Ok(text) = std::str::from_utf8(secret) {
        all.push(text.to_owned());
    }
    let mut windows = Vec::new();
    for spelling in &all {
        let chars: Vec<char> = spelling.chars().collect();
        for start in (0..chars.len().saturating_sub(12)).step_by(6) {
            windows.push(chars[start..start + 12].iter().collect());
        }
    }
    all.extend(windows);
    all.retain(|s| s.len() >= 8);
    all
}

#[track_caller]
fn assert_hidden(what: &str, shown: &str, secret: &[u8]) {
    for spelling in spellings(secret) {
        assert!(
            !shown.contains(&spelling),
            "{what} shows the secret as {spelling:?}: {shown}"
        );
    }
}

/// The base64 body of a PEM file, in 16-character windows.
fn pem_body_windows(pem: &str) -> Vec<String> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let chars: Vec<char> = body.chars().collect();
    (0..chars.len().saturating_sub(16))
        .step_by(8)
        .map(|i| chars[i..i + 16].iter().collect())
        .collect()
}

#[test]
fn hmac_secret_is_in_no_debug_output_or_error() {
    let secret = b"an HMAC secret nobody may see!!!";
    let key = HmacKey::new(Algorithm::HS256, secret)
        .unwrap()
        .with_key_id("k1");
    assert_hidden("HmacKey Debug", &format!("{key:?}"), secret);
    assert_hidden("HmacKey Debug (pretty)", &format!("{key:#?}"), secret);

    let validator = Validator::builder(key.clone()).build().unwrap();
    assert_hidden("Validator Debug", &format!("{validator:?}"), secret);
    let mut set = KeySet::new();
    set.insert(key.clone());
    assert_hidden("KeySet Debug", &format!("{set:?}"), secret);
    // Publishing a key set never publishes a secret.
    assert_hidden("KeySet::to_json", &set.to_json(), secret);
    assert!(!set.to_json().contains("\"k\""));

    // A secret that is too short is refused without being echoed.
    let short = b"short secret 31 bytes long!!!!!";
    let err = HmacKey::new(Algorithm::HS256, short).unwrap_err();
    assert_hidden("short-secret error", &format!("{err} {err:?}"), short);
    // The same through a JWK.
    let jwk = format!(r#"{{"kty":"oct","k":"{}"}}"#, URL_SAFE_NO_PAD.encode(short));
    let err = Jwk::from_json(&jwk)
        .and_then(|jwk| jwk.to_verifier(Algorithm::HS256).map(|_| ()))
        .unwrap_err();
    assert_hidden("short JWK secret error", &format!("{err} {err:?}"), short);
    let skipped = KeySet::from_jwks(&format!(r#"{{"keys":[{jwk}]}}"#)).unwrap();
    for s in skipped.skipped() {
        assert_hidden("skipped key", &format!("{s} {s:?}"), short);
    }
}

#[test]
fn private_keys_are_in_no_debug_output() {
    let rsa_pem = key_file("rsa2048.pkcs8.pem");
    let rsa = RsaPrivateKey::from_pem(Algorithm::RS256, &rsa_pem).unwrap();
    let shown = format!("{rsa:?} {rsa:#?}");
    for window in pem_body_windows(&rsa_pem) {
        assert!(
            !shown.contains(&window),
            "RsaPrivateKey Debug shows {window}"
        );
    }

    let ec = EcdsaPrivateKey::from_pem(Algorithm::ES256, &key_file("p256.pkcs8.pem")).unwrap();
    let pkcs8 = ec.to_der();
    // The private scalar is the last 32 bytes before the public key in the PKCS#8 document;
    // looking for every 16-byte window of the whole document covers it.
    let shown = format!("{ec:?} {ec:#?}");
    for window in pkcs8.windows(16).step_by(8) {
        assert_hidden("EcdsaPrivateKey Debug", &shown, window);
    }

    let ed = Ed25519PrivateKey::from_pem(&key_file("ed25519.pkcs8.pem")).unwrap();
    assert_hidden(
        "Ed25519PrivateKey Debug",
        &format!("{ed:?} {ed:#?}"),
        &ed.to_seed(),
    );
}

#[test]
fn private_jwk_members_are_in_no_debug_output_and_never_published() {
    let ed = Ed25519PrivateKey::from_pem(&key_file("ed25519.pkcs8.pem")).unwrap();
    let seed = ed.to_seed();
    let x = URL_SAFE_NO_PAD.encode(ed.public_key().as_bytes());
    let private = format!(
        r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","d":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(&seed)
    );
    let jwk = Jwk::from_json(&private).unwrap();
    assert!(jwk.is_private());
    assert_hidden("private Jwk Debug", &format!("{jwk:?} {jwk:#?}"), &seed);
    let public = jwk.to_public().unwrap();
    assert_hidden("Jwk::to_public", &public.to_json(), &seed);
    // A private key in a set meant for verifying is skipped, and the reason does not echo it.
    let set = KeySet::from_jwks(&format!(r#"{{"keys":[{private}]}}"#)).unwrap();
    for s in set.skipped() {
        assert_hidden("skipped private JWK", &format!("{s} {s:?}"), &seed);
    }
    assert_hidden("KeySet Debug", &format!("{set:?}"), &seed);

    // A private JWK whose `d` does not match its `x` is refused without echoing `d`.
    let mut wrong_seed = seed.clone();
    wrong_seed[0] ^= 1;
    let mismatched = format!(
        r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","d":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(&wrong_seed)
    );
    if let Err(err) =
        Jwk::from_json(&mismatched).and_then(|j| j.to_signer(Algorithm::EdDSA).map(|_| ()))
    {
        assert_hidden(
            "mismatched JWK error",
            &format!("{err} {err:?}"),
            &wrong_seed,
        );
    }
}

#[test]
fn key_parsing_errors_do_not_echo_key_material() {
    let rsa_pem = key_file("rsa2048.pkcs8.pem");
    // Damage the PEM in several ways; no error may quote its body.
    let truncated = &rsa_pem[..rsa_pem.len() / 2];
    let no_end = rsa_pem.replace("-----END PRIVATE KEY-----", "");
    let bad_char = rsa_pem.replacen('A', "*", 3);
    let wrong_label = rsa_pem.replace("PRIVATE KEY", "EC PRIVATE KEY");
    for (what, pem) in [
        ("truncated", truncated.to_owned()),
        ("no END line", no_end),
        ("bad character", bad_char),
        ("wrong label", wrong_label),
    ] {
        for alg in [Algorithm::RS256, Algorithm::ES256] {
            let err = match alg {
                Algorithm::RS256 => RsaPrivateKey::from_pem(alg, &pem).map(|_| ()),
                _ => EcdsaPrivateKey::from_pem(alg, &pem).map(|_| ()),
            };
            let Err(err) = err else { continue };
            let shown = format!("{err} {err:?}");
            for window in pem_body_windows(&rsa_pem) {
                assert!(
                    !shown.contains(&window),
                    "{what}: error quotes the key: {shown}"
                );
            }
        }
    }
    // DER of a private key for the wrong algorithm.
    let der: Vec<u8> = STANDARD
        .decode(
            rsa_pem
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    let err = EcdsaPrivateKey::from_der(Algorithm::ES256, &der).unwrap_err();
    for window in der.windows(16).step_by(64) {
        assert_hidden("EC from RSA DER", &format!("{err} {err:?}"), window);
    }
}

#[test]
fn verification_errors_never_contain_the_token_or_its_signature() {
    let key = HmacKey::new(Algorithm::HS256, &[5; 32]).unwrap();
    let token = Builder::new()
        .subject("user-1")
        .claim("secret_claim", "a value only the holder should see")
        .expires_in(Duration::minutes(5))
        .sign(&key)
        .unwrap();
    let (input, signature) = token.rsplit_once('.').unwrap();
    let payload = input.split('.').nth(1).unwrap();
    let validators = [
        Validator::builder(HmacKey::new(Algorithm::HS256, &[6; 32]).unwrap())
            .build()
            .unwrap(),
        Validator::builder(key.clone())
            .audience("api")
            .build()
            .unwrap(),
        Validator::builder(key.clone())
            .clock(at(4_000_000_000))
            .build()
            .unwrap(),
    ];
    let long_kid = "k".repeat(5000);
    let broken = [
        token.clone(),
        format!("{token}x"),
        format!("{input}.{}", &signature[1..]),
        format!("{token}.{token}"),
        Builder::new()
            .key_id(long_kid.clone())
            .expires_in(Duration::minutes(5))
            .sign(&key)
            .unwrap(),
    ];
    for validator in &validators {
        for bad in &broken {
            let Err(err) = validator.verify::<Claims>(bad) else {
                continue;
            };
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains(signature), "{shown}");
            assert!(!shown.contains(payload), "{shown}");
            assert!(!shown.contains("a value only the holder"), "{shown}");
            assert!(!shown.contains(&long_kid[..100]), "{shown}");
            assert!(shown.len() < 400, "{shown}");
        }
    }
    // Signing failures of a custom signer carry the signer's message, nothing of the key.
    #[derive(Debug)]
    struct Failing;
    impl Signer for Failing {
        fn algorithm(&self) -> Algorithm {
            Algorithm::HS256
        }
        fn sign(&self, _: &[u8]) -> Result<Vec<u8>, keycard::Error> {
            Err(keycard::Error::signing(std::io::Error::other(
                "KMS unreachable",
            )))
        }
    }
    let err = Builder::new()
        .expires_in(Duration::minutes(5))
        .sign(&Failing)
        .unwrap_err();
    assert_eq!(err.to_string(), "signing failed: KMS unreachable");
}
