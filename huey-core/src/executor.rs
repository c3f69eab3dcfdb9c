//! The executor: runs one message in Huey 3.5.4's order (ETA, revoked, expired, signals and
//! pre hooks, the body under its timeout, result or error stored, post hooks, completion or
//! retry).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use tokio::sync::Notify;

use crate::error::{HueyError, StorageError, TaskError, TaskFailure};
use crate::group::MemberResult;
use crate::huey::{Huey, Revocation};
use crate::message::Message;
use crate::registry::{Invocation, Outcome, Registry, TaskDescriptor};
use crate::result::StoredResult;
use crate::retry::{RetryPlan, plan_retry};
use crate::signals::{PostHook, PreHook, Signal};
use crate::state::WorkerState;
use crate::storage::Delivery;
use crate::task::{Task, TaskValue, chrono_duration};
use serde_json::value::RawValue;

/// How an execution ended, for the worker's bookkeeping and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Executed {
    /// Moved to the schedule because its ETA is in the future.
    Scheduled,
    /// Revoked, so skipped.
    Revoked,
    /// Expired, so skipped.
    Expired,
    /// Cancelled by a pre-execute hook.
    Cancelled,
    /// Ran and returned a value.
    Completed,
    /// Ran and failed; it will be retried.
    Retrying,
    /// Ran and failed for good.
    Failed,
}

/// The claim being executed, when the message came from a dequeue. A successful result is
/// stored and the claim acknowledged in one storage call.
pub(crate) struct Claim<'a> {
    pub delivery: &'a Delivery,
    pub acked: bool,
    /// Released when the body has ended, so the worker can start its next task while this
    /// one's result is written.
    pub body: Option<&'a BodySlot<'a>>,
}

/// A worker's one running body. Released exactly once per task: by the executor when the body
/// ends, or on drop when the task ended without running one (revoked, expired, interrupted).
pub(crate) struct BodySlot<'a> {
    free: &'a Notify,
    released: AtomicBool,
}

impl<'a> BodySlot<'a> {
    pub fn new(free: &'a Notify) -> Self {
        Self {
            free,
            released: AtomicBool::new(false),
        }
    }

    pub fn release(&self) {
        if !self.released.swap(true, Ordering::Relaxed) {
            self.free.notify_one();
        }
    }
}

impl Drop for BodySlot<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

/// Runs `message` (whose task is `descriptor`) once, as a worker does.
pub(crate) async fn execute(
    huey: &Huey,
    descriptor: &'static TaskDescriptor,
    state: &WorkerState,
    message: Message,
    now: DateTime<Utc>,
    claim: Option<&mut Claim<'_>>,
) -> Result<Executed, StorageError> {
    let storage = huey.storage();
    let mut task = Task::from_message(message);

    if let Some(eta) = task.eta().filter(|eta| *eta > now) {
        storage
            .add_to_schedule(huey.encode_message(task.message()), eta, task.priority())
            .await?;
        huey.emit(Signal::Scheduled, &task, None);
        return Ok(Executed::Scheduled);
    }
    let revocations = claim.as_ref().is_none_or(|c| c.delivery.revocations);
    let revocation = if revocations {
        huey.revocation(&task, now, false)
            .await
            .map_err(storage_error)?
    } else {
        None
    };
    if let Some(revocation) = revocation {
        huey.emit(Signal::Revoked, &task, None);
        // A rescheduled copy carries the pipeline and chord membership on.
        if revocation == Revocation::Revoked {
            skip_downstream(huey, &task, "revoked").await?;
        }
        return Ok(Executed::Revoked);
    }
    if task.expires_at().is_some_and(|at| at < now) {
        huey.emit(Signal::Expired, &task, None);
        skip_downstream(huey, &task, "expired").await?;
        return Ok(Executed::Expired);
    }

    huey.emit(Signal::Executing, &task, None);
    if run_pre_hooks(huey, &task).await {
        huey.emit(Signal::Canceled, &task, None);
        skip_downstream(huey, &task, "cancelled by a pre-execute hook").await?;
        return Ok(Executed::Cancelled);
    }

    task.start_clock();
    let task = Arc::new(task);
    let outcome = invoke_admitted(huey, descriptor, Arc::clone(&task), state).await;
    if let Some(body) = claim.as_ref().and_then(|c| c.body) {
        body.release();
    }
    let task = Arc::try_unwrap(task).unwrap_or_else(|shared| Task::clone(&shared));

    // A revoke that arrived while the task ran is cleaned up, as in Huey.
    let revoke_key = (!task.is_periodic()).then(|| format!("r:{}", task.id()));
    match outcome {
        Ok(value) => {
            complete(huey, &task, value, revoke_key.as_deref(), claim).await?;
            Ok(Executed::Completed)
        }
        Err(error) => {
            if let Some(key) = &revoke_key {
                storage.delete_data(key).await?;
            }
            fail(huey, task, error, now).await
        }
    }
}

/// Runs one attempt inside the task's declared rate limit, semaphore and lock: a rejection by
/// any is the attempt's error, and the body runs only while holding the semaphore slot
/// (renewed while it runs) and the lock. The rate limit comes first, so a rejected attempt
/// holds nothing; a lock rejection gives the slot back at once. Both are released before the
/// worker moves on; if this future is dropped mid-body (an immediate shutdown), the guards'
/// drops spawn the releases.
async fn invoke_admitted(
    huey: &Huey,
    descriptor: &'static TaskDescriptor,
    task: Arc<Task>,
    state: &WorkerState,
) -> Outcome {
    if let Some(spec) = &descriptor.rate_limit {
        spec.rate_limit(huey).acquire().await?;
    }
    let slot = match &descriptor.semaphore {
        Some(spec) => Some(spec.semaphore(huey).acquire().await?),
        None => None,
    };
    let guard = match &descriptor.lock {
        Some(spec) => match spec.lock(huey).acquire().await {
            Ok(guard) => Some(guard),
            Err(rejected) => {
                if let Some(slot) = slot {
                    slot.release_logged().await;
                }
                return Err(rejected.into());
            }
        },
        None => None,
    };
    let body = (descriptor.invoke)(Invocation { task, state });
    let outcome = match &slot {
        Some(slot) => slot.renew_while(body).await,
        None => body.await,
    };
    if let Some(guard) = guard {
        guard.release_logged().await;
    }
    if let Some(slot) = slot {
        slot.release_logged().await;
    }
    outcome
}

/// Runs a message inside `enqueue` (immediate mode).
pub(crate) async fn execute_immediate(huey: &Huey, message: Message) -> Result<(), HueyError> {
    let registry = Registry::global()?;
    let descriptor = registry.get(&message.name).ok_or_else(|| {
        HueyError::Configuration(format!("no task is registered as `{}`", message.name))
    })?;
    // Immediate mode has no workers, so no startup hooks: the state holds only the queue.
    let mut state = WorkerState::new(0);
    state.insert(huey.clone());
    execute(huey, descriptor, &state, message, Utc::now(), None).await?;
    Ok(())
}

fn storage_error(e: HueyError) -> StorageError {
    match e {
        HueyError::Storage(s) => s,
        other => StorageError::Backend(Box::new(other)),
    }
}

/// Returns whether a hook cancelled the task. Other hook failures are logged and ignored.
async fn run_pre_hooks(huey: &Huey, task: &Task) -> bool {
    for hook in huey.hooks().pre_hooks() {
        let (name, result) = match &hook {
            PreHook::Registered(name, f) => {
                let r = AssertUnwindSafe(f(task)).catch_unwind().await;
                (
                    name.to_string(),
                    r.unwrap_or_else(|p| Err(TaskError::from_panic(p))),
                )
            }
            PreHook::Dynamic(_, name, f) => {
                let r = std::panic::catch_unwind(AssertUnwindSafe(|| f(task)));
                (
                    name.clone(),
                    r.unwrap_or_else(|p| Err(TaskError::from_panic(p))),
                )
            }
        };
        match result {
            Ok(()) => {}
            Err(TaskError::Cancelled(cancel)) => {
                tracing::info!(hook = %name, reason = %cancel, "pre-execute hook cancelled the task");
                return true;
            }
            Err(error) => tracing::error!(hook = %name, %error, "pre-execute hook failed"),
        }
    }
    false
}

async fn run_post_hooks(
    huey: &Huey,
    task: &Task,
    value: Option<&TaskValue>,
    error: Option<&TaskError>,
) {
    for hook in huey.hooks().post_hooks() {
        let failed = match &hook {
            PostHook::Registered(name, f) => AssertUnwindSafe(f(task, value, error))
                .catch_unwind()
                .await
                .err()
                .map(|p| (name.to_string(), p)),
            PostHook::Dynamic(_, name, f) => {
                std::panic::catch_unwind(AssertUnwindSafe(|| f(task, value, error)))
                    .err()
                    .map(|p| (name.clone(), p))
            }
        };
        if let Some((name, payload)) = failed {
            let error = TaskError::from_panic(payload);
            tracing::error!(hook = %name, %error, "post-execute hook failed");
        }
    }
}

async fn complete(
    huey: &Huey,
    task: &Task,
    value: TaskValue,
    revoke_key: Option<&str>,
    claim: Option<&mut Claim<'_>>,
) -> Result<(), StorageError> {
    let stored =
        (huey.results_enabled() && !task.is_periodic() && (!value.is_none() || huey.store_none()))
            .then(|| huey.encode_value(StoredResult::Ok(value.raw().to_owned()).encode()));
    let next = match &task.message().on_complete {
        Some(next) => Some(next.with_parent(value.raw()).map_err(backend_error)?),
        None => None,
    };
    let storage = huey.storage();
    match claim {
        // Result, revoke clean-up and acknowledgement in one storage call.
        Some(claim) => {
            // The next stage is stored before the claim is settled, so a crash in between
            // runs this stage again rather than losing the rest of the pipeline.
            match next {
                Some(next) => huey.enqueue_raw(next).await.map_err(storage_error)?,
                None => record_chord(huey, task, MemberResult::Ok(value.raw())).await?,
            }
            let result = stored.map(|bytes| (task.id(), bytes));
            storage.settle(claim.delivery, result, revoke_key).await?;
            claim.acked = true;
            run_post_hooks(huey, task, Some(&value), None).await;
            huey.emit(Signal::Complete, task, None);
        }
        // Immediate mode: Huey's order, so the next stage runs after this one has finished.
        None => {
            if let Some(bytes) = stored {
                storage.put_result(task.id(), bytes).await?;
            }
            if let Some(key) = revoke_key {
                storage.delete_data(key).await?;
            }
            run_post_hooks(huey, task, Some(&value), None).await;
            huey.emit(Signal::Complete, task, None);
            match next {
                Some(next) => huey.enqueue_raw(next).await.map_err(storage_error)?,
                None => record_chord(huey, task, MemberResult::Ok(value.raw())).await?,
            }
        }
    }
    Ok(())
}

/// Gives the chord this task's pipeline belongs to (if any) the pipeline's outcome: its last
/// stage's value, or the failure or skip of any stage. The last member to have an outcome
/// enqueues the callback with them all.
async fn record_chord(
    huey: &Huey,
    task: &Task,
    outcome: MemberResult<&RawValue>,
) -> Result<(), StorageError> {
    let Some(member) = &task.message().tail().chord else {
        return Ok(());
    };
    let storage = huey.storage();
    let encoded = serde_json::to_vec(&outcome).map_err(backend_error)?;
    let Some(outcomes) = storage
        .chord_record(&member.id, member.index, member.size, encoded)
        .await?
    else {
        return Ok(());
    };
    let outcomes = outcomes
        .iter()
        .map(|bytes| serde_json::from_slice::<&RawValue>(bytes))
        .collect::<Result<Vec<_>, _>>()
        .and_then(|list| serde_json::value::to_raw_value(&list))
        .map_err(backend_error)?;
    let callback = member
        .callback
        .with_parent(&outcomes)
        .map_err(backend_error)?;
    huey.enqueue_raw(callback).await.map_err(storage_error)?;
    storage.chord_clear(&member.id).await
}

/// A skipped stage ends its pipeline: the later stages get a `skipped` failure, so their
/// result handles do not wait for ever, and its chord (if any) a skipped member.
async fn skip_downstream(huey: &Huey, task: &Task, why: &str) -> Result<(), StorageError> {
    record_chord(huey, task, MemberResult::Skipped).await?;
    if task.message().on_complete.is_none() || !huey.results_enabled() {
        return Ok(());
    }
    let failure = TaskFailure {
        error: format!("an earlier pipeline stage was {why}"),
        kind: "skipped".to_owned(),
        retries: 0,
        traceback: String::new(),
        task_id: task.id().to_owned(),
    };
    put_downstream(huey, task, &failure).await
}

/// Writes `failure` as the result of every later pipeline stage.
async fn put_downstream(
    huey: &Huey,
    task: &Task,
    failure: &TaskFailure,
) -> Result<(), StorageError> {
    let stored = huey.encode_value(StoredResult::Err(failure.clone()).encode());
    for later in task.message().stages().skip(1) {
        huey.storage().put_result(&later.id, stored.clone()).await?;
    }
    Ok(())
}

fn backend_error(e: impl std::error::Error + Send + Sync + 'static) -> StorageError {
    StorageError::Backend(Box::new(e))
}

async fn fail(
    huey: &Huey,
    mut task: Task,
    error: TaskError,
    now: DateTime<Utc>,
) -> Result<Executed, StorageError> {
    let plan: RetryPlan = plan_retry(&task, &error, now);
    match &error {
        TaskError::Timeout(_) => huey.emit(Signal::Timeout, &task, Some(&error)),
        TaskError::Cancelled(_) => huey.emit(Signal::Canceled, &task, Some(&error)),
        TaskError::Retry(_) => {}
        TaskError::Locked(_) => huey.emit(Signal::Locked, &task, Some(&error)),
        TaskError::RateLimited(_) => huey.emit(Signal::RateLimited, &task, Some(&error)),
        TaskError::Failed { .. } | TaskError::Panicked { .. } => {
            huey.emit(Signal::Error, &task, Some(&error))
        }
    }
    match &error {
        TaskError::Retry(_) => tracing::info!(%error, "task asked to be retried"),
        // Expected under contention: not a warning while it will be retried.
        TaskError::Locked(_) | TaskError::RateLimited(_) if plan.retries > 0 => {
            tracing::info!(%error, retries = plan.retries, "task not admitted; it will be retried")
        }
        _ => tracing::warn!(%error, retries = plan.retries, "task failed"),
    }
    task.message_mut().retries = plan.retries;

    let is_final = plan.retries == 0;
    let surface = is_final || (huey.store_intermediate_errors() && !plan.retrying_error);
    let failure = TaskFailure {
        error: error.to_string(),
        kind: error.kind().to_owned(),
        retries: plan.retries,
        traceback: error.detail(),
        task_id: task.id().to_owned(),
    };
    if surface && huey.results_enabled() {
        huey.storage()
            .put_result(
                task.id(),
                huey.encode_value(StoredResult::Err(failure.clone()).encode()),
            )
            .await?;
        if is_final {
            put_downstream(huey, &task, &failure).await?;
        }
    }
    run_post_hooks(huey, &task, None, Some(&error)).await;
    if surface && let Some(handler) = &task.message().on_error {
        let failure = serde_json::value::to_raw_value(&failure).map_err(backend_error)?;
        let handler = handler.with_parent(&failure).map_err(backend_error)?;
        huey.enqueue_raw(handler).await.map_err(storage_error)?;
    }
    if is_final {
        record_chord(huey, &task, MemberResult::Failed(failure)).await?;
        return Ok(Executed::Failed);
    }

    huey.emit(Signal::Retrying, &task, None);
    let message = task.message_mut();
    message.retries -= 1;
    let eta = plan.eta.or_else(|| {
        let delay = message.retry_delay_duration();
        (!delay.is_zero()).then(|| {
            if message.retry_backoff > 0.0 {
                message.retry_delay *= message.retry_backoff;
            }
            now + chrono_duration(delay)
        })
    });
    let storage = huey.storage();
    match eta {
        Some(eta) => {
            message.eta = Some(eta);
            storage
                .add_to_schedule(huey.encode_message(message), eta, message.priority)
                .await?;
            huey.emit(Signal::Scheduled, &task, None);
        }
        None => {
            storage
                .enqueue(huey.encode_message(message), message.priority)
                .await?;
            huey.emit(Signal::Enqueued, &task, None);
        }
    }
    Ok(Executed::Retrying)
}
