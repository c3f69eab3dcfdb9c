//! Several handles on one file, as several processes would hold it: leases that lapse and are
//! claimed again, leases kept alive by the heartbeat, a file locked by another connection,
//! and wake-ups within the process and across processes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use huey_core::storage::prelude::*;
use huey_core::storage::{Dequeue, Settled, Settlement, Upkeep};
use huey_sqlite::{SqliteOptions, SqliteStorage};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

/// A temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "huey-sqlite-leases-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("make the temporary folder");
        TempDir(dir)
    }

    fn file(&self) -> PathBuf {
        self.0.join("queue.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const NOW: Duration = Duration::ZERO;

async fn open(path: &Path, options: SqliteOptions) -> SqliteStorage {
    SqliteStorage::open_with("leases", path, options)
        .await
        .expect("open the file")
}

/// A connection of its own on the file, standing for another process's.
async fn other_process(path: &Path) -> SqlitePool {
    SqlitePool::connect_with(SqliteConnectOptions::new().filename(path))
        .await
        .expect("connect")
}

#[tokio::test]
async fn test_expired_lease_is_claimed_again_and_its_owner_learns_it() {
    let dir = TempDir::new();
    let lease = Duration::from_millis(200);
    let options = SqliteOptions::default().lease(lease);
    let frozen = open(&dir.file(), options.clone()).await;
    let live = open(&dir.file(), options).await;
    frozen.enqueue(b"job".to_vec(), 3).await.unwrap();
    let first = frozen
        .dequeue(Dequeue::new(1, NOW))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(first.deliveries, 1);
    assert_eq!(live.maintain().await.unwrap(), Upkeep::Kept);
    assert!(
        live.dequeue(Dequeue::new(1, NOW)).await.unwrap().is_empty(),
        "a live lease is not taken"
    );

    // The lapse of time is what this tests: the frozen handle misses its heartbeats.
    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    live.maintain().await.unwrap();
    let again = live.dequeue(Dequeue::new(1, NOW)).await.unwrap().remove(0);
    assert_eq!(
        (again.data.as_slice(), again.priority, again.deliveries),
        (&b"job"[..], 3, 2),
        "claimed again, counted as a second delivery"
    );
    let stale = Settlement::ack().result("r", b"stale".to_vec());
    let late = frozen.settle(Some(&first), &stale).await.unwrap();
    assert_eq!(late, Settled::NotHeld, "the old claim is fenced");
    assert_eq!(
        frozen.peek_data("r").await.unwrap(),
        None,
        "and wrote nothing"
    );
    assert_eq!(frozen.maintain().await.unwrap(), Upkeep::Lost);
    assert_eq!(
        frozen.maintain().await.unwrap(),
        Upkeep::Kept,
        "registered afresh"
    );
    assert_eq!(
        live.settle(Some(&again), &Settlement::ack()).await.unwrap(),
        Settled::Applied
    );
}

#[tokio::test]
async fn test_heartbeat_keeps_a_lease() {
    let dir = TempDir::new();
    let lease = Duration::from_millis(400);
    let options = SqliteOptions::default().lease(lease);
    let owner = open(&dir.file(), options.clone()).await;
    let other = open(&dir.file(), options).await;
    owner.enqueue(b"job".to_vec(), 0).await.unwrap();
    let claim = owner.dequeue(Dequeue::new(1, NOW)).await.unwrap().remove(0);
    let started = Instant::now();
    while started.elapsed() < lease * 2 {
        owner.maintain().await.unwrap();
        other.maintain().await.unwrap();
        tokio::time::sleep(lease / 8).await;
    }
    assert_eq!(
        other.queue_size().await.unwrap(),
        0,
        "the claim stayed claimed"
    );
    assert_eq!(
        owner
            .settle(Some(&claim), &Settlement::ack())
            .await
            .unwrap(),
        Settled::Applied
    );
}

#[tokio::test]
async fn test_retire_gives_claims_back_to_other_handles() {
    let dir = TempDir::new();
    let stopping = open(&dir.file(), SqliteOptions::default()).await;
    let other = open(&dir.file(), SqliteOptions::default()).await;
    stopping
        .enqueue_many(vec![(b"a".to_vec(), 0), (b"b".to_vec(), 0)])
        .await
        .unwrap();
    let claimed = stopping.dequeue(Dequeue::new(2, NOW)).await.unwrap();
    assert_eq!(claimed.len(), 2);
    stopping.retire().await.unwrap();
    let back = other.dequeue(Dequeue::new(2, NOW)).await.unwrap();
    let counts: Vec<_> = back
        .iter()
        .map(|d| (d.data.clone(), d.deliveries))
        .collect();
    assert_eq!(
        counts,
        [(b"a".to_vec(), 1), (b"b".to_vec(), 1)],
        "uncounted"
    );
}

#[tokio::test]
async fn test_a_write_waits_out_another_connections_lock() {
    let dir = TempDir::new();
    let options = SqliteOptions::default().busy_timeout(Duration::from_millis(20));
    let storage = open(&dir.file(), options).await;
    let other = other_process(&dir.file()).await;
    let mut tx = other.begin_with("BEGIN IMMEDIATE").await.unwrap();
    sqlx::query("INSERT INTO huey_counters VALUES ('leases', 'held', 1)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let held = Duration::from_millis(300);
    let started = Instant::now();
    let (enqueued, ()) = tokio::join!(storage.enqueue(b"waits".to_vec(), 0), async {
        tokio::time::sleep(held).await;
        tx.commit().await.unwrap();
    });
    enqueued.expect("the write waited for the lock instead of failing");
    assert!(started.elapsed() >= held - Duration::from_millis(20));
    assert_eq!(
        storage.incr("held", 0).await.unwrap(),
        1,
        "the other write landed"
    );
    assert_eq!(storage.queue_size().await.unwrap(), 1);
}

#[tokio::test]
async fn test_a_file_locked_past_the_limit_is_said_plainly() {
    let dir = TempDir::new();
    let options = SqliteOptions::default()
        .busy_timeout(Duration::from_millis(10))
        .busy_limit(Duration::from_millis(150));
    let storage = open(&dir.file(), options).await;
    let other = other_process(&dir.file()).await;
    let tx = other.begin_with("BEGIN IMMEDIATE").await.unwrap();
    let error = storage.enqueue(b"x".to_vec(), 0).await.unwrap_err();
    drop(tx);
    assert!(error.is_transient(), "a busy file may pass");
    let text = huey_core::error_chain(&error).to_string();
    assert!(text.contains("stayed busy"), "{text}");
    assert!(!text.contains("database is locked"), "{text}");
}

#[tokio::test]
async fn test_in_process_wake_up_needs_no_poll() {
    let dir = TempDir::new();
    // A poll this slow cannot be what wakes the dequeue.
    let options = SqliteOptions::default().poll_interval(Duration::from_secs(30));
    let waiting = open(&dir.file(), options.clone()).await;
    let writer = open(&dir.file(), options).await;
    let started = Instant::now();
    let (claimed, ()) = tokio::join!(
        waiting.dequeue(Dequeue::new(1, Duration::from_secs(20))),
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            writer.enqueue(b"wake".to_vec(), 0).await.unwrap();
        }
    );
    assert_eq!(claimed.unwrap()[0].data, b"wake");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    let (found, ()) = tokio::join!(waiting.wait_result("r", Duration::from_secs(20)), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        writer.put_result("r", b"v".to_vec()).await.unwrap();
    });
    assert!(found.unwrap());
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn test_another_process_write_is_seen_at_the_next_poll() {
    let dir = TempDir::new();
    let poll = Duration::from_millis(50);
    let waiting = open(&dir.file(), SqliteOptions::default().poll_interval(poll)).await;
    let other = other_process(&dir.file()).await;
    let (claimed, inserted) = tokio::join!(
        waiting.dequeue(Dequeue::new(1, Duration::from_secs(20))),
        async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            sqlx::query(
                "INSERT INTO huey_queue (namespace, priority, data) VALUES ('leases', 0, x'6869')",
            )
            .execute(&other)
            .await
            .unwrap();
            Instant::now()
        }
    );
    let latency = inserted.elapsed();
    assert_eq!(claimed.unwrap()[0].data, b"hi");
    assert!(
        latency < Duration::from_secs(2),
        "picked up {latency:?} after the write"
    );
}

#[tokio::test]
async fn test_namespaces_share_one_file() {
    let dir = TempDir::new();
    let a = SqliteStorage::open("a", dir.file()).await.unwrap();
    let b = SqliteStorage::open("b", dir.file()).await.unwrap();
    a.enqueue(b"for a".to_vec(), 0).await.unwrap();
    b.put_data("k", b"b's".to_vec()).await.unwrap();
    assert_eq!(b.queue_size().await.unwrap(), 0);
    assert_eq!(a.peek_data("k").await.unwrap(), None);
    assert_eq!(
        a.dequeue(Dequeue::new(1, NOW)).await.unwrap()[0].data,
        b"for a"
    );
    b.flush_results().await.unwrap();
    a.put_data("k", b"a's".to_vec()).await.unwrap();
    b.flush_results().await.unwrap();
    assert_eq!(a.peek_data("k").await.unwrap(), Some(b"a's".to_vec()));
}
