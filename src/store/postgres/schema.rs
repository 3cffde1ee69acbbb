//! tessera's schema in PostgreSQL, and its migrations: SQL kept in the
//! binary, applied in order, all in one transaction under the write lock
//! ([`super::WRITE_LOCK`]), so that replicas starting at once migrate once
//! and none writes to a half-migrated schema. A schema newer than this
//! build is refused, as a newer redb file is.
//!
//! Each record is its JSON (`record`, as in the embedded store), beside
//! the columns that the traits look records up by, as real columns with
//! their indexes and unique constraints. Text keys compare in byte order
//! (`COLLATE "C"`), the order the traits promise whatever the database's
//! locale. Times are unix nanoseconds (`bigint`), exact. Keys that are
//! tokens are SHA-256 digests of the token (`bytea`), never the token.

use super::{Conn, WRITE_LOCK};
use crate::store::StoreError;

/// Migration `n` (from 1) brings the schema from version `n - 1` to `n`.
/// Append only: a released migration never changes.
const MIGRATIONS: &[&str] = &[
    // 1: every table family of `crate::store::tx`.
    r#"
CREATE TABLE users (
    id text COLLATE "C" PRIMARY KEY,
    username text COLLATE "C" NOT NULL UNIQUE,
    record text NOT NULL
);
-- normalised email -> the user who holds it (the last one put with it)
CREATE TABLE user_emails (
    email text COLLATE "C" PRIMARY KEY,
    user_id text COLLATE "C" NOT NULL
);
CREATE TABLE sessions (
    hash bytea PRIMARY KEY,
    user_id text COLLATE "C" NOT NULL,
    last_used_at bigint NOT NULL,
    absolute_expires_at bigint NOT NULL,
    record text NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE TABLE journeys (
    hash bytea PRIMARY KEY,
    expires_at bigint NOT NULL,
    record text NOT NULL
);
CREATE TABLE throttles (
    key text COLLATE "C" PRIMARY KEY,
    window_started_at bigint NOT NULL,
    locked_until bigint,
    record text NOT NULL
);
CREATE TABLE push_requests (
    id text COLLATE "C" PRIMARY KEY,
    user_id text COLLATE "C" NOT NULL,
    expires_at bigint NOT NULL,
    record text NOT NULL
);
CREATE INDEX push_requests_by_user ON push_requests (user_id);
CREATE TABLE devices (
    user_id text COLLATE "C" PRIMARY KEY,
    record text NOT NULL
);
CREATE TABLE passkeys (
    user_id text COLLATE "C" PRIMARY KEY,
    user_handle text COLLATE "C" NOT NULL UNIQUE,
    record text NOT NULL
);
CREATE TABLE clients (
    client_id text COLLATE "C" PRIMARY KEY,
    record text NOT NULL
);
CREATE TABLE consents (
    user_id text COLLATE "C" NOT NULL,
    client_id text COLLATE "C" NOT NULL,
    record text NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
-- keyed hash of the token -> the token's record
CREATE TABLE initial_access_tokens (
    hash text COLLATE "C" PRIMARY KEY,
    expires_at bigint NOT NULL,
    record text NOT NULL
);
CREATE TABLE authorization_codes (
    hash bytea PRIMARY KEY,
    expires_at bigint NOT NULL,
    record text NOT NULL
);
CREATE TABLE refresh_tokens (
    hash bytea PRIMARY KEY,
    family text COLLATE "C" NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    client_id text COLLATE "C" NOT NULL,
    expires_at bigint NOT NULL,
    record text NOT NULL
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_by_grant ON refresh_tokens (user_id, client_id);
-- access tokens issued in a refresh token family, revoked with it
CREATE TABLE family_access (
    family text COLLATE "C" NOT NULL,
    jti text COLLATE "C" NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (family, jti)
);
-- the deny-list of revoked access tokens
CREATE TABLE revoked_jtis (
    jti text COLLATE "C" PRIMARY KEY,
    expires_at bigint NOT NULL
);
CREATE TABLE device_codes (
    hash bytea PRIMARY KEY,
    user_code_hash bytea NOT NULL,
    expires_at bigint NOT NULL,
    record text NOT NULL
);
-- SHA-256(normalised user code) -> SHA-256(device code)
CREATE TABLE device_user_codes (
    user_code_hash bytea PRIMARY KEY,
    device_code bytea NOT NULL
);
CREATE TABLE pushed_requests (
    hash bytea PRIMARY KEY,
    expires_at bigint NOT NULL,
    record text NOT NULL
);
CREATE TABLE signing_keys (
    kid text COLLATE "C" PRIMARY KEY,
    record text NOT NULL
);
-- in time order, then order of recording: a page is a range, retention a prefix
CREATE TABLE audit_events (
    at bigint NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    record text NOT NULL,
    PRIMARY KEY (at, seq)
);
-- DPoP proofs seen (hash of key thumbprint and jti), until their window ends
CREATE TABLE dpop_proofs (
    hash bytea PRIMARY KEY,
    expires_at bigint NOT NULL
);
-- back-channel logout tokens waiting to be delivered
CREATE TABLE logout_notices (
    id text COLLATE "C" PRIMARY KEY,
    next_attempt_at bigint NOT NULL,
    record text NOT NULL
);
CREATE INDEX logout_notices_due ON logout_notices (next_attempt_at, id);
-- which replica runs a periodic task (the purge), until when
CREATE TABLE leases (
    name text COLLATE "C" PRIMARY KEY,
    holder text NOT NULL,
    until bigint NOT NULL
);
"#,
    // 2: notifications, on the channel every replica listens on
    // (`super::listen`), of each session and user changed or deleted, so
    // that what a replica keeps of them is dropped at once, and of changed
    // signing keys, so that it reloads them at once.
    r#"
CREATE FUNCTION tessera_cached_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'sessions' THEN
        PERFORM pg_notify('tessera_changes', 'session ' || encode(OLD.hash, 'base64'));
    ELSE
        PERFORM pg_notify('tessera_changes', 'user ' || OLD.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER sessions_cached AFTER UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION tessera_cached_row_changed();
CREATE TRIGGER users_cached AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION tessera_cached_row_changed();
-- a table emptied at once (by hand: tessera never truncates) names no row
CREATE FUNCTION tessera_cached_table_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tessera_changes', 'truncated ' || TG_TABLE_NAME);
    RETURN NULL;
END
$$;
CREATE TRIGGER sessions_truncated AFTER TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_cached_table_truncated();
CREATE TRIGGER users_truncated AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_cached_table_truncated();
CREATE FUNCTION tessera_signing_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tessera_changes', 'signing keys');
    RETURN NULL;
END
$$;
CREATE TRIGGER signing_keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_signing_keys_changed();
"#,
];

/// The schema version this build writes and reads.
pub(super) const SCHEMA_VERSION: u64 = MIGRATIONS.len() as u64;

/// The one-row table of the schema version.
const VERSION_TABLE: &str = "tessera_schema";

/// Brings the schema up to date in one transaction, under the write lock;
/// refuses one newer than this build. Another replica that got the lock
/// first has migrated already: this one then finds nothing to do.
pub(super) fn migrate(conn: Conn) -> Result<(), StoreError> {
    conn.batch(&format!(
        "START TRANSACTION ISOLATION LEVEL READ COMMITTED; \
         SELECT pg_advisory_xact_lock({WRITE_LOCK}); \
         CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version bigint NOT NULL)"
    ))?;
    let found = version(&conn)?;
    if found > SCHEMA_VERSION {
        return Err(newer(found));
    }
    if found < SCHEMA_VERSION {
        for migration in MIGRATIONS.iter().skip(usize::try_from(found).unwrap_or(0)) {
            conn.batch(migration)?;
        }
        conn.batch(&format!(
            "DELETE FROM {VERSION_TABLE}; INSERT INTO {VERSION_TABLE} VALUES ({SCHEMA_VERSION})"
        ))?;
        tracing::info!(
            from = found,
            to = SCHEMA_VERSION,
            "migrated the PostgreSQL schema"
        );
    }
    conn.commit()
}

/// Checks, reading only, that the schema is not newer than this build.
pub(super) fn check(conn: Conn) -> Result<(), StoreError> {
    conn.batch("START TRANSACTION READ ONLY")?;
    let exists = conn.query(
        &format!("SELECT to_regclass('{VERSION_TABLE}') IS NOT NULL"),
        &[],
    )?;
    if exists.first().is_some_and(|row| row.get::<_, bool>(0)) {
        let found = version(&conn)?;
        if found > SCHEMA_VERSION {
            return Err(newer(found));
        }
    }
    Ok(())
}

/// The recorded version; 0 for a database tessera has not used yet.
pub(super) fn version(conn: &Conn) -> Result<u64, StoreError> {
    let rows = conn.query(&format!("SELECT max(version) FROM {VERSION_TABLE}"), &[])?;
    let found: Option<i64> = rows.first().and_then(|row| row.get(0));
    Ok(found.and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
}

fn newer(found: u64) -> StoreError {
    StoreError::NewerSchema {
        found,
        known: SCHEMA_VERSION,
    }
}
