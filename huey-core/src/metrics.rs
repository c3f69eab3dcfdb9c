//! Task and queue metrics through the [`metrics`](https://docs.rs/metrics) facade (the
//! `metrics` feature).
//!
//! huey-core records; it installs no recorder. A process that wants the figures installs one
//! (for example `metrics-exporter-prometheus`'s, as `huey-cli --metrics ADDR` does) **before
//! the consumer starts**: each task name's handles are registered with the recorder in place at
//! the task's first execution and kept, so that recording costs no label allocation or registry
//! look-up per task. Without the feature every recording call below compiles to nothing, so a
//! library user who does not ask for metrics does not pay for them.
//!
//! | metric | kind | labels | what |
//! | --- | --- | --- | --- |
//! | [`TASKS_TOTAL`] `huey_tasks_total` | counter | `task`, `outcome` | executions, by how each ended (one outcome per execution, below) |
//! | [`TASK_RUN_SECONDS`] `huey_task_run_seconds` | histogram | `task` | time in the task body (with its lock, rate limit or semaphore admission) |
//! | [`TASK_QUEUE_LATENCY_SECONDS`] `huey_task_queue_latency_seconds` | histogram | `task` | from enqueue, or from the ETA when later, to the start of the body |
//! | [`QUEUE_DEPTH`] `huey_queue_depth` | gauge | `queue` | messages waiting in the queue |
//! | [`SCHEDULED_TASKS`] `huey_scheduled_tasks` | gauge | `queue` | messages waiting for their ETA |
//! | [`DEAD_LETTERS`] `huey_dead_letters` | gauge | `queue` | messages in the dead-letter list |
//! | [`RESULTS_STORED`] `huey_results_stored` | gauge | `queue` | results held by the result store |
//! | [`TASKS_IN_FLIGHT`] `huey_tasks_in_flight` | gauge | `queue` | tasks this process's workers hold: running, or writing their outcome |
//! | [`WORKERS`] `huey_workers` | gauge | `queue` | workers this consumer runs |
//! | [`CONSUMERS_LIVE`] `huey_consumers_live` | gauge | `queue` | consumers of the queue with a fresh presence record (see [`Huey::consumers`](crate::Huey::consumers)); every consumer reports the same count, so aggregate with `max`, not `sum` |
//! | [`WORKERS_BUSY`] `huey_workers_busy` | gauge | `queue` | those running a task body now |
//!
//! The outcomes (the `outcome` label), exactly one per execution, so that the counters add up
//! to the executions and `outcome="complete"` over the sum is the success rate: `complete`;
//! `retrying` (failed, in any way, and will run again); a failure for good by its cause,
//! `error` (an error or a panic), `timeout`, `locked`, `rate-limited`, `cancelled` (by a
//! pre-execute hook or `CancelExecution`); not run, `revoked`, `expired`, `dead-lettered`
//! (could not run: undecodable, unregistered, delivered too often; `task="unknown"` when the
//! message names no registered task); `interrupted` (stopped by an immediate shutdown and put
//! back on the queue); `discarded` (its claim was taken over by another consumer meanwhile).
//! A message whose ETA is still ahead when it is claimed goes back to the schedule uncounted.
//! The per-signal view (Huey fires both `error` and `retrying` for a failure that retries) stays
//! with [`Huey::connect_signal`](crate::Huey::connect_signal).
//!
//! The gauges are sampled by a running [`Consumer`](crate::Consumer) every
//! [`ConsumerBuilder::metrics_interval`](crate::ConsumerBuilder::metrics_interval) (default
//! 5 s) from the storage contract's counts, not per task.
//!
//! ```
//! # #[cfg(feature = "metrics")]
//! # {
//! // A recorder of the application's choice, installed before the consumer starts.
//! // metrics_exporter_prometheus::PrometheusBuilder::new().install()?;
//! huey_core::metrics::describe();
//! assert_eq!(huey_core::metrics::TASKS_TOTAL, "huey_tasks_total");
//! # }
//! ```

use std::time::Duration;

/// Counter of executions by `task` and `outcome`.
pub const TASKS_TOTAL: &str = "huey_tasks_total";
/// Histogram of the time in a task's body, in seconds, by `task`.
pub const TASK_RUN_SECONDS: &str = "huey_task_run_seconds";
/// Histogram of the wait from enqueue (or the ETA) to the start of the body, by `task`.
pub const TASK_QUEUE_LATENCY_SECONDS: &str = "huey_task_queue_latency_seconds";
/// Gauge of the queue's waiting messages, by `queue`.
pub const QUEUE_DEPTH: &str = "huey_queue_depth";
/// Gauge of the messages waiting for their ETA, by `queue`.
pub const SCHEDULED_TASKS: &str = "huey_scheduled_tasks";
/// Gauge of the dead-letter list's length, by `queue`.
pub const DEAD_LETTERS: &str = "huey_dead_letters";
/// Gauge of the stored results, by `queue`.
pub const RESULTS_STORED: &str = "huey_results_stored";
/// Gauge of the tasks this process's workers hold, by `queue`.
pub const TASKS_IN_FLIGHT: &str = "huey_tasks_in_flight";
/// Gauge of the consumer's workers, by `queue`.
pub const WORKERS: &str = "huey_workers";
/// Gauge of the workers running a task body, by `queue`.
pub const WORKERS_BUSY: &str = "huey_workers_busy";
/// Gauge: consumers of the queue whose presence record is fresh.
pub const CONSUMERS_LIVE: &str = "huey_consumers_live";

/// The gauges' default sampling interval.
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// The `task` label of a dead letter whose message names no registered task.
pub(crate) const UNKNOWN_TASK: &str = "unknown";

/// How one execution ended: the `outcome` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Ending {
    Complete,
    Retrying,
    Error,
    Timeout,
    Locked,
    RateLimited,
    Cancelled,
    Revoked,
    Expired,
    DeadLettered,
    Interrupted,
    Discarded,
}

impl Ending {
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) const ALL: [Ending; 12] = [
        Ending::Complete,
        Ending::Retrying,
        Ending::Error,
        Ending::Timeout,
        Ending::Locked,
        Ending::RateLimited,
        Ending::Cancelled,
        Ending::Revoked,
        Ending::Expired,
        Ending::DeadLettered,
        Ending::Interrupted,
        Ending::Discarded,
    ];

    /// The label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Ending::Complete => "complete",
            Ending::Retrying => "retrying",
            Ending::Error => "error",
            Ending::Timeout => "timeout",
            Ending::Locked => "locked",
            Ending::RateLimited => "rate-limited",
            Ending::Cancelled => "cancelled",
            Ending::Revoked => "revoked",
            Ending::Expired => "expired",
            Ending::DeadLettered => "dead-lettered",
            Ending::Interrupted => "interrupted",
            Ending::Discarded => "discarded",
        }
    }

    /// Whether an execution that ends so ran its body (its run time and queue latency are
    /// counted in the stats history).
    pub(crate) fn ran_body(self) -> bool {
        matches!(
            self,
            Ending::Complete | Ending::Retrying | Ending::Error | Ending::Timeout
        )
    }

    /// How a body's failure ends the execution when it is not retried: by its cause.
    pub(crate) fn of_failure(error: &crate::error::TaskError) -> Ending {
        use crate::error::TaskError;
        match error {
            TaskError::Timeout(_) => Ending::Timeout,
            TaskError::Locked(_) => Ending::Locked,
            TaskError::RateLimited(_) => Ending::RateLimited,
            TaskError::Cancelled(_) => Ending::Cancelled,
            // A retry request always retries; were it to end here, it failed.
            TaskError::Retry(_) | TaskError::Failed { .. } | TaskError::Panicked { .. } => {
                Ending::Error
            }
        }
    }
}

#[cfg(not(feature = "metrics"))]
pub(crate) use disabled::{Busy, Held, TaskRecorder};
#[cfg(feature = "metrics")]
pub use enabled::describe;
#[cfg(feature = "metrics")]
pub(crate) use enabled::{Busy, Held, TaskRecorder, sample};

#[cfg(feature = "metrics")]
mod enabled {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{OnceLock, RwLock};
    use std::time::Duration;

    use metrics::{Counter, Histogram, Unit};

    use super::*;
    use crate::storage::Storage;

    /// One task name's handles, registered once and kept for the process's life: a task name
    /// is `'static` and the registry is fixed, so the leak is bounded by the registered tasks.
    struct TaskMetrics {
        outcomes: [Counter; Ending::ALL.len()],
        run: Histogram,
        latency: Histogram,
    }

    type Handles = RwLock<HashMap<&'static str, &'static TaskMetrics>>;

    fn handles(task: &'static str) -> &'static TaskMetrics {
        static HANDLES: OnceLock<Handles> = OnceLock::new();
        let map = HANDLES.get_or_init(Handles::default);
        if let Some(found) = map.read().unwrap_or_else(|e| e.into_inner()).get(task) {
            return found;
        }
        let mut map = map.write().unwrap_or_else(|e| e.into_inner());
        map.entry(task).or_insert_with(|| {
            let outcomes = Ending::ALL
                .map(|o| metrics::counter!(TASKS_TOTAL, "task" => task, "outcome" => o.as_str()));
            Box::leak(Box::new(TaskMetrics {
                outcomes,
                run: metrics::histogram!(TASK_RUN_SECONDS, "task" => task),
                latency: metrics::histogram!(TASK_QUEUE_LATENCY_SECONDS, "task" => task),
            }))
        })
    }

    /// One task's handles, looked up once per execution rather than at each recording.
    #[derive(Clone, Copy)]
    pub(crate) struct TaskRecorder(&'static TaskMetrics);

    impl TaskRecorder {
        pub(crate) fn of(task: &'static str) -> TaskRecorder {
            TaskRecorder(handles(task))
        }

        /// Counts one execution that ended as `outcome`.
        pub(crate) fn outcome(self, outcome: Ending) {
            self.0.outcomes[outcome as usize].increment(1);
        }

        /// Records the time in the body.
        pub(crate) fn run_time(self, run_time: Duration) {
            self.0.run.record(run_time.as_secs_f64());
        }

        /// Records the wait of a task that starts now (none for a message that does not say
        /// when it was enqueued).
        pub(crate) fn queue_latency(self, waited: Option<Duration>) {
            if let Some(waited) = waited {
                self.0.latency.record(waited.as_secs_f64());
            }
        }
    }

    static HELD: AtomicUsize = AtomicUsize::new(0);
    static BUSY: AtomicUsize = AtomicUsize::new(0);

    /// A task held by a worker, from its delivery to its settlement (the in-flight gauge).
    /// Counted per process with an atomic rather than a gauge handle, so that each sample
    /// reads it once instead of every task writing to the recorder.
    pub(crate) struct Held(());

    impl Held {
        pub(crate) fn new() -> Held {
            HELD.fetch_add(1, Ordering::Relaxed);
            Held(())
        }
    }

    impl Drop for Held {
        fn drop(&mut self) {
            HELD.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// A worker running a task body (the busy-workers gauge), counted as [`Held`] is.
    pub(crate) struct Busy(());

    impl Busy {
        pub(crate) fn start() -> Busy {
            BUSY.fetch_add(1, Ordering::Relaxed);
            Busy(())
        }
    }

    impl Drop for Busy {
        fn drop(&mut self) {
            BUSY.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Sets the gauges of queue `queue` every `interval` until the consumer stops. A storage
    /// error skips one sample (logged at debug: the consumer's own paths report outages).
    pub(crate) async fn sample(
        storage: std::sync::Arc<dyn Storage>,
        queue: String,
        workers: usize,
        interval: Duration,
        stale_after: Duration,
        stop: impl std::future::Future<Output = ()>,
    ) {
        let gauge = |name: &'static str| metrics::gauge!(name, "queue" => queue.clone());
        let (depth, scheduled, dead, results) = (
            gauge(QUEUE_DEPTH),
            gauge(SCHEDULED_TASKS),
            gauge(DEAD_LETTERS),
            gauge(RESULTS_STORED),
        );
        let (in_flight, busy) = (gauge(TASKS_IN_FLIGHT), gauge(WORKERS_BUSY));
        let consumers = gauge(CONSUMERS_LIVE);
        let stale_after = chrono::Duration::from_std(stale_after).unwrap_or(chrono::Duration::MAX);
        gauge(WORKERS).set(workers as f64);
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stop = std::pin::pin!(stop);
        loop {
            tokio::select! {
                biased;
                _ = &mut stop => return,
                _ = ticker.tick() => {}
            }
            in_flight.set(HELD.load(Ordering::Relaxed) as f64);
            busy.set(BUSY.load(Ordering::Relaxed) as f64);
            let counts = async {
                Ok::<_, crate::StorageError>((
                    storage.queue_size().await?,
                    storage.schedule_size().await?,
                    storage.dead_letter_count().await?,
                    storage.result_store_size().await?,
                    storage
                        .presence(chrono::Utc::now() - stale_after)
                        .await?
                        .len(),
                ))
            };
            match counts.await {
                Ok((q, s, d, r, c)) => {
                    depth.set(q as f64);
                    scheduled.set(s as f64);
                    dead.set(d as f64);
                    results.set(r as f64);
                    consumers.set(c as f64);
                }
                Err(error) => {
                    tracing::debug!(error = %crate::error_chain(&error), "metrics: could not sample the queue's counts")
                }
            }
        }
    }

    /// Gives the installed recorder each metric's unit and description (the `# HELP` lines of
    /// a Prometheus scrape). Call it once, after installing the recorder.
    ///
    /// ```
    /// huey_core::metrics::describe(); // no recorder installed: a no-op
    /// ```
    pub fn describe() {
        use metrics::{describe_counter, describe_gauge, describe_histogram};
        describe_counter!(TASKS_TOTAL, "Task executions by task and outcome.");
        describe_histogram!(TASK_RUN_SECONDS, Unit::Seconds, "Time in the task body.");
        describe_histogram!(
            TASK_QUEUE_LATENCY_SECONDS,
            Unit::Seconds,
            "Wait from enqueue (or the ETA) to the start of the body."
        );
        describe_gauge!(QUEUE_DEPTH, "Messages waiting in the queue.");
        describe_gauge!(SCHEDULED_TASKS, "Messages waiting for their ETA.");
        describe_gauge!(DEAD_LETTERS, "Messages in the dead-letter list.");
        describe_gauge!(RESULTS_STORED, "Results held by the result store.");
        describe_gauge!(TASKS_IN_FLIGHT, "Tasks held by this process's workers.");
        describe_gauge!(WORKERS, "Workers this consumer runs.");
        describe_gauge!(WORKERS_BUSY, "Workers running a task body.");
        describe_gauge!(
            CONSUMERS_LIVE,
            "Consumers of the queue with a fresh presence record."
        );
    }
}

/// The same calls without the feature: nothing, inlined away.
#[cfg(not(feature = "metrics"))]
mod disabled {
    use std::time::Duration;

    use super::Ending;

    /// Records nothing.
    #[derive(Clone, Copy)]
    pub(crate) struct TaskRecorder;

    impl TaskRecorder {
        #[inline(always)]
        pub(crate) fn of(_task: &'static str) -> TaskRecorder {
            TaskRecorder
        }

        #[inline(always)]
        pub(crate) fn outcome(self, _outcome: Ending) {}

        #[inline(always)]
        pub(crate) fn run_time(self, _run_time: Duration) {}

        #[inline(always)]
        pub(crate) fn queue_latency(self, _waited: Option<Duration>) {}
    }

    pub(crate) struct Held;

    impl Held {
        #[inline(always)]
        pub(crate) fn new() -> Held {
            Held
        }
    }

    pub(crate) struct Busy;

    impl Busy {
        #[inline(always)]
        pub(crate) fn start() -> Busy {
            Busy
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Ending;
    use crate::error::{TaskError, TaskLocked};

    #[test]
    fn test_a_final_failure_is_counted_by_its_cause() {
        let locked = TaskError::Locked(TaskLocked::new("l"));
        assert_eq!(Ending::of_failure(&locked), Ending::Locked);
        let failed = TaskError::msg("boom");
        assert_eq!(Ending::of_failure(&failed), Ending::Error);
        assert_eq!(Ending::ALL[Ending::Discarded as usize], Ending::Discarded);
    }

    #[test]
    fn test_the_stats_history_agrees_on_which_outcomes_ran_a_body() {
        use std::time::Duration;
        for ending in Ending::ALL {
            let row = crate::MinuteStats::new(
                chrono::Utc::now(),
                "t",
                ending.as_str(),
                1,
                Duration::ZERO,
                Duration::ZERO,
            );
            assert_eq!(row.ran_body(), ending.ran_body(), "{ending:?}");
        }
    }
}
