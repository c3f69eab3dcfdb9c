//! The supervisor: starts the workers and the scheduler, replaces those that stopped at each
//! health check, and on shutdown waits for them.

use std::sync::Arc;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use super::fetcher::Claimed;
use super::lease::Lease;
use super::worker::{self, WorkerContext};
use super::{ConsumerBuilder, Stop, WorkerKind, scheduler, stopped};
use crate::runtime::registry::Registry;

pub(super) async fn run(
    config: ConsumerBuilder,
    registry: &'static Registry,
    deliveries: async_channel::Receiver<Claimed>,
    lease: Arc<Lease>,
    idle: Arc<Semaphore>,
    mut stop: watch::Receiver<Stop>,
) {
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

    let context = WorkerContext {
        huey: config.huey.clone(),
        registry,
        deliveries,
        lease,
        idle,
        stop: stop.clone(),
        max_tasks: config.max_tasks,
    };
    let spawn_worker = |id: usize| spawn(config.kind, id, context.clone());
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

/// Starts worker `id` as a tokio task or on a thread of its own.
fn spawn(kind: WorkerKind, id: usize, context: WorkerContext) -> JoinHandle<()> {
    match kind {
        WorkerKind::Thread => {
            let (done, finished) = tokio::sync::oneshot::channel::<()>();
            let started = std::thread::Builder::new()
                .name(format!("huey-worker-{id}"))
                .spawn(move || {
                    match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(runtime) => {
                            runtime.block_on(worker::run(id, context));
                            // Do not wait for an interrupted sync body: its claim is back on the
                            // queue already.
                            runtime.shutdown_background();
                        }
                        Err(error) => {
                            tracing::error!(worker = id, %error, "cannot start a worker runtime")
                        }
                    }
                    drop(done);
                });
            if let Err(error) = started {
                tracing::error!(worker = id, %error, "cannot start a worker thread");
            }
            tokio::spawn(async move {
                let _ = finished.await;
            })
        }
        WorkerKind::Async => tokio::spawn(worker::run(id, context)),
    }
}
