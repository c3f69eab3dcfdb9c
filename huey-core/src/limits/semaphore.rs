//! Counting semaphores (Huey's contrib `RedisSemaphore` and `lock_task_semaphore`), kept in the
//! storage so the limit holds across workers, processes and machines.
//!
//! A semaphore named `name` on the queue named `<huey>` has the key `<huey>.lock.<name>`,
//! Huey's, in the storage's semaphore namespace: it never meets the task lock of the same
//! name (see the Redis key table in `huey-redis`).
//!
//! A full semaphore is reported as a lock that cannot be taken ([`TaskLocked`]), as Huey's
//! `lock_task_semaphore` does: in the executor it fires
//! [`Signal::Locked`](crate::Signal::Locked), the task's retries apply, and nothing is stored
//! while a retry is pending. A kind of its own would need a signal Huey does not have, and a
//! `locked` handler already means "not admitted now, try later", which is exactly this.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;

use super::{lock_key, release_dropped};
use crate::error::{HueyError, TaskLocked};
use crate::storage::Storage;

/// A counting semaphore in the storage: at most `value` holders at a time across every
/// consumer that shares the storage, each holder's slot expiring `timeout` after it was taken
/// or last renewed, so a holder that dies frees its slot (Huey's contrib `RedisSemaphore`;
/// here on every storage, not only Redis). Build one with [`Huey::semaphore`](crate::Huey::semaphore).
///
/// Ways to hold a slot:
/// - [`run`](Self::run) holds one while a future runs, renewing it every third of the timeout
///   so long work keeps it, and always gives it back, also when the future fails or panics;
/// - [`acquire`](Self::acquire) returns a [`SemaphoreGuard`] (renew it, or run work under
///   [`SemaphoreGuard::renew_while`]); [`acquire_as`](Self::acquire_as) names the holder;
/// - `#[task(semaphore(name = "uploads", value = 5))]` runs a task's body only while holding
///   a slot, renewed while the body runs.
///
/// A full semaphore is [`HueyError::Locked`]: returned from a task body (`?` works), it fires
/// [`Signal::Locked`](crate::Signal::Locked) and the task's retries apply.
///
/// ```
/// use huey_core::{Huey, HueyError};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), HueyError> {
/// let huey = Huey::memory("docs");
/// let uploads = huey.semaphore("uploads", 2).timeout(Duration::from_secs(60));
///
/// assert_eq!(uploads.run(async { 40 + 2 }).await?, 42);
///
/// let first = uploads.acquire().await?;
/// let second = uploads.acquire().await?;
/// assert_eq!(uploads.count().await?, 2);
/// assert!(matches!(uploads.acquire().await, Err(HueyError::Locked(_))));
/// assert!(first.release().await?);
/// assert!(second.release().await?);
/// assert_eq!(uploads.count().await?, 0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TaskSemaphore {
    storage: Arc<dyn Storage>,
    name: String,
    key: String,
    value: u32,
    timeout: Duration,
}

impl TaskSemaphore {
    /// How long a slot lives without renewal unless [`timeout`](Self::timeout) says otherwise:
    /// 300 s, as Huey.
    ///
    /// ```
    /// let uploads = huey_core::Huey::memory("docs").semaphore("uploads", 3);
    /// assert_eq!(uploads.timeout_duration(), huey_core::TaskSemaphore::DEFAULT_TIMEOUT);
    /// ```
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

    /// Semaphore `name` of the queue named `huey_name` on `storage`.
    pub(crate) fn new(
        storage: Arc<dyn Storage>,
        huey_name: &str,
        name: String,
        value: u32,
    ) -> TaskSemaphore {
        TaskSemaphore {
            key: lock_key(huey_name, &name),
            storage,
            name,
            value,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// How long a slot lives unless renewed (default [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT)).
    /// A holder that dies keeps its slot this long; [`run`](Self::run) and the task attribute
    /// renew every third of it, so it may be short. Less than 1 ms is a
    /// [`HueyError::Configuration`] error when acquiring.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let huey = huey_core::Huey::memory("docs");
    /// let sem = huey.semaphore("sync", 1).timeout(std::time::Duration::from_millis(1));
    /// let guard = sem.acquire().await?;
    /// tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    /// assert_eq!(sem.count().await?, 0, "expired");
    /// assert!(!guard.release().await?, "nothing left to release");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The slot timeout in force (see [`timeout`](Self::timeout)).
    ///
    /// ```
    /// let sem = huey_core::Huey::memory("docs").semaphore("x", 1).timeout(std::time::Duration::from_secs(9));
    /// assert_eq!(sem.timeout_duration(), std::time::Duration::from_secs(9));
    /// ```
    pub fn timeout_duration(&self) -> Duration {
        self.timeout
    }

    /// The semaphore's name.
    ///
    /// ```
    /// let sem = huey_core::Huey::memory("app").semaphore("uploads", 5);
    /// assert_eq!((sem.name(), sem.value()), ("uploads", 5));
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many holders it admits at once.
    ///
    /// ```
    /// assert_eq!(huey_core::Huey::memory("app").semaphore("uploads", 5).value(), 5);
    /// ```
    pub fn value(&self) -> u32 {
        self.value
    }

    /// The storage key: `<huey name>.lock.<name>`, Huey's, in the storage's semaphore
    /// namespace (so it never meets the task lock of the same name).
    ///
    /// ```
    /// let sem = huey_core::Huey::memory("app").semaphore("uploads", 5);
    /// assert_eq!(sem.key(), "app.lock.uploads");
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Takes a slot under a fresh holder id, or fails at once with [`HueyError::Locked`] when
    /// all `value` slots are held (it never waits).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let huey = huey_core::Huey::memory("docs");
    /// let sem = huey.semaphore("nightly", 1);
    /// let guard = sem.acquire().await?;
    /// let again = sem.acquire().await;
    /// assert_eq!(again.unwrap_err().to_string(), "unable to acquire lock nightly");
    /// guard.release().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn acquire(&self) -> Result<SemaphoreGuard, HueyError> {
        self.acquire_as(uuid::Uuid::new_v4().to_string()).await
    }

    /// Takes a slot for `holder` (Huey's `acquire(name)`). Idempotent: a holder that already
    /// has a slot keeps that one slot (its expiry is refreshed), so any of its guards releases
    /// it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let sem = huey_core::Huey::memory("docs").semaphore("imports", 2);
    /// let first = sem.acquire_as("worker-1").await?;
    /// let again = sem.acquire_as("worker-1").await?;
    /// assert_eq!(sem.holders().await?, ["worker-1"]);
    /// assert!(first.release().await?);
    /// assert!(!again.release().await?, "one slot, already given back");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn acquire_as(&self, holder: impl Into<String>) -> Result<SemaphoreGuard, HueyError> {
        self.check()?;
        let holder = holder.into();
        let storage = Arc::clone(&self.storage);
        if !storage
            .semaphore_acquire(&self.key, &holder, self.value, self.timeout)
            .await?
        {
            return Err(TaskLocked::new(self.name.clone()).into());
        }
        Ok(SemaphoreGuard {
            held: Some(Slot {
                storage,
                name: self.name.clone(),
                key: self.key.clone(),
                holder,
                timeout: self.timeout,
            }),
        })
    }

    /// Gives `holder`'s slot back whoever holds the guard (Huey's `release(name)`); returns
    /// whether it held a live one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let sem = huey_core::Huey::memory("docs").semaphore("x", 1);
    /// let guard = sem.acquire_as("a").await?;
    /// assert!(sem.release("a").await?);
    /// assert!(!sem.release("a").await?);
    /// assert!(!guard.release().await?, "already released");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn release(&self, holder: &str) -> Result<bool, HueyError> {
        Ok(self.storage.semaphore_release(&self.key, holder).await?)
    }

    /// The holders of live slots, soonest to expire first.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let sem = huey_core::Huey::memory("docs").semaphore("x", 3);
    /// let _a = sem.acquire_as("a").await?;
    /// assert_eq!(sem.holders().await?, ["a"]);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn holders(&self) -> Result<Vec<String>, HueyError> {
        Ok(self.storage.semaphore_holders(&self.key).await?)
    }

    /// How many slots are held now.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let sem = huey_core::Huey::memory("docs").semaphore("x", 3);
    /// assert_eq!(sem.count().await?, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn count(&self) -> Result<usize, HueyError> {
        Ok(self.holders().await?.len())
    }

    /// Runs `future` while holding a slot, renewing it every third of the timeout, then gives
    /// it back, whether the future returned a value, an error (its output is returned as is)
    /// or panicked (the panic continues after the release). Fails with [`HueyError::Locked`],
    /// without running the future, when the semaphore is full. A failed release is logged,
    /// not returned, so the output is never lost; the slot then expires after the timeout.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let sem = huey_core::Huey::memory("docs").semaphore("import", 2);
    /// let failed: Result<(), String> = sem.run(async { Err("bad row".to_string()) }).await?;
    /// assert!(failed.is_err());
    /// assert_eq!(sem.count().await?, 0, "given back after the error");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run<F: Future>(&self, future: F) -> Result<F::Output, HueyError> {
        let guard = self.acquire().await?;
        let outcome = guard
            .renew_while(AssertUnwindSafe(future).catch_unwind())
            .await;
        guard.release_logged().await;
        match outcome {
            Ok(output) => Ok(output),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    fn check(&self) -> Result<(), HueyError> {
        if self.value == 0 {
            return Err(HueyError::Configuration(format!(
                "semaphore {} has a value of 0: nothing could ever hold it",
                self.name
            )));
        }
        if self.timeout < Duration::from_millis(1) {
            return Err(HueyError::Configuration(format!(
                "semaphore {} needs a timeout of at least 1ms, got {:?}",
                self.name, self.timeout
            )));
        }
        Ok(())
    }
}

#[derive(Debug)]
struct Slot {
    storage: Arc<dyn Storage>,
    name: String,
    key: String,
    holder: String,
    timeout: Duration,
}

impl Slot {
    async fn release(&self) -> Result<bool, HueyError> {
        Ok(self
            .storage
            .semaphore_release(&self.key, &self.holder)
            .await?)
    }
}

/// A held slot of a [`TaskSemaphore`]. Give it back with [`release`](Self::release); keep it
/// past the timeout with [`renew`](Self::renew) or [`renew_while`](Self::renew_while).
///
/// Releasing needs the storage, which is async, and `Drop` cannot wait. So a guard dropped
/// without `release` (an early return, a panic, a cancelled task) **spawns** the release on the
/// current tokio runtime: the slot is freed soon after, not at once. Outside a runtime it
/// cannot release at all; it logs a warning and the slot stays until it expires. Prefer
/// [`TaskSemaphore::run`], which always releases before it returns.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), huey_core::HueyError> {
/// let huey = huey_core::Huey::memory("docs");
/// let guard = huey.semaphore("exports", 4).acquire_as("exporter-7").await?;
/// assert_eq!((guard.name(), guard.holder()), ("exports", "exporter-7"));
/// assert!(guard.release().await?);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "the slot is held until the guard is released"]
pub struct SemaphoreGuard {
    // `None` once released, so Drop knows there is nothing left to do.
    held: Option<Slot>,
}

impl SemaphoreGuard {
    /// The semaphore's name (see the type's example).
    pub fn name(&self) -> &str {
        self.held.as_ref().map_or("", |s| s.name.as_str())
    }

    /// The holder id this slot is held under (see the type's example).
    pub fn holder(&self) -> &str {
        self.held.as_ref().map_or("", |s| s.holder.as_str())
    }

    /// Pushes the slot's expiry a full timeout from now; returns false when the slot is no
    /// longer held (it expired or was released), in which case nothing is taken back.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let sem = huey_core::Huey::memory("docs").semaphore("x", 1);
    /// let guard = sem.acquire().await?;
    /// assert!(guard.renew().await?);
    /// sem.release(guard.holder()).await?;
    /// assert!(!guard.renew().await?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn renew(&self) -> Result<bool, HueyError> {
        match &self.held {
            Some(slot) => Ok(slot
                .storage
                .semaphore_renew(&slot.key, &slot.holder, slot.timeout)
                .await?),
            None => Ok(false),
        }
    }

    /// Runs `future`, renewing the slot every third of the timeout until it ends, so work
    /// longer than the timeout keeps its slot. A failed renewal is logged and tried again at the
    /// next tick (the slot may well still be live); a slot found lost (it expired, say after the
    /// process stalled, or was released) is logged and no longer renewed: someone else may
    /// hold it now. The future runs to its end either way.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let sem = huey_core::Huey::memory("docs").semaphore("x", 1);
    /// let guard = sem.acquire().await?;
    /// let rows = guard.renew_while(async { /* a long import */ 1_000 }).await;
    /// assert_eq!(rows, 1_000);
    /// guard.release().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn renew_while<F: Future>(&self, future: F) -> F::Output {
        let Some(slot) = &self.held else {
            return future.await;
        };
        let every = (slot.timeout / 3).max(Duration::from_millis(1));
        let renewing = async {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            // After a stall, renew once rather than in a burst.
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match self.renew().await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(
                            semaphore = %slot.name,
                            holder = %slot.holder,
                            "a semaphore slot expired while its work ran; it is no longer held"
                        );
                        return std::future::pending::<Infallible>().await;
                    }
                    Err(error) => tracing::warn!(
                        semaphore = %slot.name,
                        error = %crate::error_chain(&error),
                        "could not renew a semaphore slot; trying again"
                    ),
                }
            }
        };
        tokio::pin!(future);
        tokio::pin!(renewing);
        tokio::select! {
            // The work's end wins a tie: no renewal after it has finished.
            biased;
            output = &mut future => output,
            never = &mut renewing => match never {},
        }
    }

    /// Gives the slot back; returns whether it was still held (false when it expired or was
    /// released meanwhile).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let sem = huey_core::Huey::memory("docs").semaphore("x", 1);
    /// let guard = sem.acquire().await?;
    /// assert!(guard.release().await?);
    /// assert_eq!(sem.count().await?, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn release(mut self) -> Result<bool, HueyError> {
        match self.held.take() {
            Some(slot) => slot.release().await,
            None => Ok(false),
        }
    }

    /// Releases, logging a failure instead of returning it: for callers that must return
    /// something else (the body's outcome).
    pub(crate) async fn release_logged(self) {
        let name = self.name().to_owned();
        if let Err(error) = self.release().await {
            tracing::error!(semaphore = %name, error = %crate::error_chain(&error), "could not release a semaphore slot; it stays until it expires");
        }
    }
}

impl Drop for SemaphoreGuard {
    fn drop(&mut self) {
        if let Some(slot) = self.held.take() {
            let name = slot.name.clone();
            release_dropped("semaphore slot", name, async move { slot.release().await });
        }
    }
}

/// A task's `semaphore` option, as `#[task(semaphore(...))]` declares it.
///
/// ```
/// use huey_core::prelude::*;
/// use huey_core::{Registry, SemaphoreSpec, TaskSemaphore};
///
/// #[task(semaphore(name = "uploads", value = 3))]
/// fn upload() {}
///
/// let descriptor = Registry::global().unwrap().get(upload::NAME).unwrap();
/// let timeout = TaskSemaphore::DEFAULT_TIMEOUT;
/// assert_eq!(descriptor.semaphore, Some(SemaphoreSpec { name: "uploads", value: 3, timeout }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SemaphoreSpec {
    /// The semaphore's name.
    pub name: &'static str,
    /// How many holders it admits at once.
    pub value: u32,
    /// How long a slot lives unless renewed.
    pub timeout: Duration,
}
