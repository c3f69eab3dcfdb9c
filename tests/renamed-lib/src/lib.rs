//! Tasks and hooks of a crate that depends on huey-core renamed to `queue` (as a facade crate
//! or a renamed dependency would), declared with the macros' `crate = path` option.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use queue::prelude::*;
use queue::{ContextManager, Task, TaskValue};

/// A facade module re-exporting the crate under a longer path.
pub mod facade {
    pub use ::queue as huey;
}

/// What the hooks and the resources saw, as `(task id, event)`.
static LOG: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn record(id: &str, event: impl Into<String>) {
    if let Ok(mut log) = LOG.lock() {
        log.push((id.to_owned(), event.into()));
    }
}

/// The events recorded for the task `id`, in order.
pub fn events(id: &str) -> Vec<String> {
    LOG.lock()
        .map(|log| {
            log.iter()
                .filter(|(i, _)| i == id)
                .map(|(_, e)| e.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Worker starts and stops seen by the hooks.
pub static STARTUPS: AtomicUsize = AtomicUsize::new(0);
/// See [`STARTUPS`].
pub static SHUTDOWNS: AtomicUsize = AtomicUsize::new(0);

/// Upper-cases its argument.
#[task(crate = queue)]
pub fn shout(text: String) -> String {
    text.to_uppercase()
}

/// Names itself, through a multi-segment crate path and the `&Task` context.
#[task(crate = crate::facade::huey, retries = 1, context)]
pub async fn whoami(task: &Task) -> String {
    task.name().to_owned()
}

/// Never due in a test; only has to compile and register.
#[periodic_task(crontab(minute = "0", hour = "3"), crate = ::queue)]
pub fn nightly() {}

/// A resource that counts opens.
pub struct Opener {
    opened: AtomicUsize,
}

impl queue::Resource for Opener {
    type Handle = usize;
    async fn open(&self) -> Result<usize, TaskError> {
        Ok(self.opened.fetch_add(1, Ordering::SeqCst) + 1)
    }
    async fn close(&self, _opened: usize) {}
}

static OPENER: Opener = Opener {
    opened: AtomicUsize::new(0),
};

/// Adds to the number of times the resource was opened.
#[closing_task(OPENER, as_argument, crate = queue)]
pub async fn with_resource(opened: &usize, add: usize) -> usize {
    *opened + add
}

/// A context manager that yields 10.
pub struct Ten;

impl ContextManager for Ten {
    type Value = usize;
    fn enter(&self) -> usize {
        10
    }
    fn exit(&self, _value: Option<usize>, _failed: bool) {}
}

/// Adds to what the context manager yields; sync, so it takes the blocking path.
#[context_task(Ten, as_argument, crate = queue)]
pub fn in_context(entered: usize, add: usize) -> usize {
    entered + add
}

#[on_startup(crate = queue)]
fn started(_worker: &mut queue::WorkerState) {
    STARTUPS.fetch_add(1, Ordering::SeqCst);
}

#[on_shutdown(crate = crate::facade::huey)]
async fn stopped() {
    SHUTDOWNS.fetch_add(1, Ordering::SeqCst);
}

#[pre_execute(crate = queue)]
fn before(task: &Task) {
    record(task.id(), "pre");
}

#[post_execute(crate = queue)]
fn after(task: &Task, value: Option<&TaskValue>, _error: Option<&TaskError>) {
    record(
        task.id(),
        format!("post:{}", value.map(TaskValue::json).unwrap_or_default()),
    );
}

#[signal(complete, crate = queue)]
fn completed(signal: Signal, task: &Task) {
    record(task.id(), format!("signal:{signal}"));
}
