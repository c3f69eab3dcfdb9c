//! # huey-core
//!
//! A durable background task queue for Rust in the spirit of Python's
//! [Huey](https://huey.readthedocs.io): annotate ordinary functions with `#[task]`, enqueue typed
//! calls, get typed results, and run a consumer. This crate holds the runtime, the storage
//! contract, the embedded [`MemoryStorage`] and the in-process [`Consumer`]; `huey-redis`,
//! `huey-postgres` and `huey-sqlite` add the server and file backends, and `huey-cli` the
//! command-line consumer (Huey's `huey_consumer`: flags, logging, signals, process workers), so
//! this crate pulls in neither clap nor a log subscriber. Its two features are off by default:
//! `metrics` (the [`metrics`] module: counters, histograms and gauges through the `metrics`
//! facade) and `opentelemetry` (the [`trace`] module: trace context carried in messages).
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
//!
//! ## Layers
//!
//! The crate is built in layers, each importing only from those below it:
//!
//! | layer | holds |
//! | --- | --- |
//! | [`task`](mod@task) (data) | [`TaskDef`], [`TaskOptions`], the running [`Task`] and its [`TaskValue`], the [`message`] envelope, stored outcomes, [`Signal`], [`WorkerState`], resources, [`TimeZone`]; errors beside it |
//! | [`codec`] | [`Codec`](codec::Codec): messages and stored values to bytes, with compression and signing layered over it |
//! | [`storage`] | the storage contract by concern, the one [`Settlement`](storage::Settlement) of a claim, [`MemoryStorage`] |
//! | coordination | [`TaskLock`], [`RateLimit`], [`TaskSemaphore`], on the storage alone |
//! | runtime | [`Huey`] and [`HueyBuilder`], dispatch through an engine (the storage, or immediate mode's inline engine), the executor, retries, revocation, admin, hooks and signals, the [`Registry`] |
//! | workflows | [`TaskCall`], [`PartialCall`], [`pipeline`], [`group`](mod@group) and chords, [`TaskResult`], [`ResultGroup`] |
//! | [`consumer`] | [`Consumer`]: fetcher, workers, scheduler, supervisor |
//!
//! The command-line consumer is the `huey-cli` crate, the Redis backend `huey-redis`, and the
//! conformance suite every backend runs `huey-conformance`.
#![warn(missing_docs)]

extern crate self as huey_core;

// The layers, bottom up; each imports only from those before it.
pub mod codec;
pub mod consumer;
mod error;
mod limits;
pub mod metrics;
mod runtime;
mod stats;
pub mod storage;
pub mod task;
pub mod trace;
mod workflow;

pub use task::message;
pub use workflow::{group, pipeline};

/// The attribute that storage backends put on their `impl Storage` block.
pub use async_trait::async_trait;
pub use codec::Compression;
pub use consumer::{Backoff, Consumer, ConsumerBuilder, WorkerKind};
pub use error::{
    BoxError, CancelExecution, ErrorChain, HueyError, RateLimitExceeded, RegistryError,
    ResultError, RetryTask, StorageError, TaskError, TaskFailure, TaskLocked, TaskTimeout,
    error_chain,
};
pub use huey_crontab::{Crontab, CrontabError, CrontabSpec};
pub use huey_macros::{
    closing_task, context_task, on_shutdown, on_startup, periodic_task, post_execute, pre_execute,
    signal, task,
};
pub use limits::{
    LockSpec, RateLimit, RateLimitSpec, SemaphoreGuard, SemaphoreSpec, TaskLock, TaskLockGuard,
    TaskSemaphore,
};
pub use runtime::{
    ConsumerInfo, DEFAULT_MAX_MESSAGE_SIZE, Executed, FoundTask, HandlerId, Huey, HueyBuilder,
    InFlightTask, MessageSink, Registry, StoredOutcome, TaskDescriptor, TaskFilter, TaskLocation,
    crontab_matches, crontab_matches_in, crontab_next_in,
};
pub use storage::{DeadLetterSelection, MemoryStorage, MinuteStats, Storage};
pub use task::{
    ContextManager, MAX_PROGRESS_MESSAGE, Progress, Resource, Revoke, Signal, State, SyncResource,
    Task, TaskDef, TaskOptions, TaskValue, TimeZone, UnknownTimeZone, WorkerState,
};
pub use workflow::call::{PartialCall, TaskCall};
pub use workflow::group::{Group, ResultGroup, group};
pub use workflow::pipeline::Pipeline;
pub use workflow::result::{Reschedule, TaskResult};
pub use workflow::sink::EnqueueInto;

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

/// Support for macro-generated code. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::runtime::hooks::hook_state;
    pub use crate::runtime::invoke::{
        IntoTaskResult, block_on_here, body_outcome, close_after, encode, guard, guard_sync,
        run_blocking, run_blocking_closing,
    };
    pub use crate::runtime::registry::{
        BoxFuture, Hook, HookDescriptor, Invocation, Location, Outcome,
    };
    pub use crate::task::message::NoArgs;
    pub use crate::task::resource::lookup;
    pub use crate::workflow::call::TaskCall;
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
