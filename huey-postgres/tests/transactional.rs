//! Transactional enqueue on the application's own sqlx transaction: committed messages run
//! (and wake a waiting consumer at the commit), rolled-back ones never reach the queue. For a
//! task, a pipeline, a group (what a task's `map` stands for) and a chord.

mod support;

use std::time::{Duration, Instant};

use huey_core::group;
use huey_core::prelude::*;
use huey_postgres::{EnqueueIn, Outbox, PostgresOptions};

#[task]
fn double(n: i64) -> i64 {
    n * 2
}

#[task]
fn plus_one(n: i64) -> i64 {
    n + 1
}

const WAIT: Duration = Duration::from_secs(20);

/// A storage on a fresh schema whose fallback poll is longer than any wait here, so only the
/// commit's notification can wake an idle consumer in time.
async fn setup(name: &str) -> (Huey, Outbox, sqlx::PgPool, support::SchemaGuard) {
    let options = PostgresOptions::default().fallback_poll(Duration::from_secs(600));
    let support::Fixture { storage, guard } = support::fixture_with(name, options).await;
    let outbox = storage.outbox();
    let pool = storage.pool().clone();
    (Huey::new(name, storage), outbox, pool, guard)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolled_back_enqueues_queue_nothing() {
    let (huey, outbox, pool, guard) = setup("tx-rollback").await;
    let enqueued = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&enqueued);
    huey.connect_signal(&[Signal::Enqueued], move |_, _, _| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    let mut tx = pool.begin().await.expect("begin");
    let mut task = double::call(1)
        .enqueue_in(&huey, &outbox, &mut tx)
        .await
        .expect("task");
    let _pipeline = double::call(2)
        .then(plus_one::partial())
        .enqueue_in(&huey, &outbox, &mut tx)
        .await
        .expect("pipeline");
    let _group = group([double::call(3), double::call(4)])
        .enqueue_in(&huey, &outbox, &mut tx)
        .await
        .expect("group");
    let (inside,): (i64,) = sqlx::query_as(&format!("SELECT count(*) FROM {}.queue", guard.schema))
        .fetch_one(&mut *tx)
        .await
        .expect("count inside");
    assert_eq!(inside, 4, "the transaction sees its own messages");
    assert_eq!(
        enqueued.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "Signal::Enqueued fired for each message written (a pipeline is one message)"
    );
    assert_eq!(huey.pending_count().await.unwrap(), 0, "others do not, yet");
    tx.rollback().await.expect("rollback");
    assert_eq!(huey.pending_count().await.unwrap(), 0, "nothing was queued");

    // A consumer then finds nothing of them: a committed marker task runs, the others never.
    let consumer = Consumer::builder(&huey)
        .workers(2)
        .start()
        .expect("consumer");
    let mut marker = double::call(21).enqueue(&huey).await.unwrap();
    assert_eq!(marker.wait(WAIT).await.unwrap(), 42);
    assert_eq!(
        task.get().await.unwrap(),
        None,
        "the rolled-back task never ran"
    );
    assert_eq!(huey.pending_count().await.unwrap(), 0);
    consumer.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_enqueues_run_and_wake_a_waiting_consumer() {
    let (huey, outbox, pool, _guard) = setup("tx-commit").await;
    let consumer = Consumer::builder(&huey)
        .workers(2)
        .start()
        .expect("consumer");
    // Once this ran, the consumer is idle in its dequeue, waiting for a notification.
    let mut warm = double::call(0).enqueue(&huey).await.unwrap();
    assert_eq!(warm.wait(WAIT).await.unwrap(), 0);

    let mut tx = pool.begin().await.expect("begin");
    let mut task = double::call(5)
        .enqueue_in(&huey, &outbox, &mut tx)
        .await
        .unwrap();
    let (mut first, mut second) = double::call(6)
        .then(plus_one::partial())
        .enqueue_in(&huey, &outbox, &mut tx)
        .await
        .unwrap();
    let mut members = group([double::call(7), double::call(8)])
        .enqueue_in(&huey, &outbox, &mut tx)
        .await
        .unwrap();
    tx.commit().await.expect("commit");
    let committed = Instant::now();

    assert_eq!(task.wait(WAIT).await.unwrap(), 10);
    assert!(
        committed.elapsed() < Duration::from_secs(5),
        "the commit's notification woke the consumer (took {:?})",
        committed.elapsed()
    );
    assert_eq!(first.wait(WAIT).await.unwrap(), 12);
    assert_eq!(second.wait(WAIT).await.unwrap(), 13);
    assert_eq!(members[0].wait(WAIT).await.unwrap(), 14);
    assert_eq!(members[1].wait(WAIT).await.unwrap(), 16);
    consumer.shutdown().await.unwrap();
}

#[task]
fn total(values: Vec<huey_core::group::MemberResult<i64>>) -> i64 {
    values
        .into_iter()
        .filter_map(huey_core::group::MemberResult::ok)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chord_and_maps_group_run_after_commit_and_never_after_rollback() {
    let (huey, outbox, pool, _guard) = setup("tx-chord").await;
    let consumer = Consumer::builder(&huey)
        .workers(2)
        .start()
        .expect("consumer");
    let mut warm = double::call(0).enqueue(&huey).await.unwrap();
    assert_eq!(warm.wait(WAIT).await.unwrap(), 0);

    // Rolled back: neither the members nor the callback ever run.
    let mut tx = pool.begin().await.expect("begin");
    let mut dropped = group([1, 2].map(double::call))
        .then(total::partial())
        .enqueue_in(&huey, &outbox, &mut tx)
        .await
        .expect("chord");
    tx.rollback().await.expect("rollback");

    let mut tx = pool.begin().await.expect("begin");
    let mut chord = group((1..=3).map(double::call))
        .then(total::partial())
        .then(plus_one::partial())
        .enqueue_in(&huey, &outbox, &mut tx)
        .await
        .unwrap();
    // `double::map(&huey, ..)` enqueues at once; in a transaction it is this group.
    let mut mapped = group([10, 20].map(double::call))
        .enqueue_in(&huey, &outbox, &mut tx)
        .await
        .unwrap();
    tx.commit().await.expect("commit");
    let committed = Instant::now();

    assert_eq!(chord.callback.wait(WAIT).await.unwrap(), 2 + 4 + 6);
    assert!(
        committed.elapsed() < Duration::from_secs(5),
        "the commit's notification woke the consumer (took {:?})",
        committed.elapsed()
    );
    assert_eq!(chord.then.0.wait(WAIT).await.unwrap(), 13);
    assert_eq!(chord.results.wait(WAIT).await.unwrap(), vec![2, 4, 6]);
    assert_eq!(mapped.wait(WAIT).await.unwrap(), vec![20, 40]);
    // Enqueued after the rolled-back chord and run: the chord had its chance, and never ran.
    let mut marker = double::call(21).enqueue(&huey).await.unwrap();
    assert_eq!(marker.wait(WAIT).await.unwrap(), 42);
    assert_eq!(dropped.results[0].get().await.unwrap(), None);
    assert_eq!(dropped.callback.get().await.unwrap(), None);
    assert_eq!(huey.pending_count().await.unwrap(), 0);
    consumer.shutdown().await.unwrap();
}
