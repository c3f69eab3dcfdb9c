//! The in-process consumer: workers, the scheduler, periodic tasks, shutdown, bad input.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use huey_core::prelude::*;

const WAIT: Duration = Duration::from_secs(10);

#[task]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[task]
fn sync_add(a: i64, b: i64) -> i64 {
    a + b
}

#[task]
fn panics() -> i64 {
    panic!("task blew up")
}

static RELEASE_SYNC: Mutex<Option<std::sync::mpsc::Receiver<()>>> = Mutex::new(None);

/// A sync task that holds its thread until the test releases it.
#[task]
fn blocks_until_released() -> bool {
    let rx = RELEASE_SYNC
        .lock()
        .unwrap()
        .take()
        .expect("channel installed by the test");
    rx.recv_timeout(WAIT).is_ok()
}

#[task]
async fn sleeps(millis: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    millis
}

/// Enqueues a follow-up from the body, through the queue every worker's state holds.
#[task]
async fn follow_up(queue: State<Huey>, n: i64) -> Result<String, TaskError> {
    let next = add::enqueue(&queue, n, n)
        .await
        .map_err(|e| TaskError::msg(e.to_string()))?;
    Ok(next.id().to_owned())
}

fn queue(name: &str) -> Huey {
    Huey::memory(name)
}

#[tokio::test]
async fn test_consumer_minimal() {
    let h = queue("minimal");
    let consumer = Consumer::builder(&h).workers(2).start().unwrap();
    let mut r = add::enqueue(&h, 1, 2).await.unwrap();
    assert_eq!(r.wait(WAIT).await.unwrap(), 3);
    let mut s = sync_add::enqueue(&h, 3, 4).await.unwrap();
    assert_eq!(s.wait(WAIT).await.unwrap(), 7);
    consumer.shutdown().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn test_sync_task_does_not_block_the_executor() {
    let h = queue("blocking-pool");
    let (tx, rx) = std::sync::mpsc::channel();
    *RELEASE_SYNC.lock().unwrap() = Some(rx);
    // One runtime thread: if the sync body ran on it, nothing else could make progress.
    let started = Arc::new(tokio::sync::Notify::new());
    let s = started.clone();
    h.connect_signal(&[Signal::Executing], move |_, task, _| {
        if task.name() == blocks_until_released::NAME {
            s.notify_one();
        }
    });
    let consumer = Consumer::builder(&h).workers(2).start().unwrap();
    let mut blocked = blocks_until_released::enqueue(&h).await.unwrap();
    started.notified().await;
    let mut quick = add::enqueue(&h, 2, 2).await.unwrap();
    assert_eq!(quick.wait(WAIT).await.unwrap(), 4);
    assert!(
        !blocked.is_ready().await.unwrap(),
        "the sync task still holds its thread"
    );
    tx.send(()).unwrap();
    assert!(blocked.wait(WAIT).await.unwrap());
    consumer.shutdown().await.unwrap();
}

#[tokio::test]
async fn test_panicking_task_does_not_kill_the_worker() {
    let h = queue("panics");
    let consumer = Consumer::builder(&h).workers(1).start().unwrap();
    let mut bad = panics::enqueue(&h).await.unwrap();
    let mut good = add::enqueue(&h, 5, 5).await.unwrap();
    match bad.wait(WAIT).await {
        Err(ResultError::Failed(f)) => assert!(f.error.contains("task blew up"), "{}", f.error),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(
        good.wait(WAIT).await.unwrap(),
        10,
        "the only worker is still alive"
    );
    consumer.shutdown().await.unwrap();
}

#[tokio::test]
async fn test_consumer_schedule_task() {
    let h = queue("schedule");
    let consumer = Consumer::builder(&h)
        .workers(1)
        .scheduler_interval(Duration::from_millis(20))
        .start()
        .unwrap();
    let mut r = add::call(1, 1)
        .delay(Duration::from_millis(100))
        .enqueue(&h)
        .await
        .unwrap();
    assert_eq!(r.wait(WAIT).await.unwrap(), 2);
    let mut far = add::call(2, 2)
        .delay(Duration::from_secs(86_400))
        .enqueue(&h)
        .await
        .unwrap();
    assert!(matches!(
        far.wait(Duration::from_millis(100)).await,
        Err(ResultError::Timeout { .. })
    ));
    assert_eq!(h.scheduled_count().await.unwrap(), 1);
    consumer.shutdown().await.unwrap();
}

#[tokio::test]
async fn test_graceful_shutdown_finishes_running_task() {
    let h = queue("graceful");
    let consumer = Consumer::builder(&h).workers(1).start().unwrap();
    let started = Arc::new(tokio::sync::Notify::new());
    let s = started.clone();
    h.connect_signal(&[Signal::Executing], move |_, _, _| s.notify_one());
    let mut r = sleeps::enqueue(&h, 200).await.unwrap();
    started.notified().await;
    consumer.shutdown().await.unwrap();
    assert_eq!(
        r.get().await.unwrap(),
        Some(200),
        "finished before shutdown returned"
    );
}

#[tokio::test]
async fn test_stop_now_returns_running_task_to_the_queue() {
    let h = queue("stop-now");
    let interrupted = Arc::new(Mutex::new(Vec::new()));
    let i = interrupted.clone();
    h.connect_signal(&[Signal::Interrupted], move |_, task, _| {
        i.lock().unwrap().push(task.id().to_owned())
    });
    let started = Arc::new(tokio::sync::Notify::new());
    let s = started.clone();
    h.connect_signal(&[Signal::Executing], move |_, _, _| s.notify_one());
    // Without periodic tasks: a tick enqueued at start would be pending too, or be the task
    // that starts first, depending on which claim comes first.
    let consumer = Consumer::builder(&h)
        .workers(1)
        .periodic(false)
        .start()
        .unwrap();
    let r = sleeps::enqueue(&h, 60_000).await.unwrap();
    started.notified().await;
    consumer.stop_now().await.unwrap();
    assert_eq!(*interrupted.lock().unwrap(), [r.id().to_owned()]);
    let pending = h.pending(None).await.unwrap();
    assert_eq!(pending.len(), 1, "nothing lost");
    assert_eq!(pending[0].id, r.id());
}

#[tokio::test]
async fn test_shutdown_timeout_interrupts_and_requeues() {
    let h = queue("shutdown-timeout");
    let started = Arc::new(tokio::sync::Notify::new());
    let s = started.clone();
    h.connect_signal(&[Signal::Executing], move |_, _, _| s.notify_one());
    let consumer = Consumer::builder(&h)
        .workers(1)
        .shutdown_timeout(Some(Duration::from_millis(50)))
        .start()
        .unwrap();
    let r = sleeps::enqueue(&h, 60_000).await.unwrap();
    started.notified().await;
    consumer.shutdown().await.unwrap();
    assert_eq!(h.pending(None).await.unwrap()[0].id, r.id());
}

#[tokio::test]
async fn test_bad_messages_are_dead_lettered_and_the_consumer_carries_on() {
    let h = queue("dead-letter");
    let storage = h.storage();
    let mut first = add::enqueue(&h, 1, 1).await.unwrap();
    storage
        .enqueue(b"\x00\x01garbage".to_vec(), 0)
        .await
        .unwrap();
    let mut unknown = add::call(0, 0).into_message().unwrap();
    unknown.name = "nobody::registered_this".into();
    storage.enqueue(unknown.encode(), 0).await.unwrap();
    let mut last = add::enqueue(&h, 2, 2).await.unwrap();
    let consumer = Consumer::builder(&h).workers(2).start().unwrap();
    assert_eq!(first.wait(WAIT).await.unwrap(), 2);
    assert_eq!(last.wait(WAIT).await.unwrap(), 4);
    consumer.shutdown().await.unwrap();
    let mut dead = h.dead_letters(None).await.unwrap();
    dead.sort_by(|a, b| a.reason.cmp(&b.reason));
    assert_eq!(dead.len(), 2);
    assert!(
        dead[0].reason.starts_with("malformed message"),
        "{}",
        dead[0].reason
    );
    assert_eq!(dead[0].data, b"\x00\x01garbage");
    assert!(
        dead[1].reason.contains("nobody::registered_this"),
        "{}",
        dead[1].reason
    );
}

#[test]
fn test_blocking_api_from_sync_code() {
    let h = queue("blocking-api");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let consumer = runtime
        .block_on(async { Consumer::builder(&h).workers(1).start() })
        .unwrap();
    // A plain thread with no runtime of its own: enqueue and wait through the blocking API.
    let producer = h.clone();
    let value = std::thread::spawn(move || {
        let mut r = add::blocking_enqueue(&producer, 40, 2).unwrap();
        r.blocking_wait(WAIT).unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(value, 42);
    runtime.block_on(consumer.shutdown()).unwrap();
}

/// Due every minute, so the scheduler enqueues it as soon as a consumer starts.
#[periodic_task(crontab(minute = "*"))]
async fn every_minute() -> u32 {
    1
}

async fn wait_for_signal(huey: &Huey, wanted: Signal, name: &'static str, start: impl FnOnce()) {
    let seen = Arc::new(tokio::sync::Notify::new());
    let s = seen.clone();
    huey.connect_signal(&[wanted], move |_, task, _| {
        if task.name() == name {
            s.notify_one();
        }
    });
    start();
    tokio::time::timeout(WAIT, seen.notified())
        .await
        .expect("the signal fired");
}

#[tokio::test]
async fn test_consumer_periodic_tasks() {
    let h = queue("periodic");
    let mut consumer = None;
    wait_for_signal(&h, Signal::Complete, every_minute::NAME, || {
        consumer = Some(Consumer::builder(&h).workers(1).start().unwrap());
    })
    .await;
    assert!(
        h.result_count().await.unwrap() >= 1,
        "the tick was claimed in storage"
    );
    consumer.unwrap().shutdown().await.unwrap();

    // A revoked periodic task is still enqueued each tick, and skipped when it runs.
    let revoked = queue("periodic-revoked");
    every_minute::revoke(&revoked, Revoke::Forever)
        .await
        .unwrap();
    let mut consumer = None;
    wait_for_signal(&revoked, Signal::Revoked, every_minute::NAME, || {
        consumer = Some(Consumer::builder(&revoked).workers(1).start().unwrap());
    })
    .await;
    consumer.unwrap().shutdown().await.unwrap();
}

#[tokio::test]
async fn test_consumer_without_periodic() {
    let h = queue("no-periodic");
    let consumer = Consumer::builder(&h)
        .workers(1)
        .periodic(false)
        .scheduler_interval(Duration::from_millis(10))
        .start()
        .unwrap();
    // Only the scheduler can bring a delayed task back, so once it ran, the scheduler had
    // ticked (and would have enqueued the periodic task on its first tick).
    let mut r = add::call(1, 1)
        .delay(Duration::from_millis(30))
        .enqueue(&h)
        .await
        .unwrap();
    assert_eq!(r.wait(WAIT).await.unwrap(), 2);
    consumer.shutdown().await.unwrap();
    assert_eq!(h.pending_count().await.unwrap(), 0);
    assert_eq!(
        h.result_count().await.unwrap(),
        0,
        "no periodic tick was claimed or run"
    );
}

#[tokio::test]
async fn test_every_worker_state_holds_the_queue() {
    let h = queue("state-holds-queue");
    let consumer = Consumer::builder(&h).workers(2).start().unwrap();
    let mut first = follow_up::enqueue(&h, 21).await.unwrap();
    let next_id = first.wait(WAIT).await.unwrap();
    let mut next: TaskResult<i64> = h.result(next_id);
    assert_eq!(next.wait(WAIT).await.unwrap(), 42);
    consumer.shutdown().await.unwrap();

    let immediate = Huey::builder("state-holds-queue-immediate")
        .immediate(true)
        .build(MemoryStorage::new());
    let mut ran = follow_up::enqueue(&immediate, 2).await.unwrap();
    let next_id = ran.get().await.unwrap().expect("ran inside enqueue");
    let mut next: TaskResult<i64> = immediate.result(next_id);
    assert_eq!(next.get().await.unwrap(), Some(4));
}

#[tokio::test]
async fn test_consumer_without_workers_only_schedules() {
    let h = queue("schedule-only");
    let scheduler = Consumer::builder(&h)
        .workers(0)
        .scheduler_interval(Duration::from_millis(20))
        .start()
        .unwrap();
    let mut r = add::call(2, 3)
        .delay(Duration::from_millis(50))
        .enqueue(&h)
        .await
        .unwrap();
    // The scheduler has no event to await from here: poll until it moved the task.
    let deadline = std::time::Instant::now() + WAIT;
    while h.scheduled_count().await.unwrap() > 0 {
        assert!(std::time::Instant::now() < deadline, "never moved");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        h.pending_count().await.unwrap(),
        1,
        "moved, and run by no one"
    );
    assert_eq!(r.get().await.unwrap(), None);

    let workers = Consumer::builder(&h).scheduler(false).start().unwrap();
    assert_eq!(
        r.wait(WAIT).await.unwrap(),
        5,
        "a worker-only consumer runs it"
    );
    workers.shutdown().await.unwrap();
    scheduler.shutdown().await.unwrap();
}

#[tokio::test]
async fn test_consumer_with_nothing_to_run_is_refused() {
    let h = queue("nothing-to-run");
    let refused = Consumer::builder(&h).workers(0).scheduler(false).start();
    assert!(
        matches!(refused, Err(HueyError::Configuration(_))),
        "no workers and no scheduler"
    );
}
