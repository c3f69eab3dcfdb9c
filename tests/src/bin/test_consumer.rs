//! The consumer binary of the cross-process tests: `huey_cli::run_cli` over the tasks of
//! `huey_tests::tasks`, on the Redis at `HUEY_REDIS_URL` or, when `HUEY_TEST_SQLITE` names a
//! file, on that SQLite file, queue `HUEY_TEST_NAME`. It prints
//! `ready <consumer id>` first (the parent of process workers only; not when it runs an admin
//! subcommand, whose output is the command's). Tests that need a
//! consumer declared dead quickly set `HUEY_TEST_HEARTBEAT_MS` and
//! `HUEY_TEST_CONSUMER_TIMEOUT_MS` (on SQLite, the heartbeat and the lease); `HUEY_TEST_MAX_DELIVERIES` sets the delivery cap, and
//! `HUEY_TEST_MAX_MESSAGE_SIZE` the message size limit, in bytes, or `off`.

use std::time::Duration;

use std::sync::Arc;

use huey_core::{Huey, HueyError, Storage};
use huey_redis::{RedisOptions, RedisStorage};
use huey_sqlite::{SqliteOptions, SqliteStorage};

/// A number from the environment, if set.
fn setting(name: &str) -> Result<Option<u64>, HueyError> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(text) => text
            .parse()
            .map(Some)
            .map_err(|_| HueyError::Configuration(format!("{name} is not a number: {text:?}"))),
    }
}

huey_core::link_tasks!(huey_tests);

#[tokio::main]
async fn main() -> Result<(), huey_cli::Report> {
    let name = std::env::var("HUEY_TEST_NAME").unwrap_or_else(|_| "test".into());
    let (storage, id): (Arc<dyn Storage>, String) = match std::env::var_os("HUEY_TEST_SQLITE") {
        Some(path) => {
            let mut options = SqliteOptions::default();
            if let Some(ms) = setting("HUEY_TEST_HEARTBEAT_MS")? {
                options = options.heartbeat(Duration::from_millis(ms));
            }
            if let Some(ms) = setting("HUEY_TEST_CONSUMER_TIMEOUT_MS")? {
                options = options.lease(Duration::from_millis(ms));
            }
            let storage = SqliteStorage::open_with(&name, path, options).await?;
            let id = storage.consumer_id().to_owned();
            (Arc::new(storage), id)
        }
        None => {
            let url = std::env::var("HUEY_REDIS_URL")
                .map_err(|_| HueyError::Configuration("HUEY_REDIS_URL is not set".into()))?;
            let mut options = RedisOptions::default();
            if let Some(ms) = setting("HUEY_TEST_HEARTBEAT_MS")? {
                options = options.heartbeat(Duration::from_millis(ms));
            }
            if let Some(ms) = setting("HUEY_TEST_CONSUMER_TIMEOUT_MS")? {
                options = options.consumer_timeout(Duration::from_millis(ms));
            }
            let storage = RedisStorage::connect_with(&name, &url, options).await?;
            let id = storage.consumer_id().to_owned();
            (Arc::new(storage), id)
        }
    };
    // Consumer flags all start with '-': a first argument that does not is a subcommand.
    let admin = std::env::args().nth(1).is_some_and(|a| !a.starts_with('-'));
    if std::env::var_os("HUEY_CONSUMER_WORKER").is_none() && !admin {
        println!("ready {id}");
    }
    let mut builder = Huey::builder(name);
    if let Some(n) = setting("HUEY_TEST_MAX_DELIVERIES")? {
        builder = builder.max_deliveries(n as u32);
    }
    if let Ok(limit) = std::env::var("HUEY_TEST_MAX_MESSAGE_SIZE") {
        let limit = match limit.as_str() {
            "off" => None,
            bytes => Some(bytes.parse().map_err(|_| {
                HueyError::Configuration(format!("HUEY_TEST_MAX_MESSAGE_SIZE={bytes}"))
            })?),
        };
        builder = builder.max_message_size(limit);
    }
    huey_cli::run_cli(builder.build_shared(storage)).await
}
