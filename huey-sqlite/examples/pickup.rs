//! Pickup latency on SQLite: the time from an enqueue to the start of its task, on an idle
//! consumer, sequentially. `in-process` runs the consumer in this process (woken without
//! polling); `in-process-tx` too, each task enqueued on a transaction of the application's
//! (`enqueue_in`, woken by the outbox's commit hook; timed from the transaction's start);
//! `cross-process` runs it in a child process (woken by its poll of the file).
//!
//! ```text
//! cargo run --release -p huey-sqlite --example pickup -- in-process 200
//! cargo run --release -p huey-sqlite --example pickup -- in-process-tx 200
//! cargo run --release -p huey-sqlite --example pickup -- cross-process 200
//! ```

use std::path::Path;
use std::time::Duration;

use huey_core::prelude::*;
use huey_sqlite::{EnqueueIn, SqliteStorage};

/// Returns when it started, in microseconds since the epoch.
#[task(name = "pickup.started_at")]
async fn started_at() -> i64 {
    now_micros()
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [mode, path] if mode == "consumer" => consume(Path::new(path)).await,
        [mode, n] => {
            let n: usize = n.parse()?;
            let dir =
                std::env::temp_dir().join(format!("huey-sqlite-pickup-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            let outcome = measure(mode, &dir.join("pickup.db"), n).await;
            std::fs::remove_dir_all(&dir)?;
            outcome
        }
        _ => Err("usage: pickup in-process|in-process-tx|cross-process N".into()),
    }
}

/// The child: a consumer with one worker until its standard input closes.
async fn consume(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let huey = Huey::new("pickup", SqliteStorage::open("pickup", path).await?);
    let consumer = Consumer::builder(&huey)
        .workers(1)
        .periodic(false)
        .start()?;
    println!("ready");
    tokio::task::spawn_blocking(|| std::io::Read::read(&mut std::io::stdin(), &mut [0u8; 1]))
        .await??;
    consumer.shutdown().await?;
    Ok(())
}

async fn measure(mode: &str, path: &Path, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    let storage = SqliteStorage::open("pickup", path).await?;
    let outbox = storage.outbox();
    let pool = storage.pool().clone();
    let huey = Huey::new("pickup", storage);
    let (local, child) = match mode {
        "in-process" | "in-process-tx" => {
            let consumer = Consumer::builder(&huey)
                .workers(1)
                .periodic(false)
                .start()?;
            (Some(consumer), None)
        }
        "cross-process" => {
            let mut child = std::process::Command::new(std::env::current_exe()?)
                .arg("consumer")
                .arg(path)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()?;
            let stdout = child.stdout.take().ok_or("no stdout")?;
            let mut line = String::new();
            std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)?;
            (None, Some(child))
        }
        other => return Err(format!("unknown mode {other}").into()),
    };
    let mut ms = Vec::with_capacity(n);
    for i in 0..n + 10 {
        // Idle between tasks, so each enqueue meets a waiting consumer.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let sent = now_micros();
        let mut handle = if mode == "in-process-tx" {
            let mut tx = pool.begin().await?;
            let handle = started_at::call()
                .enqueue_in(&huey, &outbox, &mut tx)
                .await?;
            tx.commit().await?;
            handle
        } else {
            started_at::enqueue(&huey).await?
        };
        let started = handle.wait(Duration::from_secs(10)).await?;
        if i >= 10 {
            ms.push((started - sent) as f64 / 1000.0);
        }
    }
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((p / 100.0) * ms.len() as f64).ceil().max(1.0) as usize - 1];
    println!(
        "{mode} pickup over {n} tasks: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        at(50.0),
        at(99.0),
        ms[ms.len() - 1]
    );
    if let Some(consumer) = local {
        consumer.shutdown().await?;
    }
    if let Some(mut child) = child {
        drop(child.stdin.take());
        child.wait()?;
    }
    Ok(())
}
