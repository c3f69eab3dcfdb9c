//! Hooks and signal handlers declared with the macros: registration, order, cancellation,
//! per-worker state. Hooks registered by macros apply to every `Huey` in the binary, so each
//! test here looks only at the events of its own task ids.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use huey_core::Executed;
use huey_core::prelude::*;
use huey_tests::logs::Logs;

static LOG: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn record(task: &Task, event: impl Into<String>) {
    LOG.lock()
        .unwrap()
        .push((task.id().to_owned(), event.into()));
}

fn events(id: &str) -> Vec<String> {
    LOG.lock()
        .unwrap()
        .iter()
        .filter(|(i, _)| i == id)
        .map(|(_, e)| e.clone())
        .collect()
}

#[pre_execute]
fn first_pre(task: &Task) {
    record(task, "pre:first");
}

#[pre_execute]
async fn cancel_some(task: &Task) -> Result<(), CancelExecution> {
    if task.name() == cancel_me::NAME {
        record(task, "pre:cancel");
        return Err(CancelExecution::new("not today"));
    }
    Ok(())
}

#[pre_execute]
fn failing_pre(task: &Task) -> anyhow::Result<()> {
    if task.name() == hook_error_target::NAME {
        anyhow::bail!("this hook is broken");
    }
    Ok(())
}

#[pre_execute]
fn last_pre(task: &Task) {
    record(task, "pre:last");
}

#[post_execute]
fn report(task: &Task, value: Option<&TaskValue>, error: Option<&TaskError>) {
    let event = match (value, error) {
        (Some(v), None) => format!("post:value:{}", v.json()),
        (None, Some(e)) => format!("post:error:{e}"),
        _ => "post:?".to_owned(),
    };
    record(task, event);
}

#[signal(complete, canceled)]
fn on_done(signal: Signal, task: &Task) {
    record(task, format!("signal:{signal}"));
}

#[signal]
fn on_any_error(signal: Signal, task: &Task, error: Option<&TaskError>) {
    if signal == Signal::Error {
        record(
            task,
            format!(
                "any:{signal}:{}",
                error.map(ToString::to_string).unwrap_or_default()
            ),
        );
    }
}

#[task]
fn plain(n: i64) -> i64 {
    n * 10
}

#[task]
fn cancel_me() -> i64 {
    unreachable!("a pre-execute hook cancels this task")
}

#[task]
fn hook_error_target() -> String {
    "ran".into()
}

#[task]
fn failing() -> anyhow::Result<()> {
    anyhow::bail!("nope")
}

async fn run(huey: &Huey) -> Option<Executed> {
    huey.run_next(&WorkerState::default()).await.unwrap()
}

#[tokio::test]
async fn test_hooks_run_in_declaration_order() {
    let h = Huey::memory("hooks-order");
    let r = plain::enqueue(&h, 4).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(
        events(r.id()),
        ["pre:first", "pre:last", "post:value:40", "signal:complete"]
    );
}

#[tokio::test]
async fn test_pre_execute_cancel_stops_remaining_hooks_and_skips_post_hooks() {
    let h = Huey::memory("hooks-cancel");
    let mut r = cancel_me::enqueue(&h).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Cancelled));
    assert_eq!(
        events(r.id()),
        ["pre:first", "pre:cancel", "signal:canceled"]
    );
    assert_eq!(r.get().await.unwrap(), None, "nothing stored, no retry");
    assert_eq!(h.pending_count().await.unwrap(), 0);
}

#[tokio::test]
async fn test_failing_hook_is_logged_and_ignored() {
    let h = Huey::memory("hooks-error");
    let mut r = hook_error_target::enqueue(&h).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(r.get().await.unwrap(), Some("ran".to_string()));
    assert_eq!(
        events(r.id()),
        [
            "pre:first",
            "pre:last",
            "post:value:\"ran\"",
            "signal:complete"
        ]
    );
}

#[tokio::test]
async fn test_post_execute_receives_the_error() {
    let h = Huey::memory("hooks-post-error");
    let r = failing::enqueue(&h).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Failed));
    assert_eq!(
        events(r.id()),
        ["pre:first", "pre:last", "any:error:nope", "post:error:nope"]
    );
}

/// Per-worker state built by a startup hook, the shared-resources guide's pattern.
struct Connection {
    worker: usize,
}

static STARTUPS: AtomicUsize = AtomicUsize::new(0);
static SHUTDOWNS: AtomicUsize = AtomicUsize::new(0);

#[on_startup]
async fn open_connection(worker: &mut WorkerState) -> anyhow::Result<()> {
    let id = worker.worker_id();
    worker.insert(Connection { worker: id });
    STARTUPS.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

#[on_shutdown]
fn close_connection(worker: &mut WorkerState) {
    if worker.take::<Connection>().is_some() {
        SHUTDOWNS.fetch_add(1, Ordering::SeqCst);
    }
}

#[task]
async fn which_worker(conn: State<Connection>) -> usize {
    tokio::time::sleep(Duration::from_millis(20)).await;
    conn.worker
}

#[tokio::test]
async fn test_startup_hook_runs_once_per_worker_and_fills_its_state() {
    let h = Huey::memory("hooks-workers");
    let consumer = Consumer::builder(&h).workers(3).start().unwrap();
    let mut handles = which_worker::map(&h, vec![(); 12]).await.unwrap();
    let mut workers = HashSet::new();
    for r in &mut handles {
        workers.insert(r.wait(Duration::from_secs(10)).await.unwrap());
    }
    assert!(workers.is_subset(&HashSet::from([0, 1, 2])), "{workers:?}");
    assert!(
        workers.len() > 1,
        "the work spread over several workers: {workers:?}"
    );
    consumer.shutdown().await.unwrap();
    assert_eq!(STARTUPS.load(Ordering::SeqCst), 3);
    assert_eq!(
        SHUTDOWNS.load(Ordering::SeqCst),
        3,
        "each worker closed its own connection"
    );
}

#[tokio::test]
async fn test_missing_state_is_a_clear_task_error() {
    let h = Huey::memory("hooks-no-state");
    let mut r = which_worker::enqueue(&h).await.unwrap();
    // run_next has no startup hooks: the worker state is empty.
    assert_eq!(run(&h).await, Some(Executed::Failed));
    match r.get().await {
        Err(ResultError::Failed(f)) => {
            assert!(
                f.error.contains("needs State<hooks::Connection>"),
                "{}",
                f.error
            )
        }
        other => panic!("{other:?}"),
    }
}

// Hooks that take the worker's state, as tasks do. Declared last, so they run after the hooks
// above.

#[task]
fn audited() -> i64 {
    7
}

#[task]
fn audited_inline() -> i64 {
    8
}

/// Async, with the state before the task.
#[pre_execute]
async fn pre_with_state(conn: State<Connection>, task: &Task) {
    if task.name() == audited::NAME {
        record(task, format!("pre:conn:{}", conn.worker));
    }
}

#[post_execute]
fn post_with_state(
    task: &Task,
    value: Option<&TaskValue>,
    _error: Option<&TaskError>,
    conn: State<Connection>,
) {
    if task.name() == audited::NAME {
        let value = value.map(TaskValue::json).unwrap_or_default();
        record(task, format!("post:conn:{}:{value}", conn.worker));
    }
}

/// Immediate mode's state holds the queue.
#[post_execute]
async fn post_with_queue(
    task: &Task,
    _value: Option<&TaskValue>,
    _error: Option<&TaskError>,
    queue: State<Huey>,
) {
    if task.name() == audited_inline::NAME {
        record(task, format!("post:queue:{}", queue.name()));
    }
}

#[tokio::test]
async fn test_pre_and_post_execute_hooks_read_the_worker_state() {
    let h = Huey::memory("hooks-state");
    let mut r = audited::enqueue(&h).await.unwrap();
    let mut state = WorkerState::new(5);
    state.insert(Connection { worker: 5 });
    assert_eq!(h.run_next(&state).await.unwrap(), Some(Executed::Completed));
    assert_eq!(r.get().await.unwrap(), Some(7));
    assert_eq!(
        events(r.id()),
        [
            "pre:first",
            "pre:last",
            "pre:conn:5",
            "post:value:7",
            "post:conn:5:7",
            "signal:complete"
        ]
    );
}

#[tokio::test]
async fn test_hook_state_missing_is_a_logged_hook_failure() {
    let (logs, _guard) = Logs::capture();
    let h = Huey::memory("hooks-state-missing");
    let mut r = audited::enqueue(&h).await.unwrap();
    // run_next has no startup hooks: the worker state is empty.
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(r.get().await.unwrap(), Some(7), "the task ran regardless");
    assert_eq!(
        events(r.id()),
        ["pre:first", "pre:last", "post:value:7", "signal:complete"]
    );
    let needs = "needs State<hooks::Connection> but this worker has none";
    let failed = |kind: &str, hook: &str| {
        logs.lines()
            .iter()
            .filter(|l| l.contains(kind) && l.contains(hook) && l.contains(needs))
            .count()
    };
    assert_eq!(
        failed("pre-execute hook failed", "hook pre_with_state"),
        1,
        "{:#?}",
        logs.lines()
    );
    assert_eq!(
        failed("post-execute hook failed", "hook post_with_state"),
        1,
        "{:#?}",
        logs.lines()
    );
}

#[tokio::test]
async fn test_immediate_mode_hooks_get_the_queue_from_the_state() {
    let h = Huey::builder("hooks-immediate")
        .immediate(true)
        .build(MemoryStorage::new());
    let mut r = audited_inline::enqueue(&h).await.unwrap();
    assert_eq!(r.get().await.unwrap(), Some(8));
    assert_eq!(
        events(r.id()),
        [
            "pre:first",
            "pre:last",
            "post:value:8",
            "post:queue:hooks-immediate",
            "signal:complete"
        ]
    );
}
