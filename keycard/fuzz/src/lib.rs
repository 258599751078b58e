//! The bodies of keycard's fuzz targets, shared by `cargo +nightly fuzz` (`fuzz_targets/*.rs`,
//! one line each) and by the stable replay of the committed corpus (`tests/fuzz_corpus.rs`
//! includes this file), so that CI checks every corpus and regression input without nightly.
//!
//! Every body feeds its input to public keycard functions and asserts only what must always
//! hold: nothing panics, every error has a kind, and what keycard produced itself verifies.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keycard::time::{Duration, OffsetDateTime};
use keycard::{
    unverified, Algorithm, Builder, Claims, EcdsaPrivateKey, EcdsaPublicKey, Ed25519PrivateKey,
    Ed25519PublicKey, ErrorKind, FixedClock, HmacKey, Jwk, KeySet, RsaPrivateKey, RsaPublicKey,
    Signer, Validator, Verifier,
};
use serde::Deserialize;
use serde_json::Value;

/// The instant every fuzz validator and builder takes as "now": 2027-01-15T08:00:00Z.
pub const NOW: i64 = 1_800_000_000;

/// The HS256 secret of the fixed key set (32 bytes, the RFC 7518 §3.2 minimum).
pub const HMAC_SECRET: &[u8; 32] = b"keycard fuzz secret, 32 bytes!!!";

const RSA_PEM: &str = include_str!("../../tests/keys/rsa2048.pkcs8.pem");
const P256_PEM: &str = include_str!("../../tests/keys/p256.pkcs8.pem");
const P384_PEM: &str = include_str!("../../tests/keys/p384.sec1.pem");
const ED25519_PEM: &str = include_str!("../../tests/keys/ed25519.pkcs8.pem");

/// The fixed key set: one signer per algorithm family, each with a `kid` named after it.
pub struct Fixture {
    /// `(kid, signer)` pairs; the verifying halves are in the validators.
    pub signers: Vec<(&'static str, Box<dyn Signer>)>,
    /// The verifying half of each signer, in the same order.
    pub publics: Vec<Arc<dyn Verifier>>,
    /// Validators over the public halves, from the strict default to the most permissive.
    pub validators: Vec<Validator>,
}

fn clock() -> FixedClock {
    FixedClock(OffsetDateTime::from_unix_timestamp(NOW).expect("NOW is a valid time"))
}

fn rsa(alg: Algorithm, kid: &str) -> RsaPrivateKey {
    RsaPrivateKey::from_pem(alg, RSA_PEM)
        .expect("test RSA key")
        .with_key_id(kid)
}

/// The fixed keys and validators, built once per process.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let hs = HmacKey::new(Algorithm::HS256, HMAC_SECRET)
            .expect("32-byte secret")
            .with_key_id("hs");
        let rs = rsa(Algorithm::RS256, "rs");
        let ps = rsa(Algorithm::PS384, "ps");
        let es256 = EcdsaPrivateKey::from_pem(Algorithm::ES256, P256_PEM)
            .expect("test P-256 key")
            .with_key_id("es256");
        let es384 = EcdsaPrivateKey::from_pem(Algorithm::ES384, P384_PEM)
            .expect("test P-384 key")
            .with_key_id("es384");
        let ed = Ed25519PrivateKey::from_pem(ED25519_PEM)
            .expect("test Ed25519 key")
            .with_key_id("ed");
        // A key without a kid: a candidate for any HS512 token.
        let anonymous = HmacKey::new(Algorithm::HS512, &[7; 64]).expect("64-byte secret");

        let keys = || {
            let mut set = KeySet::new();
            set.insert(hs.clone());
            set.insert(rs.public_key());
            set.insert(ps.public_key());
            set.insert(es256.public_key());
            set.insert(es384.public_key());
            set.insert(ed.public_key());
            set.insert(anonymous.clone());
            set
        };
        let validators = vec![
            Validator::builder_with_keys(keys()).clock(clock()).build(),
            Validator::builder_with_keys(keys())
                .clock(clock())
                .issuer("https://issuer.example")
                .audience("api")
                .subject("user-1")
                .token_type("at+jwt")
                .require_claim("jti")
                .require_scope("read")
                .leeway(Duration::seconds(30))
                .build(),
            Validator::builder_with_keys(keys())
                .clock(clock())
                .issuer("https://issuer.example")
                .id_token("client-1")
                .max_age(Duration::hours(1))
                .leeway(Duration::minutes(5))
                .build(),
            Validator::builder_with_keys(keys())
                .clock(clock())
                .dangerous()
                .allow_missing_expiry()
                .dangerous()
                .allow_any_audience()
                .max_token_len(1 << 20)
                .build(),
        ]
        .into_iter()
        .map(|v| v.expect("fuzz validator configuration"))
        .collect();

        let publics: Vec<Arc<dyn Verifier>> = vec![
            Arc::new(HmacKey::new(Algorithm::HS256, HMAC_SECRET).expect("32-byte secret")),
            Arc::new(rs.public_key()),
            Arc::new(ps.public_key()),
            Arc::new(es256.public_key()),
            Arc::new(es384.public_key()),
            Arc::new(ed.public_key()),
            Arc::new(anonymous.clone()),
        ];
        let signers: Vec<(&'static str, Box<dyn Signer>)> = vec![
            ("hs", Box::new(hs)),
            ("rs", Box::new(rs)),
            ("ps", Box::new(ps)),
            ("es256", Box::new(es256)),
            ("es384", Box::new(es384)),
            ("ed", Box::new(ed)),
            ("", Box::new(anonymous)),
        ];
        Fixture {
            signers,
            publics,
            validators,
        }
    })
}

/// Claims that borrow from the verified payload, to exercise `verify_borrowed`.
#[derive(Deserialize)]
struct Borrowed<'a> {
    #[serde(borrow, default)]
    iss: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    sub: Option<Cow<'a, str>>,
}

/// Runs `token` through every validator and both unverified peeks. Returns whether any
/// validator accepted it.
fn check_token(token: &str) -> bool {
    let mut accepted = false;
    for validator in &fixture().validators {
        match validator.verify::<Claims>(token) {
            Ok(_) => accepted = true,
            Err(e) => {
                // Every error can be shown and classified, and its text is bounded and holds no
                // control character (no log injection; issue 14, finding 5).
                let _ = e.kind().as_str();
                check_error_text(&e);
            }
        }
        if let Ok(value) = validator.verify::<Value>(token) {
            assert!(value.is_object(), "verified claims must be a JSON object");
        }
        let mut buffer = Vec::new();
        let _ = validator
            .verify_borrowed::<Borrowed<'_>>(token, &mut buffer)
            .map(|b| (b.iss, b.sub));
    }
    let _ = unverified::decode_header(token);
    let _ = unverified::decode_claims::<Value>(token);
    accepted
}

/// The longest error text keycard may show for any input.
pub const MAX_ERROR_TEXT: usize = 1024;

/// Asserts that `e`'s message is at most [`MAX_ERROR_TEXT`] bytes and has no control character.
pub fn check_error_text(e: &keycard::Error) {
    let text = e.to_string();
    assert!(
        text.len() <= MAX_ERROR_TEXT,
        "error text of {} bytes",
        text.len()
    );
    assert!(
        !text.chars().any(char::is_control),
        "error text with a control character: {text:?}"
    );
}

/// `verify`: arbitrary bytes as a token, against the fixed key set.
pub fn verify(data: &[u8]) {
    check_token(&String::from_utf8_lossy(data));
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs `header.payload` (raw JSON bytes) with the fixed HS256 key, bypassing the builder so
/// that any header or payload bytes can be signed.
fn hs256_token(header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let (_, key) = &fixture().signers[0];
    let signature = key
        .sign(input.as_bytes())
        .expect("HMAC signing cannot fail");
    format!("{input}.{}", b64(&signature))
}

/// `header`: arbitrary bytes as the header JSON of a correctly HS256-signed token.
pub fn header(data: &[u8]) {
    let payload = format!(r#"{{"exp":{},"sub":"user-1"}}"#, NOW + 60);
    let token = hs256_token(data, payload.as_bytes());
    if check_token(&token) {
        // Accepted: the header named the HMAC key (or none) and HS256, with no extension.
        let header = unverified::decode_header(&token).expect("an accepted header decodes");
        assert_eq!(header.algorithm(), Algorithm::HS256);
    }
}

/// `claims`: arbitrary bytes as the claims JSON of a correctly HS256-signed token.
pub fn claims(data: &[u8]) {
    let token = hs256_token(br#"{"alg":"HS256","kid":"hs","typ":"JWT"}"#, data);
    check_token(&token);
    let token = hs256_token(br#"{"alg":"HS256","kid":"hs","typ":"at+jwt"}"#, data);
    check_token(&token);
}

const ALGORITHMS: [Algorithm; 14] = Algorithm::ALL;

/// `keys`: arbitrary bytes as PEM text, DER, raw components and raw points for every key type.
pub fn keys(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut ok = 0usize;
    for alg in ALGORITHMS {
        ok += usize::from(RsaPrivateKey::from_pem(alg, &text).is_ok());
        ok += usize::from(RsaPrivateKey::from_der(alg, data).is_ok());
        ok += usize::from(RsaPublicKey::from_pem(alg, &text).is_ok());
        ok += usize::from(RsaPublicKey::from_der(alg, data).is_ok());
        let half = data.len() / 2;
        ok += usize::from(RsaPublicKey::from_components(alg, &data[..half], &data[half..]).is_ok());
        ok += usize::from(EcdsaPrivateKey::from_pem(alg, &text).is_ok());
        ok += usize::from(EcdsaPrivateKey::from_der(alg, data).is_ok());
        ok += usize::from(EcdsaPublicKey::from_pem(alg, &text).is_ok());
        ok += usize::from(EcdsaPublicKey::from_der(alg, data).is_ok());
        ok += usize::from(EcdsaPublicKey::from_sec1_point(alg, data).is_ok());
    }
    ok += usize::from(Ed25519PrivateKey::from_pem(&text).is_ok());
    ok += usize::from(Ed25519PrivateKey::from_der(data).is_ok());
    ok += usize::from(Ed25519PrivateKey::from_seed(data).is_ok());
    ok += usize::from(Ed25519PublicKey::from_pem(&text).is_ok());
    ok += usize::from(Ed25519PublicKey::from_der(data).is_ok());
    ok += usize::from(Ed25519PublicKey::from_bytes(data).is_ok());
    ok += usize::from(HmacKey::new(Algorithm::HS256, data).is_ok());
    std::hint::black_box(ok);
}

/// `jwk`: arbitrary bytes as one JWK and as a JWK Set; whatever is read writes back out and
/// reads again as the same key.
pub fn jwk(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(jwk) = Jwk::from_json(&text) {
        let again = Jwk::from_json(&jwk.to_json()).expect("a JWK keycard wrote reads back");
        assert_eq!(again.thumbprint(), jwk.thumbprint());
        assert_eq!(again.key_id(), jwk.key_id());
        let _ = format!("{jwk:?}");
        if let Some(public) = jwk.to_public() {
            assert!(!public.is_private());
            assert_eq!(public.thumbprint(), jwk.thumbprint());
        }
        for alg in ALGORITHMS {
            if let Ok(verifier) = jwk.to_verifier(alg) {
                assert_eq!(verifier.algorithm(), alg);
                let _ = verifier.verify(b"message", &[0; 64]);
            }
            if let Ok(signer) = jwk.to_signer(alg) {
                assert_eq!(signer.algorithm(), alg);
            }
        }
    }
    for set in [
        KeySet::from_jwks(&text),
        KeySet::from_jwks_for(&text, &ALGORITHMS),
        KeySet::from_jwks_with_secrets(&text),
    ]
    .into_iter()
    .flatten()
    {
        for skipped in set.skipped() {
            let _ = skipped.kind();
            let text = skipped.to_string();
            assert!(
                text.len() <= MAX_ERROR_TEXT,
                "skip reason of {} bytes",
                text.len()
            );
            assert!(!text.chars().any(char::is_control), "{text:?}");
        }
        let published = set.to_json();
        let again = KeySet::from_jwks(&published).expect("a JWK Set keycard wrote reads back");
        assert!(again.len() <= set.len());
    }
}

/// Reads structure out of fuzz bytes; runs out gracefully (zeros, empty strings).
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    fn bytes(&mut self) -> &'a [u8] {
        let len = usize::from(self.byte() % 48).min(self.0.len());
        let (taken, rest) = self.0.split_at(len);
        self.0 = rest;
        taken
    }

    fn string(&mut self) -> String {
        String::from_utf8_lossy(self.bytes()).into_owned()
    }

    /// A claim name: usually one the validator reads strictly, sometimes anything.
    fn claim_name(&mut self) -> String {
        const NAMES: [&str; 16] = [
            "iss",
            "sub",
            "aud",
            "exp",
            "nbf",
            "iat",
            "jti",
            "sid",
            "scope",
            "scp",
            "azp",
            "auth_time",
            "nonce",
            "cnf",
            "role",
            "",
        ];
        match self.byte() {
            n if n < 128 => NAMES[usize::from(n) % NAMES.len()].to_owned(),
            _ => self.string(),
        }
    }

    fn value(&mut self, depth: u8) -> Value {
        match self.byte() % 9 {
            0 => Value::Null,
            1 => Value::Bool(self.byte() & 1 == 1),
            2 => Value::from(i64::from(self.u32()) - i64::from(u32::MAX / 2)),
            3 => Value::from(u64::from(self.u32()) << 20),
            4 => Value::from(f64::from(self.u32()) / 7.0),
            5 if depth < 3 => {
                let n = self.byte() % 4;
                Value::Array((0..n).map(|_| self.value(depth + 1)).collect())
            }
            6 if depth < 3 => {
                let n = self.byte() % 4;
                Value::Object(
                    (0..n)
                        .map(|_| (self.string(), self.value(depth + 1)))
                        .collect(),
                )
            }
            _ => Value::String(self.string()),
        }
    }
}

/// `roundtrip`: a token that `Builder` mints from fuzzed claims and header settings must verify
/// under a validator configured for exactly those settings, and give the claims back.
pub fn roundtrip(data: &[u8]) {
    let mut input = Input(data);
    let fixture = fixture();
    let which = usize::from(input.byte()) % fixture.signers.len();
    let (_, signer) = &fixture.signers[which];

    let mut builder = Builder::new()
        .clock(clock())
        .expires_in(Duration::seconds(1 + i64::from(input.u32() % 400_000_000)));
    // Free-form claims first: the dedicated setters below then decide `iss`, `sub`, `aud` and
    // `nbf`, as they would in a caller's code.
    for _ in 0..input.byte() % 6 {
        let name = input.claim_name();
        let value = input.value(0);
        builder = builder.claim(name, value);
    }
    let flags = input.byte();
    let issuer = input.string();
    if flags & 1 != 0 {
        builder = builder.issuer(issuer.clone());
    }
    let subject = input.string();
    if flags & 2 != 0 {
        builder = builder.subject(subject.clone());
    }
    let audiences: Vec<String> = (0..input.byte() % 3).map(|_| input.string()).collect();
    for aud in &audiences {
        builder = builder.audience(aud.clone());
    }
    if flags & 4 != 0 {
        let back = i64::from(input.u32() % 1_000_000_000);
        let nbf = OffsetDateTime::from_unix_timestamp(NOW - back).expect("in range");
        builder = builder.not_before(nbf);
    }
    let kid = input.string();
    if flags & 8 != 0 {
        builder = builder.key_id(kid);
    }
    let typ = input.string();
    if flags & 16 != 0 {
        builder = builder.token_type(typ.clone());
    }

    let token = match builder.sign(&**signer) {
        Ok(token) => token,
        // The builder may refuse what it cannot mint correctly (a registered claim of the wrong
        // type); that is a typed refusal, never a panic.
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
            return;
        }
    };

    // A validator for exactly these settings, with the signer's public half answering to the
    // kid the token carries.
    let token_kid = unverified::decode_header(&token)
        .expect("a minted header decodes")
        .key_id()
        .map(str::to_owned);
    let key = WithKid {
        inner: fixture.publics[which].clone(),
        kid: token_kid,
    };
    let mut validator = Validator::builder(key)
        .clock(clock())
        .max_token_len(1 << 20);
    if flags & 1 != 0 && !issuer.is_empty() {
        validator = validator.issuer(issuer.clone());
    }
    if flags & 2 != 0 && !subject.is_empty() {
        validator = validator.subject(subject.clone());
    }
    match audiences.iter().find(|a| !a.is_empty()) {
        Some(aud) => validator = validator.audience(aud.clone()),
        None => validator = validator.dangerous().allow_any_audience(),
    }
    if flags & 16 != 0 && !typ.is_empty() {
        validator = validator.token_type(typ.clone());
    }
    let validator = validator.build().expect("a valid validator configuration");

    let claims: Claims = match validator.verify(&token) {
        Ok(claims) => claims,
        // A free-form `nbf` claim in the future is a correct refusal, not a failed round trip.
        Err(e) if e.kind() == ErrorKind::NotYetValid && nbf_in_future(&token) => return,
        Err(e) => panic!(
            "keycard refused a token it minted itself: {e} ({:?})",
            e.kind()
        ),
    };
    if flags & 1 != 0 {
        assert_eq!(claims.issuer.as_deref(), Some(issuer.as_str()));
    }
    if flags & 2 != 0 {
        assert_eq!(claims.subject.as_deref(), Some(subject.as_str()));
    }
    for aud in &audiences {
        assert!(claims.audience.as_ref().is_some_and(|a| a.contains(aud)));
    }
}

/// Whether the token's (unverified) `nbf` lies after [`NOW`].
fn nbf_in_future(token: &str) -> bool {
    unverified::decode_claims::<Claims>(token)
        .ok()
        .and_then(|claims| claims.not_before)
        .is_some_and(|nbf| {
            nbf.to_datetime().unix_timestamp_nanos() > i128::from(NOW) * 1_000_000_000
        })
}

/// A fixture verifier answering to a chosen `kid`.
#[derive(Debug)]
struct WithKid {
    inner: Arc<dyn Verifier>,
    kid: Option<String>,
}

impl Verifier for WithKid {
    fn algorithm(&self) -> Algorithm {
        self.inner.algorithm()
    }

    fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), keycard::Error> {
        self.inner.verify(message, signature)
    }
}
