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
