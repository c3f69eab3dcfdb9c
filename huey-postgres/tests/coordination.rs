//! Racing acquirers of one semaphore never exceed its value, across connections.

mod support;

use std::time::Duration;

use huey_core::storage::prelude::*;
use huey_postgres::PostgresOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_semaphore_acquirers_never_exceed_the_value() {
    let f = support::fixture(PostgresOptions::default().max_connections(8)).await;
    let s = &f.storage;
    let ttl = Duration::from_secs(60);
    let holders: Vec<String> = (0..24).map(|i| format!("h{i}")).collect();
    let tries = holders
        .iter()
        .map(|h| s.semaphore_acquire("sem", h, 3, ttl));
    let admitted = futures::future::join_all(tries).await;
    let admitted = admitted
        .into_iter()
        .map(Result::unwrap)
        .filter(|a| *a)
        .count();
    assert_eq!(admitted, 3, "exactly the value's worth admitted");
    assert_eq!(s.semaphore_holders("sem").await.unwrap().len(), 3);
}
