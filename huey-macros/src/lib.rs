//! Attribute macros for huey-rs. Use them through `huey_core` (`use huey_core::prelude::*;`).
//!
//! Each macro parses its input into a small model (`model`, `hooks`), validates it, and
//! expands it (`expand`); every error is a `syn::Error` on the user's span.
//!
//! ## Where the generated code finds huey-core
//!
//! The generated code names huey-core as the calling crate's `Cargo.toml` does: its
//! dependency on `huey-core` (renamed or not), or else the `huey` facade crate, which
//! re-exports it. So `huey = "0.1"` alone, or `huey-core = "0.1"`, or
//! `queue = { package = "huey-core", version = "0.1" }`, all work with no option.
//!
//! A crate that reaches huey-core some other way (through a facade of its own) passes the
//! path to each macro with `crate = path`, as with tokio's macros:
//!
//! ```ignore
//! use my_facade::huey::prelude::*;
//!
//! #[task(crate = my_facade::huey, retries = 3)]
//! fn shout(text: String) -> String {
//!     text.to_uppercase()
//! }
//!
//! #[signal(complete, crate = my_facade::huey)]
//! fn done(signal: Signal, task: &Task) {}
//! ```
//!
//! The path must be a plain path (`queue`, `::queue`, `crate::facade::huey`), not a string.
//! `tests/renamed-lib` in the repository is this example compiled, every macro included.

use proc_macro::TokenStream;

mod attr;
mod expand;
mod hooks;
mod model;

use model::TaskKind;

fn run(result: syn::Result<proc_macro2::TokenStream>) -> TokenStream {
    result.unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Declares a task: `#[task(retries = 3, retry_delay = "2s", retry_backoff = 2.0, priority = 5,
/// expires = "1h", timeout = "30s", context, name = "app::stable_name")]`.
///
/// `lock = "name"` (or `lock(name = "name", ttl = "30s")`) runs the body only while holding
/// that lock; `rate_limit(limit = 10, per = "1s", retry = true, name = "shared")` counts each
/// attempt against a rate limit (named after the task unless `name` is given);
/// `semaphore(name = "uploads", value = 5, timeout = "300s")` runs the body only while holding
/// one of the semaphore's `value` slots (default 1), renewed while the body runs.
///
/// The function stays callable as written. Beside it, a type of the same name is the typed
/// handle: `add::call(1, 2)` builds a call, `add::enqueue(&huey, 1, 2)` enqueues one, and
/// `add::revoke(&huey, ..)`, `add::restore`, `add::map` act on the task type. See the
/// `huey_core` docs.
///
/// `crate = path` names huey-core when it is not `::huey_core` (see the crate docs).
#[proc_macro_attribute]
pub fn task(args: TokenStream, item: TokenStream) -> TokenStream {
    run(
        model::TaskModel::parse(TaskKind::Plain, args.into(), item.into())
            .map(|m| expand::task(&m)),
    )
}

/// Declares a periodic task: `#[periodic_task(crontab(minute = "*/5"), retries = 1)]`.
/// The crontab follows Huey's grammar and is checked at compile time. Takes the options of
/// [`macro@task`], `crate = path` included.
#[proc_macro_attribute]
pub fn periodic_task(args: TokenStream, item: TokenStream) -> TokenStream {
    run(
        model::TaskModel::parse(TaskKind::Periodic, args.into(), item.into())
            .map(|m| expand::task(&m)),
    )
}

/// A task wrapped in a resource: `#[closing_task(DB, retries = 1)]` opens `DB` before the body
/// and closes it after, whatever the outcome. `DB` implements `huey_core::Resource` (or
/// `SyncResource`), or dereferences to such a type at most twice: a
/// `static DB: LazyLock<Db> = LazyLock::new(Db::from_env)` built at first use, a `&'static`, a
/// `Deref` wrapper around a `OnceLock`. With `as_argument` the first parameter borrows what
/// `open` returned (`&Handle`). The options of [`macro@task`] (`crate = path` included) follow
/// `DB`.
#[proc_macro_attribute]
pub fn closing_task(args: TokenStream, item: TokenStream) -> TokenStream {
    run(
        model::TaskModel::parse(TaskKind::Closing, args.into(), item.into())
            .map(|m| expand::task(&m)),
    )
}

/// A task wrapped in a context manager, Python's `with obj:`:
/// `#[context_task(OBJ, as_argument)]`. `OBJ` implements `huey_core::ContextManager`, or
/// dereferences to such a type at most twice (a `LazyLock`, as for [`macro@closing_task`]);
/// with `as_argument` the value of `enter` is the function's first parameter. The options of
/// [`macro@task`] (`crate = path` included) follow `OBJ`.
#[proc_macro_attribute]
pub fn context_task(args: TokenStream, item: TokenStream) -> TokenStream {
    run(
        model::TaskModel::parse(TaskKind::Context, args.into(), item.into())
            .map(|m| expand::task(&m)),
    )
}

/// Runs once in each worker when it starts: `fn(worker: &mut WorkerState)` (or `fn()`), sync or
/// `async`, returning `()` or `Result<(), E>`. What it inserts into the worker's state, tasks and
/// pre/post-execute hooks take as `State<T>`. Its one option is `crate = path`:
/// `#[on_startup(crate = queue)]` where huey-core is a dependency renamed `queue`.
///
/// ```
/// use huey_core::prelude::*;
///
/// struct Pool(String);
///
/// impl Pool {
///     async fn connect(url: &str) -> Result<Pool, std::io::Error> {
///         Ok(Pool(url.to_owned()))
///     }
///     async fn close(self) {}
/// }
///
/// #[on_startup]
/// async fn connect(worker: &mut WorkerState) -> Result<(), std::io::Error> {
///     worker.insert(Pool::connect("postgres://localhost").await?);
///     Ok(())
/// }
///
/// #[on_shutdown]
/// async fn disconnect(worker: &mut WorkerState) {
///     if let Some(pool) = worker.take::<Pool>() {
///         pool.close().await;
///     }
/// }
///
/// #[task]
/// async fn query(pool: State<Pool>) -> String {
///     pool.0.clone()
/// }
/// ```
#[proc_macro_attribute]
pub fn on_startup(args: TokenStream, item: TokenStream) -> TokenStream {
    run(hooks::expand(
        hooks::HookKind::Startup,
        args.into(),
        item.into(),
    ))
}

/// Runs once in each worker when it stops: `fn(worker: &mut WorkerState)` (or `fn()`), sync or
/// `async`; `WorkerState::take` gets back what [`macro@on_startup`] inserted (see the example
/// there). Its one option is `crate = path`,
/// as for [`macro@on_startup`].
#[proc_macro_attribute]
pub fn on_shutdown(args: TokenStream, item: TokenStream) -> TokenStream {
    run(hooks::expand(
        hooks::HookKind::Shutdown,
        args.into(),
        item.into(),
    ))
}

/// Runs before every task: `fn(task: &Task) -> Result<(), CancelExecution>` (or any error type,
/// or `()`), sync or `async`. Returning `CancelExecution` skips the task; another error is logged
/// and the task runs. Its one option is `crate = path`, as for [`macro@on_startup`].
///
/// Like a task, the hook may also take `State<T>` parameters, anywhere in its list: they are
/// filled from the state of the worker that runs the task (what [`macro@on_startup`] inserted,
/// and the `Huey` itself), so a hook reuses the worker's connection rather than opening one per
/// call. When the worker holds no `T`, the hook does not run and its failure is logged, naming
/// `T`.
///
/// ```
/// use huey_core::prelude::*;
/// use huey_core::Executed;
///
/// /// Filled by an `#[on_startup]` hook in a real worker.
/// struct Maintenance(bool);
///
/// #[pre_execute]
/// async fn not_during_maintenance(
///     task: &Task,
///     maintenance: State<Maintenance>,
/// ) -> Result<(), CancelExecution> {
///     if maintenance.0 {
///         return Err(CancelExecution::new("down for maintenance"));
///     }
///     Ok(())
/// }
///
/// #[task]
/// fn work() {}
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), HueyError> {
/// let huey = Huey::memory("app");
/// work::enqueue(&huey).await?;
/// let mut worker = WorkerState::new(0);
/// worker.insert(Maintenance(true));
/// assert_eq!(huey.run_next(&worker).await?, Some(Executed::Cancelled));
/// # Ok(())
/// # }
/// ```
#[proc_macro_attribute]
pub fn pre_execute(args: TokenStream, item: TokenStream) -> TokenStream {
    run(hooks::expand(
        hooks::HookKind::PreExecute,
        args.into(),
        item.into(),
    ))
}

/// Runs after every task:
/// `fn(task: &Task, value: Option<&TaskValue>, error: Option<&TaskError>)`, sync or `async`,
/// returning `()` or `Result<(), E>` (an error is logged). Like [`macro@pre_execute`], it may also
/// take `State<T>` parameters from the worker's state. Its one option is `crate = path`, as for
/// [`macro@on_startup`].
///
/// ```
/// use huey_core::prelude::*;
/// use std::sync::Mutex;
///
/// /// The worker's connection to an audit store, opened once by an `#[on_startup]` hook.
/// #[derive(Default)]
/// struct AuditLog(Mutex<Vec<String>>);
///
/// #[post_execute]
/// async fn audit(
///     task: &Task,
///     _value: Option<&TaskValue>,
///     error: Option<&TaskError>,
///     log: State<AuditLog>,
/// ) {
///     let outcome = if error.is_some() { "failed" } else { "done" };
///     log.0.lock().unwrap().push(format!("{} {outcome}", task.name()));
/// }
///
/// #[task(name = "work")]
/// fn work() {}
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), HueyError> {
/// let huey = Huey::memory("app");
/// work::enqueue(&huey).await?;
/// let mut worker = WorkerState::new(0);
/// worker.insert(AuditLog::default());
/// huey.run_next(&worker).await?;
/// let log = worker.get::<AuditLog>().unwrap();
/// assert_eq!(*log.0.lock().unwrap(), ["work done"]);
/// # Ok(())
/// # }
/// ```
#[proc_macro_attribute]
pub fn post_execute(args: TokenStream, item: TokenStream) -> TokenStream {
    run(hooks::expand(
        hooks::HookKind::PostExecute,
        args.into(),
        item.into(),
    ))
}

/// Handles signals: `#[signal(complete, error)]` or `#[signal]` for every signal.
/// `fn(signal: Signal, task: &Task)` or `fn(signal: Signal, task: &Task, error: Option<&TaskError>)`.
/// `crate = path` may stand among the signal names: `#[signal(complete, crate = queue)]`.
///
/// Unlike the other hooks, a handler is a plain `fn` without `State<T>`: as in Huey it runs
/// synchronously where the signal fires, which is not always a worker (`enqueued` fires in the
/// producer). Spawn async work from it if needed.
#[proc_macro_attribute]
pub fn signal(args: TokenStream, item: TokenStream) -> TokenStream {
    run(hooks::expand(
        hooks::HookKind::Signal,
        args.into(),
        item.into(),
    ))
}
