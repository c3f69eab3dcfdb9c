//! Errors: what a task body returns when it fails, and what the library returns to its callers.

use std::any::Any;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A boxed error from a storage backend or another outside source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a task attempt did not produce a value.
///
/// A task body returns `Result<T, E>` with any displayable `E`; the runtime turns `E` into a
/// `TaskError`. Five special errors change what happens next, as in Huey: [`RetryTask`],
/// [`CancelExecution`], [`TaskTimeout`], [`TaskLocked`] and [`RateLimitExceeded`]. Return them
/// directly, through `anyhow::Error`, through `Box<dyn Error>` or inside a [`HueyError`] (what
/// [`TaskLock::acquire`](crate::TaskLock::acquire) and
/// [`RateLimit::acquire`](crate::RateLimit::acquire) return): the runtime finds them in all.
///
/// ```
/// use huey_core::{RetryTask, TaskError};
/// use std::time::Duration;
///
/// fn flaky(attempt: u32) -> Result<u32, TaskError> {
///     if attempt < 3 {
///         return Err(RetryTask::after(Duration::from_secs(5)).into());
///     }
///     Ok(attempt)
/// }
/// assert!(matches!(flaky(1), Err(TaskError::Retry(_))));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The body returned an error.
    #[error("{message}")]
    Failed {
        /// The error's `Display` text.
        message: String,
        /// Longer detail: the `Debug` form, with an error's source chain or backtrace when known.
        detail: String,
    },
    /// The body panicked; the message is the panic's payload.
    #[error("task panicked: {message}")]
    Panicked {
        /// The panic message.
        message: String,
    },
    /// The body ran past its timeout.
    #[error(transparent)]
    Timeout(#[from] TaskTimeout),
    /// The body or a pre-execute hook cancelled the task.
    #[error(transparent)]
    Cancelled(#[from] CancelExecution),
    /// The body asked to be retried.
    #[error(transparent)]
    Retry(#[from] RetryTask),
    /// A task lock was held by someone else: a failure, so the task's retries apply, but not
    /// stored while a retry is pending (Huey 3.5).
    #[error(transparent)]
    Locked(#[from] TaskLocked),
    /// A rate limit was exceeded: retried when the window ends (see [`RateLimitExceeded`]).
    #[error(transparent)]
    RateLimited(#[from] RateLimitExceeded),
}

/// Lets `?` on the lock and rate-limit APIs work in a body returning `Result<T, TaskError>`;
/// a lock or rate-limit rejection keeps its special meaning, anything else is a plain failure.
impl From<HueyError> for TaskError {
    fn from(error: HueyError) -> Self {
        TaskError::from_error(error)
    }
}

impl TaskError {
    /// A plain failure with a message.
    pub fn msg(message: impl Into<String>) -> Self {
        let message = message.into();
        TaskError::Failed {
            detail: message.clone(),
            message,
        }
    }

    /// Converts any displayable error, finding the special errors inside `anyhow::Error`,
    /// `Box<dyn Error>` and `TaskError` itself.
    pub fn from_error<E: fmt::Display + 'static>(error: E) -> Self {
        let any: &dyn Any = &error;
        if let Some(special) = special_from_any(any) {
            return special;
        }
        let detail = if let Some(e) = any.downcast_ref::<anyhow::Error>() {
            format!("{e:?}")
        } else if let Some(e) = as_std_error(any) {
            error_chain(e).to_string()
        } else {
            error.to_string()
        };
        TaskError::Failed {
            message: error.to_string(),
            detail,
        }
    }

    /// The short kind name stored with the error (`error`, `panic`, `timeout`, `cancelled`,
    /// `retry`, `locked`, `rate-limited`).
    pub fn kind(&self) -> &'static str {
        match self {
            TaskError::Failed { .. } => "error",
            TaskError::Panicked { .. } => "panic",
            TaskError::Timeout(_) => "timeout",
            TaskError::Cancelled(_) => "cancelled",
            TaskError::Retry(_) => "retry",
            TaskError::Locked(_) => "locked",
            TaskError::RateLimited(_) => "rate-limited",
        }
    }

    /// The longer description stored as the error's trace.
    pub fn detail(&self) -> String {
        match self {
            TaskError::Failed { detail, .. } => detail.clone(),
            other => format!("{other:?}"),
        }
    }

    pub(crate) fn from_panic(payload: Box<dyn Any + Send>) -> Self {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "non-string panic payload".to_owned()
        };
        TaskError::Panicked { message }
    }
}

/// The errors whose source chain [`TaskError::from_error`] can walk for the detail.
fn as_std_error(any: &dyn Any) -> Option<&dyn std::error::Error> {
    if let Some(e) = any.downcast_ref::<BoxError>() {
        return Some(e.as_ref());
    }
    if let Some(e) = any.downcast_ref::<HueyError>() {
        return Some(e);
    }
    if let Some(e) = any.downcast_ref::<StorageError>() {
        return Some(e);
    }
    if let Some(e) = any.downcast_ref::<ResultError>() {
        return Some(e);
    }
    None
}

/// Renders an error with its whole source chain, each cause once: `outer: middle: inner`.
///
/// The errors of this crate follow the usual convention: `Display` shows only the error's own
/// message and the cause is reached through [`source`](std::error::Error::source). Use this
/// where the full story must be logged or stored in one line.
///
/// ```
/// use huey_core::{HueyError, error_chain};
///
/// let cause = serde_json::from_str::<u32>("x").unwrap_err();
/// let error = HueyError::from(cause);
/// assert_eq!(error.to_string(), "serialization failed");
/// assert_eq!(
///     error_chain(&error).to_string(),
///     "serialization failed: expected value at line 1 column 1"
/// );
/// ```
pub fn error_chain<'a>(error: &'a (dyn std::error::Error + 'a)) -> ErrorChain<'a> {
    ErrorChain { error }
}

/// An error shown with its source chain; made by [`error_chain`].
#[derive(Clone, Copy)]
pub struct ErrorChain<'a> {
    error: &'a (dyn std::error::Error + 'a),
}

impl fmt::Debug for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.error.to_string();
        f.write_str(&shown)?;
        let mut source = self.error.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            // Errors from other crates may print their cause too: don't repeat it.
            if !shown.ends_with(&text) {
                write!(f, ": {text}")?;
            }
            shown = text;
            source = cause.source();
        }
        Ok(())
    }
}

fn special_from_any(any: &dyn Any) -> Option<TaskError> {
    if let Some(e) = any.downcast_ref::<TaskError>() {
        return Some(e.clone());
    }
    if let Some(e) = any.downcast_ref::<RetryTask>() {
        return Some(TaskError::Retry(e.clone()));
    }
    if let Some(e) = any.downcast_ref::<CancelExecution>() {
        return Some(TaskError::Cancelled(e.clone()));
    }
    if let Some(e) = any.downcast_ref::<TaskTimeout>() {
        return Some(TaskError::Timeout(e.clone()));
    }
    if let Some(e) = any.downcast_ref::<TaskLocked>() {
        return Some(TaskError::Locked(e.clone()));
    }
    if let Some(e) = any.downcast_ref::<RateLimitExceeded>() {
        return Some(TaskError::RateLimited(e.clone()));
    }
    if let Some(e) = any.downcast_ref::<HueyError>() {
        return special_from_huey(e);
    }
    if let Some(e) = any.downcast_ref::<anyhow::Error>() {
        return special_from_error(e.as_ref());
    }
    if let Some(e) = any.downcast_ref::<BoxError>() {
        return special_from_error(e.as_ref());
    }
    None
}

fn special_from_error(e: &(dyn std::error::Error + Send + Sync + 'static)) -> Option<TaskError> {
    if let Some(e) = e.downcast_ref::<TaskError>() {
        return Some(e.clone());
    }
    if let Some(e) = e.downcast_ref::<RetryTask>() {
        return Some(TaskError::Retry(e.clone()));
    }
    if let Some(e) = e.downcast_ref::<CancelExecution>() {
        return Some(TaskError::Cancelled(e.clone()));
    }
    if let Some(e) = e.downcast_ref::<TaskTimeout>() {
        return Some(TaskError::Timeout(e.clone()));
    }
    if let Some(e) = e.downcast_ref::<TaskLocked>() {
        return Some(TaskError::Locked(e.clone()));
    }
    if let Some(e) = e.downcast_ref::<RateLimitExceeded>() {
        return Some(TaskError::RateLimited(e.clone()));
    }
    e.downcast_ref::<HueyError>().and_then(special_from_huey)
}

/// The lock and rate-limit APIs report a rejection as a `HueyError` variant; `?` in a body
/// carries that `HueyError` (often inside `anyhow::Error`), so look inside it.
fn special_from_huey(e: &HueyError) -> Option<TaskError> {
    match e {
        HueyError::Locked(locked) => Some(TaskError::Locked(locked.clone())),
        HueyError::RateLimited(limited) => Some(TaskError::RateLimited(limited.clone())),
        _ => None,
    }
}

/// The tail of [`RateLimitExceeded`]'s message: when to retry, if it will be retried.
fn retry_in(delay: &Duration, retry: &bool) -> String {
    if *retry {
        format!(", retry in {}s", delay.as_secs_f64())
    } else {
        String::new()
    }
}

/// A task lock is held by someone else (Huey's `TaskLockedException`).
///
/// [`TaskLock::acquire`](crate::TaskLock::acquire) returns it inside [`HueyError::Locked`];
/// from a task body (directly, or through `?`) it fires [`Signal::Locked`](crate::Signal::Locked)
/// and counts as a failure, so the task's retries apply.
///
/// ```
/// use huey_core::{TaskError, TaskLocked};
/// let locked = TaskLocked::new("reports");
/// assert_eq!(locked.to_string(), "unable to acquire lock reports");
/// assert!(matches!(TaskError::from(locked), TaskError::Locked(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to acquire lock {name}")]
pub struct TaskLocked {
    /// The lock's name, as given to [`Huey::lock_task`](crate::Huey::lock_task).
    pub name: String,
}

impl TaskLocked {
    /// The error for lock `name`.
    pub fn new(name: impl Into<String>) -> Self {
        TaskLocked { name: name.into() }
    }
}

/// A rate limit's window is used up (Huey's `RateLimitExceeded`).
///
/// [`RateLimit::acquire`](crate::RateLimit::acquire) returns it inside
/// [`HueyError::RateLimited`]. From a task body it fires
/// [`Signal::RateLimited`](crate::Signal::RateLimited); with `retry` (or retries left) the task
/// runs again after its `retry_delay`, or else when the window ends (`delay`); with `retry` the
/// attempt does not use up one of the task's retries.
///
/// ```
/// use huey_core::RateLimitExceeded;
/// use std::time::Duration;
/// let e = RateLimitExceeded { key: "app.rl.api".into(), delay: Duration::from_millis(12_500), retry: true };
/// assert_eq!(e.to_string(), r#"Rate limit exceeded on "app.rl.api", retry in 12.5s"#);
/// let e = RateLimitExceeded { retry: false, ..e };
/// assert_eq!(e.to_string(), r#"Rate limit exceeded on "app.rl.api""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Rate limit exceeded on \"{key}\"{}", retry_in(.delay, .retry))]
pub struct RateLimitExceeded {
    /// The rate limit's counter key, `<huey name>.rl.<name>`.
    pub key: String,
    /// Time until the current window ends.
    pub delay: Duration,
    /// Whether the task should be retried when the window ends.
    pub retry: bool,
}

/// Stops a task: from a `#[pre_execute]` hook it skips the run (no result, no retry, no post
/// hooks); from a task body it is a failure whose `retry` decides what happens next.
///
/// `retry`: `None` retries as usual, `Some(false)` never retries, `Some(true)` always retries
/// (Huey's `retry=True`, which keeps at least one retry left).
///
/// ```
/// use huey_core::CancelExecution;
/// let cancel = CancelExecution::new("No tasks on sunday!");
/// assert_eq!(cancel.to_string(), "No tasks on sunday!");
/// assert_eq!(CancelExecution::new("again").retry(true).retry, Some(true));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, thiserror::Error)]
#[error("{}", .message.as_deref().unwrap_or("task cancelled"))]
pub struct CancelExecution {
    /// Why the task was cancelled.
    pub message: Option<String>,
    /// Whether to retry: see the type's docs.
    pub retry: Option<bool>,
}

impl CancelExecution {
    /// A cancel with a message and the default retry rule.
    pub fn new(message: impl Into<String>) -> Self {
        CancelExecution {
            message: Some(message.into()),
            retry: None,
        }
    }

    /// Sets the retry rule.
    #[must_use]
    pub fn retry(mut self, retry: bool) -> Self {
        self.retry = Some(retry);
        self
    }
}

/// Asks for the task to run again, without counting it as a failure and without using up a
/// retry (Huey's `RetryTask`). With no delay or ETA the task's own `retry_delay` applies.
///
/// ```
/// use huey_core::RetryTask;
/// use std::time::Duration;
/// let retry = RetryTask::after(Duration::from_secs(10));
/// assert_eq!(retry.delay, Some(Duration::from_secs(10)));
/// ```
#[derive(Debug, Clone, PartialEq, Default, thiserror::Error)]
#[error("{}", .message.as_deref().unwrap_or("retry requested"))]
pub struct RetryTask {
    /// An optional message for the logs.
    pub message: Option<String>,
    /// Retry after this long.
    pub delay: Option<Duration>,
    /// Retry at this time (wins over `delay`).
    pub eta: Option<DateTime<Utc>>,
}

impl RetryTask {
    /// Retry with the task's own retry delay.
    pub fn new() -> Self {
        RetryTask::default()
    }

    /// Retry after `delay`.
    pub fn after(delay: Duration) -> Self {
        RetryTask {
            delay: Some(delay),
            ..RetryTask::default()
        }
    }

    /// Retry at `eta`.
    pub fn at(eta: DateTime<Utc>) -> Self {
        RetryTask {
            eta: Some(eta),
            ..RetryTask::default()
        }
    }

    /// Attaches a message for the logs.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

/// The task ran past its timeout (Huey's `TaskTimeout`). Async bodies are cancelled at the
/// deadline; a sync body raises it itself through [`Task::check_timeout`](crate::Task::check_timeout).
///
/// ```
/// use huey_core::TaskTimeout;
/// use std::time::Duration;
/// assert_eq!(TaskTimeout::new(Duration::from_millis(100)).to_string(), "timeout 0.1s");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("timeout {}s", .timeout.as_secs_f64())]
pub struct TaskTimeout {
    /// The timeout that ran out.
    pub timeout: Duration,
}

impl TaskTimeout {
    /// A timeout error for `timeout`.
    pub fn new(timeout: Duration) -> Self {
        TaskTimeout { timeout }
    }
}

/// The metadata stored for a failed task, as Huey stores it: the error, the retries that were
/// left, a trace, and the task id; plus the error's kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("task {task_id} failed: {error}")]
pub struct TaskFailure {
    /// The error's text.
    pub error: String,
    /// `error`, `panic`, `timeout`, `cancelled`, `locked` or `rate-limited`.
    pub kind: String,
    /// Retries that were left when this error was stored.
    pub retries: u32,
    /// A longer description (error chain, backtrace or panic message).
    pub traceback: String,
    /// The id of the task that failed.
    pub task_id: String,
}

/// A storage backend failed.
///
/// The variants tell what trying again can do. A [`Backend`](Self::Backend) error (the server
/// unreachable, a timeout, a full server) may pass, so the consumer retries the call or gives
/// the message back to the queue. An [`Invalid`](Self::Invalid) one (stored data that does
/// not decode, a key of the wrong type, a reply that breaks the contract) will not, so the
/// consumer moves the message to the dead-letter list with the reason instead of looping on
/// it. When unsure, a backend reports `Backend`: the per-message delivery cap still ends any
/// loop.
///
/// As with every error of this crate, `Display` shows this error's own message only; the
/// backend's error is its [`source`](std::error::Error::source) ([`error_chain`] shows both).
///
/// ```
/// use huey_core::StorageError;
///
/// let outage = StorageError::Backend("connection refused".into());
/// let corrupt = StorageError::Invalid("flag is not JSON".into());
/// assert!(outage.is_transient());
/// assert!(!corrupt.is_transient());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The backend failed in a way that may pass: unreachable, timed out, full.
    #[error("storage error")]
    Backend(#[source] BoxError),
    /// Stored data or a reply violates the contract (it does not decode, a key holds the wrong
    /// type): the same call will fail the same way.
    #[error("invalid data in storage")]
    Invalid(#[source] BoxError),
    /// The backend does not support this operation.
    #[error("storage does not support {0}")]
    Unsupported(&'static str),
}

impl StorageError {
    /// Whether trying again may succeed; false for invalid data and unsupported operations.
    pub fn is_transient(&self) -> bool {
        matches!(self, StorageError::Backend(_))
    }
}

/// An error from the library's API: enqueueing, revoking, reading state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HueyError {
    /// The storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Arguments or a result could not be encoded or decoded.
    #[error("serialization failed")]
    Serde(#[from] serde_json::Error),
    /// The task registry is invalid (for example two tasks share one name).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A setting is invalid for this operation.
    #[error("configuration error: {0}")]
    Configuration(String),
    /// A blocking call could not run its future.
    #[error("blocking call failed: {0}")]
    Blocking(String),
    /// A task lock is held by someone else.
    #[error(transparent)]
    Locked(#[from] TaskLocked),
    /// A rate limit's window is used up.
    #[error(transparent)]
    RateLimited(#[from] RateLimitExceeded),
    /// An encoded message is longer than the queue's
    /// [`max_message_size`](crate::HueyBuilder::max_message_size); nothing was enqueued.
    #[error(
        "message of {size} bytes is over the limit of {limit} bytes (HueyBuilder::max_message_size)"
    )]
    MessageTooLarge {
        /// The encoded message's length in bytes.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
}

/// Why reading a result failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResultError {
    /// No result arrived in time (Huey's `ResultTimeout`).
    #[error("no result for task {id} within {waited:?}")]
    Timeout {
        /// The task id.
        id: String,
        /// How long the call waited.
        waited: Duration,
    },
    /// The task failed; the stored metadata says how (Huey's `TaskException`).
    #[error(transparent)]
    Failed(#[from] TaskFailure),
    /// The stored value is not of the handle's type.
    #[error("stored result does not decode")]
    Decode(#[from] serde_json::Error),
    /// The storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Results are turned off for this `Huey` (`results(false)`).
    #[error("results are disabled for this huey instance")]
    Disabled,
    /// A blocking call could not run its future.
    #[error("blocking call failed: {0}")]
    Blocking(String),
    /// Another library error while reading the result, kept whole.
    #[error(transparent)]
    Huey(HueyError),
}

/// Storage, decoding and blocking errors map to their own variants; any other error is
/// [`ResultError::Huey`].
impl From<HueyError> for ResultError {
    fn from(e: HueyError) -> Self {
        match e {
            HueyError::Storage(s) => ResultError::Storage(s),
            HueyError::Serde(s) => ResultError::Decode(s),
            HueyError::Blocking(s) => ResultError::Blocking(s),
            other => ResultError::Huey(other),
        }
    }
}

/// The registered tasks cannot form a registry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Two tasks were registered under one name.
    #[error(
        "two tasks are registered as `{name}`: `{first}` and `{second}`; give one of them \
         #[task(name = \"...\")]"
    )]
    DuplicateName {
        /// The shared name.
        name: String,
        /// Where the first is defined (`module::fn at file:line`).
        first: String,
        /// Where the second is defined.
        second: String,
    },
    /// No task is registered at all: the crate that defines them is probably not linked.
    #[error(
        "no task is registered: reference every crate that defines tasks from the binary, \
         e.g. with `huey_core::link_tasks!(my_tasks);`"
    )]
    Empty,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn special_errors_are_found_through_anyhow_and_box() {
        let e = anyhow::Error::from(RetryTask::new());
        assert!(matches!(TaskError::from_error(e), TaskError::Retry(_)));
        let b: BoxError = Box::new(CancelExecution::new("x"));
        assert!(matches!(TaskError::from_error(b), TaskError::Cancelled(_)));
        assert!(matches!(
            TaskError::from_error(TaskTimeout::new(Duration::from_secs(1))),
            TaskError::Timeout(_)
        ));
    }

    #[test]
    fn box_error_detail_has_source_chain() {
        let b: BoxError = Box::new(Outer(std::io::Error::other("inner")));
        match TaskError::from_error(b) {
            TaskError::Failed { message, detail } => {
                assert_eq!(message, "outer");
                assert_eq!(detail, "outer: inner");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    /// An error's `Display` never repeats its source's text: a reporter walking the chain
    /// would print the cause twice.
    #[test]
    fn display_does_not_repeat_the_source() {
        fn json() -> serde_json::Error {
            serde_json::from_str::<u32>("x").unwrap_err()
        }
        fn backend() -> StorageError {
            StorageError::Backend("connection refused".into())
        }
        let errors: Vec<Box<dyn std::error::Error>> = vec![
            Box::new(backend()),
            Box::new(HueyError::Serde(json())),
            Box::new(HueyError::Storage(backend())),
            Box::new(ResultError::Decode(json())),
            Box::new(ResultError::Storage(backend())),
            Box::new(ResultError::from(HueyError::Storage(backend()))),
            Box::new(ResultError::Huey(HueyError::Configuration("bad".into()))),
        ];
        for error in &errors {
            let shown = error.to_string();
            if let Some(source) = error.source() {
                assert!(
                    !shown.contains(&source.to_string()),
                    "{shown:?} repeats its source {source:?}"
                );
            }
        }
    }

    #[test]
    fn error_chain_shows_each_cause_once() {
        let error = HueyError::Storage(StorageError::Backend(Box::new(Outer(
            std::io::Error::other("inner"),
        ))));
        assert_eq!(error.to_string(), "storage error");
        assert_eq!(
            error_chain(&error).to_string(),
            "storage error: outer: inner"
        );
        // A cause that an outside error already printed is not printed again.
        #[derive(Debug, thiserror::Error)]
        #[error("loud: {0}")]
        struct Loud(#[source] std::io::Error);
        let loud = Loud(std::io::Error::other("inner"));
        assert_eq!(error_chain(&loud).to_string(), "loud: inner");
    }

    #[test]
    fn result_error_keeps_a_huey_error_whole() {
        let error = ResultError::from(HueyError::Locked(TaskLocked::new("l")));
        assert!(
            matches!(error, ResultError::Huey(HueyError::Locked(_))),
            "{error:?}"
        );
        let error = ResultError::from(HueyError::Storage(StorageError::Unsupported("x")));
        assert!(matches!(error, ResultError::Storage(_)), "{error:?}");
    }

    #[test]
    fn cancel_execution_message() {
        let c = CancelExecution::new("nope");
        assert_eq!(c.to_string(), "nope");
        assert_eq!(c.retry, None);
        assert_eq!(CancelExecution::default().to_string(), "task cancelled");
    }
}
