//! Task locks: at most one holder at a time.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;

use super::{lock_key, release_dropped};
use crate::error::{HueyError, TaskLocked};
use crate::storage::Storage;

/// A named lock in the storage: at most one holder at a time, across every consumer that
/// shares the storage (Huey's `TaskLock`). Build one with [`Huey::lock_task`](crate::Huey::lock_task).
///
/// Three ways to hold it:
/// - [`run`](Self::run) holds it while a future runs and always releases it, also when the
///   future fails or panics (Python's `with huey.lock_task(...)`);
/// - [`acquire`](Self::acquire) returns a [`TaskLockGuard`]; release it with
///   [`TaskLockGuard::release`];
/// - `#[task(lock = "name")]` runs a task's body only while holding the lock.
///
/// A lock that cannot be taken is reported as [`HueyError::Locked`]; returned from a task body
/// (`?` works), it fires [`Signal::Locked`](crate::Signal::Locked) and the task's retries apply.
///
/// ```
/// use huey_core::{Huey, HueyError};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), HueyError> {
/// let huey = Huey::memory("docs");
/// let lock = huey.lock_task("reports").ttl(Duration::from_secs(60));
///
/// let total = lock.run(async { 40 + 2 }).await?;
/// assert_eq!(total, 42);
///
/// let guard = lock.acquire().await?;
/// assert!(huey.is_locked("reports").await?);
/// assert!(matches!(lock.acquire().await, Err(HueyError::Locked(_))));
/// guard.release().await?;
/// assert!(!lock.is_locked().await?);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TaskLock {
    storage: Arc<dyn Storage>,
    name: String,
    key: String,
    ttl: Option<Duration>,
}

impl TaskLock {
    /// Lock `name` of the queue named `huey_name` on `storage`.
    pub(crate) fn new(storage: Arc<dyn Storage>, huey_name: &str, name: String) -> TaskLock {
        TaskLock {
            key: lock_key(huey_name, &name),
            storage,
            name,
            ttl: None,
        }
    }

    /// Lets the lock expire `ttl` after it is taken, so a holder that dies cannot keep it
    /// forever. Choose it longer than the work it guards: once it expires, someone else can
    /// take the lock while the first holder still runs.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let huey = huey_core::Huey::memory("docs");
    /// let guard = huey.lock_task("sync").ttl(std::time::Duration::from_millis(1)).acquire().await?;
    /// tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    /// assert!(!huey.is_locked("sync").await?);
    /// assert!(!guard.release().await?, "it expired: nothing left to release");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// The lock's name.
    ///
    /// ```
    /// let lock = huey_core::Huey::memory("app").lock_task("reports");
    /// assert_eq!(lock.name(), "reports");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The storage key: `<huey name>.lock.<name>`.
    ///
    /// ```
    /// let lock = huey_core::Huey::memory("app").lock_task("reports");
    /// assert_eq!(lock.key(), "app.lock.reports");
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Takes the lock, or fails at once with [`HueyError::Locked`] when someone holds it (it
    /// never waits).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let huey = huey_core::Huey::memory("docs");
    /// let guard = huey.lock_task("nightly").acquire().await?;
    /// let again = huey.lock_task("nightly").acquire().await;
    /// assert_eq!(again.unwrap_err().to_string(), "unable to acquire lock nightly");
    /// guard.release().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn acquire(&self) -> Result<TaskLockGuard, HueyError> {
        let storage = Arc::clone(&self.storage);
        // A token per acquisition: the release deletes the key only if it still holds this
        // token, so it cannot remove a lock that expired and was taken by someone else.
        let token = uuid::Uuid::new_v4().to_string().into_bytes();
        if !storage
            .put_if_empty(&self.key, token.clone(), self.ttl)
            .await?
        {
            return Err(TaskLocked::new(self.name.clone()).into());
        }
        Ok(TaskLockGuard {
            held: Some(Held {
                storage,
                name: self.name.clone(),
                key: self.key.clone(),
                token,
            }),
        })
    }

    /// Whether someone holds the lock now.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let lock = huey_core::Huey::memory("docs").lock_task("x");
    /// assert!(!lock.is_locked().await?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn is_locked(&self) -> Result<bool, HueyError> {
        Ok(self.storage.has_data_for_key(&self.key).await?)
    }

    /// Removes the lock whoever holds it (Huey's `clear()`/`release()` on the lock object);
    /// returns whether it was held. For stale locks: a holder releases through its guard.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let lock = huey_core::Huey::memory("docs").lock_task("x");
    /// let guard = lock.acquire().await?;
    /// assert!(lock.clear().await?);
    /// assert!(!guard.release().await?, "already cleared");
    /// # Ok(())
    /// # }
    /// ```
    #[doc(alias = "release")]
    pub async fn clear(&self) -> Result<bool, HueyError> {
        Ok(self.storage.delete_data(&self.key).await?)
    }

    /// Runs `future` while holding the lock, then releases it, whether the future returned a
    /// value, an error (its output is returned as is) or panicked (the panic continues after
    /// the release). Fails with [`HueyError::Locked`], without running the future, when the
    /// lock is held. A failed release is logged, not returned, so the output is never lost;
    /// the lock then stays until its TTL or [`Huey::flush_locks`](crate::Huey::flush_locks).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let huey = huey_core::Huey::memory("docs");
    /// let lock = huey.lock_task("import");
    /// let failed: Result<(), String> = lock.run(async { Err("bad row".to_string()) }).await?;
    /// assert!(failed.is_err());
    /// assert!(!lock.is_locked().await?, "released after the error");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run<F: Future>(&self, future: F) -> Result<F::Output, HueyError> {
        let guard = self.acquire().await?;
        let outcome = AssertUnwindSafe(future).catch_unwind().await;
        guard.release_logged().await;
        match outcome {
            Ok(output) => Ok(output),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

#[derive(Debug)]
struct Held {
    storage: Arc<dyn Storage>,
    name: String,
    key: String,
    token: Vec<u8>,
}

impl Held {
    async fn release(&self) -> Result<bool, HueyError> {
        Ok(self.storage.delete_data_if(&self.key, &self.token).await?)
    }
}

/// A held [`TaskLock`]. Release it with [`release`](Self::release).
///
/// Releasing needs the storage, which is async, and `Drop` cannot wait. So a guard dropped
/// without `release` (an early return, a panic, a cancelled task) **spawns** the release on the
/// current tokio runtime: the lock is freed soon after, not at once. Outside a runtime it
/// cannot release at all; it logs a warning and the lock stays until its TTL or
/// [`Huey::flush_locks`](crate::Huey::flush_locks). Prefer [`TaskLock::run`], which always releases before it returns.
///
/// A guard only releases its own acquisition: if the lock expired and someone else took it,
/// releasing removes nothing.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), huey_core::HueyError> {
/// let huey = huey_core::Huey::memory("docs");
/// let guard = huey.lock_task("exports").acquire().await?;
/// assert_eq!(guard.name(), "exports");
/// assert!(guard.release().await?);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "the lock is held until the guard is released"]
pub struct TaskLockGuard {
    // `None` once released, so Drop knows there is nothing left to do.
    held: Option<Held>,
}

impl TaskLockGuard {
    /// The lock's name (see the type's example).
    pub fn name(&self) -> &str {
        self.held.as_ref().map_or("", |h| h.name.as_str())
    }

    /// Releases the lock; returns whether this acquisition still held it (false when it
    /// expired or was cleared meanwhile).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let huey = huey_core::Huey::memory("docs");
    /// let guard = huey.lock_task("x").acquire().await?;
    /// assert!(guard.release().await?);
    /// assert!(!huey.is_locked("x").await?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn release(mut self) -> Result<bool, HueyError> {
        match self.held.take() {
            Some(held) => held.release().await,
            None => Ok(false),
        }
    }

    /// Releases, logging a failure instead of returning it: for callers that must return
    /// something else (the body's outcome).
    pub(crate) async fn release_logged(self) {
        let name = self.name().to_owned();
        if let Err(error) = self.release().await {
            tracing::error!(lock = %name, error = %crate::error_chain(&error), "could not release a task lock; it stays until its ttl or flush_locks");
        }
    }
}

impl Drop for TaskLockGuard {
    fn drop(&mut self) {
        if let Some(held) = self.held.take() {
            let name = held.name.clone();
            release_dropped("task lock", name, async move { held.release().await });
        }
    }
}
