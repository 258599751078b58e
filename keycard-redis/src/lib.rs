//! Redis-backed stores for the token lifecycle of [keycard](https://docs.rs/keycard)
//! ([`keycard_lifecycle`]), so that several API instances behind a load balancer share one set of
//! refresh families and revocations.
//!
//! [`RedisStore`] implements both [`FamilyStore`](keycard_lifecycle::FamilyStore) and
//! [`RevocationStore`](keycard_lifecycle::RevocationStore):
//! - **families**: one hash per session, `{prefix}:fam:{sid}`, with a TTL at its expiry
//!   (`PEXPIREAT`); rotation is one Lua script (compare `current`, refuse if the session is
//!   revoked, write, set the TTL), so two instances can never both rotate one refresh token;
//! - **revocations**: `{prefix}:rt:{jti}` (tokens), `{prefix}:rs:{sid}` (sessions, in the
//!   family's hash slot), `{prefix}:rc:{sub}` (subject cutoffs), each with a TTL at the time it
//!   stops mattering, plus a change feed (the stream `{prefix}:feed`);
//! - **a local view**: [`Validator::verify`](keycard::Validator::verify) stays synchronous and
//!   never waits on Redis. It reads a [`RevocationList`](keycard::RevocationList) in memory that
//!   a background task keeps in sync: a snapshot at start-up, the change feed after that (a
//!   blocking `XREAD`), and a full resync every [`full_resync`](RedisConfig::full_resync) that
//!   heals anything missed. When the view has not been confirmed current for
//!   [`max_staleness`](RedisConfig::max_staleness) (default
//!   [`RedisConfig::DEFAULT_MAX_STALENESS`], 10 s), every lookup fails closed with
//!   [`ErrorKind::Store`](keycard::ErrorKind::Store).
//!
//! Every key carries `{...}` hash tags (one session's family and revocation share a slot), so
//! every script touches one slot. [`RedisConfig::cluster`] connects to a Redis Cluster instead of
//! one server (same API; the snapshot scans every primary), and
//! [`RedisConfig::wait_for_replicas`] acknowledges a write only once a replica has it (`WAIT`).
//!
//! ```no_run
//! use std::sync::Arc;
//! use keycard::{Algorithm, HmacKey};
//! use keycard_lifecycle::TokenIssuer;
//! use keycard_redis::{RedisConfig, RedisStore};
//!
//! # async fn run() -> Result<(), keycard::Error> {
//! let store = RedisStore::connect(RedisConfig::new("redis://127.0.0.1:6379/")).await?;
//! let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
//! let issuer = TokenIssuer::builder(key.clone(), key)
//!     .issuer("https://auth.example.com")
//!     .audience("api")
//!     .families(Arc::new(store.clone()))
//!     .revocations(Arc::new(store.clone()))
//!     .build()?;
//! let api = issuer.access_validator().build()?; // checks the local view, no I/O
//! let pair = issuer.issue("alice", &()).await?;
//! api.verify::<keycard::Claims>(&pair.access_token)?;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

// By responsibility: the configuration, what is stored where, the trait implementations (with
// their Lua scripts in `scripts/`), and the local revocation view with the task that feeds it.
mod config;
mod conn;
mod layout;
mod stores;
mod view;

pub use config::RedisConfig;
pub use stores::RedisStore;
