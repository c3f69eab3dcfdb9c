//! `SqliteOptions`: the settings of a `SqliteStorage`.

use std::time::Duration;

use huey_core::storage::DEFAULT_DEAD_LETTER_LIMIT;

/// Options of a [`SqliteStorage`](crate::SqliteStorage).
///
/// ```
/// use huey_sqlite::SqliteOptions;
/// use std::time::Duration;
///
/// let options = SqliteOptions::default()
///     .lease(Duration::from_secs(30))
///     .poll_interval(Duration::from_millis(20));
/// assert_eq!(options.lease_length(), Duration::from_secs(30));
/// assert_eq!(options.heartbeat_interval(), Duration::from_secs(6));
/// ```
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub(crate) lease: Duration,
    pub(crate) heartbeat: Option<Duration>,
    pub(crate) poll: Duration,
    pub(crate) busy_timeout: Duration,
    pub(crate) busy_limit: Duration,
    pub(crate) result_ttl: Option<Duration>,
    pub(crate) dead_letter_limit: Option<usize>,
    pub(crate) max_connections: u32,
    pub(crate) synchronous_full: bool,
    pub(crate) checkpoint_interval: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            lease: Duration::from_secs(10),
            heartbeat: None,
            poll: Duration::from_millis(50),
            busy_timeout: Duration::from_secs(5),
            busy_limit: Duration::from_secs(60),
            result_ttl: None,
            dead_letter_limit: Some(DEFAULT_DEAD_LETTER_LIMIT),
            max_connections: 8,
            synchronous_full: false,
            checkpoint_interval: Duration::from_millis(250),
        }
    }
}

impl SqliteOptions {
    /// How long a consumer's claims stay its own without a heartbeat (default 10 s): past
    /// it, any consumer on the file may claim them again (counted as a delivery).
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(50));
        self
    }

    /// The lease in force.
    pub fn lease_length(&self) -> Duration {
        self.lease
    }

    /// How often a consumer renews its lease and looks for expired ones (default a fifth of
    /// the lease).
    #[must_use]
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = Some(interval.max(Duration::from_millis(10)));
        self
    }

    /// The heartbeat in force.
    pub fn heartbeat_interval(&self) -> Duration {
        self.heartbeat.unwrap_or(self.lease / 5)
    }

    /// How often a waiting dequeue or result wait looks at the file for what *another
    /// process* wrote (default 50 ms): the cross-process pickup latency is at most this. Writes
    /// of this process wake waiters at once, without polling.
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll = interval.max(Duration::from_millis(1));
        self
    }

    /// SQLite's busy timeout on each connection (default 5 s): how long one statement waits
    /// for a lock another process holds before this crate's own retry takes over.
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// How long an operation keeps retrying while other processes hold the file's lock
    /// (default 60 s) before it fails with an error that may pass (`StorageError::Backend`).
    #[must_use]
    pub fn busy_limit(mut self, limit: Duration) -> Self {
        self.busy_limit = limit;
        self
    }

    /// Give every stored result a time to live, so results nobody reads cannot fill the file
    /// (default `None`: kept until read).
    #[must_use]
    pub fn result_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.result_ttl = ttl;
        self
    }

    /// Keep at most `limit` dead letters per namespace (default
    /// [`DEFAULT_DEAD_LETTER_LIMIT`]); adding one beyond it drops the oldest in the same
    /// transaction. `None` keeps them all.
    #[must_use]
    pub fn dead_letter_limit(mut self, limit: Option<usize>) -> Self {
        self.dead_letter_limit = limit;
        self
    }

    /// The most connections of the pool that [`SqliteStorage::open`](crate::SqliteStorage::open)
    /// and [`connect`](crate::SqliteStorage::connect) make (default 8). Writers take turns
    /// anyway; more connections let more readers run at once.
    #[must_use]
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How often a background task checkpoints the WAL into the database file (default
    /// 250 ms). The pools [`open`](crate::SqliteStorage::open) and
    /// [`connect`](crate::SqliteStorage::connect) make do not checkpoint inside a commit, so a
    /// writer never waits for one.
    #[must_use]
    pub fn checkpoint_interval(mut self, interval: Duration) -> Self {
        self.checkpoint_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// `PRAGMA synchronous = FULL`: every commit is on disk before it returns, surviving a
    /// power loss. The default, `NORMAL`, is what SQLite advises with WAL: nothing is lost
    /// when a process dies (`kill -9`), and a power loss can only roll back the last
    /// commits, never corrupt the file.
    #[must_use]
    pub fn synchronous_full(mut self, on: bool) -> Self {
        self.synchronous_full = on;
        self
    }
}
