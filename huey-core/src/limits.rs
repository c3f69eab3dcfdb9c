//! Task locks and rate limits (Huey's `lock_task` and `rate_limit`), kept in the storage so they
//! hold across workers, processes and machines.
//!
//! Keys use the `Huey` name as given (Huey's uncleaned name): a lock is the stored value
//! `<huey name>.lock.<name>`, a rate limit is the counter `<huey name>.rl.<name>` plus the
//! stored window number `<huey name>.rl.<name>.w`.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::FutureExt;

use crate::error::{HueyError, RateLimitExceeded, TaskLocked};
use crate::huey::Huey;
use crate::storage::Storage;

/// A named lock in the storage: at most one holder at a time, across every consumer that
/// shares the storage (Huey's `TaskLock`). Build one with [`Huey::lock_task`].
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
    huey: Huey,
    name: String,
    key: String,
    ttl: Option<Duration>,
}

impl TaskLock {
    pub(crate) fn new(huey: &Huey, name: String) -> TaskLock {
        TaskLock {
            key: lock_key(huey.name(), &name),
            huey: huey.clone(),
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
        let storage = self.huey.storage();
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
        Ok(self.huey.storage().has_data_for_key(&self.key).await?)
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
        Ok(self.huey.storage().delete_data(&self.key).await?)
    }

    /// Runs `future` while holding the lock, then releases it, whether the future returned a
    /// value, an error (its output is returned as is) or panicked (the panic continues after
    /// the release). Fails with [`HueyError::Locked`], without running the future, when the
    /// lock is held. A failed release is logged, not returned, so the output is never lost;
    /// the lock then stays until its TTL or [`Huey::flush_locks`].
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

/// The key of lock `name` on the queue named `huey_name`.
pub(crate) fn lock_key(huey_name: &str, name: &str) -> String {
    format!("{huey_name}.lock.{name}")
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
/// [`Huey::flush_locks`]. Prefer [`TaskLock::run`], which always releases before it returns.
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
            tracing::error!(lock = %name, %error, "could not release a task lock; it stays until its ttl or flush_locks");
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

/// Releases what a guard dropped without `release()` held: `Drop` cannot wait for the storage,
/// so the release runs as a task on the current tokio runtime. Outside one it cannot run, and
/// what was held stays until it expires (or, for a lock, until `flush_locks`).
pub(crate) fn release_dropped<F>(what: &'static str, name: String, release: F)
where
    F: Future<Output = Result<bool, HueyError>> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(async move {
                if let Err(error) = release.await {
                    tracing::error!(%name, %error, "could not release a dropped {what}");
                }
            });
        }
        Err(_) => tracing::warn!(
            %name,
            "a {what} guard was dropped outside a tokio runtime: it stays held until it \
             expires or is flushed"
        ),
    }
}

/// A fixed-window rate limit in the storage, shared by everyone on the queue (Huey's
/// `RateLimit`): at most `limit` acquisitions per window of `per`. Build one with
/// [`Huey::rate_limit`].
///
/// Windows are aligned to the Unix epoch: the window number is `unix time / per`. A new window
/// resets the count. An acquisition over the limit fails with [`HueyError::RateLimited`] and
/// still counts, as in Huey. The window check and the count are separate storage calls, so two
/// processes crossing a window boundary at the same instant may each reset the count: the
/// limit is a close bound, not an exact one.
///
/// ```
/// use huey_core::{Huey, HueyError};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), HueyError> {
/// let huey = Huey::memory("docs");
/// let api = huey.rate_limit("api", 2, Duration::from_secs(3600));
/// api.acquire().await?;
/// api.run(async { /* call the API */ }).await?;
/// match api.acquire().await {
///     Err(HueyError::RateLimited(e)) => assert!(e.delay <= Duration::from_secs(3600)),
///     other => panic!("expected a rejection, got {other:?}"),
/// }
/// assert_eq!(api.current_usage().await?, 3);
/// api.reset().await?;
/// assert_eq!(api.current_usage().await?, 0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RateLimit {
    huey: Huey,
    limit: u32,
    per: Duration,
    retry: bool,
    key: String,
    window_key: String,
}

impl RateLimit {
    pub(crate) fn new(huey: &Huey, name: &str, limit: u32, per: Duration) -> RateLimit {
        let key = format!("{}.rl.{name}", huey.name());
        RateLimit {
            huey: huey.clone(),
            limit,
            per,
            retry: true,
            window_key: format!("{key}.w"),
            key,
        }
    }

    /// Whether a task rejected by this limit is retried when the window ends (default true).
    /// With `false`, a task without retries of its own fails for good.
    ///
    /// ```
    /// let limit = huey_core::Huey::memory("docs")
    ///     .rate_limit("mail", 10, std::time::Duration::from_secs(1))
    ///     .retry(false);
    /// assert_eq!(limit.key(), "docs.rl.mail");
    /// ```
    #[must_use]
    pub fn retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }

    /// The counter key, `<huey name>.rl.<name>`; the window number is stored under this key
    /// plus `.w`.
    ///
    /// ```
    /// let limit = huey_core::Huey::memory("app").rate_limit("api", 10, std::time::Duration::from_secs(1));
    /// assert_eq!(limit.key(), "app.rl.api");
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Counts one use; fails with [`HueyError::RateLimited`] when the window's count goes over
    /// the limit (the rejected use counts too). A limit of 0 or a window shorter than 1 ms is
    /// a [`HueyError::Configuration`] error.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let limit = huey_core::Huey::memory("docs").rate_limit("once", 1, std::time::Duration::from_secs(60));
    /// limit.acquire().await?;
    /// assert!(limit.acquire().await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn acquire(&self) -> Result<(), HueyError> {
        let (window, delay) = self.window()?;
        let storage = self.huey.storage();
        let stored: Option<u64> = self.huey.get(&self.window_key, true).await?;
        if stored != Some(window) {
            // A new window: forget the old count.
            storage.delete_counter(&self.key).await?;
            self.huey.put(&self.window_key, &window).await?;
        }
        let count = storage.incr(&self.key, 1).await?;
        if count > i64::from(self.limit) {
            return Err(RateLimitExceeded {
                key: self.key.clone(),
                delay,
                retry: self.retry,
            }
            .into());
        }
        Ok(())
    }

    /// Uses counted in the current window, rejected ones included (0 in a new window).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let limit = huey_core::Huey::memory("docs").rate_limit("x", 5, std::time::Duration::from_secs(60));
    /// limit.acquire().await?;
    /// assert_eq!(limit.current_usage().await?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn current_usage(&self) -> Result<u64, HueyError> {
        let (window, _) = self.window()?;
        let stored: Option<u64> = self.huey.get(&self.window_key, true).await?;
        if stored != Some(window) {
            return Ok(0);
        }
        // Adding 0 reads the counter: the storage contract has no separate read.
        let count = self.huey.storage().incr(&self.key, 0).await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Forgets the current window and its count.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let limit = huey_core::Huey::memory("docs").rate_limit("x", 1, std::time::Duration::from_secs(60));
    /// limit.acquire().await?;
    /// limit.reset().await?;
    /// limit.acquire().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn reset(&self) -> Result<(), HueyError> {
        let storage = self.huey.storage();
        storage.delete_counter(&self.key).await?;
        storage.delete_data(&self.window_key).await?;
        Ok(())
    }

    /// Counts one use, then runs `future`; fails with [`HueyError::RateLimited`], without
    /// running it, when over the limit.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let limit = huey_core::Huey::memory("docs").rate_limit("x", 1, std::time::Duration::from_secs(60));
    /// assert_eq!(limit.run(async { 7 }).await?, 7);
    /// assert!(limit.run(async { 8 }).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run<F: Future>(&self, future: F) -> Result<F::Output, HueyError> {
        self.acquire().await?;
        Ok(future.await)
    }

    /// The current window number and the time until it ends.
    fn window(&self) -> Result<(u64, Duration), HueyError> {
        if self.limit == 0 {
            return Err(HueyError::Configuration(format!(
                "rate limit {} has a limit of 0: nothing could ever run",
                self.key
            )));
        }
        // Milliseconds, so a window may be shorter than a second; for whole seconds this is
        // Huey's `int(time.time()) // per`.
        let per_ms = u64::try_from(self.per.as_millis()).unwrap_or(u64::MAX);
        if per_ms == 0 {
            return Err(HueyError::Configuration(format!(
                "rate limit {} needs a window of at least 1ms, got {:?}",
                self.key, self.per
            )));
        }
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let window = now_ms / per_ms;
        let ends_ms = (window + 1).saturating_mul(per_ms);
        Ok((window, Duration::from_millis(ends_ms - now_ms)))
    }
}

/// A task's `lock` option, as `#[task(lock = ...)]` declares it.
///
/// ```
/// use huey_core::prelude::*;
/// use huey_core::{LockSpec, Registry};
///
/// #[task(lock(name = "reports", ttl = "30s"))]
/// fn report() {}
///
/// let descriptor = Registry::global().unwrap().get(report::NAME).unwrap();
/// let ttl = Some(std::time::Duration::from_secs(30));
/// assert_eq!(descriptor.lock, Some(LockSpec { name: "reports", ttl }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockSpec {
    /// The lock's name.
    pub name: &'static str,
    /// Its time to live, if any.
    pub ttl: Option<Duration>,
}

impl LockSpec {
    /// The lock on `huey`.
    pub(crate) fn lock(&self, huey: &Huey) -> TaskLock {
        let lock = huey.lock_task(self.name);
        match self.ttl {
            Some(ttl) => lock.ttl(ttl),
            None => lock,
        }
    }
}

/// A task's `rate_limit` option, as `#[task(rate_limit(...))]` declares it.
///
/// ```
/// use huey_core::prelude::*;
/// use huey_core::Registry;
///
/// #[task(rate_limit(limit = 10, per = "1s", retry = false))]
/// fn ping() {}
///
/// let spec = Registry::global().unwrap().get(ping::NAME).unwrap().rate_limit.unwrap();
/// assert_eq!((spec.name, spec.limit, spec.retry), (ping::NAME, 10, false));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSpec {
    /// The rate limit's name (the task's name unless given).
    pub name: &'static str,
    /// Uses per window.
    pub limit: u32,
    /// The window.
    pub per: Duration,
    /// Whether a rejected task is retried when the window ends.
    pub retry: bool,
}

impl RateLimitSpec {
    /// The rate limit on `huey`.
    pub(crate) fn rate_limit(&self, huey: &Huey) -> RateLimit {
        huey.rate_limit(self.name, self.limit, self.per)
            .retry(self.retry)
    }
}

impl Huey {
    /// A lock named `name` on this queue (Huey's `lock_task`); see [`TaskLock`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let huey = huey_core::Huey::memory("docs");
    /// let n = huey.lock_task("billing").run(async { 1 }).await?;
    /// assert_eq!(n, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn lock_task(&self, name: impl Into<String>) -> TaskLock {
        TaskLock::new(self, name.into())
    }

    /// Whether lock `name` is held now.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let huey = huey_core::Huey::memory("docs");
    /// assert!(!huey.is_locked("billing").await?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn is_locked(&self, name: &str) -> Result<bool, HueyError> {
        Ok(self
            .storage()
            .has_data_for_key(&lock_key(self.name(), name))
            .await?)
    }

    /// A rate limit named `name`: at most `limit` uses per window of `per` (Huey's
    /// `rate_limit`); see [`RateLimit`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let huey = huey_core::Huey::memory("docs");
    /// let limit = huey.rate_limit("sms", 100, std::time::Duration::from_secs(60));
    /// limit.acquire().await?;
    /// assert_eq!(limit.current_usage().await?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn rate_limit(&self, name: &str, limit: u32, per: Duration) -> RateLimit {
        RateLimit::new(self, name, limit, per)
    }
}
