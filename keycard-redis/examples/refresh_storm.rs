//! One API instance of a refresh storm, as its own process: it connects to Redis (its own
//! connections and revocation view), then, round after round, takes the refresh token a
//! coordinator hands out through Redis and has `TASKS` tasks present it at once, reporting each
//! outcome back. Run several against one Redis to see rotation stay single-successor across
//! processes; `keycard-redis`'s concurrency test runs 4 of them.
//!
//! Environment: `REDIS_URL` (default `redis://127.0.0.1:6379/`), `STORM_ROUNDS` (default 100),
//! `STORM_TASKS` (default 16). Keys used, besides keycard's: `storm:token:{round}` (the token,
//! one copy per presenter), `storm:result:{round}` (the outcomes), `storm:final` and
//! `storm:final-result` (a last access token to check, and whether this instance refuses it).
//!
//! ```text
//! cargo run -p keycard-redis --example refresh_storm
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use keycard::{Algorithm, Claims, ErrorKind, HmacKey};
use keycard_lifecycle::TokenIssuer;
use keycard_redis::{RedisConfig, RedisStore};

/// The demo signing key every instance shares.
const SECRET: &[u8; 32] = b"keycard-redis refresh storm key!";

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let url = env("REDIS_URL", "redis://127.0.0.1:6379/");
    let rounds: usize = env("STORM_ROUNDS", "100").parse()?;
    let tasks: usize = env("STORM_TASKS", "16").parse()?;
    let store = RedisStore::connect(RedisConfig::new(url.as_str())).await?;
    let key = HmacKey::new(Algorithm::HS256, SECRET)?;
    let issuer = TokenIssuer::builder(key.clone(), key)
        .issuer("https://auth.example.com")
        .audience("api")
        .families(Arc::new(store.clone()))
        .revocations(Arc::new(store.clone()))
        .build()?;
    let client = redis::Client::open(url.as_str())?;
    let mut workers = Vec::new();
    for _ in 0..tasks {
        let (issuer, client) = (issuer.clone(), client.clone());
        workers.push(tokio::spawn(async move {
            // Each presenter has its own connection for the hand-outs (BLPOP blocks it).
            let mut conn = blocking_connection(&client).await?;
            for round in 0..rounds {
                let (_, token): (String, String) = redis::cmd("BLPOP")
                    .arg(format!("storm:token:{round}"))
                    .arg(0)
                    .query_async(&mut conn)
                    .await?;
                let outcome = match issuer.refresh(&token).await {
                    Ok(pair) => pair.refresh_token,
                    Err(e) => format!("error:{}", e.kind().as_str()),
                };
                redis::cmd("RPUSH")
                    .arg(format!("storm:result:{round}"))
                    .arg(outcome)
                    .query_async::<i64>(&mut conn)
                    .await?;
            }
            Ok::<_, redis::RedisError>(())
        }));
    }
    for worker in workers {
        worker.await??;
    }

    // Last, an access token whose session the coordinator revoked: report once this instance
    // refuses it (its view heard of the revocation).
    let mut conn = blocking_connection(&client).await?;
    let (_, token): (String, String) = redis::cmd("BLPOP")
        .arg("storm:final")
        .arg(0)
        .query_async(&mut conn)
        .await?;
    let api = issuer.access_validator().build()?;
    let start = Instant::now();
    let verdict = loop {
        match api.verify::<Claims>(&token) {
            Err(e) if e.kind() == ErrorKind::Revoked => break "revoked".to_owned(),
            Err(e) => break format!("error:{}", e.kind().as_str()),
            Ok(_) if start.elapsed() > Duration::from_secs(20) => break "accepted".to_owned(),
            Ok(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    };
    redis::cmd("RPUSH")
        .arg("storm:final-result")
        .arg(verdict)
        .query_async::<i64>(&mut conn)
        .await?;
    Ok(())
}

/// A connection for `BLPOP ... 0`, which waits as long as the coordinator takes: without the
/// multiplexed connection's default response timeout (500 ms), which a loaded machine exceeds
/// between two rounds, ending the worker with `timed out`.
async fn blocking_connection(
    client: &redis::Client,
) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}
