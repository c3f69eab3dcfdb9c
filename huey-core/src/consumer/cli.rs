//! The command-line consumer: Huey's `huey_consumer`, as a function a binary calls.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use tokio::signal::unix::{Signal as Stream, SignalKind, signal};

use super::{Backoff, Consumer, WorkerKind};
use crate::error::HueyError;
use crate::runtime::Huey;
use crate::runtime::registry::{Registry, TaskDescriptor};

/// The consumer's command line, modelled on `huey_consumer`'s flags.
#[derive(Debug, Clone, Parser)]
#[command(
    about = "Runs a huey-rs consumer: executes queued tasks, moves scheduled ones to the queue and \
             enqueues periodic tasks.",
    after_help = "Signals: the graceful signal (SIGINT unless -g TERM) stops fetching, lets running \
                  tasks finish and exits 0; sending it again stops at once. The other one (SIGTERM \
                  unless -g TERM) stops at once: running tasks are interrupted and put back on the \
                  queue (Huey loses them). SIGHUP stops gracefully and restarts in place."
)]
pub struct Cli {
    /// Number of workers.
    #[arg(short = 'w', long, default_value_t = 1)]
    pub workers: usize,

    /// Worker type. Unlike Huey (thread), the default is async: tokio tasks, with sync task
    /// bodies on the blocking pool, so many I/O-bound tasks share few threads.
    #[arg(short = 'k', long = "worker-type", value_enum, default_value_t = WorkerKind::Async)]
    pub worker_type: WorkerKind,

    /// First wait, in seconds, after a failed dequeue. (huey-rs storages block for new tasks,
    /// so there is no empty-queue polling to tune.)
    #[arg(short = 'd', long = "delay", default_value_t = 0.1)]
    pub delay: f64,

    /// Longest wait, in seconds, between dequeue retries.
    #[arg(short = 'm', long = "max-delay", default_value_t = 10.0)]
    pub max_delay: f64,

    /// Multiplier of the wait after each failed dequeue (at least 1).
    #[arg(short = 'b', long = "backoff", default_value_t = 1.15, value_parser = parse_backoff)]
    pub backoff: f64,

    /// Seconds between health checks, which replace stopped workers and a stopped scheduler.
    #[arg(short = 'c', long = "health-check-interval", default_value_t = 10.0)]
    pub health_check_interval: f64,

    /// Do not replace stopped workers.
    #[arg(short = 'C', long = "disable-health-check")]
    pub disable_health_check: bool,

    /// Delete stale task locks at start-up.
    #[arg(short = 'f', long = "flush-locks")]
    pub flush_locks: bool,

    /// More lock names to delete at start-up (comma-separated); implies -f.
    #[arg(short = 'L', long = "extra-locks", value_delimiter = ',')]
    pub extra_locks: Vec<String>,

    /// Recycle a worker after this many tasks (needs health checks).
    #[arg(short = 'M', long = "max-tasks")]
    pub max_tasks: Option<usize>,

    /// Longest graceful stop, in seconds; then running tasks are interrupted and requeued.
    #[arg(short = 't', long = "shutdown-timeout")]
    pub shutdown_timeout: Option<f64>,

    /// Which signal stops gracefully; the other stops at once.
    #[arg(short = 'g', long = "graceful-signal", value_enum, default_value_t = GracefulSignal::Int)]
    pub graceful_signal: GracefulSignal,

    /// Seconds between scheduler runs (1-60, dividing 60).
    #[arg(short = 's', long = "scheduler-interval", default_value_t = 1, value_parser = parse_interval)]
    pub scheduler_interval: u64,

    /// Do not enqueue periodic tasks.
    #[arg(short = 'n', long = "no-periodic")]
    pub no_periodic: bool,

    /// Also write logs to this file.
    #[arg(short = 'l', long = "logfile")]
    pub logfile: Option<PathBuf>,

    /// Debug logging.
    #[arg(short = 'v', long, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Warnings and errors only.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Simple log lines: time and message.
    #[arg(short = 'S', long)]
    pub simple: bool,

    /// Read periodic crontabs in this IANA time zone (default UTC), e.g. Europe/Paris.
    #[arg(long = "timezone")]
    pub timezone: Option<String>,

    /// Length of a periodic tick in milliseconds (tests; the default is one minute).
    #[arg(long = "periodic-tick-ms", hide = true)]
    pub periodic_tick_ms: Option<u64>,
}

/// Which signal is graceful (Huey's `-g`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GracefulSignal {
    /// SIGINT is graceful, SIGTERM immediate.
    Int,
    /// SIGTERM is graceful, SIGINT immediate (for Kubernetes, ECS, Heroku...).
    Term,
}

fn parse_backoff(text: &str) -> Result<f64, String> {
    let value: f64 = text.parse().map_err(|e| format!("{e}"))?;
    if value >= 1.0 {
        Ok(value)
    } else {
        Err("the backoff must be at least 1".into())
    }
}

fn parse_interval(text: &str) -> Result<u64, String> {
    let value: u64 = text.parse().map_err(|e| format!("{e}"))?;
    if (1..=60).contains(&value) && 60 % value == 0 {
        Ok(value)
    } else {
        Err("the scheduler interval must be between 1 and 60 and divide 60".into())
    }
}

fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value.max(0.0)).unwrap_or(Duration::MAX)
}

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
/// async fn main() -> Result<(), huey_core::HueyError> {
///     let huey = Huey::memory("my-app"); // in production: a Redis storage
///     huey_core::consumer::run_cli(huey).await
/// }
/// ```
///
/// `cargo run --bin consumer -- -w 4 -k thread -v` then logs its configuration and every
/// registered task, and starts working. See [`Cli`] for the flags.
pub async fn run_cli(huey: Huey) -> Result<(), HueyError> {
    run_cli_with(huey, Cli::parse()).await
}

/// [`run_cli`] with the options given rather than parsed.
pub async fn run_cli_with(huey: Huey, cli: Cli) -> Result<(), HueyError> {
    init_logging(&cli)?;
    let worker_id = std::env::var(super::process::WORKER_ENV)
        .ok()
        .and_then(|id| id.parse::<usize>().ok());

    let mut builder = Consumer::builder(&huey)
        .workers(cli.workers)
        .worker_kind(cli.worker_type)
        .scheduler_interval(Duration::from_secs(cli.scheduler_interval))
        .periodic(!cli.no_periodic)
        .backoff(Backoff {
            initial: seconds(cli.delay),
            max: seconds(cli.max_delay),
            multiplier: cli.backoff,
        })
        .shutdown_timeout(cli.shutdown_timeout.map(seconds))
        .health_check((!cli.disable_health_check).then(|| seconds(cli.health_check_interval)))
        .max_tasks(cli.max_tasks);
    if let Some(name) = &cli.timezone {
        let zone = crate::TimeZone::get(name)
            .map_err(|e| HueyError::Configuration(crate::error_chain(&e).to_string()))?;
        builder = builder.periodic_time_zone(zone);
    }
    if let Some(tick) = cli.periodic_tick_ms {
        builder = builder.periodic_tick(Duration::from_millis(tick));
    }
    builder.graceful_term = cli.graceful_signal == GracefulSignal::Term;
    match worker_id {
        // A process worker: one worker of the parent's pool, nothing else.
        Some(id) => {
            // Stop (and give back the claims) if the parent dies without telling us.
            #[cfg(target_os = "linux")]
            {
                use nix::sys::signal::Signal;
                let immediate = if cli.graceful_signal == GracefulSignal::Term {
                    Signal::SIGINT
                } else {
                    Signal::SIGTERM
                };
                let _ = nix::sys::prctl::set_pdeathsig(immediate);
            }
            builder = builder.workers(1).worker_kind(WorkerKind::Async);
            builder.first_worker_id = id;
            builder.scheduler = false;
        }
        None => {
            builder.process_args = std::env::args().skip(1).collect();
            if cli.flush_locks || !cli.extra_locks.is_empty() {
                let flushed = huey.flush_locks(&cli.extra_locks).await?;
                if !flushed.is_empty() {
                    tracing::warn!(locks = ?flushed, "Found stale locks; flushed them");
                }
            }
            banner(&huey, &cli)?;
        }
    }
    // Listen before starting, so that a signal during start-up stops the consumer properly
    // instead of killing the process.
    let signals = Signals::new(cli.graceful_signal == GracefulSignal::Term)?;
    let consumer = builder.start()?;
    wait_for_signals(consumer, signals, &cli).await
}

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    Graceful,
    Immediate,
    Restart,
}

struct Signals {
    interrupt: Stream,
    terminate: Stream,
    hangup: Stream,
    graceful_term: bool,
}

impl Signals {
    fn new(graceful_term: bool) -> Result<Signals, HueyError> {
        let listen = |kind| {
            signal(kind)
                .map_err(|e| HueyError::Configuration(format!("cannot listen for signals: {e}")))
        };
        Ok(Signals {
            interrupt: listen(SignalKind::interrupt())?,
            terminate: listen(SignalKind::terminate())?,
            hangup: listen(SignalKind::hangup())?,
            graceful_term,
        })
    }

    async fn next(&mut self) -> Request {
        let int = tokio::select! {
            _ = self.interrupt.recv() => true,
            _ = self.terminate.recv() => false,
            _ = self.hangup.recv() => return Request::Restart,
        };
        if int != self.graceful_term {
            Request::Graceful
        } else {
            Request::Immediate
        }
    }
}

async fn wait_for_signals(
    mut consumer: Consumer,
    mut signals: Signals,
    cli: &Cli,
) -> Result<(), HueyError> {
    let request = signals.next().await;
    if request == Request::Immediate {
        tracing::info!("Received the immediate stop signal: interrupting running tasks");
        consumer.stop_now().await?;
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
    consumer.begin_shutdown();
    let timeout = cli.shutdown_timeout.map(seconds);
    let interrupted = tokio::select! {
        _ = consumer.wait_stopped() => false,
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
        consumer.interrupt();
    }
    consumer.complete_stop().await?;
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

fn init_logging(cli: &Cli) -> Result<(), HueyError> {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};

    let level = if cli.verbose {
        "debug"
    } else if cli.quiet {
        "warn"
    } else {
        "info"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let writer = match &cli.logfile {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    HueyError::Configuration(format!(
                        "cannot open log file {}: {e}",
                        path.display()
                    ))
                })?;
            BoxMakeWriter::new(std::io::stderr.and(std::sync::Mutex::new(file)))
        }
        None => BoxMakeWriter::new(std::io::stderr),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // Another subscriber may already be installed (a test, or the application's own): keep it.
    let _ = if cli.simple {
        builder
            .with_target(false)
            .with_level(false)
            .with_timer(tracing_subscriber::fmt::time::ChronoLocal::new(
                "%H:%M:%S".into(),
            ))
            .try_init()
    } else {
        builder.with_thread_names(true).try_init()
    };
    Ok(())
}

/// Logs the configuration and every registered task, as `huey_consumer` does at start-up.
fn banner(huey: &Huey, cli: &Cli) -> Result<(), HueyError> {
    let registry = Registry::global()?;
    tracing::info!(
        "Huey consumer started with {} {} worker(s), PID {}",
        cli.workers,
        cli.worker_type,
        std::process::id()
    );
    tracing::info!(
        "Scheduler runs every {} second(s); periodic tasks are {}; health checks {}; graceful signal {}",
        cli.scheduler_interval,
        if cli.no_periodic {
            "disabled"
        } else {
            "enabled"
        },
        if cli.disable_health_check {
            "disabled".to_owned()
        } else {
            format!("every {}s", cli.health_check_interval)
        },
        match cli.graceful_signal {
            GracefulSignal::Int => "SIGINT",
            GracefulSignal::Term => "SIGTERM",
        }
    );
    tracing::info!("Queue {:?} on {:?}", huey.name(), huey.storage());
    tracing::info!("Messages are {}", huey.describe_codec());
    tracing::info!("The following tasks are available:");
    for task in registry.tasks() {
        tracing::info!("+ {}{}", task.name, describe(task));
    }
    Ok(())
}

fn describe(task: &TaskDescriptor) -> String {
    let o = task.options;
    let mut parts = vec![if task.blocking { "sync" } else { "async" }.to_owned()];
    if let Some(schedule) = task.schedule {
        parts.push(format!("periodic: crontab({schedule})"));
    }
    if o.retries > 0 {
        parts.push(format!("retries={}", o.retries));
    }
    if !o.retry_delay.is_zero() {
        parts.push(format!("retry_delay={:?}", o.retry_delay));
    }
    if o.retry_backoff > 0.0 {
        parts.push(format!("retry_backoff={}", o.retry_backoff));
    }
    if o.priority != 0 {
        parts.push(format!("priority={}", o.priority));
    }
    if let Some(e) = o.expires {
        parts.push(format!("expires={e:?}"));
    }
    if let Some(t) = o.timeout {
        parts.push(format!("timeout={t:?}"));
    }
    format!(" ({})", parts.join(", "))
}
