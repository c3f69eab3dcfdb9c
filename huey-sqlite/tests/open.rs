//! The ways to open a storage: a path, a sqlx URL, an application's own pool; and what opening
//! does to the file.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use huey_core::storage::Dequeue;
use huey_core::storage::prelude::*;
use huey_sqlite::{SqliteOptions, SqliteStorage};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

/// A temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("huey-sqlite-{label}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("make the temporary folder");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn test_connect_by_url_creates_the_file_in_wal_mode() {
    let dir = TempDir::new("url");
    let path = dir.0.join("by-url.db");
    let url = format!("sqlite://{}", path.display());
    let storage = SqliteStorage::connect("app", &url).await.expect("connect");
    assert!(path.exists(), "the file was created");
    storage.enqueue(b"m".to_vec(), 0).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(storage.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(storage.namespace(), "app");
    assert!(!storage.consumer_id().is_empty());
}

#[tokio::test]
async fn test_a_bad_url_is_a_permanent_error() {
    let error = SqliteStorage::connect("app", "sqlite://never.db?mode=sideways")
        .await
        .unwrap_err();
    assert!(!error.is_transient(), "{error:?}");
}

#[tokio::test]
async fn test_an_applications_pool_is_shared_with_the_queue() {
    let dir = TempDir::new("pool");
    let path = dir.0.join("app.db");
    let pool = SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true),
    )
    .await
    .unwrap();
    sqlx::query("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT)")
        .execute(&pool)
        .await
        .unwrap();
    let storage = SqliteStorage::from_pool("shop", pool.clone())
        .await
        .unwrap();
    sqlx::query("INSERT INTO orders (item) VALUES ('tea')")
        .execute(&pool)
        .await
        .unwrap();
    storage.enqueue(b"ship tea".to_vec(), 0).await.unwrap();
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(storage.pool())
        .await
        .unwrap();
    assert_eq!(
        orders, 1,
        "the application's tables and the queue's share the file"
    );
    assert_eq!(storage.queue_size().await.unwrap(), 1);

    // A handle opened by path on the same file shares this one's wake-ups: no poll needed.
    let by_path = SqliteStorage::open_with(
        "shop",
        &path,
        SqliteOptions::default().poll_interval(Duration::from_secs(30)),
    )
    .await
    .unwrap();
    assert_eq!(
        by_path
            .dequeue(Dequeue::new(1, Duration::ZERO))
            .await
            .unwrap()
            .len(),
        1
    );
    let started = Instant::now();
    let (claimed, ()) = tokio::join!(
        by_path.dequeue(Dequeue::new(1, Duration::from_secs(20))),
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            storage.enqueue(b"ship more".to_vec(), 0).await.unwrap();
        }
    );
    assert_eq!(claimed.unwrap()[0].data, b"ship more");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn test_reopening_a_file_keeps_its_queue() {
    let dir = TempDir::new("reopen");
    let path = dir.0.join("kept.db");
    {
        let storage = SqliteStorage::open("app", &path).await.unwrap();
        storage.enqueue(b"survives".to_vec(), 4).await.unwrap();
        storage.put_data("k", b"v".to_vec()).await.unwrap();
    }
    let storage = SqliteStorage::open("app", &path).await.unwrap();
    let claimed = storage
        .dequeue(Dequeue::new(1, Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(
        (claimed[0].data.as_slice(), claimed[0].priority),
        (&b"survives"[..], 4)
    );
    assert_eq!(storage.peek_data("k").await.unwrap(), Some(b"v".to_vec()));
}
