//! Pausing the queue under an in-process consumer on the memory storage: nothing is claimed
//! while paused, a claim made by a dequeue that was already waiting when the pause landed is
//! given back without counting as a delivery, and the consumer's presence record follows.

use std::time::Duration;

use huey_core::MemoryStorage;
use huey_core::prelude::*;
use huey_tests::presence::{WAIT, consumer_until};

#[task]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[tokio::test]
async fn test_a_claim_made_as_the_pause_lands_is_given_back_uncounted() {
    // One delivery allowed: a second counted one would dead-letter the message.
    let huey = Huey::builder("pause-release")
        .max_deliveries(1)
        .build(MemoryStorage::new());
    // The fetcher waits up to a minute in one dequeue, so the pause lands while it waits.
    let consumer = Consumer::builder(&huey)
        .fetch_wait(Duration::from_secs(60))
        .periodic(false)
        .start()
        .unwrap();
    add::enqueue(&huey, 1, 1)
        .await
        .unwrap()
        .wait(WAIT)
        .await
        .unwrap();
    huey.pause().await.unwrap();
    assert!(huey.is_paused().await.unwrap());
    consumer_until(&huey, |c| c.paused).await;

    // The waiting dequeue wakes for this one and claims it; the fetcher gives it back.
    let mut held = add::enqueue(&huey, 2, 3).await.unwrap();
    let before = consumer_until(&huey, |c| c.paused).await.heartbeat;
    // Two heartbeats later it has still not run.
    let later = consumer_until(&huey, |c| c.heartbeat > before)
        .await
        .heartbeat;
    consumer_until(&huey, |c| c.heartbeat > later).await;
    assert_eq!(held.get().await.unwrap(), None, "not run while paused");
    assert_eq!(huey.pending_count().await.unwrap(), 1, "back on the queue");

    huey.resume().await.unwrap();
    assert_eq!(held.wait(WAIT).await.unwrap(), 5);
    assert_eq!(
        huey.dead_letter_count().await.unwrap(),
        0,
        "the given-back claim did not count as a delivery"
    );
    assert!(!consumer_until(&huey, |c| !c.paused).await.paused);
    consumer.shutdown().await.unwrap();
    assert!(huey.consumers().await.unwrap().is_empty());
}

#[tokio::test]
async fn test_a_consumer_started_on_a_paused_queue_claims_nothing() {
    let huey = Huey::memory("pause-at-start");
    huey.pause().await.unwrap();
    let mut held = add::enqueue(&huey, 1, 2).await.unwrap();
    let consumer = Consumer::builder(&huey).periodic(false).start().unwrap();
    let first = consumer_until(&huey, |c| c.paused).await.heartbeat;
    consumer_until(&huey, |c| c.heartbeat > first).await;
    assert_eq!(held.get().await.unwrap(), None);
    huey.resume().await.unwrap();
    assert_eq!(held.wait(WAIT).await.unwrap(), 3);
    consumer.shutdown().await.unwrap();
}
