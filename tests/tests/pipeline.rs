//! Pipelines (Huey's `TestTaskChaining` and the pipeline rows of `test_api.py`), each run
//! against `MemoryStorage` and against a test-started `redis-server`. The queue is run by hand
//! (`run_next`, Huey's `execute_next`) so every test decides when each stage executes.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use huey_core::prelude::*;
use huey_core::{Executed, HueyBuilder};
use huey_tests::backend::{Backend, WAIT, failure_of, step};
use serde::{Deserialize, Serialize};

#[task]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[task]
fn fail(message: String) -> Result<i64, TaskError> {
    Err(TaskError::msg(message))
}

#[task(retries = 2)]
fn fail_twice(value: i64) -> Result<i64, TaskError> {
    Err(TaskError::msg(format!("cannot take {value}")))
}

#[task]
fn split(n: i64) -> (i64, i64) {
    (n / 2, n - n / 2)
}

#[task]
fn join_pair(pair: (i64, i64)) -> String {
    format!("{}+{}", pair.0, pair.1)
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Totals {
    count: u32,
    sum: i64,
}

#[task]
fn totals(values: Vec<i64>) -> Totals {
    Totals {
        count: values.len() as u32,
        sum: values.iter().sum(),
    }
}

#[task]
fn describe(prefix: String, totals: Totals) -> String {
    format!("{prefix}{} values, sum {}", totals.count, totals.sum)
}

#[task]
fn nothing() {}

#[task]
fn on_failure(label: String, failure: TaskFailure) -> String {
    format!("{label}: {}", failure.error)
}

#[task]
fn failing_handler(failure: TaskFailure) -> Result<(), TaskError> {
    Err(TaskError::msg(format!(
        "handler failed on {}",
        failure.error
    )))
}

fn defaults(builder: HueyBuilder) -> HueyBuilder {
    builder
}

huey_tests::on_both_backends!(
    test_partial,
    test_pipeline_tuple,
    test_pipeline_struct,
    test_mixed_tasks_instances,
    test_each_stage_keeps_its_id,
    test_schedule_s,
    test_error_callback,
    test_error_callback_retries,
    test_on_error_deferred,
    test_pipeline_error_midway,
    test_pipeline_error_retries_then_downstream,
    test_pipeline_revoke_midway,
    test_reschedule_keeps_the_pipeline,
    test_chain_errors,
    test_pipeline_without_results,
    test_pipeline_on_a_consumer,
    test_signed_compressed_pipeline_on_a_consumer,
);

/// `then(task, x)` calls `task(x, previous value)`.
async fn test_partial(backend: Backend) {
    let huey = backend.huey_with("partial", defaults).await;
    let (mut first, mut second, mut third) = add::call(1, 2)
        .then(add::partial(3))
        .then(add::partial(10))
        .enqueue(&huey)
        .await
        .unwrap();
    assert_eq!(huey.pending_count().await.unwrap(), 1);
    assert_eq!(step(&huey).await, Executed::Completed);
    assert_eq!(first.wait(WAIT).await.unwrap(), 3);
    assert_eq!(huey.pending_count().await.unwrap(), 1);
    assert_eq!(step(&huey).await, Executed::Completed);
    assert_eq!(second.wait(WAIT).await.unwrap(), 6);
    assert_eq!(step(&huey).await, Executed::Completed);
    assert_eq!(third.wait(WAIT).await.unwrap(), 16);
    assert_eq!(huey.pending_count().await.unwrap(), 0);
}

/// Huey extends the next stage's arguments with a returned tuple; typed, a tuple output
/// arrives as one tuple parameter.
async fn test_pipeline_tuple(backend: Backend) {
    let huey = backend.huey_with("tuple", defaults).await;
    let (_, mut joined) = split::call(7)
        .then(join_pair::partial())
        .enqueue(&huey)
        .await
        .unwrap();
    step(&huey).await;
    step(&huey).await;
    assert_eq!(joined.wait(WAIT).await.unwrap(), "3+4");
}

/// Huey merges a returned dict into the next stage's kwargs; typed, a struct output arrives as
/// one parameter, after the arguments given to `partial`.
async fn test_pipeline_struct(backend: Backend) {
    let huey = backend.huey_with("struct", defaults).await;
    let (mut sums, mut text) = totals::call(vec![1, 2, 3])
        .then(describe::partial("got ".to_owned()))
        .enqueue(&huey)
        .await
        .unwrap();
    step(&huey).await;
    step(&huey).await;
    assert_eq!(sums.wait(WAIT).await.unwrap(), Totals { count: 3, sum: 6 });
    assert_eq!(text.wait(WAIT).await.unwrap(), "got 3 values, sum 6");
}

/// A stage may be a full call when the stage before returns `()` (Huey passes nothing on for
/// `None`), or a partial call.
async fn test_mixed_tasks_instances(backend: Backend) {
    let huey = backend.huey_with("mixed", defaults).await;
    let (_, mut sum, mut more) = nothing::call()
        .then(add::call(2, 3))
        .then(add::partial(1))
        .enqueue(&huey)
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(step(&huey).await, Executed::Completed);
    }
    assert_eq!(sum.wait(WAIT).await.unwrap(), 5);
    assert_eq!(more.wait(WAIT).await.unwrap(), 6);
}

/// Each stage keeps the id it was given.
async fn test_each_stage_keeps_its_id(backend: Backend) {
    let huey = backend.huey_with("ids", defaults).await;
    let (first, second) = add::call(1, 1)
        .id("first-stage")
        .then(add::partial(1).id("second-stage"))
        .enqueue(&huey)
        .await
        .unwrap();
    assert_eq!(first.id(), "first-stage");
    assert_eq!(second.id(), "second-stage");
    step(&huey).await;
    assert_eq!(huey.pending(None).await.unwrap()[0].id, "second-stage");
    step(&huey).await;
    let mut by_id: TaskResult<i64> = huey.result("second-stage");
    assert_eq!(by_id.wait(WAIT).await.unwrap(), 3);
}

/// Each stage's delay gives it its own ETA, computed when the stage is built.
async fn test_schedule_s(backend: Backend) {
    let huey = backend.huey_with("schedule-s", defaults).await;
    let before = Utc::now();
    let (_, mut second) = add::call(1, 2)
        .then(add::partial(3).delay(Duration::from_secs(60)))
        .enqueue(&huey)
        .await
        .unwrap();
    step(&huey).await;
    // The second stage ran into its ETA, so it went to the schedule.
    assert_eq!(step(&huey).await, Executed::Scheduled);
    let scheduled = huey.scheduled(None).await.unwrap();
    let eta = scheduled[0].eta.expect("an eta");
    assert!(eta >= before + TimeDelta::seconds(60) && eta <= Utc::now() + TimeDelta::seconds(60));
    assert!(!second.is_ready().await.unwrap());
    let promoted = huey
        .storage()
        .promote_due(eta + TimeDelta::seconds(1))
        .await
        .unwrap();
    assert_eq!(promoted.len(), 1);
    let ran = huey
        .run_next_at(&WorkerState::new(0), eta + TimeDelta::seconds(1))
        .await
        .unwrap();
    assert_eq!(ran, Some(Executed::Completed));
    assert_eq!(second.wait(WAIT).await.unwrap(), 6);
}

/// `.error(handler)` enqueues `handler(.., failure)` when the task fails.
async fn test_error_callback(backend: Backend) {
    let huey = backend.huey_with("error-callback", defaults).await;
    let mut failed = fail::call("boom".to_owned())
        .error(on_failure::partial("handled".to_owned()).id("handler"))
        .enqueue(&huey)
        .await
        .unwrap();
    assert_eq!(step(&huey).await, Executed::Failed);
    let failure = failure_of(&mut failed).await;
    assert_eq!(failure.error, "boom");
    assert_eq!(huey.pending_count().await.unwrap(), 1);
    assert_eq!(step(&huey).await, Executed::Completed);
    let mut handled: TaskResult<String> = huey.result("handler");
    assert_eq!(handled.wait(WAIT).await.unwrap(), "handled: boom");
}

/// With intermediate errors stored (the default), the handler runs once per failed attempt,
/// each time with that attempt's failure.
async fn test_error_callback_retries(backend: Backend) {
    let huey = backend.huey_with("error-retries", defaults).await;
    let _ = fail_twice::call(5)
        .error(on_failure::partial("attempt".to_owned()))
        .enqueue(&huey)
        .await
        .unwrap();
    let mut handler_runs = Vec::new();
    for expected_retries in [2, 1, 0] {
        let ended = step(&huey).await;
        let expected = if expected_retries == 0 {
            Executed::Failed
        } else {
            Executed::Retrying
        };
        assert_eq!(ended, expected);
        // Next in the queue: the handler (enqueued first), then the retry.
        let pending = huey.pending(None).await.unwrap();
        assert_eq!(pending[0].name, on_failure::NAME);
        let failure: TaskFailure =
            serde_json::from_str::<(String, TaskFailure)>(pending[0].args.get())
                .unwrap()
                .1;
        assert_eq!(failure.retries, expected_retries);
        handler_runs.push(step(&huey).await);
    }
    assert_eq!(handler_runs, vec![Executed::Completed; 3]);
    assert_eq!(huey.pending_count().await.unwrap(), 0);
}

/// Without intermediate errors the handler runs once, after the final attempt.
async fn test_on_error_deferred(backend: Backend) {
    fn no_intermediate(builder: HueyBuilder) -> HueyBuilder {
        builder.store_intermediate_errors(false)
    }
    let huey = backend.huey_with("error-deferred", no_intermediate).await;
    let _ = fail_twice::call(1)
        .error(on_failure::partial("final".to_owned()).id("deferred-handler"))
        .enqueue(&huey)
        .await
        .unwrap();
    assert_eq!(step(&huey).await, Executed::Retrying);
    assert_eq!(step(&huey).await, Executed::Retrying);
    assert!(
        huey.pending(None)
            .await
            .unwrap()
            .iter()
            .all(|m| m.name == fail_twice::NAME)
    );
    assert_eq!(step(&huey).await, Executed::Failed);
    assert_eq!(step(&huey).await, Executed::Completed);
    let mut handled: TaskResult<String> = huey.result("deferred-handler");
    assert_eq!(handled.wait(WAIT).await.unwrap(), "final: cannot take 1");
    assert_eq!(huey.pending_count().await.unwrap(), 0);
}

/// A stage that fails for good halts the pipeline: later stages are never enqueued, and their
/// handles hold the same failure, naming the failing task.
async fn test_pipeline_error_midway(backend: Backend) {
    let huey = backend.huey_with("error-midway", defaults).await;
    let (mut first, mut second, mut third, mut fourth) = add::call(1, 2)
        .then(fail_twice::partial().retries(0))
        .then(add::partial(1))
        .then(add::partial(1))
        .enqueue(&huey)
        .await
        .unwrap();
    assert_eq!(step(&huey).await, Executed::Completed);
    assert_eq!(first.wait(WAIT).await.unwrap(), 3);
    assert_eq!(step(&huey).await, Executed::Failed);
    assert_eq!(huey.pending_count().await.unwrap(), 0);
    let own = failure_of(&mut second).await;
    assert_eq!(own.error, "cannot take 3");
    for handle in [&mut third, &mut fourth] {
        let downstream = failure_of(handle).await;
        assert_eq!(downstream, own);
        assert_eq!(downstream.task_id, second.id());
    }
}

/// Later stages are marked only once the failing stage has no retries left.
async fn test_pipeline_error_retries_then_downstream(backend: Backend) {
    let huey = backend
        .huey_with("error-retries-downstream", defaults)
        .await;
    let (_, mut after) = fail_twice::call(7)
        .then(add::partial(1))
        .enqueue(&huey)
        .await
        .unwrap();
    assert_eq!(step(&huey).await, Executed::Retrying);
    assert!(!after.is_ready().await.unwrap());
    assert_eq!(step(&huey).await, Executed::Retrying);
    assert!(!after.is_ready().await.unwrap());
    assert_eq!(step(&huey).await, Executed::Failed);
    assert_eq!(failure_of(&mut after).await.error, "cannot take 7");
}

/// A revoked middle stage halts the pipeline and its revoke flag is cleared. Unlike Huey,
/// later stages get a `skipped` failure, so their handles do not wait for ever.
async fn test_pipeline_revoke_midway(backend: Backend) {
    let huey = backend.huey_with("revoke-midway", defaults).await;
    let (_, second, mut third) = add::call(1, 2)
        .then(add::partial(1))
        .then(add::partial(1))
        .enqueue(&huey)
        .await
        .unwrap();
    second.revoke().await.unwrap();
    assert_eq!(step(&huey).await, Executed::Completed);
    assert_eq!(step(&huey).await, Executed::Revoked);
    assert_eq!(huey.pending_count().await.unwrap(), 0);
    assert!(!second.is_revoked().await.unwrap());
    let skipped = failure_of(&mut third).await;
    assert_eq!(skipped.kind, "skipped");
    assert_eq!(skipped.task_id, second.id());
}

/// A rescheduled stage's copy carries the pipeline on (Huey's `preserve_pipeline`); the
/// superseded original does not mark the later stages skipped.
async fn test_reschedule_keeps_the_pipeline(backend: Backend) {
    let huey = backend.huey_with("reschedule-pipeline", defaults).await;
    let (first, mut second) = add::call(1, 2)
        .then(add::partial(10))
        .enqueue(&huey)
        .await
        .unwrap();
    let mut copy = first
        .reschedule(huey_core::Reschedule::now())
        .await
        .unwrap();
    assert_eq!(step(&huey).await, Executed::Revoked);
    assert!(!second.is_ready().await.unwrap(), "not marked skipped");
    assert_eq!(step(&huey).await, Executed::Completed);
    assert_eq!(copy.wait(WAIT).await.unwrap(), 3);
    assert_eq!(step(&huey).await, Executed::Completed);
    assert_eq!(second.wait(WAIT).await.unwrap(), 13);
}

/// Error handlers can have error handlers of their own.
async fn test_chain_errors(backend: Backend) {
    let huey = backend.huey_with("chain-errors", defaults).await;
    let _ = fail::call("first".to_owned())
        .error(
            failing_handler::partial()
                .id("failing-handler")
                .error(on_failure::partial("second".to_owned()).id("last-handler")),
        )
        .enqueue(&huey)
        .await
        .unwrap();
    assert_eq!(step(&huey).await, Executed::Failed);
    assert_eq!(step(&huey).await, Executed::Failed);
    assert_eq!(step(&huey).await, Executed::Completed);
    let mut last: TaskResult<String> = huey.result("last-handler");
    assert_eq!(
        last.wait(WAIT).await.unwrap(),
        "second: handler failed on first"
    );
}

/// With results turned off a pipeline still runs every stage.
async fn test_pipeline_without_results(backend: Backend) {
    fn no_results(builder: HueyBuilder) -> HueyBuilder {
        builder.results(false)
    }
    let huey = backend.huey_with("no-results", no_results).await;
    let _ = add::call(1, 2)
        .then(add::partial(3))
        .enqueue(&huey)
        .await
        .unwrap();
    assert_eq!(step(&huey).await, Executed::Completed);
    assert_eq!(step(&huey).await, Executed::Completed);
    assert_eq!(huey.result_count().await.unwrap(), 0);
}

/// End to end on a running consumer.
async fn test_pipeline_on_a_consumer(backend: Backend) {
    let huey = backend.huey_with("consumer", defaults).await;
    let consumer = Consumer::builder(&huey).workers(2).start().unwrap();
    let (mut a, mut b, mut c) = add::call(2, 3)
        .then(add::partial(5))
        .then(add::partial(1))
        .enqueue(&huey)
        .await
        .unwrap();
    assert_eq!(a.wait(WAIT).await.unwrap(), 5);
    assert_eq!(b.wait(WAIT).await.unwrap(), 10);
    assert_eq!(c.wait(WAIT).await.unwrap(), 11);
    consumer.shutdown().await.unwrap();
}

/// Every stage a pipeline enqueues is signed and compressed like the head.
async fn test_signed_compressed_pipeline_on_a_consumer(backend: Backend) {
    fn sealed(builder: HueyBuilder) -> HueyBuilder {
        builder
            .signing_secret("pipeline secret")
            .compression(huey_core::Compression::Zlib { level: 6 })
    }
    let huey = backend.huey_with("sealed", sealed).await;
    let consumer = Consumer::builder(&huey).workers(2).start().unwrap();
    let (_, mut last) = add::call(1, 2)
        .then(add::partial(3))
        .enqueue(&huey)
        .await
        .unwrap();
    assert_eq!(last.wait(WAIT).await.unwrap(), 6);
    consumer.shutdown().await.unwrap();
    assert!(huey.dead_letters(None).await.unwrap().is_empty());
}
