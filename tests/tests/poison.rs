//! Messages that can never settle: a permanent storage error dead-letters its message at once,
//! a failure that keeps recurring is bounded by the delivery cap, and a bad revocation flag
//! revokes nothing. On both backends, through a running consumer.

use std::sync::Arc;

use huey_core::prelude::*;
use huey_core::{DeadLetterSelection, Storage};
use huey_tests::backend::{Backend, WAIT};
use huey_tests::faulty::{Failure, Faulty};
use huey_tests::logs::Logs;
use huey_tests::on_both_backends;

#[task]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// A queue on `faulty`, which wraps a fresh storage of `backend`.
async fn queue(backend: &Backend, name: &str, max_deliveries: u32) -> (Huey, Arc<Faulty>) {
    let faulty = Arc::new(Faulty::wrap(backend.storage(name).await));
    let storage: Arc<dyn Storage> = faulty.clone();
    let huey = Huey::builder(name)
        .max_deliveries(max_deliveries)
        .build_shared(storage);
    // A revocation flag of another task, so that every backend consults the flags (Redis
    // skips the read while there are none).
    huey.revoke_all("someone::else", Revoke::Forever)
        .await
        .unwrap();
    (huey, faulty)
}

/// One worker, and no periodic tasks (the test crate's own would run too).
fn consumer(huey: &Huey) -> Consumer {
    Consumer::builder(huey)
        .workers(1)
        .periodic(false)
        .start()
        .unwrap()
}

async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// A failure that recurs on every delivery ends after `max_deliveries`: the next delivery is
/// dead-lettered with the count, the log stays bounded, and the message is intact (requeued
/// once the fault is gone, it runs).
async fn never_settling_message_is_dead_lettered_after_n_deliveries(backend: Backend) {
    let (logs, _guard) = Logs::capture();
    let (huey, faulty) = queue(&backend, "never-settles", 3).await;
    faulty.fail_revocation_reads(Some(Failure::Transient));
    let consumer = consumer(&huey);
    let mut sum = add::enqueue(&huey, 2, 3).await.unwrap();
    within("the dead letter", faulty.dead_lettered(1)).await;
    assert_eq!(
        faulty.deliveries(),
        [1, 2, 3, 4],
        "three runs, then set aside"
    );
    let dead = huey.dead_letters(None).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reason, "delivered 3 times without settling");
    assert_eq!(huey.pending_count().await.unwrap(), 0);
    assert_eq!(
        logs.count("returning it to the queue"),
        3,
        "{:#?}",
        logs.lines()
    );
    assert_eq!(logs.count("moved to the dead-letter list"), 1);
    assert!(logs.lines().len() <= 8, "bounded: {:#?}", logs.lines());

    faulty.fail_revocation_reads(None);
    huey.requeue_dead_letters(DeadLetterSelection::All)
        .await
        .unwrap();
    assert_eq!(sum.wait(WAIT).await.unwrap(), 5);
    consumer.shutdown().await.unwrap();
}

/// A storage error that cannot pass (data that does not decode) dead-letters the message on
/// its first delivery, with the error as the reason; the body never runs.
async fn permanent_storage_error_dead_letters_at_once(backend: Backend) {
    // Every test here captures its log: tracing caches a call site's interest process-wide,
    // and a test thread without a subscriber of its own that reached a call site first could
    // leave it disabled for the tests that count lines.
    let (_logs, _guard) = Logs::capture();
    let (huey, faulty) = queue(&backend, "permanent", 20).await;
    faulty.fail_revocation_reads(Some(Failure::Permanent));
    let consumer = consumer(&huey);
    let mut sum = add::enqueue(&huey, 1, 1).await.unwrap();
    within("the dead letter", faulty.dead_lettered(1)).await;

    assert_eq!(faulty.deliveries(), [1]);
    let dead = huey.dead_letters(None).await.unwrap();
    assert_eq!(
        dead[0].reason,
        "invalid data in storage: flag does not decode (fault injection)"
    );
    assert_eq!(sum.get().await.unwrap(), None, "the body never ran");
    consumer.shutdown().await.unwrap();
}

/// The poison: a value `put` under a revocation flag's name. It revokes nothing and
/// loops nothing: the task runs once, with one warning at most.
async fn forged_revocation_flag_revokes_nothing(backend: Backend) {
    let (logs, _guard) = Logs::capture();
    let (huey, faulty) = queue(&backend, "forged-flag", 20).await;
    huey.put(&format!("rt:{}", add::NAME), &"a value")
        .await
        .unwrap();
    let consumer = consumer(&huey);
    let mut sum = add::enqueue(&huey, 20, 22).await.unwrap();
    assert_eq!(sum.wait(WAIT).await.unwrap(), 42);
    consumer.shutdown().await.unwrap();

    assert_eq!(faulty.deliveries(), [1]);
    assert_eq!(huey.dead_letter_count().await.unwrap(), 0);
    assert!(logs.count("WARN") <= 1, "{:#?}", logs.lines());
    assert_eq!(logs.count("ERROR"), 0, "{:#?}", logs.lines());
}

/// Runs of each task id (tests share the process).
static RUNS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Records its run.
#[task(context)]
async fn counted(task: &Task, n: i64) -> i64 {
    RUNS.lock().unwrap().push(task.id().to_owned());
    n
}

/// The storage goes away just as a body finishes: the settlement is retried until it lands,
/// and the body does not run again (its claim is never given back).
async fn finished_body_is_not_rerun_when_the_storage_blips(backend: Backend) {
    let (logs, _guard) = Logs::capture();
    let (huey, faulty) = queue(&backend, "blip", 20).await;
    let consumer = consumer(&huey);
    faulty.fail_settles(2);
    let mut value = counted::enqueue(&huey, 7).await.unwrap();
    assert_eq!(value.wait(WAIT).await.unwrap(), 7);
    consumer.shutdown().await.unwrap();

    let runs = RUNS
        .lock()
        .unwrap()
        .iter()
        .filter(|id| *id == value.id())
        .count();
    assert_eq!(runs, 1, "the body ran once");
    assert_eq!(faulty.deliveries(), [1], "and was never given back");
    assert_eq!(
        logs.count("could not settle the task; retrying"),
        2,
        "{:#?}",
        logs.lines()
    );
    assert_eq!(logs.count("returning it to the queue"), 0);
}

on_both_backends!(
    finished_body_is_not_rerun_when_the_storage_blips,
    never_settling_message_is_dead_lettered_after_n_deliveries,
    permanent_storage_error_dead_letters_at_once,
    forged_revocation_flag_revokes_nothing,
);
