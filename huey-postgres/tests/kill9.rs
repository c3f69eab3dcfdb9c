//! `kill -9` of a consumer process in the middle of 1,000 tasks loses none: the dead
//! consumer's leases are claimed again by another consumer within 15 s, and the tasks that
//! ran twice (their first run was cut off before its settlement) are counted.
//!
//! The consumer process is this test binary itself, started again to run `child_consumer`
//! (ignored unless asked for), so no extra binary is needed.

mod support;

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use huey_core::prelude::*;
use huey_postgres::{PostgresOptions, PostgresStorage};
use sqlx::PgPool;

const TASKS: i32 = 1000;
const NAME: &str = "kill9";

/// Where the task records its runs: the pool and the table, set before any consumer starts.
static RUNS: OnceLock<(PgPool, String)> = OnceLock::new();

#[task]
async fn record(n: i32) {
    let (pool, table) = RUNS.get().expect("the runs table is set up");
    // Long enough that a kill finds tasks mid-run.
    tokio::time::sleep(Duration::from_millis(5)).await;
    sqlx::query(&format!("INSERT INTO {table} (n, pid) VALUES ($1, $2)"))
        .bind(n)
        .bind(std::process::id() as i32)
        .execute(pool)
        .await
        .expect("record a run");
}

async fn huey_on(url: &str, schema: &str) -> Huey {
    let storage =
        PostgresStorage::connect_with(NAME, url, PostgresOptions::default().schema(schema))
            .await
            .expect("connect");
    let pool = storage.pool().clone();
    let _ = RUNS.set((pool, format!("{schema}.runs")));
    Huey::new(NAME, storage)
}

/// The consumer process: runs tasks until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the consumer process of kill_9_of_a_consumer_loses_no_task"]
async fn child_consumer() {
    let (Ok(url), Ok(schema)) = (std::env::var("KILL9_URL"), std::env::var("KILL9_SCHEMA")) else {
        panic!("child_consumer is started by kill_9_of_a_consumer_loses_no_task");
    };
    let huey = huey_on(&url, &schema).await;
    let _consumer = Consumer::builder(&huey)
        .workers(8)
        .start()
        .expect("consumer");
    println!("ready");
    std::future::pending::<()>().await;
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(pool).await.expect("count");
    n
}

/// Polls `what` until it holds or `within` passes; returns how long it took.
async fn until(within: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_consumer_loses_no_task() {
    let fixture = support::fixture_with(NAME, PostgresOptions::default()).await;
    let (url, schema) = (fixture.guard.url.clone(), fixture.guard.schema.clone());
    drop(fixture.storage);
    let huey = huey_on(&url, &schema).await;
    let pool = RUNS.get().expect("set").0.clone();
    sqlx::query(&format!(
        "CREATE TABLE {schema}.runs (n int NOT NULL, pid int NOT NULL)"
    ))
    .execute(&pool)
    .await
    .expect("runs table");
    let calls: Vec<_> = (0..TASKS).map(record::call).collect();
    let messages = calls
        .into_iter()
        .map(|c| c.into_message())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let _handles = huey.enqueue_messages::<()>(messages).await.unwrap();

    let mut child = Command::new(std::env::current_exe().expect("this test binary"))
        .args(["--exact", "child_consumer", "--ignored", "--nocapture"])
        .env("KILL9_URL", &url)
        .env("KILL9_SCHEMA", &schema)
        .stdout(Stdio::null())
        .spawn()
        .expect("start the consumer process");
    let runs = format!("SELECT count(*) FROM {schema}.runs");
    until(
        Duration::from_secs(60),
        "the consumer ran 200 tasks",
        async || count(&pool, &runs).await >= 200,
    )
    .await;
    child.kill().expect("kill -9");
    let killed = Instant::now();
    child.wait().expect("reap the killed consumer");
    let (dead_owner, held): (Option<String>, i64) =
        sqlx::query_as(&format!("SELECT min(owner), count(*) FROM {schema}.claims"))
            .fetch_one(&pool)
            .await
            .unwrap();
    let ran_before = count(&pool, &runs).await;
    assert!(
        ran_before < i64::from(TASKS),
        "killed in the middle ({ran_before} ran)"
    );
    eprintln!("killed after {ran_before} runs, holding {held} claims");

    // Another consumer takes over, and claims the dead one's leases again.
    let consumer = Consumer::builder(&huey)
        .workers(8)
        .start()
        .expect("consumer");
    if let Some(owner) = dead_owner {
        let held_by_dead = format!("SELECT count(*) FROM {schema}.claims WHERE owner = '{owner}'");
        until(Duration::from_secs(30), "leases reclaimed", async || {
            count(&pool, &held_by_dead).await == 0
        })
        .await;
        let reclaimed = killed.elapsed();
        eprintln!("the dead consumer's leases were claimed again {reclaimed:?} after the kill");
        assert!(
            reclaimed <= Duration::from_secs(15),
            "leases claimed again within 15 s of the kill ({reclaimed:?})"
        );
    }
    let distinct = format!("SELECT count(DISTINCT n) FROM {schema}.runs");
    until(Duration::from_secs(90), "every task ran", async || {
        count(&pool, &distinct).await == i64::from(TASKS)
    })
    .await;
    consumer.shutdown().await.unwrap();
    let total = count(&pool, &runs).await;
    eprintln!(
        "duplicates (runs cut off before their settlement, run again): {}",
        total - i64::from(TASKS)
    );
    assert!(
        total - i64::from(TASKS) <= held,
        "at most the claims the dead consumer held ran twice"
    );
    assert_eq!(huey.pending_count().await.unwrap(), 0, "nothing left");
}
