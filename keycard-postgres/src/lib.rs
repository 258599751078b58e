//! PostgreSQL-backed stores for [keycard](https://docs.rs/keycard)'s token lifecycle, so that
//! several API instances share one set of refresh families and revocations in the database they
//! already run.
//!
//! [`PostgresStore`] implements [`FamilyStore`](keycard_lifecycle::FamilyStore) and
//! [`RevocationStore`](keycard_lifecycle::RevocationStore):
//! - **families**: one row per session in `<schema>.families`; a rotation is one conditional
//!   `UPDATE ... SET current = $new ... WHERE id = $id AND current = $expected`, and one row
//!   changed means this caller swapped, so two instances can never both rotate one refresh
//!   token. Revoking a session deletes its family in the same statement.
//! - **revocations**: `revoked_tokens`, `revoked_sessions` and `subject_cutoffs`, each write an
//!   upsert that keeps the later time (`GREATEST`), so an earlier cutoff never undoes a later
//!   one.
//! - **expiry**: timestamp columns. Reads never return a row past its time (by the configured
//!   [`clock`](PostgresConfig::clock)); a cleanup task deletes such rows in bounded batches.
//! - **a local view**: [`Validator::verify`](keycard::Validator::verify) stays synchronous and
//!   never waits on the database. It reads a [`RevocationList`](keycard::RevocationList) in
//!   memory that a background task keeps current: a full load when it connects, every
//!   revocation as it commits (a trigger `NOTIFY`s it, and PostgreSQL delivers it at commit to
//!   every instance that `LISTEN`s), a reload every [`full_resync`](PostgresConfig::full_resync)
//!   and after every lost connection. When the view has not been confirmed current for
//!   [`max_staleness`](PostgresConfig::max_staleness) (default 10 s), every lookup fails closed
//!   with [`ErrorKind::Store`](keycard::ErrorKind::Store).
//!
//! The tables are created by an explicit call, [`PostgresStore::migrate`], from SQL files that
//! ship with the crate.
//!
//! ```no_run
//! use std::sync::Arc;
//! use keycard::{Algorithm, HmacKey};
//! use keycard_lifecycle::TokenIssuer;
//! use keycard_postgres::{PostgresConfig, PostgresStore};
//!
//! # async fn run() -> Result<(), keycard::Error> {
//! let config = PostgresConfig::new("postgresql://keycard@db.internal/auth");
//! PostgresStore::migrate(&config).await?; // once, or at every start: it is idempotent
//! let store = PostgresStore::connect(config).await?;
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
//!
//! No TLS is compiled in: connect over a Unix socket, loopback or a private network, or through
//! a TLS-terminating proxy. The listener needs a real session, so point it at PostgreSQL or a
//! session-mode pooler, not a transaction-mode one.

#![forbid(unsafe_code)]

mod config;
mod db;
mod error;
mod follower;
mod migrate;
mod sql;
mod store;
mod view;

pub use config::PostgresConfig;
pub use store::PostgresStore;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
struct ReadmeDoctests;
