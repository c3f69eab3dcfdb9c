//! # huey-core
//!
//! A durable background task queue for Rust in the spirit of Python's
//! [Huey](https://huey.readthedocs.io): annotate ordinary functions with `#[task]`, enqueue typed
//! calls, get typed results, and run a consumer. This crate holds the runtime, the storage
//! contract, the embedded [`MemoryStorage`] and the in-process [`Consumer`]; `huey-redis` adds
//! the production backend.
//!
//! ```
//! use huey_core::prelude::*;
//! use std::time::Duration;
//!
//! #[task(retries = 2, retry_delay = "1s")]
//! async fn add(a: i64, b: i64) -> i64 {
//!     a + b
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let huey = Huey::memory("my-app");
//! let consumer = Consumer::builder(&huey).workers(2).start()?;
//!
//! let mut three = add::enqueue(&huey, 1, 2).await?;     // TaskResult<i64>
//! assert_eq!(three.wait(Duration::from_secs(5)).await?, 3);
//! assert_eq!(add(1, 2).await, 3);                         // still a plain function
//!
//! consumer.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! ## Keeping task crates linked
//!
//! Tasks register themselves through [`inventory`] when their crate is linked into the binary.
//! Rust links a dependency only when the binary refers to it, so **every crate that defines
//! tasks must be referenced from the consumer binary**. If the binary calls nothing from such a
//! crate, say so with [`link_tasks!`]:
//!
//! ```ignore
//! huey_core::link_tasks!(my_tasks, billing_tasks);
//! ```
//!
//! A consumer refuses to start with no registered task, naming this rule.
#![warn(missing_docs)]

extern crate self as huey_core;

mod blocking;
pub mod consumer;
mod error;
mod executor;
pub mod group;
mod huey;
mod invoke;
mod limits;
pub mod message;
pub mod pipeline;
mod registry;
mod resource;
mod result;
mod retry;
mod semaphore;
pub mod serializer;
mod signals;
mod state;
pub mod storage;
mod task;

/// The attribute that storage backends put on their `impl Storage` block.
pub use async_trait::async_trait;
pub use consumer::{Backoff, Consumer, ConsumerBuilder, WorkerKind};
pub use error::{
    BoxError, CancelExecution, HueyError, RateLimitExceeded, RegistryError, ResultError, RetryTask,
    StorageError, TaskError, TaskFailure, TaskLocked, TaskTimeout,
};
pub use executor::Executed;
pub use group::{Group, ResultGroup, group};
pub use huey::{Huey, HueyBuilder};
pub use huey_crontab::{Crontab, CrontabError, CrontabSpec};
pub use huey_macros::{
    closing_task, context_task, on_shutdown, on_startup, periodic_task, post_execute, pre_execute,
    signal, task,
};
/// A time zone for periodic tasks ([`ConsumerBuilder::periodic_time_zone`]).
pub use jiff::tz::TimeZone;
pub use limits::{LockSpec, RateLimit, RateLimitSpec, TaskLock, TaskLockGuard};
pub use pipeline::{PartialCall, Pipeline};
pub use registry::{Registry, TaskDescriptor, crontab_matches, crontab_matches_in};
pub use resource::{ContextManager, Resource, SyncResource};
pub use result::{Reschedule, TaskResult};
pub use semaphore::{SemaphoreGuard, SemaphoreSpec, TaskSemaphore};
pub use serializer::Compression;
pub use signals::{HandlerId, Signal};
pub use state::{State, WorkerState};
pub use storage::{DeadLetterSelection, MemoryStorage, Storage};
pub use task::{Revoke, Task, TaskCall, TaskDef, TaskOptions, TaskValue};

/// Everything a task module needs: `use huey_core::prelude::*;`.
pub mod prelude {
    pub use crate::{
        CancelExecution, Consumer, Huey, HueyError, MemoryStorage, RateLimitExceeded, Resource,
        ResultError, RetryTask, Revoke, Signal, State, SyncResource, Task, TaskError, TaskFailure,
        TaskLocked, TaskResult, TaskValue, WorkerState, closing_task, context_task, on_shutdown,
        on_startup, periodic_task, post_execute, pre_execute, signal, task,
    };
}

/// References crates that define tasks so the linker keeps them (see the crate docs).
///
/// ```
/// // Any crate path works; here, one that is always there.
/// huey_core::link_tasks!(serde);
/// ```
#[macro_export]
macro_rules! link_tasks {
    ($($krate:ident),+ $(,)?) => {
        $(
            #[allow(unused_imports)]
            use $krate as _;
        )+
    };
}

impl Huey {
    /// Enqueues the periodic tasks that are due in the minute of `at`, as the consumer's
    /// scheduler does each minute; returns their ids. Each tick is claimed in storage, so a tick
    /// already enqueued (by this or another consumer) is not enqueued again.
    pub async fn enqueue_periodic(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<String>, HueyError> {
        consumer::enqueue_periodic(
            self,
            Registry::global()?,
            at,
            std::time::Duration::from_secs(60),
            &TimeZone::UTC,
        )
        .await
    }

    /// Claims the next queued message and runs it here, as one worker step would (no startup
    /// hooks; `state` stands in for the worker's state). Returns `None` when the queue is empty
    /// or the message could not run (it is then dead-lettered). For tests and scripts, like
    /// Huey's `execute_next`.
    ///
    /// ```
    /// use huey_core::prelude::*;
    /// use huey_core::{Executed, WorkerState};
    ///
    /// #[task]
    /// fn shout(text: String) -> String { text.to_uppercase() }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("docs");
    /// let mut loud = shout::enqueue(&huey, "hi".into()).await?;
    /// let ran = huey.run_next(&WorkerState::default()).await?;
    /// assert_eq!(ran, Some(Executed::Completed));
    /// assert_eq!(loud.get().await?, Some("HI".to_string()));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run_next(&self, state: &WorkerState) -> Result<Option<Executed>, HueyError> {
        self.run_next_at(state, chrono::Utc::now()).await
    }

    /// [`run_next`](Self::run_next) as if the time were `now`: ETAs, expiry, revocation
    /// deadlines and retry delays are judged against it (Huey's `execute(task, timestamp)`).
    pub async fn run_next_at(
        &self,
        state: &WorkerState,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Executed>, HueyError> {
        let registry = Registry::global()?;
        let storage = self.storage();
        let Some(delivery) = storage
            .dequeue(1, std::time::Duration::ZERO)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        Ok(consumer::handle(self, registry, state, &delivery, now, None).await)
    }
}

/// Support for macro-generated code. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::invoke::{
        IntoTaskResult, block_on_here, encode, guard, guard_sync, run_blocking,
    };
    pub use crate::message::NoArgs;
    pub use crate::registry::{BoxFuture, Hook, HookDescriptor, Invocation, Location, Outcome};
    pub use crate::task::TaskCall;
    pub use crate::{
        Crontab, LockSpec, RateLimitSpec, SemaphoreSpec, TaskDescriptor, TaskError, TaskOptions,
        TaskSemaphore,
    };
    pub use inventory;
    pub use serde::{Serialize, de::DeserializeOwned};
    pub use std::boxed::Box;
    pub use std::sync::Arc;
    pub use std::time::Duration;

    /// Runs a hook's return value through the task error conversion.
    pub fn hook_result<R: IntoHookResult>(r: R) -> Result<(), TaskError> {
        r.into_hook_result()
    }

    /// What a hook may return: `()` or `Result<(), E>`.
    pub trait IntoHookResult {
        /// Converts to the runtime's form.
        fn into_hook_result(self) -> Result<(), TaskError>;
    }

    impl IntoHookResult for () {
        fn into_hook_result(self) -> Result<(), TaskError> {
            Ok(())
        }
    }

    impl<E: std::fmt::Display + 'static> IntoHookResult for Result<(), E> {
        fn into_hook_result(self) -> Result<(), TaskError> {
            self.map_err(TaskError::from_error)
        }
    }

    /// Compile-time check that a task argument can travel in a message.
    pub const fn assert_message_arg<T: Serialize + DeserializeOwned + Send + 'static>() {}

    /// Compile-time check that a task's return value can be stored.
    pub const fn assert_output<T: Serialize + DeserializeOwned + Send + 'static>() {}
}
