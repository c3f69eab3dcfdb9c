//! Huey's "Managing shared resources" guide, in Rust, on PostgreSQL (`DATABASE_URL`) with a
//! Redis queue (`HUEY_REDIS_URL`). It is a consumer binary: run it with any worker type.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --example shared_resources -- -w 4 -k process
//! ```
//!
//! 1. `own_connection`: a task that opens and closes its own connection.
//! 2. `report`: a `closing_task` — a connection opened before and closed after each task, lent
//!    to the body.
//! 3. `run_query`: the guide's `pg_sleep` task on the worker's own connection, opened once per
//!    worker by `#[on_startup]` (in that worker's thread or process) and closed by
//!    `#[on_shutdown]`. No globals, no locks.
//! 4. `refuse_negative_sleep`: a `#[pre_execute]` hook that cancels on a condition.
//! 5. `report_failures`: a `#[post_execute]` hook that reports failures.

use huey_core::prelude::*;
use huey_redis::RedisStorage;
use serde::{Deserialize, Serialize};
use tokio_postgres::{Client, NoTls};

async fn connect() -> Result<Client, TaskError> {
    let url =
        std::env::var("DATABASE_URL").map_err(|_| TaskError::msg("DATABASE_URL is not set"))?;
    let (client, connection) = tokio_postgres::connect(&url, NoTls)
        .await
        .map_err(TaskError::from_error)?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "postgres connection closed with an error");
        }
    });
    Ok(client)
}

async fn backend_pid(db: &Client) -> anyhow::Result<i32> {
    Ok(db.query_one("select pg_backend_pid()", &[]).await?.get(0))
}

/// 1. Manages its own connection: opened here, closed when `db` is dropped.
#[task]
async fn own_connection() -> anyhow::Result<i32> {
    let db = connect().await?;
    backend_pid(&db).await
}

/// 2. A connection per task, opened before and closed after it, whatever happens.
struct PerTaskConnection;

impl Resource for PerTaskConnection {
    type Handle = Client;

    async fn open(&self) -> Result<Client, TaskError> {
        connect().await
    }

    async fn close(&self, db: Client) {
        // Dropping the client closes the connection; the driver task then ends.
        drop(db);
    }
}

static PER_TASK: PerTaskConnection = PerTaskConnection;

#[closing_task(PER_TASK, as_argument)]
async fn report(db: &Client, company_id: i64) -> anyhow::Result<(i64, i32)> {
    let row = db
        .query_one("select $1::bigint * 100, pg_backend_pid()", &[&company_id])
        .await?;
    Ok((row.get(0), row.get(1)))
}

/// 3. One connection per worker, opened when the worker starts.
struct WorkerDb {
    client: Client,
    worker: usize,
}

#[on_startup]
async fn open_worker_connection(worker: &mut WorkerState) -> anyhow::Result<()> {
    let client = connect().await?;
    let id = worker.worker_id();
    worker.insert(WorkerDb { client, worker: id });
    Ok(())
}

#[on_shutdown]
fn close_worker_connection(worker: &mut WorkerState) {
    drop(worker.take::<WorkerDb>());
}

/// What `run_query` reports: which worker, process and backend (connection) ran it.
#[derive(Debug, Serialize, Deserialize)]
struct Slept {
    seconds: f64,
    backend_pid: i32,
    worker: usize,
    pid: u32,
}

#[task]
async fn run_query(db: State<WorkerDb>, seconds: f64) -> anyhow::Result<Slept> {
    db.client
        .execute("select pg_sleep($1)", &[&seconds])
        .await?;
    Ok(Slept {
        seconds,
        backend_pid: backend_pid(&db.client).await?,
        worker: db.worker,
        pid: std::process::id(),
    })
}

/// 4. Cancels tasks on a condition, before they run.
#[pre_execute]
fn refuse_negative_sleep(task: &Task) -> Result<(), CancelExecution> {
    if task.name() == run_query::NAME && task.args_json().starts_with("[-") {
        return Err(CancelExecution::new(
            "refusing to sleep for a negative time",
        ));
    }
    Ok(())
}

/// 5. Reports failures after they happen.
#[post_execute]
fn report_failures(task: &Task, _value: Option<&TaskValue>, error: Option<&TaskError>) {
    if let Some(error) = error {
        tracing::error!(task.id = task.id(), task.name = task.name(), %error, "task failed");
    }
}

// One runtime thread: async workers share it without cross-thread wake-ups (measurably faster
// and leaner); sync task bodies still run on the blocking pool, and `-k thread`/`-k process`
// give CPU-bound async work more threads or processes.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), huey_cli::Report> {
    let huey = Huey::new(
        "shared-resources",
        RedisStorage::from_env("shared-resources").await?,
    );
    huey_cli::run_cli(huey).await
}
