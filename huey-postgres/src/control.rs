//! Consumer presence records and the pause flag, in tables of their own (`presence`,
//! `paused`): not in `kv`, whose rows are the results, nor in `consumers`, whose rows are claim
//! leases that the reaper acts on.

use chrono::{DateTime, Utc};
use huey_core::async_trait;
use huey_core::storage::{ControlStorage, StorageResult};

use crate::errors::backend;
use crate::storage::PostgresStorage;

#[async_trait]
impl ControlStorage for PostgresStorage {
    async fn put_presence(
        &self,
        id: &str,
        record: Vec<u8>,
        heartbeat: DateTime<Utc>,
    ) -> StorageResult<()> {
        let sql = format!(
            "INSERT INTO {} (namespace, id, record, heartbeat) VALUES ($1, $2, $3, $4)
             ON CONFLICT (namespace, id)
             DO UPDATE SET record = EXCLUDED.record, heartbeat = EXCLUDED.heartbeat",
            self.tables.presence
        );
        sqlx::query(&sql)
            .bind(&self.namespace)
            .bind(id)
            .bind(record)
            .bind(heartbeat)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn delete_presence(&self, id: &str) -> StorageResult<bool> {
        self.delete_row(&self.tables.presence, "id", id).await
    }

    async fn presence(&self, since: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>> {
        // Stale rows (a consumer killed without a clean stop) go in the same statement.
        let sql = format!(
            "WITH stale AS (
                DELETE FROM {presence} WHERE namespace = $1 AND heartbeat < $2
             )
             SELECT record FROM {presence} WHERE namespace = $1 AND heartbeat >= $2 ORDER BY id",
            presence = self.tables.presence
        );
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(since)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(|(r,)| r).collect())
    }

    async fn set_paused(&self, paused: bool) -> StorageResult<()> {
        let sql = if paused {
            format!(
                "INSERT INTO {} (namespace) VALUES ($1) ON CONFLICT DO NOTHING",
                self.tables.paused
            )
        } else {
            format!("DELETE FROM {} WHERE namespace = $1", self.tables.paused)
        };
        sqlx::query(&sql)
            .bind(&self.namespace)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn paused(&self) -> StorageResult<bool> {
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM {} WHERE namespace = $1)",
            self.tables.paused
        );
        let (paused,): (bool,) = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(paused)
    }
}
