//! Per-worker state: what `#[on_startup]` hooks build and tasks receive as `State<T>`.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;

/// Values owned by one worker, by type.
///
/// Each worker (an async worker, a thread, a process) has its own `WorkerState`. `#[on_startup]`
/// hooks fill it once when the worker starts; every task that worker runs can take a
/// [`State<T>`] parameter, which is filled from it instead of from the message. This is the
/// shared-resources guide's "one connection per worker" with no globals and no locks.
///
/// The consumer puts its [`Huey`](crate::Huey) in every worker's state before the hooks run
/// (and immediate mode does the same), so a task can take `queue: State<Huey>` to enqueue
/// follow-up work or use a lock, rate limit or semaphore from its body.
///
/// ```
/// use huey_core::{State, WorkerState};
///
/// struct Db { url: String }
///
/// let mut state = WorkerState::new(0);
/// state.insert(Db { url: "postgres://".into() });
/// let db: State<Db> = state.get().expect("inserted above");
/// assert_eq!(db.url, "postgres://");
/// ```
#[derive(Debug, Default)]
pub struct WorkerState {
    worker: usize,
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl WorkerState {
    /// An empty state for worker number `worker`.
    pub fn new(worker: usize) -> Self {
        WorkerState {
            worker,
            values: HashMap::new(),
        }
    }

    /// The worker's number within its consumer (0-based).
    pub fn worker_id(&self) -> usize {
        self.worker
    }

    /// Stores `value`, replacing any earlier value of the same type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.values.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// The value of type `T`, if one was inserted.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<State<T>> {
        self.values
            .get(&TypeId::of::<T>())
            .and_then(|v| Arc::clone(v).downcast::<T>().ok())
            .map(State)
    }

    /// Whether a value of type `T` is present.
    pub fn contains<T: Send + Sync + 'static>(&self) -> bool {
        self.values.contains_key(&TypeId::of::<T>())
    }

    /// Removes the value of type `T` and returns it, if no running task still holds it.
    /// `#[on_shutdown]` hooks use it to close what `#[on_startup]` opened.
    pub fn take<T: Send + Sync + 'static>(&mut self) -> Option<T> {
        let value = self.values.remove(&TypeId::of::<T>())?;
        value
            .downcast::<T>()
            .ok()
            .and_then(|v| Arc::try_unwrap(v).ok())
    }
}

/// A task parameter filled from the worker's [`WorkerState`] rather than from the message.
///
/// ```
/// use huey_core::prelude::*;
///
/// struct Greeting(String);
///
/// #[task]
/// async fn greet(greeting: State<Greeting>, name: String) -> String {
///     format!("{} {name}", greeting.0)
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// // Called directly, the state is passed by hand.
/// let hello = State::new(Greeting("hello".into()));
/// assert_eq!(greet(hello, "ann".into()).await, "hello ann");
/// # }
/// ```
#[derive(Debug)]
pub struct State<T: ?Sized>(Arc<T>);

impl<T> State<T> {
    /// Wraps a value, for calling a task function directly.
    pub fn new(value: T) -> Self {
        State(Arc::new(value))
    }
}

impl<T: ?Sized> Clone for State<T> {
    fn clone(&self) -> Self {
        State(Arc::clone(&self.0))
    }
}

impl<T: ?Sized> Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized> AsRef<T> for State<T> {
    fn as_ref(&self) -> &T {
        &self.0
    }
}
