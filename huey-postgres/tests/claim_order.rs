//! A consumer draining a backlog reads on from its last claim instead of from the start of
//! the queue's index. What lands before that point from elsewhere must still be claimed
//! before the backlog is done: a message of higher priority enqueued by another process, and
//! a message another consumer gives back under its old id.

mod support;

use std::time::Duration;

use huey_core::storage::prelude::*;
use huey_core::storage::{Delivery, Dequeue};
use huey_postgres::{PostgresOptions, PostgresStorage};

const BACKLOG: usize = 2_000;

async fn backlog(storage: &PostgresStorage) {
    let items: Vec<(Vec<u8>, i32)> = (0..BACKLOG)
        .map(|i| (format!("backlog-{i}").into_bytes(), 0))
        .collect();
    storage.enqueue_many(items).await.unwrap();
}

/// A second storage on the same tables, as another process would have.
async fn another_process(first: &support::Fixture) -> PostgresStorage {
    PostgresStorage::connect_with(
        "order",
        &first.guard.url,
        PostgresOptions::default().schema(&first.guard.schema),
    )
    .await
    .unwrap()
}

/// Settles a few batches, so that `consumer` reads on from its last claim.
async fn into_the_backlog(consumer: &PostgresStorage) {
    for _ in 0..10 {
        for d in consumer
            .dequeue(Dequeue::new(2, Duration::ZERO))
            .await
            .unwrap()
        {
            consumer.ack(&d).await.unwrap();
        }
    }
}

/// Claims one message at a time (acknowledging each) until `wanted` comes out; returns how
/// many backlog messages came out first. Panics if the backlog runs out before it.
async fn claims_before(consumer: &PostgresStorage, wanted: &[u8]) -> usize {
    let mut before = 0;
    loop {
        let claimed: Vec<Delivery> = consumer
            .dequeue(Dequeue::new(2, Duration::from_secs(5)))
            .await
            .unwrap();
        assert!(
            !claimed.is_empty(),
            "the queue ran dry before {:?} came out",
            String::from_utf8_lossy(wanted)
        );
        for delivery in claimed {
            consumer.ack(&delivery).await.unwrap();
            if delivery.data == wanted {
                return before;
            }
            before += 1;
        }
        assert!(
            before < BACKLOG,
            "the whole backlog came out before {:?}",
            String::from_utf8_lossy(wanted)
        );
    }
}

#[tokio::test]
async fn a_higher_priority_message_from_another_process_overtakes_the_backlog() {
    let first = support::fixture_with("order", PostgresOptions::default()).await;
    let consumer = &first.storage;
    let producer = another_process(&first).await;
    backlog(&producer).await;
    into_the_backlog(consumer).await;
    producer.enqueue(b"urgent".to_vec(), 9).await.unwrap();
    let before = claims_before(consumer, b"urgent").await;
    assert!(
        before < BACKLOG - 20,
        "came out after {before} of the backlog"
    );
}

#[tokio::test]
async fn a_message_given_back_by_another_consumer_is_claimed_again_before_the_backlog_ends() {
    let first = support::fixture_with("order", PostgresOptions::default()).await;
    let consumer = &first.storage;
    let other = another_process(&first).await;
    other.enqueue(b"early".to_vec(), 0).await.unwrap();
    let early = other
        .dequeue(Dequeue::new(1, Duration::ZERO))
        .await
        .unwrap()
        .remove(0);
    backlog(&other).await;
    into_the_backlog(consumer).await;
    // Back under its old id: before everything the consumer has read past.
    other.requeue(&early).await.unwrap();
    let before = claims_before(consumer, b"early").await;
    assert!(
        before < BACKLOG - 20,
        "came out after {before} of the backlog"
    );
}

#[tokio::test]
async fn a_consumers_own_requeue_is_claimed_next() {
    let first = support::fixture_with("order", PostgresOptions::default()).await;
    let consumer = &first.storage;
    backlog(consumer).await;
    let held = consumer
        .dequeue(Dequeue::new(2, Duration::ZERO))
        .await
        .unwrap();
    consumer.requeue(&held[0]).await.unwrap();
    // Its own give-back drops the cursor at once: no notification to wait for.
    let next = consumer
        .dequeue(Dequeue::new(1, Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(next[0].data, held[0].data, "FIFO: the oldest message first");
}
