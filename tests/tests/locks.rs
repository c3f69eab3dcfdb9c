//! Huey's task locks and rate limits (`TestTaskLocking`, `TestRateLimit`,
//! `test_retrying_exceptions_not_surfaced`, `test_flush_locks`, `test_flush_named_locks`), each
//! run twice: on `MemoryStorage` and on a test-started `redis-server`. Tasks run by hand
//! (`run_next`) so each test decides when an attempt happens.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use huey_core::prelude::*;
use huey_core::{Executed, LockSpec, RateLimitSpec, Registry};
use huey_tests::backend::{record_signals, take_signals as take};

// ---- tasks ----

/// Lets a test hold a task inside its body: the body says it entered, then waits for release.
#[derive(Default)]
struct Gate {
    entered: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

static GATES: Mutex<Vec<(String, Arc<Gate>)>> = Mutex::new(Vec::new());

fn gate(key: &str) -> Option<Arc<Gate>> {
    let gates = GATES.lock().unwrap();
    gates
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, g)| Arc::clone(g))
}

/// Holds the lock "exclusive" while it runs; a call whose key has a gate waits at it.
#[task(lock = "exclusive", retries = 50, retry_delay = "20ms")]
async fn exclusive(key: String) -> String {
    if let Some(gate) = gate(&key) {
        gate.entered.notify_one();
        gate.release.notified().await;
    }
    key
}

#[task(lock = "lock_a", retries = 1)]
fn locked_by_attribute(n: i64) -> i64 {
    n + 1
}

/// The guard API inside a body: the queue comes from the worker's state.
#[task(retries = 1)]
async fn locked_in_body(queue: State<Huey>) -> anyhow::Result<String> {
    let guard = queue.lock_task("lock_b").acquire().await?;
    guard.release().await?;
    Ok("b".into())
}

/// The scoped form inside a body, returning the lock error in a `Result<_, TaskError>`.
#[task]
async fn locked_scoped(queue: State<Huey>) -> Result<String, TaskError> {
    Ok(queue
        .lock_task("lock_c")
        .run(async { "c".to_owned() })
        .await?)
}

#[task(lock(name = "reports", ttl = "200ms"))]
fn locked_with_ttl() {}

#[task(rate_limit(limit = 1, per = "1h"))]
fn limited_retry() -> i64 {
    1
}

#[task(rate_limit(limit = 1, per = "1h", retry = false))]
fn limited_no_retry() -> i64 {
    1
}

#[task(rate_limit(limit = 1, per = "1h"), retries = 2, retry_delay = "10s")]
fn limited_retry_with_retries() -> i64 {
    1
}

#[task(
    rate_limit(limit = 1, per = "1h", retry = false),
    retries = 2,
    retry_delay = "10s"
)]
fn limited_no_retry_with_retries() -> i64 {
    1
}

#[task(rate_limit(limit = 1, per = "1h", retry = false), retries = 1)]
fn limited_no_retry_no_delay() -> i64 {
    1
}

#[task(rate_limit(limit = 5, per = "1s", name = "shared-api"))]
fn limited_shared() {}

// ---- fixtures ----

/// A queue under test, and the server it lives on (for Redis).
struct Fixture {
    huey: Huey,
    server: Option<huey_tests::redis_server::RedisServer>,
}

fn memory(name: &str) -> Fixture {
    Fixture {
        huey: Huey::memory(name),
        server: None,
    }
}

async fn redis(name: &str) -> Fixture {
    let server = huey_tests::redis_server::RedisServer::start();
    let storage = huey_redis::RedisStorage::connect(name, &server.url())
        .await
        .expect("connect to the test server");
    Fixture {
        huey: Huey::new(name, storage),
        server: Some(server),
    }
}

/// One `#[tokio::test]` per case and backend: `memory::<case>` and `redis::<case>`.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $case() {
                    let fixture = super::memory(stringify!($case));
                    super::$case(&fixture.huey).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $case() {
                    let fixture = super::redis(stringify!($case)).await;
                    super::$case(&fixture.huey).await;
                }
            )*
        }
    };
}

on_both_backends!(
    test_task_locking,
    test_lock_in_body,
    test_lock_scoped_releases_on_error_and_panic,
    test_lock_guard_drop_releases,
    test_flush_locks,
    test_flush_named_locks,
    test_lock_ttl_expiry,
    test_locked_without_retries_is_final,
    test_rate_limit,
    test_rate_limit_reset,
    test_rate_limit_scoped_and_attribute,
    test_rate_limit_window_rollover,
    test_rate_limit_execution_retry,
    test_rate_limit_execution_no_retry,
    test_rate_limit_task_with_retries,
    test_retrying_exceptions_not_surfaced,
    test_lock_on_a_consumer,
);

/// A worker state holding the queue, for bodies that take `State<Huey>`.
fn state(h: &Huey) -> WorkerState {
    let mut state = WorkerState::default();
    state.insert(h.clone());
    state
}

async fn run(h: &Huey) -> Option<Executed> {
    h.run_next(&state(h)).await.unwrap()
}

// ---- locks ----

/// Huey's TestTaskLocking.test_task_locking: a locked run fails, is retried and stores nothing;
/// it runs once the lock is free, and the lock is released after.
async fn test_task_locking(h: &Huey) {
    let seen = record_signals(h);
    let mut result = locked_by_attribute::enqueue(h, 1).await.unwrap();
    let guard = h.lock_task("lock_a").acquire().await.unwrap();
    assert!(h.is_locked("lock_a").await.unwrap());
    take(&seen);

    assert_eq!(run(h).await, Some(Executed::Retrying));
    assert_eq!(
        take(&seen),
        [
            Signal::Executing,
            Signal::Locked,
            Signal::Retrying,
            Signal::Enqueued
        ]
    );
    assert_eq!(
        h.result_count().await.unwrap(),
        1,
        "only the lock is stored"
    );
    assert!(
        !result.is_ready().await.unwrap(),
        "no error while a retry is pending"
    );
    let pending = h.pending(None).await.unwrap();
    assert_eq!(pending[0].retries, 0, "a lock rejection uses up a retry");

    assert!(guard.release().await.unwrap());
    assert_eq!(run(h).await, Some(Executed::Completed));
    assert_eq!(result.get().await.unwrap(), Some(2));
    assert!(
        !h.is_locked("lock_a").await.unwrap(),
        "released after the body"
    );
}

/// The guard and scoped forms used inside task bodies: `?` carries the lock error out as a
/// lock rejection, from `anyhow::Result` and from `Result<_, TaskError>`.
async fn test_lock_in_body(h: &Huey) {
    let seen = record_signals(h);
    let mut b = locked_in_body::enqueue(h).await.unwrap();
    let held = h.lock_task("lock_b").acquire().await.unwrap();
    assert_eq!(run(h).await, Some(Executed::Retrying));
    assert!(take(&seen).contains(&Signal::Locked));
    held.release().await.unwrap();
    assert_eq!(run(h).await, Some(Executed::Completed));
    assert_eq!(b.get().await.unwrap(), Some("b".to_owned()));

    let mut c = locked_scoped::enqueue(h).await.unwrap();
    let held = h.lock_task("lock_c").acquire().await.unwrap();
    assert_eq!(run(h).await, Some(Executed::Failed));
    match c.get().await {
        Err(ResultError::Failed(failure)) => {
            assert_eq!(failure.kind, "locked");
            assert_eq!(failure.error, "unable to acquire lock lock_c");
        }
        other => panic!("expected a stored lock error, got {other:?}"),
    }
    held.release().await.unwrap();
    let mut c = locked_scoped::enqueue(h).await.unwrap();
    assert_eq!(run(h).await, Some(Executed::Completed));
    assert_eq!(c.get().await.unwrap(), Some("c".to_owned()));
    assert!(!h.is_locked("lock_c").await.unwrap());
}

/// The scoped form releases when the future returns an error and when it panics.
async fn test_lock_scoped_releases_on_error_and_panic(h: &Huey) {
    let lock = h.lock_task("scoped");
    let failed: Result<(), &str> = lock.run(async { Err("bad") }).await.unwrap();
    assert_eq!(failed, Err("bad"));
    assert!(!lock.is_locked().await.unwrap());

    let panicking = lock.clone();
    let joined = tokio::spawn(async move {
        panicking
            .run(async {
                panic!("boom");
            })
            .await
    })
    .await;
    assert!(joined.unwrap_err().is_panic());
    assert!(
        !lock.is_locked().await.unwrap(),
        "released before the panic went on"
    );

    // Held: the future does not run.
    let guard = lock.acquire().await.unwrap();
    let ran = Arc::new(Mutex::new(false));
    let flag = Arc::clone(&ran);
    let err = lock
        .run(async move { *flag.lock().unwrap() = true })
        .await
        .unwrap_err();
    assert!(
        matches!(err, HueyError::Locked(ref l) if l.name == "scoped"),
        "{err:?}"
    );
    assert!(!*ran.lock().unwrap());
    guard.release().await.unwrap();
}

/// A guard dropped without `release` releases through a spawned task.
async fn test_lock_guard_drop_releases(h: &Huey) {
    let guard = h.lock_task("dropped").acquire().await.unwrap();
    drop(guard);
    // The release runs on the runtime: wait for it (no event to await but the lock itself).
    let deadline = Instant::now() + Duration::from_secs(5);
    while h.is_locked("dropped").await.unwrap() {
        assert!(
            Instant::now() < deadline,
            "the dropped guard never released"
        );
        tokio::task::yield_now().await;
    }
}

/// Huey's TestHueyAPIs.test_flush_locks: returns the names it flushed.
async fn test_flush_locks(h: &Huey) {
    let first = h.lock_task("lock1").acquire().await.unwrap();
    let second = h.lock_task("lock2").acquire().await.unwrap();
    h.put("not-a-lock", &1).await.unwrap();
    assert_eq!(h.flush_locks(&[]).await.unwrap(), ["lock1", "lock2"]);
    assert!(!h.is_locked("lock1").await.unwrap());
    assert!(!h.is_locked("lock2").await.unwrap());
    assert!(h.storage().has_data_for_key("not-a-lock").await.unwrap());
    assert!(!first.release().await.unwrap(), "already flushed");
    assert!(!second.release().await.unwrap());
    assert!(h.flush_locks(&[]).await.unwrap().is_empty());
}

/// Huey's TestHueyAPIs.test_flush_named_locks: named locks are flushed too; names that hold
/// nothing are ignored.
async fn test_flush_named_locks(h: &Huey) {
    let key = h.lock_task("lock3").key().to_owned();
    assert_eq!(key, format!("{}.lock.lock3", h.name()));
    h.storage()
        .put_if_empty(&key, b"1".to_vec(), None)
        .await
        .unwrap();
    let flushed = h
        .flush_locks(&["lock1".to_owned(), "lock3".to_owned()])
        .await
        .unwrap();
    assert_eq!(flushed, ["lock3"]);
}

/// A lock with a TTL frees itself; the expired holder's release does not remove the new
/// holder's lock. The attribute form carries its TTL.
async fn test_lock_ttl_expiry(h: &Huey) {
    let ttl = Duration::from_millis(200);
    let lock = h.lock_task("ttl").ttl(ttl);
    let taken = Instant::now();
    let first = lock.acquire().await.unwrap();
    assert!(matches!(lock.acquire().await, Err(HueyError::Locked(_))));
    // Expiry is the behaviour under test: wait out the TTL, from when the lock was taken.
    tokio::time::sleep_until((taken + ttl + Duration::from_millis(50)).into()).await;
    assert!(!lock.is_locked().await.unwrap());
    let second = lock.acquire().await.unwrap();
    assert!(
        !first.release().await.unwrap(),
        "the first acquisition expired"
    );
    assert!(
        lock.is_locked().await.unwrap(),
        "the second holder keeps the lock"
    );
    assert!(second.release().await.unwrap());

    let descriptor = Registry::global()
        .unwrap()
        .get(locked_with_ttl::NAME)
        .unwrap();
    assert_eq!(
        descriptor.lock,
        Some(LockSpec {
            name: "reports",
            ttl: Some(ttl)
        })
    );
    locked_with_ttl::enqueue(h).await.unwrap();
    assert_eq!(run(h).await, Some(Executed::Completed));
    assert!(!h.is_locked("reports").await.unwrap());
}

/// Huey's signal order for a lock rejection without retries: EXECUTING, LOCKED; the error is
/// final and stored.
async fn test_locked_without_retries_is_final(h: &Huey) {
    let seen = record_signals(h);
    let held = h.lock_task("lock_c").acquire().await.unwrap();
    let mut r = locked_scoped::enqueue(h).await.unwrap();
    take(&seen);
    assert_eq!(run(h).await, Some(Executed::Failed));
    assert_eq!(take(&seen), [Signal::Executing, Signal::Locked]);
    assert!(matches!(r.get().await, Err(ResultError::Failed(_))));
    held.release().await.unwrap();
}

// ---- rate limits ----

const HOUR: Duration = Duration::from_secs(3600);

/// Huey's TestRateLimit.test_rate_limit: over the limit fails with the key, a delay in
/// (0, per] and the retry flag; rejected attempts count.
async fn test_rate_limit(h: &Huey) {
    let limit = h.rate_limit("rl", 2, HOUR);
    assert_eq!(limit.key(), format!("{}.rl.rl", h.name()));
    limit.acquire().await.unwrap();
    limit.acquire().await.unwrap();
    match limit.acquire().await {
        Err(HueyError::RateLimited(e)) => {
            assert_eq!(e.key, limit.key());
            assert!(e.delay > Duration::ZERO && e.delay <= HOUR, "{:?}", e.delay);
            assert!(e.retry);
        }
        other => panic!("expected a rate-limit error, got {other:?}"),
    }
    assert_eq!(limit.current_usage().await.unwrap(), 3);

    let no_retry = h.rate_limit("rl", 2, HOUR).retry(false);
    match no_retry.acquire().await {
        Err(HueyError::RateLimited(e)) => assert!(!e.retry),
        other => panic!("expected a rate-limit error, got {other:?}"),
    }
    assert!(matches!(
        h.rate_limit("zero", 0, HOUR).acquire().await,
        Err(HueyError::Configuration(_))
    ));
}

/// Huey's TestRateLimit.test_reset.
async fn test_rate_limit_reset(h: &Huey) {
    let limit = h.rate_limit("reset", 1, HOUR);
    limit.acquire().await.unwrap();
    assert!(limit.acquire().await.is_err());
    limit.reset().await.unwrap();
    assert_eq!(limit.current_usage().await.unwrap(), 0);
    limit.acquire().await.unwrap();
    assert_eq!(limit.current_usage().await.unwrap(), 1);
}

/// Huey's TestRateLimit.test_ctx_decorator: the scoped form and the attribute form.
async fn test_rate_limit_scoped_and_attribute(h: &Huey) {
    let limit = h.rate_limit("scoped", 2, HOUR);
    assert_eq!(limit.run(async { 1 }).await.unwrap(), 1);
    assert_eq!(limit.run(async { 2 }).await.unwrap(), 2);
    let ran = Arc::new(Mutex::new(false));
    let flag = Arc::clone(&ran);
    assert!(matches!(
        limit.run(async move { *flag.lock().unwrap() = true }).await,
        Err(HueyError::RateLimited(_))
    ));
    assert!(
        !*ran.lock().unwrap(),
        "a rejected run does not start the future"
    );

    let descriptor = Registry::global()
        .unwrap()
        .get(limited_shared::NAME)
        .unwrap();
    assert_eq!(
        descriptor.rate_limit,
        Some(RateLimitSpec {
            name: "shared-api",
            limit: 5,
            per: Duration::from_secs(1),
            retry: true
        })
    );
    let own = Registry::global()
        .unwrap()
        .get(limited_retry::NAME)
        .unwrap();
    assert_eq!(
        own.rate_limit.map(|r| r.name),
        Some(limited_retry::NAME),
        "unnamed, a rate limit takes the task's name"
    );
}

/// Fixed windows: a new window starts a new count.
async fn test_rate_limit_window_rollover(h: &Huey) {
    let limit = h.rate_limit("window", 1, Duration::from_secs(1));
    // Start just after a window boundary, so both acquires below fall in the same window.
    let into_second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_millis();
    tokio::time::sleep(Duration::from_millis(u64::from(1_000 - into_second) + 20)).await;
    limit.acquire().await.unwrap();
    let rejected_at = Instant::now();
    let delay = match limit.acquire().await {
        Err(HueyError::RateLimited(e)) => e.delay,
        other => panic!("expected a rate-limit error, got {other:?}"),
    };
    assert!(delay <= Duration::from_secs(1));
    // The window boundary is the behaviour under test: wait until just after it.
    tokio::time::sleep_until((rejected_at + delay + Duration::from_millis(20)).into()).await;
    assert_eq!(limit.current_usage().await.unwrap(), 0, "a new window");
    limit.acquire().await.unwrap();
    assert_eq!(limit.current_usage().await.unwrap(), 1);
}

/// Huey's TestRateLimit.test_execution, `retry=True`: the task goes to the window's end with
/// its retries unchanged; signals RATE_LIMITED, RETRYING, SCHEDULED; nothing stored.
async fn test_rate_limit_execution_retry(h: &Huey) {
    let seen = record_signals(h);
    let mut first = limited_retry::enqueue(h).await.unwrap();
    assert_eq!(run(h).await, Some(Executed::Completed));
    assert_eq!(first.get().await.unwrap(), Some(1));

    let mut second = limited_retry::enqueue(h).await.unwrap();
    take(&seen);
    let before = Utc::now();
    assert_eq!(run(h).await, Some(Executed::Retrying));
    assert_eq!(
        take(&seen),
        [
            Signal::Executing,
            Signal::RateLimited,
            Signal::Retrying,
            Signal::Scheduled
        ]
    );
    assert!(!second.is_ready().await.unwrap(), "nothing stored");
    let scheduled = h.scheduled(None).await.unwrap();
    assert_eq!(scheduled.len(), 1);
    assert_eq!(scheduled[0].retries, 0, "retries unchanged");
    let eta = scheduled[0].eta.unwrap();
    assert!(eta > before && eta <= Utc::now() + chrono::TimeDelta::hours(1));
}

/// Huey's TestRateLimit.test_execution, `retry=False` without retries: a final error, stored,
/// with only RATE_LIMITED fired.
async fn test_rate_limit_execution_no_retry(h: &Huey) {
    let seen = record_signals(h);
    limited_no_retry::enqueue(h).await.unwrap();
    assert_eq!(run(h).await, Some(Executed::Completed));
    let mut second = limited_no_retry::enqueue(h).await.unwrap();
    take(&seen);
    assert_eq!(run(h).await, Some(Executed::Failed));
    assert_eq!(take(&seen), [Signal::Executing, Signal::RateLimited]);
    match second.get().await {
        Err(ResultError::Failed(failure)) => {
            assert_eq!(failure.kind, "rate-limited");
            assert!(
                failure.error.starts_with("Rate limit exceeded on \""),
                "{}",
                failure.error
            );
        }
        other => panic!("expected a stored rate-limit error, got {other:?}"),
    }
    assert_eq!(h.scheduled_count().await.unwrap(), 0);
}

/// Huey's TestRateLimit.test_task_with_retries: the task's retry_delay beats the window wait;
/// retries are kept with `retry=True` and used up with `retry=False`; without a retry_delay
/// the retry waits for the window.
async fn test_rate_limit_task_with_retries(h: &Huey) {
    async fn rejected_retry(h: &Huey) -> (u32, chrono::TimeDelta) {
        let before = Utc::now();
        assert_eq!(run(h).await, Some(Executed::Retrying));
        let mut scheduled = h.scheduled(None).await.unwrap();
        assert_eq!(scheduled.len(), 1);
        let message = scheduled.remove(0);
        h.storage().flush_schedule().await.unwrap();
        (message.retries, message.eta.unwrap() - before)
    }
    let ten = chrono::TimeDelta::seconds(10);
    let slack = chrono::TimeDelta::seconds(2);

    limited_retry_with_retries::enqueue(h).await.unwrap();
    limited_retry_with_retries::enqueue(h).await.unwrap();
    assert_eq!(run(h).await, Some(Executed::Completed));
    let (retries, wait) = rejected_retry(h).await;
    assert_eq!(retries, 2, "retry=true keeps the task's retries");
    assert!(
        wait >= ten && wait < ten + slack,
        "retry_delay applies: {wait}"
    );

    limited_no_retry_with_retries::enqueue(h).await.unwrap();
    limited_no_retry_with_retries::enqueue(h).await.unwrap();
    assert_eq!(run(h).await, Some(Executed::Completed));
    let (retries, wait) = rejected_retry(h).await;
    assert_eq!(retries, 1, "retry=false uses one up");
    assert!(
        wait >= ten && wait < ten + slack,
        "retry_delay applies: {wait}"
    );

    limited_no_retry_no_delay::enqueue(h).await.unwrap();
    limited_no_retry_no_delay::enqueue(h).await.unwrap();
    assert_eq!(run(h).await, Some(Executed::Completed));
    let (retries, wait) = rejected_retry(h).await;
    assert_eq!(retries, 0);
    assert!(
        wait > chrono::TimeDelta::zero() && wait <= chrono::TimeDelta::hours(1) + slack,
        "no retry_delay: the window's end: {wait}"
    );
}

/// Huey's test_retrying_exceptions_not_surfaced: a lock rejection with a retry pending stores
/// nothing; a final rate-limit rejection stores its error and runs the post hooks with it.
async fn test_retrying_exceptions_not_surfaced(h: &Huey) {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&errors);
    h.add_post_execute("collect", move |_task, _value, error| {
        if let Some(error) = error {
            sink.lock().unwrap().push(error.kind());
        }
    });

    let held = h.lock_task("lock_a").acquire().await.unwrap();
    let mut locked = locked_by_attribute::enqueue(h, 1).await.unwrap();
    assert_eq!(run(h).await, Some(Executed::Retrying));
    assert!(!locked.is_ready().await.unwrap());
    held.release().await.unwrap();
    assert_eq!(run(h).await, Some(Executed::Completed), "the retry");

    limited_no_retry::enqueue(h).await.unwrap();
    let mut limited = limited_no_retry::enqueue(h).await.unwrap();
    assert_eq!(run(h).await, Some(Executed::Completed));
    assert_eq!(run(h).await, Some(Executed::Failed));
    assert!(matches!(limited.get().await, Err(ResultError::Failed(_))));
    assert_eq!(*errors.lock().unwrap(), ["locked", "rate-limited"]);
    assert_eq!(locked.get().await.unwrap(), Some(2));
}

/// The Redis key layout: a lock without a TTL is a field of the results hash, one with a TTL is
/// a string key with a millisecond expiry (Redis 7.0 has no hash-field expiry); rate-limit
/// counts live in the counters hash.
#[tokio::test]
async fn test_redis_lock_and_rate_limit_keys() {
    let fixture = redis("keys-app").await;
    let h = &fixture.huey;
    let server = fixture.server.as_ref().unwrap();
    let mut conn = ::redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let plain = h.lock_task("plain").acquire().await.unwrap();
    let expiring = h
        .lock_task("expiring")
        .ttl(Duration::from_secs(30))
        .acquire()
        .await
        .unwrap();
    let in_hash: bool = ::redis::cmd("HEXISTS")
        .arg("huey.results.keysapp")
        .arg("keys-app.lock.plain")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(in_hash);
    let ttl_ms: i64 = ::redis::cmd("PTTL")
        .arg("huey.kv.keysapp.keys-app.lock.expiring")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl_ms > 0 && ttl_ms <= 30_000, "{ttl_ms}");
    plain.release().await.unwrap();
    expiring.release().await.unwrap();

    h.rate_limit("api", 5, HOUR).acquire().await.unwrap();
    let count: i64 = ::redis::cmd("HGET")
        .arg("huey.counters.keysapp")
        .arg("keys-app.rl.api")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

/// Two workers, one lock: while one task holds it, the other's attempt is refused (the
/// `Locked` signal) and retried, and it runs once the first has finished.
async fn test_lock_on_a_consumer(h: &Huey) {
    let wait = Duration::from_secs(10);
    // Both backends' variants share the queue name: a counter keeps their gates apart.
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let first_key = format!("{}-{run}-first", h.name());
    let second_key = format!("{}-{run}-second", h.name());
    let held = Arc::new(Gate::default());
    GATES
        .lock()
        .unwrap()
        .push((first_key.clone(), Arc::clone(&held)));
    let (refused, mut refusals) = tokio::sync::mpsc::unbounded_channel();
    h.connect_signal(&[Signal::Locked], move |_, task, _| {
        let _ = refused.send(task.id().to_owned());
    });
    let consumer = Consumer::builder(h)
        .workers(2)
        .scheduler_interval(Duration::from_millis(20))
        .start()
        .unwrap();

    let mut first = exclusive::enqueue(h, first_key.clone()).await.unwrap();
    tokio::time::timeout(wait, held.entered.notified())
        .await
        .expect("the first task holds the lock");
    let mut second = exclusive::enqueue(h, second_key.clone()).await.unwrap();
    let refused_id = tokio::time::timeout(wait, refusals.recv())
        .await
        .expect("the second task was refused while the first ran")
        .unwrap();
    assert_eq!(refused_id, second.id());
    assert!(h.is_locked("exclusive").await.unwrap());

    held.release.notify_one();
    assert_eq!(first.wait(wait).await.unwrap(), first_key);
    assert_eq!(second.wait(wait).await.unwrap(), second_key);
    assert!(!h.is_locked("exclusive").await.unwrap());
    consumer.shutdown().await.unwrap();
}
