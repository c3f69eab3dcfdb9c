//! The consumer binary of the cross-process tests: `huey_cli::run_cli` over the tasks of
//! `huey_tests::tasks`, on the Redis at `HUEY_REDIS_URL`, queue `HUEY_TEST_NAME`. It prints
//! `ready <consumer id>` first (the parent of process workers only). `HUEY_TEST_MAX_MESSAGE_SIZE`
//! sets the queue's message size limit, in bytes, or `off`.

use huey_core::{Huey, HueyError};
use huey_redis::RedisStorage;

huey_core::link_tasks!(huey_tests);

#[tokio::main]
async fn main() -> Result<(), HueyError> {
    let url = std::env::var("HUEY_REDIS_URL")
        .map_err(|_| HueyError::Configuration("HUEY_REDIS_URL is not set".into()))?;
    let name = std::env::var("HUEY_TEST_NAME").unwrap_or_else(|_| "test".into());
    let storage = RedisStorage::connect(&name, &url).await?;
    if std::env::var_os("HUEY_CONSUMER_WORKER").is_none() {
        println!("ready {}", storage.consumer_id());
    }
    let mut builder = Huey::builder(name);
    if let Ok(limit) = std::env::var("HUEY_TEST_MAX_MESSAGE_SIZE") {
        let limit = match limit.as_str() {
            "off" => None,
            bytes => Some(bytes.parse().map_err(|_| {
                HueyError::Configuration(format!("HUEY_TEST_MAX_MESSAGE_SIZE={bytes}"))
            })?),
        };
        builder = builder.max_message_size(limit);
    }
    huey_cli::run_cli(builder.build(storage)).await
}
