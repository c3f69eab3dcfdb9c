//! The tasks of the consumer/producer example, shared by both binaries: a real application
//! would keep them in a library crate that both depend on (and `link_tasks!` it).
//!
//! Each example is its own crate, so the default names (`module_path!()`, which starts with the
//! crate name) would differ between the two binaries; explicit names keep them equal.

use std::time::Duration;

use huey_core::prelude::*;

/// Adds two numbers.
#[task(name = "app::add")]
pub async fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// A sync, CPU-bound task: runs on the blocking pool (or its own thread with `-k thread`).
#[task(name = "app::fibonacci", timeout = "30s")]
pub fn fibonacci(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a.wrapping_add(b));
    }
    a
}

/// Fails on odd attempts and retries after a short delay.
#[task(name = "app::flaky", retries = 3, retry_delay = "200ms", context)]
pub async fn flaky(task: &Task, label: String) -> anyhow::Result<String> {
    if task.retries() == 3 {
        anyhow::bail!("{label}: first attempt always fails");
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(format!(
        "{label}: succeeded with {} retries left",
        task.retries()
    ))
}

/// Runs every five minutes on one consumer, however many run.
#[periodic_task(crontab(minute = "*/5"), name = "app::report_queue_health")]
pub async fn report_queue_health() {
    tracing::info!("periodic health report");
}
