//! The consumer: a fetcher claims messages from storage and hands them to a pool of workers,
//! each of which runs the executor; a scheduler moves due messages to the queue and enqueues
//! periodic tasks; a supervisor replaces workers that stopped. Data flows one way:
//! storage → fetcher → workers → executor → storage.
//!
//! [`Consumer`] runs in-process with async or thread workers. The command-line consumer (Huey's
//! `huey_consumer`: flags, logging, signals, process workers) is the `huey-cli` crate, built on
//! this one's public API, so a library user links neither clap nor a log subscriber.

mod fetcher;
mod lease;
mod pause;
mod presence;
pub(crate) mod scheduler;
mod supervisor;
pub(crate) mod worker;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::error::{HueyError, RegistryError};
use crate::runtime::Huey;
use crate::runtime::registry::Registry;
use crate::stats::Tally;
use crate::task::TimeZone;
use fetcher::Claimed;
use lease::Lease;
use presence::InFlight;
use worker::WorkerContext;

/// How workers run tasks.
///
/// Process workers (one child process per worker, re-running the consumer binary) are not a kind
/// here: only a binary with a command-line entry point can be re-run as a worker, so they belong
/// to `huey-cli` (`-k process`), which runs them over [`ConsumerBuilder::workers`]`(0)` in the
/// parent and [`ConsumerBuilder::first_worker_id`] in each child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WorkerKind {
    /// Tokio tasks on the consumer's runtime; sync bodies on the blocking pool (the default).
    #[default]
    Async,
    /// One OS thread per worker, each with a single-threaded runtime of its own, one task at a
    /// time.
    Thread,
}

impl std::fmt::Display for WorkerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WorkerKind::Async => "async",
            WorkerKind::Thread => "thread",
        })
    }
}

/// Backoff after a failed dequeue (Huey's `-d/-m/-b`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// First wait.
    pub initial: Duration,
    /// Longest wait.
    pub max: Duration,
    /// Multiplier per failure (at least 1).
    pub multiplier: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
            multiplier: 1.15,
        }
    }
}

impl Backoff {
    pub(crate) fn next(&self, current: Duration) -> Duration {
        current.mul_f64(self.multiplier.max(1.0)).min(self.max)
    }
}

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
    pub(crate) huey: Huey,
    pub(crate) workers: usize,
    pub(crate) kind: WorkerKind,
    pub(crate) scheduler: bool,
    pub(crate) scheduler_interval: Duration,
    pub(crate) periodic: bool,
    pub(crate) periodic_tick: Duration,
    pub(crate) fetch_wait: Duration,
    pub(crate) backoff: Backoff,
    pub(crate) shutdown_timeout: Option<Duration>,
    pub(crate) health_check: Option<Duration>,
    pub(crate) max_tasks: Option<usize>,
    pub(crate) first_worker_id: usize,
    pub(crate) time_zone: TimeZone,
    pub(crate) prefetch: Option<usize>,
    pub(crate) metrics_interval: Duration,
    pub(crate) stats_keep: Option<Duration>,
}

impl ConsumerBuilder {
    /// Number of workers (default 1). Each runs one task at a time and has its own
    /// [`WorkerState`](crate::WorkerState).
    ///
    /// Zero runs no worker and claims nothing: the consumer only schedules (moves due tasks to
    /// the queue, enqueues periodic ones), as the parent of `huey-cli`'s process workers does.
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// The id of the first worker (default 0); the others follow. Each worker's
    /// [`WorkerState::worker_id`](crate::WorkerState::worker_id) is its id, so consumers that
    /// split one pool between them (a process per worker) give each a distinct range.
    pub fn first_worker_id(mut self, id: usize) -> Self {
        self.first_worker_id = id;
        self
    }

    /// Whether this consumer runs the scheduler (default true). Turn it off in a consumer that
    /// only works while another one schedules; periodic ticks are claimed in storage either way.
    pub fn scheduler(mut self, on: bool) -> Self {
        self.scheduler = on;
        self
    }

    /// How workers run (default [`WorkerKind::Async`]).
    pub fn worker_kind(mut self, kind: WorkerKind) -> Self {
        self.kind = kind;
        self
    }

    /// How often the scheduler moves due tasks to the queue (default 1 s, as Huey's `-s`).
    pub fn scheduler_interval(mut self, interval: Duration) -> Self {
        self.scheduler_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Whether to enqueue periodic tasks (default true; Huey's `-n` turns it off). Each tick is
    /// claimed in storage, so several consumers sharing a storage enqueue it once.
    pub fn periodic(mut self, on: bool) -> Self {
        self.periodic = on;
        self
    }

    /// The length of one periodic tick (default one minute, the crontab's resolution). Shorter
    /// ticks make periodic behaviour observable in tests: each tick is checked against the
    /// crontab as if it were a minute.
    pub fn periodic_tick(mut self, tick: Duration) -> Self {
        self.periodic_tick = tick.max(Duration::from_millis(10));
        self
    }

    /// The time zone in which periodic crontabs are read (default UTC, as Huey's `utc=True`).
    ///
    /// ```
    /// # let huey = huey_core::Huey::memory("docs");
    /// let paris = huey_core::TimeZone::get("Europe/Paris").expect("known zone");
    /// let builder = huey_core::Consumer::builder(&huey).periodic_time_zone(paris);
    /// # let _ = builder;
    /// ```
    pub fn periodic_time_zone(mut self, zone: TimeZone) -> Self {
        self.time_zone = zone;
        self
    }

    /// How many messages the fetcher claims ahead of the workers (default: as many as there are
    /// workers), so that a worker that finishes a task starts the next without waiting for a
    /// storage round trip. Claimed messages stay in flight: a stop puts them back.
    pub fn prefetch(mut self, n: usize) -> Self {
        self.prefetch = Some(n);
        self
    }

    /// How long one storage dequeue may wait for a message before the fetcher asks again
    /// (default 1 s). Waiting is event-driven; this only bounds a single call.
    pub fn fetch_wait(mut self, wait: Duration) -> Self {
        self.fetch_wait = wait;
        self
    }

    /// How often the queue gauges of [`metrics`](crate::metrics) are sampled from the storage
    /// (default 5 s). Only with the `metrics` feature; without it nothing is sampled.
    pub fn metrics_interval(mut self, interval: Duration) -> Self {
        self.metrics_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// How long the stats history this consumer adds to is kept (default a week); `None`
    /// keeps none. With it on, the consumer counts each execution in memory, per minute, task
    /// and outcome with run-time and queue-latency sums, and adds the counts to the storage
    /// every two seconds and when it stops; [`Huey::stats`](crate::Huey::stats) reads them.
    ///
    /// ```
    /// # let huey = huey_core::Huey::memory("docs");
    /// use std::time::Duration;
    /// let a_day = huey_core::Consumer::builder(&huey).stats_history(Some(Duration::from_secs(86_400)));
    /// let none = huey_core::Consumer::builder(&huey).stats_history(None);
    /// # let _ = (a_day, none);
    /// ```
    pub fn stats_history(mut self, keep: Option<Duration>) -> Self {
        self.stats_keep = keep;
        self
    }

    /// Backoff after a failed dequeue (default 0.1 s, growing by 1.15 up to 10 s).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// How long a graceful shutdown waits for running tasks before it interrupts them and puts
    /// them back on the queue (default: wait for them to finish).
    pub fn shutdown_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// How often stopped workers (and a stopped scheduler) are replaced (default 10 s; `None`
    /// disables health checks).
    pub fn health_check(mut self, interval: Option<Duration>) -> Self {
        self.health_check = interval;
        self
    }

    /// Recycle a worker after this many tasks: it stops (running `#[on_shutdown]`) and the
    /// health check starts a fresh one (running `#[on_startup]`). Needs health checks.
    pub fn max_tasks(mut self, n: Option<usize>) -> Self {
        self.max_tasks = n;
        self
    }

    /// Starts the consumer on the current tokio runtime.
    ///
    /// Fails when immediate mode is on, when no task is registered, when two tasks share a
    /// name, or when the options contradict each other (no workers and no scheduler; a task
    /// limit without health checks).
    pub fn start(self) -> Result<Consumer, HueyError> {
        if self.huey.is_immediate() {
            return Err(HueyError::Configuration(
                "a consumer cannot run while immediate mode is on".into(),
            ));
        }
        if self.max_tasks.is_some() && self.health_check.is_none() {
            return Err(HueyError::Configuration(
                "max_tasks recycles workers through the health check, which is disabled".into(),
            ));
        }
        if self.workers == 0 && !self.scheduler {
            return Err(HueyError::Configuration(
                "a consumer with no workers and no scheduler has nothing to do".into(),
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
    presence: (watch::Sender<bool>, tokio::task::JoinHandle<()>),
    stats: Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>,
    huey: Huey,
    shutdown_timeout: Option<Duration>,
    receiver: async_channel::Receiver<Claimed>,
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
            kind: WorkerKind::Async,
            scheduler: true,
            scheduler_interval: Duration::from_secs(1),
            periodic: true,
            periodic_tick: Duration::from_secs(60),
            fetch_wait: Duration::from_secs(1),
            backoff: Backoff::default(),
            shutdown_timeout: None,
            health_check: Some(Duration::from_secs(10)),
            max_tasks: None,
            first_worker_id: 0,
            time_zone: TimeZone::UTC,
            prefetch: None,
            metrics_interval: crate::metrics::DEFAULT_INTERVAL,
            stats_keep: Some(crate::stats::DEFAULT_KEEP),
        }
    }

    fn spawn(config: ConsumerBuilder, registry: &'static Registry) -> Consumer {
        let (stop, stop_rx) = watch::channel(Stop::Run);
        let prefetch = config.prefetch.unwrap_or(config.workers);
        // A bounded channel needs room for one message, even when no worker will take it.
        let (sender, receiver) = async_channel::bounded((config.workers + prefetch).max(1));
        let mut tasks = JoinSet::new();
        // Debug: a command line prints its own banner, and a process worker is one part of
        // its parent's consumer, not a consumer to announce.
        tracing::debug!(
            huey = config.huey.name(),
            workers = config.workers,
            kind = %config.kind,
            first_worker = config.first_worker_id,
            scheduler = config.scheduler,
            tasks = registry.len(),
            "consumer starting"
        );
        // Permits count the messages the fetcher may claim: one per idle worker, plus the
        // prefetch, so a worker that finishes finds its next message already claimed.
        let idle = Arc::new(Semaphore::new(prefetch));
        // With no worker nothing is claimed: no fetcher, and no claims for upkeep to keep alive.
        let local_workers = config.workers > 0;
        let lease = Arc::new(Lease::new(config.huey.storage()));
        let (pause_state, paused) = watch::channel(None);
        if local_workers {
            tasks.spawn(pause::run(
                config.huey.storage(),
                config.huey.name().to_owned(),
                pause_state,
                stop_rx.clone(),
            ));
            tasks.spawn(fetcher::run(
                config.huey.storage(),
                Arc::clone(&idle),
                sender,
                crate::storage::Dequeue::new(prefetch, config.fetch_wait)
                    .max_message_size(config.huey.max_message_size()),
                config.backoff,
                paused.clone(),
                stop_rx.clone(),
            ));
        }
        // Like upkeep, the record outlives the workers: it shows what they finish.
        let in_flight = Arc::new(InFlight::default());
        let presence = {
            let (done, done_rx) = watch::channel(false);
            let identity = presence::Identity {
                queue: config.huey.name().to_owned(),
                worker_kind: config.kind.to_string(),
                workers: config.workers,
            };
            let handle = tokio::spawn(presence::run(
                config.huey.storage(),
                identity,
                Arc::clone(&in_flight),
                paused,
                done_rx,
            ));
            (done, handle)
        };
        // Upkeep outlives the workers: it must keep beating while they finish their tasks.
        let maintenance = (local_workers)
            .then(|| config.huey.storage().maintenance_interval())
            .flatten()
            .map(|interval| {
                let (done, done_rx) = watch::channel(false);
                let handle = tokio::spawn(maintain(Arc::clone(&lease), interval, done_rx));
                (done, handle)
            });
        #[cfg(feature = "metrics")]
        {
            let mut stop = stop_rx.clone();
            tasks.spawn(crate::metrics::sample(
                config.huey.storage(),
                config.huey.name().to_owned(),
                config.workers,
                config.metrics_interval,
                crate::runtime::ConsumerInfo::STALE_AFTER,
                async move { stopped(&mut stop, Stop::Graceful).await },
            ));
        }
        // Flushed once more after the workers stop, so that their last counts are kept.
        let tally = (local_workers && config.stats_keep.is_some()).then(Arc::<Tally>::default);
        let stats = tally.clone().zip(config.stats_keep).map(|(tally, keep)| {
            let (done, done_rx) = watch::channel(false);
            let handle = tokio::spawn(crate::stats::flush_until(
                config.huey.storage(),
                tally,
                keep,
                done_rx,
            ));
            (done, handle)
        });
        let context = WorkerContext {
            huey: config.huey.clone(),
            registry,
            deliveries: receiver.clone(),
            lease,
            idle,
            running: in_flight,
            stats: tally,
            stop: stop_rx,
            max_tasks: config.max_tasks,
        };
        tasks.spawn(supervisor::run(config.clone(), context));
        Consumer {
            stop,
            tasks,
            maintenance,
            presence,
            stats,
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

    /// Asks for a graceful stop without waiting, for a caller that decides itself when to
    /// escalate (a second signal, its own timeout): then [`wait_stopped`](Self::wait_stopped),
    /// maybe [`interrupt`](Self::interrupt), and [`complete_stop`](Self::complete_stop).
    /// [`shutdown`](Self::shutdown) is all of this with the shutdown timeout.
    pub fn begin_shutdown(&self) {
        let _ = self.stop.send(Stop::Graceful);
    }

    /// Escalates a stop in progress to an immediate one: running tasks are interrupted and put
    /// back on the queue.
    pub fn interrupt(&self) {
        let _ = self.stop.send(Stop::Immediate);
    }

    /// Waits for the workers and the scheduler to finish after a stop was asked for; without
    /// one it waits as long as the consumer runs.
    pub async fn wait_stopped(&mut self) {
        join_all(&mut self.tasks).await;
    }

    /// Completes a stop begun with [`begin_shutdown`](Self::begin_shutdown) (and maybe
    /// [`interrupt`](Self::interrupt)): waits for the consumer's parts, puts back what was claimed
    /// but not started, and retires from the storage.
    pub async fn complete_stop(mut self) -> Result<(), HueyError> {
        self.finish().await
    }

    async fn finish(&mut self) -> Result<(), HueyError> {
        join_all(&mut self.tasks).await;
        // Claimed by the fetcher but never taken by a worker.
        let storage = self.huey.storage();
        while let Ok(Claimed { delivery, .. }) = self.receiver.try_recv() {
            storage.release(&delivery).await?;
        }
        if let Some((done, handle)) = self.maintenance.take() {
            let _ = done.send(true);
            let _ = handle.await;
        }
        if let Some((done, handle)) = self.stats.take() {
            let _ = done.send(true);
            let _ = handle.await;
        }
        let _ = self.presence.0.send(true);
        let _ = (&mut self.presence.1).await;
        storage.retire().await?;
        tracing::debug!(huey = self.huey.name(), "consumer stopped");
        Ok(())
    }
}

/// Keeps the storage's view of this consumer alive (heartbeat, recovery of dead consumers'
/// claims) for as long as the consumer runs.
async fn maintain(lease: Arc<Lease>, interval: Duration, mut done: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = done.wait_for(|d| *d) => return,
            _ = ticker.tick() => {}
        }
        if let Err(error) = lease.renew().await {
            tracing::warn!(error = %crate::error_chain(&error), "storage maintenance failed; will retry");
        }
    }
}

/// Waits until the consumer is told to stop at `level` or beyond (or is dropped).
pub(crate) async fn stopped(stop: &mut watch::Receiver<Stop>, level: Stop) {
    let _ = stop.wait_for(|s| *s >= level).await;
}

async fn join_all(tasks: &mut JoinSet<()>) {
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined
            && e.is_panic()
        {
            tracing::error!(error = %e, "a consumer part panicked");
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
        if let Some((done, _)) = self.stats.take() {
            let _ = done.send(true);
        }
        let _ = self.presence.0.send(true);
    }
}
