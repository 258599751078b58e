//! Ratios measured **interleaved**, for a machine whose load changes faster than a criterion
//! group runs: for each pair (A, B) of the table, `ROUNDS` rounds each time a batch of A and a
//! batch of B back to back (order alternating) and keep A's time ÷ B's; the median of those
//! per-round ratios is printed, with the first and third quartile. Load that comes and goes
//! slows both sides of a round alike, so the ratio holds where criterion's absolute medians,
//! minutes apart, do not (BENCHMARKS.md, "Method").
//!
//!     cargo run --release --manifest-path keycard/benches/peers/Cargo.toml --example interleaved
//!     cargo run --release --manifest-path keycard/benches/peers/Cargo.toml --example interleaved --features aws-lc-rs
//!
//! An argument keeps only the rows whose name contains it (`... --example interleaved -- HS256`).
//! With `INTERLEAVED_CLOCK=cpu` in the environment, each batch is timed by the CPU time of this
//! thread (`CLOCK_THREAD_CPUTIME_ID`) instead of the wall clock: on a
//! machine with more runnable work than cores, the time this thread waits for a core then counts
//! on neither side (what the other work does to the caches still does).

use keycard_peers::{
    crypto, naive_sign, naive_verify, naive_verify_stack, now, pem_der, session, Session,
    SessionRef, AUDIENCE, ED25519_PKCS8, ED25519_SPKI, ISSUER, P256_PKCS8, P256_SPKI, RSA_PKCS8,
    RSA_SPKI, SECRET,
};
use std::hint::black_box;
use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use crypto::signature::{self as sig, KeyPair};
use keycard::{
    Algorithm, Builder, EcdsaPrivateKey, Ed25519PrivateKey, HmacKey, RsaPrivateKey, Signer,
    Validator, Verifier,
};

const ROUNDS: usize = 61;

fn signing_input(token: &str) -> (Vec<u8>, Vec<u8>) {
    let (input, signature) = token.rsplit_once('.').expect("three parts");
    (
        input.as_bytes().to_vec(),
        URL_SAFE_NO_PAD.decode(signature).expect("base64url"),
    )
}

/// Times `batch` calls of `f`, in nanoseconds per call: wall time, or this thread's CPU time
/// with `INTERLEAVED_CLOCK=cpu`.
fn time(batch: usize, f: &mut dyn FnMut()) -> f64 {
    static CPU: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let cpu = *CPU.get_or_init(|| std::env::var("INTERLEAVED_CLOCK").is_ok_and(|c| c == "cpu"));
    if cpu {
        let start = thread_cpu_nanos();
        for _ in 0..batch {
            f();
        }
        return (thread_cpu_nanos() - start) as f64 / batch as f64;
    }
    let start = Instant::now();
    for _ in 0..batch {
        f();
    }
    start.elapsed().as_nanos() as f64 / batch as f64
}

/// Nanoseconds this thread has run on a CPU (`CLOCK_THREAD_CPUTIME_ID`, which the kernel brings
/// up to date when read, unlike `/proc/thread-self/schedstat`).
fn thread_cpu_nanos() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(t.tv_nsec).unwrap_or(0)
}

/// The rows to run: those whose name contains the first argument, or all.
fn selected(name: &str) -> bool {
    static FILTER: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    FILTER
        .get_or_init(|| std::env::args().nth(1))
        .as_deref()
        .is_none_or(|filter| name.contains(filter))
}

/// Median and quartiles of A ÷ B over interleaved rounds, and the median times.
fn ratio(name: &str, batch: usize, a: &mut dyn FnMut(), b: &mut dyn FnMut()) {
    if !selected(name) {
        return;
    }
    for _ in 0..3 {
        time(batch, a);
        time(batch, b);
    }
    let (mut ratios, mut ta, mut tb) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (x, y) = if round % 2 == 0 {
            let x = time(batch, a);
            (x, time(batch, b))
        } else {
            let y = time(batch, b);
            (time(batch, a), y)
        };
        ratios.push(x / y);
        ta.push(x);
        tb.push(y);
    }
    for v in [&mut ratios, &mut ta, &mut tb] {
        v.sort_by(f64::total_cmp);
    }
    let q = |v: &[f64], p: usize| v[v.len() * p / 4];
    println!(
        "{name:<48} {:>6.3}x  [{:.3} {:.3}]   {:>10.0} ns / {:>10.0} ns",
        q(&ratios, 2),
        q(&ratios, 1),
        q(&ratios, 3),
        q(&ta, 2),
        q(&tb, 2)
    );
}

fn main() {
    let backend = if cfg!(feature = "aws-lc-rs") {
        "aws-lc-rs"
    } else {
        "ring"
    };
    let clock = match std::env::var("INTERLEAVED_CLOCK") {
        Ok(c) if c == "cpu" => "thread CPU time",
        _ => "wall time",
    };
    println!("keycard and primitive on {backend}; ratio = A / B, median of {ROUNDS} interleaved rounds [quartiles]; A time / B time ({clock})");

    // HS256.
    let key = HmacKey::new(Algorithm::HS256, SECRET).expect("key");
    let hmac = crypto::hmac::Key::new(crypto::hmac::HMAC_SHA256, SECRET);
    let template = Builder::new().without_issued_at();
    let token = template.sign_claims(&session(now()), &key).expect("sign");
    let (input, tag) = signing_input(&token);
    let validator = Validator::builder(key.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .expect("validator");
    let jwt_decoding = jsonwebtoken::DecodingKey::from_secret(SECRET).expect("key");
    let jwt_encoding = jsonwebtoken::EncodingKey::from_secret(SECRET).expect("key");
    let mut jwt_validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    jwt_validation.set_issuer(&[ISSUER]);
    jwt_validation.set_audience(&[AUDIENCE]);
    jwt_validation.validate_nbf = true;
    let jwt_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let mut buffer = Vec::with_capacity(1024);
    let batch = 2000;

    let owned = &mut || {
        black_box(
            validator
                .verify::<Session>(black_box(&token))
                .expect("verify"),
        );
    };
    let naive = &mut || {
        black_box(naive_verify(black_box(&token), &hmac).expect("verify"));
    };
    let naive_stack = &mut || {
        black_box(naive_verify_stack(black_box(&token), &hmac).expect("verify"));
    };
    ratio("HS256 verify: keycard / naive", batch, owned, naive);
    ratio(
        "HS256 verify: keycard / naive stack",
        batch,
        owned,
        naive_stack,
    );
    let borrowed = &mut || {
        let s: SessionRef<'_> = validator
            .verify_borrowed(black_box(&token), &mut buffer)
            .expect("verify");
        black_box(s.exp);
    };
    ratio(
        "HS256 verify: keycard borrowed / naive",
        batch,
        borrowed,
        naive,
    );
    ratio(
        "HS256 verify: keycard borrowed / naive stack",
        batch,
        borrowed,
        naive_stack,
    );
    ratio(
        "HS256 verify: naive / naive stack",
        batch,
        naive,
        naive_stack,
    );
    let jwt = &mut || {
        black_box(
            jsonwebtoken::decode::<Session>(black_box(&token), &jwt_decoding, &jwt_validation)
                .expect("jwt"),
        );
    };
    ratio("HS256 verify: jsonwebtoken / keycard", batch, jwt, owned);
    let primitive = &mut || {
        black_box(crypto::hmac::verify(&hmac, black_box(&input), black_box(&tag)).is_ok());
    };
    ratio("HS256 verify: keycard / primitive", batch, owned, primitive);

    let sign = &mut || {
        black_box(template.sign_claims(&session(now()), &key).expect("sign"));
    };
    let naive = &mut || {
        black_box(naive_sign(&session(now()), &hmac).expect("sign"));
    };
    ratio(
        "HS256 sign: keycard sign_claims / naive",
        batch,
        sign,
        naive,
    );
    let claims = &mut || {
        black_box(
            Builder::new()
                .claims(&session(now()))
                .sign(&key)
                .expect("sign"),
        );
    };
    ratio(
        "HS256 sign: keycard claims()+sign / naive",
        batch,
        claims,
        naive,
    );
    let jwt = &mut || {
        black_box(jsonwebtoken::encode(&jwt_header, &session(now()), &jwt_encoding).expect("jwt"));
    };
    ratio(
        "HS256 sign: jsonwebtoken / keycard sign_claims",
        batch,
        jwt,
        sign,
    );

    // Asymmetric: keycard (sign from the struct; verify into the owned struct) / primitive.
    let rsa = RsaPrivateKey::from_pem(Algorithm::RS256, RSA_PKCS8).expect("key");
    let rsa_pair = sig::RsaKeyPair::from_pkcs8(&pem_der(RSA_PKCS8)).expect("key");
    let rng = crypto::rand::SystemRandom::new();
    // ring deprecates this name for `public().modulus_len()`, which aws-lc-rs lacks.
    #[allow(deprecated)]
    let mut out = vec![0; rsa_pair.public_modulus_len()];
    asymmetric(
        "RS256",
        &rsa,
        rsa.public_key(),
        &mut |input| {
            rsa_pair
                .sign(&sig::RSA_PKCS1_SHA256, &rng, input, &mut out)
                .expect("sign");
        },
        &sig::RSA_PKCS1_2048_8192_SHA256,
        rsa_pair.public_key().as_ref(),
        (20, 200),
        Jwt::new(
            jsonwebtoken::Algorithm::RS256,
            jsonwebtoken::EncodingKey::from_rsa_pem(RSA_PKCS8.as_bytes()).expect("key"),
            jsonwebtoken::DecodingKey::from_rsa_pem(RSA_SPKI.as_bytes()).expect("key"),
        ),
    );
    let ec = EcdsaPrivateKey::from_pem(Algorithm::ES256, P256_PKCS8).expect("key");
    #[cfg(not(feature = "aws-lc-rs"))]
    let ec_pair = sig::EcdsaKeyPair::from_pkcs8(
        &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
        &pem_der(P256_PKCS8),
        &rng,
    )
    .expect("key");
    #[cfg(feature = "aws-lc-rs")]
    let ec_pair =
        sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &pem_der(P256_PKCS8))
            .expect("key");
    asymmetric(
        "ES256",
        &ec,
        ec.public_key(),
        &mut |input| {
            black_box(ec_pair.sign(&rng, input).expect("sign"));
        },
        &sig::ECDSA_P256_SHA256_FIXED,
        ec_pair.public_key().as_ref(),
        (200, 100),
        Jwt::new(
            jsonwebtoken::Algorithm::ES256,
            jsonwebtoken::EncodingKey::from_ec_pem(P256_PKCS8.as_bytes()).expect("key"),
            jsonwebtoken::DecodingKey::from_ec_pem(P256_SPKI.as_bytes()).expect("key"),
        ),
    );
    let ed = Ed25519PrivateKey::from_pem(ED25519_PKCS8).expect("key");
    let ed_pair =
        sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pem_der(ED25519_PKCS8)).expect("key");
    asymmetric(
        "EdDSA",
        &ed,
        ed.public_key(),
        &mut |input| {
            black_box(ed_pair.sign(input));
        },
        &sig::ED25519,
        ed_pair.public_key().as_ref(),
        (200, 200),
        Jwt::new(
            jsonwebtoken::Algorithm::EdDSA,
            jsonwebtoken::EncodingKey::from_ed_pem(ED25519_PKCS8.as_bytes()).expect("key"),
            jsonwebtoken::DecodingKey::from_ed_pem(ED25519_SPKI.as_bytes()).expect("key"),
        ),
    );
}

/// jsonwebtoken's keys and rules for one algorithm.
struct Jwt {
    header: jsonwebtoken::Header,
    encoding: jsonwebtoken::EncodingKey,
    decoding: jsonwebtoken::DecodingKey,
    validation: jsonwebtoken::Validation,
}

impl Jwt {
    fn new(
        algorithm: jsonwebtoken::Algorithm,
        encoding: jsonwebtoken::EncodingKey,
        decoding: jsonwebtoken::DecodingKey,
    ) -> Self {
        let mut validation = jsonwebtoken::Validation::new(algorithm);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.validate_nbf = true;
        Jwt {
            header: jsonwebtoken::Header::new(algorithm),
            encoding,
            decoding,
            validation,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn asymmetric(
    name: &str,
    key: &(impl Signer + ?Sized),
    public: impl Verifier + Clone + 'static,
    primitive_sign: &mut dyn FnMut(&[u8]),
    algorithm: &'static dyn sig::VerificationAlgorithm,
    public_bytes: &[u8],
    (sign_batch, verify_batch): (usize, usize),
    jwt: Jwt,
) {
    let template = Builder::new().without_issued_at();
    let token = template.sign_claims(&session(now()), key).expect("sign");
    let (input, signature) = signing_input(&token);
    let validator = Validator::builder(public.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .expect("validator");
    #[cfg(not(feature = "aws-lc-rs"))]
    let primitive_verify = {
        let key = sig::UnparsedPublicKey::new(algorithm, public_bytes.to_vec());
        move |m: &[u8], s: &[u8]| key.verify(m, s).is_ok()
    };
    #[cfg(feature = "aws-lc-rs")]
    let primitive_verify = {
        let key = sig::ParsedPublicKey::new(algorithm, public_bytes).expect("key");
        move |m: &[u8], s: &[u8]| key.verify_sig(m, s).is_ok()
    };
    assert!(primitive_verify(&input, &signature));
    ratio(
        &format!("{name} sign: keycard sign_claims / primitive"),
        sign_batch,
        &mut || {
            black_box(template.sign_claims(&session(now()), key).expect("sign"));
        },
        &mut || primitive_sign(black_box(&input)),
    );
    ratio(
        &format!("{name} verify: keycard / primitive"),
        verify_batch,
        &mut || {
            black_box(
                validator
                    .verify::<Session>(black_box(&token))
                    .expect("verify"),
            );
        },
        &mut || {
            assert!(primitive_verify(black_box(&input), black_box(&signature)));
        },
    );
    let keycard_sign = &mut || {
        black_box(template.sign_claims(&session(now()), key).expect("sign"));
    };
    ratio(
        &format!("{name} sign: jsonwebtoken / keycard"),
        sign_batch,
        &mut || {
            black_box(
                jsonwebtoken::encode(&jwt.header, &session(now()), &jwt.encoding).expect("jwt"),
            );
        },
        keycard_sign,
    );
    ratio(
        &format!("{name} verify: jsonwebtoken / keycard"),
        verify_batch,
        &mut || {
            black_box(
                jsonwebtoken::decode::<Session>(black_box(&token), &jwt.decoding, &jwt.validation)
                    .expect("jwt"),
            );
        },
        &mut || {
            black_box(
                validator
                    .verify::<Session>(black_box(&token))
                    .expect("verify"),
            );
        },
    );
    // The verified-token cache: a verify of a token the validator has verified before (every
    // call a hit) against a verify of the same token without the cache.
    let cached = Validator::builder(public)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .cache_verified(10_000, keycard::time::Duration::minutes(5))
        .build()
        .expect("validator");
    cached.verify::<Session>(&token).expect("verify");
    ratio(
        &format!("{name} verify: keycard / keycard cache hit"),
        verify_batch,
        &mut || {
            black_box(
                validator
                    .verify::<Session>(black_box(&token))
                    .expect("verify"),
            );
        },
        &mut || {
            black_box(cached.verify::<Session>(black_box(&token)).expect("verify"));
        },
    );
    let mut buffer = Vec::with_capacity(1024);
    ratio(
        &format!("{name} verify: keycard borrowed / primitive"),
        verify_batch,
        &mut || {
            let s: SessionRef<'_> = validator
                .verify_borrowed(black_box(&token), &mut buffer)
                .expect("verify");
            black_box(s.exp);
        },
        &mut || {
            assert!(primitive_verify(black_box(&input), black_box(&signature)));
        },
    );
}
