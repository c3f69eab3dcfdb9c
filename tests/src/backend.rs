//! Runs one test body against `MemoryStorage` and against a test-started `redis-server`:
//! write the case as `async fn case(backend: Backend)` and list it in
//! [`on_both_backends!`](crate::on_both_backends).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use huey_core::{Executed, Huey, HueyBuilder, MemoryStorage, ResultError, Signal, TaskFailure};
use huey_core::{TaskResult, WorkerState};
use huey_redis::RedisStorage;

use crate::redis_server::RedisServer;

/// How long a test waits for a result before it fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// Where a test's queue lives: a fresh `MemoryStorage`, or a fresh `redis-server`.
pub struct Backend {
    server: Option<RedisServer>,
}

impl Backend {
    /// In-process memory storage.
    pub fn memory() -> Backend {
        Backend { server: None }
    }

    /// A `redis-server` of this test's own, stopped when the backend is dropped.
    pub fn redis() -> Backend {
        Backend {
            server: Some(RedisServer::start()),
        }
    }

    /// A queue named `name` with Huey's defaults.
    pub async fn huey(&self, name: &str) -> Huey {
        self.huey_with(name, |builder| builder).await
    }

    /// A queue named `name` with the options `configure` sets.
    pub async fn huey_with(&self, name: &str, configure: fn(HueyBuilder) -> HueyBuilder) -> Huey {
        let builder = configure(Huey::builder(name));
        match &self.server {
            None => builder.build(MemoryStorage::new()),
            Some(server) => {
                let storage = RedisStorage::connect(name, &server.url())
                    .await
                    .expect("connect to the test server");
                builder.build(storage)
            }
        }
    }

    /// A fresh storage for queue `name`, to wrap before building a `Huey` on it.
    pub async fn storage(&self, name: &str) -> Arc<dyn huey_core::Storage> {
        match &self.server {
            None => Arc::new(MemoryStorage::new()),
            Some(server) => Arc::new(
                RedisStorage::connect(name, &server.url())
                    .await
                    .expect("connect to the test server"),
            ),
        }
    }

    /// The test server, for Redis-only checks.
    pub fn server(&self) -> Option<&RedisServer> {
        self.server.as_ref()
    }
}

/// Runs the next queued task now, as a worker would, and says how it ended.
pub async fn step(huey: &Huey) -> Executed {
    huey.run_next(&WorkerState::new(0))
        .await
        .expect("storage")
        .expect("a queued task")
}

/// The failure stored for a handle; panics on anything else.
pub async fn failure_of<O: serde::de::DeserializeOwned + std::fmt::Debug>(
    handle: &mut TaskResult<O>,
) -> TaskFailure {
    match handle.wait(WAIT).await {
        Err(ResultError::Failed(failure)) => failure,
        other => panic!("expected a stored failure, got {other:?}"),
    }
}

/// The failure of the next attempt a handle reads, final or not; panics on anything else.
pub async fn attempt_failure_of<O: serde::de::DeserializeOwned + std::fmt::Debug>(
    handle: &mut TaskResult<O>,
) -> TaskFailure {
    match handle.wait_attempt(WAIT).await {
        Err(ResultError::Failed(failure)) => failure,
        other => panic!("expected a stored failure, got {other:?}"),
    }
}

/// Records every signal `huey` fires, in order; read them with [`take_signals`].
pub fn record_signals(huey: &Huey) -> Arc<Mutex<Vec<Signal>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    huey.connect_signal(&[], move |signal, _task, _error| {
        sink.lock().unwrap().push(signal);
    });
    seen
}

/// The signals recorded since the last call.
pub fn take_signals(seen: &Mutex<Vec<Signal>>) -> Vec<Signal> {
    std::mem::take(&mut *seen.lock().unwrap())
}

/// Declares a `#[tokio::test]` per case in a `memory` and a `redis` module.
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case($crate::backend::Backend::memory()).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case($crate::backend::Backend::redis()).await;
                }
            )*
        }
    };
}
