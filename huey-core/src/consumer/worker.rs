//! A worker: takes claimed messages from the fetcher one at a time and runs them through the
//! executor, with its own `WorkerState` built by the `#[on_startup]` hooks.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use std::time::Instant;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::{Notify, Semaphore, watch};
use tracing::Instrument;

use super::{Stop, stopped};
use crate::executor::{BodySlot, Claim, Executed, Unsettled, execute, retrying};
use crate::huey::Huey;
use crate::registry::{Hook, Registry, registered_hooks};
use crate::signals::Signal;
use crate::state::WorkerState;
use crate::storage::Delivery;
use crate::task::Task;

/// What every worker of a consumer shares.
#[derive(Clone)]
pub(super) struct WorkerContext {
    pub huey: Huey,
    pub registry: &'static Registry,
    pub deliveries: async_channel::Receiver<Delivery>,
    pub idle: Arc<Semaphore>,
    pub stop: watch::Receiver<Stop>,
    pub max_tasks: Option<usize>,
}

/// Tasks a worker holds at once: one running its body, one finishing (result, hooks, signals).
/// The finishing one overlaps with the next body, so a storage round trip per task does not
/// delay the next task; more would let finished work pile up when the storage is slow.
const IN_FLIGHT: usize = 2;

pub(super) async fn run(id: usize, context: WorkerContext) {
    let WorkerContext {
        huey,
        registry,
        deliveries,
        idle,
        mut stop,
        max_tasks,
    } = context;
    let mut state = WorkerState::new(id);
    state.insert(huey.clone());
    run_worker_hooks(&mut state, true).await;
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
        let delivery = loop {
            tokio::select! {
                biased;
                Some(()) = in_flight.next() => {}
                _ = stopped(&mut stop, Stop::Graceful) => break 'work,
                received = deliveries.recv() => match received {
                    Ok(delivery) => break delivery,
                    Err(_) => break 'work,
                },
            }
        };
        taken += 1;
        in_flight.push(run_one(
            &huey,
            registry,
            &state,
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
    run_worker_hooks(&mut state, false).await;
}

/// Runs one claimed message; an immediate stop interrupts it and puts it back on the queue.
async fn run_one(
    huey: &Huey,
    registry: &'static Registry,
    state: &WorkerState,
    delivery: Delivery,
    body_free: &Notify,
    mut stop: watch::Receiver<Stop>,
) {
    let body = BodySlot::new(body_free);
    tokio::select! {
        biased;
        _ = handle(huey, registry, state, &delivery, Utc::now(), Some(&body)) => {}
        _ = stopped(&mut stop, Stop::Immediate) => interrupt(huey, &delivery).await,
    }
}

/// Runs the startup (or shutdown) hooks in declaration order; failures are logged and ignored.
async fn run_worker_hooks(state: &mut WorkerState, startup: bool) {
    for hook in registered_hooks() {
        let f = match (hook.hook, startup) {
            (Hook::Startup(f), true) | (Hook::Shutdown(f), false) => f,
            _ => continue,
        };
        if let Err(error) = f(state).await {
            let when = if startup { "startup" } else { "shutdown" };
            tracing::error!(hook = hook.name, worker = state.worker_id(), %error, "{when} hook failed");
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
) -> Option<Executed> {
    let storage = huey.storage();
    let message = match huey.decode_message(&delivery.data) {
        Ok(message) => message,
        Err(error) => {
            dead_letter(huey, delivery, &error.to_string()).await;
            return None;
        }
    };
    let Some(descriptor) = registry.get(&message.name) else {
        let reason = format!("no task is registered as `{}`", message.name);
        dead_letter(huey, delivery, &reason).await;
        return None;
    };
    let span = tracing::info_span!("task", id = %message.id, name = %message.name);
    let started = Instant::now();
    let claim = Claim { delivery, body };
    match execute(huey, descriptor, state, message, now, Some(&claim))
        .instrument(span.clone())
        .await
    {
        Ok(executed) => {
            span.in_scope(|| tracing::debug!(?executed, elapsed = ?started.elapsed(), "task done"));
            Some(executed)
        }
        Err(Unsettled::BeforeRun(error)) => {
            span.in_scope(|| {
                tracing::error!(%error, "storage failed before the task ran; returning it to the queue")
            });
            persist("return the task to the queue", || storage.requeue(delivery))
                .instrument(span)
                .await;
            None
        }
        // Logged where it gave up; the claim stays ours until this consumer stops.
        Err(Unsettled::Settling(_)) => None,
    }
}

/// Keeps a message that cannot run, with the reason: never dropped.
async fn dead_letter(huey: &Huey, delivery: &Delivery, reason: &str) {
    tracing::error!(reason, "message cannot run; moved to the dead-letter list");
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

async fn interrupt(huey: &Huey, delivery: &Delivery) {
    if let Ok(message) = huey.decode_message(&delivery.data) {
        huey.emit(Signal::Interrupted, &Task::from_message(message), None);
    }
    if let Err(error) = huey.storage().requeue(delivery).await {
        tracing::error!(%error, "could not return an interrupted task to the queue");
    }
}
