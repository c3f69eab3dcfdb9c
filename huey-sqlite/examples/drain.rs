//! Drain benchmark (the W2 workload on SQLite): pre-queues `N` noop tasks in a fresh file,
//! then times a consumer with `W` async workers until every task has completed.
//!
//! ```text
//! cargo run --release -p huey-sqlite --example drain -- 20000 8
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use huey_core::prelude::*;
use huey_sqlite::SqliteStorage;

/// Does nothing and returns its argument (stored as the result), as the W2 task.
#[task(name = "tasks.noop")]
async fn noop(i: u64) -> u64 {
    i
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().as_deref().unwrap_or("20000").parse()?;
    let workers: usize = args.next().as_deref().unwrap_or("8").parse()?;
    let dir = std::env::temp_dir().join(format!("huey-sqlite-drain-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let outcome = drain(&dir, n, workers).await;
    std::fs::remove_dir_all(&dir)?;
    outcome
}

async fn drain(
    dir: &std::path::Path,
    n: usize,
    workers: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let huey = Huey::new(
        "bench",
        SqliteStorage::open("bench", dir.join("bench.db")).await?,
    );
    let items: Vec<u64> = (0..n as u64).collect();
    for part in items.chunks(10_000) {
        let _ = noop::map(&huey, part.iter().copied()).await?;
    }
    let done = Arc::new(AtomicUsize::new(0));
    let all_done = Arc::new(tokio::sync::Notify::new());
    let (seen, wake) = (Arc::clone(&done), Arc::clone(&all_done));
    huey.connect_signal(&[Signal::Complete], move |_, _, _| {
        if seen.fetch_add(1, Ordering::SeqCst) + 1 == n {
            wake.notify_one();
        }
    });
    let started = Instant::now();
    let consumer = Consumer::builder(&huey)
        .workers(workers)
        .periodic(false)
        .prefetch(
            std::env::var("PREFETCH")
                .ok()
                .and_then(|p| p.parse().ok())
                .unwrap_or(workers),
        )
        .start()?;
    if tokio::time::timeout(Duration::from_secs(600), all_done.notified())
        .await
        .is_err()
    {
        return Err(format!(
            "only {} of {n} tasks completed",
            done.load(Ordering::SeqCst)
        )
        .into());
    }
    let elapsed = started.elapsed().as_secs_f64();
    consumer.shutdown().await?;
    println!(
        "drained {n} tasks with {workers} workers in {elapsed:.2} s: {:.0} tasks/s",
        n as f64 / elapsed
    );
    Ok(())
}
