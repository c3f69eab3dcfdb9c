//! Transactional enqueue: messages written on the application's own connection or
//! transaction into the queue's table, so they are queued exactly when it commits, and never
//! if it rolls back. SQLite has no `NOTIFY`: the wake-up is a commit hook the outbox sets on
//! that connection, which wakes this process's waiting dequeues at the commit.

use std::future::Future;
use std::sync::{Arc, Weak};

use huey_core::{EnqueueInto, Huey, HueyError, MessageSink, StorageError, async_trait};
use sqlx::{Connection, SqliteConnection};

use crate::errors;
use crate::rows;
use crate::shared::FileShared;
use crate::storage::SqliteStorage;

/// Where a transactional enqueue writes: a queue's namespace, and the wake-ups of its file in
/// this process. Cheap to clone; take it from the storage with [`SqliteStorage::outbox`]
/// before the storage moves into its `Huey`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("huey-sqlite-outbox-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let storage = huey_sqlite::SqliteStorage::open("shop", dir.join("shop.db")).await?;
/// let outbox = storage.outbox();
/// assert_eq!(outbox.namespace(), "shop");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Outbox {
    shared: Arc<FileShared>,
    namespace: String,
}

impl Outbox {
    /// The namespace the messages are queued under.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// A [`MessageSink`] writing on `conn` (a `&mut Transaction` coerces to it), for
    /// huey-core's `enqueue_into` methods. `conn` must be on the storage's file.
    ///
    /// ```
    /// use huey_core::prelude::*;
    ///
    /// #[task]
    /// fn ping() {}
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = std::env::temp_dir().join(format!("huey-sqlite-on-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let storage = huey_sqlite::SqliteStorage::open("app", dir.join("app.db")).await?;
    /// let (outbox, pool) = (storage.outbox(), storage.pool().clone());
    /// let huey = Huey::new("app", storage);
    /// let mut tx = pool.begin().await?;
    /// let _handle = ping::call().enqueue_into(&huey, &mut outbox.on(&mut tx)).await?;
    /// tx.rollback().await?;
    /// assert_eq!(huey.pending_count().await?, 0, "rolled back: nothing queued");
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(()) }
    /// ```
    pub fn on<'a>(&'a self, conn: &'a mut SqliteConnection) -> OutboxSink<'a> {
        OutboxSink { outbox: self, conn }
    }
}

impl SqliteStorage {
    /// This storage's [`Outbox`], for transactional enqueues.
    pub fn outbox(&self) -> Outbox {
        Outbox {
            shared: Arc::clone(&self.db.shared),
            namespace: self.scope.namespace.clone(),
        }
    }
}

/// A [`MessageSink`] on an application's connection or transaction (see [`Outbox::on`]).
#[must_use = "a sink does nothing until an enqueue writes to it"]
pub struct OutboxSink<'a> {
    outbox: &'a Outbox,
    conn: &'a mut SqliteConnection,
}

impl std::fmt::Debug for OutboxSink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxSink")
            .field("namespace", &self.outbox.namespace)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl MessageSink for OutboxSink<'_> {
    async fn put(&mut self, items: Vec<(Vec<u8>, i32)>) -> Result<(), StorageError> {
        // Armed before the insert: on a connection outside a transaction, the insert's own
        // commit is the one to announce.
        self.conn
            .lock_handle()
            .await
            .map_err(errors::on_app_connection)?
            .set_commit_hook(wake_at_commit(&self.outbox.shared));
        // A savepoint inside the application's transaction (a transaction of its own outside
        // one), so the messages are written all or none.
        let mut tx = self.conn.begin().await.map_err(errors::on_app_connection)?;
        for (data, priority) in &items {
            rows::enqueue(&mut tx, &self.outbox.namespace, data, *priority)
                .await
                .map_err(errors::on_app_connection)?;
        }
        tx.commit().await.map_err(errors::on_app_connection)
    }
}

/// The commit hook: wakes the file's waiting dequeues in this process, once. It runs inside
/// SQLite's commit, before the commit is visible to a reader; a woken dequeue therefore claims
/// at once rather than reading first, and its claim (`BEGIN IMMEDIATE`) waits for the write
/// lock that this commit holds until it is done. It stays on the connection afterwards (SQLite
/// has no way to remove a hook from inside it), disarmed; a rollback leaves it armed, costing
/// one needless claim at that connection's next commit.
fn wake_at_commit(shared: &Arc<FileShared>) -> impl FnMut() -> bool + Send + 'static {
    let shared: Weak<FileShared> = Arc::downgrade(shared);
    let mut armed = true;
    move || {
        if std::mem::take(&mut armed)
            && let Some(shared) = shared.upgrade()
        {
            shared.queue.notify_waiters();
        }
        // Lets the commit go ahead (false would turn it into a rollback).
        true
    }
}

/// `enqueue_in`: enqueue a task call, a pipeline, a group or a chord on the application's own
/// sqlx SQLite connection or transaction. See the [crate docs](crate#transactional-enqueue).
///
/// A task's `map` enqueues at once; in a transaction, enqueue the group it stands for,
/// `group(items.map(my_task::call))`.
///
/// ```
/// use huey_core::group::{MemberResult, group};
/// use huey_core::prelude::*;
/// use huey_sqlite::{EnqueueIn, SqliteStorage};
/// use std::time::Duration;
///
/// #[task]
/// fn square(n: i64) -> i64 {
///     n * n
/// }
///
/// #[task]
/// fn sum(values: Vec<MemberResult<i64>>) -> i64 {
///     values.into_iter().filter_map(MemberResult::ok).sum()
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("huey-sqlite-in-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let storage = SqliteStorage::open("app", dir.join("app.db")).await?;
/// let (outbox, pool) = (storage.outbox(), storage.pool().clone());
/// let huey = Huey::new("app", storage);
/// let consumer = Consumer::builder(&huey).workers(2).start()?;
///
/// let mut tx = pool.begin().await?;
/// // `square::map(&huey, 1..=3)` would enqueue at once; this is its group, with a callback.
/// let mut chord = group((1..=3).map(square::call))
///     .then(sum::partial())
///     .enqueue_in(&huey, &outbox, &mut tx)
///     .await?;
/// tx.commit().await?;
/// assert_eq!(chord.callback.wait(Duration::from_secs(10)).await?, 14);
/// consumer.shutdown().await?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
pub trait EnqueueIn: Sized {
    /// The result handle(s) the enqueue returns.
    type Handle;

    /// Writes the messages on `conn` into `outbox`'s queue; they are queued when `conn`'s
    /// transaction commits, and not at all if it rolls back. Fires `Signal::Enqueued` once
    /// written (before the commit). Sets `conn`'s SQLite commit hook (replacing one the
    /// application set), which wakes this process's consumers at the commit.
    fn enqueue_in<'a>(
        self,
        huey: &'a Huey,
        outbox: &'a Outbox,
        conn: &'a mut SqliteConnection,
    ) -> impl Future<Output = Result<Self::Handle, HueyError>> + Send + 'a
    where
        Self: 'a;
}

/// Every [`EnqueueInto`] (a task call, a pipeline, a group, a chord) enqueues in a
/// transaction the same way: through an [`OutboxSink`] on it.
impl<E: EnqueueInto> EnqueueIn for E {
    type Handle = E::Handle;

    async fn enqueue_in<'a>(
        self,
        huey: &'a Huey,
        outbox: &'a Outbox,
        conn: &'a mut SqliteConnection,
    ) -> Result<Self::Handle, HueyError>
    where
        Self: 'a,
    {
        self.enqueue_into(huey, &mut outbox.on(conn)).await
    }
}
