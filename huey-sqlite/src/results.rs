//! Results and other stored values, and waiting for them: woken at once by a write of this
//! process, and by polling for another process's.

use std::collections::HashMap;
use std::time::Duration;

use huey_core::async_trait;
use huey_core::storage::{ResultStorage, StorageResult};
use sqlx::Row;

use crate::db::{ms, now_ms};
use crate::rows;
use crate::storage::SqliteStorage;

/// How much longer than its wait a registered interest lasts, so a waiter that looks again
/// right after its wait ended still finds the result.
const INTEREST_GRACE: Duration = Duration::from_secs(1);

/// A live value: no expiry, or one still ahead.
const LIVE: &str = "(expires_ms IS NULL OR expires_ms > ?)";

impl SqliteStorage {
    /// Registers waits for `keys` until `until_ms` (keeping a later registration).
    async fn register_waits(&self, keys: &[&str], until_ms: i64) -> StorageResult<()> {
        write_tx!(&self.db, |tx| {
            for key in keys {
                sqlx::query(
                    "INSERT INTO huey_waiters (namespace, key, until_ms) VALUES (?, ?, ?)
                     ON CONFLICT (namespace, key) DO UPDATE
                     SET until_ms = max(until_ms, excluded.until_ms)",
                )
                .bind(self.ns())
                .bind(key)
                .bind(until_ms)
                .execute(&mut *tx)
                .await?;
            }
        })
    }
}

#[async_trait]
impl ResultStorage for SqliteStorage {
    async fn put_data(&self, key: &str, value: Vec<u8>) -> StorageResult<()> {
        write_tx!(&self.db, |tx| rows::store(
            &mut tx,
            self.ns(),
            key,
            &value,
            None
        )
        .await?)?;
        self.db.shared.data.notify_waiters();
        Ok(())
    }

    async fn put_result(&self, key: &str, value: Vec<u8>) -> StorageResult<()> {
        let expires = self
            .scope
            .result_ttl
            .map(|ttl| now_ms().saturating_add(ms(ttl)));
        write_tx!(&self.db, |tx| rows::store(
            &mut tx,
            self.ns(),
            key,
            &value,
            expires
        )
        .await?)?;
        self.db.shared.data.notify_waiters();
        Ok(())
    }

    async fn peek_data(&self, key: &str) -> StorageResult<Option<Vec<u8>>> {
        read!(&self.db, |conn| {
            sqlx::query_scalar::<_, Vec<u8>>(&format!(
                "SELECT value FROM huey_kv WHERE namespace = ? AND key = ? AND {LIVE}"
            ))
            .bind(self.ns())
            .bind(key)
            .bind(now_ms())
            .fetch_optional(&mut *conn)
            .await?
        })
    }

    async fn pop_data(&self, key: &str) -> StorageResult<Option<Vec<u8>>> {
        write_tx!(&self.db, |tx| {
            let row = sqlx::query(
                "DELETE FROM huey_kv WHERE namespace = ? AND key = ? RETURNING value, expires_ms",
            )
            .bind(self.ns())
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            match row {
                Some(row) => {
                    let expires: Option<i64> = row.try_get(1)?;
                    let live = expires.is_none_or(|e| e > now_ms());
                    live.then(|| row.try_get::<Vec<u8>, _>(0)).transpose()?
                }
                None => None,
            }
        })
    }

    async fn peek_many(&self, keys: &[&str]) -> StorageResult<Vec<Option<Vec<u8>>>> {
        read!(&self.db, |conn| {
            let now = now_ms();
            let mut values = Vec::with_capacity(keys.len());
            for key in keys {
                values.push(
                    sqlx::query_scalar::<_, Vec<u8>>(&format!(
                        "SELECT value FROM huey_kv WHERE namespace = ? AND key = ? AND {LIVE}"
                    ))
                    .bind(self.ns())
                    .bind(key)
                    .bind(now)
                    .fetch_optional(&mut *conn)
                    .await?,
                );
            }
            values
        })
    }

    async fn delete_data(&self, key: &str) -> StorageResult<bool> {
        write_tx!(&self.db, |tx| {
            let expires: Option<Option<i64>> = sqlx::query_scalar(
                "DELETE FROM huey_kv WHERE namespace = ? AND key = ? RETURNING expires_ms",
            )
            .bind(self.ns())
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            expires.is_some_and(|e| e.is_none_or(|e| e > now_ms()))
        })
    }

    async fn has_data_for_key(&self, key: &str) -> StorageResult<bool> {
        read!(&self.db, |conn| {
            sqlx::query_scalar::<_, bool>(&format!(
                "SELECT EXISTS (SELECT 1 FROM huey_kv WHERE namespace = ? AND key = ? AND {LIVE})"
            ))
            .bind(self.ns())
            .bind(key)
            .bind(now_ms())
            .fetch_one(&mut *conn)
            .await?
        })
    }

    async fn wait_result(&self, key: &str, timeout: Duration) -> StorageResult<bool> {
        let deadline = tokio::time::Instant::now() + timeout;
        self.register_waits(
            &[key],
            now_ms().saturating_add(ms(timeout + INTEREST_GRACE)),
        )
        .await?;
        loop {
            let notified = self.db.shared.data.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.has_data_for_key(key).await? {
                return Ok(true);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            let nap = (deadline - now).min(self.options.poll);
            let _ = tokio::time::timeout(nap, notified).await;
        }
    }

    async fn watch_results(&self, keys: &[&str], ttl: Duration) -> StorageResult<()> {
        if keys.is_empty() {
            return Ok(());
        }
        self.register_waits(keys, now_ms().saturating_add(ms(ttl + INTEREST_GRACE)))
            .await
    }

    async fn result_store_size(&self) -> StorageResult<usize> {
        // Revocation flags count as stored values, as in Huey's result store.
        let n = read!(&self.db, |conn| {
            sqlx::query_scalar::<_, i64>(&format!(
                "SELECT (SELECT count(*) FROM huey_kv WHERE namespace = ?1 AND {LIVE})
                      + (SELECT count(*) FROM huey_revocations WHERE namespace = ?1)"
            ))
            .bind(self.ns())
            .bind(now_ms())
            .fetch_one(&mut *conn)
            .await?
        })?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    async fn result_items(&self) -> StorageResult<HashMap<String, Vec<u8>>> {
        let items: Vec<(String, Vec<u8>)> = read!(&self.db, |conn| {
            sqlx::query_as(&format!(
                "SELECT key, value FROM huey_kv WHERE namespace = ?1 AND {LIVE}
                 UNION ALL SELECT key, flag FROM huey_revocations WHERE namespace = ?1"
            ))
            .bind(self.ns())
            .bind(now_ms())
            .fetch_all(&mut *conn)
            .await?
        })?;
        Ok(items.into_iter().collect())
    }

    async fn flush_results(&self) -> StorageResult<()> {
        write_tx!(&self.db, |tx| {
            for table in [
                "huey_kv",
                "huey_revocations",
                "huey_semaphores",
                "huey_waiters",
            ] {
                sqlx::query(&format!("DELETE FROM {table} WHERE namespace = ?"))
                    .bind(self.ns())
                    .execute(&mut *tx)
                    .await?;
            }
        })
    }
}
