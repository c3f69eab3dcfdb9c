//! `SqliteStorage`: a handle on one namespace of one SQLite file, and how it is opened.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use huey_core::storage::StorageResult;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::mpsc;

use crate::db::{Db, Retry, Scope};
use crate::errors::{self, Failure};
use crate::options::SqliteOptions;
use crate::settler::{self, Job};
use crate::{checkpoint, schema, shared};

/// The storage on a SQLite file; see the [crate docs](crate) for the layout and the delivery
/// guarantees.
///
/// Cheap to share: a consumer's workers all use one handle (`Huey` holds it in an `Arc`).
/// Each handle is one consumer to the other processes on the file: its claims are its own
/// until its lease lapses.
pub struct SqliteStorage {
    pub(crate) db: Arc<Db>,
    pub(crate) scope: Arc<Scope>,
    pub(crate) options: SqliteOptions,
    /// Whether this handle's consumer row was written (by a claim or a heartbeat) and not
    /// retired since: a row that went missing then means this consumer was presumed dead.
    pub(crate) registered: AtomicBool,
    pub(crate) settler: mpsc::UnboundedSender<Job>,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("namespace", &self.scope.namespace)
            .field("consumer_id", &self.scope.owner)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl SqliteStorage {
    /// Opens (creating it if missing) the SQLite file at `path` with default options, keeping
    /// this queue's rows under `namespace` (use the name of the `Huey` it serves).
    pub async fn open(namespace: &str, path: impl AsRef<Path>) -> StorageResult<SqliteStorage> {
        SqliteStorage::open_with(namespace, path, SqliteOptions::default()).await
    }

    /// [`open`](Self::open) with `options`.
    pub async fn open_with(
        namespace: &str,
        path: impl AsRef<Path>,
        options: SqliteOptions,
    ) -> StorageResult<SqliteStorage> {
        let connect = SqliteConnectOptions::new().filename(path.as_ref());
        SqliteStorage::connect_options(namespace, connect, options).await
    }

    /// Opens the database of a sqlx SQLite URL (`sqlite://huey.db`, `sqlite:huey.db?mode=rwc`)
    /// with default options; the file is created if missing.
    pub async fn connect(namespace: &str, url: &str) -> StorageResult<SqliteStorage> {
        SqliteStorage::connect_with(namespace, url, SqliteOptions::default()).await
    }

    /// [`connect`](Self::connect) with `options`.
    pub async fn connect_with(
        namespace: &str,
        url: &str,
        options: SqliteOptions,
    ) -> StorageResult<SqliteStorage> {
        let connect = SqliteConnectOptions::from_str(url)
            .map_err(|e| errors::storage(Failure::Sql(e), Default::default()))?;
        SqliteStorage::connect_options(namespace, connect, options).await
    }

    /// Opens the file named by `HUEY_SQLITE` (a path), or `huey.db`.
    pub async fn from_env(namespace: &str) -> StorageResult<SqliteStorage> {
        let path = std::env::var_os("HUEY_SQLITE").unwrap_or_else(|| "huey.db".into());
        SqliteStorage::open(namespace, path).await
    }

    async fn connect_options(
        namespace: &str,
        connect: SqliteConnectOptions,
        options: SqliteOptions,
    ) -> StorageResult<SqliteStorage> {
        let connect = connect
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if options.synchronous_full {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .busy_timeout(options.busy_timeout)
            // Checkpoints run in the background (see `checkpoint`), not inside a commit.
            .pragma("wal_autocheckpoint", "0");
        let mut retry = Retry::new(options.busy_limit);
        let pool = loop {
            // Opening switches the file to WAL, which waits for other processes' locks.
            let opened = SqlitePoolOptions::new()
                .max_connections(options.max_connections)
                // A local file: a ping before each use would only cost a round trip.
                .test_before_acquire(false)
                .connect_with(connect.clone())
                .await
                .map_err(Failure::Sql);
            match opened {
                Err(failure) if errors::is_busy(&failure) && retry.again().await => {}
                opened => break opened.map_err(|f| errors::storage(f, retry.waited()))?,
            }
        };
        SqliteStorage::from_pool_with(namespace, pool, options).await
    }

    /// A storage on an existing pool, with default options: an application already on sqlx
    /// shares its pool (and its file) with the queue. The tables are created if missing and
    /// the file is switched to WAL; give the pool's connections a busy timeout of their own
    /// (this crate retries a busy file either way).
    pub async fn from_pool(namespace: &str, pool: SqlitePool) -> StorageResult<SqliteStorage> {
        SqliteStorage::from_pool_with(namespace, pool, SqliteOptions::default()).await
    }

    /// [`from_pool`](Self::from_pool) with `options` (those about connections do not apply).
    pub async fn from_pool_with(
        namespace: &str,
        pool: SqlitePool,
        options: SqliteOptions,
    ) -> StorageResult<SqliteStorage> {
        // Handles on one file share their wake-ups; a file that cannot be named (an in-memory
        // database) has its own.
        let shared = match std::fs::canonicalize(pool.connect_options().get_filename()) {
            Ok(path) => shared::for_file(&path),
            Err(_) => shared::private(),
        };
        let db = Arc::new(Db {
            pool,
            shared,
            writer: tokio::sync::Mutex::new(None),
            busy_limit: options.busy_limit,
        });
        // Tables are created here rather than by a separate `migrate()`: every statement is
        // idempotent and cheap, so a quickstart or a second process needs no set-up step.
        read!(&db, |conn| {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&mut *conn)
                .await?;
        })?;
        write_tx!(&db, |tx| {
            for statement in schema::CREATE {
                sqlx::query(statement).execute(&mut *tx).await?;
            }
        })?;
        let consumer_id = format!(
            "{}-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_millis(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let scope = Arc::new(Scope {
            namespace: namespace.to_owned(),
            owner: consumer_id,
            result_ttl: options.result_ttl,
            dead_letter_limit: options.dead_letter_limit,
        });
        let settler = settler::spawn(Arc::clone(&db), Arc::clone(&scope));
        checkpoint::spawn(Arc::downgrade(&db), options.checkpoint_interval);
        Ok(SqliteStorage {
            db,
            scope,
            options,
            registered: AtomicBool::new(false),
            settler,
        })
    }

    /// This handle's consumer id: unique per handle, it owns the handle's claims.
    pub fn consumer_id(&self) -> &str {
        &self.scope.owner
    }

    /// The namespace this handle's rows are under.
    pub fn namespace(&self) -> &str {
        &self.scope.namespace
    }

    /// The options in force.
    pub fn options(&self) -> &SqliteOptions {
        &self.options
    }

    /// The pool this storage runs on (to share it, or to run a query of your own).
    pub fn pool(&self) -> &SqlitePool {
        &self.db.pool
    }

    pub(crate) fn ns(&self) -> &str {
        &self.scope.namespace
    }
}
