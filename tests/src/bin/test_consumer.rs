//! The consumer binary of the cross-process tests: `huey_cli::run_cli` over the tasks of
//! `huey_tests::tasks`, on the Redis at `HUEY_REDIS_URL`, queue `HUEY_TEST_NAME`. It prints
//! `ready <consumer id>` first (the parent of process workers only).

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
    huey_cli::run_cli(Huey::new(name, storage)).await
}
