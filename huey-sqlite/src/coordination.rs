//! Counters, put-if-empty, delete-if-equal, semaphores and chord bookkeeping: each one write
//! transaction, so it is atomic across every process on the file.

use std::time::Duration;

use huey_core::async_trait;
use huey_core::storage::{CoordinationStorage, StorageResult};

use crate::db::{ms, now_ms};
use crate::storage::SqliteStorage;

impl SqliteStorage {
    /// Drops the expired slots of semaphore `key`.
    async fn drop_expired_slots(
        conn: &mut sqlx::SqliteConnection,
        ns: &str,
        key: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "DELETE FROM huey_semaphores WHERE namespace = ? AND key = ? AND expires_ms <= ?",
        )
        .bind(ns)
        .bind(key)
        .bind(now)
        .execute(conn)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl CoordinationStorage for SqliteStorage {
    async fn incr(&self, key: &str, amount: i64) -> StorageResult<i64> {
        write_tx!(&self.db, |tx| {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO huey_counters (namespace, key, value) VALUES (?, ?, ?)
                 ON CONFLICT (namespace, key) DO UPDATE SET value = value + excluded.value
                 RETURNING value",
            )
            .bind(self.ns())
            .bind(key)
            .bind(amount)
            .fetch_one(&mut *tx)
            .await?
        })
    }

    async fn delete_counter(&self, key: &str) -> StorageResult<bool> {
        write_tx!(&self.db, |tx| {
            sqlx::query("DELETE FROM huey_counters WHERE namespace = ? AND key = ?")
                .bind(self.ns())
                .bind(key)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        })
    }

    async fn flush_counters(&self) -> StorageResult<()> {
        write_tx!(&self.db, |tx| {
            for table in ["huey_counters", "huey_chord_members", "huey_chords"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE namespace = ?"))
                    .bind(self.ns())
                    .execute(&mut *tx)
                    .await?;
            }
        })
    }

    async fn put_if_empty(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> StorageResult<bool> {
        let stored = write_tx!(&self.db, |tx| {
            let now = now_ms();
            sqlx::query("DELETE FROM huey_kv WHERE namespace = ? AND key = ? AND expires_ms <= ?")
                .bind(self.ns())
                .bind(key)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO huey_kv (namespace, key, value, expires_ms) VALUES (?, ?, ?, ?)
                 ON CONFLICT (namespace, key) DO NOTHING",
            )
            .bind(self.ns())
            .bind(key)
            .bind(&value)
            .bind(ttl.map(|t| now.saturating_add(ms(t))))
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0
        })?;
        if stored {
            self.db.shared.data.notify_waiters();
        }
        Ok(stored)
    }

    async fn delete_data_if(&self, key: &str, value: &[u8]) -> StorageResult<bool> {
        write_tx!(&self.db, |tx| {
            sqlx::query(
                "DELETE FROM huey_kv WHERE namespace = ? AND key = ? AND value = ?
                 AND (expires_ms IS NULL OR expires_ms > ?)",
            )
            .bind(self.ns())
            .bind(key)
            .bind(value)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0
        })
    }

    async fn semaphore_acquire(
        &self,
        key: &str,
        holder: &str,
        value: u32,
        ttl: Duration,
    ) -> StorageResult<bool> {
        write_tx!(&self.db, |tx| {
            let now = now_ms();
            SqliteStorage::drop_expired_slots(&mut tx, self.ns(), key, now).await?;
            let (held, taken): (bool, i64) = sqlx::query_as(
                "SELECT coalesce(max(holder = ?), 0), count(*) FROM huey_semaphores
                 WHERE namespace = ? AND key = ?",
            )
            .bind(holder)
            .bind(self.ns())
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
            let admitted = held || taken < i64::from(value);
            if admitted {
                sqlx::query(
                    "INSERT INTO huey_semaphores (namespace, key, holder, expires_ms)
                     VALUES (?, ?, ?, ?)
                     ON CONFLICT (namespace, key, holder) DO UPDATE
                     SET expires_ms = excluded.expires_ms",
                )
                .bind(self.ns())
                .bind(key)
                .bind(holder)
                .bind(now.saturating_add(ms(ttl)))
                .execute(&mut *tx)
                .await?;
            }
            admitted
        })
    }

    async fn semaphore_renew(&self, key: &str, holder: &str, ttl: Duration) -> StorageResult<bool> {
        write_tx!(&self.db, |tx| {
            let now = now_ms();
            sqlx::query(
                "UPDATE huey_semaphores SET expires_ms = ?
                 WHERE namespace = ? AND key = ? AND holder = ? AND expires_ms > ?",
            )
            .bind(now.saturating_add(ms(ttl)))
            .bind(self.ns())
            .bind(key)
            .bind(holder)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0
        })
    }

    async fn semaphore_release(&self, key: &str, holder: &str) -> StorageResult<bool> {
        write_tx!(&self.db, |tx| {
            let now = now_ms();
            let released = sqlx::query(
                "DELETE FROM huey_semaphores
                 WHERE namespace = ? AND key = ? AND holder = ? AND expires_ms > ?",
            )
            .bind(self.ns())
            .bind(key)
            .bind(holder)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            SqliteStorage::drop_expired_slots(&mut tx, self.ns(), key, now).await?;
            released > 0
        })
    }

    async fn semaphore_holders(&self, key: &str) -> StorageResult<Vec<String>> {
        read!(&self.db, |conn| {
            sqlx::query_scalar::<_, String>(
                "SELECT holder FROM huey_semaphores
                 WHERE namespace = ? AND key = ? AND expires_ms > ?
                 ORDER BY expires_ms, holder",
            )
            .bind(self.ns())
            .bind(key)
            .bind(now_ms())
            .fetch_all(&mut *conn)
            .await?
        })
    }

    async fn chord_record(
        &self,
        chord: &str,
        index: usize,
        size: usize,
        outcome: Vec<u8>,
    ) -> StorageResult<Option<Vec<Vec<u8>>>> {
        let member = i64::try_from(index).unwrap_or(i64::MAX);
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        write_tx!(&self.db, |tx| {
            let state: Option<(Option<i64>, Option<i64>)> = sqlx::query_as(
                "SELECT completed_by, fired_ms FROM huey_chords WHERE namespace = ? AND chord = ?",
            )
            .bind(self.ns())
            .bind(chord)
            .fetch_optional(&mut *tx)
            .await?;
            let (completed_by, fired) = state.unwrap_or((None, None));
            if fired.is_some() || completed_by.is_some_and(|by| by != member) {
                None
            } else {
                sqlx::query(
                    "INSERT INTO huey_chord_members (namespace, chord, member, outcome)
                     VALUES (?, ?, ?, ?)
                     ON CONFLICT (namespace, chord, member) DO UPDATE SET outcome = excluded.outcome",
                )
                .bind(self.ns())
                .bind(chord)
                .bind(member)
                .bind(&outcome)
                .execute(&mut *tx)
                .await?;
                let recorded: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM huey_chord_members WHERE namespace = ? AND chord = ?",
                )
                .bind(self.ns())
                .bind(chord)
                .fetch_one(&mut *tx)
                .await?;
                if recorded < size {
                    None
                } else {
                    let outcomes: Vec<Vec<u8>> = sqlx::query_scalar(
                        "SELECT outcome FROM huey_chord_members WHERE namespace = ? AND chord = ?
                         ORDER BY member",
                    )
                    .bind(self.ns())
                    .bind(chord)
                    .fetch_all(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO huey_chords (namespace, chord, completed_by) VALUES (?, ?, ?)
                         ON CONFLICT (namespace, chord) DO UPDATE
                         SET completed_by = excluded.completed_by",
                    )
                    .bind(self.ns())
                    .bind(chord)
                    .bind(member)
                    .execute(&mut *tx)
                    .await?;
                    Some(outcomes)
                }
            }
        })
    }
}
