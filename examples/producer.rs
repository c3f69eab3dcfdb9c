//! Enqueues the example's tasks and prints their results; run a consumer first.
//!
//! ```text
//! cargo run --example consumer &
//! cargo run --example producer
//! HUEY_SQLITE=huey.db cargo run --example producer   # with a consumer on the same file
//! ```

mod app {
    pub mod storage;
    pub mod tasks;
}

use std::time::Duration;

use app::tasks::{add, fibonacci, flaky};
use huey_core::Huey;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Only a task's final outcome is stored: a waiter never sees the error of an attempt that
    // will be retried.
    let huey = Huey::builder("example")
        .store_intermediate_errors(false)
        .build_shared(app::storage::storage().await?);
    let wait = Duration::from_secs(30);

    let mut sum = add::enqueue(&huey, 40, 2).await?;
    let mut fib = fibonacci::call(50).priority(10).enqueue(&huey).await?;
    let mut retried = flaky::enqueue(&huey, "flaky".into()).await?;
    let mut many = add::map(&huey, (1..=5).map(|i| (i, i * 10))).await?;

    println!("add(40, 2) = {}", sum.wait(wait).await?);
    println!("fibonacci(50) = {}", fib.wait(wait).await?);
    println!("{}", retried.wait(wait).await?);
    let mut sums = Vec::new();
    for handle in &mut many {
        sums.push(handle.wait(wait).await?);
    }
    println!("add over 1..=5 = {sums:?}");
    Ok(())
}
