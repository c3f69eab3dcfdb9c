//! The way every operation reaches the file: a pool, the process's turn to write, and a
//! retry while other processes hold the lock. Writers start with `BEGIN IMMEDIATE`, taking
//! the write lock before they read, so two writers never deadlock on a lock upgrade (each
//! holding a read lock and waiting for the other's); a writer that finds the file busy waits
//! and tries again, so SQLite's "database is locked" never reaches the caller.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqlitePool};

use crate::shared::FileShared;

/// A pool on one file, with what this process shares about that file.
#[derive(Debug)]
pub(crate) struct Db {
    pub pool: SqlitePool,
    pub shared: Arc<FileShared>,
    /// The connection that writes, kept out of the pool between transactions: a write then
    /// costs no pool round trip. Taken only with the file's turn to write held.
    pub writer: tokio::sync::Mutex<Option<PoolConnection<Sqlite>>>,
    /// How long an operation retries while the file is busy.
    pub busy_limit: Duration,
}

/// Who writes, and the settings their writes follow: fixed when a storage is made.
#[derive(Debug)]
pub(crate) struct Scope {
    pub namespace: String,
    /// This handle's consumer id: the owner of its claims.
    pub owner: String,
    pub result_ttl: Option<Duration>,
    pub dead_letter_limit: Option<usize>,
}

/// The wait between tries while the file is busy: short at first (another process's
/// transaction is usually over within a millisecond), then longer.
#[derive(Debug)]
pub(crate) struct Retry {
    started: Instant,
    limit: Duration,
    pause: Duration,
}

impl Retry {
    pub fn new(limit: Duration) -> Retry {
        Retry {
            started: Instant::now(),
            limit,
            pause: Duration::from_millis(1),
        }
    }

    /// Waits before another try; false (without waiting) once the limit is spent.
    pub async fn again(&mut self) -> bool {
        if self.started.elapsed() >= self.limit {
            return false;
        }
        tokio::time::sleep(self.pause).await;
        self.pause = (self.pause * 2).min(Duration::from_millis(50));
        true
    }

    /// How long the tries took so far.
    pub fn waited(&self) -> Duration {
        self.started.elapsed()
    }
}

/// Milliseconds since the Unix epoch, by this machine's clock (every process on one file
/// shares it).
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Milliseconds of `d`, as SQLite stores them.
pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A SQL `LIMIT` for an optional limit (-1: none).
pub(crate) fn sql_limit(limit: Option<usize>) -> i64 {
    limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX))
}

/// Runs `$body` in a write transaction on `$db` (a `&Db`): the process's turn to write, then
/// `BEGIN IMMEDIATE`, the body, `COMMIT`. `$tx` names the transaction in the body, which may
/// use `?` on `sqlx::Error` and `Failure`. While the file is busy the whole transaction is
/// tried again (the body must not have effects outside the file). Gives a `StorageResult`.
macro_rules! write_tx {
    ($db:expr, |$tx:ident| $body:expr) => {{
        let db: &$crate::db::Db = $db;
        let mut retry = $crate::db::Retry::new(db.busy_limit);
        loop {
            let outcome: Result<_, $crate::errors::Failure> = async {
                let _turn = db.shared.write.lock().await;
                let mut writer = db.writer.lock().await;
                let conn = match &mut *writer {
                    Some(conn) => conn,
                    None => writer.insert(db.pool.acquire().await?),
                };
                let outcome: Result<_, $crate::errors::Failure> = async {
                    #[allow(unused_mut)]
                    let mut $tx =
                        sqlx::Connection::begin_with(&mut **conn, "BEGIN IMMEDIATE").await?;
                    let value = $body;
                    $tx.commit().await?;
                    Ok(value)
                }
                .await;
                if outcome.is_err() {
                    // A connection that failed is not trusted to write again: the pool gets it
                    // back (rolling back what it held) and the next write takes another.
                    *writer = None;
                }
                outcome
            }
            .await;
            match outcome {
                Err(failure) if $crate::errors::is_busy(&failure) && retry.again().await => {}
                outcome => {
                    break outcome.map_err(|f| $crate::errors::storage(f, retry.waited()));
                }
            }
        }
    }};
}

/// Runs `$body` on a connection of `$db`'s pool, outside any transaction (reads: WAL lets them
/// run beside a writer), retried while the file is busy. Gives a `StorageResult`.
macro_rules! read {
    ($db:expr, |$conn:ident| $body:expr) => {{
        let db: &$crate::db::Db = $db;
        let mut retry = $crate::db::Retry::new(db.busy_limit);
        loop {
            let outcome: Result<_, $crate::errors::Failure> = async {
                #[allow(unused_mut)]
                let mut $conn = db.pool.acquire().await?;
                Ok($body)
            }
            .await;
            match outcome {
                Err(failure) if $crate::errors::is_busy(&failure) && retry.again().await => {}
                outcome => {
                    break outcome.map_err(|f| $crate::errors::storage(f, retry.waited()));
                }
            }
        }
    }};
}
