//! # huey-cli
//!
//! The command-line consumer of huey-rs, as Huey's `huey_consumer`: a binary that calls
//! [`run_cli`] gets its flags (`-w -k -d -m -b -c -C -f -L -M -t -g -s -n -l -v -q -S`), log
//! set-up, signal handling and process workers. It is a crate of its own so that a library that
//! only enqueues, or embeds [`huey_core::Consumer`], links neither clap nor tracing-subscriber.
//!
//! ```no_run
//! use huey_core::Huey;
//!
//! # #[huey_core::task] fn ping() {}
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), huey_cli::Report> {
//!     let huey = Huey::memory("my-app"); // in production: huey_redis::RedisStorage
//!     huey_cli::run_cli(huey).await
//! }
//! ```
//!
//! `my-consumer -w 4 -k thread -v` then logs its configuration and every registered task, and
//! works until a signal stops it; `--help` lists the flags (see [`Cli`]).
//!
//! The same binary is the admin command: `my-consumer status`, `pending`, `scheduled`, `dead`
//! (and `dead requeue|delete`), `revoke`/`restore`, `pause`/`resume`, `flush --yes` and `top`
//! look at or steer the queue instead of consuming it (see [`admin`]).
//!
//! With the `dashboard` feature, `my-consumer dashboard --listen 127.0.0.1:8080 [--read-only]`
//! serves huey-dashboard's web dashboard of the queue (its pages know the binary's registered
//! tasks) until Ctrl-C. It has no authentication of its own: keep it on a private address, or
//! mount `huey_dashboard::Dashboard`'s router in an application behind its auth.
//!
//! With the `metrics` feature, `--metrics 127.0.0.1:9464` installs a Prometheus recorder and
//! serves it over HTTP (see `huey_core::metrics` for the names). The parent of process workers
//! serves the queue gauges only: the workers' task counters stay in their own processes.
//!
//! With the `opentelemetry` feature, each execution's span takes the trace context its message
//! carries as its parent (see `huey_core::trace`); the binary installs its OpenTelemetry
//! pipeline in a `tracing` subscriber before calling [`run_cli`], which keeps it.
//!
//! ## Signals and platforms
//!
//! On unix the graceful signal (SIGINT, or SIGTERM with `-g term`) stops fetching and lets
//! running tasks finish; sending it again, or the other signal, stops at once and puts running
//! tasks back on the queue. SIGHUP stops gracefully and execs the binary afresh. Process workers
//! (`-k process`) are children that re-run the binary, each as one worker, while the parent
//! schedules and supervises them.
//!
//! Elsewhere only Ctrl-C exists: it stops gracefully, and a second one stops at once. `-k process`
//! and `-g term` are refused with an error there rather than ignored.
#![warn(missing_docs)]

pub mod admin;
mod banner;
mod cli;
mod logging;
#[cfg(feature = "metrics")]
mod metrics;
#[cfg(unix)]
mod process;
mod report;
mod run;
mod signals;

pub use admin::{AdminCommand, AdminError};
pub use cli::{Cli, GracefulSignal, WorkerType};
pub use report::Report;
pub use run::{run_cli, run_cli_with};
