//! The consumer: a fetcher claims messages from storage and hands them to a pool of workers,
//! each of which runs the executor; a scheduler moves due messages to the queue and enqueues
//! periodic tasks. Data flows one way: storage → fetcher → workers → executor → storage.
//!
//! This is the in-process consumer (async workers); the command-line consumer with thread and
//! process workers builds on the same parts.

mod fetcher;
pub(crate) mod scheduler;
pub(crate) use scheduler::enqueue_periodic;
pub(crate) use worker::handle;
pub(crate) mod worker;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::error::{HueyError, RegistryError};
use crate::huey::Huey;
use crate::registry::Registry;
use crate::storage::Delivery;

/// Configures and starts a [`Consumer`].
///
/// ```
/// use huey_core::{Consumer, Huey};
/// use std::time::Duration;
///
/// # #[huey_core::task] fn ping() {}
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), huey_core::HueyError> {
/// let huey = Huey::memory("docs");
/// let consumer = Consumer::builder(&huey)
///     .workers(4)
///     .scheduler_interval(Duration::from_millis(250))
///     .periodic(false)
///     .start()?;
/// consumer.shutdown().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "call .start() to run the consumer"]
pub struct ConsumerBuilder {
    huey: Huey,
    workers: usize,
    scheduler_interval: Duration,
    periodic: bool,
    fetch_wait: Duration,
    shutdown_timeout: Option<Duration>,
}

impl ConsumerBuilder {
    /// Number of workers (default 1). Each runs one task at a time and has its own
    /// [`WorkerState`](crate::WorkerState).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// How often the scheduler moves due tasks to the queue (default 1 s, as Huey's `-s`).
    pub fn scheduler_interval(mut self, interval: Duration) -> Self {
        self.scheduler_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Whether to enqueue periodic tasks (default true; Huey's `-n` turns it off).
    pub fn periodic(mut self, on: bool) -> Self {
        self.periodic = on;
        self
    }

    /// How long one storage dequeue may wait for a message before the fetcher asks again
    /// (default 1 s). Waiting is event-driven; this only bounds a single call.
    pub fn fetch_wait(mut self, wait: Duration) -> Self {
        self.fetch_wait = wait;
        self
    }

    /// How long a graceful shutdown waits for running tasks before it interrupts them and puts
    /// them back on the queue (default: wait for them to finish).
    pub fn shutdown_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Starts the consumer on the current tokio runtime.
    ///
    /// Fails when immediate mode is on, when no task is registered, or when two tasks share a
    /// name.
    pub fn start(self) -> Result<Consumer, HueyError> {
        if self.huey.is_immediate() {
            return Err(HueyError::Configuration(
                "a consumer cannot run while immediate mode is on".into(),
            ));
        }
        let registry = Registry::global()?;
        if registry.is_empty() {
            return Err(RegistryError::Empty.into());
        }
        Ok(Consumer::spawn(self, registry))
    }
}

/// A running consumer. Stop it with [`shutdown`](Self::shutdown) (graceful) or
/// [`stop_now`](Self::stop_now) (interrupt running tasks and put them back on the queue).
/// Dropping it without either asks for a graceful stop in the background.
#[must_use = "dropping the consumer stops it"]
pub struct Consumer {
    stop: watch::Sender<Stop>,
    tasks: JoinSet<()>,
    maintenance: Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>,
    huey: Huey,
    shutdown_timeout: Option<Duration>,
    receiver: async_channel::Receiver<Delivery>,
}

/// What the consumer's parts are told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stop {
    Run,
    Graceful,
    Immediate,
}

impl Consumer {
    /// A builder for a consumer of `huey`.
    pub fn builder(huey: &Huey) -> ConsumerBuilder {
        ConsumerBuilder {
            huey: huey.clone(),
            workers: 1,
            scheduler_interval: Duration::from_secs(1),
            periodic: true,
            fetch_wait: Duration::from_secs(1),
            shutdown_timeout: None,
        }
    }

    fn spawn(config: ConsumerBuilder, registry: &'static Registry) -> Consumer {
        let (stop, stop_rx) = watch::channel(Stop::Run);
        let (sender, receiver) = async_channel::bounded(config.workers);
        let idle = Arc::new(Semaphore::new(0));
        let mut tasks = JoinSet::new();
        tracing::info!(
            huey = config.huey.name(),
            workers = config.workers,
            tasks = registry.len(),
            "consumer starting"
        );
        for id in 0..config.workers {
            tasks.spawn(worker::run(
                id,
                config.huey.clone(),
                registry,
                receiver.clone(),
                Arc::clone(&idle),
                stop_rx.clone(),
            ));
        }
        tasks.spawn(fetcher::run(
            config.huey.storage(),
            idle,
            sender,
            config.fetch_wait,
            stop_rx.clone(),
        ));
        // Upkeep outlives the workers: it must keep beating while they finish their tasks.
        let maintenance = config
            .huey
            .storage()
            .maintenance_interval()
            .map(|interval| {
                let (done, done_rx) = watch::channel(false);
                let handle = tokio::spawn(maintain(config.huey.storage(), interval, done_rx));
                (done, handle)
            });
        tasks.spawn(scheduler::run(
            config.huey.clone(),
            registry,
            config.scheduler_interval,
            config.periodic,
            stop_rx,
        ));
        Consumer {
            stop,
            tasks,
            maintenance,
            huey: config.huey,
            shutdown_timeout: config.shutdown_timeout,
            receiver,
        }
    }

    /// Stops fetching, lets running tasks finish (up to the shutdown timeout, after which they
    /// are interrupted and put back on the queue), runs the `#[on_shutdown]` hooks and returns.
    pub async fn shutdown(mut self) -> Result<(), HueyError> {
        let _ = self.stop.send(Stop::Graceful);
        if let Some(limit) = self.shutdown_timeout {
            let joined = tokio::time::timeout(limit, join_all(&mut self.tasks)).await;
            if joined.is_err() {
                tracing::warn!(?limit, "shutdown timeout: interrupting running tasks");
                let _ = self.stop.send(Stop::Immediate);
            }
        }
        self.finish().await
    }

    /// Interrupts running tasks at once, puts them back on the queue (firing
    /// [`Signal::Interrupted`](crate::Signal::Interrupted)), runs the `#[on_shutdown]` hooks and
    /// returns. Nothing is lost.
    pub async fn stop_now(mut self) -> Result<(), HueyError> {
        let _ = self.stop.send(Stop::Immediate);
        self.finish().await
    }

    async fn finish(&mut self) -> Result<(), HueyError> {
        join_all(&mut self.tasks).await;
        // Claimed by the fetcher but never taken by a worker.
        let storage = self.huey.storage();
        while let Ok(delivery) = self.receiver.try_recv() {
            storage.requeue(&delivery).await?;
        }
        if let Some((done, handle)) = self.maintenance.take() {
            let _ = done.send(true);
            let _ = handle.await;
        }
        storage.retire().await?;
        tracing::info!(huey = self.huey.name(), "consumer stopped");
        Ok(())
    }
}

/// Keeps the storage's view of this consumer alive (heartbeat, recovery of dead consumers'
/// claims) for as long as the consumer runs.
async fn maintain(
    storage: Arc<dyn crate::Storage>,
    interval: Duration,
    mut done: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = done.wait_for(|d| *d) => return,
            _ = ticker.tick() => {}
        }
        if let Err(error) = storage.maintain().await {
            tracing::warn!(%error, "storage maintenance failed; will retry");
        }
    }
}

/// Waits until the consumer is told to stop at `level` or beyond (or is dropped).
pub(crate) async fn stopped(stop: &mut watch::Receiver<Stop>, level: Stop) {
    let _ = stop.wait_for(|s| *s >= level).await;
}

async fn join_all(tasks: &mut JoinSet<()>) {
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined {
            if e.is_panic() {
                tracing::error!(error = %e, "a consumer part panicked");
            }
        }
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let _ = self.stop.send(Stop::Graceful);
        self.tasks.detach_all();
        if let Some((done, _)) = self.maintenance.take() {
            let _ = done.send(true);
        }
    }
}
