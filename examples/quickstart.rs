//! The quickstart: tasks, a pipeline, a chord, a closing task, per-worker state, hooks and a
//! periodic task, run by an in-process consumer with two workers on the embedded storage. No
//! server needed.
//!
//! ```text
//! cargo run --example quickstart
//! cargo run --example quickstart -- --redis redis://127.0.0.1:6379/0   # or HUEY_REDIS_URL=...
//! cargo run --example quickstart -- --sqlite huey.db                    # one file, no server
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use huey_core::group::{MemberResult, group};
use huey_core::prelude::*;

/// A plain async task.
#[task(retries = 2, retry_delay = "100ms")]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// A sync task: it runs on the blocking pool, never on the async workers.
#[task(timeout = "5s")]
fn word_count(text: String) -> anyhow::Result<usize> {
    if text.is_empty() {
        anyhow::bail!("nothing to count");
    }
    Ok(text.split_whitespace().count())
}

/// A resource opened before and closed after each task that uses it: the guide's
/// `closing_task`, with a counter standing in for a database connection.
struct ReportDb {
    open: AtomicUsize,
    closed: AtomicUsize,
}

impl SyncResource for ReportDb {
    type Handle = ();
    fn open(&self) -> Result<(), TaskError> {
        self.open.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn close(&self, _: ()) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

static REPORT_DB: ReportDb = ReportDb {
    open: AtomicUsize::new(0),
    closed: AtomicUsize::new(0),
};

#[closing_task(REPORT_DB)]
async fn generate_report(company: String) -> String {
    format!("report for {company}")
}

/// Per-worker state: one "connection" per worker, opened when the worker starts.
struct Connection {
    worker: usize,
}

#[on_startup]
async fn open_connection(worker: &mut WorkerState) {
    let id = worker.worker_id();
    worker.insert(Connection { worker: id });
}

#[task]
async fn which_worker(conn: State<Connection>) -> usize {
    tokio::time::sleep(Duration::from_millis(50)).await;
    conn.worker
}

/// A pre-execute hook that cancels tasks on a condition.
#[pre_execute]
fn refuse_maintenance(task: &Task) -> Result<(), CancelExecution> {
    if task.name().ends_with("::maintenance") {
        return Err(CancelExecution::new("maintenance tasks are disabled"));
    }
    Ok(())
}

#[task]
async fn maintenance() -> String {
    "should never run".into()
}

/// A post-execute hook that reports failures.
#[post_execute]
fn report_failures(task: &Task, _value: Option<&TaskValue>, error: Option<&TaskError>) {
    if let Some(error) = error {
        println!("post_execute: task {} failed: {error}", task.name());
    }
}

static SWEEPS: AtomicUsize = AtomicUsize::new(0);

/// A periodic task: every minute. The consumer checks it as soon as it starts.
#[periodic_task(crontab(minute = "*"))]
async fn sweep() {
    SWEEPS.fetch_add(1, Ordering::SeqCst);
}

/// A chord callback: every member's outcome, in member order.
#[task]
async fn total(outcomes: Vec<MemberResult<usize>>) -> usize {
    outcomes.into_iter().filter_map(MemberResult::ok).sum()
}

/// Where the queue lives.
enum Backend {
    Memory,
    Redis(String),
    Sqlite(String),
}

/// `--redis URL` or `--sqlite PATH` on the command line, else `HUEY_REDIS_URL`, else none
/// (in-memory storage).
fn backend() -> anyhow::Result<Backend> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(std::env::var("HUEY_REDIS_URL").map_or(Backend::Memory, Backend::Redis)),
        [flag, url] if flag == "--redis" => Ok(Backend::Redis(url.clone())),
        [flag, path] if flag == "--sqlite" => Ok(Backend::Sqlite(path.clone())),
        _ => anyhow::bail!("usage: quickstart [--redis URL | --sqlite PATH]"),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();

    let huey = match backend()? {
        Backend::Redis(url) => {
            println!("storage: redis at {url}");
            Huey::new(
                "quickstart",
                huey_redis::RedisStorage::connect("quickstart", &url).await?,
            )
        }
        Backend::Sqlite(path) => {
            println!("storage: sqlite file {path}");
            let huey = Huey::new(
                "quickstart",
                huey_sqlite::SqliteStorage::open("quickstart", &path).await?,
            );
            // The file outlives the run: start from an empty queue.
            huey.flush().await?;
            huey
        }
        Backend::Memory => {
            println!("storage: in memory");
            Huey::memory("quickstart")
        }
    };
    let consumer = Consumer::builder(&huey)
        .workers(2)
        .scheduler_interval(Duration::from_millis(100))
        .start()?;
    let wait = Duration::from_secs(10);

    let mut sum = add::enqueue(&huey, 1, 2).await?;
    println!("add(1, 2) = {}", sum.wait(wait).await?);

    let mut later = add::call(20, 22)
        .delay(Duration::from_millis(300))
        .enqueue(&huey)
        .await?;
    println!("add(20, 22) after 300ms = {}", later.wait(wait).await?);

    let mut words = word_count::enqueue(&huey, "the quick brown fox".into()).await?;
    println!("word_count(..) = {}", words.wait(wait).await?);

    let mut empty = word_count::enqueue(&huey, String::new()).await?;
    match empty.wait(wait).await {
        Err(ResultError::Failed(failure)) => println!("word_count(\"\") failed: {}", failure.error),
        other => anyhow::bail!("expected a failure, got {other:?}"),
    }

    // A pipeline: add(1, 2), then add(10, <that value>). One typed handle per stage.
    let (_, mut chained) = add::call(1, 2)
        .then(add::partial(10))
        .enqueue(&huey)
        .await?;
    println!("add(1, 2) then add(10, _) = {}", chained.wait(wait).await?);

    // A chord: count the words of each text in parallel, then add the counts up.
    let texts = ["one two", "three four five", "six"];
    let mut chord = group(texts.map(|t| word_count::call(t.into())))
        .then(total::partial())
        .enqueue(&huey)
        .await?;
    println!(
        "word counts {:?}, total {}",
        chord.results.wait(wait).await?,
        chord.callback.wait(wait).await?
    );

    let mut report = generate_report::enqueue(&huey, "acme".into()).await?;
    println!("generate_report(acme) = {}", report.wait(wait).await?);
    println!(
        "report db opened {} time(s), closed {} time(s)",
        REPORT_DB.open.load(Ordering::SeqCst),
        REPORT_DB.closed.load(Ordering::SeqCst)
    );

    let mut workers = which_worker::map(&huey, [(), (), (), ()]).await?;
    let mut seen = Vec::new();
    for handle in &mut workers {
        seen.push(handle.wait(wait).await?);
    }
    println!("which_worker x4 ran on workers {seen:?}");

    let mut cancelled = maintenance::enqueue(&huey).await?;
    match cancelled.wait(Duration::from_millis(300)).await {
        Err(ResultError::Timeout { .. }) => {
            println!("maintenance was cancelled by the pre_execute hook")
        }
        other => anyhow::bail!("expected no result, got {other:?}"),
    }

    println!(
        "sweep (periodic) ran {} time(s)",
        SWEEPS.load(Ordering::SeqCst)
    );
    consumer.shutdown().await?;
    println!("done");
    Ok(())
}
