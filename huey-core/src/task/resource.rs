//! What `#[closing_task(res)]` and `#[context_task(obj)]` wrap around a task body.

use std::future::Future;

use crate::error::TaskError;

/// A resource opened before a task body and closed after it, whatever the outcome (value, error,
/// panic or timeout): the guide's `closing_task`, where `open` connects and `close` disconnects.
///
/// `open` yields a [`Handle`](Self::Handle) (a connection, say) that `close` gets back; with
/// `#[closing_task(RES, as_argument)]` the task's first parameter borrows it. Both methods are
/// async; a resource whose work is synchronous implements [`SyncResource`] instead and gets this
/// trait for free.
///
/// ```
/// use huey_core::{Resource, TaskError};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// /// Hands out numbered "connections" and counts those still open.
/// struct Connections { opened: AtomicUsize, open_now: AtomicUsize }
///
/// impl Resource for Connections {
///     type Handle = usize;
///     async fn open(&self) -> Result<usize, TaskError> {
///         self.open_now.fetch_add(1, Ordering::SeqCst);
///         Ok(self.opened.fetch_add(1, Ordering::SeqCst))
///     }
///     async fn close(&self, _connection: usize) {
///         self.open_now.fetch_sub(1, Ordering::SeqCst);
///     }
/// }
/// ```
pub trait Resource: Send + Sync {
    /// What `open` yields and `close` takes back; `()` when the body needs nothing from it.
    type Handle: Send;
    /// Opens the resource; an error fails the attempt without running the body.
    fn open(&self) -> impl Future<Output = Result<Self::Handle, TaskError>> + Send;
    /// Closes the resource.
    fn close(&self, handle: Self::Handle) -> impl Future<Output = ()> + Send;
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
///     type Handle = ();
///     fn open(&self) -> Result<(), TaskError> {
///         self.0.store(true, Ordering::SeqCst);
///         Ok(())
///     }
///     fn close(&self, _: ()) {
///         self.0.store(false, Ordering::SeqCst);
///     }
/// }
/// ```
pub trait SyncResource: Send + Sync {
    /// What `open` yields and `close` takes back.
    type Handle: Send;
    /// Opens the resource.
    fn open(&self) -> Result<Self::Handle, TaskError>;
    /// Closes the resource.
    fn close(&self, handle: Self::Handle);
}

impl<R: SyncResource> Resource for R {
    type Handle = R::Handle;
    async fn open(&self) -> Result<R::Handle, TaskError> {
        SyncResource::open(self)
    }
    async fn close(&self, handle: R::Handle) {
        SyncResource::close(self, handle)
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
