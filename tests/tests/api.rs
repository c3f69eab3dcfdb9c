//! Huey's `test_api.py` behaviours that belong to the core runtime, against `MemoryStorage`.
//! Each test runs the queue by hand (`run_next_at`, Huey's `execute_next`) so it decides when
//! and at what time a task executes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use huey_core::prelude::*;
use huey_core::{ContextManager, Executed, Registry, Reschedule, TaskDef};

#[task]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[task]
fn returns_none() {}

#[task(retries = 3, retry_delay = "10s", retry_backoff = 2.0)]
fn add_with_options(a: i64, b: i64) -> i64 {
    a + b
}

#[task]
fn fail(message: String) -> Result<i64, TaskError> {
    Err(TaskError::msg(message))
}

#[task(retries = 1)]
fn fail_once_more(message: String) -> anyhow::Result<i64> {
    anyhow::bail!("{message}")
}

#[task(retries = 1, retry_delay = 60)]
fn fail_with_delay() -> anyhow::Result<()> {
    anyhow::bail!("later")
}

#[task(retries = 3, retry_delay = "2s", retry_backoff = 2.0)]
fn fail_with_backoff() -> anyhow::Result<()> {
    anyhow::bail!("backing off")
}

static ATTEMPTS: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);

fn attempt(key: &str) -> u32 {
    let mut guard = ATTEMPTS.lock().unwrap();
    let map = guard.get_or_insert_with(HashMap::new);
    let n = map.entry(key.to_owned()).or_insert(0);
    *n += 1;
    *n
}

#[task(retries = 3)]
fn eventually(key: String) -> anyhow::Result<i64> {
    if attempt(&key) < 3 {
        anyhow::bail!("not yet");
    }
    Ok(1337)
}

#[task]
fn retry_then_succeed(key: String, delay_secs: Option<u64>) -> Result<String, TaskError> {
    if attempt(&key) == 1 {
        return Err(match delay_secs {
            Some(s) => RetryTask::after(Duration::from_secs(s)).into(),
            None => RetryTask::new().into(),
        });
    }
    Ok("done".into())
}

#[task(retries = 2)]
fn cancels(retry: Option<bool>) -> Result<(), TaskError> {
    Err(CancelExecution {
        message: Some("nope".into()),
        retry,
    }
    .into())
}

#[task]
fn cancels_no_retries(retry: Option<bool>) -> Result<(), TaskError> {
    Err(CancelExecution {
        message: Some("nope".into()),
        retry,
    }
    .into())
}

#[task(expires = "1h")]
fn expiring() -> i64 {
    1
}

#[task(timeout = "10s")]
fn with_timeout() {}

#[task(context, timeout = "50ms")]
fn cooperative(task: &Task, spins: u32) -> Result<u32, TaskError> {
    for i in 0..spins {
        task.check_timeout()?;
        std::thread::sleep(Duration::from_millis(5));
        if i == 0 {
            assert!(
                task.time_remaining()
                    .is_some_and(|r| r <= Duration::from_millis(50))
            );
        }
    }
    Ok(spins)
}

#[task(timeout = "50ms")]
async fn too_slow() -> i64 {
    tokio::time::sleep(Duration::from_secs(30)).await;
    1
}

#[task(context, retries = 2, name = "api::renamed")]
fn introspect(task: &Task) -> (String, u32) {
    (task.name().to_owned(), task.retries())
}

#[task]
fn user_kwarg_named_task(task: String) -> String {
    task
}

#[task]
fn panics() -> i64 {
    panic!("boom")
}

#[task]
async fn async_double(n: u32) -> u32 {
    n * 2
}

#[periodic_task(crontab(minute = "*/5"), retries = 1)]
fn every_five() -> anyhow::Result<i64> {
    anyhow::bail!("periodic failure")
}

#[periodic_task(crontab(minute = "0", hour = "0"))]
fn daily_value() -> i64 {
    7
}

static SIDE_EFFECTS: AtomicUsize = AtomicUsize::new(0);

#[task]
fn side_effect() {
    SIDE_EFFECTS.fetch_add(1, Ordering::SeqCst);
}

/// A context manager that counts enters and failed exits.
struct Counting {
    entered: AtomicUsize,
    exited_failed: AtomicUsize,
    exited_ok: AtomicUsize,
}

impl ContextManager for Counting {
    type Value = usize;
    fn enter(&self) -> usize {
        self.entered.fetch_add(1, Ordering::SeqCst) + 1
    }
    fn exit(&self, _value: Option<usize>, failed: bool) {
        let counter = if failed {
            &self.exited_failed
        } else {
            &self.exited_ok
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

static COUNTING: Counting = Counting {
    entered: AtomicUsize::new(0),
    exited_failed: AtomicUsize::new(0),
    exited_ok: AtomicUsize::new(0),
};

#[context_task(COUNTING)]
fn in_context(fail: bool) -> Result<(), TaskError> {
    if fail {
        Err(TaskError::msg("inside"))
    } else {
        Ok(())
    }
}

#[context_task(COUNTING, as_argument)]
async fn context_as_argument(entered: usize, add: usize) -> usize {
    entered + add
}

fn huey() -> Huey {
    Huey::memory("test-api")
}

async fn run(huey: &Huey) -> Option<Executed> {
    huey.run_next(&WorkerState::default()).await.unwrap()
}

async fn run_at(huey: &Huey, at: DateTime<Utc>) -> Option<Executed> {
    huey.run_next_at(&WorkerState::default(), at).await.unwrap()
}

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

#[tokio::test]
async fn test_workflow() {
    let h = huey();
    let mut r = add::enqueue(&h, 1, 2).await.unwrap();
    assert_eq!(h.pending_count().await.unwrap(), 1);
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(h.result_count().await.unwrap(), 1);
    assert_eq!(r.get().await.unwrap(), Some(3));
    assert_eq!(h.result_count().await.unwrap(), 0);
    assert_eq!(
        r.get().await.unwrap(),
        Some(3),
        "the handle caches the value"
    );
    assert_eq!(run(&h).await, None);
}

#[tokio::test]
async fn test_result_store() {
    let h = huey();
    returns_none::enqueue(&h).await.unwrap();
    run(&h).await;
    assert_eq!(h.result_count().await.unwrap(), 0);

    let h = Huey::builder("store-none")
        .store_none(true)
        .build(MemoryStorage::new());
    let mut r = returns_none::enqueue(&h).await.unwrap();
    run(&h).await;
    assert_eq!(h.result_count().await.unwrap(), 1);
    assert_eq!(r.get().await.unwrap(), Some(()));
}

#[tokio::test]
async fn test_result_timeout() {
    let h = huey();
    let mut r = add::enqueue(&h, 1, 2).await.unwrap();
    let err = r.wait(Duration::from_millis(10)).await.unwrap_err();
    assert!(matches!(err, ResultError::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn test_blocking_result_no_sentinel_leak() {
    let h = huey();
    let mut r = returns_none::enqueue(&h).await.unwrap();
    run(&h).await;
    // Nothing is stored for (), so the wait ends in a timeout rather than a made-up value.
    let err = r.wait(Duration::from_millis(10)).await.unwrap_err();
    assert!(matches!(err, ResultError::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn test_result_readiness() {
    let h = huey();
    let mut r = add::enqueue(&h, 1, 2).await.unwrap();
    assert!(!r.is_ready().await.unwrap());
    run(&h).await;
    assert!(r.is_ready().await.unwrap());
}

#[tokio::test]
async fn test_result_readiness_reads_result() {
    let h = huey();
    let mut r = add::enqueue(&h, 2, 3).await.unwrap();
    run(&h).await;
    assert!(r.is_ready().await.unwrap());
    assert_eq!(
        h.result_count().await.unwrap(),
        0,
        "is_ready pulled the value"
    );
    assert_eq!(r.get().await.unwrap(), Some(5));
    let mut other = h.result::<i64>(r.id());
    assert_eq!(other.get().await.unwrap(), None);
}

#[tokio::test]
async fn test_preserve_reads_without_removing() {
    let h = huey();
    let r = add::enqueue(&h, 2, 3).await.unwrap();
    run(&h).await;
    let mut preserved = h.result::<i64>(r.id()).preserve();
    assert_eq!(preserved.get().await.unwrap(), Some(5));
    assert_eq!(h.result_count().await.unwrap(), 1);
}

#[tokio::test]
async fn test_scheduling() {
    let h = huey();
    let now = Utc::now();
    let mut r = add::call(1, 2)
        .delay(Duration::from_secs(60))
        .enqueue(&h)
        .await
        .unwrap();
    assert_eq!(h.pending_count().await.unwrap(), 1);
    assert_eq!(run_at(&h, now).await, Some(Executed::Scheduled));
    assert_eq!(h.pending_count().await.unwrap(), 0);
    assert_eq!(h.scheduled_count().await.unwrap(), 1);
    assert!(h.storage().read_schedule(now).await.unwrap().is_empty());
    let due = h.storage().read_schedule(now + secs(61)).await.unwrap();
    assert_eq!(due.len(), 1);
    h.storage().enqueue(due[0].clone(), 0).await.unwrap();
    assert_eq!(run_at(&h, now + secs(61)).await, Some(Executed::Completed));
    assert_eq!(r.get().await.unwrap(), Some(3));

    // An ETA in the past runs at once.
    let mut past = add::call(2, 2)
        .eta(now - secs(1))
        .enqueue(&h)
        .await
        .unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(past.get().await.unwrap(), Some(4));
}

#[tokio::test]
async fn test_revoke_task() {
    let h = huey();
    add::revoke(&h, Revoke::Forever).await.unwrap();
    assert!(add::is_revoked(&h).await.unwrap());
    let r1 = add::enqueue(&h, 1, 1).await.unwrap();
    add::enqueue(&h, 2, 2).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Revoked));
    assert_eq!(run(&h).await, Some(Executed::Revoked));
    // A bare id only sees instance revocation.
    assert!(!h.is_revoked_by_id(r1.id()).await.unwrap());
    assert!(add::restore(&h).await.unwrap());
    assert!(!add::restore(&h).await.unwrap());
    let mut r3 = add::enqueue(&h, 3, 3).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(r3.get().await.unwrap(), Some(6));
}

#[tokio::test]
async fn test_revoke_task_instance() {
    let h = huey();
    let r = add::enqueue(&h, 1, 1).await.unwrap();
    r.revoke().await.unwrap();
    assert!(r.is_revoked().await.unwrap());
    assert_eq!(run(&h).await, Some(Executed::Revoked));
    // Once by default: the flag was consumed, so the same id runs when enqueued again.
    assert!(!r.is_revoked().await.unwrap());
    let mut again = add::call(1, 1).id(r.id()).enqueue(&h).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(again.get().await.unwrap(), Some(2));

    let mut restored = add::enqueue(&h, 2, 2).await.unwrap();
    restored.revoke().await.unwrap();
    assert!(restored.restore().await.unwrap());
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(restored.get().await.unwrap(), Some(4));
}

#[tokio::test]
async fn test_revoke_task_instance_persistent() {
    let h = huey();
    let r = add::enqueue(&h, 1, 1).await.unwrap();
    r.revoke_with(Revoke::Forever).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Revoked));
    add::call(1, 1).id(r.id()).enqueue(&h).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Revoked));
    assert_eq!(
        h.result_count().await.unwrap(),
        1,
        "the flag is a stored value"
    );
}

#[tokio::test]
async fn test_revoke_by_id() {
    let h = huey();
    let r = add::enqueue(&h, 1, 1).await.unwrap();
    h.revoke_by_id(r.id(), Revoke::Forever).await.unwrap();
    assert!(h.is_revoked_by_id(r.id()).await.unwrap());
    assert!(h.restore_by_id(r.id()).await.unwrap());
    assert!(!h.is_revoked_by_id(r.id()).await.unwrap());
    assert_eq!(run(&h).await, Some(Executed::Completed));
}

#[tokio::test]
async fn test_is_revoked_by_id() {
    let h = huey();
    let r = add::enqueue(&h, 1, 1).await.unwrap();
    add::revoke(&h, Revoke::Forever).await.unwrap();
    assert!(!h.is_revoked_by_id(r.id()).await.unwrap());
    r.revoke().await.unwrap();
    assert!(h.is_revoked_by_id(r.id()).await.unwrap());
}

#[tokio::test]
async fn test_revoke_once() {
    let h = huey();
    add::revoke(&h, Revoke::Once).await.unwrap();
    add::enqueue(&h, 1, 1).await.unwrap();
    add::enqueue(&h, 2, 2).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Revoked));
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert!(!add::is_revoked(&h).await.unwrap());
}

#[tokio::test]
async fn test_revoke_until() {
    let h = huey();
    let now = Utc::now();
    add::revoke(&h, Revoke::Until(now + secs(60)))
        .await
        .unwrap();
    add::enqueue(&h, 1, 1).await.unwrap();
    assert_eq!(run_at(&h, now).await, Some(Executed::Revoked));
    assert!(
        add::is_revoked(&h).await.unwrap(),
        "still revoked before the cutoff"
    );
    add::enqueue(&h, 2, 2).await.unwrap();
    assert_eq!(run_at(&h, now + secs(60)).await, Some(Executed::Completed));
    // Executing past the cutoff deleted the flag, so an earlier timestamp runs too.
    add::enqueue(&h, 3, 3).await.unwrap();
    assert_eq!(run_at(&h, now).await, Some(Executed::Completed));
}

#[tokio::test]
async fn test_revoke_periodic() {
    let h = huey();
    assert!(
        !every_five::restore(&h).await.unwrap(),
        "nothing was revoked"
    );
    every_five::revoke(&h, Revoke::Forever).await.unwrap();
    assert!(every_five::is_revoked(&h).await.unwrap());
    assert!(
        every_five::is_revoked(&h).await.unwrap(),
        "peeking is idempotent"
    );
    every_five::enqueue(&h).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Revoked));
    assert!(every_five::restore(&h).await.unwrap());

    every_five::revoke(&h, Revoke::Once).await.unwrap();
    every_five::enqueue(&h).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Revoked));
    assert!(!every_five::is_revoked(&h).await.unwrap());

    let now = Utc::now();
    every_five::revoke(&h, Revoke::Until(now + secs(30)))
        .await
        .unwrap();
    every_five::enqueue(&h).await.unwrap();
    assert_eq!(run_at(&h, now).await, Some(Executed::Revoked));
    every_five::enqueue(&h).await.unwrap();
    assert_ne!(run_at(&h, now + secs(31)).await, Some(Executed::Revoked));
}

#[tokio::test]
async fn test_reschedule() {
    let h = huey();
    let now = Utc::now();
    let original = add_with_options::call(1, 2)
        .retries(5)
        .enqueue(&h)
        .await
        .unwrap();
    let moved = original
        .reschedule(Reschedule::at(now + secs(60)))
        .await
        .unwrap();
    assert_ne!(moved.id(), original.id());
    assert!(original.is_revoked().await.unwrap());
    assert_eq!(run_at(&h, now).await, Some(Executed::Revoked));
    assert_eq!(run_at(&h, now).await, Some(Executed::Scheduled));
    let scheduled = h.scheduled(None).await.unwrap();
    assert_eq!(scheduled.len(), 1);
    let copy = &scheduled[0];
    assert_eq!(copy.id, moved.id());
    assert_eq!(copy.retries, 5);
    assert_eq!(copy.retry_delay, 10.0);
    assert_eq!(copy.retry_backoff, 2.0);
    assert_eq!(copy.eta, Some(now + secs(60)));
}

#[tokio::test]
async fn test_reschedule_no_delay() {
    let h = huey();
    let original = add::enqueue(&h, 1, 2).await.unwrap();
    let mut moved = original.reschedule(Reschedule::now()).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Revoked));
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(moved.get().await.unwrap(), Some(3));
}

#[tokio::test]
async fn test_expires() {
    let h = huey();
    let now = Utc::now();
    // Declared default, resolved at enqueue time.
    expiring::enqueue(&h).await.unwrap();
    let pending = h.pending(None).await.unwrap();
    let at = pending[0].expires_at.unwrap();
    assert!(at > now + secs(3590) && at <= Utc::now() + secs(3600));
    assert_eq!(run_at(&h, now).await, Some(Executed::Completed));
    expiring::enqueue(&h).await.unwrap();
    assert_eq!(run_at(&h, now + secs(7200)).await, Some(Executed::Expired));

    // Per call: relative and absolute; zero means already expired.
    add::call(1, 1)
        .expires(Duration::from_secs(10))
        .enqueue(&h)
        .await
        .unwrap();
    assert_eq!(run_at(&h, now + secs(11)).await, Some(Executed::Expired));
    add::call(1, 1)
        .expires_at(now + secs(5))
        .enqueue(&h)
        .await
        .unwrap();
    assert_eq!(run_at(&h, now).await, Some(Executed::Completed));
    add::call(1, 1)
        .expires(Duration::ZERO)
        .enqueue(&h)
        .await
        .unwrap();
    assert_eq!(
        run_at(&h, Utc::now() + secs(1)).await,
        Some(Executed::Expired)
    );
}

#[tokio::test]
async fn test_scheduling_expires() {
    let h = huey();
    let now = Utc::now();
    add::call(1, 1)
        .delay(Duration::from_secs(60))
        .expires(Duration::from_secs(120))
        .enqueue(&h)
        .await
        .unwrap();
    assert_eq!(run_at(&h, now).await, Some(Executed::Scheduled));
    let due = h.storage().promote_due(now + secs(61)).await.unwrap();
    assert_eq!(due.len(), 1);
    assert!(h.pending(None).await.unwrap()[0].expires_at.is_some());
    assert_eq!(run_at(&h, now + secs(61)).await, Some(Executed::Completed));
}

#[tokio::test]
async fn test_reschedule_expires() {
    let h = huey();
    let r = add::enqueue(&h, 1, 1).await.unwrap();
    let at = Utc::now() + secs(30);
    let moved = r
        .reschedule(Reschedule::now().expires_at(at))
        .await
        .unwrap();
    let pending = h.pending(None).await.unwrap();
    let copy = pending.iter().find(|m| m.id == moved.id()).unwrap();
    assert_eq!(copy.expires_at, Some(at));
}

#[tokio::test]
async fn test_reschedule_priority() {
    let h = huey();
    let r = add::enqueue(&h, 1, 1).await.unwrap();
    let moved = r.reschedule(Reschedule::now().priority(99)).await.unwrap();
    let pending = h.pending(None).await.unwrap();
    assert_eq!(pending[0].id, moved.id(), "higher priority first");
    assert_eq!(pending[0].priority, 99);
}

#[tokio::test]
async fn test_timeout() {
    let h = huey();
    with_timeout::enqueue(&h).await.unwrap();
    with_timeout::call()
        .timeout(Some(Duration::from_secs(3)))
        .enqueue(&h)
        .await
        .unwrap();
    with_timeout::call()
        .timeout(None)
        .enqueue(&h)
        .await
        .unwrap();
    with_timeout::call()
        .timeout(Some(Duration::ZERO))
        .enqueue(&h)
        .await
        .unwrap();
    let timeouts: Vec<_> = h
        .pending(None)
        .await
        .unwrap()
        .iter()
        .map(|m| m.timeout_duration())
        .collect();
    assert_eq!(
        timeouts,
        [
            Some(Duration::from_secs(10)),
            Some(Duration::from_secs(3)),
            None,
            None
        ]
    );
}

#[tokio::test]
async fn test_timeout_coop_helpers() {
    let task = Task::local("coop");
    assert!(!task.is_timed_out());
    assert_eq!(task.time_remaining(), None);
    assert!(task.check_timeout().is_ok());
}

#[tokio::test]
async fn test_timeout_cooperative_full() {
    let h = huey();
    let mut slow = cooperative::enqueue(&h, 1000).await.unwrap();
    let mut quick = cooperative::enqueue(&h, 2).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Failed));
    assert_eq!(run(&h).await, Some(Executed::Completed));
    match slow.get().await {
        Err(ResultError::Failed(f)) => {
            assert_eq!(f.kind, "timeout");
            assert_eq!(f.error, "timeout 0.05s");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(quick.get().await.unwrap(), Some(2));
}

#[tokio::test]
async fn test_async_timeout_cancels_body() {
    let h = huey();
    let mut r = too_slow::enqueue(&h).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Failed));
    match r.get().await {
        Err(ResultError::Failed(f)) => assert_eq!(f.kind, "timeout"),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn test_task_error() {
    let h = huey();
    let mut r = fail::enqueue(&h, "broken".into()).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Failed));
    assert_eq!(h.result_count().await.unwrap(), 1);
    match r.get().await {
        Err(ResultError::Failed(f)) => {
            assert_eq!(f.error, "broken");
            assert_eq!(f.kind, "error");
            assert_eq!(f.retries, 0);
            assert!(f.traceback.contains("broken"));
            assert_eq!(f.task_id, r.id());
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(h.result_count().await.unwrap(), 0, "reading removed it");
}

#[tokio::test]
async fn test_panicking_task_is_a_failed_task() {
    let h = huey();
    let mut r = panics::enqueue(&h).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Failed));
    match r.get().await {
        Err(ResultError::Failed(f)) => {
            assert_eq!(f.kind, "panic");
            assert!(f.error.contains("boom"), "{}", f.error);
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn test_retry() {
    let h = huey();
    let mut r = fail_once_more::enqueue(&h, "again".into()).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Retrying));
    let pending = h.pending(None).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, r.id(), "a retry keeps the task id");
    assert_eq!(pending[0].retries, 0);
    assert_eq!(
        r.get().await.unwrap(),
        None,
        "a retried attempt's error is no outcome"
    );
    assert_eq!(r.last_attempt().map(|f| f.retries), Some(1));
    assert_eq!(run(&h).await, Some(Executed::Failed));
    match r.get().await {
        Err(ResultError::Failed(f)) => assert_eq!(f.retries, 0),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.pending_count().await.unwrap(), 0);
}

#[tokio::test]
async fn test_retries_with_override() {
    let h = huey();
    fail_once_more::call("x".into())
        .retries(0)
        .enqueue(&h)
        .await
        .unwrap();
    assert_eq!(run(&h).await, Some(Executed::Failed));
    fail_once_more::call("x".into())
        .retries(2)
        .enqueue(&h)
        .await
        .unwrap();
    assert_eq!(run(&h).await, Some(Executed::Retrying));
    assert_eq!(run(&h).await, Some(Executed::Retrying));
    assert_eq!(run(&h).await, Some(Executed::Failed));
}

#[tokio::test]
async fn test_retry_periodic() {
    let h = huey();
    let r = every_five::enqueue(&h).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Retrying));
    let pending = h.pending(None).await.unwrap();
    assert_eq!(pending[0].id, r.id());
    assert_eq!(pending[0].retries, 0);
    assert!(pending[0].periodic);
}

#[tokio::test]
async fn test_retry_to_success() {
    let h = huey();
    let mut r = eventually::enqueue(&h, "retry_to_success".into())
        .await
        .unwrap();
    assert_eq!(run(&h).await, Some(Executed::Retrying));
    assert_eq!(run(&h).await, Some(Executed::Retrying));
    assert_eq!(run(&h).await, Some(Executed::Completed));
    r.reset();
    assert_eq!(r.get().await.unwrap(), Some(1337));
    assert_eq!(h.result_count().await.unwrap(), 0);
}

#[tokio::test]
async fn test_retry_delay() {
    let h = huey();
    let now = Utc::now();
    let r = fail_with_delay::enqueue(&h).await.unwrap();
    assert_eq!(run_at(&h, now).await, Some(Executed::Retrying));
    assert_eq!(h.pending_count().await.unwrap(), 0);
    let scheduled = h.scheduled(None).await.unwrap();
    assert_eq!(scheduled[0].id, r.id());
    assert_eq!(scheduled[0].retries, 0);
    assert_eq!(scheduled[0].eta, Some(now + secs(60)));
}

#[tokio::test]
async fn test_retry_backoff() {
    let h = huey();
    let mut now = Utc::now();
    fail_with_backoff::enqueue(&h).await.unwrap();
    for (wait, next_delay) in [(2, 4.0), (4, 8.0), (8, 16.0)] {
        assert_eq!(run_at(&h, now).await, Some(Executed::Retrying));
        let scheduled = h.scheduled(None).await.unwrap();
        assert_eq!(scheduled[0].eta, Some(now + secs(wait)));
        assert_eq!(scheduled[0].retry_delay, next_delay);
        now += secs(wait);
        assert_eq!(h.storage().promote_due(now).await.unwrap().len(), 1);
    }
    assert_eq!(run_at(&h, now).await, Some(Executed::Failed));

    // Per-call backoff.
    fail_with_backoff::call()
        .retry_backoff(3.0)
        .enqueue(&h)
        .await
        .unwrap();
    assert_eq!(run_at(&h, now).await, Some(Executed::Retrying));
    assert_eq!(h.scheduled(None).await.unwrap()[0].retry_delay, 6.0);
}

#[tokio::test]
async fn test_retrytask_eta_delay() {
    let h = huey();
    let now = Utc::now();
    retry_then_succeed::enqueue(&h, "eta_delay".into(), Some(30))
        .await
        .unwrap();
    assert_eq!(run_at(&h, now).await, Some(Executed::Retrying));
    assert_eq!(
        h.scheduled(None).await.unwrap()[0].eta,
        Some(now + secs(30))
    );
    assert_eq!(
        h.result_count().await.unwrap(),
        0,
        "a retry request stores nothing"
    );

    // Without a delay the task's own retry_delay (0) applies: straight back on the queue.
    retry_then_succeed::enqueue(&h, "eta_none".into(), None)
        .await
        .unwrap();
    assert_eq!(run_at(&h, now).await, Some(Executed::Retrying));
    assert_eq!(h.pending_count().await.unwrap(), 1);
}

#[tokio::test]
async fn test_retrytask_explicit() {
    let h = huey();
    let mut r = retry_then_succeed::enqueue(&h, "explicit".into(), None)
        .await
        .unwrap();
    assert_eq!(run(&h).await, Some(Executed::Retrying));
    assert_eq!(
        h.pending(None).await.unwrap()[0].retries,
        0,
        "count unchanged"
    );
    assert_eq!(r.get().await.unwrap(), None);
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(r.get().await.unwrap(), Some("done".to_string()));
}

#[tokio::test]
async fn test_cancel_execution_message() {
    let c = CancelExecution::new("nope");
    assert_eq!(c.to_string(), "nope");
    assert_eq!(c.retry, None);
    assert_eq!(
        format!("{c:?}"),
        "CancelExecution { message: Some(\"nope\"), retry: None }"
    );
}

#[tokio::test]
async fn test_cancel_execution() {
    let h = huey();
    let mut r = cancels_no_retries::enqueue(&h, None).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Failed));
    assert!(matches!(r.get().await, Err(ResultError::Failed(f)) if f.kind == "cancelled"));
    let mut r = cancels_no_retries::enqueue(&h, Some(false)).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Failed));
    assert!(r.get().await.is_err());
    let mut r = cancels_no_retries::enqueue(&h, Some(true)).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Retrying));
    assert!(matches!(r.get().await, Ok(None)));
    assert_eq!(r.last_attempt().map(|f| f.retries), Some(1));
    assert_eq!(h.pending_count().await.unwrap(), 1);
}

#[tokio::test]
async fn test_cancel_execution_task_retries() {
    let h = huey();
    cancels::enqueue(&h, Some(false)).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Failed));

    let mut r = cancels::enqueue(&h, None).await.unwrap();
    let mut seen = Vec::new();
    while let Some(executed) = run(&h).await {
        if let Some(retries) = latest_retries(&mut r).await {
            seen.push(retries);
        }
        if executed == Executed::Failed {
            break;
        }
    }
    assert_eq!(seen, [2, 1, 0]);

    let mut r = cancels::enqueue(&h, Some(true)).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        assert_eq!(run(&h).await, Some(Executed::Retrying));
        if let Some(retries) = latest_retries(&mut r).await {
            seen.push(retries);
        }
    }
    assert_eq!(seen, [2, 1, 1, 1], "retry = true never runs out");
}

/// The retries left by the latest attempt this handle reads: the final failure's, or else a
/// retried attempt's (which `get` passes over).
async fn latest_retries<O: serde::de::DeserializeOwned>(r: &mut TaskResult<O>) -> Option<u32> {
    match r.get().await {
        Err(ResultError::Failed(f)) => Some(f.retries),
        Ok(None) => r.last_attempt().map(|f| f.retries),
        _ => None,
    }
}

#[tokio::test]
async fn test_read_periodic() {
    let registry = Registry::global().unwrap();
    let names = |at: DateTime<Utc>| -> Vec<&str> {
        registry.read_periodic(at).iter().map(|d| d.name).collect()
    };
    let midnight = "2026-01-05T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
    assert_eq!(
        names(midnight),
        [daily_value::NAME, every_five::NAME],
        "in name order"
    );
    assert_eq!(names(midnight + secs(300)), [every_five::NAME]);
    assert!(names(midnight + secs(60)).is_empty());
}

/// Crontabs read in a named zone follow its daylight saving time: the daily midnight task runs
/// at 23:00 UTC in Paris's winter and at 22:00 UTC in its summer.
#[tokio::test]
async fn test_read_periodic_in_a_time_zone() {
    let registry = Registry::global().unwrap();
    let paris = huey_core::TimeZone::get("Europe/Paris").unwrap();
    let names = |at: &str| -> Vec<&str> {
        let at = at.parse::<DateTime<Utc>>().unwrap();
        registry
            .read_periodic_in(at, &paris)
            .iter()
            .map(|d| d.name)
            .collect()
    };
    assert_eq!(
        names("2026-01-04T23:00:00Z"),
        [daily_value::NAME, every_five::NAME]
    );
    assert_eq!(names("2026-01-05T00:00:00Z"), [every_five::NAME]);
    assert_eq!(
        names("2026-07-05T22:00:00Z"),
        [daily_value::NAME, every_five::NAME]
    );
    assert_eq!(names("2026-07-05T23:00:00Z"), [every_five::NAME]);
    let utc = huey_core::TimeZone::UTC;
    let midnight = "2026-01-05T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
    assert_eq!(
        registry.read_periodic_in(midnight, &utc).len(),
        registry.read_periodic(midnight).len(),
        "UTC is the default zone"
    );
}

#[tokio::test]
async fn test_task_decorator() {
    let message = add::call(1, 2).into_message().unwrap();
    assert_eq!(message.retries, 0);
    assert_eq!(message.retry_delay, 0.0);
    assert_eq!(message.args.get(), "[1,2]");
    assert_eq!(add(1, 2), 3, "the function stays callable");
}

#[tokio::test]
async fn test_task_parameters() {
    let h = huey();
    assert_eq!(introspect::NAME, "api::renamed");
    let mut r = introspect::enqueue(&h).await.unwrap();
    run(&h).await;
    assert_eq!(
        r.get().await.unwrap(),
        Some(("api::renamed".to_string(), 2))
    );
    let message = add_with_options::call(1, 1).into_message().unwrap();
    assert_eq!((message.retries, message.retry_delay), (3, 10.0));
}

#[tokio::test]
async fn test_task_wrapper_retry_attrs() {
    assert_eq!(<add_with_options as TaskDef>::OPTIONS.retries, 3);
    assert_eq!(
        <add_with_options as TaskDef>::OPTIONS.retry_delay,
        Duration::from_secs(10)
    );
    assert_eq!(<add as TaskDef>::OPTIONS.retries, 0);
}

#[tokio::test]
async fn test_task_id() {
    let h = huey();
    let mut r = add::call(1, 2).id("my-id").enqueue(&h).await.unwrap();
    assert_eq!(r.id(), "my-id");
    assert_eq!(h.pending(None).await.unwrap()[0].id, "my-id");
    run(&h).await;
    assert_eq!(
        h.result::<i64>("my-id").preserve().get().await.unwrap(),
        Some(3)
    );
    assert_eq!(r.get().await.unwrap(), Some(3));
}

#[tokio::test]
async fn test_default_task_name() {
    assert_eq!(add::NAME, "api::add");
    assert_eq!(<add as TaskDef>::NAME, add::NAME);
}

#[tokio::test]
async fn test_periodic_task() {
    let message = every_five::call().into_message().unwrap();
    assert!(message.periodic);
    assert_eq!(message.retries, 1);
    assert_eq!(message.args.get(), "[]");
}

#[tokio::test]
async fn test_call_periodic_task() {
    let h = huey();
    assert_eq!(daily_value(), 7);
    daily_value::enqueue(&h).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(
        h.result_count().await.unwrap(),
        0,
        "periodic results are never stored"
    );
}

#[tokio::test]
async fn test_context_task() {
    let h = huey();
    let failed_before = COUNTING.exited_failed.load(Ordering::SeqCst);
    let ok_before = COUNTING.exited_ok.load(Ordering::SeqCst);
    in_context::enqueue(&h, false).await.unwrap();
    in_context::enqueue(&h, true).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(run(&h).await, Some(Executed::Failed));
    assert!(COUNTING.exited_ok.load(Ordering::SeqCst) > ok_before);
    assert!(COUNTING.exited_failed.load(Ordering::SeqCst) > failed_before);

    let mut r = context_as_argument::enqueue(&h, 1000).await.unwrap();
    run(&h).await;
    assert!(r.get().await.unwrap().unwrap() > 1000);
}

#[tokio::test]
async fn test_async_task() {
    let h = huey();
    let mut r = async_double::enqueue(&h, 21).await.unwrap();
    run(&h).await;
    assert_eq!(r.get().await.unwrap(), Some(42));
    assert_eq!(async_double(4).await, 8);
}

#[tokio::test]
async fn test_map() {
    let h = huey();
    let mut results = add::map(&h, [(1, 2), (3, 4), (5, 6)]).await.unwrap();
    assert_eq!(h.pending_count().await.unwrap(), 3);
    while run(&h).await.is_some() {}
    let mut values = Vec::new();
    for r in &mut results {
        values.push(r.get().await.unwrap().unwrap());
    }
    assert_eq!(values, [3, 7, 11]);
}

#[tokio::test]
async fn test_task_hooks() {
    let h = Huey::builder("hooks")
        .registered_hooks(false)
        .build(MemoryStorage::new());
    let log = std::sync::Arc::new(Mutex::new(Vec::<String>::new()));
    let l = log.clone();
    h.add_pre_execute("record", move |task| {
        l.lock().unwrap().push(format!("pre {}", task.name()));
        Ok(())
    });
    let l = log.clone();
    h.add_pre_execute("cancel", move |task| {
        if task.args_json() == "[0,0]" {
            l.lock().unwrap().push("cancel".into());
            return Err(CancelExecution::new("zero").into());
        }
        Ok(())
    });
    let l = log.clone();
    h.add_pre_execute("after-cancel", move |_| {
        l.lock().unwrap().push("after-cancel".into());
        Ok(())
    });
    let l = log.clone();
    h.add_post_execute("post", move |_task, value, error| {
        l.lock().unwrap().push(format!(
            "post {:?} {:?}",
            value.map(|v| v.json().to_owned()),
            error.map(|e| e.to_string())
        ));
    });
    add::enqueue(&h, 1, 2).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    add::enqueue(&h, 0, 0).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Cancelled));
    fail::enqueue(&h, "bad".into()).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Failed));
    assert_eq!(
        *log.lock().unwrap(),
        [
            "pre api::add",
            "after-cancel",
            "post Some(\"3\") None",
            "pre api::add",
            "cancel",
            "pre api::fail",
            "after-cancel",
            "post None Some(\"bad\")",
        ]
    );
    // The value of add and the error of fail; the cancelled task stored nothing.
    assert_eq!(h.result_count().await.unwrap(), 2);
}

#[tokio::test]
async fn test_hook_unregister() {
    let h = huey();
    let id = h.add_pre_execute("noop", |_| Ok(()));
    assert!(h.disconnect(id));
    assert!(!h.disconnect(id));
}

#[tokio::test]
async fn test_task_hook_errors() {
    let h = Huey::builder("hook-errors")
        .registered_hooks(false)
        .build(MemoryStorage::new());
    let ran = std::sync::Arc::new(AtomicUsize::new(0));
    h.add_pre_execute("fails", |_| Err(TaskError::msg("hook broke")));
    h.add_pre_execute("panics", |_| panic!("hook panicked"));
    let r2 = ran.clone();
    h.add_pre_execute("counts", move |_| {
        r2.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    h.add_post_execute("post-panics", |_, _, _| panic!("post hook panicked"));
    let mut r = add::enqueue(&h, 2, 2).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    assert_eq!(r.get().await.unwrap(), Some(4));
}

#[tokio::test]
async fn test_disable_result_store() {
    let h = Huey::builder("no-results")
        .results(false)
        .build(MemoryStorage::new());
    let before = SIDE_EFFECTS.load(Ordering::SeqCst);
    let mut r = side_effect::enqueue(&h).await.unwrap();
    let mut sum = add::enqueue(&h, 1, 1).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert!(
        SIDE_EFFECTS.load(Ordering::SeqCst) > before,
        "the task still ran"
    );
    assert!(matches!(r.get().await, Err(ResultError::Disabled)));
    assert!(matches!(sum.get().await, Err(ResultError::Disabled)));
    assert_eq!(h.result_count().await.unwrap(), 0);
}

#[tokio::test]
async fn test_intermediate_error_withheld() {
    let h = Huey::builder("withheld")
        .store_intermediate_errors(false)
        .build(MemoryStorage::new());
    let mut r = fail_once_more::enqueue(&h, "x".into()).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Retrying));
    assert_eq!(h.result_count().await.unwrap(), 0);
    assert_eq!(run(&h).await, Some(Executed::Failed));
    assert!(matches!(r.get().await, Err(ResultError::Failed(f)) if f.retries == 0));
}

#[tokio::test]
async fn test_retry_then_success() {
    let h = Huey::builder("withheld")
        .store_intermediate_errors(false)
        .build(MemoryStorage::new());
    let mut r = eventually::enqueue(&h, "withheld_success".into())
        .await
        .unwrap();
    while run(&h).await.is_some() {}
    assert_eq!(r.get().await.unwrap(), Some(1337), "no reset needed");
}

#[tokio::test]
async fn test_storage_wrappers() {
    let h = huey();
    let a = add::enqueue(&h, 1, 1).await.unwrap();
    let b = add::call(2, 2)
        .delay(Duration::from_secs(60))
        .enqueue(&h)
        .await
        .unwrap();
    assert_eq!(h.pending(None).await.unwrap().len(), 2);
    run(&h).await;
    run(&h).await;
    let pending = h.pending(None).await.unwrap();
    assert!(pending.is_empty());
    let scheduled = h.scheduled(None).await.unwrap();
    assert_eq!(scheduled.len(), 1);
    assert_eq!(scheduled[0].id, b.id());
    let all = h.all_results().await.unwrap();
    assert_eq!(all.len(), 1);
    assert!(all.contains_key(a.id()));
}

#[tokio::test]
async fn test_pending_scheduled_skip_undecodable() {
    let h = huey();
    add::enqueue(&h, 1, 1).await.unwrap();
    h.storage().enqueue(b"garbage".to_vec(), 0).await.unwrap();
    h.storage()
        .add_to_schedule(b"more garbage".to_vec(), Utc::now(), 0)
        .await
        .unwrap();
    assert_eq!(h.pending(None).await.unwrap().len(), 1);
    assert!(h.scheduled(None).await.unwrap().is_empty());
    assert_eq!(h.pending_count().await.unwrap(), 2);
}

#[tokio::test]
async fn test_put_get() {
    let h = huey();
    h.put("s", "text").await.unwrap();
    h.put("i", &42).await.unwrap();
    h.put("f", &1.5).await.unwrap();
    h.put("n", &None::<i32>).await.unwrap();
    h.put("l", &vec![1, 2, 3]).await.unwrap();
    h.put("t", &(1, "a".to_string())).await.unwrap();
    h.put("m", &HashMap::from([("k".to_string(), 1)]))
        .await
        .unwrap();
    assert_eq!(h.get::<String>("s").await.unwrap(), Some("text".into()));
    assert_eq!(h.peek::<i64>("i").await.unwrap(), Some(42));
    assert_eq!(h.get::<i64>("i").await.unwrap(), Some(42));
    assert_eq!(h.get::<i64>("i").await.unwrap(), None);
    assert_eq!(h.get::<f64>("f").await.unwrap(), Some(1.5));
    assert_eq!(h.get::<Option<i32>>("n").await.unwrap(), Some(None));
    assert_eq!(h.get::<Vec<i32>>("l").await.unwrap(), Some(vec![1, 2, 3]));
    assert_eq!(
        h.get::<(i32, String)>("t").await.unwrap(),
        Some((1, "a".into()))
    );
    assert_eq!(
        h.get::<HashMap<String, i32>>("m").await.unwrap().unwrap()["k"],
        1
    );
}

#[tokio::test]
async fn test_multiple_huey() {
    let one = Huey::memory("one");
    let two = Huey::memory("two");
    add::enqueue(&one, 1, 1).await.unwrap();
    assert_eq!(one.pending_count().await.unwrap(), 1);
    assert_eq!(two.pending_count().await.unwrap(), 0);
    assert_eq!(run(&two).await, None);
    assert_eq!(run(&one).await, Some(Executed::Completed));
}

#[tokio::test]
async fn test_user_task_kwarg_preserved() {
    let h = huey();
    let mut r = user_kwarg_named_task::enqueue(&h, "mine".into())
        .await
        .unwrap();
    run(&h).await;
    assert_eq!(r.get().await.unwrap(), Some("mine".to_string()));
}

#[tokio::test]
async fn test_context_task_reserialization() {
    // Injected parameters (&Task here) never travel in the message.
    let message = introspect::call().into_message().unwrap();
    assert_eq!(message.args.get(), "[]");
    let message = cooperative::call(3).into_message().unwrap();
    assert_eq!(message.args.get(), "[3]");
}

#[tokio::test]
async fn test_missing_task() {
    let h = huey();
    let mut message = add::call(1, 1).into_message().unwrap();
    message.name = "api::no_such_task".into();
    h.storage().enqueue(message.encode(), 0).await.unwrap();
    h.storage()
        .enqueue(b"\xff\x00not json".to_vec(), 0)
        .await
        .unwrap();
    assert_eq!(run(&h).await, None);
    assert_eq!(run(&h).await, None);
    let dead = h.dead_letters(None).await.unwrap();
    assert_eq!(dead.len(), 2);
    assert!(
        dead[0]
            .reason
            .contains("no task is registered as `api::no_such_task`"),
        "{}",
        dead[0].reason
    );
    assert!(
        dead[1].reason.contains("malformed message"),
        "{}",
        dead[1].reason
    );
    assert_eq!(dead[1].data, b"\xff\x00not json");
}

#[tokio::test]
async fn test_arguments_that_do_not_decode_fail_the_task() {
    let h = huey();
    let mut message = add::call(1, 1).into_message().unwrap();
    message.args = serde_json::value::RawValue::from_string("[\"x\"]".into()).unwrap();
    let id = message.id.clone();
    h.storage().enqueue(message.encode(), 0).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Failed));
    let mut r = h.result::<i64>(id);
    assert!(
        matches!(r.get().await, Err(ResultError::Failed(f)) if f.error.contains("do not decode"))
    );
}

#[tokio::test]
async fn test_periodic_tasks() {
    let registry = Registry::global().unwrap();
    let periodic: Vec<_> = registry
        .tasks()
        .filter(|d| d.periodic.is_some())
        .map(|d| d.name)
        .collect();
    assert_eq!(periodic, [daily_value::NAME, every_five::NAME]);
}

#[tokio::test]
async fn test_enqueue_periodic_claims_each_tick_once() {
    let h = huey();
    let at = "2026-01-05T00:00:30Z".parse::<DateTime<Utc>>().unwrap();
    let first = h.enqueue_periodic(at).await.unwrap();
    assert_eq!(first.len(), 2);
    assert!(
        h.enqueue_periodic(at + secs(10)).await.unwrap().is_empty(),
        "same minute"
    );
    assert_eq!(h.pending_count().await.unwrap(), 2);
}

/// A resource that counts opens and closes.
struct Tracked {
    opened: AtomicUsize,
    closed: AtomicUsize,
}

impl Resource for Tracked {
    type Handle = usize;
    async fn open(&self) -> Result<usize, TaskError> {
        Ok(self.opened.fetch_add(1, Ordering::SeqCst) + 1)
    }
    async fn close(&self, _opened: usize) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

static ASYNC_DB: Tracked = Tracked {
    opened: AtomicUsize::new(0),
    closed: AtomicUsize::new(0),
};

static SYNC_DB: Tracked = Tracked {
    opened: AtomicUsize::new(0),
    closed: AtomicUsize::new(0),
};

#[closing_task(ASYNC_DB, as_argument, timeout = "50ms")]
async fn closing_async(opened: &usize, outcome: String) -> Result<String, TaskError> {
    assert!(*opened >= 1, "the handle open() returned");
    match outcome.as_str() {
        "error" => Err(TaskError::msg("failed inside")),
        "panic" => panic!("panicked inside"),
        "timeout" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(outcome)
        }
        _ => Ok(outcome),
    }
}

#[closing_task(SYNC_DB, as_argument)]
fn closing_sync(opened: &usize, outcome: String) -> Result<String, TaskError> {
    assert!(*opened >= 1, "the handle open() returned");
    match outcome.as_str() {
        "error" => Err(TaskError::msg("failed inside")),
        "panic" => panic!("panicked inside"),
        _ => Ok(outcome),
    }
}

#[tokio::test]
async fn test_closing_task_closes_whatever_the_outcome() {
    let h = huey();
    let expected = [
        ("value", Executed::Completed),
        ("error", Executed::Failed),
        ("panic", Executed::Failed),
        ("timeout", Executed::Failed),
    ];
    for (outcome, executed) in expected {
        let opened = ASYNC_DB.opened.load(Ordering::SeqCst);
        let closed = ASYNC_DB.closed.load(Ordering::SeqCst);
        closing_async::enqueue(&h, outcome.into()).await.unwrap();
        assert_eq!(run(&h).await, Some(executed), "{outcome}");
        assert_eq!(
            ASYNC_DB.opened.load(Ordering::SeqCst),
            opened + 1,
            "{outcome}"
        );
        assert_eq!(
            ASYNC_DB.closed.load(Ordering::SeqCst),
            closed + 1,
            "{outcome}"
        );
    }
    for (outcome, executed) in &expected[..3] {
        let opened = SYNC_DB.opened.load(Ordering::SeqCst);
        let closed = SYNC_DB.closed.load(Ordering::SeqCst);
        let mut r = closing_sync::enqueue(&h, (*outcome).into()).await.unwrap();
        assert_eq!(run(&h).await, Some(*executed), "{outcome}");
        assert_eq!(
            SYNC_DB.opened.load(Ordering::SeqCst),
            opened + 1,
            "{outcome}"
        );
        assert_eq!(
            SYNC_DB.closed.load(Ordering::SeqCst),
            closed + 1,
            "{outcome}"
        );
        if *outcome == "value" {
            assert_eq!(r.get().await.unwrap(), Some("value".to_string()));
        }
    }
}
