//! Groups and chords (Huey's `TestGroupPrimitive` and `TestChordPrimitive`), each run against
//! `MemoryStorage` and against a test-started `redis-server`. The queue is run by hand
//! (`run_next`) so every test decides the order in which members execute.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use huey_core::group::{Group, MemberResult, group};
use huey_core::prelude::*;
use huey_core::{Executed, ResultError};
use huey_tests::backend::{Backend, WAIT, attempt_failure_of, failure_of, step};

#[task]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[task]
fn mul(a: i64, b: i64) -> i64 {
    a * b
}

#[task]
fn fail(message: String) -> Result<i64, TaskError> {
    Err(TaskError::msg(message))
}

#[task]
fn fail_with_prefix(prefix: String, n: i64) -> Result<i64, TaskError> {
    Err(TaskError::msg(format!("{prefix}{n}")))
}

#[task]
fn maybe(n: i64) -> Option<i64> {
    (n > 0).then_some(n)
}

static ATTEMPTS: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);

/// Fails until its `key` has been tried `failures` times, then returns `value`.
#[task(retries = 3)]
fn flaky(key: String, failures: u32, value: i64) -> Result<i64, TaskError> {
    let mut guard = ATTEMPTS.lock().unwrap();
    let tried = guard
        .get_or_insert_with(HashMap::new)
        .entry(key)
        .or_insert(0);
    *tried += 1;
    if *tried <= failures {
        Err(TaskError::msg(format!("attempt {tried} failed")))
    } else {
        Ok(value)
    }
}

/// The chord callback used by most tests: a readable summary of every member's outcome.
#[task]
fn summarize(label: String, outcomes: Vec<MemberResult<i64>>) -> String {
    let parts: Vec<String> = outcomes
        .into_iter()
        .map(|outcome| match outcome {
            MemberResult::Ok(value) => value.to_string(),
            MemberResult::Failed(failure) => format!("failed({})", failure.error),
            MemberResult::Skipped => "skipped".to_owned(),
        })
        .collect();
    format!("{label}[{}]", parts.join(", "))
}

#[task]
fn sum_ok(outcomes: Vec<MemberResult<i64>>) -> i64 {
    outcomes.into_iter().filter_map(MemberResult::ok).sum()
}

#[task]
fn count_nones(outcomes: Vec<MemberResult<Option<i64>>>) -> usize {
    outcomes
        .iter()
        .filter(|o| matches!(o, MemberResult::Ok(None)))
        .count()
}

#[task]
fn broken_callback(outcomes: Vec<MemberResult<i64>>) -> Result<i64, TaskError> {
    Err(TaskError::msg(format!("callback got {}", outcomes.len())))
}

#[task]
fn on_failure(label: String, failure: TaskFailure) -> String {
    format!("{label}: {}", failure.error)
}

/// A key no other test (or backend) uses.
fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Runs every queued task (and whatever they enqueue) until the queue is empty.
async fn drain(huey: &Huey) -> Vec<Executed> {
    let mut ran = Vec::new();
    while huey.pending_count().await.unwrap() > 0 {
        ran.push(step(huey).await);
    }
    ran
}

huey_tests::on_both_backends!(
    test_group,
    test_multiple_task_types,
    test_group_priorities,
    test_group_as_completed,
    test_group_error_handler,
    test_group_error_chaining,
    test_empty_chord,
    test_chord,
    test_single_member_chord,
    test_chord_callback_task_args,
    test_chord_callback_err,
    test_chord_pipeline_members,
    test_chord_error,
    test_chord_failed_and_revoked_members,
    test_chord_expired_member,
    test_chord_bookkeeping_cleared,
    test_chord_member_retry_then_success,
    test_chord_error_cb,
    test_chord_pipeline_member_head_fails,
    test_chord_pipeline_member_tail_fails,
    test_chord_total_failure,
    test_chord_pipeline_member_head_revoked,
    test_chord_ordering,
    test_chord_return_none,
    test_chord_scheduling,
    test_nested_chord,
    test_nested_empty_chord,
    test_rescheduled_chord_member,
    test_chord_callback_cb,
    test_chord_chaining,
    test_nested_chord_callback_pipeline_tail_walking,
    test_chord_on_a_consumer,
);

/// A group returns its handles in member order; one failure makes the whole wait fail.
async fn test_group(backend: Backend) {
    let huey = backend.huey("group").await;
    let mut results = group([add::call(1, 2), add::call(3, 4), add::call(5, 6)])
        .enqueue(&huey)
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(huey.pending_count().await.unwrap(), 3);
    assert_eq!(results.get().await.unwrap(), vec![None, None, None]);
    drain(&huey).await;
    assert_eq!(results.wait(WAIT).await.unwrap(), vec![3, 7, 11]);
    assert_eq!(results[1].get().await.unwrap(), Some(7));

    let mut with_failure = group([add::call(1, 1)])
        .push(fail::call("bad".to_owned()))
        .enqueue(&huey)
        .await
        .unwrap();
    drain(&huey).await;
    match with_failure.wait(WAIT).await {
        Err(ResultError::Failed(failure)) => assert_eq!(failure.error, "bad"),
        other => panic!("expected the member's failure, got {other:?}"),
    }
    assert_eq!(with_failure[0].get().await.unwrap(), Some(2));
}

/// Different tasks with the same output type can share a group.
async fn test_multiple_task_types(backend: Backend) {
    let huey = backend.huey("mixed-group").await;
    let mut results = group([add::call(2, 3)])
        .push(mul::call(2, 3))
        .push(add::call(1, 1).then(mul::partial(10)))
        .enqueue(&huey)
        .await
        .unwrap();
    drain(&huey).await;
    assert_eq!(results.wait(WAIT).await.unwrap(), vec![5, 6, 20]);
}

/// Members run in priority order; results still come back in member order.
async fn test_group_priorities(backend: Backend) {
    let huey = backend.huey("group-priorities").await;
    let mut results = group([
        add::call(0, 1).priority(1),
        add::call(0, 2).priority(3),
        add::call(0, 3).priority(2),
    ])
    .enqueue(&huey)
    .await
    .unwrap();
    if huey.storage().supports_priority() {
        let order: Vec<i32> = huey
            .pending(None)
            .await
            .unwrap()
            .iter()
            .map(|m| m.priority)
            .collect();
        assert_eq!(order, vec![3, 2, 1]);
    }
    drain(&huey).await;
    assert_eq!(results.wait(WAIT).await.unwrap(), vec![1, 2, 3]);
}

/// `as_completed` yields each member as it finishes, with its index.
async fn test_group_as_completed(backend: Backend) {
    let huey = backend.huey("as-completed").await;
    let results = group([add::call(0, 10), add::call(0, 20), add::call(0, 30)])
        .enqueue(&huey)
        .await
        .unwrap();
    let mut stream = Box::pin(results.as_completed(WAIT));
    let runner = huey.clone();
    let run = tokio::spawn(async move {
        for _ in 0..3 {
            step(&runner).await;
        }
    });
    let mut seen = Vec::new();
    while let Some((index, value)) = stream.next().await {
        seen.push((index, value.unwrap()));
    }
    run.await.unwrap();
    seen.sort();
    assert_eq!(seen, vec![(0, 10), (1, 20), (2, 30)]);
}

/// `group.error(handler)` runs the handler with the failing member's failure.
async fn test_group_error_handler(backend: Backend) {
    let huey = backend.huey("group-error").await;
    let _ = group([
        fail::call("first".to_owned()),
        fail::call("second".to_owned()),
    ])
    .error(on_failure::partial("handled".to_owned()))
    .enqueue(&huey)
    .await
    .unwrap();
    let ran = drain(&huey).await;
    assert_eq!(
        ran,
        vec![
            Executed::Failed,
            Executed::Failed,
            Executed::Completed,
            Executed::Completed
        ]
    );
    let handled: Vec<String> = huey
        .all_results()
        .await
        .unwrap()
        .into_values()
        .filter_map(|bytes| {
            let text = String::from_utf8(bytes).ok()?;
            text.contains("handled").then_some(text)
        })
        .collect();
    assert_eq!(handled.len(), 2, "one handler run per failed member");
}

/// `error` returns the group, so a callback can follow.
async fn test_group_error_chaining(backend: Backend) {
    let huey = backend.huey("group-error-chain").await;
    let mut chord = group([add::call(1, 1)])
        .push(fail::call("nope".to_owned()))
        .error(on_failure::partial("h".to_owned()))
        .then(summarize::partial("got ".to_owned()))
        .enqueue(&huey)
        .await
        .unwrap();
    drain(&huey).await;
    assert_eq!(
        chord.callback.wait(WAIT).await.unwrap(),
        "got [2, failed(nope)]"
    );
}

/// An empty chord runs its callback with an empty list.
async fn test_empty_chord(backend: Backend) {
    let huey = backend.huey("empty-chord").await;
    let mut chord = Group::<i64>::new()
        .then(summarize::partial("empty ".to_owned()))
        .enqueue(&huey)
        .await
        .unwrap();
    assert!(chord.results.is_empty());
    assert_eq!(drain(&huey).await, vec![Executed::Completed]);
    assert_eq!(chord.callback.wait(WAIT).await.unwrap(), "empty []");
}

/// The callback is enqueued only once every member has finished, with their values in member
/// order; members' own results stay readable.
async fn test_chord(backend: Backend) {
    let huey = backend.huey("chord").await;
    let mut chord = group([add::call(1, 1), add::call(2, 2), add::call(3, 3)])
        .then(summarize::partial("sums ".to_owned()))
        .enqueue(&huey)
        .await
        .unwrap();
    for left in [2, 1] {
        step(&huey).await;
        let pending = huey.pending(None).await.unwrap();
        assert_eq!(pending.len(), left);
        assert!(pending.iter().all(|m| m.name == add::NAME));
    }
    step(&huey).await;
    let pending = huey.pending(None).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].name, summarize::NAME);
    step(&huey).await;
    assert_eq!(chord.callback.wait(WAIT).await.unwrap(), "sums [2, 4, 6]");
    assert_eq!(chord.results.wait(WAIT).await.unwrap(), vec![2, 4, 6]);
}

/// A chord of one member works.
async fn test_single_member_chord(backend: Backend) {
    let huey = backend.huey("single-chord").await;
    let mut chord = group([add::call(20, 22)])
        .then(summarize::partial(String::new()))
        .enqueue(&huey)
        .await
        .unwrap();
    drain(&huey).await;
    assert_eq!(chord.callback.wait(WAIT).await.unwrap(), "[42]");
}

/// The callback's own arguments come first, then the list (Huey's
/// `test_group_callback_task_args`).
async fn test_chord_callback_task_args(backend: Backend) {
    let huey = backend.huey("chord-args").await;
    let mut chord = group([mul::call(2, 2)])
        .then(summarize::partial("prefix ".to_owned()).priority(5))
        .enqueue(&huey)
        .await
        .unwrap();
    drain(&huey).await;
    assert_eq!(chord.callback.wait(WAIT).await.unwrap(), "prefix [4]");
}

/// A failing callback runs its own error handler.
async fn test_chord_callback_err(backend: Backend) {
    let huey = backend.huey("chord-callback-err").await;
    let mut chord = group([add::call(1, 1), add::call(2, 2)])
        .then(
            broken_callback::partial()
                .error(on_failure::partial("callback".to_owned()).id("cb-handler")),
        )
        .enqueue(&huey)
        .await
        .unwrap();
    drain(&huey).await;
    assert_eq!(
        failure_of(&mut chord.callback).await.error,
        "callback got 2"
    );
    let mut handled: TaskResult<String> = huey.result("cb-handler");
    assert_eq!(
        handled.wait(WAIT).await.unwrap(),
        "callback: callback got 2"
    );
}

/// Pipeline members: the callback waits for each member's last stage, and gets its value.
async fn test_chord_pipeline_members(backend: Backend) {
    let huey = backend.huey("chord-pipelines").await;
    let mut chord = group([
        add::call(1, 2).then(mul::partial(10)).then(add::partial(1)),
        add::call(0, 5).then(mul::partial(2)).then(add::partial(0)),
    ])
    .then(summarize::partial("tails ".to_owned()))
    .enqueue(&huey)
    .await
    .unwrap();
    let ran = drain(&huey).await;
    assert_eq!(ran.len(), 7, "six stages, then the callback");
    assert_eq!(chord.callback.wait(WAIT).await.unwrap(), "tails [31, 10]");
    assert_eq!(chord.results.wait(WAIT).await.unwrap(), vec![31, 10]);
}

/// A failing member retries first; its final failure goes to the callback, and its handle in
/// `results` holds the failure.
async fn test_chord_error(backend: Backend) {
    let huey = backend.huey("chord-error").await;
    let key = unique("chord-error");
    let mut chord = group([add::call(1, 1)])
        .push(flaky::call(key, 9, 0).retries(1))
        .then(summarize::partial(String::new()))
        .enqueue(&huey)
        .await
        .unwrap();
    let ran = drain(&huey).await;
    assert_eq!(
        ran,
        vec![
            Executed::Completed,
            Executed::Retrying,
            Executed::Failed,
            Executed::Completed
        ]
    );
    assert_eq!(
        chord.callback.wait(WAIT).await.unwrap(),
        "[2, failed(attempt 2 failed)]"
    );
    assert_eq!(
        failure_of(&mut chord.results[1]).await.error,
        "attempt 2 failed"
    );
}

/// `[value, failure, skipped]`: a revoked member is skipped.
async fn test_chord_failed_and_revoked_members(backend: Backend) {
    let huey = backend.huey("chord-mixed-outcomes").await;
    let chord = group([add::call(1, 1)])
        .push(fail::call("x".to_owned()))
        .push(add::call(2, 2))
        .then(summarize::partial(String::new()))
        .enqueue(&huey)
        .await
        .unwrap();
    chord.results[2].revoke().await.unwrap();
    drain(&huey).await;
    let mut callback = chord.callback;
    assert_eq!(
        callback.wait(WAIT).await.unwrap(),
        "[2, failed(x), skipped]"
    );
}

/// An expired member is skipped.
async fn test_chord_expired_member(backend: Backend) {
    let huey = backend.huey("chord-expired").await;
    let mut chord = group([
        add::call(1, 1),
        add::call(2, 2).expires_at(chrono::Utc::now() - chrono::TimeDelta::seconds(1)),
    ])
    .then(summarize::partial(String::new()))
    .enqueue(&huey)
    .await
    .unwrap();
    assert_eq!(
        drain(&huey).await,
        vec![Executed::Completed, Executed::Expired, Executed::Completed]
    );
    assert_eq!(chord.callback.wait(WAIT).await.unwrap(), "[2, skipped]");
}

/// The bookkeeping is removed once the callback is enqueued: recording for the same chord
/// starts from nothing again.
async fn test_chord_bookkeeping_cleared(backend: Backend) {
    let huey = backend.huey("chord-cleared").await;
    let _ = group([add::call(1, 1), add::call(2, 2)])
        .then(summarize::partial(String::new()))
        .enqueue(&huey)
        .await
        .unwrap();
    let chord_id = huey.pending(None).await.unwrap()[0]
        .chord
        .as_ref()
        .expect("members carry the chord")
        .id
        .clone();
    drain(&huey).await;
    let storage = huey.storage();
    let again = storage
        .chord_record(&chord_id, 1, 2, b"1".to_vec())
        .await
        .unwrap();
    assert_eq!(again, None, "member 0's outcome was cleared");
    if let Some(server) = backend.server() {
        let client = ::redis::Client::open(server.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = ::redis::cmd("KEYS")
            .arg("huey.chord.*")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(keys.len(), 1, "only the fired chord's marker: {keys:?}");
    }
}

/// A member that fails and then succeeds on a retry contributes only its value.
async fn test_chord_member_retry_then_success(backend: Backend) {
    let huey = backend.huey("chord-retry-success").await;
    let key = unique("retry-success");
    let mut chord = group([flaky::call(key, 2, 7)])
        .push(add::call(1, 1))
        .then(summarize::partial(String::new()))
        .enqueue(&huey)
        .await
        .unwrap();
    drain(&huey).await;
    assert_eq!(chord.callback.wait(WAIT).await.unwrap(), "[7, 2]");
}

/// A member's error handler fires on each failed attempt; the callback still gets the final
/// failure.
async fn test_chord_error_cb(backend: Backend) {
    let huey = backend.huey("chord-error-cb").await;
    let key = unique("error-cb");
    let mut chord = group([flaky::call(key, 9, 0)
        .retries(1)
        .error(on_failure::partial("attempt".to_owned()))])
    .then(summarize::partial(String::new()))
    .enqueue(&huey)
    .await
    .unwrap();
    let ran = drain(&huey).await;
    let handler_runs = ran.iter().filter(|e| **e == Executed::Completed).count();
    // Two handler runs (one per failed attempt) and the callback.
    assert_eq!(handler_runs, 3);
    assert_eq!(
        chord.callback.wait(WAIT).await.unwrap(),
        "[failed(attempt 2 failed)]"
    );
}

/// A failing head of a pipeline member fails the whole member.
async fn test_chord_pipeline_member_head_fails(backend: Backend) {
    let huey = backend.huey("chord-head-fails").await;
    let mut chord = group([fail::call("head".to_owned()).then(add::partial(1))])
        .push(add::call(1, 1).then(add::partial(1)))
        .then(summarize::partial(String::new()))
        .enqueue(&huey)
        .await
        .unwrap();
    drain(&huey).await;
    assert_eq!(
        chord.callback.wait(WAIT).await.unwrap(),
        "[failed(head), 3]"
    );
}

/// A failing last stage of a pipeline member fails the member.
async fn test_chord_pipeline_member_tail_fails(backend: Backend) {
    let huey = backend.huey("chord-tail-fails").await;
    let mut chord = group([add::call(1, 1).then(fail_with_prefix::partial("tail ".to_owned()))])
        .push(add::call(1, 1).then(add::partial(1)))
        .then(summarize::partial(String::new()))
        .enqueue(&huey)
        .await
        .unwrap();
    drain(&huey).await;
    assert_eq!(
        chord.callback.wait(WAIT).await.unwrap(),
        "[failed(tail 2), 3]"
    );
    assert_eq!(failure_of(&mut chord.results[0]).await.error, "tail 2");
}

/// A failing callback makes the chord's result a failure; it retries like any task:
/// `wait_attempt` sees the first attempt's error, `wait` the final one.
async fn test_chord_total_failure(backend: Backend) {
    let huey = backend.huey("chord-total-failure").await;
    let mut chord = group([add::call(1, 1)])
        .then(broken_callback::partial().retries(1))
        .enqueue(&huey)
        .await
        .unwrap();
    assert_eq!(step(&huey).await, Executed::Completed);
    assert_eq!(step(&huey).await, Executed::Retrying);
    let first = attempt_failure_of(&mut chord.callback).await;
    assert_eq!(first.retries, 1);
    assert_eq!(step(&huey).await, Executed::Failed);
    let last = failure_of(&mut chord.callback).await;
    assert_eq!((last.retries, last.error.as_str()), (0, "callback got 1"));
}

/// A revoked head of a pipeline member makes the member skipped.
async fn test_chord_pipeline_member_head_revoked(backend: Backend) {
    let huey = backend.huey("chord-head-revoked").await;
    let mut chord = group([
        add::call(1, 1).id("revoked-head").then(add::partial(1)),
        add::call(1, 1).then(add::partial(1)),
    ])
    .then(summarize::partial(String::new()))
    .enqueue(&huey)
    .await
    .unwrap();
    huey.revoke_by_id("revoked-head", Revoke::Once)
        .await
        .unwrap();
    drain(&huey).await;
    assert_eq!(chord.callback.wait(WAIT).await.unwrap(), "[skipped, 3]");
}

/// The list follows member order, not completion order: the first member runs last.
async fn test_chord_ordering(backend: Backend) {
    let huey = backend.huey("chord-ordering").await;
    let mut chord = group([
        add::call(0, 1).delay(Duration::from_secs(60)),
        add::call(0, 2),
        add::call(0, 3),
    ])
    .then(summarize::partial(String::new()))
    .enqueue(&huey)
    .await
    .unwrap();
    assert_eq!(
        drain(&huey).await,
        vec![
            Executed::Scheduled,
            Executed::Completed,
            Executed::Completed
        ]
    );
    let later = chrono::Utc::now() + chrono::TimeDelta::seconds(61);
    huey.storage().promote_due(later).await.unwrap();
    let state = WorkerState::new(0);
    huey.run_next_at(&state, later).await.unwrap();
    step(&huey).await;
    assert_eq!(chord.callback.wait(WAIT).await.unwrap(), "[1, 2, 3]");
}

/// `None` values reach the callback whatever `store_none` says.
async fn test_chord_return_none(backend: Backend) {
    let huey = backend.huey("chord-none").await;
    let mut chord = group([maybe::call(0), maybe::call(5), maybe::call(-1)])
        .then(count_nones::partial())
        .enqueue(&huey)
        .await
        .unwrap();
    drain(&huey).await;
    assert_eq!(chord.callback.wait(WAIT).await.unwrap(), 2);
}

/// Delayed members work; the callback follows once they have run.
async fn test_chord_scheduling(backend: Backend) {
    let huey = backend.huey("chord-scheduling").await;
    let mut chord = group([
        add::call(1, 1),
        add::call(2, 2).delay(Duration::from_secs(60)),
    ])
    .then(summarize::partial(String::new()))
    .enqueue(&huey)
    .await
    .unwrap();
    let ran = drain(&huey).await;
    assert_eq!(ran, vec![Executed::Completed, Executed::Scheduled]);
    let later = chrono::Utc::now() + chrono::TimeDelta::seconds(61);
    let promoted = huey.storage().promote_due(later).await.unwrap();
    assert_eq!(promoted.len(), 1);
    let state = WorkerState::new(0);
    assert_eq!(
        huey.run_next_at(&state, later).await.unwrap(),
        Some(Executed::Completed)
    );
    step(&huey).await;
    assert_eq!(chord.callback.wait(WAIT).await.unwrap(), "[2, 4]");
}

/// Three levels of chords: each inner chord's callback value is its member's value.
async fn test_nested_chord(backend: Backend) {
    let huey = backend.huey("nested-chord").await;
    let inner = group([add::call(1, 1), add::call(2, 2)]).then(sum_ok::partial());
    let middle = group([add::call(0, 10)])
        .push(inner)
        .then(sum_ok::partial());
    let mut outer = group([add::call(0, 100)])
        .push(middle)
        .then(summarize::partial("outer ".to_owned()))
        .enqueue(&huey)
        .await
        .unwrap();
    // Four calls, the inner callback, the middle callback, the outer callback.
    assert_eq!(drain(&huey).await.len(), 7);
    assert_eq!(outer.callback.wait(WAIT).await.unwrap(), "outer [100, 16]");
    assert_eq!(outer.results.wait(WAIT).await.unwrap(), vec![100, 16]);
}

/// A nested chord without members runs its callback at once; its value joins the outer chord.
async fn test_nested_empty_chord(backend: Backend) {
    let huey = backend.huey("nested-empty-chord").await;
    let mut outer = group([add::call(1, 1)])
        .push(Group::<i64>::new().then(sum_ok::partial()))
        .then(summarize::partial(String::new()))
        .enqueue(&huey)
        .await
        .unwrap();
    assert_eq!(drain(&huey).await.len(), 3);
    assert_eq!(outer.callback.wait(WAIT).await.unwrap(), "[2, 0]");
}

/// `chord.then(x)` chains after the callback; the chained stages have their own handles.
async fn test_chord_callback_cb(backend: Backend) {
    let huey = backend.huey("chord-callback-cb").await;
    let mut chord = group([add::call(1, 1), add::call(2, 2)])
        .then(sum_ok::partial())
        .then(mul::partial(10))
        .then(add::partial(1))
        .enqueue(&huey)
        .await
        .unwrap();
    assert_eq!(drain(&huey).await.len(), 5);
    assert_eq!(chord.callback.wait(WAIT).await.unwrap(), 6);
    let (mut times_ten, mut plus_one) = chord.then;
    assert_eq!(times_ten.wait(WAIT).await.unwrap(), 60);
    assert_eq!(plus_one.wait(WAIT).await.unwrap(), 61);
}

/// `chord.then(..)` with an error handler: the success path, and a failing callback whose
/// failure reaches the chained stage and its handler.
async fn test_chord_chaining(backend: Backend) {
    let huey = backend.huey("chord-chaining").await;
    let mut ok = group([add::call(1, 2)])
        .then(sum_ok::partial())
        .then(mul::partial(2).error(on_failure::partial("chain".to_owned())))
        .enqueue(&huey)
        .await
        .unwrap();
    drain(&huey).await;
    assert_eq!(ok.then.0.wait(WAIT).await.unwrap(), 6);

    let mut failing = group([add::call(1, 2)])
        .then(broken_callback::partial().error(on_failure::partial("cb".to_owned()).id("cb-err")))
        .then(mul::partial(2))
        .enqueue(&huey)
        .await
        .unwrap();
    drain(&huey).await;
    assert_eq!(
        failure_of(&mut failing.callback).await.error,
        "callback got 1"
    );
    assert_eq!(
        failure_of(&mut failing.then.0).await.error,
        "callback got 1",
        "the chained stage holds the callback's failure"
    );
    let mut handled: TaskResult<String> = huey.result("cb-err");
    assert_eq!(handled.wait(WAIT).await.unwrap(), "cb: callback got 1");
}

/// An inner chord's callback pipeline is waited for: the outer chord gets its last stage.
async fn test_nested_chord_callback_pipeline_tail_walking(backend: Backend) {
    let huey = backend.huey("nested-tail-walking").await;
    let inner = group([add::call(1, 1), add::call(1, 2)])
        .then(sum_ok::partial())
        .then(mul::partial(100));
    let mut outer = group([add::call(0, 1)])
        .push(inner)
        .then(summarize::partial(String::new()))
        .enqueue(&huey)
        .await
        .unwrap();
    assert_eq!(drain(&huey).await.len(), 6);
    assert_eq!(outer.callback.wait(WAIT).await.unwrap(), "[1, 500]");
}

/// A rescheduled member is replaced by its copy: the original's skip does not count, the
/// copy's value does, and the callback runs once.
async fn test_rescheduled_chord_member(backend: Backend) {
    let huey = backend.huey("rescheduled-member").await;
    let mut chord = group([add::call(1, 1), add::call(2, 2)])
        .then(summarize::partial(String::new()))
        .enqueue(&huey)
        .await
        .unwrap();
    let mut copy = chord.results[1]
        .reschedule(huey_core::Reschedule::now())
        .await
        .unwrap();
    assert_eq!(
        drain(&huey).await,
        vec![
            Executed::Completed,
            Executed::Revoked,
            Executed::Completed,
            Executed::Completed
        ],
        "two members, the superseded original, one callback"
    );
    assert_eq!(copy.wait(WAIT).await.unwrap(), 4);
    assert_eq!(chord.callback.wait(WAIT).await.unwrap(), "[2, 4]");
}

/// End to end on a running consumer.
async fn test_chord_on_a_consumer(backend: Backend) {
    let huey = backend.huey("chord-consumer").await;
    let consumer = Consumer::builder(&huey).workers(4).start().unwrap();
    let mut chord = group((0..50).map(|n| add::call(n, n)))
        .then(summarize::partial(String::new()))
        .enqueue(&huey)
        .await
        .unwrap();
    let expected: Vec<String> = (0..50).map(|n| (2 * n).to_string()).collect();
    assert_eq!(
        chord.callback.wait(WAIT).await.unwrap(),
        format!("[{}]", expected.join(", "))
    );
    consumer.shutdown().await.unwrap();
}
