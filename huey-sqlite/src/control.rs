//! Consumer presence records, the pause flag and the stats history, in tables of their own
//! (not the key-value table, whose rows are the results).

use std::time::Duration;

use chrono::{DateTime, Utc};
use huey_core::async_trait;
use huey_core::storage::{ControlStorage, MinuteStats, StorageResult, retention_horizon};

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

    async fn record_stats(&self, rows: &[MinuteStats], keep: Duration) -> StorageResult<()> {
        let horizon = unix_minute(retention_horizon(Utc::now(), keep));
        write_tx!(&self.db, |tx| {
            sqlx::query("DELETE FROM huey_stats WHERE namespace = ? AND minute < ?")
                .bind(self.ns())
                .bind(horizon)
                .execute(&mut *tx)
                .await?;
            for row in rows.iter().filter(|r| unix_minute(r.minute) >= horizon) {
                let [count, run_us, wait_us] = row.stored();
                sqlx::query(
                    "INSERT INTO huey_stats (namespace, minute, task, outcome, count, run_us, wait_us)
                     VALUES (?, ?, ?, ?, ?, ?, ?)
                     ON CONFLICT (namespace, minute, task, outcome) DO UPDATE SET
                        count = count + excluded.count,
                        run_us = run_us + excluded.run_us,
                        wait_us = wait_us + excluded.wait_us",
                )
                .bind(self.ns())
                .bind(unix_minute(row.minute))
                .bind(&row.task)
                .bind(&row.outcome)
                .bind(count)
                .bind(run_us)
                .bind(wait_us)
                .execute(&mut *tx)
                .await?;
            }
        })
    }

    async fn stats(&self, since: DateTime<Utc>) -> StorageResult<Vec<MinuteStats>> {
        let rows = read!(&self.db, |conn| {
            sqlx::query_as::<_, (i64, String, String, i64, i64, i64)>(
                "SELECT minute, task, outcome, count, run_us, wait_us FROM huey_stats
                 WHERE namespace = ? AND minute >= ? ORDER BY minute, task, outcome",
            )
            .bind(self.ns())
            .bind(unix_minute(since))
            .fetch_all(&mut *conn)
            .await?
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(minute, task, outcome, count, run, wait)| {
                let at = DateTime::<Utc>::from_timestamp(minute.checked_mul(60)?, 0)?;
                Some(MinuteStats::from_stored(
                    at,
                    task,
                    outcome,
                    [count, run, wait],
                ))
            })
            .collect())
    }
}

fn unix_minute(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}
