//! The executor: runs one message in Huey 3.5.4's order (ETA, revoked, expired, signals and
//! pre hooks, the body under its timeout, result or error stored, post hooks, completion or
//! retry).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

use super::coordination::invoke_admitted;
use super::hooks::{PostHook, PreHook};
use super::huey::Huey;
use super::registry::{Early, Invocation, TaskDescriptor};
use super::retry::{RetryPlan, plan_retry};
use super::revocation::{Read, Revocation};
use crate::error::{HueyError, StorageError, TaskError, TaskFailure};
use crate::metrics;
use crate::stats::{Measured, Tally};
use crate::storage::{Delivery, Outgoing, Settled, Settlement};
use crate::task::message::Message;
use crate::task::signal::Signal;
use crate::task::state::WorkerState;
use crate::task::{MemberResult, ProgressSlot, StoredResult, Task, TaskValue, chrono_duration};
use crate::trace;
use serde_json::value::RawValue;

/// How an execution ended, for the worker's bookkeeping and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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
    /// Ran, but meanwhile this consumer's claim was taken over by another consumer (it was
    /// declared dead and its claims requeued): the outcome was discarded, as the task belongs
    /// to the other consumer now.
    Discarded,
}

/// Why an execution could not be settled.
#[derive(Debug)]
pub(crate) enum Unsettled {
    /// Storage failed before anything of the attempt's outcome could exist (no body ran), in a
    /// way that may pass: the claim can go back to the queue.
    BeforeRun(StorageError),
    /// Storage kept failing while the outcome was written, after retries: the claim stays
    /// with this consumer (a rerun would repeat a body that has finished).
    Settling(StorageError),
    /// Something the attempt needs is invalid for good (stored data that does not decode, a
    /// value that does not encode): trying again would fail the same way, so the message goes
    /// to the dead-letter list with this reason.
    Poisoned(StorageError),
}

impl Unsettled {
    /// A storage failure before the body ran: given back when it may pass, poisoned when not.
    fn before_run(error: StorageError) -> Unsettled {
        if error.is_transient() {
            Unsettled::BeforeRun(error)
        } else {
            Unsettled::Poisoned(error)
        }
    }

    pub(crate) fn into_error(self) -> StorageError {
        match self {
            Unsettled::BeforeRun(e) | Unsettled::Settling(e) | Unsettled::Poisoned(e) => e,
        }
    }
}

impl std::fmt::Display for Unsettled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unsettled::BeforeRun(e) | Unsettled::Settling(e) | Unsettled::Poisoned(e) => e.fmt(f),
        }
    }
}

/// The claim being executed, when the message came from a dequeue.
pub(crate) struct Claim<'a> {
    pub delivery: &'a Delivery,
    /// Released when the body has ended, so the worker can start its next task while this
    /// one's result is written.
    pub body: Option<&'a BodySlot<'a>>,
    /// Where the task reports its progress, when a consumer's presence record shows it.
    pub progress: Option<ProgressSlot>,
    /// Where the execution is counted for the stats history, when the consumer keeps one.
    pub stats: Option<&'a Tally>,
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

/// What an attempt leaves behind: the settlement the engine applies (results, the retry copy,
/// chords fired, the claim's disposition) and the follow-up messages (next stage, error
/// handler, chord callback), which the settlement stores together with the rest.
struct Finished {
    settlement: Settlement,
    follow_ups: Vec<Message>,
}

impl Finished {
    fn new() -> Finished {
        Finished {
            settlement: Settlement::ack(),
            follow_ups: Vec::new(),
        }
    }
}

/// Runs `message` (whose task is `descriptor`) once, as a worker does, and settles it in one
/// storage call together with its claim; counts the execution by its outcome (the `metrics`
/// feature).
pub(crate) async fn execute(
    huey: &Huey,
    descriptor: &'static TaskDescriptor,
    state: &WorkerState,
    message: Message,
    now: DateTime<Utc>,
    claim: &Claim<'_>,
) -> Result<Executed, Unsettled> {
    let mut observed = Observed {
        recorder: metrics::TaskRecorder::of(descriptor.name),
        cause: None,
        measured: Measured::default(),
    };
    let executed = attempt(huey, descriptor, state, message, now, claim, &mut observed).await;
    if let Ok(executed) = executed
        && let Some(outcome) = counted(executed, observed.cause)
    {
        count(
            observed.recorder,
            claim.stats,
            descriptor.name,
            outcome,
            observed.measured,
        );
    }
    executed
}

/// Counts one execution of `task` that ended as `outcome`: in the metrics, and in the stats
/// history when the consumer keeps one.
pub(crate) fn count(
    recorder: metrics::TaskRecorder,
    stats: Option<&Tally>,
    task: &'static str,
    outcome: metrics::Ending,
    measured: Measured,
) {
    recorder.outcome(outcome);
    if let Some(tally) = stats {
        tally.count(task, outcome, measured);
    }
}

/// What an attempt learns for its count: a failing body's outcome (a final failure is counted
/// by its cause) and, when the body ran, its timings; and where its metrics go.
struct Observed {
    recorder: metrics::TaskRecorder,
    cause: Option<metrics::Ending>,
    measured: Measured,
}

/// The ending to count for an execution that ended as `executed`, with `cause` its body's
/// failure if it failed; `None` for a message sent back to the schedule (not an execution).
fn counted(executed: Executed, cause: Option<metrics::Ending>) -> Option<metrics::Ending> {
    use metrics::Ending;
    Some(match executed {
        Executed::Completed => Ending::Complete,
        Executed::Retrying => Ending::Retrying,
        Executed::Failed => cause.unwrap_or(Ending::Error),
        Executed::Revoked => Ending::Revoked,
        Executed::Expired => Ending::Expired,
        Executed::Cancelled => Ending::Cancelled,
        Executed::Discarded => Ending::Discarded,
        Executed::Scheduled => return None,
    })
}

/// [`execute`] before the count, which `observed` informs.
async fn attempt(
    huey: &Huey,
    descriptor: &'static TaskDescriptor,
    state: &WorkerState,
    message: Message,
    now: DateTime<Utc>,
    claim: &Claim<'_>,
    observed: &mut Observed,
) -> Result<Executed, Unsettled> {
    let mut task = Task::from_message(message);
    if let Some(slot) = &claim.progress {
        task.attach_progress(slot.clone());
    }

    if let Some(eta) = task.eta().filter(|eta| *eta > now) {
        let mut outcome = Finished::new();
        outcome.settlement.messages.push(Outgoing {
            data: huey.encode_message(task.message()),
            priority: task.priority(),
            eta: Some(eta),
        });
        if !settle(huey, claim, &mut outcome).await? {
            return Ok(Executed::Discarded);
        }
        huey.emit(Signal::Scheduled, &task, None);
        return Ok(Executed::Scheduled);
    }
    let revocations = claim.delivery.revocations;
    let revocation = if revocations {
        huey.revocation(&task, now, Read::Consume)
            .await
            .map_err(|e| Unsettled::before_run(storage_error(e)))?
    } else {
        None
    };
    if let Some(revocation) = revocation {
        huey.emit(Signal::Revoked, &task, None);
        // A rescheduled copy carries the pipeline and chord membership on.
        let skipped = match revocation {
            Revocation::Revoked => Some("revoked"),
            Revocation::Superseded => None,
        };
        return Box::pin(skip(huey, claim, &task, skipped, Executed::Revoked)).await;
    }
    if task.expires_at().is_some_and(|at| at < now) {
        huey.emit(Signal::Expired, &task, None);
        return Box::pin(skip(huey, claim, &task, Some("expired"), Executed::Expired)).await;
    }

    huey.emit(Signal::Executing, &task, None);
    if run_pre_hooks(huey, &task, state).await {
        huey.emit(Signal::Canceled, &task, None);
        let why = Some("cancelled by a pre-execute hook");
        return Box::pin(skip(huey, claim, &task, why, Executed::Cancelled)).await;
    }

    let queue_latency = waited(task.message().enqueued_at, task.eta());
    observed.recorder.queue_latency(queue_latency);
    task.start_clock();
    let started = Instant::now();
    let task = Arc::new(task);
    let admitted = descriptor.rate_limit.is_some()
        || descriptor.semaphore.is_some()
        || descriptor.lock.is_some();
    let early = Early::default();
    let (body_task, early_slot) = (Arc::clone(&task), &early);
    let invoke = async move {
        if admitted {
            Box::pin(invoke_admitted(
                huey, descriptor, body_task, state, early_slot,
            ))
            .await
        } else {
            (descriptor.invoke)(Invocation {
                task: body_task,
                state,
                early: early_slot,
            })
            .await
        }
    };
    let mut invoke = std::pin::pin!(invoke);
    // With a timeout, a closing task may report its outcome at the deadline while its
    // resource still closes: settle then, and let the invocation finish alongside.
    let (result, finished) = if task.timeout().is_some() {
        tokio::select! {
            biased;
            result = invoke.as_mut() => (result, true),
            result = early.reported() => (result, false),
        }
    } else {
        (invoke.as_mut().await, true)
    };
    let run_time = started.elapsed();
    observed.recorder.run_time(run_time);
    observed.measured = Measured {
        run_time,
        queue_latency: queue_latency.unwrap_or_default(),
    };
    if let Err(error) = &result {
        observed.cause = Some(metrics::Ending::of_failure(error));
    }
    if let Some(body) = claim.body {
        body.release();
    }
    let task = Arc::try_unwrap(task).unwrap_or_else(|shared| Task::clone(&shared));
    let conclusion = conclude(huey, claim, state, task, result, now);
    if finished {
        return conclusion.await;
    }
    Box::pin(async {
        let (executed, _late) = futures::join!(conclusion, invoke);
        executed
    })
    .await
}

/// The wait of a task that starts now: from the later of its enqueue time and its ETA. `None`
/// for a message without an enqueue time (from an older producer) and no ETA.
fn waited(enqueued_at: Option<DateTime<Utc>>, eta: Option<DateTime<Utc>>) -> Option<Duration> {
    let since = enqueued_at.max(eta)?;
    // A clock behind the producer's gives a negative wait: none.
    Some((Utc::now() - since).to_std().unwrap_or_default())
}

/// Settles an attempt that ran, with its outcome, and runs what follows (hooks, signals).
async fn conclude(
    huey: &Huey,
    claim: &Claim<'_>,
    state: &WorkerState,
    task: Task,
    result: super::registry::Outcome,
    now: DateTime<Utc>,
) -> Result<Executed, Unsettled> {
    let mut outcome = Finished::new();
    // A revoke that arrived while the task ran is cleaned up, as in Huey.
    if !task.is_periodic() {
        outcome.settlement.clear_revocation = Some(task.id().to_owned());
    }
    match result {
        Ok(value) => complete(huey, claim, state, &task, value, outcome).await,
        // Boxed, as are the skips above: the rare paths' state stays out of the future every
        // task moves around, which the success path alone keeps small.
        Err(error) => Box::pin(fail(huey, claim, state, task, error, now, outcome)).await,
    }
}

/// Settles a task that did not run (revoked, expired, cancelled): when `why` is given, its
/// pipeline ends there and its chord gets a skipped member.
async fn skip(
    huey: &Huey,
    claim: &Claim<'_>,
    task: &Task,
    why: Option<&str>,
    executed: Executed,
) -> Result<Executed, Unsettled> {
    let mut outcome = Finished::new();
    if let Some(why) = why {
        skip_downstream(huey, task, why, &mut outcome).await?;
    }
    if !settle(huey, claim, &mut outcome).await? {
        return Ok(Executed::Discarded);
    }
    follow_up(huey, outcome.follow_ups);
    Ok(executed)
}

/// Applies the outcome's settlement through the queue's engine, retrying while the storage is
/// unreachable (a settlement is safe to repeat: once applied, the claim is gone and a repeat
/// is refused). Returns false when the claim was no longer this consumer's. The follow-ups
/// are encoded into the settlement, so they are stored exactly when the claim is settled.
async fn settle(huey: &Huey, claim: &Claim<'_>, outcome: &mut Finished) -> Result<bool, Unsettled> {
    // A follow-up is enqueued now, not when its call was built with the parent's.
    if !outcome.follow_ups.is_empty() {
        let enqueued_at = Some(Utc::now());
        for message in &mut outcome.follow_ups {
            message.enqueued_at = enqueued_at;
        }
        trace::follow(&mut outcome.follow_ups);
    }
    let settlement = &mut outcome.settlement;
    // Follow-ups first, then the retry copy: the queue sees them in the order Huey enqueues
    // them.
    let retry = std::mem::take(&mut settlement.messages);
    settlement.messages = outcome
        .follow_ups
        .iter()
        .map(|message| Outgoing {
            data: huey.encode_message(message),
            priority: message.priority,
            eta: None,
        })
        .chain(retry)
        .collect();
    let settled = retrying("settle the task", || {
        huey.settle(claim.delivery, settlement)
    })
    .await?;
    if settled == Settled::NotHeld {
        tracing::warn!(
            "this consumer's claim on the task was taken over by another consumer (it was \
             presumed dead); the outcome of this attempt is discarded"
        );
        return Ok(false);
    }
    Ok(true)
}

/// Runs a storage call that follows a finished body, retrying with backoff while the storage
/// is unreachable: giving the claim back instead would run a body that has finished again.
pub(crate) async fn retrying<T, F, Fut>(what: &str, mut op: F) -> Result<T, Unsettled>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StorageError>>,
{
    let mut backoff = Duration::from_millis(50);
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(error) if !error.is_transient() => {
                tracing::error!(error = %crate::error_chain(&error), "could not {what}: the storage refuses it for good");
                return Err(Unsettled::Poisoned(error));
            }
            Err(error) if attempt == SETTLE_ATTEMPTS => {
                tracing::error!(error = %crate::error_chain(&error), "could not {what}; giving up (the claim stays with this consumer and returns to the queue when it stops)");
                return Err(Unsettled::Settling(error));
            }
            Err(error) => {
                tracing::warn!(error = %crate::error_chain(&error), ?backoff, "could not {what}; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                attempt += 1;
            }
        }
    }
}

/// About a minute of retries with the backoff above.
const SETTLE_ATTEMPTS: u32 = 16;

/// After a settlement: the follow-ups it stored are announced.
fn follow_up(huey: &Huey, follow_ups: Vec<Message>) {
    for message in follow_ups {
        huey.emit(Signal::Enqueued, &Task::from_message(message), None);
    }
}

/// A storage error as it is, anything else (a flag that does not decode) as invalid data.
fn storage_error(e: HueyError) -> StorageError {
    match e {
        HueyError::Storage(s) => s,
        other => StorageError::Invalid(Box::new(other)),
    }
}

/// Returns whether a hook cancelled the task. Other hook failures are logged and ignored.
async fn run_pre_hooks(huey: &Huey, task: &Task, state: &WorkerState) -> bool {
    for hook in huey.hooks().pre_hooks() {
        let (name, result) = match &hook {
            PreHook::Registered(name, f) => {
                let r = AssertUnwindSafe(f(task, state)).catch_unwind().await;
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

/// Runs the post-execute hooks; a failure (an error, a panic) is logged and the next runs.
async fn run_post_hooks(
    huey: &Huey,
    task: &Task,
    state: &WorkerState,
    value: Option<&TaskValue>,
    error: Option<&TaskError>,
) {
    for hook in huey.hooks().post_hooks() {
        let (name, result) = match &hook {
            PostHook::Registered(name, f) => {
                let r = AssertUnwindSafe(f(task, value, error, state))
                    .catch_unwind()
                    .await;
                (
                    name.to_string(),
                    r.unwrap_or_else(|p| Err(TaskError::from_panic(p))),
                )
            }
            PostHook::Dynamic(_, name, f) => {
                let r = std::panic::catch_unwind(AssertUnwindSafe(|| f(task, value, error)));
                (name.clone(), r.map_err(TaskError::from_panic))
            }
        };
        if let Err(error) = result {
            tracing::error!(hook = %name, %error, "post-execute hook failed");
        }
    }
}

async fn complete(
    huey: &Huey,
    claim: &Claim<'_>,
    state: &WorkerState,
    task: &Task,
    value: TaskValue,
    mut outcome: Finished,
) -> Result<Executed, Unsettled> {
    if huey.results_enabled() && !task.is_periodic() {
        if !value.is_none() || huey.store_none() {
            let stored = huey.encode_value(StoredResult::encode_ok(value.raw()));
            outcome
                .settlement
                .results
                .push((task.id().to_owned(), stored));
        } else {
            // Not stored (Huey's store_none=False), but a waiter is told it finished.
            let unit = (task.id().to_owned(), huey.unit_result().to_vec());
            outcome.settlement.if_awaited.push(unit);
        }
    }
    match &task.message().on_complete {
        Some(next) => {
            let next = next.with_parent(value.raw()).map_err(settling_error)?;
            outcome.follow_ups.push(next);
        }
        None if task.message().tail().chord.is_some() => {
            let member = MemberResult::Ok(value.raw());
            Box::pin(record_chord(huey, task, member, &mut outcome)).await?
        }
        None => {}
    }
    if !settle(huey, claim, &mut outcome).await? {
        return Ok(Executed::Discarded);
    }
    follow_up(huey, outcome.follow_ups);
    run_post_hooks(huey, task, state, Some(&value), None).await;
    huey.emit(Signal::Complete, task, None);
    Ok(Executed::Completed)
}

/// Gives the chord this task's pipeline belongs to (if any) the pipeline's outcome: its last
/// stage's value, or the failure or skip of any stage. When that completes the chord, the
/// callback (with every outcome) becomes a follow-up, and the settlement that stores it also
/// ends the chord's bookkeeping, so the callback is enqueued exactly once. Recording is
/// idempotent, so a crash between it and the settlement only means recording again.
async fn record_chord(
    huey: &Huey,
    task: &Task,
    member_outcome: MemberResult<&RawValue>,
    outcome: &mut Finished,
) -> Result<(), Unsettled> {
    let Some(member) = &task.message().tail().chord else {
        return Ok(());
    };
    let storage = huey.storage();
    let encoded = serde_json::to_vec(&member_outcome).map_err(settling_error)?;
    let recorded = retrying("record the chord member's outcome", || {
        storage.chord_record(&member.id, member.index, member.size, encoded.clone())
    })
    .await?;
    let Some(outcomes) = recorded else {
        return Ok(());
    };
    let outcomes = outcomes
        .iter()
        .map(|bytes| serde_json::from_slice::<&RawValue>(bytes))
        .collect::<Result<Vec<_>, _>>()
        .and_then(|list| serde_json::value::to_raw_value(&list))
        .map_err(settling_error)?;
    let callback = member
        .callback
        .with_parent(&outcomes)
        .map_err(settling_error)?;
    outcome.follow_ups.push(callback);
    outcome.settlement.chords_fired.push(member.id.clone());
    Ok(())
}

/// A skipped stage ends its pipeline: the later stages get a `skipped` failure, so their
/// result handles do not wait for ever, and its chord (if any) a skipped member.
async fn skip_downstream(
    huey: &Huey,
    task: &Task,
    why: &str,
    outcome: &mut Finished,
) -> Result<(), Unsettled> {
    record_chord(huey, task, MemberResult::Skipped, outcome).await?;
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
    put_downstream(huey, task, &failure, outcome);
    Ok(())
}

/// Writes `failure` as the result of every later pipeline stage.
fn put_downstream(huey: &Huey, task: &Task, failure: &TaskFailure, outcome: &mut Finished) {
    let stored = huey.encode_value(StoredResult::Err(failure.clone()).encode());
    for later in task.message().stages().skip(1) {
        let result = (later.id.clone(), stored.clone());
        outcome.settlement.results.push(result);
    }
}

/// A value that does not encode or decode while the outcome is built: a contract violation,
/// not a storage outage, so retrying cannot help.
fn settling_error(e: impl std::error::Error + Send + Sync + 'static) -> Unsettled {
    Unsettled::Poisoned(StorageError::Invalid(Box::new(e)))
}

async fn fail(
    huey: &Huey,
    claim: &Claim<'_>,
    state: &WorkerState,
    mut task: Task,
    error: TaskError,
    now: DateTime<Utc>,
    mut outcome: Finished,
) -> Result<Executed, Unsettled> {
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
        let stored = huey.encode_value(StoredResult::Err(failure.clone()).encode());
        outcome
            .settlement
            .results
            .push((task.id().to_owned(), stored));
        if is_final {
            put_downstream(huey, &task, &failure, &mut outcome);
        }
    }
    if surface && let Some(handler) = &task.message().on_error {
        let parent = serde_json::value::to_raw_value(&failure).map_err(settling_error)?;
        let handler = handler.with_parent(&parent).map_err(settling_error)?;
        outcome.follow_ups.push(handler);
    }
    // The retry copy: one retry fewer, and the delay grown by the backoff when it is used.
    let retry = (!is_final).then(|| {
        let message = task.message_mut();
        message.retries -= 1;
        message.enqueued_at = Some(Utc::now());
        trace::follow([&mut *message]);
        let eta = plan.eta.or_else(|| {
            let delay = message.retry_delay_duration();
            (!delay.is_zero()).then(|| {
                if message.retry_backoff > 0.0 {
                    message.retry_delay *= message.retry_backoff;
                }
                now + chrono_duration(delay)
            })
        });
        if eta.is_some() {
            message.eta = eta;
        }
        (huey.encode_message(message), eta)
    });
    let retry_eta = match retry {
        Some((data, eta)) => {
            let priority = task.priority();
            let copy = Outgoing {
                data,
                priority,
                eta,
            };
            outcome.settlement.messages.push(copy);
            Some(eta)
        }
        None => {
            record_chord(huey, &task, MemberResult::Failed(failure), &mut outcome).await?;
            None
        }
    };
    if !settle(huey, claim, &mut outcome).await? {
        return Ok(Executed::Discarded);
    }
    run_post_hooks(huey, &task, state, None, Some(&error)).await;
    follow_up(huey, outcome.follow_ups);
    let Some(eta) = retry_eta else {
        return Ok(Executed::Failed);
    };
    huey.emit(Signal::Retrying, &task, None);
    match eta {
        Some(_) => huey.emit(Signal::Scheduled, &task, None),
        None => huey.emit(Signal::Enqueued, &task, None),
    }
    Ok(Executed::Retrying)
}
