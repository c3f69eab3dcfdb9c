//! What locks, rate limits, semaphores, periodic ticks and chords need from a storage.

use std::time::Duration;

use async_trait::async_trait;

use super::StorageResult;

/// Atomic building blocks for coordination across consumers: counters, put-if-empty and
/// delete-if-equal (locks, periodic-tick claims), counting semaphores, and chord bookkeeping.
/// All required: each must be atomic, so none has a default.
#[async_trait]
pub trait CoordinationStorage: Send + Sync {
    /// Adds `amount` to a counter and returns the new value.
    async fn incr(&self, key: &str, amount: i64) -> StorageResult<i64>;

    /// Removes a counter; returns whether it existed.
    async fn delete_counter(&self, key: &str) -> StorageResult<bool>;

    /// Removes every counter.
    async fn flush_counters(&self) -> StorageResult<()>;

    /// Stores a value only if the key is empty, optionally expiring after `ttl`. Returns whether
    /// it was stored.
    async fn put_if_empty(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> StorageResult<bool>;

    /// Removes a value only if it is still `value`; returns whether it did. Task locks release
    /// with it, so a holder whose lock expired (and was taken by someone else) cannot release
    /// the new holder's lock. It must be atomic, so it has no default.
    ///
    /// ```
    /// use huey_core::storage::{CoordinationStorage, MemoryStorage, ResultStorage};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::StorageError> {
    /// let storage = MemoryStorage::new();
    /// storage.put_data("k", b"mine".to_vec()).await?;
    /// assert!(!storage.delete_data_if("k", b"theirs").await?);
    /// assert!(storage.delete_data_if("k", b"mine").await?);
    /// # Ok(())
    /// # }
    /// ```
    async fn delete_data_if(&self, key: &str, value: &[u8]) -> StorageResult<bool>;

    /// Takes a slot of the counting semaphore `key` for `holder`: succeeds when `holder`
    /// already holds one (re-acquiring is idempotent and refreshes its expiry) or when fewer
    /// than `value` live holders remain; the slot expires `ttl` later unless renewed. Returns
    /// whether `holder` holds a slot now. Expired slots are dropped first, and the whole check
    /// is atomic, so racing acquirers never exceed `value`. Semaphores are a namespace of their
    /// own: `key` never meets a stored value or counter of the same name.
    ///
    /// ```
    /// use huey_core::storage::{CoordinationStorage, MemoryStorage};
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
    /// use huey_core::storage::{CoordinationStorage, MemoryStorage};
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
    /// use huey_core::storage::{CoordinationStorage, MemoryStorage};
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
    /// use huey_core::storage::{CoordinationStorage, MemoryStorage};
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

    /// Records the outcome of member `index` of chord `chord` (`size` members), atomically.
    /// Once every member has one, returns them all in member order: to the call that recorded
    /// the last one, and again to any later call for that same member (a re-run after a crash
    /// must still be able to enqueue the callback). Every other call returns `None`, so
    /// recording twice for one member never completes a chord early. Once a settlement has
    /// fired the chord ([`Settlement::chord_fired`](super::Settlement::chord_fired)), every call returns `None`: the callback
    /// was enqueued in that same step, exactly once.
    async fn chord_record(
        &self,
        chord: &str,
        index: usize,
        size: usize,
        outcome: Vec<u8>,
    ) -> StorageResult<Option<Vec<Vec<u8>>>>;
}
