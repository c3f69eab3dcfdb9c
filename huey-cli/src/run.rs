//! `run_cli`: configures a consumer from the command line, starts it (with its process workers,
//! if asked for) and turns signals into stops. The only place that exits or execs.

use std::time::Duration;

use clap::Parser;
use huey_core::{
    Backoff, Consumer, Huey, HueyError, Registry, RegistryError, TimeZone, WorkerKind,
};

use crate::banner::banner;
use crate::cli::{Cli, GracefulSignal, WorkerType, seconds};
use crate::logging::init_logging;
#[cfg(unix)]
use crate::process::{self, ProcessPool};
use crate::report::Report;
use crate::signals::{Request, Signals};

/// Runs a consumer configured from the process's command line until a signal stops it.
///
/// A consumer binary is a few lines. A single-threaded runtime suits the async workers best
/// (they share it without cross-thread wake-ups); sync task bodies still run on the blocking
/// pool, and `-k thread` or `-k process` spread CPU-bound work further.
///
/// ```no_run
/// use huey_core::Huey;
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() -> Result<(), huey_cli::Report> {
///     let huey = Huey::memory("my-app"); // in production: a Redis storage
///     huey_cli::run_cli(huey).await
/// }
/// ```
///
/// A start-up error (no task registered, two tasks sharing a name, a bad flag value, a storage
/// that cannot be reached) is checked before the banner, and `main` returning the [`Report`]
/// prints it in words and exits with status 1.
///
/// `cargo run --bin consumer -- -w 4 -k thread -v` then logs its configuration and every
/// registered task, and starts working. See [`Cli`] for the flags.
///
/// After an immediate stop (or a graceful one that had to interrupt tasks) the process exits
/// with status 0 at once rather than returning, so that sync task bodies still running on the
/// blocking pool do not hold it open; their claims are back on the queue already.
pub async fn run_cli(huey: Huey) -> Result<(), Report> {
    run_cli_with(huey, Cli::parse()).await
}

/// [`run_cli`] with the options given rather than parsed: for a binary whose consumer is one
/// subcommand among others (`Cli` is a clap `Args`, so it can be a subcommand's arguments).
/// Process workers re-run the binary with the parent's own arguments, so each child enters the
/// same subcommand.
pub async fn run_cli_with(huey: Huey, mut cli: Cli) -> Result<(), Report> {
    if let Some(command) = cli.command.take() {
        return Ok(crate::admin::run(&huey, command).await?);
    }
    init_logging(&cli)?;
    #[cfg(unix)]
    if let Some(worker) = process::worker_id() {
        // A process worker's every line says which of the parent's workers it is.
        use tracing::Instrument;
        let span = tracing::info_span!("process", worker);
        return Ok(run(huey, cli).instrument(span).await?);
    }
    Ok(run(huey, cli).await?)
}

async fn run(huey: Huey, cli: Cli) -> Result<(), HueyError> {
    // Before the banner, so a binary that links no task crate says so instead of listing
    // nothing.
    if Registry::global()?.is_empty() {
        return Err(RegistryError::Empty.into());
    }
    #[cfg(not(unix))]
    if cli.worker_type == WorkerType::Process {
        return Err(HueyError::Configuration(
            "process workers (-k process) need a unix system; use -k thread or -k async".into(),
        ));
    }
    let graceful_term = cli.graceful_signal == GracefulSignal::Term;
    let health_check = (!cli.disable_health_check).then(|| seconds(cli.health_check_interval));

    let mut builder = Consumer::builder(&huey)
        // As huey_consumer, -w 0 still runs one worker.
        .workers(cli.workers.max(1))
        .scheduler_interval(Duration::from_secs(cli.scheduler_interval))
        .periodic(!cli.no_periodic)
        .backoff(Backoff {
            initial: seconds(cli.delay),
            max: seconds(cli.max_delay),
            multiplier: cli.backoff,
        })
        .shutdown_timeout(cli.shutdown_timeout.map(seconds))
        .health_check(health_check)
        .max_tasks(cli.max_tasks)
        .stats_history(
            (cli.stats_days > 0)
                .then(|| Duration::from_secs(u64::from(cli.stats_days) * 24 * 60 * 60)),
        );
    if let Some(name) = &cli.timezone {
        let zone = TimeZone::get(name)
            .map_err(|e| HueyError::Configuration(huey_core::error_chain(&e).to_string()))?;
        builder = builder.periodic_time_zone(zone);
    }
    if let Some(tick) = cli.periodic_tick_ms {
        builder = builder.periodic_tick(Duration::from_millis(tick));
    }
    #[cfg(feature = "metrics")]
    if let Some(ms) = cli.metrics_interval_ms {
        builder = builder.metrics_interval(Duration::from_millis(ms));
    }
    // How many worker processes this parent runs (none unless -k process).
    let mut processes = None;
    #[cfg(unix)]
    let worker_id = process::worker_id();
    #[cfg(not(unix))]
    let worker_id: Option<usize> = None;
    match worker_id {
        // A process worker: one worker of the parent's pool, nothing else.
        Some(id) => {
            #[cfg(unix)]
            process::stop_with_parent(graceful_term);
            builder = builder
                .workers(1)
                .worker_kind(WorkerKind::Async)
                .first_worker_id(id)
                .scheduler(false);
        }
        None => {
            builder = match cli.worker_type {
                WorkerType::Async => builder.worker_kind(WorkerKind::Async),
                WorkerType::Thread => builder.worker_kind(WorkerKind::Thread),
                // The parent only schedules; its children are the workers.
                WorkerType::Process => {
                    processes = Some(cli.workers.max(1));
                    builder.workers(0)
                }
            };
            if cli.flush_locks || !cli.extra_locks.is_empty() {
                let flushed = huey.flush_locks(&cli.extra_locks).await?;
                if !flushed.is_empty() {
                    tracing::warn!(locks = ?flushed, "Found stale locks; flushed them");
                }
            }
            banner(&huey, &cli)?;
            // The parent serves; a process worker re-runs these arguments but must not bind
            // the same address (its counters stay in its own process: see the README).
            #[cfg(feature = "metrics")]
            if let Some(addr) = cli.metrics {
                crate::metrics::serve(addr).await?;
            }
        }
    }
    // Listen before starting, so that a signal during start-up stops the consumer properly
    // instead of killing the process.
    let signals = Signals::new(graceful_term)?;
    if processes.is_some() && !huey.storage().shared_between_processes() {
        return Err(HueyError::Configuration(
            "process workers need a storage shared between processes, such as Redis".into(),
        ));
    }
    let consumer = builder.start()?;
    let running = Running {
        consumer,
        #[cfg(unix)]
        pool: processes.map(|workers| {
            ProcessPool::start(workers, std::env::args().skip(1).collect(), graceful_term)
        }),
        health_check,
    };
    wait_for_signals(running, signals, &cli).await
}

/// The running consumer and, with `-k process`, the worker processes it schedules for.
struct Running {
    consumer: Consumer,
    #[cfg(unix)]
    pool: Option<ProcessPool>,
    health_check: Option<Duration>,
}

impl Running {
    /// Waits for the first request; meanwhile each health check replaces exited worker
    /// processes (the consumer replaces its own workers and scheduler).
    async fn first_request(&mut self, signals: &mut Signals) -> Request {
        #[cfg(unix)]
        if let Some(pool) = &mut self.pool {
            loop {
                tokio::select! {
                    biased;
                    request = signals.next() => return request,
                    _ = sleep_or_forever(self.health_check) => pool.replace_exited(),
                }
            }
        }
        #[cfg(not(unix))]
        let _ = self.health_check;
        signals.next().await
    }

    fn begin_shutdown(&self) {
        self.consumer.begin_shutdown();
        #[cfg(unix)]
        if let Some(pool) = &self.pool {
            pool.stop_gracefully();
        }
    }

    async fn wait_stopped(&mut self) {
        #[cfg(unix)]
        if let Some(pool) = &mut self.pool {
            pool.wait_all().await;
        }
        self.consumer.wait_stopped().await;
    }

    /// Stops at once (or escalates a graceful stop): running tasks are interrupted and requeued.
    async fn interrupt(&mut self) {
        self.consumer.interrupt();
        #[cfg(unix)]
        if let Some(pool) = &mut self.pool {
            pool.stop_now().await;
        }
    }

    async fn complete_stop(self) -> Result<(), HueyError> {
        self.consumer.complete_stop().await
    }
}

async fn wait_for_signals(
    mut running: Running,
    mut signals: Signals,
    cli: &Cli,
) -> Result<(), HueyError> {
    let request = running.first_request(&mut signals).await;
    if request == Request::Immediate {
        tracing::info!("Received the immediate stop signal: interrupting running tasks");
        running.interrupt().await;
        running.complete_stop().await?;
        tracing::info!("Running tasks are back on the queue. Exiting.");
        // Leave without waiting for interrupted sync bodies still running on the blocking pool.
        std::process::exit(0);
    }
    tracing::info!(
        "Received a {} request: finishing running tasks (signal again to stop at once)",
        if request == Request::Restart {
            "restart"
        } else {
            "graceful stop"
        }
    );
    running.begin_shutdown();
    let timeout = cli.shutdown_timeout.map(seconds);
    let interrupted = tokio::select! {
        _ = running.wait_stopped() => false,
        again = signals.next() => {
            tracing::info!(?again, "Received request to shut down now");
            true
        }
        _ = sleep_or_forever(timeout) => {
            tracing::warn!(?timeout, "Shutdown timeout elapsed, interrupting workers");
            true
        }
    };
    if interrupted {
        running.interrupt().await;
    }
    running.complete_stop().await?;
    if request == Request::Restart && !interrupted {
        restart_in_place()?;
    }
    tracing::info!("All workers have stopped.");
    if interrupted {
        std::process::exit(0);
    }
    Ok(())
}

async fn sleep_or_forever(timeout: Option<Duration>) {
    match timeout {
        Some(t) => tokio::time::sleep(t).await,
        None => std::future::pending().await,
    }
}

/// Replaces this process with a fresh run of the same binary and arguments (same pid).
#[cfg(unix)]
fn restart_in_place() -> Result<(), HueyError> {
    use std::os::unix::process::CommandExt;
    tracing::info!("Consumer will restart.");
    let exe = std::env::current_exe()
        .map_err(|e| HueyError::Configuration(format!("cannot find this binary: {e}")))?;
    let error = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .exec();
    Err(HueyError::Configuration(format!("cannot restart: {error}")))
}

/// Restart requests come from SIGHUP, which exists only on unix.
#[cfg(not(unix))]
fn restart_in_place() -> Result<(), HueyError> {
    Err(HueyError::Configuration(
        "restarting in place needs unix exec".into(),
    ))
}
