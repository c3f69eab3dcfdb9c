//! The consumer on SQLite, end to end, with no server: this test as the producer process and
//! consumer processes on one file, a consumer killed with SIGKILL mid-run, and one frozen
//! (SIGSTOP) past its lease.

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

/// Consumers presumed dead 600 ms after their last heartbeat.
const QUICK_DEATH: &[(&str, &str)] = &[
    ("HUEY_TEST_HEARTBEAT_MS", "100"),
    ("HUEY_TEST_CONSUMER_TIMEOUT_MS", "600"),
];

/// A connection on the file, to look at claims from outside the storage.
async fn inspect(path: &Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(path))
        .await
        .expect("connect")
}

/// Whether a write transaction can start on the file now.
async fn writable(path: &Path) -> bool {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(Duration::from_millis(200));
    let Ok(mut conn) = sqlx::ConnectOptions::connect(&options).await else {
        return false;
    };
    sqlx::Connection::begin_with(&mut conn, "BEGIN IMMEDIATE")
        .await
        .is_ok()
}

/// How many claims consumer `id` holds.
async fn claims_of(pool: &sqlx::SqlitePool, id: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM huey_queue WHERE owner = ?")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("count claims")
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

#[tokio::test]
async fn test_zombie_consumer_starts_no_prefetched_claim_and_writes_no_stale_result() {
    const WORKERS: usize = 4;
    let dir = TempDir::new("sqlite-zombie");
    let path = dir.path().join("queue.db");
    let name = "zombie";
    let huey = huey_on(&path, name).await;
    let log = dir.path().join("zombie.log");
    let log_arg = log.to_string_lossy().into_owned();
    let exe = env!("CARGO_BIN_EXE_test_consumer");
    let args = ["-w", "4", "-n", "-q", "-l", &log_arg];
    let stderr = || File::create(dir.path().join(format!("{}.err.log", uuid_like()))).unwrap();
    let zombie = ConsumerProcess::spawn_on_sqlite(exe, &path, name, &args, QUICK_DEATH, stderr());
    let mut handles = tracked_sleep::map(&huey, vec![1000u64; 16]).await.unwrap();

    // Frozen once it holds more claims than it has workers: some running, some prefetched.
    let pool = inspect(&path).await;
    let deadline = Instant::now() + WAIT;
    while claims_of(&pool, zombie.id()).await <= WORKERS as i64 {
        assert!(Instant::now() < deadline, "the consumer never prefetched");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A process stopped inside a write transaction would hold the file's write lock until it
    // resumes (SQLite cannot take a lock from a live process): freeze it between transactions.
    loop {
        zombie.signal("STOP");
        if writable(&path).await {
            break;
        }
        zombie.signal("CONT");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let held_at_freeze = claims_of(&pool, zombie.id()).await;
    let rescuer_args = ["-w", "16", "-n", "-q"];
    let rescuer =
        ConsumerProcess::spawn_on_sqlite(exe, &path, name, &rescuer_args, QUICK_DEATH, stderr());
    for handle in &mut handles {
        assert_eq!(handle.wait(WAIT).await.unwrap(), 1000);
    }
    assert_eq!(
        huey.result_count().await.unwrap(),
        0,
        "every result was read"
    );

    zombie.signal("CONT");
    // Its running bodies finish and are discarded; a graceful stop waits for them.
    zombie.signal("INT");
    let mut zombie = zombie;
    assert!(zombie.wait_timeout(WAIT).is_some_and(|s| s.success()));

    let ids: Vec<String> = handles.iter().map(|h| h.id().to_owned()).collect();
    let runs = runs(&path, &ids).await;
    assert!(runs.values().all(|n| *n >= 1), "every task ran");
    let duplicates: i64 = runs.values().map(|n| n - 1).sum();
    println!("held {held_at_freeze} claims at the freeze; {duplicates} bodies ran twice");
    assert!(
        duplicates as usize <= WORKERS,
        "only bodies running at the freeze may run again: {runs:?}"
    );
    assert_eq!(
        huey.result_count().await.unwrap(),
        0,
        "the zombie wrote no result for tasks the rescuer settled"
    );
    let said = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        said.matches("this consumer was presumed dead").count(),
        1,
        "{said}"
    );
    assert_eq!(huey.dead_letter_count().await.unwrap(), 0);
    assert_eq!(
        huey.pending_count().await.unwrap(),
        0,
        "nothing left behind"
    );
    rescuer.signal("TERM");
    assert!(rescuer.wait().success());
    let text = logs(dir.path());
    assert!(!text.contains("database is locked"), "{text}");
}

/// A name no other file of this test uses.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
