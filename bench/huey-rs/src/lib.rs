//! The tasks of the huey-rs benchmarks (the names Python Huey's `tasks.py` gives them, so the
//! harness's pre-fill and checks work alike) and the queue they run on: `bench` on
//! `HUEY_REDIS_URL` (default `redis://127.0.0.1:6379/14`), keys `huey.redis.bench` and
//! `huey.results.bench`, as the harness expects; or, for the driver, on the storage
//! `HUEY_BENCH_URL` names (`redis://…`, `postgres://…`, `sqlite:PATH`; see [`connect_url`]).
//!
//! The binaries that use it: `huey-bench`, the driver (producers and clients), and the
//! consumers, written as the README shows a user's, so that what the benchmarks measure of a
//! consumer (W5's memory above all) is what a user's consumer would show, without the
//! driver's code in it: `huey-bench-consumer` on Redis, `huey-bench-consumer-postgres` and
//! `huey-bench-consumer-sqlite` on the SQL storages (one storage linked into each).

use std::time::Duration;

use huey_core::HueyBuilder;
use huey_core::prelude::*;
use huey_redis::RedisStorage;

/// Does nothing and returns its argument (stored as the result).
#[task(name = "tasks.noop")]
pub async fn noop(i: u64) -> u64 {
    i
}

/// Sleeps without using CPU.
#[task(name = "tasks.sleep_ms")]
pub async fn sleep_ms(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

/// Returns when it started, in microseconds since the epoch (for the pickup latency).
#[task(name = "tasks.started_at")]
pub async fn started_at() -> i64 {
    now_micros()
}

/// Microseconds since the epoch.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default()
}

/// The benchmark queue, built from `builder` (which carries the codec options under test).
pub async fn connect(builder: HueyBuilder) -> Result<Huey, HueyError> {
    let url =
        std::env::var("HUEY_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/14".to_owned());
    Ok(builder.build(RedisStorage::connect("bench", &url).await?))
}

/// The URL a benchmark run's storage is at: `HUEY_BENCH_URL` (`redis://…`, `postgres://…` or
/// `sqlite:PATH`), else `HUEY_REDIS_URL`, else the Redis default.
pub fn bench_url() -> String {
    std::env::var("HUEY_BENCH_URL")
        .or_else(|_| std::env::var("HUEY_REDIS_URL"))
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/14".to_owned())
}

/// The benchmark queue on the storage [`bench_url`] names, built from `builder`. The driver
/// uses this; the consumers each link one storage only (see the module docs).
pub async fn connect_url(builder: HueyBuilder) -> Result<Huey, HueyError> {
    let url = bench_url();
    #[cfg(feature = "sql")]
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return connect_postgres(builder, &url).await;
    } else if url.starts_with("sqlite:") {
        return connect_sqlite(builder, &url).await;
    }
    #[cfg(not(feature = "sql"))]
    if !url.starts_with("redis") {
        return Err(huey_core::StorageError::Invalid(
            format!("{url}: not a Redis URL, and huey-bench was built without feature `sql`")
                .into(),
        )
        .into());
    }
    Ok(builder.build(RedisStorage::connect("bench", &url).await?))
}

#[cfg(feature = "sql")]
/// The benchmark queue on PostgreSQL at `url`: tables in schema `huey` (created on connect),
/// rows under namespace `bench`.
pub async fn connect_postgres(builder: HueyBuilder, url: &str) -> Result<Huey, HueyError> {
    let storage = huey_postgres::PostgresStorage::connect("bench", url)
        .await
        .map_err(huey_core::StorageError::from)?;
    Ok(builder.build(storage))
}

#[cfg(feature = "sql")]
/// The benchmark queue in the SQLite file of `url` (`sqlite:PATH` or `sqlite://PATH`), rows
/// under namespace `bench`; the file is created (in WAL mode) if missing.
pub async fn connect_sqlite(builder: HueyBuilder, url: &str) -> Result<Huey, HueyError> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    Ok(builder.build(huey_sqlite::SqliteStorage::open("bench", path).await?))
}
