//! Every failure of this crate is a keycard `store` error whose source is a [`Failure`]: what
//! was being done and what went wrong, in words of this crate or a SQLSTATE code, never a value
//! (a session or token id, a token, a password). The server's own message text is left out on
//! purpose: it can quote the values of a statement ("Key (id)=(...) already exists").

use std::fmt;

use keycard::Error;

/// A PostgreSQL failure, as the `source` of a keycard `store` error.
#[derive(Debug)]
pub(crate) struct Failure {
    what: &'static str,
    why: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "postgres: {}: {}", self.what, self.why)
    }
}

impl std::error::Error for Failure {}

impl Failure {
    /// Why `e` happened, in words that carry no value of the statement.
    pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
        if let Some(db) = e.as_db_error() {
            let code = db.code().code();
            let name = condition(code).map_or_else(String::new, |name| format!(" {name}"));
            return format!("server error SQLSTATE {code}{name}");
        }
        let text = e.to_string();
        // A connection string that does not parse may be quoted by its parser: never shown.
        if text == "invalid connection string" {
            return text;
        }
        // I/O and protocol failures carry the OS error or nothing; no statement values.
        match std::error::Error::source(e) {
            Some(source) => format!("{text}: {source}"),
            None => text,
        }
    }
}

/// The names of the conditions an operator is most likely to meet, from PostgreSQL's
/// errcodes table (Appendix A of its manual).
fn condition(code: &str) -> Option<&'static str> {
    Some(match code {
        "08000" => "connection_exception",
        "08006" => "connection_failure",
        "23505" => "unique_violation",
        "22021" => "character_not_in_repertoire",
        "25006" => "read_only_sql_transaction",
        "28000" => "invalid_authorization_specification",
        "28P01" => "invalid_password",
        "3D000" => "invalid_catalog_name",
        "3F000" => "invalid_schema_name",
        "40001" => "serialization_failure",
        "40P01" => "deadlock_detected",
        "42501" => "insufficient_privilege",
        "42P01" => "undefined_table",
        "53300" => "too_many_connections",
        "57014" => "query_canceled",
        "57P01" => "admin_shutdown",
        "57P02" => "crash_shutdown",
        "57P03" => "cannot_connect_now",
        _ => return None,
    })
}

/// A failed statement or connection.
pub(crate) fn failure(what: &'static str, e: &tokio_postgres::Error) -> Error {
    Error::store(Failure {
        what,
        why: Failure::describe(e),
    })
}

/// The pool could not hand out a connection.
pub(crate) fn pool_failure(what: &'static str, e: &deadpool_postgres::PoolError) -> Error {
    use deadpool_postgres::PoolError;
    let why = match e {
        PoolError::Backend(e) => format!("connecting: {}", Failure::describe(e)),
        PoolError::Timeout(_) => "no connection within the response timeout".to_owned(),
        PoolError::Closed => "the pool is closed".to_owned(),
        PoolError::NoRuntimeSpecified => "no runtime for the pool's timeouts".to_owned(),
        PoolError::PostCreateHook(_) => "a new connection was refused".to_owned(),
    };
    Error::store(Failure { what, why })
}

/// An operation that took longer than the response timeout.
pub(crate) fn timed_out(what: &'static str) -> Error {
    Error::store(Failure {
        what,
        why: "no answer within the response timeout".to_owned(),
    })
}

/// A configuration this crate cannot use.
pub(crate) fn misuse(reason: &str) -> Error {
    Error::store(Failure {
        what: "configuration",
        why: reason.to_owned(),
    })
}

/// Data in the tables that this crate did not write (or a newer version did).
pub(crate) fn corrupt(what: &'static str) -> Error {
    Error::store(Failure {
        what: "unexpected data",
        why: what.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_operation() {
        let err = timed_out("rotating a family");
        assert_eq!(err.kind(), keycard::ErrorKind::Store);
        assert!(err.to_string().contains("rotating a family"), "{err}");
    }
}
