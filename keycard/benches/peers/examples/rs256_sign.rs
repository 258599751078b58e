//! RS256 signing, keycard or the primitive alone, `N` times: for instruction counts, which do not
//! depend on the machine's load (BENCHMARKS.md, "RS256 sign"):
//!
//!     cargo build --release --manifest-path keycard/benches/peers/Cargo.toml --example rs256_sign
//!     valgrind --tool=callgrind keycard/benches/peers/target/release/examples/rs256_sign keycard 20
//!     valgrind --tool=callgrind keycard/benches/peers/target/release/examples/rs256_sign primitive 20

use base64::Engine;
use keycard::{Algorithm, Builder, RsaPrivateKey};
use keycard_peers::{crypto, RSA_PKCS8};

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_default();
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(20);
    let key = RsaPrivateKey::from_pem(Algorithm::RS256, RSA_PKCS8).expect("key");
    let builder = Builder::new()
        .issuer("https://auth.example.com")
        .subject("user-42")
        .expires_in(keycard::time::Duration::minutes(15));
    let token = builder.sign(&key).expect("sign");
    let input = token.rsplit_once('.').expect("three parts").0.as_bytes();
    let body: String = RSA_PKCS8
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("pem");
    let pair = crypto::signature::RsaKeyPair::from_pkcs8(&der).expect("key");
    let rng = crypto::rand::SystemRandom::new();
    // ring deprecates this name for `public().modulus_len()`, which aws-lc-rs lacks.
    #[allow(deprecated)]
    let mut out = vec![0; pair.public_modulus_len()];
    for _ in 0..n {
        match which.as_str() {
            "keycard" => {
                std::hint::black_box(builder.sign(&key).expect("sign"));
            }
            _ => pair
                .sign(&crypto::signature::RSA_PKCS1_SHA256, &rng, input, &mut out)
                .expect("sign"),
        }
    }
}
