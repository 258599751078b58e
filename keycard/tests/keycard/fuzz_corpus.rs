//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`: seeds and every crash input kept
//! as a regression) through the same bodies the fuzz targets run, on stable Rust, so CI checks
//! them without nightly or cargo-fuzz. Fuzzing itself: `cargo +nightly fuzz run <target>`.

// The fuzz crate's library, whose items are `pub` for its targets; here they are private.
#[path = "../../fuzz/src/lib.rs"]
#[allow(unreachable_pub)]
mod bodies;

use std::path::PathBuf;

/// Every input of `fuzz/corpus/<target>/`, sorted by name.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, bytes)
        })
        .collect()
}

fn replay(target: &str, body: fn(&[u8])) {
    let inputs = corpus(target);
    assert!(!inputs.is_empty(), "fuzz/corpus/{target} is empty");
    for (path, bytes) in &inputs {
        let outcome = std::panic::catch_unwind(|| body(bytes));
        assert!(outcome.is_ok(), "{target}: {} panicked", path.display());
    }
    println!("{target}: replayed {} inputs", inputs.len());
}

#[test]
fn verify_corpus_replays() {
    replay("verify", bodies::verify);
}

#[test]
fn header_corpus_replays() {
    replay("header", bodies::header);
}

#[test]
fn claims_corpus_replays() {
    replay("claims", bodies::claims);
}

#[test]
fn keys_corpus_replays() {
    replay("keys", bodies::keys);
}

#[test]
fn jwk_corpus_replays() {
    replay("jwk", bodies::jwk);
}

#[test]
fn roundtrip_corpus_replays() {
    replay("roundtrip", bodies::roundtrip);
}

/// Writes the seed corpus. Run once by hand, `cargo test --test fuzz_corpus -- --ignored`; the
/// fuzzer then mutates from these shapes instead of from nothing.
#[test]
#[ignore = "writes fuzz/corpus; run by hand when the seeds should change"]
fn write_seed_corpus() {
    use keycard::time::{Duration, OffsetDateTime};
    use keycard::{Builder, FixedClock};

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("create corpus directory");
        std::fs::write(dir.join(name), bytes).expect("write seed");
    };
    let now = OffsetDateTime::from_unix_timestamp(bodies::NOW).expect("in range");
    let fixture = bodies::fixture();

    // verify: one good token per fixture key, and the shapes of classic attacks.
    for (kid, signer) in &fixture.signers {
        let token = Builder::new()
            .clock(FixedClock(now))
            .issuer("https://issuer.example")
            .subject("user-1")
            .audience("api")
            .claim("scope", "read write")
            .random_jwt_id()
            .expires_in(Duration::hours(1))
            .sign(&**signer)
            .expect("sign a seed");
        write(
            "verify",
            &format!("token-{}", if kid.is_empty() { "anonymous" } else { kid }),
            token.as_bytes(),
        );
    }
    for (name, token) in [
        ("empty", ""),
        ("none", "eyJhbGciOiJub25lIn0.eyJleHAiOjE4MDAwMDM2MDB9."),
        ("five-parts", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"),
        ("padded", "eyJhbGciOiJIUzI1NiJ9.e30=.AAAA"),
        ("dots", "..."),
    ] {
        write("verify", name, token.as_bytes());
    }

    // header: headers a validator meets, good and hostile.
    for (name, json) in [
        ("plain", r#"{"alg":"HS256"}"#),
        ("kid-typ", r#"{"alg":"HS256","kid":"hs","typ":"JWT"}"#),
        ("at-jwt", r#"{"alg":"HS256","typ":"at+jwt","kid":"hs"}"#),
        ("crit", r#"{"alg":"HS256","crit":["exp"],"exp":1}"#),
        ("b64", r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#),
        (
            "jwk",
            r#"{"alg":"HS256","jwk":{"kty":"oct","k":"AAAA"},"jku":"https://e/","x5c":["AA"]}"#,
        ),
        ("duplicate", r#"{"alg":"HS256","alg":"none"}"#),
        ("cty", r#"{"alg":"HS256","cty":"JWT"}"#),
        ("none", r#"{"alg":"nOnE"}"#),
        ("kid-traversal", r#"{"alg":"HS256","kid":"../../dev/null"}"#),
        (
            "nested",
            r#"{"alg":"HS256","x":[[[[{"a":[1,2,{"b":null}]}]]]]}"#,
        ),
    ] {
        write("header", name, json.as_bytes());
    }

    // claims: claims each validator accepts, and every strict-typing edge.
    let exp = bodies::NOW + 600;
    let claim_sets = [
        ("minimal", format!(r#"{{"exp":{exp}}}"#)),
        (
            "access",
            format!(
                r#"{{"iss":"https://issuer.example","sub":"user-1","aud":["api","web"],"exp":{exp},"iat":{},"jti":"j1","scope":"read write"}}"#,
                bodies::NOW
            ),
        ),
        (
            "id-token",
            format!(
                r#"{{"iss":"https://issuer.example","sub":"u","aud":"client-1","azp":"client-1","exp":{exp},"iat":{},"auth_time":{},"nonce":"n"}}"#,
                bodies::NOW,
                bodies::NOW - 60
            ),
        ),
        (
            "fraction",
            format!(r#"{{"exp":{exp}.25,"nbf":{}.5}}"#, bodies::NOW),
        ),
        ("string-exp", r#"{"exp":"1800000600"}"#.to_owned()),
        (
            "huge",
            r#"{"exp":1e300,"nbf":-9223372036854775809,"iat":253402300799}"#.to_owned(),
        ),
        (
            "auth-time-max",
            format!(
                r#"{{"exp":{exp},"auth_time":253402300799,"aud":"client-1","iss":"https://issuer.example","sub":"u","iat":1}}"#
            ),
        ),
        ("duplicate", format!(r#"{{"exp":{exp},"exp":{exp}}}"#)),
        ("not-object", "[1,2,3]".to_owned()),
        (
            "deep",
            format!(
                r#"{{"exp":{exp},"x":{}{}}}"#,
                "[".repeat(200),
                "]".repeat(200)
            ),
        ),
    ];
    for (name, json) in &claim_sets {
        write("claims", name, json.as_bytes());
    }

    // keys: the test keys in every container, as PEM and as DER.
    for name in [
        "rsa2048.pkcs8.pem",
        "rsa2048.pkcs1.pem",
        "rsa2048.spki.pem",
        "rsa2048.pkcs1.pub.pem",
        "p256.pkcs8.pem",
        "p256.sec1.pem",
        "p256.spki.pem",
        "p384.sec1.pem",
        "p384.spki.pem",
        "ed25519.pkcs8.pem",
        "ed25519.spki.pem",
    ] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/keys")
            .join(name);
        let pem = std::fs::read_to_string(&path).expect("read test key");
        write("keys", name, pem.as_bytes());
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        use base64::Engine;
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .expect("PEM body");
        write("keys", &name.replace(".pem", ".der"), &der);
    }

    // jwk: the RFC 7517 examples, one key and whole sets.
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/rfc7517_jwk_examples.json");
    let examples: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read vectors")).expect("JSON");
    for set in [
        "a1_public_jwk_set",
        "a2_private_jwk_set",
        "a3_symmetric_jwk_set",
    ] {
        write("jwk", set, examples[set].to_string().as_bytes());
        for (i, key) in examples[set]["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .enumerate()
        {
            write("jwk", &format!("{set}-{i}"), key.to_string().as_bytes());
        }
    }
    let mut published = keycard::KeySet::new();
    for key in &fixture.publics {
        published.insert(key.clone());
    }
    write("jwk", "fixture-set", published.to_json().as_bytes());

    // roundtrip: a spread of structure bytes (a fixed pseudo-random sequence).
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for i in 0..16 {
        let bytes: Vec<u8> = (0..48 + 16 * i)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect();
        write("roundtrip", &format!("seed-{i:02}"), &bytes);
    }
}
