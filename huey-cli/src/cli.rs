//! The command line: Huey's `huey_consumer` flags, parsed by clap.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// The consumer's command line, modelled on `huey_consumer`'s flags.
#[derive(Debug, Clone, Parser)]
#[command(
    about = "Runs a huey-rs consumer: executes queued tasks, moves scheduled ones to the queue and \
             enqueues periodic tasks.",
    after_help = "Signals: the graceful signal (SIGINT unless -g TERM) stops fetching, lets running \
                  tasks finish and exits 0; sending it again stops at once. The other one (SIGTERM \
                  unless -g TERM) stops at once: running tasks are interrupted and put back on the \
                  queue (Huey loses them). SIGHUP stops gracefully and restarts in place.\n\n\
                  With a subcommand, the binary administers the queue instead of consuming it \
                  (see `help status`).",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// An admin command (status, listings, dead letters, revocation, pause, flush, top).
    /// Without one, the consumer runs with the flags given.
    #[command(subcommand)]
    pub command: Option<crate::admin::AdminCommand>,

    /// Number of workers.
    #[arg(short = 'w', long, default_value_t = 1)]
    pub workers: usize,

    /// Worker type. Unlike Huey (thread), the default is async: tokio tasks, with sync task
    /// bodies on the blocking pool, so many I/O-bound tasks share few threads.
    #[arg(short = 'k', long = "worker-type", value_enum, default_value_t = WorkerType::Async)]
    pub worker_type: WorkerType,

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

    /// Serve metrics in Prometheus' text format on this address, e.g. 127.0.0.1:9464 (the
    /// `metrics` feature). With -k process the parent serves the queue gauges only.
    #[cfg(feature = "metrics")]
    #[arg(long = "metrics", value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,

    /// Milliseconds between samples of the queue gauges (default 5000).
    #[cfg(feature = "metrics")]
    #[arg(long = "metrics-interval-ms", hide = true)]
    pub metrics_interval_ms: Option<u64>,

    /// Keep the stats history (per-minute counts and run times, which `stats` and the
    /// dashboard draw) for this many days; 0 keeps none.
    #[arg(long = "stats-days", value_name = "DAYS", default_value_t = 7)]
    pub stats_days: u32,

    /// Length of a periodic tick in milliseconds (tests; the default is one minute).
    #[arg(long = "periodic-tick-ms", hide = true)]
    pub periodic_tick_ms: Option<u64>,
}

/// The worker type (`-k`): huey-core's [`WorkerKind`](huey_core::WorkerKind)s, plus process
/// workers, which only a command-line consumer can run (a child re-runs this binary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum WorkerType {
    /// Tokio tasks on the consumer's runtime; sync bodies on the blocking pool (the default).
    #[default]
    Async,
    /// One OS thread per worker, each with a single-threaded runtime of its own.
    Thread,
    /// One child process per worker, re-running this binary; the parent schedules and
    /// supervises. Needs a storage shared between processes (Redis) and a unix system.
    Process,
}

impl std::fmt::Display for WorkerType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WorkerType::Async => "async",
            WorkerType::Thread => "thread",
            WorkerType::Process => "process",
        })
    }
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

/// Seconds from the command line as a duration; negative is zero, too large is forever.
pub(crate) fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value.max(0.0)).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Cli, GracefulSignal, WorkerType};

    #[test]
    fn test_the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn test_defaults_are_huey_consumers_but_async() {
        let cli = Cli::try_parse_from(["consumer"]).unwrap();
        assert_eq!(cli.workers, 1);
        assert_eq!(cli.worker_type, WorkerType::Async);
        assert_eq!(cli.graceful_signal, GracefulSignal::Int);
        assert_eq!(cli.scheduler_interval, 1);
        assert!(!cli.no_periodic && !cli.flush_locks);
    }

    #[test]
    fn test_worker_types_and_flags_parse() {
        let cli = Cli::try_parse_from([
            "consumer", "-w", "4", "-k", "process", "-g", "term", "-L", "a,b", "-t", "2.5",
        ])
        .unwrap();
        assert_eq!(cli.workers, 4);
        assert_eq!(cli.worker_type, WorkerType::Process);
        assert_eq!(cli.graceful_signal, GracefulSignal::Term);
        assert_eq!(cli.extra_locks, ["a", "b"]);
        assert_eq!(cli.shutdown_timeout, Some(2.5));
        assert_eq!(
            Cli::try_parse_from(["consumer", "-k", "thread"])
                .unwrap()
                .worker_type
                .to_string(),
            "thread"
        );
    }

    #[test]
    fn test_admin_subcommands_parse_and_consumer_flags_still_run_the_consumer() {
        use crate::admin::{AdminCommand, DeadAction};
        assert_eq!(
            Cli::try_parse_from(["consumer", "-w", "2"])
                .unwrap()
                .command,
            None
        );
        let command = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("consumer").chain(args.iter().copied()))
                .map(|cli| cli.command)
        };
        assert_eq!(
            command(&["status", "--json"]).unwrap(),
            Some(AdminCommand::Status { json: true })
        );
        assert_eq!(command(&["pause"]).unwrap(), Some(AdminCommand::Pause));
        let Some(AdminCommand::Pending(list)) = command(&[
            "pending",
            "--task",
            "app::send",
            "--search",
            "bob",
            "--json",
        ])
        .unwrap() else {
            panic!("pending parses");
        };
        assert_eq!(list.filter.task.as_deref(), Some("app::send"));
        assert_eq!(list.filter.search.as_deref(), Some("bob"));
        assert!(list.json);
        let Some(AdminCommand::Dead {
            action: Some(DeadAction::Requeue(selection)),
            ..
        }) = command(&["dead", "requeue", "a", "b"]).unwrap()
        else {
            panic!("dead requeue parses");
        };
        assert_eq!(selection.ids, ["a", "b"]);
        for refused in [
            &["dead", "requeue"][..],
            &["dead", "delete", "a", "--all"],
            &["revoke"],
            &["revoke", "--id", "a", "--task", "b"],
            &["-w", "2", "status"],
        ] {
            assert!(command(refused).is_err(), "{refused:?}");
        }
    }

    #[cfg(feature = "dashboard")]
    #[test]
    fn test_the_dashboard_subcommand_parses() {
        use crate::admin::{AdminCommand, DashboardArgs};
        let parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("consumer").chain(args.iter().copied()))
                .map(|cli| cli.command)
        };
        assert_eq!(
            parse(&["dashboard"]).unwrap(),
            Some(AdminCommand::Dashboard(DashboardArgs {
                listen: "127.0.0.1:8080".parse().unwrap(),
                read_only: false,
                timezone: None,
            }))
        );
        let Some(AdminCommand::Dashboard(args)) =
            parse(&["dashboard", "--listen", "0.0.0.0:9000", "--read-only"]).unwrap()
        else {
            panic!("dashboard parses");
        };
        assert_eq!((args.listen.port(), args.read_only), (9000, true));
        assert!(parse(&["dashboard", "--listen", "nowhere"]).is_err());
    }

    #[test]
    fn test_bad_values_are_refused() {
        for args in [
            ["consumer", "-s", "7"],
            ["consumer", "-b", "0.5"],
            ["consumer", "-k", "fiber"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
        assert!(Cli::try_parse_from(["consumer", "-v", "-q"]).is_err());
    }
}
