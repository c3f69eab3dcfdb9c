//! Results and other stored values (Huey's result store, `put` and `get`).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;

use super::StorageResult;

/// Values by key: task results, and what `Huey::put` stores. Required: `put_data`,
/// `peek_data`, `pop_data`, `delete_data`, `wait_result`, `result_store_size`,
/// `result_items`, `flush_results`.
#[async_trait]
pub trait ResultStorage: Send + Sync {
    /// Stores a value.
    async fn put_data(&self, key: &str, value: Vec<u8>) -> StorageResult<()>;

    /// Stores a task result and wakes whoever waits for it. The default stores it with
    /// [`put_data`](ResultStorage::put_data), which is enough when
    /// [`wait_result`](ResultStorage::wait_result) sees every write; a backend that wakes
    /// waiters only for results overrides it.
    async fn put_result(&self, key: &str, value: Vec<u8>) -> StorageResult<()> {
        self.put_data(key, value).await
    }

    /// Reads a value without removing it.
    async fn peek_data(&self, key: &str) -> StorageResult<Option<Vec<u8>>>;

    /// Reads and removes a value.
    async fn pop_data(&self, key: &str) -> StorageResult<Option<Vec<u8>>>;

    /// Reads many values at once, aligned with `keys`. The default reads them one by one; a
    /// backend with a multi-get overrides it.
    async fn peek_many(&self, keys: &[&str]) -> StorageResult<Vec<Option<Vec<u8>>>> {
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(self.peek_data(key).await?);
        }
        Ok(values)
    }

    /// Removes a value; returns whether it existed.
    async fn delete_data(&self, key: &str) -> StorageResult<bool>;

    /// Whether a value exists. The default reads it.
    async fn has_data_for_key(&self, key: &str) -> StorageResult<bool> {
        Ok(self.peek_data(key).await?.is_some())
    }

    /// Waits until `key` holds a value or `timeout` passes; returns whether it holds one.
    ///
    /// The wait is registered before the backend looks, and stays registered for `timeout`
    /// (and a little longer): a settlement that completes the task meanwhile stores its
    /// [`if_awaited`](crate::storage::Settlement::if_awaited) result and wakes this wait.
    async fn wait_result(&self, key: &str, timeout: Duration) -> StorageResult<bool>;

    /// Registers, for `ttl`, that someone is about to wait for each of `keys`, as
    /// [`wait_result`](Self::wait_result) does for its key, without waiting: a result
    /// handle group registers every member before it waits for them one by one, so a member
    /// that finishes meanwhile leaves its [`if_awaited`](crate::storage::Settlement::if_awaited)
    /// result. The default registers nothing (right for a backend that ignores `if_awaited`).
    async fn watch_results(&self, keys: &[&str], ttl: Duration) -> StorageResult<()> {
        let _ = (keys, ttl);
        Ok(())
    }

    /// Number of stored values.
    async fn result_store_size(&self) -> StorageResult<usize>;

    /// Every stored value by key.
    async fn result_items(&self) -> StorageResult<HashMap<String, Vec<u8>>>;

    /// Removes every stored value, and every semaphore slot (like task locks, they are
    /// metadata that a flush should not leave behind).
    async fn flush_results(&self) -> StorageResult<()>;
}
