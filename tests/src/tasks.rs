//! Tasks shared by the test consumer binary (`test_consumer`) and the tests that drive it from
//! another process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use huey_core::prelude::*;
use redis::AsyncCommands;

/// Adds two numbers.
#[task]
pub async fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// The length of its argument: a task whose message can be as large as a test likes.
#[task]
pub fn byte_len(data: String) -> usize {
    data.len()
}

/// Always fails with `reason`: a task whose outcome is known (error, or retrying while
/// retries are left).
#[task]
pub fn refuse(reason: String) -> anyhow::Result<()> {
    Err(anyhow::anyhow!(reason))
}

/// Does nothing: the backlog and benchmark task.
#[task]
pub fn noop(n: u64) {
    let _ = n;
}

/// Sleeps, then records the run of its task id in the worker's [`RunLog`], so tests can count
/// duplicate deliveries.
#[task(context)]
pub async fn tracked_sleep(task: &Task, log: State<RunLog>, millis: u64) -> anyhow::Result<u64> {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    log.record(task.id()).await?;
    Ok(millis)
}

/// Records its run in the worker's [`RunLog`], then aborts the whole process: a task that
/// kills its consumer on every delivery.
#[task(context)]
pub async fn crash(task: &Task, log: State<RunLog>) -> anyhow::Result<()> {
    log.record(task.id()).await?;
    std::process::abort()
}

/// Who ran a task: the process, the worker, and which start of that worker (a fresh id each
/// time `#[on_startup]` runs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct WorkerIdentity {
    /// The process id.
    pub pid: u32,
    /// The worker's number within its consumer.
    pub worker: usize,
    /// The thread the startup hook ran on.
    pub thread: String,
    /// Unique per worker start.
    pub startup: String,
}

/// Where a worker records runs: the Redis hash `huey.test.runs` when `HUEY_TEST_RUN_LOG` names
/// a Redis URL (one connection per worker, opened at start-up), the counters of namespace
/// [`SQLITE_RUNS`] in the SQLite file when it is `sqlite:<path>`, else this process's memory.
pub struct RunLog(Sink, WorkerIdentity);

/// Where a [`RunLog`] writes.
enum Sink {
    Redis(redis::aio::MultiplexedConnection),
    Sqlite(huey_sqlite::SqliteStorage),
    Local,
}

/// The namespace whose counters count runs, by task id, when the run log is a SQLite file.
pub const SQLITE_RUNS: &str = "huey-test-runs";

static LOCAL_RUNS: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);

impl RunLog {
    /// Records one run of task `id`.
    pub async fn record(&self, id: &str) -> anyhow::Result<()> {
        match &self.0 {
            Sink::Redis(conn) => {
                conn.clone()
                    .hincr::<_, _, _, ()>("huey.test.runs", id, 1)
                    .await?;
            }
            Sink::Sqlite(storage) => {
                huey_core::storage::CoordinationStorage::incr(storage, id, 1).await?;
            }
            Sink::Local => {
                let mut runs = LOCAL_RUNS.lock().unwrap_or_else(|e| e.into_inner());
                *runs
                    .get_or_insert_with(HashMap::new)
                    .entry(id.to_owned())
                    .or_insert(0) += 1;
            }
        }
        Ok(())
    }

    /// Appends `value` to the Redis list `key` (when the log is on Redis).
    pub async fn push(&self, key: &str, value: &str) -> anyhow::Result<()> {
        if let Sink::Redis(conn) = &self.0 {
            conn.clone().rpush::<_, _, ()>(key, value).await?;
        }
        Ok(())
    }

    /// Runs of `id` recorded in this process's memory.
    pub fn local_runs(id: &str) -> u32 {
        let runs = LOCAL_RUNS.lock().unwrap_or_else(|e| e.into_inner());
        runs.as_ref().and_then(|m| m.get(id).copied()).unwrap_or(0)
    }
}

/// Gives each worker its run log, and records the start in `huey.test.startups`.
#[on_startup]
async fn open_run_log(worker: &mut WorkerState) -> anyhow::Result<()> {
    let sink = match std::env::var("HUEY_TEST_RUN_LOG") {
        Ok(url) => match url.strip_prefix("sqlite:") {
            Some(path) => Sink::Sqlite(huey_sqlite::SqliteStorage::open(SQLITE_RUNS, path).await?),
            None => Sink::Redis(
                redis::Client::open(url)?
                    .get_multiplexed_async_connection()
                    .await?,
            ),
        },
        Err(_) => Sink::Local,
    };
    let identity = WorkerIdentity {
        pid: std::process::id(),
        worker: worker.worker_id(),
        thread: format!("{:?}", std::thread::current().id()),
        startup: uuid_like(),
    };
    let log = RunLog(sink, identity);
    log.push("huey.test.startups", &serde_json::to_string(&log.1)?)
        .await?;
    worker.insert(log);
    Ok(())
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Reports which worker ran it.
#[task]
pub async fn whoami(log: State<RunLog>, millis: u64) -> WorkerIdentity {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    log.1.clone()
}

/// A sync task that holds its worker for a while.
#[task]
pub fn busy(millis: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(millis));
    millis
}

/// A sync task that says it has started (in the Redis list `huey.test.started`, when
/// `HUEY_TEST_RUN_LOG` names a Redis URL; nowhere on SQLite), then holds its worker: tests that signal a
/// consumer mid-task wait for that, not for the claim, which is made before the body starts.
#[task(context)]
pub fn announced_busy(task: &Task, millis: u64) -> anyhow::Result<u64> {
    if let Ok(url) = std::env::var("HUEY_TEST_RUN_LOG")
        && !url.starts_with("sqlite:")
    {
        let mut conn = redis::Client::open(url)?.get_connection()?;
        redis::Commands::rpush::<_, _, ()>(&mut conn, "huey.test.started", task.id())?;
    }
    std::thread::sleep(Duration::from_millis(millis));
    Ok(millis)
}

/// Records each run in `huey.test.periodic`; due every tick.
#[periodic_task(crontab(minute = "*"), context)]
pub async fn periodic_probe(task: &Task, log: State<RunLog>) -> anyhow::Result<()> {
    log.push("huey.test.periodic", task.id()).await
}

/// Stays running until the test opens `gate` (stores any value under that key with
/// `Huey::put`), looking for it in its own storage every 20 ms: a task that is in flight for
/// exactly as long as a test wants, without a sleep the test has to guess.
#[task]
pub async fn gated(queue: State<Huey>, gate: String) -> anyhow::Result<()> {
    while queue.peek::<bool>(&gate).await?.is_none() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
