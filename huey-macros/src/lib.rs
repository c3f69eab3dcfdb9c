//! Attribute macros for huey-rs. Use them through `huey_core` (`use huey_core::prelude::*;`).
//!
//! Each macro parses its input into a small model (`model`, `hooks`), validates it, and
//! expands it (`expand`); every error is a `syn::Error` on the user's span.
//!
//! ## `crate = path`
//!
//! The generated code names `::huey_core`. A crate that reaches huey-core under another name
//! (a renamed dependency, or a facade crate that re-exports it) passes that path to each macro,
//! as with tokio's macros:
//!
//! ```ignore
//! // Cargo.toml: queue = { package = "huey-core", version = "0.1" }
//! use queue::prelude::*;
//!
//! #[task(crate = queue, retries = 3)]
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

/// Runs once in each worker when it starts: `fn(worker: &mut WorkerState)`, sync or async,
/// returning `()` or `Result<(), E>`. Its one option is `crate = path`:
/// `#[on_startup(crate = queue)]` where huey-core is a dependency renamed `queue`.
#[proc_macro_attribute]
pub fn on_startup(args: TokenStream, item: TokenStream) -> TokenStream {
    run(hooks::expand(
        hooks::HookKind::Startup,
        args.into(),
        item.into(),
    ))
}

/// Runs once in each worker when it stops: `fn(worker: &mut WorkerState)`. Its one option is
/// `crate = path`, as for [`macro@on_startup`].
#[proc_macro_attribute]
pub fn on_shutdown(args: TokenStream, item: TokenStream) -> TokenStream {
    run(hooks::expand(
        hooks::HookKind::Shutdown,
        args.into(),
        item.into(),
    ))
}

/// Runs before every task: `fn(task: &Task) -> Result<(), CancelExecution>` (or any error type,
/// or `()`). Returning `CancelExecution` skips the task. Its one option is `crate = path`, as
/// for [`macro@on_startup`].
#[proc_macro_attribute]
pub fn pre_execute(args: TokenStream, item: TokenStream) -> TokenStream {
    run(hooks::expand(
        hooks::HookKind::PreExecute,
        args.into(),
        item.into(),
    ))
}

/// Runs after every task:
/// `fn(task: &Task, value: Option<&TaskValue>, error: Option<&TaskError>)`. Its one option is
/// `crate = path`, as for [`macro@on_startup`].
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
#[proc_macro_attribute]
pub fn signal(args: TokenStream, item: TokenStream) -> TokenStream {
    run(hooks::expand(
        hooks::HookKind::Signal,
        args.into(),
        item.into(),
    ))
}
