//! # huey-postgres
//!
//! The PostgreSQL storage for huey-rs, on [sqlx](https://docs.rs/sqlx): queues that persist
//! in the database an application already runs, with **at-least-once delivery** (a task
//! running when its consumer dies is run again by another consumer) and **enqueue inside the
//! application's own transaction**.
//!
//! ```no_run
//! use huey_core::prelude::*;
//! use huey_postgres::PostgresStorage;
//!
//! #[task]
//! fn add(a: i64, b: i64) -> i64 {
//!     a + b
//! }
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The namespace keeps this queue's rows apart: give it the queue's name. Connecting
//! // creates the tables if they are missing (see `PostgresOptions::migrate_on_connect`).
//! let storage = PostgresStorage::connect("my-app", "postgres://app@127.0.0.1/app").await?;
//! storage.migrate().await?; // idempotent; shown here because a deployment may run it alone
//! let huey = Huey::new("my-app", storage);
//! let consumer = Consumer::builder(&huey).workers(8).start()?;
//! let mut sum = add::call(2, 3).enqueue(&huey).await?;
//! assert_eq!(sum.wait(std::time::Duration::from_secs(5)).await?, 5);
//! consumer.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! [`PostgresStorage::from_pool`] takes the application's existing `PgPool` instead of a URL,
//! so the queue shares it. The storage holds one of the pool's connections for good (its
//! `LISTEN` connection) and borrows others per call: size the pool for that.
//!
//! ## Tables
//!
//! Every table lives in one schema ([`PostgresOptions::schema`], `huey` by default) and has a
//! `namespace` column: several queues share the tables. Migration is explicit and idempotent
//! ([`PostgresStorage::migrate`]: `CREATE ... IF NOT EXISTS` in one transaction under an
//! advisory lock); connecting runs it unless turned off, so a quick start needs no step of its
//! own, and a deployment whose application role may not create tables runs it once, apart.
//!
//! | table | holds |
//! | --- | --- |
//! | `queue` | waiting messages: `id` (FIFO order), `priority` (highest first), `data`, `deliveries` (earlier counted claims), `enqueued_at`. Rows are inserted and deleted, never updated; the index on `(namespace, priority DESC, id)` serves claims |
//! | `claims` | claimed messages, one row per claim: `claim` (a token unique to the claim, the delivery's receipt, the primary key), `owner` (the consumer's id), `claimed_at`, and the message's columns. It holds only what is in flight |
//! | `schedule` | messages due later, by `at` |
//! | `kv` | results and stored values by key, with `expires_at` for values with a ttl (locks taken with a ttl, results under [`PostgresOptions::result_ttl`], `()` results someone waited for) |
//! | `waiting` | registered result waits, so that settlements notify (and store `()` results) only for keys someone waits for |
//! | `counters` | counters (rate limits, ...) |
//! | `semaphores` | counting-semaphore slots: `(key, holder, expires_at)` |
//! | `chords`, `chord_members` | chord bookkeeping: who completed it, whether its callback fired, each member's outcome |
//! | `revocations` | revocation flags, `i:<task id>` and `t:<task name>` |
//! | `dead_letters` | messages that cannot run, oldest first by `seq`, the newest [`PostgresOptions::dead_letter_limit`] kept |
//! | `consumers` | live consumers and the expiry of their registration |
//! | `presence` | each consumer's presence record (JSON, see `huey_core::ConsumerInfo`) and its `heartbeat`; reading drops the stale ones |
//! | `paused` | a row per paused namespace (`Huey::pause`): no consumer claims from it |
//!
//! ## Delivery
//!
//! A dequeue claims up to `Dequeue::max` rows in one statement: `SELECT ... ORDER BY priority
//! DESC, id LIMIT n FOR UPDATE SKIP LOCKED`, and moves them to `claims` with the consumer's
//! id and a fresh `claim` token (a delete and an insert: no index of the queue table changes,
//! which made claims and settlements about twice as cheap as updating the rows in place).
//! In the same statement, rows longer than the consumer's message size limit
//! (`octet_length(data)`) move to `dead_letters`, so the consumer never downloads them. A
//! claim's lease is its owner's registration in `consumers`: the consumer's heartbeat
//! ([`QueueStorage::maintain`](huey_core::storage::QueueStorage::maintain), every
//! [`PostgresOptions::heartbeat`]) renews that one row, however many claims it holds, gives
//! the claims of consumers whose registration expired (and of claimers that never
//! registered, a lease after the claim) back to the queue under their old ids (their
//! `deliveries` counted), and deletes a batch of expired values. A consumer that
//! finds its registration gone was presumed dead: it reports `Upkeep::Lost` and starts afresh
//! under a new id, so none of its old settlements can apply. A stopping consumer gives its
//! unstarted claims back uncounted (`retire`).
//!
//! ## Wake-ups
//!
//! Every enqueue notifies (`pg_notify('huey_<schema>', 'q:<namespace>')`) in the statement
//! that inserts, so a message enqueued inside a transaction wakes consumers when the
//! transaction commits (PostgreSQL delivers notifications at commit) and never if it rolls
//! back. Each storage has one `LISTEN` connection; an idle dequeue sleeps until a
//! notification, looking anyway every [`PostgresOptions::fallback_poll`] (5 s) as a safety net.
//! There is no busy polling. After the listener loses its connection it wakes every waiter
//! (a notification may have been missed) and reconnects.
//!
//! ## Settlement
//!
//! A settlement (results, follow-up messages, the retry copy into the schedule, a dead
//! letter, the revocation clean-up, chord bookkeeping, the acknowledgement that deletes the
//! claim) is applied by one SQL statement, which is one transaction. Settlements are
//! **group-committed**: workers hand them to one settle task, which applies all that queued
//! up meanwhile in a single statement (arrays and `unnest`), so under load one round trip
//! settles many tasks, and a lone settlement is written at once. Each applies only while its
//! claim is still held (its `claims` row, by token and owner, is there); otherwise it writes
//! nothing and answers `Settled::NotHeld`.
//!
//! Claims and settlements commit asynchronously (`synchronous_commit = off` for their own
//! transactions): they never wait for the disk, and a server crash can only undo the last
//! moments of them, which puts those tasks back on the queue to run again (see
//! [`PostgresOptions::synchronous_outcomes`]). Enqueues commit as their transaction does.
//!
//! ## Transactional enqueue
//!
//! A task call, a pipeline, a group or a chord can be written on the application's own
//! connection or transaction with [`EnqueueIn::enqueue_in`]: it is queued when the
//! transaction commits, and not at all if it rolls back. The usual result handle comes back.
//! (huey-core's `enqueue_into` with an [`OutboxSink`] is the same thing, for any `MessageSink`
//! user.) A task's `map` enqueues at once; in a transaction, enqueue the group it stands for,
//! `group(items.map(my_task::call))`.
//!
//! ```no_run
//! use huey_core::prelude::*;
//! use huey_postgres::{EnqueueIn, PostgresStorage};
//!
//! #[task]
//! fn send_receipt(order: i64) {}
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = sqlx::PgPool::connect("postgres://app@127.0.0.1/app").await?;
//! let storage = PostgresStorage::from_pool("shop", pool.clone()).await?;
//! let outbox = storage.outbox(); // where transactional enqueues write; cheap to clone
//! let huey = Huey::new("shop", storage);
//!
//! let mut tx = pool.begin().await?;
//! let (order,): (i64,) = sqlx::query_as("INSERT INTO orders (total) VALUES (42) RETURNING id")
//!     .fetch_one(&mut *tx)
//!     .await?;
//! let receipt = send_receipt::call(order).enqueue_in(&huey, &outbox, &mut tx).await?;
//! tx.commit().await?; // now the task is queued, and idle consumers wake
//! # let _ = receipt;
//! # Ok(()) }
//! ```
//!
//! `Signal::Enqueued` fires when the message is written to the transaction, before the
//! commit decides its fate. In immediate mode the call runs at once, as any enqueue does.
//!
//! ## Hygiene and autovacuum
//!
//! Settled rows are deleted by the settling statement, expired values by the heartbeat in
//! batches of 1,000. A queue table is a hot spot of inserts and deletes: every task leaves a
//! dead tuple, so for a busy queue make autovacuum visit it often, by row count rather than
//! by a fraction of the table, e.g.
//!
//! ```sql
//! ALTER TABLE huey.queue SET (autovacuum_vacuum_scale_factor = 0,
//!     autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_cost_delay = 0,
//!     autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 10000);
//! ```
//!
//! The heartbeat also looks after the queue's tables itself. It analyzes the queue table when
//! it changed by half or more since its last statistics (a burst of 10,000 enqueues or more):
//! with statistics taken while the table was small, the planner sorts the whole backlog for
//! each claim instead of reading the ready index in order (measured: a sixth of the claim
//! rate on a million queued tasks). And when dead rows pile up in the queue or claims table
//! (20,000 or more with no vacuum for ten seconds: autovacuum off, lagging, or between its
//! once-a-minute visits) it runs a `VACUUM` of that table in the background; turn that off
//! with [`PostgresOptions::vacuum`]. Both need the role to own the tables (the one that
//! migrated); without it they are skipped.
//!
//! Claims step over the dead index entries of claimed rows at the head of the queue until a
//! vacuum removes them, so while a consumer drains a backlog its next claim reads on after
//! the last row it claimed instead of from the start. A queue notification (a new message,
//! one given back) sends the next claim back to the start, and so does a second's age, so
//! priorities and messages given back under their old ids are honoured as before.
//!
//! Avoid long-running transactions on the same server (an open transaction holds back
//! the xmin horizon, so no vacuum can reclaim the dead rows and claims slow down as they
//! pile up). `huey.kv` deserves the same settings when results are many.
//!
//! ## TLS
//!
//! The `tls` feature adds rustls (`sslmode=require` and stronger in the URL).

mod control;
mod coordination;
mod cursor;
mod dead_letters;
mod errors;
mod listener;
mod outbox;
mod queue;
mod results;
mod schedule;
mod schema;
mod settler;
mod storage;

pub use outbox::{EnqueueIn, Outbox, OutboxSink};
pub use schema::InvalidSchema;
pub use storage::{ConnectError, PostgresOptions, PostgresStorage};
