//! Settlements from many workers at once go through one settle task in batches: each one in a
//! batch applies only while its own claim is held, and one that cannot be written fails
//! alone, not its batch-mates.

mod support;

use std::time::Duration;

use huey_core::storage::prelude::*;
use huey_core::storage::{Dequeue, Settled, Settlement};
use huey_postgres::PostgresOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_settlements_apply_each_on_its_own_claim() {
    let f = support::fixture(PostgresOptions::default()).await;
    let s = &f.storage;
    let items: Vec<_> = (0..40).map(|i| (format!("m{i}").into_bytes(), 0)).collect();
    s.enqueue_many(items).await.unwrap();
    let claims = s.dequeue(Dequeue::new(40, Duration::ZERO)).await.unwrap();
    assert_eq!(claims.len(), 40);
    // Half are settled already, so settling them again must write nothing.
    for claim in &claims[..20] {
        s.ack(claim).await.unwrap();
    }
    let settles = claims.iter().enumerate().map(|(i, claim)| {
        let settlement = Settlement::ack()
            .result(format!("r{i}"), vec![1])
            .enqueue(format!("next{i}").into_bytes(), 0);
        async move { s.settle(Some(claim), &settlement).await.unwrap() }
    });
    // Joined, so their settlements meet in the settle task's queue.
    let outcomes = futures::future::join_all(settles).await;
    for (i, outcome) in outcomes.iter().enumerate() {
        let expected = if i < 20 {
            Settled::NotHeld
        } else {
            Settled::Applied
        };
        assert_eq!(*outcome, expected, "settlement {i}");
        let stored = s.peek_data(&format!("r{i}")).await.unwrap();
        assert_eq!(
            stored.is_some(),
            i >= 20,
            "result {i} written only if applied"
        );
    }
    let next = s.enqueued_items(None).await.unwrap();
    let expected: Vec<Vec<u8>> = (20..40).map(|i| format!("next{i}").into_bytes()).collect();
    let (mut next, mut expected) = (next, expected);
    next.sort();
    expected.sort();
    assert_eq!(next, expected, "follow-ups of the applied settlements only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settlement_that_cannot_be_written_fails_alone() {
    let f = support::fixture(PostgresOptions::default()).await;
    let s = &f.storage;
    s.enqueue_many(vec![(b"a".to_vec(), 0), (b"b".to_vec(), 0)])
        .await
        .unwrap();
    let claims = s.dequeue(Dequeue::new(2, Duration::ZERO)).await.unwrap();
    // PostgreSQL text cannot hold a NUL: this settlement fails whenever it is tried.
    let bad = Settlement::ack().result("bad\0key", vec![1]);
    let good = Settlement::ack().result("good", vec![2]);
    let (bad, good) = tokio::join!(
        s.settle(Some(&claims[0]), &bad),
        s.settle(Some(&claims[1]), &good)
    );
    let error = bad.expect_err("a NUL in a key is refused");
    assert!(
        !error.is_transient(),
        "and reported as permanent: {error:?}"
    );
    assert_eq!(good.unwrap(), Settled::Applied);
    assert_eq!(s.peek_data("good").await.unwrap(), Some(vec![2]));
    assert_eq!(
        s.settle(Some(&claims[0]), &Settlement::ack())
            .await
            .unwrap(),
        Settled::Applied,
        "the failed one wrote nothing, its claim is still held"
    );
}
