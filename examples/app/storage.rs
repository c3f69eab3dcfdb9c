//! The storage both example binaries use: the SQLite file named by `HUEY_SQLITE` when it is
//! set (no server), else Redis at `HUEY_REDIS_URL`.

use std::sync::Arc;

use huey_core::{Storage, StorageError};

/// The example's queue storage, named `example` in either backend.
pub async fn storage() -> Result<Arc<dyn Storage>, StorageError> {
    Ok(match std::env::var_os("HUEY_SQLITE") {
        Some(_) => Arc::new(huey_sqlite::SqliteStorage::from_env("example").await?),
        None => Arc::new(huey_redis::RedisStorage::from_env("example").await?),
    })
}
