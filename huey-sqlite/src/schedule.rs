//! The schedule: messages due later, moved to the queue in one transaction when due.

use chrono::{DateTime, Utc};
use huey_core::async_trait;
use huey_core::storage::{ScheduleStorage, StorageResult};

use crate::db::sql_limit;
use crate::rows;
use crate::storage::SqliteStorage;

#[async_trait]
impl ScheduleStorage for SqliteStorage {
    async fn add_to_schedule(
        &self,
        data: Vec<u8>,
        at: DateTime<Utc>,
        priority: i32,
    ) -> StorageResult<()> {
        let due = at.timestamp_millis();
        write_tx!(&self.db, |tx| {
            rows::schedule(&mut tx, self.ns(), &data, priority, due).await?
        })
    }

    async fn read_schedule(&self, now: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>> {
        let due = now.timestamp_millis();
        write_tx!(&self.db, |tx| {
            let taken: Vec<Vec<u8>> = sqlx::query_scalar(
                "SELECT data FROM huey_schedule WHERE namespace = ? AND due_ms <= ?
                 ORDER BY due_ms, id",
            )
            .bind(self.ns())
            .bind(due)
            .fetch_all(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM huey_schedule WHERE namespace = ? AND due_ms <= ?")
                .bind(self.ns())
                .bind(due)
                .execute(&mut *tx)
                .await?;
            taken
        })
    }

    async fn promote_due(&self, now: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>> {
        let due = now.timestamp_millis();
        let moved = write_tx!(&self.db, |tx| {
            let moved: Vec<Vec<u8>> = sqlx::query_scalar(
                "SELECT data FROM huey_schedule WHERE namespace = ? AND due_ms <= ?
                 ORDER BY due_ms, id",
            )
            .bind(self.ns())
            .bind(due)
            .fetch_all(&mut *tx)
            .await?;
            if !moved.is_empty() {
                // In due order, so the queue's FIFO follows the schedule's.
                sqlx::query(
                    "INSERT INTO huey_queue (namespace, priority, data)
                     SELECT namespace, priority, data FROM huey_schedule
                     WHERE namespace = ? AND due_ms <= ? ORDER BY due_ms, id",
                )
                .bind(self.ns())
                .bind(due)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM huey_schedule WHERE namespace = ? AND due_ms <= ?")
                    .bind(self.ns())
                    .bind(due)
                    .execute(&mut *tx)
                    .await?;
            }
            moved
        })?;
        if !moved.is_empty() {
            self.db.shared.queue.notify_waiters();
        }
        Ok(moved)
    }

    async fn schedule_size(&self) -> StorageResult<usize> {
        let n = read!(&self.db, |conn| {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM huey_schedule WHERE namespace = ?")
                .bind(self.ns())
                .fetch_one(&mut *conn)
                .await?
        })?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    async fn scheduled_items(&self, limit: Option<usize>) -> StorageResult<Vec<Vec<u8>>> {
        read!(&self.db, |conn| {
            sqlx::query_scalar::<_, Vec<u8>>(
                "SELECT data FROM huey_schedule WHERE namespace = ? ORDER BY due_ms, id LIMIT ?",
            )
            .bind(self.ns())
            .bind(sql_limit(limit))
            .fetch_all(&mut *conn)
            .await?
        })
    }

    async fn flush_schedule(&self) -> StorageResult<()> {
        write_tx!(&self.db, |tx| {
            sqlx::query("DELETE FROM huey_schedule WHERE namespace = ?")
                .bind(self.ns())
                .execute(&mut *tx)
                .await?;
        })
    }
}
