//! Where the tables live and how they are made: the schema name, the table names in it, and
//! the idempotent migration that creates them.

use huey_core::StorageError;
use sqlx::PgPool;

use crate::errors::backend;

/// The longest schema name accepted: the notification channel `huey_<schema>` must stay
/// within PostgreSQL's 63-byte identifiers.
const MAX_SCHEMA_LEN: usize = 58;

/// Why a schema name was refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "schema name {0:?} is not a plain identifier (lower-case ASCII letters, digits and '_', \
     not starting with a digit, at most 58 bytes)"
)]
pub struct InvalidSchema(pub String);

/// Checks a schema name: a plain lower-case identifier, so it needs no quoting and the
/// notification channel built from it is a valid identifier too.
pub(crate) fn check_schema(name: &str) -> Result<(), InvalidSchema> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && name.len() <= MAX_SCHEMA_LEN {
        Ok(())
    } else {
        Err(InvalidSchema(name.to_owned()))
    }
}

/// The qualified names of the tables, fixed once the schema is known.
#[derive(Debug, Clone)]
pub(crate) struct Tables {
    pub schema: String,
    pub queue: String,
    pub claims: String,
    pub schedule: String,
    pub kv: String,
    pub waiting: String,
    pub counters: String,
    pub semaphores: String,
    pub chords: String,
    pub chord_members: String,
    pub revocations: String,
    pub dead: String,
    pub consumers: String,
    pub claim_seq: String,
    /// Consumer presence records (see `control`), apart from the `consumers` leases: a record
    /// is the runtime's, and outlives nothing.
    pub presence: String,
    /// A row per paused namespace.
    pub paused: String,
    /// The stats history: a row per namespace, minute, task and outcome.
    pub stats: String,
    /// The LISTEN/NOTIFY channel of this schema; payloads name the queue (see `listener`).
    pub channel: String,
}

impl Tables {
    pub fn new(schema: &str) -> Tables {
        let t = |name: &str| format!("{schema}.{name}");
        Tables {
            schema: schema.to_owned(),
            queue: t("queue"),
            claims: t("claims"),
            schedule: t("schedule"),
            kv: t("kv"),
            waiting: t("waiting"),
            counters: t("counters"),
            semaphores: t("semaphores"),
            chords: t("chords"),
            chord_members: t("chord_members"),
            revocations: t("revocations"),
            dead: t("dead_letters"),
            consumers: t("consumers"),
            claim_seq: t("claim_seq"),
            presence: t("presence"),
            paused: t("paused"),
            stats: t("stats"),
            channel: format!("huey_{schema}"),
        }
    }

    /// The DDL, every statement idempotent.
    fn ddl(&self) -> Vec<String> {
        let Tables {
            schema,
            queue,
            claims,
            schedule,
            kv,
            waiting,
            counters,
            semaphores,
            chords,
            chord_members,
            revocations,
            dead,
            consumers,
            claim_seq,
            presence,
            paused,
            stats,
            ..
        } = self;
        vec![
            format!("CREATE SCHEMA IF NOT EXISTS {schema}"),
            // Waiting messages: a claim moves its row to `claims`, and a message given
            // back moves back under its old id (its place in FIFO order). Rows are only
            // inserted and deleted, never updated, so the ready index is all the queue
            // needs. `deliveries` counts the earlier claims given back counted (requeued,
            // or recovered from a dead consumer).
            format!(
                "CREATE TABLE IF NOT EXISTS {queue} (
                    id bigserial PRIMARY KEY,
                    namespace text NOT NULL,
                    priority integer NOT NULL DEFAULT 0,
                    data bytea NOT NULL,
                    deliveries integer NOT NULL DEFAULT 0,
                    enqueued_at timestamptz NOT NULL DEFAULT now()
                )"
            ),
            // Tables made by earlier builds kept claims as columns of the queue table: a row
            // claimed there becomes a waiting one again (at-least-once).
            format!(
                "DO $$ BEGIN
                    IF EXISTS (SELECT 1 FROM information_schema.columns
                               WHERE table_schema = '{schema}' AND table_name = 'queue'
                                 AND column_name = 'owner') THEN
                        ALTER TABLE {queue} DROP COLUMN owner, DROP COLUMN claim,
                            DROP COLUMN lease_until;
                    END IF;
                 END $$"
            ),
            format!(
                "CREATE INDEX IF NOT EXISTS queue_ready ON {queue} (namespace, priority DESC, id)"
            ),
            // Claimed messages, one row per claim: `claim` is a token unique to the claim
            // (the delivery's receipt), `owner` the consumer's id. A claim lives while its
            // owner's registration in `consumers` does; a claim whose owner never
            // registered expires a lease after `claimed_at`. The table holds only what is in
            // flight, so it stays small; it churns, hence the eager autovacuum.
            format!(
                "CREATE TABLE IF NOT EXISTS {claims} (
                    claim bigint PRIMARY KEY,
                    id bigint NOT NULL,
                    namespace text NOT NULL,
                    owner text NOT NULL,
                    priority integer NOT NULL,
                    data bytea NOT NULL,
                    deliveries integer NOT NULL,
                    enqueued_at timestamptz NOT NULL,
                    claimed_at timestamptz NOT NULL DEFAULT now()
                ) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000,
                        autovacuum_vacuum_insert_scale_factor = 0,
                        autovacuum_vacuum_insert_threshold = 10000)"
            ),
            format!("CREATE SEQUENCE IF NOT EXISTS {claim_seq}"),
            format!(
                "CREATE TABLE IF NOT EXISTS {schedule} (
                    id bigserial PRIMARY KEY,
                    namespace text NOT NULL,
                    at timestamptz NOT NULL,
                    priority integer NOT NULL DEFAULT 0,
                    data bytea NOT NULL
                )"
            ),
            format!("CREATE INDEX IF NOT EXISTS schedule_due ON {schedule} (namespace, at, id)"),
            // Results and stored values; expires_at for values with a ttl (put-if-empty locks,
            // results with a result ttl, `()` results someone waited for).
            format!(
                "CREATE TABLE IF NOT EXISTS {kv} (
                    namespace text NOT NULL,
                    key text NOT NULL,
                    value bytea NOT NULL,
                    expires_at timestamptz,
                    PRIMARY KEY (namespace, key)
                )"
            ),
            format!(
                "CREATE INDEX IF NOT EXISTS kv_expiry ON {kv} (expires_at) WHERE expires_at IS NOT NULL"
            ),
            // Registered result waits: a settlement notifies, and stores `()` results, only
            // for keys someone waits for.
            format!(
                "CREATE TABLE IF NOT EXISTS {waiting} (
                    namespace text NOT NULL,
                    key text NOT NULL,
                    until timestamptz NOT NULL,
                    PRIMARY KEY (namespace, key)
                )"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {counters} (
                    namespace text NOT NULL,
                    key text NOT NULL,
                    value bigint NOT NULL,
                    PRIMARY KEY (namespace, key)
                )"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {semaphores} (
                    namespace text NOT NULL,
                    key text NOT NULL,
                    holder text NOT NULL,
                    expires_at timestamptz NOT NULL,
                    PRIMARY KEY (namespace, key, holder)
                )"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {chords} (
                    namespace text NOT NULL,
                    chord text NOT NULL,
                    completed_by integer,
                    fired boolean NOT NULL DEFAULT false,
                    PRIMARY KEY (namespace, chord)
                )"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {chord_members} (
                    namespace text NOT NULL,
                    chord text NOT NULL,
                    member integer NOT NULL,
                    outcome bytea NOT NULL,
                    PRIMARY KEY (namespace, chord, member)
                )"
            ),
            // Targets are `i:<task id>` and `t:<task name>`.
            format!(
                "CREATE TABLE IF NOT EXISTS {revocations} (
                    namespace text NOT NULL,
                    target text NOT NULL,
                    flag bytea NOT NULL,
                    PRIMARY KEY (namespace, target)
                )"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {dead} (
                    seq bigserial PRIMARY KEY,
                    namespace text NOT NULL,
                    id text NOT NULL,
                    priority integer NOT NULL DEFAULT 0,
                    reason text NOT NULL,
                    data bytea NOT NULL,
                    at timestamptz NOT NULL DEFAULT now()
                )"
            ),
            format!("CREATE INDEX IF NOT EXISTS dead_letters_order ON {dead} (namespace, seq)"),
            // A semaphore acquisition in one round trip. In PL/pgSQL each statement sees
            // the commits made before it started, so once the lock is held the count is
            // current: racing acquirers never exceed the value.
            format!(
                "CREATE OR REPLACE FUNCTION {schema}.semaphore_acquire(
                    ns text, k text, who text, most bigint, ttl_ms bigint) RETURNS boolean
                 LANGUAGE plpgsql AS $fn$
                 BEGIN
                    PERFORM pg_advisory_xact_lock(hashtext('{schema}' || chr(31) || ns || chr(31) || k));
                    DELETE FROM {semaphores}
                        WHERE namespace = ns AND key = k AND expires_at <= now();
                    IF EXISTS (SELECT 1 FROM {semaphores}
                               WHERE namespace = ns AND key = k AND holder = who)
                       OR (SELECT count(*) FROM {semaphores}
                           WHERE namespace = ns AND key = k) < most THEN
                        INSERT INTO {semaphores} (namespace, key, holder, expires_at)
                        VALUES (ns, k, who, now() + ttl_ms * interval '1 millisecond')
                        ON CONFLICT (namespace, key, holder)
                            DO UPDATE SET expires_at = EXCLUDED.expires_at;
                        RETURN true;
                    END IF;
                    RETURN false;
                 END
                 $fn$"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {consumers} (
                    namespace text NOT NULL,
                    id text NOT NULL,
                    lease_until timestamptz NOT NULL,
                    PRIMARY KEY (namespace, id)
                )"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {presence} (
                    namespace text NOT NULL,
                    id text NOT NULL,
                    record bytea NOT NULL,
                    heartbeat timestamptz NOT NULL,
                    PRIMARY KEY (namespace, id)
                )"
            ),
            format!("CREATE TABLE IF NOT EXISTS {paused} (namespace text PRIMARY KEY)"),
            // Sums in microseconds; rows past the retention go when a consumer adds more.
            format!(
                "CREATE TABLE IF NOT EXISTS {stats} (
                    namespace text NOT NULL,
                    minute timestamptz NOT NULL,
                    task text NOT NULL,
                    outcome text NOT NULL,
                    count bigint NOT NULL,
                    run_us bigint NOT NULL,
                    wait_us bigint NOT NULL,
                    PRIMARY KEY (namespace, minute, task, outcome)
                )"
            ),
        ]
    }
}

/// The value a claim or settlement sets `synchronous_commit` to for its own transaction (see
/// [`PostgresOptions::synchronous_outcomes`](crate::PostgresOptions::synchronous_outcomes)):
/// off, or what the session has.
pub(crate) fn outcome_commit(synchronous: bool) -> &'static str {
    if synchronous {
        "current_setting('synchronous_commit')"
    } else {
        "'off'"
    }
}

/// Creates the schema and its tables if they are missing, in one transaction under an
/// advisory lock, so consumers that start together do not race on the DDL.
pub(crate) async fn migrate(pool: &PgPool, tables: &Tables) -> Result<(), StorageError> {
    let mut tx = pool.begin().await.map_err(backend)?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(format!("huey-postgres migrate {}", tables.schema))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    for statement in tables.ddl() {
        sqlx::query(&statement)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
    }
    tx.commit().await.map_err(backend)
}

#[cfg(test)]
mod tests {
    use super::check_schema;

    #[test]
    fn schema_names() {
        assert!(check_schema("huey").is_ok());
        assert!(check_schema("_q1").is_ok());
        for bad in ["", "1a", "Huey", "a-b", "a.b", "a;drop", &"x".repeat(59)] {
            assert!(check_schema(bad).is_err(), "{bad:?}");
        }
    }
}
