//! Leases between two consumers of one queue: an expired lease is claimed again and counted,
//! the consumer that lost it is told so and its late settlement writes nothing.

mod support;

use std::time::Duration;

use huey_core::storage::prelude::*;
use huey_core::storage::{Dequeue, Settled, Settlement, Upkeep};
use huey_postgres::{PostgresOptions, PostgresStorage};

const LEASE: Duration = Duration::from_millis(300);

fn options(schema: &str) -> PostgresOptions {
    PostgresOptions::default().schema(schema).lease(LEASE)
}

#[tokio::test]
async fn an_expired_lease_is_claimed_again_and_its_holder_learns_it() {
    let first = support::fixture_with("leases", PostgresOptions::default().lease(LEASE)).await;
    let a = &first.storage;
    // B's own lease is long: only A's expires here, however slow a loaded machine makes
    // the steps between B's heartbeats.
    let b = PostgresStorage::connect_with(
        "leases",
        &first.guard.url,
        options(&first.guard.schema).lease(Duration::from_secs(60)),
    )
    .await
    .expect("second consumer");

    assert_eq!(a.maintain().await.unwrap(), Upkeep::Kept, "registers");
    a.enqueue(b"job".to_vec(), 0).await.unwrap();
    let held = a
        .dequeue(Dequeue::new(1, Duration::ZERO))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(held.deliveries, 1);

    // Within the lease, another consumer's upkeep leaves the claim alone.
    b.maintain().await.unwrap();
    assert!(
        b.dequeue(Dequeue::new(1, Duration::ZERO))
            .await
            .unwrap()
            .is_empty()
    );

    // A stops beating; past its lease the other consumer takes the message back.
    tokio::time::sleep(LEASE * 2).await;
    b.maintain().await.unwrap();
    let again = b.dequeue(Dequeue::new(1, Duration::ZERO)).await.unwrap();
    assert_eq!(again.len(), 1, "the expired claim is claimed again");
    assert_eq!(again[0].data, b"job");
    assert_eq!(again[0].deliveries, 2, "and counted as a second delivery");

    assert_eq!(
        a.settle(
            Some(&held),
            &Settlement::ack().result("r", b"late".to_vec())
        )
        .await
        .unwrap(),
        Settled::NotHeld,
        "the old holder's settlement writes nothing"
    );
    assert_eq!(a.peek_data("r").await.unwrap(), None);
    assert_eq!(
        a.maintain().await.unwrap(),
        Upkeep::Lost,
        "and it learns it was presumed dead"
    );
    assert_eq!(
        a.maintain().await.unwrap(),
        Upkeep::Kept,
        "registered afresh"
    );

    assert_eq!(
        b.settle(Some(&again[0]), &Settlement::ack()).await.unwrap(),
        Settled::Applied
    );
    assert_eq!(a.queue_size().await.unwrap(), 0);
}

#[tokio::test]
async fn heartbeats_keep_claims_past_the_lease() {
    let first = support::fixture_with("beats", PostgresOptions::default().lease(LEASE)).await;
    let a = &first.storage;
    let b = PostgresStorage::connect_with("beats", &first.guard.url, options(&first.guard.schema))
        .await
        .expect("second consumer");
    a.enqueue(b"job".to_vec(), 0).await.unwrap();
    let held = a
        .dequeue(Dequeue::new(1, Duration::ZERO))
        .await
        .unwrap()
        .remove(0);
    for _ in 0..4 {
        tokio::time::sleep(LEASE / 3).await;
        assert_eq!(a.maintain().await.unwrap(), Upkeep::Kept);
        b.maintain().await.unwrap();
    }
    assert!(
        b.dequeue(Dequeue::new(1, Duration::ZERO))
            .await
            .unwrap()
            .is_empty(),
        "still A's"
    );
    assert_eq!(
        a.settle(Some(&held), &Settlement::ack()).await.unwrap(),
        Settled::Applied
    );
}

#[tokio::test]
async fn namespaces_share_the_tables_apart() {
    let first = support::fixture_with("one", PostgresOptions::default()).await;
    let other = PostgresStorage::connect_with(
        "two",
        &first.guard.url,
        PostgresOptions::default().schema(&first.guard.schema),
    )
    .await
    .expect("second queue");
    first.storage.enqueue(b"for one".to_vec(), 0).await.unwrap();
    first.storage.put_data("k", b"v".to_vec()).await.unwrap();
    assert_eq!(other.queue_size().await.unwrap(), 0);
    assert_eq!(other.peek_data("k").await.unwrap(), None);
    assert!(
        other
            .dequeue(Dequeue::new(1, Duration::ZERO))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(first.storage.queue_size().await.unwrap(), 1);
}

#[tokio::test]
async fn a_bad_schema_name_is_refused() {
    let url = support::database_url();
    let refused =
        PostgresStorage::connect_with("x", &url, PostgresOptions::default().schema("no;drop"))
            .await;
    assert!(matches!(
        refused,
        Err(huey_postgres::ConnectError::Schema(_))
    ));
}

#[tokio::test]
async fn the_heartbeat_deletes_expired_rows() {
    let f = support::fixture_with("sweep", PostgresOptions::default()).await;
    let s = &f.storage;
    let ttl = Some(Duration::from_millis(50));
    assert!(s.put_if_empty("lock", b"1".to_vec(), ttl).await.unwrap());
    assert!(
        s.semaphore_acquire("sem", "a", 1, Duration::from_millis(50))
            .await
            .unwrap()
    );
    s.put_data("kept", b"v".to_vec()).await.unwrap();
    let rows = |table: &'static str| {
        let sql = format!("SELECT count(*) FROM {}.{table}", f.guard.schema);
        let pool = s.pool().clone();
        async move {
            let (n,): (i64,) = sqlx::query_as(&sql).fetch_one(&pool).await.unwrap();
            n
        }
    };
    assert_eq!((rows("kv").await, rows("semaphores").await), (2, 1));
    tokio::time::sleep(Duration::from_millis(150)).await;
    s.maintain().await.unwrap();
    assert_eq!(
        rows("kv").await,
        1,
        "the expired lock's row is gone, the value stays"
    );
    assert_eq!(rows("semaphores").await, 0);
}
