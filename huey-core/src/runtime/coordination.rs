//! Coordination as the runtime uses it: the handle's locks, rate limits and semaphores, and a
//! task's admission through those it declares.

use std::sync::Arc;
use std::time::Duration;

use super::huey::Huey;
use super::registry::{Early, Invocation, Outcome, TaskDescriptor};
use crate::error::HueyError;
use crate::limits::{LockSpec, RateLimit, TaskLock, TaskSemaphore, lock_key};
use crate::task::Task;
use crate::task::state::WorkerState;

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
        TaskLock::new(self.storage(), self.name(), name.into())
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
        RateLimit::new(self.storage(), self.name(), name, limit, per)
    }

    /// A counting semaphore named `name` admitting `value` holders at once (Huey's contrib
    /// `RedisSemaphore`, on any storage); see [`TaskSemaphore`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let huey = huey_core::Huey::memory("docs");
    /// let n = huey.semaphore("render", 4).run(async { 1 }).await?;
    /// assert_eq!(n, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn semaphore(&self, name: impl Into<String>, value: u32) -> TaskSemaphore {
        TaskSemaphore::new(self.storage(), self.name(), name.into(), value)
    }
}

/// The lock a task's `lock` option declares.
fn lock_of(huey: &Huey, spec: &LockSpec) -> TaskLock {
    let lock = huey.lock_task(spec.name);
    match spec.ttl {
        Some(ttl) => lock.ttl(ttl),
        None => lock,
    }
}

/// Runs one attempt inside the task's declared rate limit, semaphore and lock: a rejection by
/// any is the attempt's error, and the body runs only while holding the semaphore slot
/// (renewed while it runs) and the lock. The rate limit comes first, so a rejected attempt
/// holds nothing; a lock rejection gives the slot back at once. Both are released before the
/// worker moves on; if this future is dropped mid-body (an immediate shutdown), the guards'
/// drops spawn the releases.
pub(crate) async fn invoke_admitted(
    huey: &Huey,
    descriptor: &'static TaskDescriptor,
    task: Arc<Task>,
    state: &WorkerState,
    early: &Early,
) -> Outcome {
    if let Some(spec) = &descriptor.rate_limit {
        huey.rate_limit(spec.name, spec.limit, spec.per)
            .retry(spec.retry)
            .acquire()
            .await?;
    }
    let slot = match &descriptor.semaphore {
        Some(spec) => Some(
            huey.semaphore(spec.name, spec.value)
                .timeout(spec.timeout)
                .acquire()
                .await?,
        ),
        None => None,
    };
    let guard = match &descriptor.lock {
        Some(spec) => match lock_of(huey, spec).acquire().await {
            Ok(guard) => Some(guard),
            Err(rejected) => {
                if let Some(slot) = slot {
                    slot.release_logged().await;
                }
                return Err(rejected.into());
            }
        },
        None => None,
    };
    let body = (descriptor.invoke)(Invocation { task, state, early });
    let outcome = match &slot {
        Some(slot) => slot.renew_while(body).await,
        None => body.await,
    };
    if let Some(guard) = guard {
        guard.release_logged().await;
    }
    if let Some(slot) = slot {
        slot.release_logged().await;
    }
    outcome
}
