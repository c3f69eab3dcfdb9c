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
/// ```
/// use huey_core::prelude::*;
/// use std::time::Duration;
///
/// #[task]
/// async fn double(n: u32) -> u32 {
///     n * 2
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let huey = Huey::memory("docs");
/// let consumer = Consumer::builder(&huey).workers(1).start()?;
/// let mut four = double::enqueue(&huey, 2).await?;
/// assert_eq!(four.wait(Duration::from_secs(5)).await?, 4);
/// consumer.shutdown().await?;
/// # Ok(())
/// # }
/// ```
pub struct TaskResult<O> {
    huey: Huey,
    id: String,
    message: Option<Arc<Message>>,
    cached: Option<Read>,
    preserve: bool,
    _output: PhantomData<fn() -> O>,
}

enum Read {
    Value(Box<RawValue>),
    Failed(TaskFailure),
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
            preserve: false,
            _output: PhantomData,
        }
    }

    /// The task id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Reads without removing the value from the store (Huey's `preserve=True`).
    #[must_use]
    pub fn preserve(mut self) -> Self {
        self.preserve = true;
        self
    }

    /// Forgets the value read so far, so the next read goes to the store again (needed after
    /// a retry replaced a stored intermediate error).
    pub fn reset(&mut self) {
        self.cached = None;
    }

    async fn fetch(&mut self) -> Result<bool, ResultError> {
        if self.cached.is_some() {
            return Ok(true);
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
        let Some(bytes) = bytes else { return Ok(false) };
        let json = self.huey.decode_value(&bytes)?;
        self.cached = Some(match serde_json::from_slice::<StoredResult>(&json)? {
            StoredResult::Ok(v) => Read::Value(v),
            StoredResult::Err(f) => Read::Failed(f),
        });
        Ok(true)
    }

    /// Whether the result is ready. This reads it into the handle (removing it from the store
    /// unless preserved), as Huey 3.5 does.
    pub async fn is_ready(&mut self) -> Result<bool, ResultError> {
        self.fetch().await
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
    /// The result if it is ready, without waiting: `Ok(None)` when it is not.
    pub async fn get(&mut self) -> Result<Option<O>, ResultError> {
        if !self.fetch().await? {
            return Ok(None);
        }
        self.decode_cached().map(Some)
    }

    /// Waits up to `timeout` for the result (Huey's `get(blocking=True, timeout=...)`). Ends
    /// with [`ResultError::Timeout`] when no result arrived.
    pub async fn wait(&mut self, timeout: Duration) -> Result<O, ResultError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut backoff = Duration::from_millis(10);
        loop {
            match self.wait_step(deadline).await {
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
    ) -> Result<Option<Result<O, ResultError>>, ResultError> {
        if self.cached.is_some() {
            return Ok(Some(self.decode_cached()));
        }
        if !self.huey.results_enabled() {
            return Err(ResultError::Disabled);
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let ready = self.huey.storage().wait_result(&self.id, left).await?;
        // Read after a wake-up, and once more at the deadline: the value may have landed just
        // as the wait ended.
        let over = tokio::time::Instant::now() >= deadline;
        if (ready || over) && self.fetch().await? {
            return Ok(Some(self.decode_cached()));
        }
        Ok(None)
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
}

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
