//! Dead letters: messages that cannot run, kept with the reason.

use async_trait::async_trait;

use super::{DeadLetter, DeadLetterSelection, StorageResult};

/// How many dead letters the bundled backends keep unless told otherwise: enough to look into
/// a burst of failures, few enough that a queue that dead-letters every message for a day
/// cannot fill the store (10,000 messages at the default 16 MiB size limit is still a lot;
/// lower it where messages are big).
pub const DEFAULT_DEAD_LETTER_LIMIT: usize = 10_000;

/// The dead-letter list (a [settlement](super::settlement) moves a claim there). Required:
/// `dead_letters`, `requeue_dead_letters`, `delete_dead_letters`.
#[async_trait]
pub trait DeadLetterStorage: Send + Sync {
    /// The dead-letter list, oldest first.
    async fn dead_letters(&self, limit: Option<usize>) -> StorageResult<Vec<DeadLetter>>;

    /// The most dead letters this backend keeps, if it bounds them: adding one beyond it drops
    /// the oldest. The default is `None` (unbounded); the bundled backends keep
    /// [`DEFAULT_DEAD_LETTER_LIMIT`] unless told otherwise.
    fn dead_letter_limit(&self) -> Option<usize> {
        None
    }

    /// Number of dead letters. The default reads them all; a backend that can count overrides
    /// it.
    async fn dead_letter_count(&self) -> StorageResult<usize> {
        Ok(self.dead_letters(None).await?.len())
    }

    /// Moves the selected dead letters back to the queue, with their priority, and returns
    /// them. Each entry must move atomically (gone from the list and on the queue, or neither),
    /// and an entry is moved by one caller only.
    async fn requeue_dead_letters(
        &self,
        which: DeadLetterSelection<'_>,
    ) -> StorageResult<Vec<DeadLetter>>;

    /// Deletes the selected dead letters; returns how many were deleted.
    async fn delete_dead_letters(&self, which: DeadLetterSelection<'_>) -> StorageResult<usize>;
}
