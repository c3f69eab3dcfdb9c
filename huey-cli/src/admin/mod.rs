//! The admin command: subcommands of the consumer binary that look at and steer the queue it
//! consumes (`status`, listings, dead letters, revocation, pause, flush, `stats`, `top`). Each
//! reads or writes the storage through the `Huey`'s public API, prints plain aligned text or,
//! with `--json`, JSON (see [`listing`], [`stats`] and [`status`] for its stable shape), and
//! fails with a message and a nonzero exit status when asked for something that does not
//! exist.
//!
//! A binary gets it with [`run_cli`](crate::run_cli), which runs the command when one is
//! given; [`run`] runs one directly, for a binary that parses its own command line.
//!
//! ```
//! use clap::Parser;
//! use huey_cli::{AdminCommand, Cli};
//!
//! let cli = Cli::try_parse_from(["my-consumer", "dead", "--search", "timeout", "--json"])?;
//! assert!(matches!(cli.command, Some(AdminCommand::Dead { action: None, .. })));
//! let consumer = Cli::try_parse_from(["my-consumer", "-w", "4"])?;
//! assert_eq!(consumer.command, None, "no subcommand: the consumer runs");
//! # Ok::<(), clap::Error>(())
//! ```

pub mod listing;
pub mod stats;
pub mod status;
mod table;

use std::io::Write;
use std::time::Duration;

use huey_core::storage::DeadLetterSelection;
use huey_core::{Huey, HueyError, Registry, Revoke};

use huey_core::message::Message;
use huey_core::storage::DeadLetter;
use listing::{Filter, TaskRow};
use status::Status;

/// An admin subcommand. Without one, the binary runs the consumer.
#[derive(Debug, Clone, PartialEq, clap::Subcommand)]
#[non_exhaustive]
pub enum AdminCommand {
    /// Shows the queue's counts (pending, scheduled, results, dead letters, paused) and its
    /// live consumers with their last heartbeat, workers and running tasks.
    Status {
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Lists the queued tasks, next first.
    Pending(ListArgs),
    /// Lists the scheduled tasks, soonest first.
    Scheduled(ListArgs),
    /// Lists the dead letters (oldest first), or requeues or deletes them.
    Dead {
        /// What to do with them; without it, they are listed.
        #[command(subcommand)]
        action: Option<DeadAction>,
        /// Which to list, and how.
        #[command(flatten)]
        list: ListArgs,
    },
    /// Revokes one task by id, or every task of a name, until restored.
    Revoke(TargetArgs),
    /// Restores what `revoke` revoked.
    Restore(TargetArgs),
    /// Pauses the queue: no consumer claims from it (within a second) until it is resumed,
    /// across consumer restarts. Running tasks finish.
    Pause,
    /// Resumes a paused queue.
    Resume,
    /// Empties the queue, the schedule, the results and the counters (dead letters stay).
    Flush {
        /// Confirms it: a flush loses every queued task.
        #[arg(long)]
        yes: bool,
    },
    /// Shows the stats history: executions per task (or per minute) over the last minutes,
    /// by outcome, with their mean run time and wait.
    Stats(stats::StatsArgs),
    /// Shows `status` afresh every second until Ctrl-C.
    Top {
        /// Seconds between refreshes.
        #[arg(long, default_value_t = 1.0)]
        interval: f64,
    },
    /// Serves the web dashboard of the queue until Ctrl-C. It has no authentication: listen on
    /// a private address, or mount huey-dashboard's router behind the application's auth.
    #[cfg(feature = "dashboard")]
    Dashboard(DashboardArgs),
}

/// `dashboard`'s options.
#[cfg(feature = "dashboard")]
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct DashboardArgs {
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Show only: no action buttons, and action requests refused.
    #[arg(long)]
    pub read_only: bool,
    /// The time zone the consumers read crontabs in (their `--timezone`), for the periodic
    /// tasks' next runs.
    #[arg(long, value_name = "NAME")]
    pub timezone: Option<String>,
}

/// What a listing shows.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ListArgs {
    /// Which tasks.
    #[command(flatten)]
    pub filter: Filter,
    /// The most rows to show.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

impl ListArgs {
    /// How many stored messages to read: unfiltered, the first `limit` are the answer; a
    /// filter has to look at them all.
    fn scan(&self) -> Option<usize> {
        (self.filter == Filter::default()).then_some(self.limit)
    }
}

/// `dead requeue` and `dead delete`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum DeadAction {
    /// Puts dead letters back on the queue, with their priority.
    Requeue(Selection),
    /// Deletes dead letters.
    Delete(Selection),
}

/// Which dead letters: ids, or all.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[group(required = true, multiple = false)]
pub struct Selection {
    /// Dead-letter ids, or the ids of their tasks.
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,
    /// Every dead letter.
    #[arg(long)]
    pub all: bool,
}

/// What `revoke` and `restore` apply to: one task, or every task of a name.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[group(required = true, multiple = false)]
pub struct TargetArgs {
    /// A task id.
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// A registered task name.
    #[arg(long, value_name = "NAME")]
    pub task: Option<String>,
}

/// A revocation's target, once checked.
enum Target {
    Id(String),
    Task(String),
}

impl TargetArgs {
    /// The one target given (clap insists on one; a caller that builds the arguments itself
    /// may not).
    fn target(self) -> Result<Target, AdminError> {
        match (self.id, self.task) {
            (Some(id), None) => Ok(Target::Id(id)),
            (None, Some(name)) => Ok(Target::Task(name)),
            _ => Err(AdminError::Usage("give one of --id and --task")),
        }
    }
}

/// Why an admin command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The storage or the runtime failed.
    #[error(transparent)]
    Huey(#[from] HueyError),
    /// No dead letter has this id (nor a task of this id).
    #[error("no dead letter has id {0:?}")]
    UnknownDeadLetter(String),
    /// No task is registered under this name.
    #[error("no task is registered as {0:?}")]
    UnknownTask(String),
    /// `restore` found nothing revoked.
    #[error("{0} is not revoked")]
    NotRevoked(String),
    /// The arguments contradict each other, or are missing.
    #[error("{0}")]
    Usage(&'static str),
    /// `flush` without `--yes`.
    #[error("flush empties the queue, the schedule and the results; run `flush --yes` to do it")]
    Unconfirmed,
    /// Writing the output failed.
    #[error("cannot write the output")]
    Output(#[from] std::io::Error),
    /// The dashboard could not listen on its address, or its server failed.
    #[cfg(feature = "dashboard")]
    #[error("cannot serve the dashboard on {address}")]
    Serve {
        /// The address it was to listen on.
        address: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs `command` on `huey`'s queue, writing to standard output.
///
/// ```
/// use huey_cli::admin::{self, AdminCommand};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), huey_cli::Report> {
/// let huey = huey_core::Huey::memory("docs");
/// admin::run(&huey, AdminCommand::Pause).await?; // prints "paused docs"
/// assert!(huey.is_paused().await?);
/// # Ok(())
/// # }
/// ```
pub async fn run(huey: &Huey, command: AdminCommand) -> Result<(), AdminError> {
    match command {
        AdminCommand::Top { interval } => top(huey, crate::cli::seconds(interval)).await,
        #[cfg(feature = "dashboard")]
        AdminCommand::Dashboard(args) => dashboard(huey, args).await,
        command => {
            let text = execute(huey, command).await?;
            std::io::stdout().lock().write_all(text.as_bytes())?;
            Ok(())
        }
    }
}

/// Runs every command but `top`, returning what it prints.
async fn execute(huey: &Huey, command: AdminCommand) -> Result<String, AdminError> {
    Ok(match command {
        AdminCommand::Status { json } => {
            let status = Status::read(huey).await?;
            if json {
                to_json(&status)
            } else {
                status.text(chrono::Utc::now())
            }
        }
        AdminCommand::Pending(args) => {
            let messages = messages(huey, huey.storage().enqueued_items(args.scan()).await)?;
            tasks_out(
                listing::select_tasks(messages, &args.filter, args.limit),
                &args,
                false,
            )
        }
        AdminCommand::Scheduled(args) => {
            let messages = messages(huey, huey.storage().scheduled_items(args.scan()).await)?;
            tasks_out(
                listing::select_tasks(messages, &args.filter, args.limit),
                &args,
                true,
            )
        }
        AdminCommand::Dead { action: None, list } => {
            let rows = listing::select_dead(dead_letters(huey).await?, &list.filter, list.limit);
            if list.json {
                to_json(&rows)
            } else {
                listing::dead_text(&rows)
            }
        }
        AdminCommand::Dead {
            action: Some(action),
            ..
        } => dead_action(huey, action).await?,
        AdminCommand::Revoke(target) => match target.target()? {
            Target::Id(id) => {
                huey.revoke_by_id(&id, Revoke::Forever).await?;
                format!("revoked task {id}\n")
            }
            Target::Task(name) => {
                registered(&name)?;
                huey.revoke_all(&name, Revoke::Forever).await?;
                format!("revoked every {name} task\n")
            }
        },
        AdminCommand::Restore(target) => match target.target()? {
            Target::Id(id) => {
                if !huey.restore_by_id(&id).await? {
                    return Err(AdminError::NotRevoked(format!("task {id}")));
                }
                format!("restored task {id}\n")
            }
            Target::Task(name) => {
                if !huey.restore_all(&name).await? {
                    return Err(AdminError::NotRevoked(name));
                }
                format!("restored every {name} task\n")
            }
        },
        AdminCommand::Pause => {
            huey.pause().await?;
            format!("paused {}\n", huey.name())
        }
        AdminCommand::Resume => {
            huey.resume().await?;
            format!("resumed {}\n", huey.name())
        }
        AdminCommand::Flush { yes } => {
            if !yes {
                return Err(AdminError::Unconfirmed);
            }
            huey.flush().await?;
            format!("flushed {}\n", huey.name())
        }
        AdminCommand::Stats(args) => stats::show(huey, &args).await?,
        AdminCommand::Top { .. } => String::new(),
        #[cfg(feature = "dashboard")]
        AdminCommand::Dashboard(_) => String::new(),
    })
}

fn registered(name: &str) -> Result<(), AdminError> {
    match Registry::global().map_err(HueyError::from)?.get(name) {
        Some(_) => Ok(()),
        None => Err(AdminError::UnknownTask(name.to_owned())),
    }
}

/// Pretty JSON and a newline. The rows are plain data, so serializing cannot fail.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn tasks_out(rows: Vec<TaskRow>, args: &ListArgs, scheduled: bool) -> String {
    if args.json {
        to_json(&rows)
    } else {
        listing::tasks_text(&rows, scheduled)
    }
}

/// The stored messages decoded; a message that does not decode is left out (a consumer
/// dead-letters it when it claims it, where `dead` shows it).
fn messages(
    huey: &Huey,
    items: Result<Vec<Vec<u8>>, huey_core::StorageError>,
) -> Result<Vec<Message>, AdminError> {
    Ok(items
        .map_err(HueyError::from)?
        .iter()
        .filter_map(|bytes| huey.decode_message(bytes).ok())
        .collect())
}

/// The dead letters, each with its message if that decodes.
async fn dead_letters(huey: &Huey) -> Result<Vec<(DeadLetter, Option<Message>)>, AdminError> {
    Ok(huey.dead_letters_decoded(None).await?)
}

/// Requeues or deletes dead letters. Every id is checked first, so a typo changes nothing.
async fn dead_action(huey: &Huey, action: DeadAction) -> Result<String, AdminError> {
    let (selection, requeue) = match action {
        DeadAction::Requeue(s) => (s, true),
        DeadAction::Delete(s) => (s, false),
    };
    if selection.all != selection.ids.is_empty() {
        return Err(AdminError::Usage("give dead-letter ids, or --all"));
    }
    let ids = if selection.all {
        None
    } else {
        let letters = dead_letters(huey).await?;
        let ids = selection
            .ids
            .iter()
            .map(|wanted| {
                letters
                    .iter()
                    .find(|(letter, message)| {
                        &letter.id == wanted || message.as_ref().is_some_and(|m| &m.id == wanted)
                    })
                    .map(|(letter, _)| letter.id.clone())
                    .ok_or_else(|| AdminError::UnknownDeadLetter(wanted.clone()))
            })
            .collect::<Result<Vec<String>, AdminError>>()?;
        Some(ids)
    };
    let which = match &ids {
        Some(ids) => DeadLetterSelection::Ids(ids),
        None => DeadLetterSelection::All,
    };
    Ok(if requeue {
        let moved = huey.requeue_dead_letters(which).await?;
        let mut text = format!("requeued {} dead letter(s)\n", moved.len());
        for letter in &moved {
            text.push_str(&format!("  {}\n", letter.id));
        }
        text
    } else {
        let deleted = huey.delete_dead_letters(which).await?;
        format!("deleted {deleted} dead letter(s)\n")
    })
}

/// Serves the dashboard until Ctrl-C.
#[cfg(feature = "dashboard")]
async fn dashboard(huey: &Huey, args: DashboardArgs) -> Result<(), AdminError> {
    let mut dashboard = huey_dashboard::Dashboard::new(huey.clone()).read_only(args.read_only);
    if let Some(name) = &args.timezone {
        let zone = huey_core::TimeZone::get(name)
            .map_err(|e| HueyError::Configuration(huey_core::error_chain(&e).to_string()))?;
        dashboard = dashboard.time_zone(zone);
    }
    let address = args.listen;
    let failed = |source| AdminError::Serve { address, source };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(failed)?;
    let bound = listener.local_addr().map_err(failed)?;
    let mode = if args.read_only { " (read-only)" } else { "" };
    println!(
        "dashboard of {} at http://{bound}/{mode}; Ctrl-C to stop",
        huey.name()
    );
    let ctrl_c = async {
        // Without a signal handler there is no clean stop; the server then runs until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    dashboard.serve(listener, ctrl_c).await.map_err(failed)
}

/// Prints the status afresh every `interval` until Ctrl-C.
async fn top(huey: &Huey, interval: Duration) -> Result<(), AdminError> {
    let interval = interval.max(Duration::from_millis(100));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = ticker.tick() => {}
        }
        let status = Status::read(huey).await?;
        let now = chrono::Utc::now();
        let mut out = std::io::stdout().lock();
        // Clear the screen and go home, then the status and when it was read.
        write!(
            out,
            "\x1b[2J\x1b[H{}\nupdated {} UTC, every {:?}; Ctrl-C to quit\n",
            status.text(now),
            listing::time(now),
            interval
        )?;
        out.flush()?;
    }
}
