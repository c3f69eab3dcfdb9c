//! Typed result handles.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::error::{HueyError, ResultError, TaskFailure};
use crate::runtime::Huey;
use crate::task::StoredResult;
use crate::task::message::Message;
use crate::task::{Revoke, chrono_duration, new_task_id};

/// A handle on the result of one enqueued task, typed by what the task returns.
///
/// Reads follow Huey: the first read that finds the value removes it from the store and keeps
/// it in the handle, so later reads on the same handle return it again; call
/// [`preserve`](Self::preserve) to read without removing. A failed task's result is a
/// [`ResultError::Failed`] carrying the stored [`TaskFailure`].
///
/// Reads report the task's **final** outcome: its value, or the failure that left no retries
/// ([`TaskFailure::retries`] is 0). The errors of attempts that will be retried (stored with
/// `store_intermediate_errors`, the default, and a `retries` above 0) are passed over, and
/// consumed like any read: [`get`](Self::get) answers `None` and [`wait`](Self::wait) keeps
/// waiting for the next attempt. [`wait_attempt`](Self::wait_attempt) returns them instead,
/// and [`last_attempt`](Self::last_attempt) shows the latest one read. (Python Huey's `get`
/// returns the first stored error.)
///
/// A task that returns `()` stores nothing (Huey's `store_none=False`), yet a wait for it
/// ends with `Ok(())` when the task completes: a settlement writes a short-lived `()` result
/// for a registered wait only. A task that completed before any wait on it began cannot be
/// told from one still queued, so such a wait times out; build the queue with
/// [`store_none`](crate::HueyBuilder::store_none) when results are read long after the
/// fact.
///
/// ```
/// use huey_core::prelude::*;
/// use std::time::Duration;
///
/// #[task]
/// async fn double(n: u32) -> u32 {
///     n * 2
/// }
///
/// #[task]
/// async fn log(line: String) {
///     let _ = line;
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let huey = Huey::memory("docs");
/// let consumer = Consumer::builder(&huey).workers(1).start()?;
/// let mut four = double::enqueue(&huey, 2).await?;
/// assert_eq!(four.wait(Duration::from_secs(5)).await?, 4);
/// // `()`: Ok once it has run. Wait right away: a wait that begins after a unit task
/// // finished cannot tell it from one still queued, and times out.
/// let mut logged = log::enqueue(&huey, "hello".into()).await?;
/// logged.wait(Duration::from_secs(5)).await?;
/// consumer.shutdown().await?;
/// # Ok(())
/// # }
/// ```
pub struct TaskResult<O> {
    huey: Huey,
    id: String,
    message: Option<Arc<Message>>,
    /// The final outcome, once read.
    cached: Option<Read>,
    /// The latest failure of an attempt that will be retried, once read.
    attempt: Option<TaskFailure>,
    preserve: bool,
    _output: PhantomData<fn() -> O>,
}

enum Read {
    Value(Box<RawValue>),
    Failed(TaskFailure),
}

/// What one read of the store found.
enum Found {
    /// The final outcome, now cached.
    Final,
    /// The failure of an attempt that will be retried, not read before.
    Attempt(TaskFailure),
    /// The failure of an attempt that this handle read before, still stored (the handle
    /// preserves what it reads): nothing new until a later attempt replaces it.
    Seen,
    /// Nothing stored.
    Nothing,
}

impl<O> std::fmt::Debug for TaskResult<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskResult")
            .field("id", &self.id)
            .field("ready", &self.cached.is_some())
            .finish_non_exhaustive()
    }
}

/// How [`TaskResult::reschedule`] changes the copy it enqueues.
#[derive(Debug, Clone, Default)]
pub struct Reschedule {
    eta: Option<DateTime<Utc>>,
    delay: Option<Duration>,
    expires: Option<DateTime<Utc>>,
    priority: Option<i32>,
}

impl Reschedule {
    /// Run as soon as possible.
    pub fn now() -> Self {
        Reschedule::default()
    }

    /// Run after `delay`.
    pub fn after(delay: Duration) -> Self {
        Reschedule {
            delay: Some(delay),
            ..Reschedule::default()
        }
    }

    /// Run at `eta`.
    pub fn at(eta: DateTime<Utc>) -> Self {
        Reschedule {
            eta: Some(eta),
            ..Reschedule::default()
        }
    }

    /// Expire the copy at `at`.
    #[must_use]
    pub fn expires_at(mut self, at: DateTime<Utc>) -> Self {
        self.expires = Some(at);
        self
    }

    /// Give the copy this priority.
    #[must_use]
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = Some(priority);
        self
    }
}

impl<O> TaskResult<O> {
    pub(crate) fn new(huey: Huey, message: Arc<Message>) -> Self {
        TaskResult {
            huey,
            id: message.id.clone(),
            message: Some(message),
            cached: None,
            attempt: None,
            preserve: false,
            _output: PhantomData,
        }
    }

    pub(crate) fn for_id(huey: Huey, id: String) -> Self {
        TaskResult {
            huey,
            id,
            message: None,
            cached: None,
            attempt: None,
            preserve: false,
            _output: PhantomData,
        }
    }

    /// The task id.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn huey(&self) -> &Huey {
        &self.huey
    }

    /// Whether the final outcome has been read into the handle.
    pub(crate) fn has_outcome(&self) -> bool {
        self.cached.is_some()
    }

    /// Reads without removing the value from the store (Huey's `preserve=True`).
    #[must_use]
    pub fn preserve(mut self) -> Self {
        self.preserve = true;
        self
    }

    /// Forgets the outcome read so far, so the next read goes to the store again. (Not needed
    /// to see past a retried attempt's error: reads pass over those.)
    pub fn reset(&mut self) {
        self.cached = None;
        self.attempt = None;
    }

    /// The failure of the latest attempt that will be retried that this handle has read (by
    /// [`get`](Self::get), [`wait`](Self::wait), [`wait_attempt`](Self::wait_attempt) or
    /// [`is_ready`](Self::is_ready)): how the task is doing while its retries go on.
    pub fn last_attempt(&self) -> Option<&TaskFailure> {
        self.attempt.as_ref()
    }

    async fn read(&mut self) -> Result<Found, ResultError> {
        if self.cached.is_some() {
            return Ok(Found::Final);
        }
        if !self.huey.results_enabled() {
            return Err(ResultError::Disabled);
        }
        let storage = self.huey.storage();
        let bytes = if self.preserve {
            storage.peek_data(&self.id).await?
        } else {
            storage.pop_data(&self.id).await?
        };
        let Some(bytes) = bytes else {
            return Ok(Found::Nothing);
        };
        let json = self.huey.decode_value(&bytes)?;
        let read = match serde_json::from_slice::<StoredResult>(&json)? {
            StoredResult::Ok(v) => Read::Value(v),
            StoredResult::Err(f) if f.retries == 0 => Read::Failed(f),
            StoredResult::Err(f) => {
                if self.preserve && self.attempt.as_ref() == Some(&f) {
                    return Ok(Found::Seen);
                }
                self.attempt = Some(f.clone());
                return Ok(Found::Attempt(f));
            }
        };
        self.cached = Some(read);
        Ok(Found::Final)
    }

    /// Whether the final outcome is ready. This reads it into the handle (removing it from
    /// the store unless preserved), as Huey 3.5 does; a retried attempt's error is read too,
    /// and is not ready.
    pub async fn is_ready(&mut self) -> Result<bool, ResultError> {
        Ok(matches!(self.read().await?, Found::Final))
    }

    /// Revokes this task instance for its next execution (Huey's default `revoke_once`).
    pub async fn revoke(&self) -> Result<(), HueyError> {
        self.huey.revoke_by_id(&self.id, Revoke::Once).await
    }

    /// Revokes this task instance as `how` says.
    pub async fn revoke_with(&self, how: Revoke) -> Result<(), HueyError> {
        self.huey.revoke_by_id(&self.id, how).await
    }

    /// Restores this instance; returns whether it was revoked.
    pub async fn restore(&self) -> Result<bool, HueyError> {
        self.huey.restore_by_id(&self.id).await
    }

    /// Whether this instance is revoked.
    pub async fn is_revoked(&self) -> Result<bool, HueyError> {
        self.huey.is_revoked_by_id(&self.id).await
    }

    /// Revokes this instance and enqueues a copy with a new id, per `how` (Huey's
    /// `reschedule`). Retries, retry delay, backoff and timeout carry over.
    pub async fn reschedule(&self, how: Reschedule) -> Result<TaskResult<O>, HueyError> {
        let Some(original) = &self.message else {
            return Err(HueyError::Configuration(
                "reschedule needs the handle returned by enqueue, not one made from an id".into(),
            ));
        };
        self.huey.supersede(&self.id).await?;
        let mut copy = Message::clone(original);
        copy.id = new_task_id();
        copy.eta = match (how.eta, how.delay) {
            (Some(eta), _) => Some(eta),
            (None, Some(d)) => Some(Utc::now() + chrono_duration(d)),
            (None, None) => None,
        };
        if let Some(expires) = how.expires {
            copy.expires_at = Some(expires);
        }
        if let Some(priority) = how.priority {
            copy.priority = priority;
        }
        self.huey.enqueue_message(copy).await
    }
}

impl<O: DeserializeOwned> TaskResult<O> {
    /// The final outcome if it is ready, without waiting: `Ok(None)` when it is not, which
    /// includes a stored error of an attempt that will be retried (that one is read, so
    /// [`last_attempt`](Self::last_attempt) shows it).
    pub async fn get(&mut self) -> Result<Option<O>, ResultError> {
        match self.read().await? {
            Found::Final => self.decode_cached().map(Some),
            Found::Attempt(_) | Found::Seen | Found::Nothing => Ok(None),
        }
    }

    /// Waits up to `timeout` for the task's final outcome (Huey's `get(blocking=True,
    /// timeout=...)`): its value, or [`ResultError::Failed`] with the failure that left no
    /// retries. The errors of attempts that will be retried are passed over. Ends with
    /// [`ResultError::Timeout`] when no final outcome arrived in time.
    ///
    /// ```
    /// use huey_core::prelude::*;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::time::Duration;
    ///
    /// static CALLS: AtomicU32 = AtomicU32::new(0);
    ///
    /// #[task(retries = 2)]
    /// async fn flaky() -> anyhow::Result<u32> {
    ///     let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    ///     anyhow::ensure!(call == 3, "attempt {call} failed");
    ///     Ok(call)
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("docs");
    /// let consumer = Consumer::builder(&huey).workers(1).start()?;
    /// let mut third = flaky::enqueue(&huey).await?;
    /// assert_eq!(third.wait(Duration::from_secs(5)).await?, 3); // not "attempt 1 failed"
    /// consumer.shutdown().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait(&mut self, timeout: Duration) -> Result<O, ResultError> {
        self.wait_until(timeout, false).await
    }

    /// Waits up to `timeout` for the next outcome this handle has not read yet, whatever the
    /// attempt: the value, the final failure, or the failure of an attempt that will be retried
    /// ([`ResultError::Failed`] whose [`TaskFailure::retries`] is above 0; call again for the
    /// next attempt). Needs `store_intermediate_errors` (the default) to see those. This was
    /// [`wait`](Self::wait)'s behaviour, and Huey's.
    ///
    /// ```
    /// use huey_core::prelude::*;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::time::Duration;
    ///
    /// static CALLS: AtomicU32 = AtomicU32::new(0);
    ///
    /// #[task(retries = 1)]
    /// async fn flaky() -> anyhow::Result<u32> {
    ///     let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    ///     anyhow::ensure!(call == 2, "attempt {call} failed");
    ///     Ok(call)
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("docs");
    /// let mut second = flaky::enqueue(&huey).await?;
    /// huey.run_next(&WorkerState::default()).await?; // the first attempt fails
    /// let wait = Duration::from_secs(5);
    /// match second.wait_attempt(wait).await {
    ///     Err(ResultError::Failed(failure)) => assert_eq!(failure.retries, 1),
    ///     other => panic!("expected the first attempt's error, got {other:?}"),
    /// }
    /// huey.run_next(&WorkerState::default()).await?; // the retry succeeds
    /// assert_eq!(second.wait_attempt(wait).await?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_attempt(&mut self, timeout: Duration) -> Result<O, ResultError> {
        self.wait_until(timeout, true).await
    }

    async fn wait_until(&mut self, timeout: Duration, attempts: bool) -> Result<O, ResultError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut backoff = Duration::from_millis(10);
        // Whether the store holds an attempt's error this handle read before: the storage's
        // wait would return at once, so poll instead.
        let mut seen = false;
        loop {
            match self.wait_step(deadline, attempts, &mut seen).await {
                Ok(Some(ready)) => return ready,
                Ok(None) => {}
                // The storage may come back before the deadline (a server restart, a network
                // blip): retry rather than fail a wait that still has time.
                Err(error) if tokio::time::Instant::now() + backoff < deadline => {
                    tracing::debug!(error = %crate::error_chain(&error), id = %self.id, "result wait interrupted; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
                Err(error) => return Err(error),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ResultError::Timeout {
                    id: self.id.clone(),
                    waited: timeout,
                });
            }
        }
    }

    /// One wait for the value (which looks first), then one read; `Some` when the wait is over.
    async fn wait_step(
        &mut self,
        deadline: tokio::time::Instant,
        attempts: bool,
        seen: &mut bool,
    ) -> Result<Option<Result<O, ResultError>>, ResultError> {
        if self.cached.is_some() {
            return Ok(Some(self.decode_cached()));
        }
        if !self.huey.results_enabled() {
            return Err(ResultError::Disabled);
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let ready = if *seen {
            tokio::time::sleep(left.min(PRESERVED_POLL)).await;
            true
        } else {
            self.huey.storage().wait_result(&self.id, left).await?
        };
        // Read after a wake-up, and once more at the deadline: the value may have landed just
        // as the wait ended.
        let over = tokio::time::Instant::now() >= deadline;
        if !(ready || over) {
            return Ok(None);
        }
        *seen = false;
        match self.read().await? {
            Found::Final => Ok(Some(self.decode_cached())),
            Found::Attempt(failure) if attempts => Ok(Some(Err(ResultError::Failed(failure)))),
            Found::Attempt(failure) => {
                tracing::debug!(id = %self.id, error = %failure.error, retries = failure.retries, "an attempt failed; waiting for the retry");
                // Preserved, it is still stored: don't let the next wait return at once.
                *seen = self.preserve;
                Ok(None)
            }
            Found::Seen => {
                *seen = true;
                Ok(None)
            }
            Found::Nothing => Ok(None),
        }
    }

    fn decode_cached(&self) -> Result<O, ResultError> {
        match &self.cached {
            Some(Read::Value(v)) => Ok(serde_json::from_str(v.get())?),
            Some(Read::Failed(f)) => Err(ResultError::Failed(f.clone())),
            None => Err(ResultError::Timeout {
                id: self.id.clone(),
                waited: Duration::ZERO,
            }),
        }
    }

    /// [`get`](Self::get) for sync code.
    pub fn blocking_get(&mut self) -> Result<Option<O>, ResultError>
    where
        O: Send,
    {
        crate::runtime::blocking::block_on(self.get())?
    }

    /// [`wait`](Self::wait) for sync code: blocks the calling thread.
    pub fn blocking_wait(&mut self, timeout: Duration) -> Result<O, ResultError>
    where
        O: Send,
    {
        crate::runtime::blocking::block_on(self.wait(timeout))?
    }

    /// [`wait_attempt`](Self::wait_attempt) for sync code: blocks the calling thread.
    pub fn blocking_wait_attempt(&mut self, timeout: Duration) -> Result<O, ResultError>
    where
        O: Send,
    {
        crate::runtime::blocking::block_on(self.wait_attempt(timeout))?
    }
}

/// How often a preserving handle looks again while the store still holds an attempt's error
/// it has read (a storage's wait returns at once while a key holds anything).
const PRESERVED_POLL: Duration = Duration::from_millis(50);

impl Huey {
    /// A handle on the result of task `id` (Huey's `huey.result(id)`).
    pub fn result<O>(&self, id: impl Into<String>) -> TaskResult<O> {
        TaskResult::for_id(self.clone(), id.into())
    }

    /// Enqueues a built message; typed handles call this.
    pub async fn enqueue_message<O>(&self, message: Message) -> Result<TaskResult<O>, HueyError> {
        let handle = TaskResult::new(self.clone(), Arc::new(message.clone()));
        self.enqueue_raw(message).await?;
        Ok(handle)
    }
}
