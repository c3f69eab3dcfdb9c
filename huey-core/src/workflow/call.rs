//! Typed calls: a task's arguments with per-call overrides of its declared options (Huey's
//! `task.s(...)`), complete ([`TaskCall`]) or missing the last argument that a pipeline stage
//! receives ([`PartialCall`]).

use std::marker::PhantomData;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

use super::result::TaskResult;
use crate::error::HueyError;
use crate::runtime::Huey;
use crate::task::message::{MESSAGE_VERSION, Message};
use crate::task::{TaskDef, chrono_duration, new_task_id};

/// When a call should run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum When {
    Now,
    After(Duration),
    At(DateTime<Utc>),
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
            enqueued_at: Some(now),
            trace: None,
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
            self.options.when = Some($crate::workflow::call::When::After(delay));
            self
        }

        /// Runs no earlier than `eta`.
        pub fn eta(mut self, eta: chrono::DateTime<chrono::Utc>) -> Self {
            self.options.when = Some($crate::workflow::call::When::At(eta));
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
            self.options.expires = Some($crate::workflow::call::Expiry::After(after));
            self
        }

        /// Skips the task if it has not started by `at`.
        pub fn expires_at(mut self, at: chrono::DateTime<chrono::Utc>) -> Self {
            self.options.expires = Some($crate::workflow::call::Expiry::At(at));
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
        crate::runtime::blocking::block_on(huey.enqueue_message(message))?
    }

    /// Writes the call to `sink` (an application's transaction, say) instead of the queue's
    /// storage, and returns a typed handle to its result; see
    /// [`MessageSink`](crate::MessageSink).
    pub async fn enqueue_into(
        self,
        huey: &Huey,
        sink: &mut (dyn crate::MessageSink + '_),
    ) -> Result<TaskResult<T::Output>, HueyError> {
        let message = self.into_message()?;
        let handle = TaskResult::new(huey.clone(), std::sync::Arc::new(message.clone()));
        huey.enqueue_batch_into(vec![message], sink).await?;
        Ok(handle)
    }
}

/// A call of task `T` missing its last argument (of type `I`): the previous pipeline stage's
/// value fills it (or, for an error handler, the [`TaskFailure`](crate::TaskFailure)). Made by
/// the generated `my_task::partial(..)`, which takes every argument but the last; `P` holds
/// them.
///
/// ```
/// use huey_core::prelude::*;
///
/// #[task]
/// fn scale(factor: i64, n: i64) -> i64 {
///     factor * n
/// }
///
/// # fn main() -> Result<(), HueyError> {
/// let huey = Huey::memory("partial-docs");
/// // scale(3, <the value of the stage before>), run at priority 5
/// let pipeline = scale::call(2, 1).then(scale::partial(3).priority(5));
/// let (_first, _second) = pipeline.blocking_enqueue(&huey)?;
/// assert_eq!(huey.blocking(|h| async move { h.pending_count().await })??, 1);
/// # Ok(())
/// # }
/// ```
#[must_use = "a partial call does nothing until it is part of an enqueued pipeline"]
pub struct PartialCall<T: TaskDef, P, I> {
    prefix: P,
    options: CallOptions,
    _task: PhantomData<fn() -> (T, I)>,
}

impl<T: TaskDef, P: Serialize, I> PartialCall<T, P, I> {
    /// A call with the leading arguments `prefix` and the task's declared options.
    pub fn new(prefix: P) -> Self {
        PartialCall {
            prefix,
            options: CallOptions::default(),
            _task: PhantomData,
        }
    }

    call_builder_methods!();

    pub(crate) fn into_stage_message(self) -> Result<Message, HueyError> {
        let args = serde_json::value::to_raw_value(&self.prefix)?;
        self.options.into_message::<T>(args, true)
    }
}

/// A call that can follow a pipeline stage returning `In`: a [`PartialCall`] whose missing
/// last argument is an `In`, or a full [`TaskCall`] after a stage returning `()`.
#[diagnostic::on_unimplemented(
    message = "this pipeline stage cannot take the previous stage's output `{In}`",
    label = "does not take `{In}` as its last argument",
    note = "`my_task::partial(..)` makes a stage whose last parameter receives the previous stage's value; a full `my_task::call(..)` can only follow a stage that returns `()`"
)]
pub trait Stage<In>: sealed::Sealed {
    /// The stage's task.
    type Task: TaskDef;
    #[doc(hidden)]
    fn into_stage_message(self) -> Result<Message, HueyError>;
}

mod sealed {
    pub trait Sealed {}
    impl<T: crate::TaskDef> Sealed for crate::TaskCall<T> {}
    impl<T: crate::TaskDef, P, I> Sealed for super::PartialCall<T, P, I> {}
}

impl<T: TaskDef, P: Serialize, I> Stage<I> for PartialCall<T, P, I> {
    type Task = T;
    fn into_stage_message(self) -> Result<Message, HueyError> {
        PartialCall::into_stage_message(self)
    }
}

impl<T: TaskDef> Stage<()> for TaskCall<T> {
    type Task = T;
    fn into_stage_message(self) -> Result<Message, HueyError> {
        self.into_message()
    }
}
