//! What `#[closing_task(res)]` and `#[context_task(obj)]` wrap around a task body.

use std::future::Future;

use crate::error::TaskError;

/// A resource opened before a task body and closed after it, whatever the outcome (value, error,
/// panic or timeout): the guide's `closing_task`, where `open` connects and `close` disconnects.
///
/// Both methods are async; a resource whose work is synchronous implements [`SyncResource`]
/// instead and gets this trait for free.
///
/// ```
/// use huey_core::{Resource, TaskError};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// struct Connections { open: AtomicUsize }
///
/// impl Resource for Connections {
///     async fn open(&self) -> Result<(), TaskError> {
///         self.open.fetch_add(1, Ordering::SeqCst);
///         Ok(())
///     }
///     async fn close(&self) {
///         self.open.fetch_sub(1, Ordering::SeqCst);
///     }
/// }
/// ```
pub trait Resource: Send + Sync {
    /// Opens the resource; an error fails the attempt without running the body.
    fn open(&self) -> impl Future<Output = Result<(), TaskError>> + Send;
    /// Closes the resource.
    fn close(&self) -> impl Future<Output = ()> + Send;
}

/// A [`Resource`] whose `open` and `close` are synchronous.
///
/// ```
/// use huey_core::{SyncResource, TaskError};
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// struct Flag(AtomicBool);
///
/// impl SyncResource for Flag {
///     fn open(&self) -> Result<(), TaskError> {
///         self.0.store(true, Ordering::SeqCst);
///         Ok(())
///     }
///     fn close(&self) {
///         self.0.store(false, Ordering::SeqCst);
///     }
/// }
/// ```
pub trait SyncResource: Send + Sync {
    /// Opens the resource.
    fn open(&self) -> Result<(), TaskError>;
    /// Closes the resource.
    fn close(&self);
}

impl<R: SyncResource> Resource for R {
    async fn open(&self) -> Result<(), TaskError> {
        SyncResource::open(self)
    }
    async fn close(&self) {
        SyncResource::close(self)
    }
}

/// The Rust form of Python's `with obj:` around a task body (`#[context_task(obj)]`).
///
/// `enter` runs before the body and its value is passed as the first argument when the task
/// says `as_argument`; `exit` runs after the body, told whether it failed.
///
/// ```
/// use huey_core::ContextManager;
///
/// struct Timer;
///
/// impl ContextManager for Timer {
///     type Value = std::time::Instant;
///     fn enter(&self) -> std::time::Instant {
///         std::time::Instant::now()
///     }
///     fn exit(&self, started: Option<std::time::Instant>, failed: bool) {
///         let _ = (started, failed);
///     }
/// }
/// ```
pub trait ContextManager: Send + Sync {
    /// What `enter` yields (`()` when the body does not need it).
    type Value: Send + 'static;
    /// Runs before the body.
    fn enter(&self) -> Self::Value;
    /// Runs after the body. `value` is what `enter` returned, unless the body consumed it as
    /// its argument.
    fn exit(&self, value: Option<Self::Value>, failed: bool);
}
