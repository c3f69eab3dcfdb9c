//! Progress reported by a running task shows beside it in its consumer's presence record (so
//! in the admin command's `status`), and goes with it when the task settles.

use std::time::Duration;

use huey_core::MemoryStorage;
use huey_core::prelude::*;
use huey_tests::presence::{WAIT, consumer_until};

/// Reports its progress, then stays running until the test stores a value under `gate`.
#[task(context)]
async fn import(task: &Task, queue: State<Huey>, gate: String) -> anyhow::Result<()> {
    task.report_progress(0.25, "page 1 of 4");
    while queue.peek::<bool>(&gate).await?.is_none() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

#[tokio::test]
async fn test_a_running_tasks_progress_shows_in_its_consumers_record() {
    let huey = Huey::new("progress", MemoryStorage::new());
    let consumer = Consumer::builder(&huey).workers(1).start().unwrap();
    let mut running = import::enqueue(&huey, "gate".to_owned()).await.unwrap();
    let seen = consumer_until(&huey, |c| {
        c.in_flight.first().is_some_and(|t| t.progress.is_some())
    })
    .await;
    let task = &seen.in_flight[0];
    assert_eq!(task.id, running.id());
    let progress = task.progress.as_ref().unwrap();
    assert_eq!(progress.fraction, 0.25);
    assert_eq!(progress.message, "page 1 of 4");

    huey.put("gate", &true).await.unwrap();
    running.wait(WAIT).await.unwrap();
    consumer_until(&huey, |c| c.in_flight.is_empty()).await;
    consumer.shutdown().await.unwrap();
}
