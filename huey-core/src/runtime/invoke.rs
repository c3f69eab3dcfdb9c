//! Runtime support for the code that `#[task]` generates: decoding arguments, filling `State<T>`
//! parameters, and running a body under its timeout with panics caught. Not a public API.

use std::any::type_name;
use std::fmt::Display;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use futures::FutureExt;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{TaskError, TaskTimeout};
use crate::runtime::registry::{Invocation, Outcome};
use crate::task::state::State;
use crate::task::{Task, TaskValue};

impl Invocation<'_> {
    /// The running task.
    pub fn task(&self) -> &Arc<Task> {
        &self.task
    }

    /// Decodes the message arguments as `A`.
    pub fn args<A: DeserializeOwned>(&self) -> Result<A, TaskError> {
        serde_json::from_str(self.task.args_json()).map_err(|e| {
            TaskError::msg(format!(
                "arguments of {} do not decode as {}: {e}",
                self.task.name(),
                type_name::<A>()
            ))
        })
    }

    /// The worker's value of type `T`.
    pub fn state<T: Send + Sync + 'static>(&self) -> Result<State<T>, TaskError> {
        self.state.get::<T>().ok_or_else(|| {
            TaskError::msg(format!(
                "task {} needs State<{}> but this worker has none: insert it with \
                 WorkerState::insert in an #[on_startup] hook",
                self.task.name(),
                type_name::<T>()
            ))
        })
    }
}

/// A task return type that can fail: `Result<T, E>` for any displayable `E`.
pub trait IntoTaskResult {
    /// The success type.
    type Output;
    /// Splits the value into success or a [`TaskError`].
    fn into_task_result(self) -> Result<Self::Output, TaskError>;
}

impl<T, E: Display + 'static> IntoTaskResult for Result<T, E> {
    type Output = T;
    fn into_task_result(self) -> Result<T, TaskError> {
        self.map_err(TaskError::from_error)
    }
}

/// Encodes a body's result for storage.
pub fn encode<T: Serialize>(result: Result<T, TaskError>) -> Outcome {
    let value = result?;
    serde_json::value::to_raw_value(&value)
        .map(TaskValue::new)
        .map_err(|e| TaskError::msg(format!("task result does not serialize: {e}")))
}

/// Runs an async body: panics become failures, and the body is cancelled at the task's
/// deadline.
pub async fn guard<F: Future<Output = Outcome>>(task: &Task, body: F) -> Outcome {
    let body = AssertUnwindSafe(body).catch_unwind();
    let caught = match (task.time_remaining(), task.timeout()) {
        (Some(remaining), Some(timeout)) => match tokio::time::timeout(remaining, body).await {
            Ok(caught) => caught,
            Err(_) => return Err(TaskError::Timeout(TaskTimeout::new(timeout))),
        },
        _ => body.await,
    };
    caught.unwrap_or_else(|payload| Err(TaskError::from_panic(payload)))
}

/// Runs a sync body with panics caught.
pub fn guard_sync(body: impl FnOnce() -> Outcome) -> Outcome {
    catch_unwind(AssertUnwindSafe(body))
        .unwrap_or_else(|payload| Err(TaskError::from_panic(payload)))
}

/// Runs a sync task on the blocking pool, so it never stalls the async workers.
pub async fn run_blocking(body: impl FnOnce() -> Outcome + Send + 'static) -> Outcome {
    match tokio::task::spawn_blocking(move || guard_sync(body)).await {
        Ok(outcome) => outcome,
        Err(e) if e.is_panic() => Err(TaskError::from_panic(e.into_panic())),
        Err(e) => Err(TaskError::msg(format!("blocking task did not finish: {e}"))),
    }
}

/// Closes a closing task's resource after its (async) body. Without a timeout the close is
/// awaited. With one, the attempt's outcome is reported at the deadline if the close is still
/// running then (at once, when the body ran past it and was cut off), so the executor settles
/// it on time; the close goes on, and the invocation ends when it has finished.
pub async fn close_after<F: Future<Output = ()>>(
    invocation: &Invocation<'_>,
    outcome: Outcome,
    close: F,
) -> Outcome {
    let task = &invocation.task;
    let Some(remaining) = task.timeout().and(task.time_remaining()) else {
        close.await;
        return outcome;
    };
    let mut close = std::pin::pin!(close);
    if tokio::time::timeout(remaining, close.as_mut())
        .await
        .is_err()
    {
        invocation.early.report(outcome.clone());
        close.await;
    }
    outcome
}

/// A channel on which a sync closing task's body hands over its outcome before the resource
/// closes (see [`run_blocking_closing`]).
pub fn body_outcome() -> (
    tokio::sync::oneshot::Sender<Outcome>,
    tokio::sync::oneshot::Receiver<Outcome>,
) {
    tokio::sync::oneshot::channel()
}

/// Runs a sync closing task (open, body, close) on the blocking pool. Without a timeout it is
/// [`run_blocking`]. With one, when the deadline passes first, the attempt's outcome is reported
/// then: the body's, sent on `body_done` if the body ended and its resource is still closing,
/// or a timeout if the body is still running (a thread cannot be stopped). The thread runs on
/// and the invocation ends with it; its late outcome no longer counts.
pub async fn run_blocking_closing(
    invocation: &Invocation<'_>,
    mut body_done: tokio::sync::oneshot::Receiver<Outcome>,
    body: impl FnOnce() -> Outcome + Send + 'static,
) -> Outcome {
    let task = &invocation.task;
    let run = run_blocking(body);
    let (Some(timeout), Some(remaining)) = (task.timeout(), task.time_remaining()) else {
        return run.await;
    };
    let mut run = std::pin::pin!(run);
    if let Ok(outcome) = tokio::time::timeout(remaining, run.as_mut()).await {
        return outcome;
    }
    let outcome = body_done
        .try_recv()
        .unwrap_or_else(|_| Err(TaskError::Timeout(TaskTimeout::new(timeout))));
    invocation.early.report(outcome.clone());
    let _late = run.await;
    outcome
}

/// Runs a resource's future from a sync task body, which is already on a blocking thread.
pub fn block_on_here<F: Future>(future: F) -> F::Output {
    tokio::runtime::Handle::current().block_on(future)
}
