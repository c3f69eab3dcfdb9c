//! What `#[closing_task(X)]` and `#[context_task(X)]` accept as `X`: a resource, or anything
//! that dereferences to one (a `LazyLock` static built from the environment, a `&'static`).

use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use huey_core::prelude::*;
use huey_core::{ContextManager, Executed};

/// A "connection pool" whose address would come from the environment, so it is built at
/// first use.
struct Pool {
    url: String,
    opened: AtomicUsize,
    closed: AtomicUsize,
}

impl Pool {
    fn from_env(var: &str) -> Pool {
        Pool {
            url: std::env::var(var).unwrap_or_else(|_| "postgres://localhost".to_owned()),
            opened: AtomicUsize::new(0),
            closed: AtomicUsize::new(0),
        }
    }
}

impl Resource for Pool {
    type Handle = String;
    async fn open(&self) -> Result<String, TaskError> {
        self.opened.fetch_add(1, Ordering::SeqCst);
        Ok(self.url.clone())
    }
    async fn close(&self, _connection: String) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

static ASYNC_POOL: LazyLock<Pool> = LazyLock::new(|| Pool::from_env("HUEY_TEST_ASYNC_POOL"));
static SYNC_POOL: LazyLock<Pool> = LazyLock::new(|| Pool::from_env("HUEY_TEST_SYNC_POOL"));
static FAILING_POOL: LazyLock<Pool> = LazyLock::new(|| Pool::from_env("HUEY_TEST_FAILING_POOL"));
/// Twice removed: a reference to a `LazyLock`.
static POOL_REF: &LazyLock<Pool> = &REFERENCED_POOL;
static REFERENCED_POOL: LazyLock<Pool> = LazyLock::new(|| Pool::from_env("HUEY_TEST_REF_POOL"));

#[closing_task(ASYNC_POOL, as_argument)]
async fn query_async(connection: &String, n: i64) -> String {
    format!("{connection}/{n}")
}

#[closing_task(SYNC_POOL, as_argument)]
fn query_sync(connection: &String, n: i64) -> String {
    format!("{connection}/{n}")
}

#[closing_task(FAILING_POOL)]
fn query_failing() -> Result<(), TaskError> {
    Err(TaskError::msg("the query failed"))
}

#[closing_task(POOL_REF)]
async fn query_through_ref() -> i64 {
    1
}

fn counts(pool: &Pool) -> (usize, usize) {
    (
        pool.opened.load(Ordering::SeqCst),
        pool.closed.load(Ordering::SeqCst),
    )
}

async fn run(huey: &Huey) -> Option<Executed> {
    huey.run_next(&WorkerState::default()).await.unwrap()
}

#[tokio::test]
async fn test_closing_task_on_a_lazy_lock_opens_and_closes_it() {
    let h = Huey::memory("resources-lazy");
    let mut r = query_async::enqueue(&h, 1).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(
        r.get().await.unwrap(),
        Some("postgres://localhost/1".to_owned())
    );
    assert_eq!(counts(&ASYNC_POOL), (1, 1));

    let mut r = query_sync::enqueue(&h, 2).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(
        r.get().await.unwrap(),
        Some("postgres://localhost/2".to_owned())
    );
    assert_eq!(counts(&SYNC_POOL), (1, 1), "the sync body's resource too");
}

#[tokio::test]
async fn test_closing_task_on_a_lazy_lock_closes_it_after_a_failure() {
    let h = Huey::memory("resources-lazy-failure");
    query_failing::enqueue(&h).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Failed));
    assert_eq!(counts(&FAILING_POOL), (1, 1));
}

#[tokio::test]
async fn test_closing_task_through_a_static_reference() {
    let h = Huey::memory("resources-ref");
    let mut r = query_through_ref::enqueue(&h).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(r.get().await.unwrap(), Some(1));
    assert_eq!(counts(&REFERENCED_POOL), (1, 1));
}

/// A context manager built at first use.
struct Span {
    entered: AtomicUsize,
    exited: AtomicUsize,
}

impl ContextManager for Span {
    type Value = usize;
    fn enter(&self) -> usize {
        self.entered.fetch_add(1, Ordering::SeqCst) + 1
    }
    fn exit(&self, _value: Option<usize>, _failed: bool) {
        self.exited.fetch_add(1, Ordering::SeqCst);
    }
}

static SPAN: LazyLock<Span> = LazyLock::new(|| Span {
    entered: AtomicUsize::new(0),
    exited: AtomicUsize::new(0),
});

#[context_task(SPAN, as_argument)]
async fn in_span(entered: usize) -> usize {
    entered
}

#[tokio::test]
async fn test_context_task_on_a_lazy_lock_enters_and_exits_it() {
    let h = Huey::memory("resources-context");
    let mut r = in_span::enqueue(&h).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(r.get().await.unwrap(), Some(1));
    assert_eq!(SPAN.entered.load(Ordering::SeqCst), 1);
    assert_eq!(SPAN.exited.load(Ordering::SeqCst), 1);
}
