//! What operators see and steer: consumer presence records and the queue's pause flag.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StorageResult;

/// Consumer presence and the pause flag, kept apart from stored values: a presence record
/// counted among the results, or wiped by `flush_results`, would lie about both. All
/// required: a default that pretended to pause, or to list consumers, would mislead an
/// operator.
///
/// A **presence record** is the runtime's bytes (JSON: see `huey_core::ConsumerInfo`) under a
/// consumer's id, with the time of its last heartbeat. The storage needs the heartbeat only to
/// drop what is stale; it never reads the record.
///
/// The **pause flag** is one per namespace, and outlives every consumer: a paused queue stays
/// paused across restarts until it is resumed.
///
/// ```
/// use huey_core::storage::{ControlStorage, MemoryStorage};
/// use chrono::{Duration, Utc};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), huey_core::StorageError> {
/// let storage = MemoryStorage::new();
/// let now = Utc::now();
/// storage.put_presence("c1", b"{}".to_vec(), now).await?;
/// assert_eq!(storage.presence(now - Duration::seconds(10)).await?, [b"{}".to_vec()]);
/// assert!(storage.presence(now + Duration::seconds(1)).await?.is_empty(), "stale");
///
/// storage.set_paused(true).await?;
/// assert!(storage.paused().await?);
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait ControlStorage: Send + Sync {
    /// Publishes (or replaces) the presence record of consumer `id`, with the time of its
    /// heartbeat.
    async fn put_presence(
        &self,
        id: &str,
        record: Vec<u8>,
        heartbeat: DateTime<Utc>,
    ) -> StorageResult<()>;

    /// Removes consumer `id`'s record (at a clean stop); returns whether there was one.
    async fn delete_presence(&self, id: &str) -> StorageResult<bool>;

    /// The records whose heartbeat is at or after `since`, ordered by consumer id. Older
    /// records are stale (their consumer stopped without a clean stop): they are not returned,
    /// and the storage may delete them.
    async fn presence(&self, since: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>>;

    /// Pauses (`true`) or resumes (`false`) the queue. Setting the state it already has
    /// changes nothing.
    async fn set_paused(&self, paused: bool) -> StorageResult<()>;

    /// Whether the queue is paused. Consumers read it often (a few times a second), so it
    /// must be cheap.
    async fn paused(&self) -> StorageResult<bool>;
}
