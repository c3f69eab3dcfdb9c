//! Huey's contrib counting semaphore (`test_helpers.py`: test_redis_semaphore, _contention,
//! _expiration, _renewed_while_running, _storage_types), plus the `#[task(semaphore(...))]`
//! form. Huey runs these on Redis only and raises `ConfigurationError` elsewhere; here every
//! case runs on `MemoryStorage` and on a test-started `redis-server` (_storage_types becomes
//! "works on both").

use std::sync::{Arc, Mutex};
use std::time::Duration;

use huey_core::prelude::*;
use huey_core::{Executed, Registry, SemaphoreSpec, TaskSemaphore};
use huey_tests::backend::{Backend, WAIT, record_signals, take_signals as take};
use tokio::sync::{Barrier, Notify};
use tokio::time::Instant;

// ---- tasks ----

/// Reports how many slots its semaphore has while the body runs (its own included).
#[task(semaphore(name = "uploads", value = 2), retries = 1)]
async fn upload(queue: State<Huey>) -> anyhow::Result<usize> {
    Ok(queue.semaphore("uploads", 2).count().await?)
}

/// Waits for the test's go-ahead, so it runs longer than its semaphore's timeout.
#[task(semaphore(name = "slow", value = 1, timeout = "300ms"))]
async fn slow(gate: State<Gate>) {
    gate.started.notify_one();
    gate.finish.notified().await;
}

/// Both admissions at once: a lock rejection must give the semaphore slot back.
#[task(
    semaphore(name = "both-sem", value = 1),
    lock = "both-lock",
    retries = 1
)]
fn both() {}

/// Events between a test and a running body.
#[derive(Default)]
struct Gate {
    started: Notify,
    finish: Notify,
}

// ---- helpers ----

/// A worker state holding the queue and a gate, for bodies that take them.
fn state(h: &Huey) -> WorkerState {
    let mut state = WorkerState::default();
    state.insert(h.clone());
    state.insert(Gate::default());
    state
}

huey_tests::on_both_backends!(
    test_semaphore,
    test_semaphore_same_holder_idempotent,
    test_semaphore_expiration,
    test_semaphore_renewed_while_running,
    test_semaphore_run_releases_on_error_and_panic,
    test_semaphore_guard_drop_releases,
    test_semaphore_storage_types,
    test_semaphore_attribute,
    test_semaphore_attribute_renewed_while_running,
    test_semaphore_attribute_with_lock,
);

/// Huey's test_redis_semaphore: up to `value` holders, then a lock rejection; a release says
/// whether a slot was held, and frees it.
async fn test_semaphore(backend: Backend) {
    let h = backend.huey("sem").await;
    let sem = h.semaphore("s", 3);
    assert_eq!(sem.key(), "sem.lock.s");
    let a = sem.acquire_as("a").await.unwrap();
    let _b = sem.acquire_as("b").await.unwrap();
    let c = sem.acquire().await.unwrap();
    assert_eq!(sem.count().await.unwrap(), 3);
    match sem.acquire_as("d").await {
        Err(HueyError::Locked(locked)) => {
            assert_eq!(locked.name, "s");
            assert_eq!(locked.to_string(), "unable to acquire lock s");
        }
        other => panic!("expected a lock rejection, got {other:?}"),
    }
    let mut holders = sem.holders().await.unwrap();
    holders.sort();
    let mut expected = vec!["a".to_owned(), "b".to_owned(), c.holder().to_owned()];
    expected.sort();
    assert_eq!(holders, expected);

    assert!(a.release().await.unwrap(), "a held a slot");
    assert!(!sem.release("a").await.unwrap(), "a holds none now");
    assert!(!sem.release("nobody").await.unwrap());
    assert_eq!(sem.count().await.unwrap(), 2);
    let d = sem.acquire_as("d").await.unwrap();
    assert!(sem.release("b").await.unwrap(), "released by holder id");
    assert!(c.release().await.unwrap());
    assert!(d.release().await.unwrap());
    assert_eq!(sem.count().await.unwrap(), 0);

    assert!(matches!(
        h.semaphore("zero", 0).acquire().await,
        Err(HueyError::Configuration(_))
    ));
    assert!(matches!(
        h.semaphore("instant", 1)
            .timeout(Duration::ZERO)
            .acquire()
            .await,
        Err(HueyError::Configuration(_))
    ));
}

/// Huey: acquiring again under the same holder name is idempotent: one slot, still admitted
/// when the semaphore is full.
async fn test_semaphore_same_holder_idempotent(backend: Backend) {
    let h = backend.huey("sem").await;
    let sem = h.semaphore("s", 2);
    let first = sem.acquire_as("w1").await.unwrap();
    let again = sem.acquire_as("w1").await.unwrap();
    assert_eq!(sem.holders().await.unwrap(), ["w1"]);
    let other = sem.acquire_as("w2").await.unwrap();
    let third = sem.acquire_as("w1").await.unwrap();
    assert_eq!(sem.count().await.unwrap(), 2, "w1 still holds one slot");
    assert!(sem.acquire_as("w3").await.is_err());

    assert!(first.release().await.unwrap());
    assert!(
        !again.release().await.unwrap(),
        "the one slot is back already"
    );
    assert!(!third.release().await.unwrap());
    assert!(other.release().await.unwrap());
}

/// Huey's test_redis_semaphore_contention: 20 acquirers racing for 5 slots get exactly 5.
async fn contention(backend: Backend) {
    let h = backend.huey("sem").await;
    let sem = h.semaphore("race", 5);
    let start = Arc::new(Barrier::new(20));
    let racers: Vec<_> = (0..20)
        .map(|_| {
            let (sem, start) = (sem.clone(), Arc::clone(&start));
            tokio::spawn(async move {
                start.wait().await;
                sem.acquire().await.ok()
            })
        })
        .collect();
    let mut guards = Vec::new();
    for racer in racers {
        guards.extend(racer.await.unwrap());
    }
    assert_eq!(guards.len(), 5);
    assert_eq!(sem.count().await.unwrap(), 5);
    for guard in guards {
        assert!(guard.release().await.unwrap());
    }
    assert_eq!(sem.count().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn test_semaphore_contention_memory() {
    contention(Backend::memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn test_semaphore_contention_redis() {
    contention(Backend::redis()).await;
}

/// Huey's test_redis_semaphore_expiration: a slot not renewed expires and frees room; the
/// expired holder can neither renew nor release it.
async fn test_semaphore_expiration(backend: Backend) {
    let h = backend.huey("sem").await;
    let timeout = Duration::from_millis(200);
    let sem = h.semaphore("exp", 2).timeout(timeout);
    let taken = Instant::now();
    let a = sem.acquire().await.unwrap();
    let b = sem.acquire().await.unwrap();
    assert!(sem.acquire().await.is_err());
    // Expiry is the behaviour under test: wait out the timeout, from when the slots were taken.
    tokio::time::sleep_until(taken + timeout + Duration::from_millis(50)).await;
    assert_eq!(sem.count().await.unwrap(), 0);
    let c = sem.acquire().await.unwrap();
    assert!(
        !a.renew().await.unwrap(),
        "an expired slot is not taken back"
    );
    assert!(!a.release().await.unwrap());
    assert!(!b.release().await.unwrap());
    assert_eq!(sem.holders().await.unwrap(), [c.holder()]);
    assert!(c.release().await.unwrap());
}

/// Huey's test_redis_semaphore_renewed_while_running: `run` keeps its slot well past the
/// timeout while the work runs, and gives it back after.
async fn test_semaphore_renewed_while_running(backend: Backend) {
    let h = backend.huey("sem").await;
    let timeout = Duration::from_millis(300);
    let sem = h.semaphore("long", 1).timeout(timeout);
    let gate = Gate::default();
    let work = sem.run(async {
        gate.started.notify_one();
        gate.finish.notified().await;
        "done"
    });
    let check = async {
        gate.started.notified().await;
        let started = Instant::now();
        // Outliving the timeout is the behaviour under test: wait well past it.
        tokio::time::sleep_until(started + timeout * 5 / 2).await;
        assert_eq!(sem.count().await.unwrap(), 1, "renewed past its timeout");
        assert!(sem.acquire().await.is_err(), "and still full");
        gate.finish.notify_one();
    };
    let (done, ()) = tokio::join!(work, check);
    assert_eq!(done.unwrap(), "done");
    assert_eq!(sem.count().await.unwrap(), 0, "given back after the work");
}

/// `run` gives the slot back when the future returns an error and when it panics, and does
/// not start the future when the semaphore is full.
async fn test_semaphore_run_releases_on_error_and_panic(backend: Backend) {
    let h = backend.huey("sem").await;
    let sem = h.semaphore("scoped", 1);
    let failed: Result<(), &str> = sem.run(async { Err("bad") }).await.unwrap();
    assert_eq!(failed, Err("bad"));
    assert_eq!(sem.count().await.unwrap(), 0);

    let panicking = sem.clone();
    let joined = tokio::spawn(async move {
        panicking
            .run(async {
                panic!("boom");
            })
            .await
    })
    .await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(
        sem.count().await.unwrap(),
        0,
        "given back before the panic went on"
    );

    let guard = sem.acquire().await.unwrap();
    let ran = Arc::new(Mutex::new(false));
    let flag = Arc::clone(&ran);
    let err = sem
        .run(async move { *flag.lock().unwrap() = true })
        .await
        .unwrap_err();
    assert!(matches!(err, HueyError::Locked(_)), "{err:?}");
    assert!(!*ran.lock().unwrap());
    guard.release().await.unwrap();
}

/// A guard dropped without `release` gives its slot back through a spawned task.
async fn test_semaphore_guard_drop_releases(backend: Backend) {
    let h = backend.huey("sem").await;
    let sem = h.semaphore("dropped", 1);
    drop(sem.acquire().await.unwrap());
    // The release runs on the runtime: wait for it (no event to await but the slot itself).
    let deadline = Instant::now() + WAIT;
    while sem.count().await.unwrap() > 0 {
        assert!(
            Instant::now() < deadline,
            "the dropped guard never released"
        );
        tokio::task::yield_now().await;
    }
}

/// Huey's test_redis_semaphore_storage_types: Huey refuses every storage but Redis; here both
/// work, and a semaphore never meets the task lock of the same name (nor `flush_locks`), while
/// `flush` clears it.
async fn test_semaphore_storage_types(backend: Backend) {
    let h = backend.huey("sem").await;
    let sem = h.semaphore("shared-name", 1);
    let lock = h.lock_task("shared-name").acquire().await.unwrap();
    let slot = sem.acquire().await.unwrap();
    assert!(h.is_locked("shared-name").await.unwrap());
    assert!(lock.release().await.unwrap());
    assert!(!h.is_locked("shared-name").await.unwrap());
    assert_eq!(
        sem.count().await.unwrap(),
        1,
        "the lock's release left the slot"
    );
    assert!(h.flush_locks(&[]).await.unwrap().is_empty());
    assert_eq!(sem.count().await.unwrap(), 1, "flush_locks left the slot");
    h.flush().await.unwrap();
    assert_eq!(sem.count().await.unwrap(), 0, "flush cleared it");
    assert!(!slot.release().await.unwrap());
}

/// `#[task(semaphore(...))]`: the body holds a slot while it runs; a full semaphore is a lock
/// rejection (EXECUTING, LOCKED, RETRYING, ENQUEUED; nothing stored while a retry is pending),
/// and the slot is given back after the body.
async fn test_semaphore_attribute(backend: Backend) {
    let h = backend.huey("sem").await;
    let descriptor = Registry::global().unwrap().get(upload::NAME).unwrap();
    assert_eq!(
        descriptor.semaphore,
        Some(SemaphoreSpec {
            name: "uploads",
            value: 2,
            timeout: TaskSemaphore::DEFAULT_TIMEOUT
        })
    );
    let sem = h.semaphore("uploads", 2);
    let seen = record_signals(&h);
    let first = sem.acquire().await.unwrap();
    let second = sem.acquire().await.unwrap();
    let mut result = upload::enqueue(&h).await.unwrap();
    take(&seen);

    let worker = state(&h);
    assert_eq!(h.run_next(&worker).await.unwrap(), Some(Executed::Retrying));
    assert_eq!(
        take(&seen),
        [
            Signal::Executing,
            Signal::Locked,
            Signal::Retrying,
            Signal::Enqueued
        ]
    );
    assert!(
        !result.is_ready().await.unwrap(),
        "no error while a retry is pending"
    );
    assert_eq!(h.pending(None).await.unwrap()[0].retries, 0);

    assert!(first.release().await.unwrap());
    assert_eq!(
        h.run_next(&worker).await.unwrap(),
        Some(Executed::Completed)
    );
    assert_eq!(
        result.get().await.unwrap(),
        Some(2),
        "the body ran holding a slot"
    );
    assert_eq!(sem.holders().await.unwrap(), [second.holder()]);
    assert!(second.release().await.unwrap());
}

/// The attribute form renews the slot while the body runs past the timeout.
async fn test_semaphore_attribute_renewed_while_running(backend: Backend) {
    let h = backend.huey("sem").await;
    let timeout = Duration::from_millis(300);
    let sem = h.semaphore("slow", 1);
    let worker = state(&h);
    let gate = worker.get::<Gate>().unwrap();
    slow::enqueue(&h).await.unwrap();
    let check = async {
        gate.started.notified().await;
        let started = Instant::now();
        // Outliving the timeout is the behaviour under test: wait well past it.
        tokio::time::sleep_until(started + timeout * 5 / 2).await;
        assert_eq!(sem.count().await.unwrap(), 1, "renewed past its timeout");
        assert!(sem.acquire().await.is_err());
        gate.finish.notify_one();
    };
    let (ran, ()) = tokio::join!(h.run_next(&worker), check);
    assert_eq!(ran.unwrap(), Some(Executed::Completed));
    assert_eq!(sem.count().await.unwrap(), 0);
}

/// With a semaphore and a lock, a lock rejection gives the slot it took back at once.
async fn test_semaphore_attribute_with_lock(backend: Backend) {
    let h = backend.huey("sem").await;
    let sem = h.semaphore("both-sem", 1);
    let lock = h.lock_task("both-lock").acquire().await.unwrap();
    both::enqueue(&h).await.unwrap();
    let worker = state(&h);
    assert_eq!(h.run_next(&worker).await.unwrap(), Some(Executed::Retrying));
    assert_eq!(sem.count().await.unwrap(), 0, "the slot was given back");
    lock.release().await.unwrap();
    assert_eq!(
        h.run_next(&worker).await.unwrap(),
        Some(Executed::Completed)
    );
    assert_eq!(sem.count().await.unwrap(), 0);
    assert!(!h.is_locked("both-lock").await.unwrap());
}

/// The Redis layout: a ZSET of holder -> expiry (ms, server clock) under
/// `huey.semaphore.<n>.<huey>.lock.<name>`, expiring with its last slot.
#[tokio::test]
async fn test_redis_semaphore_key() {
    let backend = Backend::redis();
    let h = backend.huey("keys-app").await;
    let server = backend.server().unwrap();
    let mut conn = ::redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let sem = h.semaphore("uploads", 2).timeout(Duration::from_secs(30));
    let guard = sem.acquire_as("w1").await.unwrap();
    let key = "huey.semaphore.keysapp.keys-app.lock.uploads";
    let kind: String = ::redis::cmd("TYPE")
        .arg(key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(kind, "zset");
    let (server_s, _): (i64, i64) = ::redis::cmd("TIME").query_async(&mut conn).await.unwrap();
    let score: f64 = ::redis::cmd("ZSCORE")
        .arg(key)
        .arg("w1")
        .query_async(&mut conn)
        .await
        .unwrap();
    let expires_in = score / 1000.0 - server_s as f64;
    assert!(expires_in > 28.0 && expires_in <= 31.0, "{expires_in}");
    let ttl_ms: i64 = ::redis::cmd("PTTL")
        .arg(key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl_ms > 0 && ttl_ms <= 30_000, "{ttl_ms}");
    assert!(guard.release().await.unwrap());
    let exists: bool = ::redis::cmd("EXISTS")
        .arg(key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!exists, "no slot left, no key left");
}
