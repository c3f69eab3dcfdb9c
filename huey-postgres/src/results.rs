//! Results and stored values: one row per key, an optional expiry, and waits that sleep on
//! the listener until a settlement stores the awaited result.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use huey_core::async_trait;
use huey_core::storage::{QueueStorage, ResultStorage, Settlement, StorageResult};

use crate::errors::backend;
use crate::storage::{PostgresStorage, millis};

/// A live value: none without an expiry, or one not yet reached. Expired rows are treated as
/// gone until the heartbeat deletes them.
const LIVE: &str = "(expires_at IS NULL OR expires_at > now())";

impl PostgresStorage {
    /// Registers waits on `keys` for `ttl`, so settlements notify and store `()` results.
    async fn register_waits(&self, keys: &[&str], ttl: Duration) -> StorageResult<()> {
        let sql = format!(
            "INSERT INTO {waiting} (namespace, key, until)
             SELECT DISTINCT $1, k, now() + $3 * interval '1 millisecond' FROM unnest($2::text[]) AS k
             ON CONFLICT (namespace, key) DO UPDATE SET until = GREATEST({waiting}.until, EXCLUDED.until)",
            waiting = self.tables.waiting
        );
        sqlx::query(&sql)
            .bind(&self.namespace)
            .bind(keys)
            .bind(millis(ttl + Duration::from_secs(1)))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ResultStorage for PostgresStorage {
    async fn put_data(&self, key: &str, value: Vec<u8>) -> StorageResult<()> {
        let sql = format!(
            "INSERT INTO {} (namespace, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, expires_at = NULL",
            self.tables.kv
        );
        sqlx::query(&sql)
            .bind(&self.namespace)
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn put_result(&self, key: &str, value: Vec<u8>) -> StorageResult<()> {
        // Through the settle statement, which wakes a registered waiter.
        self.settle(None, &Settlement::ack().result(key, value))
            .await
            .map(drop)
    }

    async fn peek_data(&self, key: &str) -> StorageResult<Option<Vec<u8>>> {
        let sql = format!(
            "SELECT value FROM {} WHERE namespace = $1 AND key = $2 AND {LIVE}",
            self.tables.kv
        );
        let row: Option<(Vec<u8>,)> = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.map(|(v,)| v))
    }

    async fn pop_data(&self, key: &str) -> StorageResult<Option<Vec<u8>>> {
        let sql = format!(
            "DELETE FROM {} WHERE namespace = $1 AND key = $2 RETURNING value, {LIVE}",
            self.tables.kv
        );
        let row: Option<(Vec<u8>, bool)> = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.and_then(|(v, live)| live.then_some(v)))
    }

    async fn peek_many(&self, keys: &[&str]) -> StorageResult<Vec<Option<Vec<u8>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT key, value FROM {} WHERE namespace = $1 AND key = ANY ($2) AND {LIVE}",
            self.tables.kv
        );
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(keys)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let found: HashMap<String, Vec<u8>> = rows.into_iter().collect();
        Ok(keys.iter().map(|k| found.get(*k).cloned()).collect())
    }

    async fn delete_data(&self, key: &str) -> StorageResult<bool> {
        let sql = format!(
            "DELETE FROM {} WHERE namespace = $1 AND key = $2 RETURNING {LIVE}",
            self.tables.kv
        );
        let row: Option<(bool,)> = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.is_some_and(|(live,)| live))
    }

    async fn has_data_for_key(&self, key: &str) -> StorageResult<bool> {
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM {} WHERE namespace = $1 AND key = $2 AND {LIVE})",
            self.tables.kv
        );
        let (exists,): (bool,) = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(key)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(exists)
    }

    async fn wait_result(&self, key: &str, timeout: Duration) -> StorageResult<bool> {
        if timeout.is_zero() {
            return self.has_data_for_key(key).await;
        }
        let deadline = Instant::now() + timeout;
        let mut woken = self.listener.wakes.results.subscribe();
        woken.mark_unchanged();
        // Say that someone waits (so the result's writer notifies), then look: a result
        // written before the registration is seen here, one written after wakes the wait.
        self.register_waits(&[key], timeout).await?;
        loop {
            if self.has_data_for_key(key).await? {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            let nap = (deadline - now).min(self.options.fallback_poll);
            let _ = tokio::time::timeout(nap, woken.changed()).await;
            woken.mark_unchanged();
        }
    }

    async fn watch_results(&self, keys: &[&str], ttl: Duration) -> StorageResult<()> {
        self.register_waits(keys, ttl).await
    }

    async fn result_store_size(&self) -> StorageResult<usize> {
        self.count_rows(&self.tables.kv, LIVE).await
    }

    async fn result_items(&self) -> StorageResult<HashMap<String, Vec<u8>>> {
        let sql = format!(
            "SELECT key, value FROM {} WHERE namespace = $1 AND {LIVE}",
            self.tables.kv
        );
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().collect())
    }

    async fn flush_results(&self) -> StorageResult<()> {
        let t = &self.tables;
        let sql = format!(
            "WITH a AS (DELETE FROM {kv} WHERE namespace = $1),
                  b AS (DELETE FROM {semaphores} WHERE namespace = $1),
                  c AS (DELETE FROM {revocations} WHERE namespace = $1)
             DELETE FROM {waiting} WHERE namespace = $1",
            kv = t.kv,
            semaphores = t.semaphores,
            revocations = t.revocations,
            waiting = t.waiting,
        );
        sqlx::query(&sql)
            .bind(&self.namespace)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
