//! A closing task's timeout is reported when it fires: a slow `close`, or a sync body that
//! outlives the deadline, no longer holds the failure back. Timings are generous: the
//! timeout is 1 s, the slow part 6 s, and a report is expected within 4 s.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use huey_core::prelude::*;
use huey_core::{Executed, SyncResource};
use huey_tests::backend::{Backend, step};
use huey_tests::on_both_backends;

/// Longer than any report that waited for it could hide.
const SLOW: Duration = Duration::from_secs(6);
/// How long the test waits for the failure: the 1 s timeout and a wide margin, well short of
/// `SLOW`.
const REPORTED_WITHIN: Duration = Duration::from_secs(4);

/// A resource whose close takes `SLOW`.
struct SlowClose {
    closed: AtomicUsize,
}

impl Resource for SlowClose {
    type Handle = ();
    async fn open(&self) -> Result<(), TaskError> {
        Ok(())
    }
    async fn close(&self, (): ()) {
        tokio::time::sleep(SLOW).await;
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

static SLOW_DB: SlowClose = SlowClose {
    closed: AtomicUsize::new(0),
};

/// A resource that closes at once.
struct QuickClose {
    closed: AtomicUsize,
}

impl SyncResource for QuickClose {
    type Handle = ();
    fn open(&self) -> Result<(), TaskError> {
        Ok(())
    }
    fn close(&self, (): ()) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

static QUICK_DB: QuickClose = QuickClose {
    closed: AtomicUsize::new(0),
};

#[closing_task(SLOW_DB, timeout = "1s")]
async fn stuck_async() -> u32 {
    tokio::time::sleep(Duration::from_secs(30)).await;
    1
}

#[closing_task(QUICK_DB, timeout = "1s")]
fn stuck_sync() -> u32 {
    std::thread::sleep(SLOW);
    1
}

/// The body ran past its timeout and the close is slow: the timeout is stored at the
/// deadline, while the resource is still closing.
async fn test_slow_close_does_not_delay_the_timeout(backend: Backend) {
    let huey = backend.huey("closing-slow-close").await;
    let mut result = stuck_async::enqueue(&huey).await.unwrap();
    let closed = SLOW_DB.closed.load(Ordering::SeqCst);
    let started = Instant::now();
    let (failure, executed) = tokio::join!(
        async {
            let failure = result.wait(REPORTED_WITHIN).await;
            (failure, started.elapsed())
        },
        step(&huey)
    );
    let (failure, reported_after) = failure;
    match failure {
        Err(ResultError::Failed(f)) => assert_eq!(f.kind, "timeout", "{f:?}"),
        other => panic!("expected the timeout within {REPORTED_WITHIN:?}, got {other:?}"),
    }
    // The close alone takes SLOW, and began at the 1 s deadline.
    assert!(reported_after < SLOW, "reported after {reported_after:?}");
    assert_eq!(executed, Executed::Failed);
    // (The other backend's case may close too: at least this one's close has finished.)
    assert!(
        SLOW_DB.closed.load(Ordering::SeqCst) > closed,
        "the close still ran to its end"
    );
}

/// A sync body that outlives its timeout (a thread cannot be stopped): the timeout is
/// stored at the deadline, and the resource closes when the body returns.
async fn test_sync_body_past_its_timeout_is_reported_at_the_deadline(backend: Backend) {
    let huey = backend.huey("closing-stuck-sync").await;
    let mut result = stuck_sync::enqueue(&huey).await.unwrap();
    let closed = QUICK_DB.closed.load(Ordering::SeqCst);
    let (failure, executed) = tokio::join!(result.wait(REPORTED_WITHIN), step(&huey));
    match failure {
        Err(ResultError::Failed(f)) => assert_eq!(f.kind, "timeout", "{f:?}"),
        other => panic!("expected the timeout within {REPORTED_WITHIN:?}, got {other:?}"),
    }
    assert_eq!(executed, Executed::Failed);
    assert!(
        QUICK_DB.closed.load(Ordering::SeqCst) > closed,
        "closed after the body"
    );
}

on_both_backends!(
    test_slow_close_does_not_delay_the_timeout,
    test_sync_body_past_its_timeout_is_reported_at_the_deadline,
);
