//! Consumer presence records and the pause flag, in tables of their own (not the key-value
//! table, whose rows are the results).

use chrono::{DateTime, Utc};
use huey_core::async_trait;
use huey_core::storage::{ControlStorage, StorageResult};

use crate::storage::SqliteStorage;

#[async_trait]
impl ControlStorage for SqliteStorage {
    async fn put_presence(
        &self,
        id: &str,
        record: Vec<u8>,
        heartbeat: DateTime<Utc>,
    ) -> StorageResult<()> {
        write_tx!(&self.db, |tx| {
            sqlx::query(
                "INSERT INTO huey_presence (namespace, id, record, beat_ms) VALUES (?, ?, ?, ?)
                 ON CONFLICT (namespace, id) DO UPDATE
                 SET record = excluded.record, beat_ms = excluded.beat_ms",
            )
            .bind(self.ns())
            .bind(id)
            .bind(&record)
            .bind(heartbeat.timestamp_millis())
            .execute(&mut *tx)
            .await?;
        })
    }

    async fn delete_presence(&self, id: &str) -> StorageResult<bool> {
        write_tx!(&self.db, |tx| {
            sqlx::query("DELETE FROM huey_presence WHERE namespace = ? AND id = ?")
                .bind(self.ns())
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        })
    }

    async fn presence(&self, since: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>> {
        // Stale rows go in the same step: a consumer killed without a clean stop leaves one.
        write_tx!(&self.db, |tx| {
            sqlx::query("DELETE FROM huey_presence WHERE namespace = ? AND beat_ms < ?")
                .bind(self.ns())
                .bind(since.timestamp_millis())
                .execute(&mut *tx)
                .await?;
            sqlx::query_scalar::<_, Vec<u8>>(
                "SELECT record FROM huey_presence WHERE namespace = ? ORDER BY id",
            )
            .bind(self.ns())
            .fetch_all(&mut *tx)
            .await?
        })
    }

    async fn set_paused(&self, paused: bool) -> StorageResult<()> {
        let statement = if paused {
            "INSERT INTO huey_paused (namespace) VALUES (?) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM huey_paused WHERE namespace = ?"
        };
        write_tx!(&self.db, |tx| {
            sqlx::query(statement)
                .bind(self.ns())
                .execute(&mut *tx)
                .await?;
        })
    }

    async fn paused(&self) -> StorageResult<bool> {
        read!(&self.db, |conn| {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM huey_paused WHERE namespace = ?")
                .bind(self.ns())
                .fetch_one(&mut *conn)
                .await?
                > 0
        })
    }
}
