//! The stats history a consumer keeps in the storage: each execution is counted once, by
//! minute, task and outcome, with its body's run time; the counts reach the storage while the
//! consumer runs, and all of them when it stops; a consumer told to keep none writes none.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use huey_core::prelude::*;
use huey_core::{Consumer, MinuteStats};
use huey_tests::backend::{Backend, WAIT};

#[task]
fn quick(n: u64) -> u64 {
    n
}

#[task]
async fn nap(millis: u64) {
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

#[task(retries = 1)]
fn flaky() -> anyhow::Result<()> {
    anyhow::bail!("always fails")
}

/// Counts by (task, outcome), over every minute.
fn counts(rows: &[MinuteStats]) -> BTreeMap<(String, String), u64> {
    let mut counts = BTreeMap::new();
    for row in rows {
        *counts
            .entry((row.task.clone(), row.outcome.clone()))
            .or_default() += row.count;
    }
    counts
}

fn key(task: &str, outcome: &str) -> (String, String) {
    (format!("{}::{task}", module_path!()), outcome.to_owned())
}

async fn test_each_execution_is_counted_by_its_outcome(backend: Backend) {
    let huey = backend.huey("stats-outcomes").await;
    let since = Utc::now() - chrono::Duration::minutes(1);
    let revoked = quick::enqueue(&huey, 0).await.unwrap();
    revoked.revoke().await.unwrap();
    let mut waits = Vec::new();
    for n in 1..=3 {
        waits.push(quick::enqueue(&huey, n).await.unwrap());
    }
    let mut napping = nap::enqueue(&huey, 30).await.unwrap();
    let mut failing = flaky::enqueue(&huey).await.unwrap();

    let consumer = Consumer::builder(&huey)
        .workers(2)
        .periodic(false)
        .start()
        .unwrap();
    for mut wait in waits {
        wait.wait(WAIT).await.unwrap();
    }
    napping.wait(WAIT).await.unwrap();
    assert!(failing.wait(WAIT).await.is_err());
    consumer.shutdown().await.unwrap();

    let rows = huey.stats(since).await.unwrap();
    let expected = BTreeMap::from([
        (key("quick", "complete"), 3),
        (key("quick", "revoked"), 1),
        (key("nap", "complete"), 1),
        (key("flaky", "retrying"), 1),
        (key("flaky", "error"), 1),
    ]);
    assert_eq!(counts(&rows), expected, "{rows:#?}");
    let nap_time: Duration = rows
        .iter()
        .filter(|r| r.task.ends_with("::nap"))
        .map(|r| r.run_time)
        .sum();
    assert!(nap_time >= Duration::from_millis(30), "{nap_time:?}");
    let revoked_time: Duration = rows
        .iter()
        .filter(|r| r.outcome == "revoked")
        .map(|r| r.run_time)
        .sum();
    assert_eq!(revoked_time, Duration::ZERO, "a revoked task runs no body");
}

async fn test_counts_reach_the_storage_while_the_consumer_runs(backend: Backend) {
    let huey = backend.huey("stats-live").await;
    let since = Utc::now() - chrono::Duration::minutes(1);
    let consumer = Consumer::builder(&huey).periodic(false).start().unwrap();
    quick::enqueue(&huey, 1)
        .await
        .unwrap()
        .wait(WAIT)
        .await
        .unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let rows = huey.stats(since).await.unwrap();
        if counts(&rows).get(&key("quick", "complete")) == Some(&1) {
            break;
        }
        assert!(Instant::now() < deadline, "not flushed: {rows:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    consumer.shutdown().await.unwrap();
    let rows = huey.stats(since).await.unwrap();
    assert_eq!(
        counts(&rows).get(&key("quick", "complete")),
        Some(&1),
        "the stop's flush adds nothing twice"
    );
}

async fn test_a_consumer_keeping_no_history_writes_none(backend: Backend) {
    let huey = backend.huey("stats-off").await;
    let since = Utc::now() - chrono::Duration::minutes(1);
    let consumer = Consumer::builder(&huey)
        .stats_history(None)
        .start()
        .unwrap();
    quick::enqueue(&huey, 1)
        .await
        .unwrap()
        .wait(WAIT)
        .await
        .unwrap();
    consumer.shutdown().await.unwrap();
    assert!(huey.stats(since).await.unwrap().is_empty());
}

huey_tests::on_both_backends!(
    test_each_execution_is_counted_by_its_outcome,
    test_counts_reach_the_storage_while_the_consumer_runs,
    test_a_consumer_keeping_no_history_writes_none,
);
