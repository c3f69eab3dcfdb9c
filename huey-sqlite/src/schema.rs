//! The tables, created when a storage opens the file (every statement is idempotent). Every
//! table has a `namespace` column, so queues of several names share one file. The crate docs
//! show the layout.

/// The statements that create the tables and their indexes, run in one transaction.
pub(crate) const CREATE: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS huey_queue (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        namespace TEXT NOT NULL,
        priority INTEGER NOT NULL,
        data BLOB NOT NULL,
        owner TEXT,
        deliveries INTEGER NOT NULL DEFAULT 0
    )",
    "CREATE INDEX IF NOT EXISTS huey_queue_ready
        ON huey_queue (namespace, priority DESC, id) WHERE owner IS NULL",
    "CREATE INDEX IF NOT EXISTS huey_queue_owner
        ON huey_queue (owner) WHERE owner IS NOT NULL",
    "CREATE TABLE IF NOT EXISTS huey_schedule (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        namespace TEXT NOT NULL,
        due_ms INTEGER NOT NULL,
        priority INTEGER NOT NULL,
        data BLOB NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS huey_schedule_due ON huey_schedule (namespace, due_ms, id)",
    "CREATE TABLE IF NOT EXISTS huey_kv (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        expires_ms INTEGER,
        PRIMARY KEY (namespace, key)
    )",
    "CREATE INDEX IF NOT EXISTS huey_kv_expiry
        ON huey_kv (namespace, expires_ms) WHERE expires_ms IS NOT NULL",
    "CREATE TABLE IF NOT EXISTS huey_counters (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value INTEGER NOT NULL,
        PRIMARY KEY (namespace, key)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS huey_semaphores (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        holder TEXT NOT NULL,
        expires_ms INTEGER NOT NULL,
        PRIMARY KEY (namespace, key, holder)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS huey_chord_members (
        namespace TEXT NOT NULL,
        chord TEXT NOT NULL,
        member INTEGER NOT NULL,
        outcome BLOB NOT NULL,
        PRIMARY KEY (namespace, chord, member)
    )",
    "CREATE TABLE IF NOT EXISTS huey_chords (
        namespace TEXT NOT NULL,
        chord TEXT NOT NULL,
        completed_by INTEGER,
        fired_ms INTEGER,
        PRIMARY KEY (namespace, chord)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS huey_dead (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        namespace TEXT NOT NULL,
        id TEXT NOT NULL UNIQUE,
        priority INTEGER NOT NULL,
        reason TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        data BLOB NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS huey_dead_order ON huey_dead (namespace, seq)",
    "CREATE TABLE IF NOT EXISTS huey_revocations (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        flag BLOB NOT NULL,
        PRIMARY KEY (namespace, key)
    )",
    "CREATE TABLE IF NOT EXISTS huey_waiters (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        until_ms INTEGER NOT NULL,
        PRIMARY KEY (namespace, key)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS huey_consumers (
        namespace TEXT NOT NULL,
        id TEXT NOT NULL,
        beat_ms INTEGER NOT NULL,
        lost INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (namespace, id)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS huey_presence (
        namespace TEXT NOT NULL,
        id TEXT NOT NULL,
        record BLOB NOT NULL,
        beat_ms INTEGER NOT NULL,
        PRIMARY KEY (namespace, id)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS huey_paused (
        namespace TEXT NOT NULL PRIMARY KEY
    ) WITHOUT ROWID",
    // The stats history: the minute as Unix minutes, the sums in microseconds.
    "CREATE TABLE IF NOT EXISTS huey_stats (
        namespace TEXT NOT NULL,
        minute INTEGER NOT NULL,
        task TEXT NOT NULL,
        outcome TEXT NOT NULL,
        count INTEGER NOT NULL,
        run_us INTEGER NOT NULL,
        wait_us INTEGER NOT NULL,
        PRIMARY KEY (namespace, minute, task, outcome)
    ) WITHOUT ROWID",
];
