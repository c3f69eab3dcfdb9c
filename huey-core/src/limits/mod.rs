//! Coordination: task locks, rate limits and counting semaphores (Huey's `lock_task`,
//! `rate_limit` and contrib `RedisSemaphore`), kept in the storage so they hold across workers,
//! processes and machines. Built on the storage alone; the queue's handle makes them
//! ([`Huey::lock_task`](crate::Huey::lock_task), [`Huey::rate_limit`](crate::Huey::rate_limit),
//! [`Huey::semaphore`](crate::Huey::semaphore)) and the executor takes those a task declares.
//!
//! Keys use the `Huey` name as given (Huey's uncleaned name): a lock is the stored value
//! `<huey name>.lock.<name>`, a rate limit is the counter `<huey name>.rl.<name>` plus the
//! stored window number `<huey name>.rl.<name>.w`, a semaphore is `<huey name>.lock.<name>` in
//! the storage's semaphore namespace.

mod lock;
mod rate_limit;
mod semaphore;

use std::future::Future;
use std::time::Duration;

pub use lock::{TaskLock, TaskLockGuard};
pub use rate_limit::RateLimit;
pub use semaphore::{SemaphoreGuard, SemaphoreSpec, TaskSemaphore};

use crate::error::HueyError;

/// The key of lock `name` on the queue named `huey_name`.
pub(crate) fn lock_key(huey_name: &str, name: &str) -> String {
    format!("{huey_name}.lock.{name}")
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
                    tracing::error!(%name, error = %crate::error_chain(&error), "could not release a dropped {what}");
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
