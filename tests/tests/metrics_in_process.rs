//! Metrics of an in-process consumer with thread workers on the memory storage, read from a
//! Prometheus recorder the test installs itself, as a library user would: outcomes the CLI
//! test does not reach (cancelled, timeout, interrupted), the busy and in-flight gauges while a
//! body runs, and the queue latency of a task with an ETA.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use huey_core::prelude::*;
use huey_core::{Consumer, WorkerKind};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const WAIT: Duration = Duration::from_secs(20);

#[task]
fn quick(n: u64) -> u64 {
    n
}

#[task(timeout = "50ms")]
async fn too_slow() {
    tokio::time::sleep(Duration::from_secs(5)).await;
}

#[task]
async fn sleeper(millis: u64) {
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

fn install() -> PrometheusHandle {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &[0.01, 0.1, 1.0, 10.0])
        .unwrap()
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).unwrap();
    huey_core::metrics::describe();
    handle
}

fn samples(handle: &PrometheusHandle) -> HashMap<String, f64> {
    handle
        .render()
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn get(seen: &HashMap<String, f64>, key: String) -> f64 {
    seen.get(&key).copied().unwrap_or(0.0)
}

fn outcome(seen: &HashMap<String, f64>, task: &str, outcome: &str) -> f64 {
    get(
        seen,
        format!("huey_tasks_total{{task=\"{task}\",outcome=\"{outcome}\"}}"),
    )
}

/// Polls the recorder until `done` holds (the gauges are sampled, so there is no event to
/// await), with a deadline.
async fn until(handle: &PrometheusHandle, done: impl Fn(&HashMap<String, f64>) -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        let seen = samples(handle);
        if done(&seen) {
            return;
        }
        assert!(Instant::now() < deadline, "not reached: {seen:#?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_thread_workers_record_outcomes_times_and_gauges() {
    let handle = install();
    let huey = Huey::memory("in-process");
    huey.add_pre_execute("cancel", |task| {
        if task.args_json() == "[0]" {
            return Err(CancelExecution::new("zero").into());
        }
        Ok(())
    });
    let consumer = Consumer::builder(&huey)
        .workers(2)
        .worker_kind(WorkerKind::Thread)
        .metrics_interval(Duration::from_millis(10))
        // The schedule is read often, so an ETA task starts within ~10 ms of its ETA.
        .scheduler_interval(Duration::from_millis(10))
        .periodic(false)
        .start()
        .unwrap();

    let mut done = quick::enqueue(&huey, 1).await.unwrap();
    assert_eq!(done.wait(WAIT).await.unwrap(), 1);
    // Half a second ahead: its latency is counted from the ETA, not from the enqueue.
    let mut later = quick::call(2)
        .delay(Duration::from_millis(500))
        .enqueue(&huey)
        .await
        .unwrap();
    assert_eq!(later.wait(WAIT).await.unwrap(), 2);
    let cancelled = quick::enqueue(&huey, 0).await.unwrap();
    let mut slow = too_slow::enqueue(&huey).await.unwrap();
    assert!(slow.wait(WAIT).await.is_err(), "timed out");

    // A waiter wakes when the result is stored; the count follows the settlement.
    until(&handle, |seen| {
        outcome(seen, quick::NAME, "complete") == 2.0
            && outcome(seen, too_slow::NAME, "timeout") == 1.0
    })
    .await;
    let seen = samples(&handle);
    let latency = |le: &str| {
        let key = format!(
            "huey_task_queue_latency_seconds_bucket{{task=\"{}\",le=\"{le}\"}}",
            quick::NAME
        );
        get(&seen, key)
    };
    // Both waits were short (the first one's includes the thread workers' start on a busy
    // machine): the ETA task's half second before its ETA is not waiting, and the scheduler's
    // delay after it is short.
    assert!(latency("1") >= 2.0, "{seen:#?}");
    until(&handle, |seen| {
        outcome(seen, quick::NAME, "cancelled") == 1.0
    })
    .await;
    drop(cancelled);

    // A body running: one busy worker, one task in flight; then an immediate stop interrupts
    // it and puts it back.
    let _running = sleeper::enqueue(&huey, 30_000).await.unwrap();
    let busy = "huey_workers_busy{queue=\"in-process\"}".to_owned();
    let held = "huey_tasks_in_flight{queue=\"in-process\"}".to_owned();
    until(&handle, |seen| {
        get(seen, busy.clone()) == 1.0 && get(seen, held.clone()) == 1.0
    })
    .await;
    assert_eq!(
        get(
            &samples(&handle),
            "huey_workers{queue=\"in-process\"}".into()
        ),
        2.0
    );
    consumer.stop_now().await.unwrap();
    // At least once: now and then (about one run in ten here) the requeued task is claimed
    // and started again by the other worker before that one sees the stop, and is interrupted
    // again (its queue latency then counted twice too). A consumer matter, not a metrics one.
    until(&handle, |seen| {
        outcome(seen, sleeper::NAME, "interrupted") >= 1.0
    })
    .await;
    let seen = samples(&handle);
    assert_eq!(huey.pending_count().await.unwrap(), 1, "back on the queue");
    let runs = format!("huey_task_run_seconds_count{{task=\"{}\"}}", quick::NAME);
    assert_eq!(
        get(&seen, runs),
        2.0,
        "the cancelled task's body did not run"
    );
}
