//! The storage contract, modelled on Huey's storage API and extended for reliable delivery.
//!
//! A consumer never *pops* a message: [`Storage::dequeue`] **claims** it, and the consumer later
//! [`settle`](Storage::settle)s it: one call that writes the attempt's whole outcome (results,
//! follow-up messages, a retry copy) together with the claim's disposition (acknowledged,
//! requeued at an immediate shutdown, or dead-lettered when it cannot run). See
//! [`settlement`]. A backend that also notices dead consumers and puts their claims back can
//! therefore offer at-least-once delivery, with every outcome written exactly once.
//!
//! Keys: results live under the task id, revocations under `r:<id>` and `rt:<name>`; counters
//! are a namespace of their own.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::StorageError;

pub mod memory;
pub mod settlement;

pub use memory::MemoryStorage;
pub use settlement::{Disposition, Outgoing, Settled, Settlement};

/// A claimed message: its bytes and the backend's receipt for acknowledging it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The message bytes.
    pub data: Vec<u8>,
    /// The message's priority, as it was enqueued.
    pub priority: i32,
    /// The backend's handle on the claim.
    pub receipt: u64,
    /// Whether a revocation may apply to this message. A backend that saw no revocation flag
    /// at all when it claimed the message sets `false`, and the executor skips its check.
    pub revocations: bool,
}

/// A message that could not be run, kept with the reason.
///
/// ```
/// use huey_core::storage::{MemoryStorage, Storage};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), huey_core::StorageError> {
/// let storage = MemoryStorage::new();
/// storage.enqueue(b"junk".to_vec(), 4).await?;
/// let claimed = storage.dequeue(1, Duration::ZERO).await?;
/// storage.dead_letter(&claimed[0], "malformed").await?;
/// let dead = &storage.dead_letters(None).await?[0];
/// assert_eq!((dead.data.as_slice(), dead.priority, dead.reason.as_str()), (&b"junk"[..], 4, "malformed"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Identifies the entry for [`Storage::requeue_dead_letters`] and
    /// [`Storage::delete_dead_letters`]: a UUID given when the message was set aside.
    pub id: String,
    /// The message bytes, exactly as they were dequeued.
    pub data: Vec<u8>,
    /// The priority the message was enqueued with (0 on a storage without priorities); a
    /// requeue keeps it.
    pub priority: i32,
    /// Why it could not be run.
    pub reason: String,
    /// When it was set aside.
    pub at: DateTime<Utc>,
}

/// Which dead letters an operation applies to.
///
/// ```
/// use huey_core::DeadLetterSelection;
///
/// let ids = vec!["5f0c...".to_string()];
/// let some = DeadLetterSelection::Ids(&ids);
/// assert!(some.includes("5f0c..."));
/// assert!(DeadLetterSelection::All.includes("anything"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLetterSelection<'a> {
    /// Every dead letter.
    All,
    /// The entries with these ids; unknown ids are ignored.
    Ids(&'a [String]),
}

impl DeadLetterSelection<'_> {
    /// Whether the entry with id `id` is selected.
    pub fn includes(&self, id: &str) -> bool {
        match self {
            DeadLetterSelection::All => true,
            DeadLetterSelection::Ids(ids) => ids.iter().any(|i| i == id),
        }
    }
}

/// A storage result.
pub type StorageResult<T> = Result<T, StorageError>;

/// What a backend must provide. See the module docs for the delivery contract.
///
/// Every method is async and takes `&self`: a backend is shared by every worker of a consumer
/// and by producers.
#[async_trait]
pub trait Storage: Send + Sync + std::fmt::Debug + 'static {
    /// Called once by [`Huey::new`](crate::Huey::new) with the instance name, so that a backend
    /// can namespace its keys.
    fn set_namespace(&mut self, _name: &str) {}

    /// Whether the queue honours priorities.
    fn supports_priority(&self) -> bool {
        true
    }

    /// Whether several processes can share this storage (process workers need it).
    fn shared_between_processes(&self) -> bool {
        true
    }

    /// Adds a message to the queue.
    async fn enqueue(&self, data: Vec<u8>, priority: i32) -> StorageResult<()>;

    /// Adds many messages; a backend may batch them.
    async fn enqueue_many(&self, items: Vec<(Vec<u8>, i32)>) -> StorageResult<()> {
        for (data, priority) in items {
            self.enqueue(data, priority).await?;
        }
        Ok(())
    }

    /// Claims up to `max` messages, highest priority first and FIFO within a priority, waiting up
    /// to `wait` for the first one. Returns an empty list when nothing arrived in time.
    async fn dequeue(&self, max: usize, wait: Duration) -> StorageResult<Vec<Delivery>>;

    /// Applies `settlement` together with the disposition of `claim`, atomically: all of it
    /// happens, or none of it. With a claim, it applies only while the claim is still held
    /// (not settled already, not taken over by another consumer), and otherwise writes nothing
    /// and returns [`Settled::NotHeld`]. Without one (immediate mode, a bare result write) it
    /// always applies, and the disposition is ignored. See [`settlement`] for the contract.
    async fn settle(
        &self,
        claim: Option<&Delivery>,
        settlement: Settlement,
    ) -> StorageResult<Settled>;

    /// Acknowledges a claim: the message is done and forgotten.
    async fn ack(&self, delivery: &Delivery) -> StorageResult<()> {
        self.settle(Some(delivery), Settlement::ack())
            .await
            .map(drop)
    }

    /// Gives a claim back: the message returns to the queue.
    async fn requeue(&self, delivery: &Delivery) -> StorageResult<()> {
        self.settle(Some(delivery), Settlement::requeue())
            .await
            .map(drop)
    }

    /// Moves a claimed message to the dead-letter list with a reason.
    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> StorageResult<()> {
        self.settle(Some(delivery), Settlement::dead_letter(reason))
            .await
            .map(drop)
    }

    /// The dead-letter list, oldest first.
    async fn dead_letters(&self, limit: Option<usize>) -> StorageResult<Vec<DeadLetter>>;

    /// Number of dead letters.
    async fn dead_letter_count(&self) -> StorageResult<usize>;

    /// Moves the selected dead letters back to the queue, with their priority, and returns
    /// them. Each entry must move atomically (gone from the list and on the queue, or neither),
    /// and an entry is moved by one caller only.
    async fn requeue_dead_letters(
        &self,
        which: DeadLetterSelection<'_>,
    ) -> StorageResult<Vec<DeadLetter>>;

    /// Deletes the selected dead letters; returns how many were deleted.
    async fn delete_dead_letters(&self, which: DeadLetterSelection<'_>) -> StorageResult<usize>;

    /// Messages waiting in the queue (claimed ones excluded).
    async fn queue_size(&self) -> StorageResult<usize>;

    /// The next `limit` messages to be dequeued, in order.
    async fn enqueued_items(&self, limit: Option<usize>) -> StorageResult<Vec<Vec<u8>>>;

    /// Empties the queue.
    async fn flush_queue(&self) -> StorageResult<()>;

    /// Adds a message to the schedule, due at `at`.
    async fn add_to_schedule(
        &self,
        data: Vec<u8>,
        at: DateTime<Utc>,
        priority: i32,
    ) -> StorageResult<()>;

    /// Removes and returns every message due at or before `now`, soonest first.
    async fn read_schedule(&self, now: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>>;

    /// Moves every message due at or before `now` onto the queue and returns what moved. A
    /// backend should do this atomically, so a crash mid-move loses nothing.
    async fn promote_due(&self, now: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>>;

    /// Messages in the schedule.
    async fn schedule_size(&self) -> StorageResult<usize>;

    /// The next `limit` scheduled messages, soonest first.
    async fn scheduled_items(&self, limit: Option<usize>) -> StorageResult<Vec<Vec<u8>>>;

    /// Empties the schedule.
    async fn flush_schedule(&self) -> StorageResult<()>;

    /// Stores a value.
    async fn put_data(&self, key: &str, value: Vec<u8>) -> StorageResult<()>;

    /// Stores a task result and wakes whoever waits for it.
    async fn put_result(&self, key: &str, value: Vec<u8>) -> StorageResult<()> {
        self.settle(None, Settlement::ack().result(key, value))
            .await
            .map(drop)
    }

    /// Reads a value without removing it.
    async fn peek_data(&self, key: &str) -> StorageResult<Option<Vec<u8>>>;

    /// Reads and removes a value.
    async fn pop_data(&self, key: &str) -> StorageResult<Option<Vec<u8>>>;

    /// Reads many values at once, aligned with `keys`.
    async fn peek_many(&self, keys: &[&str]) -> StorageResult<Vec<Option<Vec<u8>>>>;

    /// Removes a value; returns whether it existed.
    async fn delete_data(&self, key: &str) -> StorageResult<bool>;

    /// Removes a value only if it is still `value`; returns whether it did. Task locks release
    /// with it, so a holder whose lock expired (and was taken by someone else) cannot release
    /// the new holder's lock. The default reads, compares and deletes in separate calls, which
    /// leaves a short race; a backend should override it with an atomic version.
    ///
    /// ```
    /// use huey_core::{MemoryStorage, Storage};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::StorageError> {
    /// let storage = MemoryStorage::new();
    /// storage.put_data("k", b"mine".to_vec()).await?;
    /// assert!(!storage.delete_data_if("k", b"theirs").await?);
    /// assert!(storage.delete_data_if("k", b"mine").await?);
    /// # Ok(())
    /// # }
    /// ```
    async fn delete_data_if(&self, key: &str, value: &[u8]) -> StorageResult<bool> {
        if self.peek_data(key).await?.as_deref() != Some(value) {
            return Ok(false);
        }
        self.delete_data(key).await
    }

    /// Whether a value exists.
    async fn has_data_for_key(&self, key: &str) -> StorageResult<bool>;

    /// Stores a value only if the key is empty, optionally expiring after `ttl`. Returns whether
    /// it was stored.
    async fn put_if_empty(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> StorageResult<bool>;

    /// Waits until `key` holds a value or `timeout` passes; returns whether it holds one.
    async fn wait_result(&self, key: &str, timeout: Duration) -> StorageResult<bool>;

    /// Takes a slot of the counting semaphore `key` for `holder`: succeeds when `holder`
    /// already holds one (re-acquiring is idempotent and refreshes its expiry) or when fewer
    /// than `value` live holders remain; the slot expires `ttl` later unless renewed. Returns
    /// whether `holder` holds a slot now. Expired slots are dropped first, and the whole check
    /// is atomic, so racing acquirers never exceed `value`. Semaphores are a namespace of their
    /// own: `key` never meets a stored value or counter of the same name.
    ///
    /// ```
    /// use huey_core::{MemoryStorage, Storage};
    /// use std::time::Duration;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::StorageError> {
    /// let storage = MemoryStorage::new();
    /// let ttl = Duration::from_secs(60);
    /// assert!(storage.semaphore_acquire("uploads", "a", 1, ttl).await?);
    /// assert!(storage.semaphore_acquire("uploads", "a", 1, ttl).await?, "idempotent");
    /// assert!(!storage.semaphore_acquire("uploads", "b", 1, ttl).await?, "full");
    /// # Ok(())
    /// # }
    /// ```
    async fn semaphore_acquire(
        &self,
        key: &str,
        holder: &str,
        value: u32,
        ttl: Duration,
    ) -> StorageResult<bool>;

    /// Pushes the expiry of `holder`'s live slot to `ttl` from now; returns false, changing
    /// nothing, when it holds none (it expired or was released), so a renewer never takes a
    /// slot back that someone else may now have.
    ///
    /// ```
    /// use huey_core::{MemoryStorage, Storage};
    /// use std::time::Duration;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::StorageError> {
    /// let storage = MemoryStorage::new();
    /// let ttl = Duration::from_secs(60);
    /// assert!(!storage.semaphore_renew("uploads", "a", ttl).await?);
    /// storage.semaphore_acquire("uploads", "a", 1, ttl).await?;
    /// assert!(storage.semaphore_renew("uploads", "a", ttl).await?);
    /// # Ok(())
    /// # }
    /// ```
    async fn semaphore_renew(&self, key: &str, holder: &str, ttl: Duration) -> StorageResult<bool>;

    /// Gives `holder`'s slot back; returns whether it held a live one.
    ///
    /// ```
    /// use huey_core::{MemoryStorage, Storage};
    /// use std::time::Duration;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::StorageError> {
    /// let storage = MemoryStorage::new();
    /// storage.semaphore_acquire("uploads", "a", 1, Duration::from_secs(60)).await?;
    /// assert!(storage.semaphore_release("uploads", "a").await?);
    /// assert!(!storage.semaphore_release("uploads", "a").await?);
    /// # Ok(())
    /// # }
    /// ```
    async fn semaphore_release(&self, key: &str, holder: &str) -> StorageResult<bool>;

    /// The holders of live slots of semaphore `key`, soonest to expire first.
    ///
    /// ```
    /// use huey_core::{MemoryStorage, Storage};
    /// use std::time::Duration;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::StorageError> {
    /// let storage = MemoryStorage::new();
    /// storage.semaphore_acquire("uploads", "a", 2, Duration::from_secs(60)).await?;
    /// storage.semaphore_acquire("uploads", "b", 2, Duration::from_secs(90)).await?;
    /// assert_eq!(storage.semaphore_holders("uploads").await?, ["a", "b"]);
    /// # Ok(())
    /// # }
    /// ```
    async fn semaphore_holders(&self, key: &str) -> StorageResult<Vec<String>>;

    /// Number of stored values.
    async fn result_store_size(&self) -> StorageResult<usize>;

    /// Every stored value by key.
    async fn result_items(&self) -> StorageResult<HashMap<String, Vec<u8>>>;

    /// Removes every stored value, and every semaphore slot (like task locks, they are
    /// metadata that a flush should not leave behind).
    async fn flush_results(&self) -> StorageResult<()>;

    /// Adds `amount` to a counter and returns the new value.
    async fn incr(&self, key: &str, amount: i64) -> StorageResult<i64>;

    /// Removes a counter; returns whether it existed.
    async fn delete_counter(&self, key: &str) -> StorageResult<bool>;

    /// Removes every counter.
    async fn flush_counters(&self) -> StorageResult<()>;

    /// Records the outcome of member `index` of chord `chord` (`size` members), atomically.
    /// Once every member has one, returns them all in member order: to the call that recorded
    /// the last one, and again to any later call for that same member (a re-run after a crash
    /// must still be able to enqueue the callback). Every other call returns `None`, so
    /// recording twice for one member never completes a chord early. Once a settlement has
    /// fired the chord ([`Settlement::chord_fired`]), every call returns `None`: the callback
    /// was enqueued in that same step, exactly once.
    async fn chord_record(
        &self,
        chord: &str,
        index: usize,
        size: usize,
        outcome: Vec<u8>,
    ) -> StorageResult<Option<Vec<Vec<u8>>>>;

    /// Empties the queue, schedule, results and counters.
    async fn flush_all(&self) -> StorageResult<()> {
        self.flush_queue().await?;
        self.flush_schedule().await?;
        self.flush_results().await?;
        self.flush_counters().await
    }

    /// How often a running consumer must call [`maintain`](Self::maintain); `None` (the
    /// default) when the backend needs no upkeep.
    fn maintenance_interval(&self) -> Option<Duration> {
        None
    }

    /// Periodic upkeep while a consumer runs: for a shared backend, a heartbeat that keeps this
    /// consumer's claims its own, and recovery of the claims of consumers that stopped beating.
    async fn maintain(&self) -> StorageResult<()> {
        Ok(())
    }

    /// Called when a consumer stops: give back any claim still held and unregister.
    async fn retire(&self) -> StorageResult<()> {
        Ok(())
    }
}

/// A shared storage: several `Huey` handles (or a test) can hold one backend. The namespace of
/// an `Arc`-shared backend is whatever it was given before it was shared.
#[async_trait]
impl<S: Storage> Storage for std::sync::Arc<S> {
    fn supports_priority(&self) -> bool {
        S::supports_priority(self)
    }

    fn shared_between_processes(&self) -> bool {
        S::shared_between_processes(self)
    }

    fn maintenance_interval(&self) -> Option<Duration> {
        S::maintenance_interval(self)
    }

    async fn maintain(&self) -> StorageResult<()> {
        S::maintain(self).await
    }

    async fn retire(&self) -> StorageResult<()> {
        S::retire(self).await
    }

    async fn enqueue(&self, data: Vec<u8>, priority: i32) -> StorageResult<()> {
        S::enqueue(self, data, priority).await
    }

    async fn enqueue_many(&self, items: Vec<(Vec<u8>, i32)>) -> StorageResult<()> {
        S::enqueue_many(self, items).await
    }

    async fn dequeue(&self, max: usize, wait: Duration) -> StorageResult<Vec<Delivery>> {
        S::dequeue(self, max, wait).await
    }

    async fn dead_letters(&self, limit: Option<usize>) -> StorageResult<Vec<DeadLetter>> {
        S::dead_letters(self, limit).await
    }

    async fn dead_letter_count(&self) -> StorageResult<usize> {
        S::dead_letter_count(self).await
    }

    async fn requeue_dead_letters(
        &self,
        which: DeadLetterSelection<'_>,
    ) -> StorageResult<Vec<DeadLetter>> {
        S::requeue_dead_letters(self, which).await
    }

    async fn delete_dead_letters(&self, which: DeadLetterSelection<'_>) -> StorageResult<usize> {
        S::delete_dead_letters(self, which).await
    }

    async fn queue_size(&self) -> StorageResult<usize> {
        S::queue_size(self).await
    }

    async fn enqueued_items(&self, limit: Option<usize>) -> StorageResult<Vec<Vec<u8>>> {
        S::enqueued_items(self, limit).await
    }

    async fn flush_queue(&self) -> StorageResult<()> {
        S::flush_queue(self).await
    }

    async fn add_to_schedule(
        &self,
        data: Vec<u8>,
        at: DateTime<Utc>,
        priority: i32,
    ) -> StorageResult<()> {
        S::add_to_schedule(self, data, at, priority).await
    }

    async fn read_schedule(&self, now: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>> {
        S::read_schedule(self, now).await
    }

    async fn promote_due(&self, now: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>> {
        S::promote_due(self, now).await
    }

    async fn schedule_size(&self) -> StorageResult<usize> {
        S::schedule_size(self).await
    }

    async fn scheduled_items(&self, limit: Option<usize>) -> StorageResult<Vec<Vec<u8>>> {
        S::scheduled_items(self, limit).await
    }

    async fn flush_schedule(&self) -> StorageResult<()> {
        S::flush_schedule(self).await
    }

    async fn put_data(&self, key: &str, value: Vec<u8>) -> StorageResult<()> {
        S::put_data(self, key, value).await
    }

    async fn put_result(&self, key: &str, value: Vec<u8>) -> StorageResult<()> {
        S::put_result(self, key, value).await
    }

    async fn settle(
        &self,
        claim: Option<&Delivery>,
        settlement: Settlement,
    ) -> StorageResult<Settled> {
        S::settle(self, claim, settlement).await
    }

    async fn peek_data(&self, key: &str) -> StorageResult<Option<Vec<u8>>> {
        S::peek_data(self, key).await
    }

    async fn pop_data(&self, key: &str) -> StorageResult<Option<Vec<u8>>> {
        S::pop_data(self, key).await
    }

    async fn peek_many(&self, keys: &[&str]) -> StorageResult<Vec<Option<Vec<u8>>>> {
        S::peek_many(self, keys).await
    }

    async fn delete_data(&self, key: &str) -> StorageResult<bool> {
        S::delete_data(self, key).await
    }

    async fn delete_data_if(&self, key: &str, value: &[u8]) -> StorageResult<bool> {
        S::delete_data_if(self, key, value).await
    }

    async fn has_data_for_key(&self, key: &str) -> StorageResult<bool> {
        S::has_data_for_key(self, key).await
    }

    async fn put_if_empty(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> StorageResult<bool> {
        S::put_if_empty(self, key, value, ttl).await
    }

    async fn wait_result(&self, key: &str, timeout: Duration) -> StorageResult<bool> {
        S::wait_result(self, key, timeout).await
    }

    async fn semaphore_acquire(
        &self,
        key: &str,
        holder: &str,
        value: u32,
        ttl: Duration,
    ) -> StorageResult<bool> {
        S::semaphore_acquire(self, key, holder, value, ttl).await
    }

    async fn semaphore_renew(&self, key: &str, holder: &str, ttl: Duration) -> StorageResult<bool> {
        S::semaphore_renew(self, key, holder, ttl).await
    }

    async fn semaphore_release(&self, key: &str, holder: &str) -> StorageResult<bool> {
        S::semaphore_release(self, key, holder).await
    }

    async fn semaphore_holders(&self, key: &str) -> StorageResult<Vec<String>> {
        S::semaphore_holders(self, key).await
    }

    async fn result_store_size(&self) -> StorageResult<usize> {
        S::result_store_size(self).await
    }

    async fn result_items(&self) -> StorageResult<HashMap<String, Vec<u8>>> {
        S::result_items(self).await
    }

    async fn flush_results(&self) -> StorageResult<()> {
        S::flush_results(self).await
    }

    async fn incr(&self, key: &str, amount: i64) -> StorageResult<i64> {
        S::incr(self, key, amount).await
    }

    async fn delete_counter(&self, key: &str) -> StorageResult<bool> {
        S::delete_counter(self, key).await
    }

    async fn flush_counters(&self) -> StorageResult<()> {
        S::flush_counters(self).await
    }

    async fn chord_record(
        &self,
        chord: &str,
        index: usize,
        size: usize,
        outcome: Vec<u8>,
    ) -> StorageResult<Option<Vec<Vec<u8>>>> {
        S::chord_record(self, chord, index, size, outcome).await
    }

    async fn flush_all(&self) -> StorageResult<()> {
        S::flush_all(self).await
    }
}
