//! The life of a login, printed step by step: sign in → access + refresh token, call the API,
//! rotate the refresh token, catch a replayed (stolen) refresh token, sign out of one device, sign
//! out everywhere.
//!
//! Run with `cargo run --example refresh_flow` (from the workspace root, or `-p keycard-lifecycle`).
//! The issuer's methods are async; the in-memory stores answer at once, so a current-thread
//! runtime is all it needs.

use keycard::{Error, HmacKey};
use keycard_lifecycle::TokenIssuer;
use serde::Deserialize;
use serde_json::json;

/// What the API reads from an access token.
#[derive(Deserialize)]
struct Caller {
    sub: String,
    scope: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // The authorization server: one signing key, access tokens for "api", 15 min / 14 days.
    let key = HmacKey::generate(keycard::Algorithm::HS256)?;
    // The grace period (default 30 s) is 1 s here, so that step 4 need not wait long.
    let issuer = TokenIssuer::builder(key.clone(), key)
        .issuer("https://auth.example.com")
        .audience("api")
        .grace_period(time::Duration::seconds(1))
        .build()?;

    // The API: accepts only access tokens (`typ: at+jwt`) that carry the `read` scope and are
    // not revoked. It shares the issuer's revocation store.
    let api = issuer.access_validator().require_scope("read").build()?;

    println!("1. alice signs in");
    let pair = issuer
        .issue("alice", &json!({ "scope": "read write" }))
        .await?;
    describe("access token ", &pair.access_token)?;
    describe("refresh token", &pair.refresh_token)?;
    println!("   expires in    {} s", pair.expires_in.whole_seconds());

    println!("\n2. she calls the API");
    let caller: Caller = api.verify(&pair.access_token)?;
    println!("   verified: {} with scope `{}`", caller.sub, caller.scope);
    let refused = api.verify::<Caller>(&pair.refresh_token).map(|_| ());
    report(
        "   the refresh token is refused as an access token",
        refused,
    );

    println!("\n3. her client refreshes (keycard-client's TokenSource does it ahead of expiry)");
    let next = issuer.refresh(&pair.refresh_token).await?;
    let access = next.access_token;
    println!(
        "   a fresh access token ({} bytes) and a new refresh token; the old one is used up",
        access.len()
    );

    println!("\n4. the refresh token from step 1, already rotated, comes back");
    report(
        "   at once (a concurrent request of the client): the pair already issued",
        issuer.refresh(&pair.refresh_token).await.map(|_| ()),
    );
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    println!("   after the grace period it can only be a replay (an attacker):");
    report(
        "   refresh with the old token",
        issuer.refresh(&pair.refresh_token).await.map(|_| ()),
    );
    report(
        "   the whole session is now revoked, so the client's access token",
        api.verify::<Caller>(&access).map(|_| ()),
    );

    println!("\n5. alice signs in on her laptop and her phone, then signs out of the laptop");
    let laptop = issuer.issue("alice", &json!({ "scope": "read" })).await?;
    let phone = issuer.issue("alice", &json!({ "scope": "read" })).await?;
    issuer.revoke(&laptop.refresh_token).await?;
    report(
        "   laptop access token",
        api.verify::<Caller>(&laptop.access_token).map(|_| ()),
    );
    report(
        "   phone access token",
        api.verify::<Caller>(&phone.access_token).map(|_| ()),
    );

    println!("\n6. she changes her password: sign out everywhere");
    issuer.revoke_subject("alice").await?;
    report(
        "   phone access token",
        api.verify::<Caller>(&phone.access_token).map(|_| ()),
    );
    report(
        "   phone refresh token",
        issuer.refresh(&phone.refresh_token).await.map(|_| ()),
    );
    Ok(())
}

/// Prints a token's type and size (a token itself is a secret: never log it whole).
fn describe(name: &str, token: &str) -> Result<(), Error> {
    let typ = keycard::unverified::decode_header(token)?
        .token_type()
        .unwrap_or_default()
        .to_owned();
    println!("   {name} typ {typ}, {} bytes", token.len());
    Ok(())
}

/// Prints the outcome of a step, with the error kind when it was refused.
fn report(what: &str, outcome: Result<(), Error>) {
    match outcome {
        Ok(()) => println!("{what}: accepted"),
        Err(e) => println!("{what}: refused [{}] {e}", e.kind()),
    }
}
