//! A worker: takes claimed messages from the fetcher one at a time and runs them through the
//! executor, with its own `WorkerState` built by the `#[on_startup]` hooks.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use std::time::Instant;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::{Notify, Semaphore, watch};
use tracing::Instrument;

use super::fetcher::Claimed;
use super::lease::Lease;
use super::presence::InFlight;
use super::{Stop, stopped};
use crate::error::TaskError;
use crate::metrics;
use crate::runtime::Huey;
use crate::runtime::executor::{BodySlot, Claim, Executed, Unsettled, count, execute, retrying};
use crate::runtime::registry::{Hook, Registry, TaskDescriptor, registered_hooks};
use crate::stats::{Measured, Tally};
use crate::storage::Delivery;
use crate::task::Task;
use crate::task::signal::Signal;
use crate::task::state::WorkerState;
use crate::trace;

/// What every worker of a consumer shares.
#[derive(Clone)]
pub(super) struct WorkerContext {
    pub huey: Huey,
    pub registry: &'static Registry,
    pub deliveries: async_channel::Receiver<Claimed>,
    pub lease: Arc<Lease>,
    pub idle: Arc<Semaphore>,
    pub running: Arc<InFlight>,
    /// Where executions are counted for the stats history; `None` when it is off.
    pub stats: Option<Arc<Tally>>,
    pub stop: watch::Receiver<Stop>,
    pub max_tasks: Option<usize>,
}

/// What takes note of a consumer's executions: its presence record's list of running tasks,
/// and its stats history's tally.
#[derive(Clone, Copy, Default)]
pub(crate) struct Observers<'a> {
    pub running: Option<&'a InFlight>,
    pub stats: Option<&'a Tally>,
}

/// Tasks a worker holds at once: one running its body, one finishing (result, hooks, signals).
/// The finishing one overlaps with the next body, so a storage round trip per task does not
/// delay the next task; more would let finished work pile up when the storage is slow.
const IN_FLIGHT: usize = 2;

/// How a worker ended.
#[derive(Debug)]
pub(super) enum Exit {
    /// Its loop ended: a stop, a task limit, or the deliveries channel closing.
    Done,
    /// A startup hook failed, so it took no task: without the state the hooks build, every
    /// task would fail. The supervisor starts it again after a backoff.
    StartupFailed {
        /// The failing hook's name.
        hook: &'static str,
        /// Its error.
        error: TaskError,
    },
}

/// Runs worker `id` until it is stopped; everything it logs, its tasks' lines included, is
/// inside a `worker{id=..}` span, so each line says which worker wrote it.
pub(super) async fn run(id: usize, context: WorkerContext) -> Exit {
    work(id, context)
        .instrument(tracing::info_span!("worker", id))
        .await
}

async fn work(id: usize, context: WorkerContext) -> Exit {
    let WorkerContext {
        huey,
        registry,
        deliveries,
        lease,
        idle,
        running,
        stats,
        mut stop,
        max_tasks,
    } = context;
    let observers = Observers {
        running: Some(&running),
        stats: stats.as_deref(),
    };
    let mut state = WorkerState::new(id);
    state.insert(huey.clone());
    if let Err((hook, error)) = run_startup_hooks(&mut state).await {
        // What the hooks before it opened is closed again.
        run_shutdown_hooks(&mut state).await;
        return Exit::StartupFailed { hook, error };
    }
    let body_free = Notify::new();
    let mut in_flight = FuturesUnordered::new();
    let mut taken = 0;
    'work: loop {
        if max_tasks.is_some_and(|max| taken >= max) {
            // Recycled: the health check starts a fresh worker (and runs on_startup again).
            tracing::info!(
                worker = id,
                tasks = taken,
                "worker reached its task limit; stopping"
            );
            break;
        }
        while in_flight.len() >= IN_FLIGHT {
            in_flight.next().await;
        }
        // One fetch credit per worker ready for a task (the fetcher adds the prefetch).
        idle.add_permits(1);
        let Claimed { delivery, at } = loop {
            tokio::select! {
                biased;
                Some(()) = in_flight.next() => {}
                _ = stopped(&mut stop, Stop::Graceful) => break 'work,
                received = deliveries.recv() => match received {
                    Ok(claimed) => break claimed,
                    Err(_) => break 'work,
                },
            }
        };
        if !lease.trusts(at).await {
            give_up(&huey, &delivery).await;
            continue;
        }
        taken += 1;
        // Busy until the body ends (the in-flight gauge counts the settling that follows).
        let _busy = metrics::Busy::start();
        in_flight.push(run_one(
            &huey,
            registry,
            &state,
            observers,
            delivery,
            &body_free,
            stop.clone(),
        ));
        // Drive what is in flight until the new task's body has ended.
        loop {
            tokio::select! {
                biased;
                _ = body_free.notified() => break,
                Some(()) = in_flight.next() => {}
            }
        }
    }
    while in_flight.next().await.is_some() {}
    drop(in_flight);
    run_shutdown_hooks(&mut state).await;
    Exit::Done
}

/// Runs one claimed message; an immediate stop interrupts it and puts it back on the queue.
async fn run_one(
    huey: &Huey,
    registry: &'static Registry,
    state: &WorkerState,
    observers: Observers<'_>,
    delivery: Delivery,
    body_free: &Notify,
    mut stop: watch::Receiver<Stop>,
) {
    let _held = metrics::Held::new();
    let body = BodySlot::new(body_free);
    tokio::select! {
        biased;
        _ = handle(huey, registry, state, &delivery, Utc::now(), Some(&body), observers) => {}
        _ = stopped(&mut stop, Stop::Immediate) => interrupt(huey, registry, &delivery, observers.stats).await,
    }
}

/// Runs the startup hooks in declaration order, up to the first that fails: that one's name
/// and error (the later hooks may need what it would have built).
async fn run_startup_hooks(state: &mut WorkerState) -> Result<(), (&'static str, TaskError)> {
    for hook in registered_hooks() {
        if let Hook::Startup(f) = hook.hook
            && let Err(error) = f(state).await
        {
            return Err((hook.name, error));
        }
    }
    Ok(())
}

/// Runs the shutdown hooks in declaration order; failures are logged and ignored.
async fn run_shutdown_hooks(state: &mut WorkerState) {
    for hook in registered_hooks() {
        if let Hook::Shutdown(f) = hook.hook
            && let Err(error) = f(state).await
        {
            tracing::error!(hook = hook.name, worker = state.worker_id(), %error, "shutdown hook failed");
        }
    }
}

/// Runs one claimed message and settles the claim; `None` when it could not run.
pub(crate) async fn handle(
    huey: &Huey,
    registry: &'static Registry,
    state: &WorkerState,
    delivery: &Delivery,
    now: DateTime<Utc>,
    body: Option<&BodySlot<'_>>,
    observers: Observers<'_>,
) -> Option<Executed> {
    let storage = huey.storage();
    // Checked before anything else: whatever kept the earlier deliveries from settling (a
    // crash, a body that kills its process) would likely end this one too.
    let delivered = delivery.deliveries.saturating_sub(1);
    if delivered >= huey.max_deliveries() {
        let reason = format!("delivered {delivered} times without settling");
        let task = huey
            .decode_message(&delivery.data)
            .ok()
            .and_then(|message| registry.get(&message.name));
        dead_letter(huey, delivery, &reason, task, observers.stats).await;
        return None;
    }
    let message = match huey.decode_message(&delivery.data) {
        Ok(message) => message,
        Err(error) => {
            // The reason is kept with its cause: the decoder's message says what is wrong.
            let reason = crate::error_chain(&error).to_string();
            dead_letter(huey, delivery, &reason, None, observers.stats).await;
            return None;
        }
    };
    let Some(descriptor) = registry.get(&message.name) else {
        let reason = format!("no task is registered as `{}`", message.name);
        dead_letter(huey, delivery, &reason, None, observers.stats).await;
        return None;
    };
    // `attempt` is this copy's delivery (1 unless a crash or a takeover made it run again; a
    // retry is a new copy), `retries` what is left of its retries, `queue` the Huey's name.
    let span = tracing::info_span!(
        trace::EXECUTION_SPAN,
        id = %message.id,
        name = %message.name,
        attempt = delivery.deliveries,
        retries = message.retries,
        queue = huey.name(),
    );
    trace::adopt(&span, &message);
    let started = Instant::now();
    // Shown in the consumer's presence record until it settles.
    let running = observers
        .running
        .map(|r| r.start(&message.id, &message.name));
    let claim = Claim {
        delivery,
        body,
        progress: running.as_ref().map(|r| r.progress()),
        stats: observers.stats,
    };
    match execute(huey, descriptor, state, message, now, &claim)
        .instrument(span.clone())
        .await
    {
        Ok(executed) => {
            span.in_scope(|| tracing::debug!(?executed, elapsed = ?started.elapsed(), "task done"));
            Some(executed)
        }
        Err(Unsettled::BeforeRun(error)) => {
            span.in_scope(|| {
                tracing::error!(error = %crate::error_chain(&error), "storage failed before the task ran; returning it to the queue")
            });
            persist("return the task to the queue", || storage.requeue(delivery))
                .instrument(span)
                .await;
            None
        }
        Err(Unsettled::Poisoned(error)) => {
            let reason = crate::error_chain(&error).to_string();
            dead_letter(huey, delivery, &reason, Some(descriptor), observers.stats)
                .instrument(span)
                .await;
            None
        }
        // Logged where it gave up; the claim stays ours until this consumer stops.
        Err(Unsettled::Settling(_)) => None,
    }
}

/// Keeps a message that cannot run, with the reason: never dropped. `task` is its registered
/// task, when it names one.
async fn dead_letter(
    huey: &Huey,
    delivery: &Delivery,
    reason: &str,
    task: Option<&'static TaskDescriptor>,
    stats: Option<&Tally>,
) {
    tracing::error!(reason, "message cannot run; moved to the dead-letter list");
    let name = task.map_or(metrics::UNKNOWN_TASK, |t| t.name);
    count_unrun(name, metrics::Ending::DeadLettered, stats);
    let storage = huey.storage();
    persist("dead-letter the message", || {
        storage.dead_letter(delivery, reason)
    })
    .await;
}

/// Settles a claim, retrying with backoff while the storage is unreachable: a claim that is
/// never settled would stay in flight for as long as this consumer lives.
async fn persist<F, Fut>(what: &str, op: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = crate::storage::StorageResult<()>>,
{
    // Gave up: logged by `retrying`, and the claim returns to the queue when this consumer stops.
    let _ = retrying(what, op).await;
}

/// Gives up a claim this consumer no longer trusts, unstarted: if another consumer took it
/// over, the release finds it gone and writes nothing; if it is still this consumer's, it goes
/// back to the queue uncounted.
async fn give_up(huey: &Huey, delivery: &Delivery) {
    tracing::debug!("giving up a claim made before this consumer was presumed dead");
    let storage = huey.storage();
    persist("give up a claim", || storage.release(delivery)).await;
}

/// Counts an execution that ended without running its body.
fn count_unrun(task: &'static str, ending: metrics::Ending, stats: Option<&Tally>) {
    let recorder = metrics::TaskRecorder::of(task);
    count(recorder, stats, task, ending, Measured::default());
}

async fn interrupt(
    huey: &Huey,
    registry: &'static Registry,
    delivery: &Delivery,
    stats: Option<&Tally>,
) {
    if let Ok(message) = huey.decode_message(&delivery.data) {
        if let Some(task) = registry.get(&message.name) {
            count_unrun(task.name, metrics::Ending::Interrupted, stats);
        }
        huey.emit(Signal::Interrupted, &Task::from_message(message), None);
    }
    if let Err(error) = huey.storage().requeue(delivery).await {
        tracing::error!(error = %crate::error_chain(&error), "could not return an interrupted task to the queue");
    }
}

impl Huey {
    /// Claims the next queued message and runs it here, as one worker step would (no startup
    /// hooks; `state` stands in for the worker's state). Returns `None` when the queue is empty
    /// or the message could not run (it is then dead-lettered). For tests and scripts, like
    /// Huey's `execute_next`.
    ///
    /// ```
    /// use huey_core::prelude::*;
    /// use huey_core::{Executed, WorkerState};
    ///
    /// #[task]
    /// fn shout(text: String) -> String { text.to_uppercase() }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("docs");
    /// let mut loud = shout::enqueue(&huey, "hi".into()).await?;
    /// let ran = huey.run_next(&WorkerState::default()).await?;
    /// assert_eq!(ran, Some(Executed::Completed));
    /// assert_eq!(loud.get().await?, Some("HI".to_string()));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run_next(
        &self,
        state: &WorkerState,
    ) -> Result<Option<Executed>, crate::HueyError> {
        self.run_next_at(state, chrono::Utc::now()).await
    }

    /// [`run_next`](Self::run_next) as if the time were `now`: ETAs, expiry, revocation
    /// deadlines and retry delays are judged against it (Huey's `execute(task, timestamp)`).
    pub async fn run_next_at(
        &self,
        state: &WorkerState,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Executed>, crate::HueyError> {
        let registry = Registry::global()?;
        let storage = self.storage();
        let request = crate::storage::Dequeue::new(1, std::time::Duration::ZERO)
            .max_message_size(self.max_message_size());
        let Some(delivery) = storage.dequeue(request).await?.into_iter().next() else {
            return Ok(None);
        };
        Ok(handle(
            self,
            registry,
            state,
            &delivery,
            now,
            None,
            Observers::default(),
        )
        .await)
    }
}
