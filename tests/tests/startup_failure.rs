//! A failed `#[on_startup]` hook stops its worker before it takes a task; the supervisor starts
//! it again after a backoff and logs the hook and its error each time. Its own test binary:
//! a hook registered by a macro applies to every consumer in the binary.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use huey_core::prelude::*;
use huey_tests::logs::Logs;

/// How many times the startup hook fails before it succeeds.
const FAILURES: usize = 2;

static STARTUPS: AtomicUsize = AtomicUsize::new(0);
/// The number of startup attempts each task body saw when it ran.
static RAN_AFTER: Mutex<Vec<usize>> = Mutex::new(Vec::new());

struct Db;

#[on_startup]
async fn connect(worker: &mut WorkerState) -> anyhow::Result<()> {
    let attempt = STARTUPS.fetch_add(1, Ordering::SeqCst) + 1;
    if attempt <= FAILURES {
        anyhow::bail!("database is down (attempt {attempt})");
    }
    worker.insert(Db);
    Ok(())
}

#[task]
async fn query(_db: State<Db>, n: u32) -> u32 {
    RAN_AFTER
        .lock()
        .unwrap()
        .push(STARTUPS.load(Ordering::SeqCst));
    n + 1
}

#[tokio::test(flavor = "current_thread")]
async fn test_failed_startup_hook_restarts_the_worker_and_no_task_runs_before_it_succeeds() {
    let (logs, _guard) = Logs::capture();
    let huey = Huey::memory("startup-failure");
    // Enqueued before the consumer starts: a worker that ran on without its state would take
    // them at once and fail them.
    let mut results = query::map(&huey, [1, 2, 3]).await.unwrap();
    let consumer = Consumer::builder(&huey)
        .workers(1)
        // Health checks off: restarting after a failed startup does not depend on them.
        .health_check(None)
        .start()
        .unwrap();

    // Two failures: backoffs of 1 s and 2 s before the third start.
    let values = results.wait(Duration::from_secs(30)).await.unwrap();
    assert_eq!(values, vec![2, 3, 4]);
    assert_eq!(STARTUPS.load(Ordering::SeqCst), FAILURES + 1);
    let seen = RAN_AFTER.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![FAILURES + 1; 3],
        "no task ran before startup succeeded"
    );

    let failed = logs.count("startup hook failed");
    assert_eq!(failed, FAILURES, "{:#?}", logs.lines());
    for attempt in 1..=FAILURES {
        let cause = format!("database is down (attempt {attempt})");
        let line = logs
            .lines()
            .into_iter()
            .find(|l| l.contains(&cause))
            .unwrap_or_else(|| panic!("no log line says {cause:?}: {:#?}", logs.lines()));
        assert!(line.contains(r#"hook="connect""#), "{line}");
    }
    consumer.shutdown().await.unwrap();
}
