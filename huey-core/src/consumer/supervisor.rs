//! The supervisor: starts the workers and the scheduler, replaces those that stopped at each
//! health check, and on shutdown waits for them. A worker whose startup hook failed took no
//! task; it is started again after a backoff (1 s, doubling up to 60 s), health checks or not.

use std::time::Duration;

use tokio::task::JoinHandle;

use super::worker::{self, Exit, WorkerContext};
use super::{ConsumerBuilder, Stop, WorkerKind, scheduler, stopped};

/// Runs the consumer `config` describes; its workers share `context`.
pub(super) async fn run(config: ConsumerBuilder, context: WorkerContext) {
    let registry = context.registry;
    let mut stop = context.stop.clone();
    let scheduler_stop = stop.clone();
    let spawn_scheduler = || {
        config.scheduler.then(|| {
            tokio::spawn(scheduler::run(
                config.huey.clone(),
                registry,
                config.scheduler_interval,
                config.periodic.then_some(config.periodic_tick),
                config.time_zone.clone(),
                scheduler_stop.clone(),
            ))
        })
    };
    let mut scheduler = spawn_scheduler();

    let spawn_worker = |id: usize| tokio::spawn(keep_starting(config.kind, id, context.clone()));
    let mut workers: Vec<JoinHandle<()>> = (0..config.workers)
        .map(|i| spawn_worker(config.first_worker_id + i))
        .collect();
    loop {
        tokio::select! {
            biased;
            _ = stopped(&mut stop, Stop::Graceful) => break,
            _ = health_tick(&config) => {}
        }
        for (i, handle) in workers.iter_mut().enumerate() {
            if handle.is_finished() {
                let id = config.first_worker_id + i;
                tracing::warn!(worker = id, "worker stopped; starting a new one");
                *handle = spawn_worker(id);
            }
        }
        replace_finished(&mut scheduler, &spawn_scheduler, "scheduler");
    }
    for handle in workers {
        let _ = handle.await;
    }
    if let Some(handle) = scheduler {
        let _ = handle.await;
    }
}

/// Waits one health-check interval, or forever when health checks are off.
async fn health_tick(config: &ConsumerBuilder) {
    match config.health_check {
        Some(interval) => tokio::time::sleep(interval).await,
        None => std::future::pending().await,
    }
}

fn replace_finished(
    handle: &mut Option<JoinHandle<()>>,
    spawn: &impl Fn() -> Option<JoinHandle<()>>,
    what: &str,
) {
    if handle.as_ref().is_some_and(JoinHandle::is_finished) {
        tracing::warn!("{what} stopped; starting a new one");
        *handle = spawn();
    }
}

/// The first wait before a worker whose startup failed is started again; it doubles per
/// failure up to [`STARTUP_BACKOFF_MAX`].
const STARTUP_BACKOFF: Duration = Duration::from_secs(1);
const STARTUP_BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Runs worker `id` until it ends for a reason other than a failed startup hook; after each
/// failed startup, logs the hook and its error and starts it again after a growing backoff.
async fn keep_starting(kind: WorkerKind, id: usize, context: WorkerContext) {
    let mut stop = context.stop.clone();
    let mut backoff = STARTUP_BACKOFF;
    loop {
        let Exit::StartupFailed { hook, error } = spawn(kind, id, context.clone()).await else {
            return;
        };
        tracing::error!(
            worker = id,
            hook,
            %error,
            retry_in = ?backoff,
            "startup hook failed; the worker takes no task and starts again after a backoff"
        );
        tokio::select! {
            biased;
            _ = stopped(&mut stop, Stop::Graceful) => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(STARTUP_BACKOFF_MAX);
    }
}

/// Runs worker `id` as a tokio task or on a thread of its own, until it ends.
async fn spawn(kind: WorkerKind, id: usize, context: WorkerContext) -> Exit {
    match kind {
        WorkerKind::Thread => {
            let (done, finished) = tokio::sync::oneshot::channel::<Exit>();
            let started = std::thread::Builder::new()
                .name(format!("huey-worker-{id}"))
                .spawn(move || {
                    match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(runtime) => {
                            let exit = runtime.block_on(worker::run(id, context));
                            // Do not wait for an interrupted sync body: its claim is back on the
                            // queue already.
                            runtime.shutdown_background();
                            let _ = done.send(exit);
                        }
                        Err(error) => {
                            tracing::error!(worker = id, %error, "cannot start a worker runtime")
                        }
                    }
                });
            if let Err(error) = started {
                tracing::error!(worker = id, %error, "cannot start a worker thread");
            }
            finished.await.unwrap_or(Exit::Done)
        }
        WorkerKind::Async => worker::run(id, context).await,
    }
}
