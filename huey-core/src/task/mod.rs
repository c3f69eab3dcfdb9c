//! The data layer: what a task is (its declared options, the running task that hooks see, its
//! value), the message envelope that carries a call, the outcomes stored for it, signals, the
//! worker state tasks read and the resources they open. Nothing here reaches a storage or a
//! handle; every other layer builds on these types.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

pub mod message;
pub(crate) mod outcome;
pub(crate) mod progress;
pub(crate) mod resource;
pub(crate) mod signal;
pub(crate) mod state;
pub(crate) mod time_zone;

pub use outcome::MemberResult;
pub(crate) use outcome::StoredResult;
pub(crate) use progress::ProgressSlot;
pub use progress::{MAX_PROGRESS_MESSAGE, Progress};
pub use resource::{ContextManager, Resource, SyncResource};
pub use signal::Signal;
pub use state::{State, WorkerState};
pub use time_zone::{TimeZone, UnknownTimeZone};

use crate::error::TaskTimeout;
use message::{MESSAGE_VERSION, Message, NoArgs};

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

/// How a revocation applies (Huey's `revoke_once` and `revoke_until`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Revoke {
    /// Until restored.
    #[default]
    Forever,
    /// Skip the next execution only.
    Once,
    /// Skip executions that start before this time.
    Until(DateTime<Utc>),
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
    /// Where [`report_progress`](Self::report_progress) writes, when a consumer runs it.
    progress: Option<ProgressSlot>,
}

impl Task {
    /// Wraps a decoded message.
    pub fn from_message(message: Message) -> Self {
        Task {
            message,
            deadline: None,
            progress: None,
        }
    }

    /// A task for calling a `context` task function directly, outside any queue.
    pub fn local(name: &str) -> Self {
        Task::from_message(Message {
            v: MESSAGE_VERSION,
            id: new_task_id(),
            name: name.to_owned(),
            args: serde_json::value::to_raw_value(&NoArgs)
                .unwrap_or_else(|_| RawValue::NULL.to_owned()),
            eta: None,
            enqueued_at: None,
            trace: None,
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

    pub(crate) fn attach_progress(&mut self, slot: ProgressSlot) {
        self.progress = Some(slot);
    }

    /// Reports how far along this task is: `fraction` from 0.0 to 1.0 (clamped) and a short
    /// message (cut to [`MAX_PROGRESS_MESSAGE`] characters). The latest report shows beside the
    /// task in its consumer's presence record ([`Huey::consumers`](crate::Huey::consumers)),
    /// so in the admin command's `status` and `top`, within a presence heartbeat. Outside a
    /// consumer (immediate mode, a [`Task::local`]) there is no one to tell, and it does
    /// nothing.
    ///
    /// ```
    /// use huey_core::prelude::*;
    ///
    /// #[task(context)]
    /// fn import(task: &Task, pages: u32) {
    ///     for page in 1..=pages {
    ///         // ... import the page ...
    ///         let done = f64::from(page) / f64::from(pages);
    ///         task.report_progress(done, format!("page {page} of {pages}"));
    ///     }
    /// }
    ///
    /// // Outside a consumer the report goes nowhere.
    /// Task::local("docs").report_progress(0.5, "halfway");
    /// ```
    pub fn report_progress(&self, fraction: f64, message: impl AsRef<str>) {
        if let Some(slot) = &self.progress {
            slot.set(Progress::now(fraction, message.as_ref()));
        }
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
