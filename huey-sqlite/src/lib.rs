//! # huey-sqlite
//!
//! The SQLite storage for huey-rs: a durable queue in one file, with no server. Several
//! processes (consumers and producers) share the file, and delivery is **at-least-once**: a
//! task running when its consumer dies is run again by another consumer once the dead one's
//! lease lapses.
//!
//! ```
//! use huey_core::prelude::*;
//! use huey_sqlite::SqliteStorage;
//! use std::time::Duration;
//!
//! #[task]
//! async fn add(a: i64, b: i64) -> i64 {
//!     a + b
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("huey-sqlite-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("huey.db");
//! // The namespace keeps this queue's rows apart: give it the queue's name.
//! let storage = SqliteStorage::open("my-app", &path).await?;
//! let huey = Huey::new("my-app", storage);
//! let consumer = Consumer::builder(&huey).workers(2).start()?;
//! let mut sum = add::enqueue(&huey, 2, 3).await?;
//! assert_eq!(sum.wait(Duration::from_secs(10)).await?, 5);
//! consumer.shutdown().await?;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```
//!
//! [`SqliteStorage::open`] takes a path, [`SqliteStorage::connect`] a sqlx URL
//! (`sqlite://huey.db`), and [`SqliteStorage::from_pool`] an application's own `SqlitePool`,
//! so the queue can live in the application's database file; [`SqliteOptions`] sets the lease,
//! the heartbeat, the cross-process poll and the rest.
//!
//! **Why sqlx rather than rusqlite:** applications on SQLite in async Rust mostly use sqlx
//! already, and can hand the queue their pool; its driver is async (each connection runs on a
//! thread of its own, so a query never blocks the runtime); and the transactional-enqueue seam
//! shared with `huey-postgres` is built on sqlx transactions.
//!
//! ## Tables
//!
//! Created when a storage opens the file, in one transaction (every statement is `CREATE …
//! IF NOT EXISTS`): no separate `migrate()` step, so a quickstart or a second process needs no
//! set-up, and opening a file of this version twice changes nothing. Every table has a
//! `namespace` column: the queues of several names share the tables of one file.
//!
//! | table | holds |
//! | --- | --- |
//! | `huey_queue` | the queue: `id` (order, and the claim's receipt), `priority`, `data`, `owner` (the consumer id holding the claim, `NULL` while waiting), `deliveries` (times claimed and given back unsettled). A requeue keeps the row, so the message keeps its place. Index on `(namespace, priority DESC, id) WHERE owner IS NULL`: highest priority first, FIFO within |
//! | `huey_schedule` | messages due later: `due_ms` (epoch ms), `priority`, `data` |
//! | `huey_kv` | results and stored values by key, with an optional `expires_ms` (put-if-empty with a ttl, task locks, results with [`SqliteOptions::result_ttl`], a `()` result stored because someone waits) |
//! | `huey_counters` | counters, including rate-limit counts |
//! | `huey_semaphores` | counting-semaphore slots: `key`, `holder`, `expires_ms` |
//! | `huey_chord_members`, `huey_chords` | chord outcomes by member; which member completed a chord, and when it fired (kept a day) |
//! | `huey_dead` | dead letters, oldest first (`seq`): `id` (UUID), `priority`, `reason`, `at_ms`, the raw `data`; the newest [`SqliteOptions::dead_letter_limit`] (default 10,000) per namespace are kept |
//! | `huey_revocations` | revocation flags (`r:<task id>`, `rt:<task name>`), apart from stored values |
//! | `huey_waiters` | result waits registered until `until_ms`: a `()` result is stored only for these |
//! | `huey_consumers` | each consumer's heartbeat (`beat_ms`), and `lost` once others presumed it dead |
//! | `huey_presence` | each consumer's presence record (JSON, see `huey_core::ConsumerInfo`) and its heartbeat (`beat_ms`); reading drops the stale ones |
//! | `huey_paused` | a row per paused namespace (`Huey::pause`): no consumer claims from it |
//!
//! ## Delivery
//!
//! A dequeue claims messages by setting their `owner` to this handle's consumer id, in one
//! `UPDATE … RETURNING`. A claim's lease is its owner's heartbeat: the consumer calls
//! `maintain()` every [heartbeat](SqliteOptions::heartbeat) (2 s by default), which renews
//! its row in `huey_consumers`, marks consumers silent for longer than the
//! [lease](SqliteOptions::lease) (10 s) as lost, and gives every claim not owned by a live
//! consumer back to the queue, its delivery count one higher. One row per consumer is renewed,
//! however many claims it holds. A consumer that was only frozen learns at its next heartbeat
//! that it was presumed dead (`Upkeep::Lost`): it starts none of its prefetched claims, and its
//! settles of the claims it was running write nothing, since a settlement applies only while
//! `owner` is still this consumer. A consumer that stops gives its claims back uncounted
//! (`retire`). Message bytes over the size limit move to `huey_dead` inside SQLite, their
//! length read with `length()`: the consumer never loads them.
//!
//! ## Locking: "database is locked" never reaches you
//!
//! WAL mode lets readers run beside the one writer. Every write transaction starts with
//! `BEGIN IMMEDIATE`, taking the write lock before it reads, so two writers never deadlock
//! upgrading a read lock; within a process, writers take turns on an async lock (a turn costs
//! no sleep in SQLite's busy handler) and write on one dedicated connection. A statement that
//! still meets another process's lock waits in SQLite's [busy
//! timeout](SqliteOptions::busy_timeout) (5 s), and then the whole transaction is tried again,
//! for up to the [busy limit](SqliteOptions::busy_limit) (60 s); past that the call fails
//! with an error that may pass, saying the file stayed busy, never SQLite's own words. A
//! process that dies (even by `kill -9`) releases its locks at once; one frozen *inside* a
//! write transaction (SIGSTOP, a debugger) holds the write lock until it resumes, and every
//! other writer waits for it meanwhile (SQLite cannot take a lock from a live process).
//!
//! ## Wake-ups and their latency
//!
//! Within one process, every storage handle on a file shares its wake-ups: an enqueue, a
//! requeue or a result wakes the dequeues and result waits of the process at once, with no
//! polling. Another process's writes are seen by a poll of the file every [poll
//! interval](SqliteOptions::poll_interval), 50 ms by default: a read that takes no lock, so an
//! idle consumer never blocks writers. Measured with the `pickup` example (an idle consumer,
//! one worker, enqueue to task start, release build, on a shared 2-core machine): **in
//! process p50 1.0 ms, p99 21 ms; across processes p50 28 ms, p99 56 ms**, that is at most
//! the poll interval plus a claim.
//!
//! ## Transactional enqueue
//!
//! A task call, a pipeline, a group or a chord can be written on the application's own
//! connection or transaction with [`EnqueueIn::enqueue_in`], into the queue's table: it is
//! queued when the transaction commits, and not at all if it rolls back. The usual result
//! handle comes back. The connection must be on the storage's file (the storage's own
//! [`pool`](SqliteStorage::pool), or one the application shares with it through
//! [`SqliteStorage::from_pool`]).
//!
//! ```
//! use huey_core::prelude::*;
//! use huey_sqlite::{EnqueueIn, SqliteStorage};
//! use std::time::Duration;
//!
//! #[task]
//! fn send_receipt(order: i64) -> String {
//!     format!("receipt for order {order}")
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("huey-sqlite-tx-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let storage = SqliteStorage::open("shop", dir.join("shop.db")).await?;
//! let outbox = storage.outbox(); // where transactional enqueues write; cheap to clone
//! let pool = storage.pool().clone();
//! let huey = Huey::new("shop", storage);
//! let consumer = Consumer::builder(&huey).start()?;
//!
//! sqlx::query("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, total INTEGER)")
//!     .execute(&pool)
//!     .await?;
//! // IMMEDIATE takes the write lock first: a transaction that reads before it writes could
//! // find its snapshot stale when it comes to write (SQLITE_BUSY).
//! let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
//! let order: i64 = sqlx::query_scalar("INSERT INTO orders (total) VALUES (42) RETURNING id")
//!     .fetch_one(&mut *tx)
//!     .await?;
//! let mut receipt = send_receipt::call(order).enqueue_in(&huey, &outbox, &mut tx).await?;
//! tx.commit().await?; // now the task is queued, and this process's idle consumers wake
//! let text = receipt.wait(Duration::from_secs(10)).await?;
//! assert_eq!(text, format!("receipt for order {order}"));
//! consumer.shutdown().await?;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```
//!
//! **What wakes the consumer.** SQLite has no `NOTIFY`, and the application commits on its own
//! connection. So the outbox sets a commit hook on that connection (SQLite's
//! `sqlite3_commit_hook`, through sqlx), which wakes this process's waiting dequeues at the
//! commit, once; a plain `tx.commit()` is all it takes. The hook runs inside the commit, before
//! a reader can see it, so a woken dequeue claims at once (its `BEGIN IMMEDIATE` waits for the
//! committing transaction's write lock) rather than read first. A consumer of this process
//! therefore starts the task within a few milliseconds of the commit, with no polling: the
//! `pickup` example's `in-process-tx` mode (an idle consumer, one worker, release build
//! without LTO, on a shared 2-core machine at load 7) measured p50 1.2 to 1.9 ms and p99 6 to
//! 15 ms from the transaction's `BEGIN` to the task's start, against p50 0.9 ms and p99 6 to
//! 7 ms for an ordinary enqueue in the same runs. A consumer in another process sees the
//! commit at its next poll, within the [poll interval](SqliteOptions::poll_interval) (50 ms),
//! as for any enqueue of another process. The hook replaces one the application set
//! on that connection, and stays there disarmed (a rolled-back transaction leaves it armed:
//! that connection's next commit costs a consumer one needless claim).
//!
//! The write lock is held from the first write to the commit, so other writers of the file
//! (the consumer's claims and settlements among them) wait for it meanwhile: keep such
//! transactions short. On a connection outside a transaction, the messages are written in a
//! transaction of their own, all or none, and queued at once. `Signal::Enqueued` fires when the
//! messages are written, before the commit decides their fate; in immediate mode the call runs
//! at once, as any enqueue does. A task's `map` enqueues at once; in a transaction, enqueue the
//! group it stands for, `group(items.map(my_task::call))`.
//!
//! ## Settlement and throughput
//!
//! Workers hand their settlements to one task per storage handle, which applies everything
//! that queued meanwhile in one transaction (group commit): one `DELETE` acknowledges every
//! claim of the batch, one `INSERT` stores every result and one enqueues every follow-up, each
//! claim's disposition checked first so a claim no longer held writes nothing
//! (`Settled::NotHeld`). The pools this crate makes leave WAL checkpoints to a background task
//! ([`SqliteOptions::checkpoint_interval`]) rather than to the commit that fills the WAL.
//! `synchronous = NORMAL` (SQLite's advice with WAL) loses nothing when a process dies; a power
//! loss can roll back the last commits ([`SqliteOptions::synchronous_full`] closes that). The
//! `drain` example (W2: 20,000 noop tasks pre-queued, 8 async workers, release build) drained
//! 7,300, 9,400 and 13,400 tasks/s in three runs, and 200,000 tasks at 9,500/s, on a 2-core
//! machine whose load average stood at 7 from other work meanwhile; it is bound by round trips
//! to the connection's thread, so a quiet machine does better.
#![warn(missing_docs)]

#[macro_use]
mod db;
mod checkpoint;
mod control;
mod coordination;
mod dead_letters;
mod errors;
mod options;
mod outbox;
mod queue;
mod results;
mod revocation;
mod rows;
mod schedule;
mod schema;
mod settle;
mod settler;
mod shared;
mod storage;

pub use options::SqliteOptions;
pub use outbox::{EnqueueIn, Outbox, OutboxSink};
pub use storage::SqliteStorage;
