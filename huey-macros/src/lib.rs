//! Attribute macros for huey-rs. Use them through `huey_core` (`use huey_core::prelude::*;`).
//!
//! Each macro parses its input into a small model (`model`, `hooks`), validates it, and
//! expands it (`expand`); every error is a `syn::Error` on the user's span.

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
#[proc_macro_attribute]
pub fn task(args: TokenStream, item: TokenStream) -> TokenStream {
    run(
        model::TaskModel::parse(TaskKind::Plain, args.into(), item.into())
            .map(|m| expand::task(&m)),
    )
}

/// Declares a periodic task: `#[periodic_task(crontab(minute = "*/5"), retries = 1)]`.
/// The crontab follows Huey's grammar and is checked at compile time.
#[proc_macro_attribute]
pub fn periodic_task(args: TokenStream, item: TokenStream) -> TokenStream {
    run(
        model::TaskModel::parse(TaskKind::Periodic, args.into(), item.into())
            .map(|m| expand::task(&m)),
    )
}

/// A task wrapped in a resource: `#[closing_task(DB, retries = 1)]` opens `DB` before the body
/// and closes it after, whatever the outcome. `DB` implements `huey_core::Resource`; with
/// `as_argument` the first parameter borrows what `open` returned (`&DB::Handle`).
#[proc_macro_attribute]
pub fn closing_task(args: TokenStream, item: TokenStream) -> TokenStream {
    run(
        model::TaskModel::parse(TaskKind::Closing, args.into(), item.into())
            .map(|m| expand::task(&m)),
    )
}

/// A task wrapped in a context manager, Python's `with obj:`:
/// `#[context_task(OBJ, as_argument)]`. `OBJ` implements `huey_core::ContextManager`; with
/// `as_argument` the value of `enter` is the function's first parameter.
#[proc_macro_attribute]
pub fn context_task(args: TokenStream, item: TokenStream) -> TokenStream {
    run(
        model::TaskModel::parse(TaskKind::Context, args.into(), item.into())
            .map(|m| expand::task(&m)),
    )
}

/// Runs once in each worker when it starts: `fn(worker: &mut WorkerState)`, sync or async,
/// returning `()` or `Result<(), E>`.
#[proc_macro_attribute]
pub fn on_startup(args: TokenStream, item: TokenStream) -> TokenStream {
    run(hooks::expand(
        hooks::HookKind::Startup,
        args.into(),
        item.into(),
    ))
}

/// Runs once in each worker when it stops: `fn(worker: &mut WorkerState)`.
#[proc_macro_attribute]
pub fn on_shutdown(args: TokenStream, item: TokenStream) -> TokenStream {
    run(hooks::expand(
        hooks::HookKind::Shutdown,
        args.into(),
        item.into(),
    ))
}

/// Runs before every task: `fn(task: &Task) -> Result<(), CancelExecution>` (or any error type,
/// or `()`). Returning `CancelExecution` skips the task.
#[proc_macro_attribute]
pub fn pre_execute(args: TokenStream, item: TokenStream) -> TokenStream {
    run(hooks::expand(
        hooks::HookKind::PreExecute,
        args.into(),
        item.into(),
    ))
}

/// Runs after every task:
/// `fn(task: &Task, value: Option<&TaskValue>, error: Option<&TaskError>)`.
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
#[proc_macro_attribute]
pub fn signal(args: TokenStream, item: TokenStream) -> TokenStream {
    run(hooks::expand(
        hooks::HookKind::Signal,
        args.into(),
        item.into(),
    ))
}
