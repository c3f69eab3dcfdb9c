//! `MemoryStorage` specifics. The conformance suite runs on it from `huey-conformance`.

use std::sync::Arc;

use huey_core::MemoryStorage;
use huey_core::storage::Dequeue;
use huey_core::storage::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn test_put_if_empty_is_atomic_under_threads() {
    let storage = Arc::new(MemoryStorage::new());
    let mut handles = Vec::new();
    for i in 0..8 {
        let s = storage.clone();
        handles.push(tokio::spawn(async move {
            s.put_if_empty("lock", vec![i], None).await.unwrap()
        }));
    }
    let mut winners = 0;
    for h in handles {
        winners += usize::from(h.await.unwrap());
    }
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn test_claims_are_tracked_until_acknowledged() {
    let storage = MemoryStorage::new();
    storage.enqueue(b"a".to_vec(), 0).await.unwrap();
    let claimed = storage
        .dequeue(Dequeue::new(1, std::time::Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(storage.in_flight_count(), 1);
    storage.ack(&claimed[0]).await.unwrap();
    assert_eq!(storage.in_flight_count(), 0);
}

/// `MemoryStorage::with_dead_letter_limit` keeps the newest that many, for dead letters from
/// settlements and from claims over the size limit alike.
#[tokio::test]
async fn test_memory_dead_letter_limit_keeps_newest() {
    let storage = MemoryStorage::new().with_dead_letter_limit(Some(2));
    for data in ["a", "b", "c"] {
        storage.enqueue(data.into(), 0).await.unwrap();
        let claimed = storage
            .dequeue(Dequeue::new(1, std::time::Duration::ZERO))
            .await
            .unwrap();
        storage.dead_letter(&claimed[0], "bad").await.unwrap();
    }
    storage.enqueue(b"long".to_vec(), 0).await.unwrap();
    let refused = Dequeue::new(1, std::time::Duration::ZERO).max_message_size(Some(2));
    assert!(storage.dequeue(refused).await.unwrap().is_empty());
    let kept: Vec<_> = storage
        .dead_letters(None)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.data)
        .collect();
    assert_eq!(kept, [b"c".to_vec(), b"long".to_vec()]);
    assert_eq!(MemoryStorage::new().dead_letter_limit(), Some(10_000));
}
