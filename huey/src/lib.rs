//! # huey
//!
//! huey-rs, the one crate to depend on: a durable background task queue in the spirit of
//! Python's Huey. Everything of `huey-core` is here (`huey::Huey`, `huey::prelude`, the
//! macros), and the other crates come in by feature:
//!
//! | feature | adds |
//! | --- | --- |
//! | `redis` | [`huey::redis`](https://docs.rs/huey-redis): `RedisStorage`, shared between processes, at-least-once |
//! | `sqlite` | [`huey::sqlite`](https://docs.rs/huey-sqlite): `SqliteStorage`, one file and no server, shared between processes, at-least-once, enqueue inside the application's transaction |
//! | `tls` | `rediss://` URLs for the Redis storage (implies `redis`) |
//! | `postgres` | [`huey::postgres`](https://docs.rs/huey-postgres): `PostgresStorage` on sqlx, shared between processes, at-least-once, enqueue inside the application's transaction |
//! | `postgres-tls` | TLS connections for the PostgreSQL storage (implies `postgres`) |
//! | `cli` | [`huey::cli`](https://docs.rs/huey-cli): `run_cli`, the consumer binary's flags, logging, signals and process workers |
//! | `dashboard` | [`huey::dashboard`](https://docs.rs/huey-dashboard): the web dashboard, an axum router to mount behind the application's auth; with `cli`, the consumer binary's `dashboard --listen ADDR` subcommand |
//! | `metrics` | task counters, run-time and queue-latency histograms and queue gauges through the `metrics` facade (`huey::metrics`); with `cli`, the consumer's `--metrics ADDR` Prometheus endpoint |
//! | `opentelemetry` | the producer's W3C trace context carried in each message, so that the enqueue (a `huey.enqueue` span) and the execution (its `task` span) are one OpenTelemetry trace (`huey::trace`) |
//!
//! With no feature the queue runs on the in-memory storage, in one process:
//!
//! ```
//! use huey::prelude::*;
//!
//! #[task(retries = 2)]
//! fn add(a: i64, b: i64) -> i64 {
//!     a + b
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let huey = Huey::memory("my-app");
//! let consumer = Consumer::builder(&huey).start()?;
//! let mut sum = add::enqueue(&huey, 2, 3).await?;
//! assert_eq!(sum.wait(std::time::Duration::from_secs(5)).await?, 5);
//! consumer.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! The macros find huey-core through this crate by themselves: a crate that depends on `huey`
//! alone needs no `crate = ...` option.
#![warn(missing_docs)]

pub use huey_core::*;

/// The Redis storage (the `huey-redis` crate), with the `redis` feature.
#[cfg(feature = "redis")]
pub use huey_redis as redis;

/// The PostgreSQL storage (the `huey-postgres` crate), with the `postgres` feature.
#[cfg(feature = "postgres")]
pub use huey_postgres as postgres;

/// The SQLite storage (the `huey-sqlite` crate), with the `sqlite` feature.
#[cfg(feature = "sqlite")]
pub use huey_sqlite as sqlite;

/// The command-line consumer (the `huey-cli` crate), with the `cli` feature.
#[cfg(feature = "cli")]
pub use huey_cli as cli;

/// The web dashboard (the `huey-dashboard` crate), with the `dashboard` feature.
#[cfg(feature = "dashboard")]
pub use huey_dashboard as dashboard;
