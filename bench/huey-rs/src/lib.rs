//! The tasks of the huey-rs benchmarks (the names Python Huey's `tasks.py` gives them, so the
//! harness's pre-fill and checks work alike) and the queue they run on: `bench` on
//! `HUEY_REDIS_URL` (default `redis://127.0.0.1:6379/14`), keys `huey.redis.bench` and
//! `huey.results.bench`, as the harness expects.
//!
//! Two binaries use it: `huey-bench`, the driver (producers and clients), and
//! `huey-bench-consumer`, a consumer binary written as the README shows a user's, so that
//! what the benchmarks measure of a consumer (W5's memory above all) is what a user's
//! consumer would show, without the driver's code in it.

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
