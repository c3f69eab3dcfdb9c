//! Counters, put-if-empty and delete-if-equal, counting semaphores and chords: each one
//! statement, or one transaction under a row lock where it needs a read and a write.

use std::time::Duration;

use huey_core::async_trait;
use huey_core::storage::{CoordinationStorage, StorageResult};

use crate::errors::backend;
use crate::storage::{PostgresStorage, millis};

#[async_trait]
impl CoordinationStorage for PostgresStorage {
    async fn incr(&self, key: &str, amount: i64) -> StorageResult<i64> {
        let sql = format!(
            "INSERT INTO {c} (namespace, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (namespace, key) DO UPDATE SET value = {c}.value + EXCLUDED.value
             RETURNING value",
            c = self.tables.counters
        );
        let (value,): (i64,) = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(key)
            .bind(amount)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(value)
    }

    async fn delete_counter(&self, key: &str) -> StorageResult<bool> {
        self.delete_row(&self.tables.counters, "key", key).await
    }

    async fn flush_counters(&self) -> StorageResult<()> {
        let t = &self.tables;
        let sql = format!(
            "WITH a AS (DELETE FROM {chords} WHERE namespace = $1),
                  b AS (DELETE FROM {members} WHERE namespace = $1)
             DELETE FROM {counters} WHERE namespace = $1",
            chords = t.chords,
            members = t.chord_members,
            counters = t.counters,
        );
        sqlx::query(&sql)
            .bind(&self.namespace)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn put_if_empty(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> StorageResult<bool> {
        // Inserts, or replaces a row that has expired but not yet been swept.
        let sql = format!(
            "INSERT INTO {kv} (namespace, key, value, expires_at)
             VALUES ($1, $2, $3, CASE WHEN $4 > 0 THEN now() + $4 * interval '1 millisecond' END)
             ON CONFLICT (namespace, key) DO UPDATE
                SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
                WHERE {kv}.expires_at IS NOT NULL AND {kv}.expires_at <= now()
             RETURNING 1",
            kv = self.tables.kv
        );
        let stored: Option<(i32,)> = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(key)
            .bind(value)
            .bind(ttl.map_or(0, |t| millis(t).max(1)))
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(stored.is_some())
    }

    async fn delete_data_if(&self, key: &str, value: &[u8]) -> StorageResult<bool> {
        let sql = format!(
            "DELETE FROM {} WHERE namespace = $1 AND key = $2 AND value = $3
                AND (expires_at IS NULL OR expires_at > now())",
            self.tables.kv
        );
        let done = sqlx::query(&sql)
            .bind(&self.namespace)
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn semaphore_acquire(
        &self,
        key: &str,
        holder: &str,
        value: u32,
        ttl: Duration,
    ) -> StorageResult<bool> {
        let (admitted,): (bool,) = sqlx::query_as(&format!(
            "SELECT {}.semaphore_acquire($1, $2, $3, $4, $5)",
            self.tables.schema
        ))
        .bind(&self.namespace)
        .bind(key)
        .bind(holder)
        .bind(i64::from(value))
        .bind(millis(ttl).max(1))
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        Ok(admitted)
    }

    async fn semaphore_renew(&self, key: &str, holder: &str, ttl: Duration) -> StorageResult<bool> {
        let sql = format!(
            "UPDATE {} SET expires_at = now() + $4 * interval '1 millisecond'
             WHERE namespace = $1 AND key = $2 AND holder = $3 AND expires_at > now()",
            self.tables.semaphores
        );
        let done = sqlx::query(&sql)
            .bind(&self.namespace)
            .bind(key)
            .bind(holder)
            .bind(millis(ttl).max(1))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn semaphore_release(&self, key: &str, holder: &str) -> StorageResult<bool> {
        let sql = format!(
            "DELETE FROM {} WHERE namespace = $1 AND key = $2 AND holder = $3
             RETURNING expires_at > now()",
            self.tables.semaphores
        );
        let row: Option<(bool,)> = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(key)
            .bind(holder)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.is_some_and(|(live,)| live))
    }

    async fn semaphore_holders(&self, key: &str) -> StorageResult<Vec<String>> {
        let sql = format!(
            "SELECT holder FROM {} WHERE namespace = $1 AND key = $2 AND expires_at > now()
             ORDER BY expires_at, holder",
            self.tables.semaphores
        );
        let rows: Vec<(String,)> = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(key)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(|(h,)| h).collect())
    }

    async fn chord_record(
        &self,
        chord: &str,
        index: usize,
        size: usize,
        outcome: Vec<u8>,
    ) -> StorageResult<Option<Vec<Vec<u8>>>> {
        let t = &self.tables;
        let index =
            i32::try_from(index).map_err(|e| huey_core::StorageError::Invalid(Box::new(e)))?;
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // The chord's row is its lock: members recording at once take turns.
        let sql = format!(
            "INSERT INTO {chords} (namespace, chord) VALUES ($1, $2)
             ON CONFLICT (namespace, chord) DO UPDATE SET chord = EXCLUDED.chord
             RETURNING completed_by, fired",
            chords = t.chords
        );
        let (completed_by, fired): (Option<i32>, bool) = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(chord)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        if fired || completed_by.is_some_and(|by| by != index) {
            tx.commit().await.map_err(backend)?;
            return Ok(None);
        }
        let sql = format!(
            "INSERT INTO {members} (namespace, chord, member, outcome) VALUES ($1, $2, $3, $4)
             ON CONFLICT (namespace, chord, member) DO UPDATE SET outcome = EXCLUDED.outcome",
            members = t.chord_members
        );
        sqlx::query(&sql)
            .bind(&self.namespace)
            .bind(chord)
            .bind(index)
            .bind(outcome)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let sql = format!(
            "SELECT outcome FROM {members} WHERE namespace = $1 AND chord = $2 ORDER BY member",
            members = t.chord_members
        );
        let outcomes: Vec<(Vec<u8>,)> = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(chord)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
        if outcomes.len() < size {
            tx.commit().await.map_err(backend)?;
            return Ok(None);
        }
        let sql = format!(
            "UPDATE {chords} SET completed_by = $3 WHERE namespace = $1 AND chord = $2",
            chords = t.chords
        );
        sqlx::query(&sql)
            .bind(&self.namespace)
            .bind(chord)
            .bind(index)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(Some(outcomes.into_iter().map(|(o,)| o).collect()))
    }
}
