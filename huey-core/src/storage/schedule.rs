//! The schedule: messages due later.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StorageResult;

/// Messages that wait for their ETA. All required: moving due messages to the queue must be
/// atomic (a default made of a read and an enqueue could lose them in a crash).
#[async_trait]
pub trait ScheduleStorage: Send + Sync {
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
}
