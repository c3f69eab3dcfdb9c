//! What `#[closing_task(res)]` and `#[context_task(obj)]` wrap around a task body.

use std::future::Future;

use crate::error::TaskError;

/// A resource opened before a task body and closed after it, whatever the outcome (value, error,
/// panic or timeout): the guide's `closing_task`, where `open` connects and `close` disconnects.
///
/// `open` yields a [`Handle`](Self::Handle) (a connection, say) that `close` gets back; with
/// `#[closing_task(RES, as_argument)]` the task's first parameter borrows it. Both methods are
/// async; a resource whose work is synchronous implements [`SyncResource`] instead and gets this
/// trait for free. The macro's `RES` may also dereference to a resource (at most twice), so a
/// `static DB: LazyLock<Db>` whose configuration comes from the environment works as it is.
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

/// How `#[closing_task(X)]` and `#[context_task(X)]` find what they wrap: `X` itself, or what
/// it dereferences to once or twice, so that a `LazyLock` static (configuration read from the
/// environment), a `&'static` or a `Deref` wrapper around a `OnceLock` all work. Not a public
/// API.
///
/// Method resolution tries receivers from the most references down (autoref specialisation):
/// `(&&&Lookup(&x)).find()` takes `x` when it is the trait's type, else `*x`, else `**x`, and
/// otherwise reaches the fallback, whose bound carries the error message that says what to
/// write (rather than "`SyncResource` is not implemented for `LazyLock<…>`").
#[doc(hidden)]
pub mod lookup {
    use std::ops::Deref;

    use super::{ContextManager, Resource};

    /// What the macros wrap around `&X` to look it up.
    pub struct Lookup<'a, T: ?Sized>(pub &'a T);

    /// `X` itself is a resource.
    pub trait ResourceItself<'a> {
        type Found: Resource + ?Sized;
        fn find_resource(self) -> &'a Self::Found;
    }
    impl<'a, T: Resource + ?Sized> ResourceItself<'a> for &&&Lookup<'a, T> {
        type Found = T;
        fn find_resource(self) -> &'a T {
            self.0
        }
    }

    /// `*X` is a resource.
    pub trait ResourceOnce<'a> {
        type Found: Resource + ?Sized;
        fn find_resource(self) -> &'a Self::Found;
    }
    impl<'a, T: Deref<Target: Resource> + ?Sized> ResourceOnce<'a> for &&Lookup<'a, T> {
        type Found = T::Target;
        fn find_resource(self) -> &'a T::Target {
            self.0
        }
    }

    /// `**X` is a resource.
    pub trait ResourceTwice<'a> {
        type Found: Resource + ?Sized;
        fn find_resource(self) -> &'a Self::Found;
    }
    impl<'a, T> ResourceTwice<'a> for &Lookup<'a, T>
    where
        T: Deref<Target: Deref<Target: Resource>> + ?Sized,
    {
        type Found = <T::Target as Deref>::Target;
        fn find_resource(self) -> &'a Self::Found {
            self.0
        }
    }

    /// None of them: the bound fails with [`ClosingResource`]'s message.
    pub trait NotAResource<'a, T: ?Sized> {
        fn find_resource(self) -> &'a T
        where
            T: ClosingResource;
    }
    impl<'a, T: ?Sized> NotAResource<'a, T> for Lookup<'a, T> {
        fn find_resource(self) -> &'a T
        where
            T: ClosingResource,
        {
            self.0
        }
    }

    /// What `#[closing_task(X)]` needs of `X` when `X` does not dereference to a resource.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not a resource, and does not dereference to one",
        label = "`#[closing_task]` wraps the task in this resource's open and close",
        note = "implement `huey_core::Resource` (async) or `huey_core::SyncResource` for a type \
                and name a static of it: `static DB: Db = Db::new();`, or, built at first use, \
                `static DB: LazyLock<Db> = LazyLock::new(Db::from_env);`",
        note = "anything that dereferences to a resource at most twice works: a `LazyLock`, a \
                `&'static`, a `Deref` wrapper around a `OnceLock`"
    )]
    pub trait ClosingResource: Resource {}
    impl<R: Resource + ?Sized> ClosingResource for R {}

    /// `X` itself is a context manager.
    pub trait ContextItself<'a> {
        type Found: ContextManager + ?Sized;
        fn find_context(self) -> &'a Self::Found;
    }
    impl<'a, T: ContextManager + ?Sized> ContextItself<'a> for &&&Lookup<'a, T> {
        type Found = T;
        fn find_context(self) -> &'a T {
            self.0
        }
    }

    /// `*X` is a context manager.
    pub trait ContextOnce<'a> {
        type Found: ContextManager + ?Sized;
        fn find_context(self) -> &'a Self::Found;
    }
    impl<'a, T: Deref<Target: ContextManager> + ?Sized> ContextOnce<'a> for &&Lookup<'a, T> {
        type Found = T::Target;
        fn find_context(self) -> &'a T::Target {
            self.0
        }
    }

    /// `**X` is a context manager.
    pub trait ContextTwice<'a> {
        type Found: ContextManager + ?Sized;
        fn find_context(self) -> &'a Self::Found;
    }
    impl<'a, T> ContextTwice<'a> for &Lookup<'a, T>
    where
        T: Deref<Target: Deref<Target: ContextManager>> + ?Sized,
    {
        type Found = <T::Target as Deref>::Target;
        fn find_context(self) -> &'a Self::Found {
            self.0
        }
    }

    /// None of them: the bound fails with [`ContextObject`]'s message.
    pub trait NotAContextManager<'a, T: ?Sized> {
        fn find_context(self) -> &'a T
        where
            T: ContextObject;
    }
    impl<'a, T: ?Sized> NotAContextManager<'a, T> for Lookup<'a, T> {
        fn find_context(self) -> &'a T
        where
            T: ContextObject,
        {
            self.0
        }
    }

    /// What `#[context_task(X)]` needs of `X` when `X` does not dereference to a context
    /// manager.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not a context manager, and does not dereference to one",
        label = "`#[context_task]` wraps the task in this context manager's enter and exit",
        note = "implement `huey_core::ContextManager` for a type and name a static of it: \
                `static TIMER: Timer = Timer::new();`, or, built at first use, \
                `static TIMER: LazyLock<Timer> = LazyLock::new(Timer::from_env);`",
        note = "anything that dereferences to a context manager at most twice works: a \
                `LazyLock`, a `&'static`, a `Deref` wrapper around a `OnceLock`"
    )]
    pub trait ContextObject: ContextManager {}
    impl<C: ContextManager + ?Sized> ContextObject for C {}
}
