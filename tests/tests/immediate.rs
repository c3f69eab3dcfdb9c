//! Huey's `test_immediate.py` behaviours: tasks run inside `enqueue`.

use huey_core::storage::prelude::*;
use std::time::Duration;

use huey_core::Reschedule;
use huey_core::prelude::*;
use std::sync::Arc;

#[task]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[task]
fn fail() -> anyhow::Result<i64> {
    anyhow::bail!("immediate failure")
}

fn immediate() -> Huey {
    Huey::builder("immediate")
        .immediate(true)
        .build(MemoryStorage::new())
}

#[tokio::test]
async fn test_immediate() {
    let h = immediate();
    let mut r = add::enqueue(&h, 1, 2).await.unwrap();
    assert_eq!(h.result_count().await.unwrap(), 1);
    assert_eq!(r.get().await.unwrap(), Some(3));
    assert_eq!(h.result_count().await.unwrap(), 0);
    let mut e = fail::enqueue(&h).await.unwrap();
    assert!(matches!(e.get().await, Err(ResultError::Failed(f)) if f.error == "immediate failure"));
}

#[test]
fn test_immediate_from_sync_code() {
    let h = immediate();
    let mut r = add::blocking_enqueue(&h, 20, 22).unwrap();
    assert_eq!(r.blocking_get().unwrap(), Some(42));
}

#[tokio::test]
async fn test_immediate_scheduling() {
    let h = immediate();
    let mut r = add::call(1, 2)
        .delay(Duration::from_secs(60))
        .enqueue(&h)
        .await
        .unwrap();
    assert_eq!(h.scheduled_count().await.unwrap(), 1);
    assert_eq!(
        r.get().await.unwrap(),
        None,
        "it sits in the schedule and never runs"
    );
}

#[tokio::test]
async fn test_immediate_reschedule() {
    let h = immediate();
    let r = add::call(1, 2)
        .delay(Duration::from_secs(60))
        .enqueue(&h)
        .await
        .unwrap();
    let mut moved = r.reschedule(Reschedule::now()).await.unwrap();
    assert_eq!(moved.get().await.unwrap(), Some(3));
    assert_eq!(h.scheduled_count().await.unwrap(), 1);
    assert!(r.is_revoked().await.unwrap());
}

#[tokio::test]
async fn test_immediate_revoke_restore() {
    let h = immediate();
    add::revoke(&h, Revoke::Forever).await.unwrap();
    let mut r = add::enqueue(&h, 1, 1).await.unwrap();
    assert_eq!(r.get().await.unwrap(), None);
    assert!(add::restore(&h).await.unwrap());
    let mut r = add::enqueue(&h, 1, 1).await.unwrap();
    assert_eq!(r.get().await.unwrap(), Some(2));
}

#[tokio::test]
async fn test_swap_immediate() {
    let h = Huey::memory("swap");
    add::enqueue(&h, 1, 1).await.unwrap();
    assert_eq!(h.pending_count().await.unwrap(), 1);
    h.set_immediate(true);
    assert!(h.is_immediate());
    let mut r = add::enqueue(&h, 2, 2).await.unwrap();
    assert_eq!(r.get().await.unwrap(), Some(4));
    assert_eq!(
        h.pending_count().await.unwrap(),
        0,
        "immediate mode has its own storage"
    );
    h.set_immediate(false);
    assert_eq!(
        h.pending_count().await.unwrap(),
        1,
        "back on the real storage"
    );
}

#[tokio::test]
async fn test_map() {
    let h = immediate();
    let mut results = add::map(&h, [(1, 1), (2, 2)]).await.unwrap();
    let mut values = Vec::new();
    for r in &mut results {
        values.push(r.get().await.unwrap().unwrap());
    }
    assert_eq!(values, [2, 4]);
}

#[tokio::test]
async fn test_immediate_storage() {
    let real = Arc::new(MemoryStorage::new());
    let h = Huey::builder("untouched")
        .immediate(true)
        .build_shared(real.clone());
    add::enqueue(&h, 1, 1).await.unwrap();
    assert_eq!(real.result_store_size().await.unwrap(), 0);
}

#[tokio::test]
async fn test_immediate_real_storage() {
    let real = Arc::new(MemoryStorage::new());
    let h = Huey::builder("real")
        .immediate(true)
        .immediate_use_memory(false)
        .build_shared(real.clone());
    add::enqueue(&h, 1, 1).await.unwrap();
    assert_eq!(real.result_store_size().await.unwrap(), 1);
}

#[tokio::test]
async fn test_consumer_refuses_immediate_mode() {
    let h = immediate();
    assert!(matches!(
        Consumer::builder(&h).start(),
        Err(HueyError::Configuration(_))
    ));
}

#[tokio::test]
async fn test_immediate_pipeline() {
    let h = immediate();
    let (mut first, mut second) = add::call(1, 2)
        .then(add::partial(10))
        .enqueue(&h)
        .await
        .unwrap();
    assert_eq!(first.get().await.unwrap(), Some(3));
    assert_eq!(second.get().await.unwrap(), Some(13));
}

#[task(retries = 2)]
fn always_retry() -> Result<(), RetryTask> {
    Err(RetryTask::default())
}

#[task]
fn handled(failure: TaskFailure) -> String {
    format!("handled: {}", failure.error)
}

#[task]
fn total(outcomes: Vec<huey_core::group::MemberResult<i64>>) -> i64 {
    outcomes
        .into_iter()
        .filter_map(huey_core::group::MemberResult::ok)
        .sum()
}

/// A retry copy stays in the storage rather than running at once: a task that keeps asking
/// to be retried returns from `enqueue` instead of looping.
#[tokio::test]
async fn test_immediate_retry_is_stored_not_run() {
    let h = immediate();
    let _ = always_retry::enqueue(&h).await.unwrap();
    assert_eq!(h.pending_count().await.unwrap(), 1, "the retry copy waits");
    let pending = h.pending(None).await.unwrap();
    assert_eq!(pending[0].name, always_retry::NAME);
}

/// Follow-ups run inside `enqueue`, after the attempt that made them: an error handler and a
/// chord callback.
#[tokio::test]
async fn test_immediate_error_handler_and_chord() {
    let h = immediate();
    let _ = fail::call()
        .error(handled::partial().id("on-fail"))
        .enqueue(&h)
        .await
        .unwrap();
    let mut handler: TaskResult<String> = h.result("on-fail");
    assert_eq!(
        handler.get().await.unwrap().as_deref(),
        Some("handled: immediate failure")
    );
    let mut chord = huey_core::group([add::call(1, 2), add::call(3, 4)])
        .then(total::partial())
        .enqueue(&h)
        .await
        .unwrap();
    assert_eq!(chord.callback.get().await.unwrap(), Some(10));
    assert_eq!(h.pending_count().await.unwrap(), 0);
}
