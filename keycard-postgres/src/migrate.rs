//! The schema's migrations: SQL files shipped in the crate (`migrations/`), applied in order by
//! [`PostgresStore::migrate`](crate::PostgresStore::migrate), each recorded with its version in
//! `<schema>.schema_migrations`. Idempotent: what is recorded is not run again; concurrent
//! callers queue on an advisory lock.

use keycard::Error;
use tokio_postgres::NoTls;

use crate::error::{failure, timed_out};
use crate::sql::channel;
use crate::PostgresConfig;

/// The migrations, in order: version, name, SQL with `@schema@` and `@channel@` to fill in.
const MIGRATIONS: &[(i32, &str, &str)] =
    &[(1, "stores", include_str!("../migrations/0001_stores.sql"))];

/// The schema version this crate needs (the last of its migrations).
pub(crate) const LATEST: i32 = 1;

/// The advisory lock's first key ("kc"); the second is the hash of the schema's name.
const LOCK_CLASS: i32 = 0x6b63;

/// Applies every migration not yet recorded, in one transaction, and returns the version the
/// schema is at.
pub(crate) async fn migrate(config: &PostgresConfig) -> Result<i32, Error> {
    let schema = config.checked_schema()?.to_owned();
    let pg = config.pg()?;
    let timeout = config.response_timeout;
    let (mut client, connection) = tokio::time::timeout(timeout, pg.connect(NoTls))
        .await
        .map_err(|_| timed_out("connecting to migrate"))?
        .map_err(|e| failure("connecting to migrate", &e))?;
    let driver = tokio::spawn(connection);
    let result = apply(&mut client, &schema).await;
    drop(client);
    driver.abort();
    result
}

async fn apply(client: &mut tokio_postgres::Client, schema: &str) -> Result<i32, Error> {
    let what = "migrating the schema";
    let tx = client.transaction().await.map_err(|e| failure(what, &e))?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&LOCK_CLASS, &schema],
    )
    .await
    .map_err(|e| failure(what, &e))?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}; \
         CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (\
           version    integer     PRIMARY KEY, \
           name       text        NOT NULL, \
           applied_at timestamptz NOT NULL DEFAULT now())"
    ))
    .await
    .map_err(|e| failure(what, &e))?;
    let row = tx
        .query_one(
            &format!("SELECT coalesce(max(version), 0) FROM {schema}.schema_migrations"),
            &[],
        )
        .await
        .map_err(|e| failure(what, &e))?;
    let mut version: i32 = row.try_get(0).map_err(|e| failure(what, &e))?;
    for (number, name, sql) in MIGRATIONS {
        if *number <= version {
            continue;
        }
        let sql = sql
            .replace("@schema@", schema)
            .replace("@channel@", &channel(schema));
        tx.batch_execute(&sql)
            .await
            .map_err(|e| failure(what, &e))?;
        tx.execute(
            &format!("INSERT INTO {schema}.schema_migrations (version, name) VALUES ($1, $2)"),
            &[number, name],
        )
        .await
        .map_err(|e| failure(what, &e))?;
        version = *number;
    }
    tx.commit().await.map_err(|e| failure(what, &e))?;
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_and_the_last_is_latest() {
        for (i, (number, _, sql)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(usize::try_from(*number).unwrap(), i + 1);
            assert!(sql.contains("@schema@"));
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.0), Some(LATEST));
    }
}
