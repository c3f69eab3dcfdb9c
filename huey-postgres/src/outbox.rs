//! Transactional enqueue: messages written on the application's own connection or
//! transaction, so they are queued exactly when it commits (and the consumers' wake-up,
//! a `NOTIFY`, is delivered at that commit), and never if it rolls back.

use std::future::Future;

use huey_core::{EnqueueInto, Huey, HueyError, MessageSink, StorageError, async_trait};
use sqlx::PgConnection;

use crate::errors::backend;
use crate::queue::insert;
use crate::schema::{InvalidSchema, Tables, check_schema};
use crate::storage::PostgresStorage;

/// Where a transactional enqueue writes: a queue's namespace and the schema of its tables.
/// Cheap to clone; take it from the storage with [`PostgresStorage::outbox`] before the
/// storage moves into its `Huey`, or make it with [`Outbox::new`].
#[derive(Debug, Clone)]
pub struct Outbox {
    tables: Tables,
    namespace: String,
}

impl Outbox {
    /// The outbox of queue `namespace` in `schema` (the storage's
    /// [`PostgresOptions::schema`](crate::PostgresOptions::schema), `huey` by default).
    pub fn new(namespace: &str, schema: &str) -> Result<Outbox, InvalidSchema> {
        check_schema(schema)?;
        Ok(Outbox {
            tables: Tables::new(schema),
            namespace: namespace.to_owned(),
        })
    }

    /// A [`MessageSink`] writing on `conn` (a `&mut Transaction` coerces to it), for
    /// huey-core's `enqueue_into` methods.
    pub fn on<'a>(&'a self, conn: &'a mut PgConnection) -> OutboxSink<'a> {
        OutboxSink { outbox: self, conn }
    }
}

impl PostgresStorage {
    /// This storage's [`Outbox`], for transactional enqueues.
    pub fn outbox(&self) -> Outbox {
        Outbox {
            tables: self.tables.clone(),
            namespace: self.namespace.clone(),
        }
    }
}

/// A [`MessageSink`] on an application's connection or transaction (see [`Outbox::on`]).
#[must_use = "a sink does nothing until an enqueue writes to it"]
pub struct OutboxSink<'a> {
    outbox: &'a Outbox,
    conn: &'a mut PgConnection,
}

impl std::fmt::Debug for OutboxSink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxSink")
            .field("outbox", self.outbox)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl MessageSink for OutboxSink<'_> {
    async fn put(&mut self, items: Vec<(Vec<u8>, i32)>) -> Result<(), StorageError> {
        let outbox = self.outbox;
        insert(&mut *self.conn, &outbox.tables, &outbox.namespace, &items)
            .await
            .map_err(backend)
    }
}

/// `enqueue_in`: enqueue a task call, a pipeline, a group or a chord on the application's own
/// sqlx connection or transaction. See the [crate docs](crate#transactional-enqueue).
///
/// A task's `map` enqueues at once; in a transaction, enqueue the group it stands for,
/// `group(items.map(my_task::call))`.
pub trait EnqueueIn: Sized {
    /// The result handle(s) the enqueue returns.
    type Handle;

    /// Writes the messages on `conn` into `outbox`'s queue; they are queued when `conn`'s
    /// transaction commits, and not at all if it rolls back. Fires `Signal::Enqueued` once
    /// written (before the commit).
    fn enqueue_in<'a>(
        self,
        huey: &'a Huey,
        outbox: &'a Outbox,
        conn: &'a mut PgConnection,
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
        conn: &'a mut PgConnection,
    ) -> Result<Self::Handle, HueyError>
    where
        Self: 'a,
    {
        self.enqueue_into(huey, &mut outbox.on(conn)).await
    }
}
