//! Huey's `test_signals.py` behaviours: which signals fire, in which order.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use huey_core::prelude::*;

#[task]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[task]
fn fail() -> anyhow::Result<()> {
    anyhow::bail!("failed")
}

#[task(retries = 1)]
fn fail_retry() -> anyhow::Result<()> {
    anyhow::bail!("failed")
}

#[task(retries = 1, retry_delay = "10s")]
fn fail_retry_delay() -> anyhow::Result<()> {
    anyhow::bail!("failed")
}

#[task(timeout = "20ms")]
async fn slow() {
    tokio::time::sleep(Duration::from_secs(30)).await;
}

type Log = Arc<Mutex<Vec<Signal>>>;

/// A queue whose every signal is recorded.
fn recorded() -> (Huey, Log) {
    let huey = Huey::builder("signals")
        .registered_hooks(false)
        .build(MemoryStorage::new());
    let log: Log = Arc::default();
    let l = log.clone();
    huey.connect_signal(&[], move |signal, _task, _error| {
        l.lock().unwrap().push(signal)
    });
    (huey, log)
}

fn take(log: &Log) -> Vec<Signal> {
    std::mem::take(&mut *log.lock().unwrap())
}

async fn run(huey: &Huey) {
    huey.run_next(&WorkerState::default()).await.unwrap();
}

use Signal::*;

#[tokio::test]
async fn test_signals_simple() {
    let (h, log) = recorded();
    add::enqueue(&h, 1, 2).await.unwrap();
    run(&h).await;
    assert_eq!(take(&log), [Enqueued, Executing, Complete]);

    add::call(1, 2)
        .delay(Duration::from_secs(60))
        .enqueue(&h)
        .await
        .unwrap();
    run(&h).await;
    assert_eq!(take(&log), [Enqueued, Scheduled]);

    fail::enqueue(&h).await.unwrap();
    run(&h).await;
    assert_eq!(take(&log), [Enqueued, Executing, Error]);
}

#[tokio::test]
async fn test_signal_complete_result_ready() {
    let h = Huey::builder("complete")
        .registered_hooks(false)
        .build(MemoryStorage::new());
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    let storage = h.storage();
    h.connect_signal(&[Complete], move |_, task, _| {
        // The handler runs synchronously; read the store from a helper runtime.
        let storage = storage.clone();
        let id = task.id().to_owned();
        let found = std::thread::spawn(move || {
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(storage.peek_data(&id))
                .unwrap()
        })
        .join()
        .unwrap();
        *s.lock().unwrap() = Some(found.is_some());
    });
    add::enqueue(&h, 1, 2).await.unwrap();
    run(&h).await;
    assert_eq!(*seen.lock().unwrap(), Some(true));
}

#[tokio::test]
async fn test_signals_on_retry() {
    let (h, log) = recorded();
    fail_retry::enqueue(&h).await.unwrap();
    run(&h).await;
    assert_eq!(take(&log), [Enqueued, Executing, Error, Retrying, Enqueued]);

    fail_retry_delay::enqueue(&h).await.unwrap();
    // Drain the retry of the first task first.
    run(&h).await;
    take(&log);
    run(&h).await;
    assert_eq!(take(&log), [Executing, Error, Retrying, Scheduled]);
}

#[tokio::test]
async fn test_signals_revoked() {
    let (h, log) = recorded();
    add::revoke(&h, Revoke::Once).await.unwrap();
    add::enqueue(&h, 1, 1).await.unwrap();
    run(&h).await;
    assert_eq!(take(&log), [Enqueued, Revoked]);
    add::enqueue(&h, 1, 1).await.unwrap();
    run(&h).await;
    assert_eq!(take(&log), [Enqueued, Executing, Complete]);
}

#[tokio::test]
async fn test_signal_expired() {
    let (h, log) = recorded();
    add::call(1, 1)
        .expires_at(Utc::now() - chrono::TimeDelta::seconds(1))
        .enqueue(&h)
        .await
        .unwrap();
    run(&h).await;
    assert_eq!(take(&log), [Enqueued, Expired]);
}

#[tokio::test]
async fn test_signal_timeout() {
    let (h, log) = recorded();
    slow::enqueue(&h).await.unwrap();
    run(&h).await;
    assert_eq!(take(&log), [Enqueued, Executing, Timeout]);
}

#[tokio::test]
async fn test_error_signal_carries_the_error() {
    let h = Huey::builder("error")
        .registered_hooks(false)
        .build(MemoryStorage::new());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    h.connect_signal(&[Error], move |_, _, error| {
        s.lock().unwrap().push(error.map(|e| e.to_string()));
    });
    fail::enqueue(&h).await.unwrap();
    run(&h).await;
    assert_eq!(*seen.lock().unwrap(), [Some("failed".to_string())]);
}

#[tokio::test]
async fn test_specific_handler() {
    let h = Huey::builder("specific")
        .registered_hooks(false)
        .build(MemoryStorage::new());
    let log: Log = Arc::default();
    let l = log.clone();
    let id = h.connect_signal(&[Complete], move |s, _, _| l.lock().unwrap().push(s));
    add::enqueue(&h, 1, 1).await.unwrap();
    run(&h).await;
    assert_eq!(take(&log), [Complete]);
    assert!(h.disconnect(id));
    add::enqueue(&h, 1, 1).await.unwrap();
    run(&h).await;
    assert!(take(&log).is_empty());
}

#[tokio::test]
async fn test_multi_handlers() {
    let h = Huey::builder("multi")
        .registered_hooks(false)
        .build(MemoryStorage::new());
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let l = log.clone();
    let both = h.connect_signal(&[Executing, Complete], move |s, _, _| {
        l.lock().unwrap().push(format!("both:{s}"))
    });
    let l = log.clone();
    h.connect_signal(&[Complete], move |s, _, _| {
        l.lock().unwrap().push(format!("one:{s}"))
    });
    let l = log.clone();
    h.connect_signal(&[], move |s, _, _| {
        l.lock().unwrap().push(format!("any:{s}"))
    });
    add::enqueue(&h, 1, 1).await.unwrap();
    run(&h).await;
    assert_eq!(
        std::mem::take(&mut *log.lock().unwrap()),
        [
            "any:enqueued",
            "both:executing",
            "any:executing",
            "both:complete",
            "one:complete",
            "any:complete",
        ],
        "specific handlers first, then handlers of every signal"
    );
    assert!(h.disconnect(both));
    add::enqueue(&h, 1, 1).await.unwrap();
    run(&h).await;
    assert_eq!(
        std::mem::take(&mut *log.lock().unwrap()),
        [
            "any:enqueued",
            "any:executing",
            "one:complete",
            "any:complete"
        ]
    );
}

#[tokio::test]
async fn test_handler_error_does_not_block_others() {
    let h = Huey::builder("handler-error")
        .registered_hooks(false)
        .build(MemoryStorage::new());
    let log: Log = Arc::default();
    h.connect_signal(&[Complete], |_, _, _| panic!("handler broke"));
    let l = log.clone();
    h.connect_signal(&[Complete], move |s, _, _| l.lock().unwrap().push(s));
    let mut r = add::enqueue(&h, 2, 3).await.unwrap();
    run(&h).await;
    assert_eq!(take(&log), [Complete]);
    assert_eq!(r.get().await.unwrap(), Some(5));
}
