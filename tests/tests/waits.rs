//! What a wait on a result handle returns: the task's final outcome (a retried attempt's error
//! is passed over), `Ok(())` for a task that returns `()` although nothing is stored for it,
//! and every attempt with `wait_attempt`. On memory and on Redis.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use huey_core::Executed;
use huey_core::prelude::*;
use huey_tests::backend::{Backend, WAIT, attempt_failure_of, failure_of, step};
use huey_tests::on_both_backends;

/// Calls so far, by label.
static CALLS: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);

/// A label no other case (on either backend) uses.
fn unique(name: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{name}-{}", NEXT.fetch_add(1, Ordering::SeqCst))
}

fn call(label: &str) -> u32 {
    let mut calls = CALLS.lock().unwrap();
    let count = calls
        .get_or_insert_default()
        .entry(label.to_owned())
        .or_default();
    *count += 1;
    *count
}

/// Fails until its `succeed_on`-th call, then returns the call number.
#[task(retries = 2)]
fn flaky(label: String, succeed_on: u32) -> anyhow::Result<u32> {
    let call = call(&label);
    anyhow::ensure!(call >= succeed_on, "attempt {call} failed");
    Ok(call)
}

/// Returns `()`, failing its first call when asked to.
#[task(retries = 1)]
fn unit(label: String, fail_first: bool) -> anyhow::Result<()> {
    let call = call(&label);
    anyhow::ensure!(!(fail_first && call == 1), "attempt {call} failed");
    Ok(())
}

/// A wait on a task that fails twice and then succeeds returns the value, not the first
/// attempt's error; `get` in between says "not ready" and keeps the attempt's error apart.
async fn test_wait_returns_the_final_value(backend: Backend) {
    let huey = backend.huey("wait-final-value").await;
    let label = unique("final-value");
    let mut third = flaky::enqueue(&huey, label.clone(), 3).await.unwrap();
    assert_eq!(step(&huey).await, Executed::Retrying);
    assert_eq!(
        third.get().await.unwrap(),
        None,
        "an attempt's error is no outcome"
    );
    let attempt = third.last_attempt().expect("the attempt's error was read");
    assert_eq!(
        (attempt.retries, attempt.error.as_str()),
        (2, "attempt 1 failed")
    );
    assert_eq!(step(&huey).await, Executed::Retrying);
    let (value, ()) = tokio::join!(third.wait(WAIT), async {
        assert_eq!(step(&huey).await, Executed::Completed);
    });
    assert_eq!(value.unwrap(), 3);
}

/// A task that fails for good: the wait ends with the last failure (no retries left).
async fn test_wait_returns_the_final_failure(backend: Backend) {
    let huey = backend.huey("wait-final-failure").await;
    let label = unique("final-failure");
    let mut never = flaky::enqueue(&huey, label, 99).await.unwrap();
    assert_eq!(step(&huey).await, Executed::Retrying);
    assert_eq!(step(&huey).await, Executed::Retrying);
    assert_eq!(step(&huey).await, Executed::Failed);
    let failure = failure_of(&mut never).await;
    assert_eq!(
        (failure.retries, failure.error.as_str()),
        (0, "attempt 3 failed")
    );
}

/// `wait_attempt` returns each attempt's outcome in turn, then the value.
async fn test_wait_attempt_sees_every_attempt(backend: Backend) {
    let huey = backend.huey("wait-attempts").await;
    let label = unique("attempts");
    let mut third = flaky::enqueue(&huey, label, 3).await.unwrap();
    assert_eq!(step(&huey).await, Executed::Retrying);
    assert_eq!(attempt_failure_of(&mut third).await.retries, 2);
    assert_eq!(step(&huey).await, Executed::Retrying);
    let second = attempt_failure_of(&mut third).await;
    assert_eq!(
        (second.retries, second.error.as_str()),
        (1, "attempt 2 failed")
    );
    assert_eq!(step(&huey).await, Executed::Completed);
    assert_eq!(third.wait_attempt(WAIT).await.unwrap(), 3);
    assert_eq!(
        third.wait(WAIT).await.unwrap(),
        3,
        "the outcome stays in the handle"
    );
}

/// A preserving handle does not return the same attempt's error twice, although it stays in
/// the store, and still sees the final value.
async fn test_preserved_wait_passes_a_seen_attempt(backend: Backend) {
    let huey = backend.huey("wait-preserved").await;
    let label = unique("preserved");
    let second = flaky::enqueue(&huey, label, 2).await.unwrap();
    let mut handle = huey.result::<u32>(second.id()).preserve();
    assert_eq!(step(&huey).await, Executed::Retrying);
    assert_eq!(attempt_failure_of(&mut handle).await.retries, 2);
    let again = handle.wait_attempt(Duration::from_millis(300)).await;
    assert!(
        matches!(again, Err(ResultError::Timeout { .. })),
        "{again:?}"
    );
    assert_eq!(huey.result_count().await.unwrap(), 1, "preserved");
    let (value, ()) = tokio::join!(handle.wait(WAIT), async {
        assert_eq!(step(&huey).await, Executed::Completed);
    });
    assert_eq!(value.unwrap(), 2);
}

/// A unit task's completion ends a wait with `Ok(())`, although `()` is not stored: a wait
/// that began before it finished (here, one that timed out a moment before) is told.
async fn test_wait_on_unit_task(backend: Backend) {
    let huey = backend.huey("wait-unit").await;
    let label = unique("unit");
    let mut done = unit::enqueue(&huey, label, false).await.unwrap();
    let early = done.wait(Duration::from_millis(20)).await;
    assert!(
        matches!(early, Err(ResultError::Timeout { .. })),
        "{early:?}"
    );
    assert_eq!(step(&huey).await, Executed::Completed);
    done.wait(WAIT).await.unwrap();
}

/// A unit task nobody waits for stores nothing.
async fn test_unit_task_nobody_waits_for_stores_nothing(backend: Backend) {
    let huey = backend.huey("wait-unit-unwatched").await;
    let label = unique("unwatched");
    let mut done = unit::enqueue(&huey, label, false).await.unwrap();
    assert_eq!(step(&huey).await, Executed::Completed);
    assert_eq!(huey.result_count().await.unwrap(), 0);
    assert_eq!(done.get().await.unwrap(), None);
}

/// A wait that begins after a unit task finished cannot see it (nothing was stored, and
/// storing a record for every unit task is the cost the design avoids), so it times out, as
/// documented; with `store_none(true)` the `()` is stored like any value and a late wait ends
/// with `Ok(())`.
async fn test_late_wait_on_unit_task_needs_store_none(backend: Backend) {
    let huey = backend.huey("wait-unit-late").await;
    let mut late = unit::enqueue(&huey, unique("late"), false).await.unwrap();
    assert_eq!(step(&huey).await, Executed::Completed);
    let waited = late.wait(Duration::from_millis(100)).await;
    assert!(
        matches!(waited, Err(ResultError::Timeout { .. })),
        "{waited:?}"
    );

    let huey = backend
        .huey_with("wait-unit-late-stored", |b| b.store_none(true))
        .await;
    let mut late = unit::enqueue(&huey, unique("late-stored"), false)
        .await
        .unwrap();
    assert_eq!(step(&huey).await, Executed::Completed);
    late.wait(WAIT).await.unwrap();
}

/// With a consumer: waits on a unit task and on a group of them end when they have run.
async fn test_wait_on_unit_tasks_with_a_consumer(backend: Backend) {
    let huey = backend.huey("wait-unit-consumer").await;
    let consumer = Consumer::builder(&huey)
        .workers(2)
        .scheduler_interval(Duration::from_millis(100))
        .start()
        .unwrap();
    // Delayed, so the waits below are registered before the tasks can run.
    let delay = Duration::from_millis(500);
    let label = unique("consumer");
    let mut one = unit::call(label.clone(), false)
        .delay(delay)
        .enqueue(&huey)
        .await
        .unwrap();
    one.wait(WAIT).await.unwrap();
    let calls = (0..5).map(|i| unit::call(format!("{label}-{i}"), false).delay(delay));
    let mut many = huey_core::group(calls).enqueue(&huey).await.unwrap();
    assert_eq!(many.wait(WAIT).await.unwrap().len(), 5);
    consumer.shutdown().await.unwrap();
}

/// A unit task whose first attempt failed: its `()` replaces the stored attempt's error, so
/// a preserving wait (which leaves that error in the store) ends with `Ok(())`.
async fn test_unit_result_replaces_an_attempt_error(backend: Backend) {
    let huey = backend.huey("wait-unit-retried").await;
    let label = unique("retried");
    let first = unit::enqueue(&huey, label, true).await.unwrap();
    let mut handle = huey.result::<()>(first.id()).preserve();
    assert_eq!(step(&huey).await, Executed::Retrying);
    let (done, ()) = tokio::join!(handle.wait(WAIT), async {
        // Registered for certain, whenever the wait's own registration lands.
        let storage = huey.storage();
        storage.watch_results(&[first.id()], WAIT).await.unwrap();
        assert_eq!(step(&huey).await, Executed::Completed);
    });
    done.unwrap();
}

on_both_backends!(
    test_wait_returns_the_final_value,
    test_wait_returns_the_final_failure,
    test_wait_attempt_sees_every_attempt,
    test_preserved_wait_passes_a_seen_attempt,
    test_wait_on_unit_task,
    test_late_wait_on_unit_task_needs_store_none,
    test_unit_task_nobody_waits_for_stores_nothing,
    test_wait_on_unit_tasks_with_a_consumer,
    test_unit_result_replaces_an_attempt_error,
);
