//! The schedule: messages due later, moved to the queue in one statement when due.

use chrono::{DateTime, Utc};
use huey_core::async_trait;
use huey_core::storage::{ScheduleStorage, StorageResult};

use crate::errors::backend;
use crate::storage::PostgresStorage;

#[async_trait]
impl ScheduleStorage for PostgresStorage {
    async fn add_to_schedule(
        &self,
        data: Vec<u8>,
        at: DateTime<Utc>,
        priority: i32,
    ) -> StorageResult<()> {
        let sql = format!(
            "INSERT INTO {} (namespace, at, priority, data) VALUES ($1, $2, $3, $4)",
            self.tables.schedule
        );
        sqlx::query(&sql)
            .bind(&self.namespace)
            .bind(at)
            .bind(priority)
            .bind(data)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn read_schedule(&self, now: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>> {
        let sql = format!(
            "WITH due AS (
                DELETE FROM {s} WHERE id IN (
                    SELECT id FROM {s} WHERE namespace = $1 AND at <= $2 FOR UPDATE SKIP LOCKED)
                RETURNING id, at, data
            )
            SELECT data FROM due ORDER BY at, id",
            s = self.tables.schedule
        );
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(|(d,)| d).collect())
    }

    async fn promote_due(&self, now: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>> {
        let t = &self.tables;
        // One statement: a due message is in the schedule or on the queue, never neither.
        let sql = format!(
            "WITH due AS (
                DELETE FROM {s} WHERE id IN (
                    SELECT id FROM {s} WHERE namespace = $1 AND at <= $2 FOR UPDATE SKIP LOCKED)
                RETURNING id, at, priority, data
            ), queued AS (
                INSERT INTO {q} (namespace, priority, data)
                SELECT $1, priority, data FROM due ORDER BY at, id
                RETURNING 1
            )
            SELECT data, (SELECT count(*) FROM queued) AS n FROM due ORDER BY at, id",
            s = t.schedule,
            q = t.queue,
        );
        let rows: Vec<(Vec<u8>, i64)> = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        if !rows.is_empty() {
            self.notify_queue().await?;
        }
        Ok(rows.into_iter().map(|(d, _)| d).collect())
    }

    async fn schedule_size(&self) -> StorageResult<usize> {
        self.count_rows(&self.tables.schedule, "TRUE").await
    }

    async fn scheduled_items(&self, limit: Option<usize>) -> StorageResult<Vec<Vec<u8>>> {
        self.row_data(&self.tables.schedule, "at, id", limit).await
    }

    async fn flush_schedule(&self) -> StorageResult<()> {
        self.delete_rows(&self.tables.schedule).await
    }
}
