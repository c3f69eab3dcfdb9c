//! The consumer on SQLite, end to end, with no server: this test as the producer process and
//! consumer processes on one file, and a consumer killed with SIGKILL mid-run.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use huey_core::prelude::*;
use huey_core::storage::CoordinationStorage;
use huey_sqlite::SqliteStorage;
use huey_tests::consumer_process::ConsumerProcess;
use huey_tests::tasks::{SQLITE_RUNS, tracked_sleep};
use huey_tests::temp::TempDir;

const WAIT: Duration = Duration::from_secs(60);

async fn huey_on(path: &Path, name: &str) -> Huey {
    let storage = SqliteStorage::open(name, path)
        .await
        .expect("open the file");
    Huey::new(name, storage)
}

/// A `test_consumer` process with `workers` workers on queue `name` of the file, logging to
/// `log`.
fn spawn_consumer(path: &Path, name: &str, workers: usize, log: &Path) -> ConsumerProcess {
    ConsumerProcess::spawn_on_sqlite(
        env!("CARGO_BIN_EXE_test_consumer"),
        path,
        name,
        &["-w", &workers.to_string()],
        &[],
        File::create(log).expect("create the log file"),
    )
}

/// How often each of `ids` ran, from the run log in the file.
async fn runs(path: &Path, ids: &[String]) -> HashMap<String, i64> {
    let log = SqliteStorage::open(SQLITE_RUNS, path).await.expect("open");
    let mut runs = HashMap::new();
    for id in ids {
        runs.insert(id.clone(), log.incr(id, 0).await.expect("read a count"));
    }
    runs
}

/// The text of every log, for what must never appear in it.
fn logs(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).expect("list the logs").flatten() {
        if entry.path().extension().is_some_and(|e| e == "log") {
            text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    text
}

#[tokio::test]
async fn test_producer_and_two_consumer_processes_share_a_file() {
    let dir = TempDir::new("sqlite-share");
    let path = dir.path().join("queue.db");
    let name = "share";
    let huey = huey_on(&path, name).await;
    let first = spawn_consumer(&path, name, 4, &dir.path().join("first.log"));
    let second = spawn_consumer(&path, name, 4, &dir.path().join("second.log"));

    // Enqueued while both consume, one at a time and in batches: three processes writing
    // the file at once.
    let mut handles = Vec::new();
    for round in 0..10 {
        for _ in 0..20 {
            handles.push(tracked_sleep::enqueue(&huey, 1).await.expect("enqueue"));
        }
        handles.extend(
            tracked_sleep::map(&huey, vec![1; 80])
                .await
                .expect("enqueue a batch"),
        );
        if round % 3 == 0 {
            tokio::task::yield_now().await;
        }
    }
    assert_eq!(handles.len(), 1000);
    for handle in &mut handles {
        assert_eq!(handle.wait(WAIT).await.expect("every task ran"), 1);
    }
    let ids: Vec<String> = handles.iter().map(|h| h.id().to_owned()).collect();
    let runs = runs(&path, &ids).await;
    assert!(runs.values().all(|n| *n >= 1), "every task ran");
    let duplicates = runs.values().filter(|n| **n > 1).count();
    assert_eq!(duplicates, 0, "no consumer died, so nothing ran twice");

    first.signal("INT");
    second.signal("INT");
    assert!(
        first.wait().success() && second.wait().success(),
        "graceful stops"
    );
    let text = logs(dir.path());
    assert!(!text.contains("database is locked"), "{text}");
    assert!(!text.contains("ERROR"), "{text}");
}

#[tokio::test]
async fn test_kill_9_loses_nothing() {
    let dir = TempDir::new("sqlite-kill");
    let path = dir.path().join("queue.db");
    let name = "kill-nine";
    let huey = huey_on(&path, name).await;
    let mut handles = tracked_sleep::map(&huey, vec![10; 1000]).await.unwrap();

    let first = spawn_consumer(&path, name, 8, &dir.path().join("first.log"));
    // Let it get well into the work, then kill it without warning.
    handles[150].wait(WAIT).await.unwrap();
    let killed_at = Instant::now();
    first.signal("KILL");
    let dead_id = first.id().to_owned();
    assert!(!first.wait().success(), "killed, not stopped");

    let pool =
        sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&path))
            .await
            .unwrap();
    let held: Vec<i64> = sqlx::query_scalar("SELECT id FROM huey_queue WHERE owner = ?")
        .bind(&dead_id)
        .fetch_all(&pool)
        .await
        .unwrap();
    println!("the killed consumer held {} claims", held.len());
    assert!(!held.is_empty(), "it was killed mid-task");
    let orphan_ids: Vec<String> = {
        let mut ids = Vec::new();
        for row in &held {
            let data: Vec<u8> = sqlx::query_scalar("SELECT data FROM huey_queue WHERE id = ?")
                .bind(row)
                .fetch_one(&pool)
                .await
                .unwrap();
            ids.push(huey_core::message::Message::decode(&data).unwrap().id);
        }
        ids
    };

    // A fresh consumer starts at once; its heartbeat finds the dead one's lease lapsed.
    let second = spawn_consumer(&path, name, 8, &dir.path().join("second.log"));
    let by_id: HashMap<String, usize> = handles
        .iter()
        .enumerate()
        .map(|(i, h)| (h.id().to_owned(), i))
        .collect();
    for id in &orphan_ids {
        handles[by_id[id]].wait(WAIT).await.unwrap();
    }
    let recovered_after = killed_at.elapsed();
    println!("the dead consumer's claims ran again {recovered_after:?} after the kill");
    assert!(
        recovered_after < Duration::from_secs(15),
        "{recovered_after:?}"
    );

    for handle in &mut handles {
        assert_eq!(handle.wait(WAIT).await.unwrap(), 10);
    }
    let ids: Vec<String> = handles.iter().map(|h| h.id().to_owned()).collect();
    let runs = runs(&path, &ids).await;
    assert!(runs.values().all(|n| *n >= 1), "every task ran");
    let duplicates = runs.values().filter(|n| **n > 1).count();
    println!("1000 tasks: every one has a result; {duplicates} ran more than once");
    assert!(
        duplicates <= held.len(),
        "only the dead consumer's claims ran twice"
    );
    second.signal("TERM");
    assert!(second.wait().success());
    let text = logs(dir.path());
    assert!(!text.contains("database is locked"), "{text}");
}
