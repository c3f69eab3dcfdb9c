//! Consumer presence records, the pause flag and the stats history, in tables of their own
//! (`presence`, `paused`, `stats`): not in `kv`, whose rows are the results, nor in
//! `consumers`, whose rows are claim leases that the reaper acts on.

use std::time::Duration;

use chrono::{DateTime, Utc};
use huey_core::async_trait;
use huey_core::storage::{ControlStorage, MinuteStats, StorageResult, retention_horizon};

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

    async fn record_stats(&self, rows: &[MinuteStats], keep: Duration) -> StorageResult<()> {
        // One statement: the retention's pruning, and each row added to its stored twin.
        let sql = format!(
            "WITH pruned AS (
                DELETE FROM {stats} WHERE namespace = $1 AND minute < $2
             )
             INSERT INTO {stats} AS s (namespace, minute, task, outcome, count, run_us, wait_us)
             SELECT $1, m, t, o, n, r, w
             FROM unnest($3::timestamptz[], $4::text[], $5::text[], $6::int8[], $7::int8[], $8::int8[])
                AS u(m, t, o, n, r, w)
             WHERE m >= $2
             ON CONFLICT (namespace, minute, task, outcome) DO UPDATE SET
                count = s.count + EXCLUDED.count,
                run_us = s.run_us + EXCLUDED.run_us,
                wait_us = s.wait_us + EXCLUDED.wait_us",
            stats = self.tables.stats
        );
        let stored: Vec<[i64; 3]> = rows.iter().map(MinuteStats::stored).collect();
        let column = |i: usize| stored.iter().map(|s| s[i]).collect::<Vec<_>>();
        sqlx::query(&sql)
            .bind(&self.namespace)
            .bind(retention_horizon(Utc::now(), keep))
            .bind(rows.iter().map(|r| r.minute).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.task.as_str()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.outcome.as_str()).collect::<Vec<_>>())
            .bind(column(0))
            .bind(column(1))
            .bind(column(2))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn stats(&self, since: DateTime<Utc>) -> StorageResult<Vec<MinuteStats>> {
        let sql = format!(
            "SELECT minute, task, outcome, count, run_us, wait_us FROM {}
             WHERE namespace = $1 AND minute >= $2
             ORDER BY minute, task, outcome",
            self.tables.stats
        );
        let rows: Vec<(DateTime<Utc>, String, String, i64, i64, i64)> = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(huey_core::storage::minute_of(since))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|(minute, task, outcome, count, run, wait)| {
                MinuteStats::from_stored(minute, task, outcome, [count, run, wait])
            })
            .collect())
    }
}
