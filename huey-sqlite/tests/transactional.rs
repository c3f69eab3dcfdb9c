//! Transactional enqueue on the application's own sqlx SQLite connection or transaction:
//! committed messages run (and wake a consumer of this process already waiting, at the
//! commit), rolled-back ones never reach the queue. For a task, a pipeline, a group (what a
//! task's `map` stands for) and a chord.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use huey_core::group::{MemberResult, group};
use huey_core::prelude::*;
use huey_sqlite::{EnqueueIn, Outbox, SqliteOptions, SqliteStorage};
use sqlx::SqlitePool;

#[task]
fn double(n: i64) -> i64 {
    n * 2
}

#[task]
fn plus_one(n: i64) -> i64 {
    n + 1
}

#[task]
fn total(values: Vec<MemberResult<i64>>) -> i64 {
    values.into_iter().filter_map(MemberResult::ok).sum()
}

const WAIT: Duration = Duration::from_secs(20);

/// A temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("huey-sqlite-tx-{label}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("make the temporary folder");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A queue on a fresh file whose poll is longer than any wait here, so only a wake-up of this
/// process (the commit hook) can reach an idle consumer in time.
async fn setup(name: &str) -> (Huey, Outbox, SqlitePool, TempDir) {
    let dir = TempDir::new(name);
    let options = SqliteOptions::default().poll_interval(Duration::from_secs(600));
    let storage = SqliteStorage::open_with(name, dir.0.join("app.db"), options)
        .await
        .expect("open");
    let outbox = storage.outbox();
    let pool = storage.pool().clone();
    (Huey::new(name, storage), outbox, pool, dir)
}

/// A consumer whose dequeues wait longer than any wait here: it asks the storage once, and
/// only a wake-up ends that wait in time.
fn consumer(huey: &Huey) -> Consumer {
    Consumer::builder(huey)
        .workers(2)
        .fetch_wait(Duration::from_secs(600))
        .start()
        .expect("consumer")
}

async fn queued(conn: &mut sqlx::SqliteConnection, name: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM huey_queue WHERE namespace = ?")
        .bind(name)
        .fetch_one(conn)
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolled_back_enqueues_queue_nothing() {
    let (huey, outbox, pool, _dir) = setup("rollback").await;
    let enqueued = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&enqueued);
    huey.connect_signal(&[Signal::Enqueued], move |_, _, _| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let mut tx = pool.begin().await.expect("begin");
    let mut task = double::call(1)
        .enqueue_in(&huey, &outbox, &mut tx)
        .await
        .expect("task");
    let (mut first, _) = double::call(2)
        .then(plus_one::partial())
        .enqueue_in(&huey, &outbox, &mut tx)
        .await
        .expect("pipeline");
    let mut members = group([double::call(3), double::call(4)])
        .enqueue_in(&huey, &outbox, &mut tx)
        .await
        .expect("group");
    let mut chord = group([5, 6].map(double::call))
        .then(total::partial())
        .enqueue_in(&huey, &outbox, &mut tx)
        .await
        .expect("chord");
    assert_eq!(
        queued(&mut tx, "rollback").await,
        6,
        "the transaction sees its own messages (a pipeline is one, a chord its members)"
    );
    assert_eq!(
        enqueued.load(Ordering::SeqCst),
        6,
        "Signal::Enqueued per message"
    );
    assert_eq!(huey.pending_count().await.unwrap(), 0, "others do not, yet");
    tx.rollback().await.expect("rollback");
    assert_eq!(huey.pending_count().await.unwrap(), 0, "nothing was queued");

    // A consumer then finds nothing of them: a marker enqueued after them runs, they never.
    let consumer = consumer(&huey);
    let mut marker = double::call(21).enqueue(&huey).await.unwrap();
    assert_eq!(marker.wait(WAIT).await.unwrap(), 42);
    assert_eq!(task.get().await.unwrap(), None, "the task never ran");
    assert_eq!(first.get().await.unwrap(), None, "the pipeline never ran");
    assert_eq!(members[0].get().await.unwrap(), None, "the group never ran");
    assert_eq!(
        chord.results[1].get().await.unwrap(),
        None,
        "no chord member ran"
    );
    assert_eq!(
        chord.callback.get().await.unwrap(),
        None,
        "nor its callback"
    );
    assert_eq!(huey.pending_count().await.unwrap(), 0);
    consumer.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_enqueues_run_and_wake_a_waiting_consumer() {
    let (huey, outbox, pool, _dir) = setup("commit").await;
    let consumer = consumer(&huey);
    // Once this ran, the consumer is idle in a dequeue that would wait ten minutes.
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
        "the commit hook woke the consumer (took {:?})",
        committed.elapsed()
    );
    assert_eq!(first.wait(WAIT).await.unwrap(), 12);
    assert_eq!(second.wait(WAIT).await.unwrap(), 13);
    assert_eq!(members[0].wait(WAIT).await.unwrap(), 14);
    assert_eq!(members[1].wait(WAIT).await.unwrap(), 16);
    consumer.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_chord_and_map_run_members_then_callback() {
    let (huey, outbox, pool, _dir) = setup("chord").await;
    let consumer = consumer(&huey);
    let mut warm = double::call(0).enqueue(&huey).await.unwrap();
    assert_eq!(warm.wait(WAIT).await.unwrap(), 0);

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
    let mut empty = huey_core::Group::<i64>::new()
        .then(total::partial())
        .enqueue_in(&huey, &outbox, &mut tx)
        .await
        .unwrap();
    tx.commit().await.expect("commit");
    let committed = Instant::now();

    assert_eq!(chord.callback.wait(WAIT).await.unwrap(), 2 + 4 + 6);
    assert!(
        committed.elapsed() < Duration::from_secs(5),
        "the commit hook woke the consumer (took {:?})",
        committed.elapsed()
    );
    assert_eq!(chord.then.0.wait(WAIT).await.unwrap(), 13);
    assert_eq!(chord.results.wait(WAIT).await.unwrap(), vec![2, 4, 6]);
    assert_eq!(mapped.wait(WAIT).await.unwrap(), vec![20, 40]);
    assert_eq!(
        empty.callback.wait(WAIT).await.unwrap(),
        0,
        "no members: at once"
    );
    consumer.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_connection_outside_a_transaction_the_enqueue_commits_at_once() {
    let (huey, outbox, pool, _dir) = setup("autocommit").await;
    let consumer = consumer(&huey);
    let mut warm = double::call(0).enqueue(&huey).await.unwrap();
    assert_eq!(warm.wait(WAIT).await.unwrap(), 0);

    let mut conn = pool.acquire().await.expect("acquire");
    let enqueued = Instant::now();
    let mut members = group([double::call(1), double::call(2)])
        .enqueue_in(&huey, &outbox, &mut conn)
        .await
        .unwrap();
    assert_eq!(members.wait(WAIT).await.unwrap(), vec![2, 4]);
    assert!(
        enqueued.elapsed() < Duration::from_secs(5),
        "the insert's own commit woke the consumer (took {:?})",
        enqueued.elapsed()
    );
    // The hook fired once: a later commit on the connection wakes no one, and does no harm.
    sqlx::query("CREATE TABLE IF NOT EXISTS app_orders (id INTEGER PRIMARY KEY)")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let mut marker = double::call(3).enqueue(&huey).await.unwrap();
    assert_eq!(marker.wait(WAIT).await.unwrap(), 6);
    consumer.shutdown().await.unwrap();
}

/// The commit hook wakes the consumer before a read can see the commit; the woken dequeue's
/// claim must find it nonetheless, every time. Commits of many rows make the window wide: a
/// dequeue that read first, as this crate's did before transactional enqueue, missed one (and
/// slept out its ten-minute poll) in one of the two runs of this test tried against it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_commit_is_found_by_the_dequeue_it_wakes() {
    let (huey, outbox, pool, _dir) = setup("every").await;
    let consumer = consumer(&huey);
    for round in 0..10 {
        // The last round's results are in: the consumer is back in its dequeue, or on its way.
        let mut tx = pool.begin().await.expect("begin");
        let mut doubled = group((0..300).map(double::call))
            .enqueue_in(&huey, &outbox, &mut tx)
            .await
            .unwrap();
        tx.commit().await.expect("commit");
        let values = doubled.wait(WAIT).await;
        assert_eq!(
            values.ok().map(|v| v.len()),
            Some(300),
            "round {round}'s commit was not picked up in time"
        );
    }
    consumer.shutdown().await.unwrap();
}
