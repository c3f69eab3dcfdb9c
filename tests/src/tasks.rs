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

/// Where a worker records runs: the Redis hash `huey.test.runs` when `HUEY_TEST_RUN_LOG` names
/// a Redis URL (one connection per worker, opened at start-up), else this process's memory.
pub struct RunLog(Option<redis::aio::MultiplexedConnection>);

static LOCAL_RUNS: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);

impl RunLog {
    /// Records one run of task `id`.
    pub async fn record(&self, id: &str) -> anyhow::Result<()> {
        match &self.0 {
            Some(conn) => {
                conn.clone()
                    .hincr::<_, _, _, ()>("huey.test.runs", id, 1)
                    .await?;
            }
            None => {
                let mut runs = LOCAL_RUNS.lock().unwrap_or_else(|e| e.into_inner());
                *runs
                    .get_or_insert_with(HashMap::new)
                    .entry(id.to_owned())
                    .or_insert(0) += 1;
            }
        }
        Ok(())
    }

    /// Runs of `id` recorded in this process's memory.
    pub fn local_runs(id: &str) -> u32 {
        let runs = LOCAL_RUNS.lock().unwrap_or_else(|e| e.into_inner());
        runs.as_ref().and_then(|m| m.get(id).copied()).unwrap_or(0)
    }
}

/// Gives each worker its run log.
#[on_startup]
async fn open_run_log(worker: &mut WorkerState) -> anyhow::Result<()> {
    let conn = match std::env::var("HUEY_TEST_RUN_LOG") {
        Ok(url) => Some(
            redis::Client::open(url)?
                .get_multiplexed_async_connection()
                .await?,
        ),
        Err(_) => None,
    };
    worker.insert(RunLog(conn));
    Ok(())
}
