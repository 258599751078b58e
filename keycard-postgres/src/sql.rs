//! Every statement the store runs, written once for the configured schema. Each is one
//! statement, so each is atomic on its own (PostgreSQL runs a lone statement as a transaction),
//! and each is prepared once per pooled connection.

/// The statements of one schema.
#[derive(Debug)]
pub(crate) struct Sql {
    schema: String,
    /// `LISTEN/NOTIFY` channel of the revocations.
    pub(crate) channel: String,
    pub(crate) insert_family: String,
    pub(crate) get_family: String,
    pub(crate) swap_family: String,
    pub(crate) remove_family: String,
    pub(crate) revoke_token: String,
    pub(crate) revoke_session: String,
    pub(crate) revoke_subject: String,
    pub(crate) fetch_cutoff: String,
    pub(crate) fetch_session: String,
    pub(crate) snapshot: String,
    pub(crate) version: String,
    /// One bounded `DELETE` per table.
    pub(crate) cleanup: [String; 4],
}

/// How far past its time (by the database's clock) a row is deleted: reads already ignore it
/// from its time on, by the instance's clock; the minute covers clocks that disagree a little,
/// so that cleanup never deletes what an instance still counts as live.
pub(crate) const CLEANUP_MARGIN: &str = "interval '60 seconds'";

impl Sql {
    /// The statements for `schema`, an identifier already checked.
    pub(crate) fn new(schema: &str) -> Self {
        let s = schema;
        let cleanup = |table: &str, column: &str| {
            // The rows are picked through the index on the time column, at most $1 of them,
            // locked (SKIP LOCKED leaves a row that a rotation or another instance's cleanup
            // holds alone), and deleted by their physical address: a TID scan, whatever the
            // planner's statistics say about the time column. A row updated after this
            // statement's snapshot is either skipped by the lock (no longer expired) or at an
            // address this snapshot cannot see, so only expired rows are ever deleted.
            format!(
                "DELETE FROM {s}.{table} WHERE ctid = ANY(ARRAY(\
                   SELECT ctid FROM {s}.{table} WHERE {column} < now() - {CLEANUP_MARGIN} \
                   LIMIT $1 FOR UPDATE SKIP LOCKED))"
            )
        };
        Sql {
            schema: s.to_owned(),
            channel: channel(s),
            insert_family: format!(
                "INSERT INTO {s}.families (id, current, record, expires_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE SET current = excluded.current, \
                 record = excluded.record, expires_at = excluded.expires_at"
            ),
            get_family: format!(
                "SELECT record FROM {s}.families WHERE id = $1 AND expires_at > $2"
            ),
            // The rotation: one row changed means this caller swapped; under READ COMMITTED a
            // concurrent swap of the same row waits for the first to commit, then re-reads
            // `current` and changes nothing.
            swap_family: format!(
                "UPDATE {s}.families SET current = $3, record = $4, expires_at = $5 \
                 WHERE id = $1 AND current = $2 AND expires_at > $6"
            ),
            remove_family: format!("DELETE FROM {s}.families WHERE id = $1"),
            revoke_token: format!(
                "INSERT INTO {s}.revoked_tokens (jti, until) VALUES ($1, $2) \
                 ON CONFLICT (jti) DO UPDATE \
                 SET until = GREATEST({s}.revoked_tokens.until, excluded.until)"
            ),
            // The session's revocation and the removal of its family in one statement: never
            // a revoked session whose family outlives the revocation.
            revoke_session: format!(
                "WITH revoked AS (\
                   INSERT INTO {s}.revoked_sessions (sid, until) VALUES ($1, $2) \
                   ON CONFLICT (sid) DO UPDATE \
                   SET until = GREATEST({s}.revoked_sessions.until, excluded.until) \
                   RETURNING 1) \
                 DELETE FROM {s}.families WHERE id = $1"
            ),
            revoke_subject: format!(
                "INSERT INTO {s}.subject_cutoffs (subject, cutoff_ns, until) VALUES ($1, $2, $3) \
                 ON CONFLICT (subject) DO UPDATE SET \
                 cutoff_ns = GREATEST({s}.subject_cutoffs.cutoff_ns, excluded.cutoff_ns), \
                 until = GREATEST({s}.subject_cutoffs.until, excluded.until) \
                 RETURNING cutoff_ns, until"
            ),
            fetch_cutoff: format!(
                "SELECT cutoff_ns FROM {s}.subject_cutoffs WHERE subject = $1 AND until > $2"
            ),
            fetch_session: format!(
                "SELECT 1 FROM {s}.revoked_sessions WHERE sid = $1 AND until > $2"
            ),
            // One statement, so one consistent snapshot of the three tables.
            snapshot: format!(
                "SELECT 't', jti, 0::bigint, until FROM {s}.revoked_tokens WHERE until > $1 \
                 UNION ALL \
                 SELECT 's', sid, 0::bigint, until FROM {s}.revoked_sessions WHERE until > $1 \
                 UNION ALL \
                 SELECT 'c', subject, cutoff_ns, until FROM {s}.subject_cutoffs WHERE until > $1"
            ),
            version: format!("SELECT max(version) FROM {s}.schema_migrations"),
            cleanup: [
                cleanup("families", "expires_at"),
                cleanup("revoked_tokens", "until"),
                cleanup("revoked_sessions", "until"),
                cleanup("subject_cutoffs", "until"),
            ],
        }
    }
}

impl Sql {
    /// The channel only the listener connection whose backend is `pid` listens to.
    pub(crate) fn sync_channel(&self, pid: i32) -> String {
        format!("{}_sync_{pid}", self.schema)
    }
}

/// The channel every revocation of `schema` is announced on.
pub(crate) fn channel(schema: &str) -> String {
    format!("{schema}_revocations")
}
