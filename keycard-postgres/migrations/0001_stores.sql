-- keycard-postgres schema version 1: refresh families, revocations (tokens, sessions), subject
-- cutoffs, and the trigger that announces every revocation to the instances' local views.
--
-- `@schema@` is the configured schema (an identifier checked by the crate) and `@channel@` the
-- LISTEN/NOTIFY channel of that schema. Run by `PostgresStore::migrate`, inside one
-- transaction that holds an advisory lock, and recorded in `@schema@.schema_migrations`.

-- One row per session (the family id is the tokens' `sid`). `current` is the `jti` of the one
-- refresh token that may be used next, and what a rotation compares; `record` is the whole
-- `keycard::Family` as JSON (it includes the grace-period successor, that is live tokens).
CREATE TABLE @schema@.families (
    id         text        PRIMARY KEY,
    current    text        NOT NULL,
    record     text        NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX families_expires_at ON @schema@.families (expires_at);

-- A revoked access token, until it has expired anyway (plus the largest leeway).
CREATE TABLE @schema@.revoked_tokens (
    jti   text        PRIMARY KEY,
    until timestamptz NOT NULL
);
CREATE INDEX revoked_tokens_until ON @schema@.revoked_tokens (until);

-- A revoked session: every token carrying this `sid` is refused.
CREATE TABLE @schema@.revoked_sessions (
    sid   text        PRIMARY KEY,
    until timestamptz NOT NULL
);
CREATE INDEX revoked_sessions_until ON @schema@.revoked_sessions (until);

-- Sign-out-everywhere: every token of `subject` issued at or before the cutoff is refused.
-- The cutoff is kept exactly, in nanoseconds since the epoch (timestamptz holds microseconds).
CREATE TABLE @schema@.subject_cutoffs (
    subject   text        PRIMARY KEY,
    cutoff_ns bigint      NOT NULL,
    until     timestamptz NOT NULL
);
CREATE INDEX subject_cutoffs_until ON @schema@.subject_cutoffs (until);

-- Every insert or update of a revocation is announced on the channel, in the writing
-- transaction (PostgreSQL delivers it at commit, never for a rolled-back write). The payload:
--   t <until, microseconds since the epoch> <jti>
--   s <until µs> <sid>
--   c <cutoff ns> <until µs> <subject>
-- or `*` when that would not fit a notification (8000 bytes): the views then reload everything.
-- An operator's own `INSERT` into these tables is announced too.
CREATE FUNCTION @schema@.announce_revocation() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    payload text;
BEGIN
    IF TG_TABLE_NAME = 'revoked_tokens' THEN
        payload := 't ' || (extract(epoch FROM NEW.until) * 1000000)::bigint || ' ' || NEW.jti;
    ELSIF TG_TABLE_NAME = 'revoked_sessions' THEN
        payload := 's ' || (extract(epoch FROM NEW.until) * 1000000)::bigint || ' ' || NEW.sid;
    ELSE
        payload := 'c ' || NEW.cutoff_ns || ' '
            || (extract(epoch FROM NEW.until) * 1000000)::bigint || ' ' || NEW.subject;
    END IF;
    IF octet_length(payload) > 7900 THEN
        payload := '*';
    END IF;
    PERFORM pg_notify('@channel@', payload);
    RETURN NULL;
END
$$;

CREATE TRIGGER announce AFTER INSERT OR UPDATE ON @schema@.revoked_tokens
    FOR EACH ROW EXECUTE FUNCTION @schema@.announce_revocation();
CREATE TRIGGER announce AFTER INSERT OR UPDATE ON @schema@.revoked_sessions
    FOR EACH ROW EXECUTE FUNCTION @schema@.announce_revocation();
CREATE TRIGGER announce AFTER INSERT OR UPDATE ON @schema@.subject_cutoffs
    FOR EACH ROW EXECUTE FUNCTION @schema@.announce_revocation();
