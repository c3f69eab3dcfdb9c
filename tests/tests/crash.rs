//! A consumer killed at each step between the end of a task's body and its settlement. The
//! chord callback, the next pipeline stage and the error handler each run exactly once per
//! finished attempt, with every chord member's outcome in member order, on memory and Redis.
//! (A consumer used to die after enqueueing a chord's callback and before settling the member
//! that completed it; the member ran again and fired the callback a second time.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use huey_core::group::{MemberResult, group};
use huey_core::prelude::*;
use huey_core::{MemoryStorage, Storage};
use huey_redis::RedisStorage;
use huey_tests::backend::{Backend, WAIT, step};
use huey_tests::faulty::{Faulty, Step, When};

#[task]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[task]
fn double(n: i64) -> i64 {
    n * 2
}

#[task]
fn collect(outcomes: Vec<MemberResult<i64>>) -> Vec<i64> {
    outcomes.into_iter().filter_map(MemberResult::ok).collect()
}

#[task]
fn boom(n: i64) -> Result<i64, TaskError> {
    Err(TaskError::msg(format!("boom {n}")))
}

#[task]
fn handled(failure: TaskFailure) -> String {
    failure.error
}

const EVERY_STEP: [(Step, When); 4] = [
    (Step::ChordRecord, When::Before),
    (Step::ChordRecord, When::After),
    (Step::Settle, When::Before),
    (Step::Settle, When::After),
];

const SETTLE_STEPS: [(Step, When); 2] = [(Step::Settle, When::Before), (Step::Settle, When::After)];

/// A queue on `backend` whose storage can be told to die, and a counter of the completed runs
/// of task `counted`.
async fn faulty_huey(
    backend: &Backend,
    name: &str,
    counted: &'static str,
) -> (Huey, Arc<Faulty>, Arc<AtomicUsize>) {
    let faulty = Arc::new(match backend.server() {
        None => Faulty::new(MemoryStorage::new()),
        Some(server) => {
            let storage = RedisStorage::connect(name, &server.url())
                .await
                .expect("connect to the test server");
            Faulty::new(storage)
        }
    });
    let huey = Huey::builder(name).build_shared(Arc::clone(&faulty) as Arc<dyn Storage>);
    let runs = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&runs);
    huey.connect_signal(&[Signal::Complete], move |_, task, _| {
        if task.name() == counted {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    (huey, faulty, runs)
}

/// Runs the next task in a worker that dies at the armed fault, then does what a live
/// consumer does for a dead one: puts its unsettled claims back on the queue.
async fn run_and_die(huey: &Huey, faulty: &Faulty) {
    let worker = huey.clone();
    let died = tokio::spawn(async move { worker.run_next(&WorkerState::new(0)).await }).await;
    assert!(
        died.is_err_and(|e| e.is_panic()),
        "the fault killed the worker"
    );
    faulty.reap().await;
}

/// Runs every queued task until the queue is empty.
async fn drain(huey: &Huey) {
    while huey.pending_count().await.unwrap() > 0 {
        step(huey).await;
    }
}

/// The chord's last member dies at each step: its callback runs once, with every outcome.
async fn test_chord_callback_once_at_every_step(backend: Backend) {
    for (at, when) in EVERY_STEP {
        let name = format!("chord-{at:?}-{when:?}");
        let (huey, faulty, callbacks) = faulty_huey(&backend, &name, collect::NAME).await;
        let mut chord = group([add::call(1, 1), add::call(2, 2), add::call(3, 3)])
            .then(collect::partial())
            .enqueue(&huey)
            .await
            .unwrap();
        step(&huey).await;
        step(&huey).await;
        faulty.die_at(at, when);
        run_and_die(&huey, &faulty).await;
        drain(&huey).await;
        assert_eq!(
            chord.callback.wait(WAIT).await.unwrap(),
            vec![2, 4, 6],
            "{name}: every member's outcome, in member order"
        );
        assert_eq!(
            callbacks.load(Ordering::SeqCst),
            1,
            "{name}: the callback ran once"
        );
        assert_eq!(
            huey.pending_count().await.unwrap(),
            0,
            "{name}: nothing left"
        );
    }
}

/// The first stage of a pipeline dies around its settlement: the next stage runs once.
async fn test_next_stage_once_at_every_step(backend: Backend) {
    for (at, when) in SETTLE_STEPS {
        let name = format!("pipeline-{at:?}-{when:?}");
        let (huey, faulty, doubled) = faulty_huey(&backend, &name, double::NAME).await;
        let (_, mut last) = add::call(2, 3)
            .then(double::partial())
            .enqueue(&huey)
            .await
            .unwrap();
        faulty.die_at(at, when);
        run_and_die(&huey, &faulty).await;
        drain(&huey).await;
        assert_eq!(last.wait(WAIT).await.unwrap(), 10, "{name}");
        assert_eq!(
            doubled.load(Ordering::SeqCst),
            1,
            "{name}: the next stage ran once"
        );
    }
}

/// A failing task dies around its settlement: its error handler runs once per finished
/// attempt (a death before the settlement means the attempt never finished, and it runs
/// again).
async fn test_error_handler_once_at_every_step(backend: Backend) {
    for (at, when) in SETTLE_STEPS {
        let name = format!("handler-{at:?}-{when:?}");
        let (huey, faulty, handlers) = faulty_huey(&backend, &name, handled::NAME).await;
        let mut failed = boom::call(7)
            .error(handled::partial().id("the-handler"))
            .enqueue(&huey)
            .await
            .unwrap();
        faulty.die_at(at, when);
        run_and_die(&huey, &faulty).await;
        drain(&huey).await;
        assert!(failed.wait(WAIT).await.is_err(), "{name}: the task failed");
        let mut handler: TaskResult<String> = huey.result("the-handler");
        assert_eq!(handler.wait(WAIT).await.unwrap(), "boom 7", "{name}");
        assert_eq!(
            handlers.load(Ordering::SeqCst),
            1,
            "{name}: the handler ran once"
        );
    }
}

huey_tests::on_both_backends!(
    test_chord_callback_once_at_every_step,
    test_next_stage_once_at_every_step,
    test_error_handler_once_at_every_step,
);

#[test]
fn faulty_storage_is_a_storage() {
    fn takes(_: &dyn Storage) {}
    takes(&Faulty::new(MemoryStorage::new()));
}
