//! The generic storage suite against `RedisStorage` on a test-started `redis-server`, in its
//! three layouts (list queue, priority queue, results with a TTL), plus Redis specifics.

use std::time::Duration;

use huey_core::Storage;
use huey_redis::{RedisOptions, RedisStorage};
use huey_tests::redis_server::RedisServer;

/// A fresh server and storage per test; the server lives as long as the storage.
struct Fixture {
    storage: RedisStorage,
    _server: RedisServer,
}

impl huey_tests::storage_suite::StorageFixture for Fixture {
    fn storage(&self) -> &dyn Storage {
        &self.storage
    }
}

async fn fixture(options: RedisOptions) -> Fixture {
    let server = RedisServer::start();
    let mut storage = RedisStorage::connect_with(&server.url(), options)
        .await
        .expect("connect to the test server");
    storage.set_namespace("test-suite");
    Fixture {
        storage,
        _server: server,
    }
}

mod list {
    use super::*;
    huey_tests::storage_suite!(fixture(RedisOptions::default()).await);
}

mod priority {
    use super::*;
    huey_tests::storage_suite!(fixture(RedisOptions::default().priority(true)).await);
}

mod expiring_results {
    use super::*;
    huey_tests::storage_suite!(
        fixture(RedisOptions::default().result_ttl(Some(Duration::from_secs(60)))).await
    );
}
