//! Mints a token with an expiry, prints it, verifies it and prints the claims.
//!
//! Run with `cargo run --example quickstart`.

use keycard::{Builder, Claims, HmacKey, Validator};
use time::Duration;

fn main() -> Result<(), keycard::Error> {
    // In production the secret comes from your secret store; it must be at least 32 bytes.
    let key = HmacKey::generate(keycard::Algorithm::HS256)?;

    // The front desk mints a key card...
    let token = Builder::new()
        .issuer("https://auth.example.com")
        .subject("user-42")
        .audience("api")
        .expires_in(Duration::minutes(15))
        .claim("scope", "read write")
        .sign(&key)?;
    println!("token:\n{token}\n");

    // ...and every door checks it.
    let validator = Validator::builder(key)
        .issuer("https://auth.example.com")
        .audience("api")
        .build()?;
    let claims: Claims = validator.verify(&token)?;
    println!("verified claims:\n{claims:#?}");

    // A tampered token is refused with a reason.
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    match validator.verify::<Claims>(&tampered) {
        Ok(_) => println!("\nunexpected: the tampered token verified"),
        Err(e) => println!("\ntampered token refused: [{}] {e}", e.kind()),
    }
    Ok(())
}
