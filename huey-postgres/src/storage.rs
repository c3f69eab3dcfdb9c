//! `PostgresStorage`: its options, how it connects, and the state it shares between the
//! trait implementations (pool, tables, consumer identity, listener, settle task).

use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use huey_core::StorageError;
use huey_core::storage::DEFAULT_DEAD_LETTER_LIMIT;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::sync::mpsc;

use crate::cursor::PickCursor;
use crate::errors::backend;
use crate::listener::{self, Listener};
use crate::schema::{self, InvalidSchema, Tables};
use crate::settler::{self, Job};

/// Options of a [`PostgresStorage`].
///
/// ```
/// use huey_postgres::PostgresOptions;
/// use std::time::Duration;
///
/// let options = PostgresOptions::default()
///     .schema("jobs")
///     .lease(Duration::from_secs(30))
///     .fallback_poll(Duration::from_secs(10));
/// assert_eq!(options.schema_name(), "jobs");
/// ```
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    pub(crate) schema: String,
    pub(crate) lease: Duration,
    pub(crate) heartbeat: Duration,
    pub(crate) fallback_poll: Duration,
    pub(crate) result_ttl: Option<Duration>,
    pub(crate) awaited_ttl: Duration,
    pub(crate) dead_letter_limit: Option<usize>,
    pub(crate) max_connections: u32,
    pub(crate) migrate: bool,
    pub(crate) vacuum: bool,
    pub(crate) synchronous_outcomes: bool,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            schema: "huey".to_owned(),
            lease: Duration::from_secs(10),
            heartbeat: Duration::from_secs(2),
            fallback_poll: Duration::from_secs(5),
            result_ttl: None,
            awaited_ttl: Duration::from_secs(60),
            dead_letter_limit: Some(DEFAULT_DEAD_LETTER_LIMIT),
            max_connections: 10,
            migrate: true,
            vacuum: true,
            synchronous_outcomes: false,
        }
    }
}

impl PostgresOptions {
    /// The schema that holds the tables (default `huey`): a plain lower-case identifier.
    /// Several queues (namespaces) share one schema's tables.
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The schema in force.
    pub fn schema_name(&self) -> &str {
        &self.schema
    }

    /// How long a claim stays this consumer's without a heartbeat (default 10 s): past it,
    /// another consumer claims the message again. Keep it several heartbeats long.
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(100));
        self
    }

    /// How often a running consumer renews its leases and recovers expired ones (default 2 s).
    #[must_use]
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = interval.max(Duration::from_millis(10));
        self
    }

    /// How often an idle dequeue looks at the queue even without a notification (default
    /// 5 s): only a safety net, since every enqueue notifies.
    #[must_use]
    pub fn fallback_poll(mut self, interval: Duration) -> Self {
        self.fallback_poll = interval.max(Duration::from_millis(10));
        self
    }

    /// Give every task result a time to live, so results nobody reads cannot pile up; the
    /// heartbeat deletes expired rows in batches.
    #[must_use]
    pub fn result_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.result_ttl = ttl;
        self
    }

    /// Keep at most `limit` dead letters per queue (default
    /// [`DEFAULT_DEAD_LETTER_LIMIT`]); `None` keeps them all.
    #[must_use]
    pub fn dead_letter_limit(mut self, limit: Option<usize>) -> Self {
        self.dead_letter_limit = limit;
        self
    }

    /// The pool size of [`PostgresStorage::connect_with`] (default 10; one more connection is
    /// held by the notification listener). Ignored by [`PostgresStorage::from_pool`].
    #[must_use]
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Whether the heartbeat may `VACUUM` the queue and claims tables itself, in the
    /// background, when dead rows pile up (20,000 or more) and no vacuum ran for ten seconds
    /// (default true): with autovacuum off or lagging, every claimed task leaves dead rows
    /// that claims and the heartbeat's recovery must step over, and the drain slows down.
    #[must_use]
    pub fn vacuum(mut self, on: bool) -> Self {
        self.vacuum = on;
        self
    }

    /// Whether claims and settlements wait for their commit to reach the disk (default
    /// false).
    ///
    /// By default they commit asynchronously (`synchronous_commit = off` for those
    /// transactions only): a server crash can then undo the last moments of them (at most
    /// three times `wal_writer_delay`, 600 ms by default). An undone claim or settlement puts
    /// its task back on the queue to run again, as a consumer's crash does: delivery stays
    /// at-least-once, and a settlement is still undone whole (its result, its follow-ups and
    /// its acknowledgement together). What it saves is a flush wait per claim and per
    /// settlement, which a busy disk makes long (measured here: 4 to 6 ms per synchronous
    /// commit while builds ran, against 0.4 ms asynchronous). Enqueues always commit as
    /// their transaction does: an enqueue that returned is on disk.
    ///
    /// Turn this on if a result someone has read must never be undone by a crash.
    #[must_use]
    pub fn synchronous_outcomes(mut self, on: bool) -> Self {
        self.synchronous_outcomes = on;
        self
    }

    /// Whether connecting runs [`PostgresStorage::migrate`] (default true). Turn it off where
    /// the application's role may not create tables, and run `migrate` once at deployment.
    #[must_use]
    pub fn migrate_on_connect(mut self, on: bool) -> Self {
        self.migrate = on;
        self
    }
}

/// Why a storage could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The schema name is not a plain identifier.
    #[error(transparent)]
    Schema(#[from] InvalidSchema),
    /// PostgreSQL could not be reached, or refused the tables.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<ConnectError> for StorageError {
    fn from(e: ConnectError) -> StorageError {
        match e {
            ConnectError::Schema(e) => StorageError::Invalid(Box::new(e)),
            ConnectError::Storage(e) => e,
        }
    }
}

/// Session settings for the connections of a pool the storage makes itself (and the ones
/// the docs of [`PostgresStorage::from_pool`] recommend for an application's pool).
///
/// - `jit = off`: JIT compilation costs tens of milliseconds per statement and never pays
///   off for a queue's short statements; with stale statistics the planner would still start
///   it now and then (measured: a heartbeat's recovery took 270 ms, 73 of them compiling).
/// - `plan_cache_mode = force_generic_plan`: the claim's `LIMIT $2` makes the planner's cost
///   estimate of a generic plan high, so it planned every claim afresh (a third of the
///   claim's server time, measured); every statement of the storage is written so that its
///   generic plan reads by index.
const QUEUE_SETTINGS: [(&str, &str); 2] =
    [("jit", "off"), ("plan_cache_mode", "force_generic_plan")];

/// This storage's identity as a consumer.
#[derive(Debug)]
pub(crate) struct Identity {
    /// The owner written on claims: unique per storage and renewed when it is found dead.
    pub id: String,
    /// Whether a heartbeat registered it (so a missing registration means it was reaped).
    pub registered: bool,
}

fn new_consumer_id() -> String {
    format!(
        "{}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_millis(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// The PostgreSQL storage: see the [crate docs](crate) for the tables and the delivery
/// protocol.
pub struct PostgresStorage {
    pub(crate) pool: PgPool,
    pub(crate) namespace: String,
    pub(crate) tables: Tables,
    pub(crate) options: PostgresOptions,
    pub(crate) identity: Mutex<Identity>,
    pub(crate) listener: Listener,
    pub(crate) settler: mpsc::UnboundedSender<Job>,
    /// Whether this storage's background VACUUM of the queue table is running.
    pub(crate) vacuuming: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Where this consumer's next claim starts reading the queue.
    pub(crate) cursor: Mutex<PickCursor>,
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStorage")
            .field("namespace", &self.namespace)
            .field("schema", &self.tables.schema)
            .field("consumer_id", &self.consumer_id())
            .finish_non_exhaustive()
    }
}

impl PostgresStorage {
    /// Connects to `url` (`postgres://user:password@host:port/database`) with default
    /// options, keeping this queue's rows under `namespace` (use the name of the `Huey` it
    /// serves), and creates the tables if they are missing.
    pub async fn connect(namespace: &str, url: &str) -> Result<PostgresStorage, ConnectError> {
        PostgresStorage::connect_with(namespace, url, PostgresOptions::default()).await
    }

    /// Connects with `options`, on a pool of its own.
    pub async fn connect_with(
        namespace: &str,
        url: &str,
        options: PostgresOptions,
    ) -> Result<PostgresStorage, ConnectError> {
        schema::check_schema(&options.schema)?;
        let connect_options = url.parse::<PgConnectOptions>().map_err(backend)?;
        let connect_options = connect_options.options(QUEUE_SETTINGS);
        let pool = PgPoolOptions::new()
            // The listener holds one connection for good.
            .max_connections(options.max_connections + 1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect_options)
            .await
            .map_err(backend)?;
        PostgresStorage::from_pool_with(namespace, pool, options).await
    }

    /// Uses the application's pool with default options. The storage holds one of its
    /// connections for its notification listener, and borrows others per call.
    ///
    /// For the best throughput and latency, give the pool's connections the settings that
    /// [`connect`](Self::connect) gives its own: `jit = off` (JIT compilation costs tens of
    /// milliseconds per statement it starts on, and never pays off for a queue's short
    /// statements) and `plan_cache_mode = force_generic_plan` (otherwise every claim is
    /// planned afresh). Both are session settings of those connections only.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    ///
    /// let options: PgConnectOptions = "postgres://app@localhost/app".parse()?;
    /// let pool = PgPoolOptions::new()
    ///     .connect_with(options.options([("jit", "off"), ("plan_cache_mode", "force_generic_plan")]))
    ///     .await?;
    /// let storage = huey_postgres::PostgresStorage::from_pool("emails", pool).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn from_pool(namespace: &str, pool: PgPool) -> Result<PostgresStorage, ConnectError> {
        PostgresStorage::from_pool_with(namespace, pool, PostgresOptions::default()).await
    }

    /// Uses the application's pool with `options`.
    pub async fn from_pool_with(
        namespace: &str,
        pool: PgPool,
        options: PostgresOptions,
    ) -> Result<PostgresStorage, ConnectError> {
        schema::check_schema(&options.schema)?;
        let tables = Tables::new(&options.schema);
        if options.migrate {
            schema::migrate(&pool, &tables).await?;
        }
        let listener = listener::start(&pool, &tables.channel, namespace).await?;
        let config = settler::Config {
            namespace: namespace.to_owned(),
            result_ttl_ms: options.result_ttl.map_or(0, |t| millis(t).max(1)),
            awaited_ttl_ms: millis(options.awaited_ttl),
            synchronous: options.synchronous_outcomes,
        };
        let settler = settler::spawn(pool.clone(), &tables, config);
        Ok(PostgresStorage {
            pool,
            namespace: namespace.to_owned(),
            tables,
            options,
            identity: Mutex::new(Identity {
                id: new_consumer_id(),
                registered: false,
            }),
            listener,
            settler,
            vacuuming: Default::default(),
            cursor: Mutex::default(),
        })
    }

    /// Creates the schema and tables if they are missing (idempotent; connecting does it
    /// unless [`PostgresOptions::migrate_on_connect`] is off).
    pub async fn migrate(&self) -> Result<(), StorageError> {
        schema::migrate(&self.pool, &self.tables).await
    }

    /// The pool this storage runs on.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The queue name this storage serves.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The options in force.
    pub fn options(&self) -> &PostgresOptions {
        &self.options
    }

    /// This storage's consumer id, written as the owner of its claims.
    pub fn consumer_id(&self) -> String {
        self.identity().id.clone()
    }

    pub(crate) fn identity(&self) -> std::sync::MutexGuard<'_, Identity> {
        self.identity.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn cursor(&self) -> std::sync::MutexGuard<'_, PickCursor> {
        self.cursor.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Rows of `table` in this namespace that match `filter` (an SQL condition, `TRUE` for
    /// all): the size queries of every concern.
    pub(crate) async fn count_rows(
        &self,
        table: &str,
        filter: &str,
    ) -> huey_core::storage::StorageResult<usize> {
        let sql = format!("SELECT count(*) FROM {table} WHERE namespace = $1 AND {filter}");
        let (n,): (i64,) = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// The `data` of this namespace's rows of `table` in `order` (an SQL `ORDER BY` list), at
    /// most `limit` of them.
    pub(crate) async fn row_data(
        &self,
        table: &str,
        order: &str,
        limit: Option<usize>,
    ) -> huey_core::storage::StorageResult<Vec<Vec<u8>>> {
        let sql =
            format!("SELECT data FROM {table} WHERE namespace = $1 ORDER BY {order} LIMIT $2");
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX)))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(|(d,)| d).collect())
    }

    /// Deletes this namespace's rows of `table`.
    pub(crate) async fn delete_rows(&self, table: &str) -> huey_core::storage::StorageResult<()> {
        let sql = format!("DELETE FROM {table} WHERE namespace = $1");
        sqlx::query(&sql)
            .bind(&self.namespace)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Deletes this namespace's row of `table` whose `column` is `key`; returns whether there
    /// was one (the delete of a counter, a revocation flag, a presence record).
    pub(crate) async fn delete_row(
        &self,
        table: &str,
        column: &str,
        key: &str,
    ) -> huey_core::storage::StorageResult<bool> {
        let sql = format!("DELETE FROM {table} WHERE namespace = $1 AND {column} = $2");
        let done = sqlx::query(&sql)
            .bind(&self.namespace)
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    /// Renews the consumer id: a consumer found dead starts afresh, so settlements of claims
    /// made under the old id never apply to claims made under the new one.
    pub(crate) fn renew_identity(&self) -> String {
        let mut identity = self.identity();
        identity.id = new_consumer_id();
        identity.id.clone()
    }
}

/// A duration in whole milliseconds, as SQL takes it.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
