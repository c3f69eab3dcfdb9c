//! The conformance suite on `RedisStorage` in its three layouts (list queue, priority queue,
//! results with a TTL), each case on a `redis-server` of its own started by the test.

use std::time::Duration;

use huey_conformance::StorageFixture;
use huey_core::Storage;
use huey_redis::{RedisOptions, RedisStorage};
use huey_tests::redis_server::RedisServer;

/// A fresh server and a storage on it; the server lives as long as the storage.
struct Fixture {
    storage: RedisStorage,
    _server: RedisServer,
}

impl StorageFixture for Fixture {
    fn storage(&self) -> &dyn Storage {
        &self.storage
    }
}

async fn fixture(options: RedisOptions) -> Fixture {
    let server = RedisServer::start();
    let storage = RedisStorage::connect_with("conformance", &server.url(), options)
        .await
        .expect("connect to the test server");
    Fixture {
        storage,
        _server: server,
    }
}

mod list {
    use super::*;
    huey_conformance::conformance_suite!(fixture(RedisOptions::default()).await);
}

mod priority {
    use super::*;
    huey_conformance::conformance_suite!(fixture(RedisOptions::default().priority(true)).await);
}

mod expiring_results {
    use super::*;
    huey_conformance::conformance_suite!(
        fixture(RedisOptions::default().result_ttl(Some(Duration::from_secs(60)))).await
    );
}
