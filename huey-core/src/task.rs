//! Tasks: the declared options, the typed call builder, and the running task that hooks see.

use std::marker::PhantomData;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::error::{HueyError, TaskTimeout};
use crate::huey::Huey;
use crate::message::{MESSAGE_VERSION, Message};
use crate::result::TaskResult;

/// The options a task declares with `#[task(...)]` (Huey's decorator options).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskOptions {
    /// Extra attempts after a failure.
    pub retries: u32,
    /// Wait before a retry; zero re-enqueues at once.
    pub retry_delay: Duration,
    /// Multiplier for `retry_delay` after each retry; 0 disables backoff.
    pub retry_backoff: f64,
    /// Higher runs first.
    pub priority: i32,
    /// Skip the task if it starts later than this after being enqueued.
    pub expires: Option<Duration>,
    /// How long the body may run.
    pub timeout: Option<Duration>,
}

impl TaskOptions {
    /// Huey's defaults: no retries, no delay, priority 0, no expiry, no timeout.
    pub const DEFAULT: TaskOptions = TaskOptions {
        retries: 0,
        retry_delay: Duration::ZERO,
        retry_backoff: 0.0,
        priority: 0,
        expires: None,
        timeout: None,
    };
}

impl Default for TaskOptions {
    fn default() -> Self {
        TaskOptions::DEFAULT
    }
}

/// A task type, implemented by `#[task]` and `#[periodic_task]` on the type generated beside
/// the function. You never implement it by hand.
pub trait TaskDef: Send + Sync + 'static {
    /// The registered name.
    const NAME: &'static str;
    /// The declared options.
    const OPTIONS: TaskOptions;
    /// Whether the task is periodic (its results are never stored).
    const PERIODIC: bool;
    /// The arguments carried by the message, as a tuple in parameter order.
    type Args: Serialize + DeserializeOwned + Send + 'static;
    /// What the task returns on success.
    type Output: Serialize + DeserializeOwned + Send + 'static;
}

/// When a call should run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum When {
    Now,
    After(Duration),
    At(DateTime<Utc>),
}

/// How a revocation applies (Huey's `revoke_once` and `revoke_until`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Revoke {
    /// Until restored.
    #[default]
    Forever,
    /// Skip the next execution only.
    Once,
    /// Skip executions that start before this time.
    Until(DateTime<Utc>),
}

/// A typed call of a task that has not been enqueued yet (Huey's `task.s(...)`).
///
/// Made by the generated `my_task::call(args...)`; the builder methods override the task's
/// declared options for this call only.
///
/// ```
/// use huey_core::prelude::*;
/// use std::time::Duration;
///
/// #[task(retries = 1)]
/// fn add(a: i64, b: i64) -> i64 {
///     a + b
/// }
///
/// # fn main() -> Result<(), HueyError> {
/// let huey = Huey::memory("docs");
/// let call = add::call(1, 2).delay(Duration::from_secs(60)).priority(10).retries(3);
/// let handle = call.blocking_enqueue(&huey)?;
/// assert_eq!(huey.blocking(|h| async move { h.scheduled_count().await })??, 0);
/// assert_eq!(huey.blocking(|h| async move { h.pending_count().await })??, 1);
/// # let _ = handle;
/// # Ok(())
/// # }
/// ```
#[must_use = "a task call does nothing until it is enqueued"]
pub struct TaskCall<T: TaskDef> {
    args: T::Args,
    options: CallOptions,
    _task: PhantomData<fn() -> T>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Expiry {
    After(Duration),
    At(DateTime<Utc>),
}

/// The per-call overrides shared by [`TaskCall`] and [`PartialCall`](crate::PartialCall).
#[derive(Debug, Default)]
pub(crate) struct CallOptions {
    pub(crate) id: Option<String>,
    pub(crate) when: Option<When>,
    pub(crate) retries: Option<u32>,
    pub(crate) retry_delay: Option<Duration>,
    pub(crate) retry_backoff: Option<f64>,
    pub(crate) priority: Option<i32>,
    pub(crate) expires: Option<Expiry>,
    pub(crate) timeout: Option<Option<Duration>>,
    pub(crate) on_error: Option<Result<Message, HueyError>>,
}

impl CallOptions {
    /// Builds the message of task `T` with these overrides, resolving relative times against
    /// now.
    pub(crate) fn into_message<T: TaskDef>(
        self,
        args: Box<RawValue>,
        takes_parent: bool,
    ) -> Result<Message, HueyError> {
        let now = Utc::now();
        let opts = T::OPTIONS;
        let eta = match self.when.unwrap_or(When::Now) {
            When::Now => None,
            When::After(d) => Some(now + chrono_duration(d)),
            When::At(t) => Some(t),
        };
        let expires_at = match self.expires.or(opts.expires.map(Expiry::After)) {
            None => None,
            Some(Expiry::After(d)) => Some(now + chrono_duration(d)),
            Some(Expiry::At(t)) => Some(t),
        };
        let on_error = self.on_error.transpose()?.map(Box::new);
        Ok(Message {
            v: MESSAGE_VERSION,
            id: self.id.unwrap_or_else(new_task_id),
            name: T::NAME.to_owned(),
            args,
            eta,
            retries: self.retries.unwrap_or(opts.retries),
            retry_delay: self.retry_delay.unwrap_or(opts.retry_delay).as_secs_f64(),
            retry_backoff: self.retry_backoff.unwrap_or(opts.retry_backoff),
            priority: self.priority.unwrap_or(opts.priority),
            expires_at,
            timeout: self
                .timeout
                .unwrap_or(opts.timeout)
                .map(|t| t.as_secs_f64()),
            periodic: T::PERIODIC,
            takes_parent,
            on_complete: None,
            on_error,
            chord: None,
        })
    }
}

/// The builder methods of a call, shared by [`TaskCall`] and
/// [`PartialCall`](crate::PartialCall).
macro_rules! call_builder_methods {
    () => {
        /// Uses this task id instead of a random UUID.
        pub fn id(mut self, id: impl Into<String>) -> Self {
            self.options.id = Some(id.into());
            self
        }

        /// Runs no earlier than `delay` from when the call is built.
        pub fn delay(mut self, delay: std::time::Duration) -> Self {
            self.options.when = Some($crate::task::When::After(delay));
            self
        }

        /// Runs no earlier than `eta`.
        pub fn eta(mut self, eta: chrono::DateTime<chrono::Utc>) -> Self {
            self.options.when = Some($crate::task::When::At(eta));
            self
        }

        /// Overrides the declared retries.
        pub fn retries(mut self, retries: u32) -> Self {
            self.options.retries = Some(retries);
            self
        }

        /// Overrides the declared retry delay.
        pub fn retry_delay(mut self, delay: std::time::Duration) -> Self {
            self.options.retry_delay = Some(delay);
            self
        }

        /// Overrides the declared retry backoff.
        pub fn retry_backoff(mut self, backoff: f64) -> Self {
            self.options.retry_backoff = Some(backoff);
            self
        }

        /// Overrides the declared priority (higher runs first).
        pub fn priority(mut self, priority: i32) -> Self {
            self.options.priority = Some(priority);
            self
        }

        /// Skips the task if it has not started `after` from when the call is built.
        pub fn expires(mut self, after: std::time::Duration) -> Self {
            self.options.expires = Some($crate::task::Expiry::After(after));
            self
        }

        /// Skips the task if it has not started by `at`.
        pub fn expires_at(mut self, at: chrono::DateTime<chrono::Utc>) -> Self {
            self.options.expires = Some($crate::task::Expiry::At(at));
            self
        }

        /// Overrides the declared timeout; `None` (or zero) runs without one.
        pub fn timeout(mut self, timeout: Option<std::time::Duration>) -> Self {
            self.options.timeout = Some(timeout);
            self
        }

        /// Enqueues `handler` with this call's [`TaskFailure`](crate::TaskFailure) as its last
        /// argument whenever this call fails for good (or on every failed attempt with
        /// [`store_intermediate_errors`](crate::HueyBuilder::store_intermediate_errors)), as
        /// Huey's `task.error(handler)`. The handler's last parameter must be a `TaskFailure`.
        pub fn error<H, HP>(
            mut self,
            handler: $crate::PartialCall<H, HP, $crate::TaskFailure>,
        ) -> Self
        where
            H: $crate::TaskDef,
            HP: serde::Serialize,
        {
            self.options.on_error = Some(handler.into_stage_message());
            self
        }
    };
}
pub(crate) use call_builder_methods;

impl<T: TaskDef> TaskCall<T> {
    /// A call with `args` and the task's declared options.
    pub fn new(args: T::Args) -> Self {
        TaskCall {
            args,
            options: CallOptions::default(),
            _task: PhantomData,
        }
    }

    call_builder_methods!();

    /// Builds the message, resolving relative times against now.
    pub fn into_message(self) -> Result<Message, HueyError> {
        let args: Box<RawValue> = serde_json::value::to_raw_value(&self.args)?;
        self.options.into_message::<T>(args, false)
    }

    /// Enqueues the call and returns a typed handle to its result.
    pub async fn enqueue(self, huey: &Huey) -> Result<TaskResult<T::Output>, HueyError> {
        let message = self.into_message()?;
        huey.enqueue_message(message).await
    }

    /// [`enqueue`](Self::enqueue) for sync code: blocks the calling thread until the call is
    /// stored. Needs no runtime of the caller's own.
    pub fn blocking_enqueue(self, huey: &Huey) -> Result<TaskResult<T::Output>, HueyError> {
        let message = self.into_message()?;
        crate::blocking::block_on(huey.enqueue_message(message))?
    }
}

/// A fresh random task id.
pub fn new_task_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub(crate) fn chrono_duration(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

/// A task as the runtime sees it while executing it: what hooks, signal handlers and
/// `context` tasks receive.
#[derive(Debug, Clone)]
pub struct Task {
    message: Message,
    deadline: Option<Instant>,
}

impl Task {
    /// Wraps a decoded message.
    pub fn from_message(message: Message) -> Self {
        Task {
            message,
            deadline: None,
        }
    }

    /// A task for calling a `context` task function directly, outside any queue.
    pub fn local(name: &str) -> Self {
        Task::from_message(Message {
            v: MESSAGE_VERSION,
            id: new_task_id(),
            name: name.to_owned(),
            args: serde_json::value::to_raw_value(&crate::message::NoArgs)
                .unwrap_or_else(|_| RawValue::NULL.to_owned()),
            eta: None,
            retries: 0,
            retry_delay: 0.0,
            retry_backoff: 0.0,
            priority: 0,
            expires_at: None,
            timeout: None,
            periodic: false,
            takes_parent: false,
            on_complete: None,
            on_error: None,
            chord: None,
        })
    }

    /// The task id.
    pub fn id(&self) -> &str {
        &self.message.id
    }

    /// The registered task name.
    pub fn name(&self) -> &str {
        &self.message.name
    }

    /// Retries left.
    pub fn retries(&self) -> u32 {
        self.message.retries
    }

    /// The current retry delay.
    pub fn retry_delay(&self) -> Duration {
        self.message.retry_delay_duration()
    }

    /// The priority.
    pub fn priority(&self) -> i32 {
        self.message.priority
    }

    /// The ETA, if the task was scheduled.
    pub fn eta(&self) -> Option<DateTime<Utc>> {
        self.message.eta
    }

    /// When the task expires, if ever.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.message.expires_at
    }

    /// The timeout, if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.message.timeout_duration()
    }

    /// Whether the periodic scheduler made this task.
    pub fn is_periodic(&self) -> bool {
        self.message.periodic
    }

    /// The raw JSON arguments.
    pub fn args_json(&self) -> &str {
        self.message.args.get()
    }

    /// The underlying message.
    pub fn message(&self) -> &Message {
        &self.message
    }

    pub(crate) fn message_mut(&mut self) -> &mut Message {
        &mut self.message
    }

    pub(crate) fn start_clock(&mut self) {
        self.deadline = self.timeout().map(|t| Instant::now() + t);
    }

    /// Time left before the timeout; `None` when the task has no timeout. The clock starts
    /// after the pre-execute hooks, as in Huey.
    pub fn time_remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
            .or_else(|| self.timeout())
    }

    /// Whether the task has run past its timeout.
    pub fn is_timed_out(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Cooperative timeout for sync bodies: returns [`TaskTimeout`] once the deadline passed.
    ///
    /// ```
    /// use huey_core::{Task, TaskTimeout};
    /// let task = Task::local("docs");
    /// assert!(task.check_timeout().is_ok());
    /// assert_eq!(task.time_remaining(), None);
    /// ```
    pub fn check_timeout(&self) -> Result<(), TaskTimeout> {
        match (self.is_timed_out(), self.timeout()) {
            (true, Some(t)) => Err(TaskTimeout::new(t)),
            _ => Ok(()),
        }
    }
}

/// A task's successful return value, as post-execute hooks and signal handlers see it.
#[derive(Debug, Clone)]
pub struct TaskValue(Box<RawValue>);

impl PartialEq for TaskValue {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl TaskValue {
    pub(crate) fn new(raw: Box<RawValue>) -> Self {
        TaskValue(raw)
    }

    /// Encodes a value.
    pub fn from_value<T: Serialize>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::value::to_raw_value(value).map(TaskValue)
    }

    /// Decodes the value as `T`.
    pub fn get<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }

    /// The JSON text.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// Whether the task returned nothing (`()` or `None`).
    pub fn is_none(&self) -> bool {
        self.0.get() == "null"
    }

    pub(crate) fn raw(&self) -> &RawValue {
        &self.0
    }
}
