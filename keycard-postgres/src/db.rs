//! The pool and the one way statements run on it: a connection from the pool, the statement
//! prepared once per connection, all within the response timeout.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use keycard::Error;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use crate::error::{failure, misuse, pool_failure, timed_out};

/// Statement parameters.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// This instance's connections.
#[derive(Clone)]
pub(crate) struct Db {
    pool: Pool,
    timeout: Duration,
}

impl Db {
    pub(crate) fn new(
        pg: tokio_postgres::Config,
        size: usize,
        timeout: Duration,
    ) -> Result<Self, Error> {
        let manager = Manager::from_config(
            pg,
            NoTls,
            ManagerConfig {
                // A connection that has closed (the server restarted) is replaced when it is
                // next taken; an open one is used as is, its first failure is the caller's.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .build()
            .map_err(|_| misuse("the connection pool cannot be built"))?;
        Ok(Db { pool, timeout })
    }

    /// Runs `sql`, returning the rows; `what` names the operation in errors.
    pub(crate) async fn query(
        &self,
        what: &'static str,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Vec<Row>, Error> {
        tokio::time::timeout(self.timeout, async {
            let client = self.pool.get().await.map_err(|e| pool_failure(what, &e))?;
            let statement = client
                .prepare_cached(sql)
                .await
                .map_err(|e| failure(what, &e))?;
            client
                .query(&statement, params)
                .await
                .map_err(|e| failure(what, &e))
        })
        .await
        .map_err(|_| timed_out(what))?
    }

    /// Runs `sql`, returning how many rows it changed.
    pub(crate) async fn execute(
        &self,
        what: &'static str,
        sql: &str,
        params: Params<'_>,
    ) -> Result<u64, Error> {
        tokio::time::timeout(self.timeout, async {
            let client = self.pool.get().await.map_err(|e| pool_failure(what, &e))?;
            let statement = client
                .prepare_cached(sql)
                .await
                .map_err(|e| failure(what, &e))?;
            client
                .execute(&statement, params)
                .await
                .map_err(|e| failure(what, &e))
        })
        .await
        .map_err(|_| timed_out(what))?
    }

    /// Runs `sql`, returning its one row or none.
    pub(crate) async fn query_opt(
        &self,
        what: &'static str,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<Row>, Error> {
        Ok(self.query(what, sql, params).await?.into_iter().next())
    }

    /// A connection of the pool, for what needs the driver's own error (the schema check).
    pub(crate) async fn raw(&self, what: &'static str) -> Result<deadpool_postgres::Object, Error> {
        tokio::time::timeout(self.timeout, self.pool.get())
            .await
            .map_err(|_| timed_out(what))?
            .map_err(|e| pool_failure(what, &e))
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }
}
