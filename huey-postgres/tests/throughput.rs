//! Quick figures, not pass/fail bars (ignored by default; run with
//! `cargo test -p huey-postgres --release --test throughput -- --ignored --nocapture`):
//! the drain rate of 64 async workers, and the idle pickup latency (enqueue to task start).

mod support;

use std::time::{Duration, Instant};

use huey_core::prelude::*;
use huey_postgres::PostgresOptions;

#[task]
async fn noop(i: u64) -> u64 {
    i
}

#[task]
async fn started_at() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// The drain tests' polls, which must cost the server little: `count(*)` of the queue would
/// scan the table each time (a tenth of a drain's server CPU, measured), and reading the head
/// of the queue steps over the index entries of every row claimed since the last vacuum (82 ms
/// and 8,000 buffers a poll by the end of a million, measured). So: how many claims were made
/// (the claim sequence), and once they are all made, whether any is still in flight.
struct Progress {
    claimed: String,
    in_flight: String,
}

impl Progress {
    fn new(schema: &str, namespace: &str) -> Progress {
        Progress {
            claimed: format!(
                "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {schema}.claim_seq"
            ),
            in_flight: format!(
                "SELECT count(*) FROM {schema}.claims WHERE namespace = '{namespace}'"
            ),
        }
    }

    /// How many of `n` tasks are settled (counting those in flight as not, once all are
    /// claimed).
    async fn settled(&self, pool: &sqlx::PgPool, n: i64) -> i64 {
        let (claimed,): (i64,) = sqlx::query_as(&self.claimed).fetch_one(pool).await.unwrap();
        if claimed < n {
            return claimed;
        }
        let (in_flight,): (i64,) = sqlx::query_as(&self.in_flight)
            .fetch_one(pool)
            .await
            .unwrap();
        claimed - in_flight
    }
}

fn tasks() -> u64 {
    std::env::var("DRAIN_TASKS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by hand"]
async fn drain_rate_64_workers() {
    let support::Fixture { storage, guard } =
        support::fixture_with("drain", PostgresOptions::default().max_connections(16)).await;
    let pool = storage.pool().clone();
    let huey = Huey::new("drain", storage);
    let n = tasks();
    let all: Vec<u64> = (0..n).collect();
    for part in all.chunks(10_000) {
        let _ = noop::map(&huey, part.iter().copied()).await.unwrap();
    }
    let progress = Progress::new(&guard.schema, "drain");
    let started = Instant::now();
    let consumer = Consumer::builder(&huey).workers(64).start().unwrap();
    loop {
        if progress.settled(&pool, n as i64).await >= n as i64 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "drained in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    consumer.shutdown().await.unwrap();
    println!(
        "drain: {n} tasks, 64 workers, {elapsed:.2} s, {:.0} tasks/s",
        n as f64 / elapsed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by hand"]
async fn idle_pickup_latency() {
    let support::Fixture {
        storage,
        guard: _guard,
    } = support::fixture_with("pickup", PostgresOptions::default()).await;
    let huey = Huey::new("pickup", storage);
    let consumer = Consumer::builder(&huey).workers(8).start().unwrap();
    let (mut samples, mut enqueues) = (Vec::new(), Vec::new());
    for _ in 0..200 {
        // Idle first: the consumer is asleep on its LISTEN connection.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let sent = chrono::Utc::now().timestamp_micros();
        let mut result = started_at::call().enqueue(&huey).await.unwrap();
        enqueues.push((chrono::Utc::now().timestamp_micros() - sent) as f64 / 1000.0);
        let started = result.wait(Duration::from_secs(30)).await.unwrap();
        samples.push((started - sent) as f64 / 1000.0);
    }
    consumer.shutdown().await.unwrap();
    let at = |samples: &mut Vec<f64>, p: f64| {
        samples.sort_by(f64::total_cmp);
        samples[((p / 100.0 * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1]
    };
    println!(
        "idle pickup: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (of which the enqueue's commit: \
         p50 {:.2} ms, p99 {:.2} ms)",
        at(&mut samples, 50.0),
        at(&mut samples, 99.0),
        at(&mut samples, 100.0),
        at(&mut enqueues, 50.0),
        at(&mut enqueues, 99.0),
    );
}

/// A long drain keeps its rate: the last 100,000 tasks at 90% or more of the first 100,000's
/// rate (dead rows of settled tasks must not slow the claims down). `DRAIN_TASKS` sets the
/// size (default 1,000,000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by hand"]
async fn long_drain_keeps_its_rate() {
    let n: i64 = std::env::var("DRAIN_TASKS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let step = 100_000.min(n / 2);
    let support::Fixture { storage, guard } =
        support::fixture_with("long", PostgresOptions::default().max_connections(16)).await;
    let pool = storage.pool().clone();
    let huey = Huey::new("long", storage);
    let all: Vec<u64> = (0..n as u64).collect();
    for part in all.chunks(10_000) {
        let _ = noop::map(&huey, part.iter().copied()).await.unwrap();
    }
    let progress = Progress::new(&guard.schema, "long");
    let consumer = Consumer::builder(&huey).workers(64).start().unwrap();
    let started = Instant::now();
    let mut marks = vec![(n, Duration::ZERO)];
    loop {
        let done = progress.settled(&pool, n).await;
        let left = n - done;
        if done >= (marks.len() as i64) * step || left == 0 {
            marks.push((left, started.elapsed()));
        }
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    consumer.shutdown().await.unwrap();
    let rate =
        |a: &(i64, Duration), b: &(i64, Duration)| (a.0 - b.0) as f64 / (b.1 - a.1).as_secs_f64();
    let first = rate(&marks[0], &marks[1]);
    let last = rate(&marks[marks.len() - 2], &marks[marks.len() - 1]);
    println!(
        "long drain: {n} tasks in {:.1} s; first {step}: {first:.0}/s, last: {last:.0}/s ({:.0}%)",
        started.elapsed().as_secs_f64(),
        last / first * 100.0
    );
}
