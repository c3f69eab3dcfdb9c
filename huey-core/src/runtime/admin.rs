//! Administration and introspection (Huey's `put`/`get`, `pending`, `scheduled`, counts,
//! `all_results`, `flush`, `flush_locks`), and the dead letters.

use std::collections::HashMap;
use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::huey::Huey;
use super::registry::Registry;
use crate::error::HueyError;
use crate::limits::lock_key;
use crate::storage::{DeadLetter, DeadLetterSelection};
use crate::task::Task;
use crate::task::message::Message;
use crate::task::signal::Signal;

impl Huey {
    /// Stores a serializable value under `key` (Huey's `huey.put`).
    pub async fn put<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), HueyError> {
        self.storage()
            .put_data(key, self.encode_value(serde_json::to_vec(value)?))
            .await?;
        Ok(())
    }

    /// Takes the value under `key`: reads and removes it (Huey's `huey.get(key)`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let huey = huey_core::Huey::memory("docs");
    /// huey.put("answer", &42).await?;
    /// assert_eq!(huey.peek::<i32>("answer").await?, Some(42));
    /// assert_eq!(huey.get::<i32>("answer").await?, Some(42));
    /// assert_eq!(huey.get::<i32>("answer").await?, None, "taken");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, HueyError> {
        let bytes = self.storage().pop_data(key).await?;
        self.read_value(bytes)
    }

    /// Reads the value under `key` and leaves it there (Huey's `huey.get(key, peek=True)`).
    pub async fn peek<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, HueyError> {
        let bytes = self.storage().peek_data(key).await?;
        self.read_value(bytes)
    }

    fn read_value<T: DeserializeOwned>(
        &self,
        bytes: Option<Vec<u8>>,
    ) -> Result<Option<T>, HueyError> {
        bytes
            .map(|b| serde_json::from_slice(&self.decode_value(&b)?))
            .transpose()
            .map_err(HueyError::from)
    }

    /// The queued messages, next first (at most `limit` are read). As in Huey, messages that do
    /// not decode are skipped with a warning, and messages whose task is not registered in this
    /// process are skipped too (logged at debug level: a producer-only process may well not
    /// link every task). [`pending_count`](Self::pending_count) counts them all.
    ///
    /// ```
    /// use huey_core::prelude::*;
    ///
    /// #[task]
    /// fn add(a: i64, b: i64) -> i64 { a + b }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("docs");
    /// add::enqueue(&huey, 1, 2).await?;
    /// huey.storage().enqueue(b"not a message".to_vec(), 0).await?;
    /// let pending = huey.pending(None).await?;
    /// assert_eq!(pending.len(), 1);
    /// assert_eq!(pending[0].name, add::NAME);
    /// assert_eq!(huey.pending_count().await?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn pending(&self, limit: Option<usize>) -> Result<Vec<Message>, HueyError> {
        let items = self.storage().enqueued_items(limit).await?;
        self.runnable(items)
    }

    /// Number of queued messages (Huey's `len(huey)`).
    pub async fn pending_count(&self) -> Result<usize, HueyError> {
        Ok(self.storage().queue_size().await?)
    }

    /// The scheduled messages, soonest first, skipping what does not decode or names no
    /// registered task, as [`pending`](Self::pending) does.
    ///
    /// ```
    /// use huey_core::prelude::*;
    /// use std::time::Duration;
    ///
    /// #[task]
    /// fn later() {}
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("docs");
    /// let mut message = later::call().delay(Duration::from_secs(60)).into_message()?;
    /// let eta = message.eta.ok_or("a delayed call has an eta")?;
    /// huey.storage().add_to_schedule(huey.encode_message(&message), eta, 0).await?;
    /// message.name = "nobody::registered".into();
    /// huey.storage().add_to_schedule(huey.encode_message(&message), eta, 0).await?;
    /// assert_eq!(huey.scheduled(None).await?.len(), 1);
    /// assert_eq!(huey.scheduled_count().await?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn scheduled(&self, limit: Option<usize>) -> Result<Vec<Message>, HueyError> {
        let items = self.storage().scheduled_items(limit).await?;
        self.runnable(items)
    }

    /// Number of scheduled messages.
    pub async fn scheduled_count(&self) -> Result<usize, HueyError> {
        Ok(self.storage().schedule_size().await?)
    }

    /// Number of stored values (results, revoke flags, ...).
    pub async fn result_count(&self) -> Result<usize, HueyError> {
        Ok(self.storage().result_store_size().await?)
    }

    /// Every stored value by key, raw.
    pub async fn all_results(&self) -> Result<HashMap<String, Vec<u8>>, HueyError> {
        Ok(self.storage().result_items().await?)
    }

    /// Messages that could not be run, oldest first, each with its id, the reason and when it
    /// was set aside. Messages that do not decode (including bad signatures) and messages that
    /// name no registered task end up here; they are never dropped.
    ///
    /// ```
    /// use huey_core::prelude::*;
    /// use huey_core::WorkerState;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("docs");
    /// huey.storage().enqueue(b"not a message".to_vec(), 0).await?;
    /// assert_eq!(huey.run_next(&WorkerState::default()).await?, None);
    /// let dead = huey.dead_letters(None).await?;
    /// assert!(dead[0].reason.starts_with("malformed message"));
    /// assert_eq!(huey.dead_letter_count().await?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn dead_letters(&self, limit: Option<usize>) -> Result<Vec<DeadLetter>, HueyError> {
        Ok(self.storage().dead_letters(limit).await?)
    }

    /// The dead letters as [`dead_letters`](Self::dead_letters) lists them, each with its
    /// message if that decodes (a malformed one, or one with a bad signature, does not): what
    /// the admin listings show and filter.
    ///
    /// ```
    /// use huey_core::prelude::*;
    /// use huey_core::WorkerState;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("docs");
    /// huey.storage().enqueue(b"junk".to_vec(), 0).await?;
    /// huey.run_next(&WorkerState::default()).await?;
    /// let dead = huey.dead_letters_decoded(None).await?;
    /// assert!(dead[0].1.is_none(), "junk is no message");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn dead_letters_decoded(
        &self,
        limit: Option<usize>,
    ) -> Result<Vec<(DeadLetter, Option<Message>)>, HueyError> {
        Ok(self
            .dead_letters(limit)
            .await?
            .into_iter()
            .map(|letter| {
                let message = self.decode_message(&letter.data).ok();
                (letter, message)
            })
            .collect())
    }

    /// Number of dead letters.
    ///
    /// ```
    /// let huey = huey_core::Huey::memory("docs");
    /// assert_eq!(huey.blocking(|h| async move { h.dead_letter_count().await })??, 0);
    /// # Ok::<(), huey_core::HueyError>(())
    /// ```
    pub async fn dead_letter_count(&self) -> Result<usize, HueyError> {
        Ok(self.storage().dead_letter_count().await?)
    }

    /// Puts dead letters back on the queue, unchanged and with their priority: all of them, or
    /// those with the given ids. Each entry moves atomically (on Redis, one script call per
    /// entry), so two callers never queue one twice. Returns the entries moved. Use it once the
    /// cause is fixed (the task is deployed, the secret agreed); a message that still cannot
    /// run comes back to the list.
    ///
    /// ```
    /// use huey_core::prelude::*;
    /// use huey_core::storage::DeadLetterSelection;
    /// use huey_core::WorkerState;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("docs");
    /// huey.storage().enqueue(b"not yet a message".to_vec(), 0).await?;
    /// huey.run_next(&WorkerState::default()).await?;
    /// let id = huey.dead_letters(None).await?[0].id.clone();
    /// let moved = huey.requeue_dead_letters(DeadLetterSelection::Ids(&[id])).await?;
    /// assert_eq!(moved.len(), 1);
    /// assert_eq!(huey.pending_count().await?, 1);
    /// assert_eq!(huey.dead_letter_count().await?, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn requeue_dead_letters(
        &self,
        which: DeadLetterSelection<'_>,
    ) -> Result<Vec<DeadLetter>, HueyError> {
        let moved = self.storage().requeue_dead_letters(which).await?;
        for letter in &moved {
            if let Ok(message) = self.decode_message(&letter.data) {
                self.emit(Signal::Enqueued, &Task::from_message(message), None);
            }
        }
        Ok(moved)
    }

    /// Deletes dead letters: all, or those with the given ids. Returns how many were deleted.
    /// ([`flush`](Self::flush) leaves the dead letters alone.)
    ///
    /// ```
    /// use huey_core::prelude::*;
    /// use huey_core::storage::DeadLetterSelection;
    /// use huey_core::WorkerState;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("docs");
    /// huey.storage().enqueue(b"junk".to_vec(), 0).await?;
    /// huey.run_next(&WorkerState::default()).await?;
    /// assert_eq!(huey.delete_dead_letters(DeadLetterSelection::All).await?, 1);
    /// assert_eq!(huey.dead_letter_count().await?, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn delete_dead_letters(
        &self,
        which: DeadLetterSelection<'_>,
    ) -> Result<usize, HueyError> {
        Ok(self.storage().delete_dead_letters(which).await?)
    }

    /// Deletes task locks left behind by a crash: every stored `<name>.lock.*` key, plus the
    /// named ones (Huey's `flush_locks`, the consumer's `-f`/`-L`). Returns the lock names
    /// that existed.
    pub async fn flush_locks(&self, extra: &[String]) -> Result<Vec<String>, HueyError> {
        let prefix = lock_key(self.name(), "");
        let storage = self.storage();
        let mut names: Vec<String> = storage
            .result_items()
            .await?
            .into_keys()
            .filter_map(|key| key.strip_prefix(&prefix).map(str::to_owned))
            .collect();
        names.extend(extra.iter().cloned());
        names.sort();
        names.dedup();
        let mut flushed = Vec::new();
        for name in names {
            if storage.delete_data(&format!("{prefix}{name}")).await? {
                flushed.push(name);
            }
        }
        Ok(flushed)
    }

    /// Empties the queue, the schedule, the results and the counters (Huey's `flush`); dead
    /// letters stay, see [`delete_dead_letters`](Self::delete_dead_letters).
    ///
    /// ```
    /// let huey = huey_core::Huey::memory("docs");
    /// huey.blocking(|h| async move {
    ///     h.put("k", &1).await?;
    ///     h.flush().await?;
    ///     assert_eq!(h.result_count().await?, 0);
    ///     Ok::<_, huey_core::HueyError>(())
    /// })??;
    /// # Ok::<(), huey_core::HueyError>(())
    /// ```
    pub async fn flush(&self) -> Result<(), HueyError> {
        let storage = self.storage();
        storage.flush_queue().await?;
        storage.flush_schedule().await?;
        storage.flush_results().await?;
        storage.flush_counters().await?;
        Ok(())
    }

    /// Runs `f` with this handle to completion from sync code, with no runtime of the caller's.
    ///
    /// ```
    /// let huey = huey_core::Huey::memory("docs");
    /// let pending = huey.blocking(|h| async move { h.pending_count().await })??;
    /// assert_eq!(pending, 0);
    /// # Ok::<(), huey_core::HueyError>(())
    /// ```
    pub fn blocking<F, Fut>(&self, f: F) -> Result<Fut::Output, HueyError>
    where
        F: FnOnce(Huey) -> Fut,
        Fut: Future + Send,
        Fut::Output: Send,
    {
        super::blocking::block_on(f(self.clone()))
    }

    /// Decodes stored messages for introspection, keeping those a consumer here could run.
    fn runnable(&self, items: Vec<Vec<u8>>) -> Result<Vec<Message>, HueyError> {
        let registry = Registry::global()?;
        Ok(items
            .into_iter()
            .filter_map(|bytes| match self.decode_message(&bytes) {
                Ok(m) if registry.get(&m.name).is_some() => Some(m),
                Ok(m) => {
                    tracing::debug!(id = %m.id, name = %m.name, "skipping a message whose task is not registered here");
                    None
                }
                Err(error) => {
                    tracing::warn!(error = %crate::error_chain(&error), "skipping a message that does not decode");
                    None
                }
            })
            .collect())
    }
}
