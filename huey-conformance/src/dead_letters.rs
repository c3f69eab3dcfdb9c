//! [`DeadLetterStorage`](huey_core::storage::DeadLetterStorage): messages that cannot run.

use chrono::Utc;
use huey_core::storage::{DeadLetter, Dequeue};
use huey_core::{DeadLetterSelection, Storage};

use crate::support::{NOW, b, drain};

/// `dead_letter` keeps the message and the reason; it is not on the queue.
pub async fn test_dead_letter_keeps_message(s: &dyn Storage) {
    s.enqueue(b"\xffbad".to_vec(), 0).await.unwrap();
    let claimed = s.dequeue(Dequeue::new(1, NOW)).await.unwrap();
    s.dead_letter(&claimed[0], "malformed").await.unwrap();
    assert_eq!(s.queue_size().await.unwrap(), 0);
    let dead = s.dead_letters(None).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].data, b"\xffbad");
    assert_eq!(dead[0].reason, "malformed");
    assert!(dead[0].at <= Utc::now());
    assert!(!dead[0].id.is_empty(), "each entry has an id");
    assert_eq!(s.dead_letter_count().await.unwrap(), 1);
}

/// Dead-letters each of `items` (data, priority) through a claim, as a worker does; returns
/// the entries in list order.
async fn make_dead(s: &dyn Storage, items: &[(&str, i32)]) -> Vec<DeadLetter> {
    for (data, priority) in items {
        s.enqueue(b(data), *priority).await.unwrap();
        let claimed = s.dequeue(Dequeue::new(1, NOW)).await.unwrap();
        s.dead_letter(&claimed[0], &format!("bad {data}"))
            .await
            .unwrap();
    }
    let dead = s.dead_letters(None).await.unwrap();
    assert_eq!(dead.len(), items.len());
    dead
}

/// Requeueing selected dead letters puts exactly those back on the queue, with their priority,
/// once: a second requeue of the same id finds nothing.
pub async fn test_dead_letter_requeue_selected(s: &dyn Storage) {
    let dead = make_dead(s, &[("d1", 0), ("d2", 7), ("d3", 0)]).await;
    if s.supports_priority() {
        assert_eq!(dead[1].priority, 7);
    }
    let ids = vec![dead[1].id.clone(), "no-such-id".to_string()];
    let moved = s
        .requeue_dead_letters(DeadLetterSelection::Ids(&ids))
        .await
        .unwrap();
    assert_eq!(moved, [dead[1].clone()]);
    assert_eq!(s.dead_letter_count().await.unwrap(), 2);
    assert!(
        s.requeue_dead_letters(DeadLetterSelection::Ids(&ids))
            .await
            .unwrap()
            .is_empty(),
        "an entry is requeued once"
    );
    let claimed = s.dequeue(Dequeue::new(5, NOW)).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].data, b("d2"));
    if s.supports_priority() {
        assert_eq!(claimed[0].priority, 7);
    }
    s.ack(&claimed[0]).await.unwrap();
    let left: Vec<_> = s
        .dead_letters(None)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.data)
        .collect();
    assert_eq!(left, [b("d1"), b("d3")]);
}

/// Requeueing all dead letters empties the list and queues every message, in list order
/// within a priority.
pub async fn test_dead_letter_requeue_all(s: &dyn Storage) {
    make_dead(s, &[("a", 0), ("b", 0), ("c", 0)]).await;
    let moved = s
        .requeue_dead_letters(DeadLetterSelection::All)
        .await
        .unwrap();
    assert_eq!(moved.len(), 3);
    assert_eq!(s.dead_letter_count().await.unwrap(), 0);
    assert!(s.dead_letters(None).await.unwrap().is_empty());
    assert_eq!(drain(s).await, [b("a"), b("b"), b("c")]);
}

/// Deleting selected dead letters, then all of them; `dead_letters(limit)` reads the oldest.
pub async fn test_dead_letter_delete(s: &dyn Storage) {
    let dead = make_dead(s, &[("x", 0), ("y", 0), ("z", 0)]).await;
    let first: Vec<_> = s.dead_letters(Some(1)).await.unwrap();
    assert_eq!(first, [dead[0].clone()]);
    assert!(s.dead_letters(Some(0)).await.unwrap().is_empty());
    let ids = vec![dead[0].id.clone()];
    assert_eq!(
        s.delete_dead_letters(DeadLetterSelection::Ids(&ids))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.delete_dead_letters(DeadLetterSelection::Ids(&ids))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.delete_dead_letters(DeadLetterSelection::All)
            .await
            .unwrap(),
        2
    );
    assert_eq!(s.dead_letter_count().await.unwrap(), 0);
    assert_eq!(s.queue_size().await.unwrap(), 0, "deleted, not requeued");
}

/// A backend that bounds its dead letters ([`dead_letter_limit`]) keeps the newest that many,
/// whichever way they arrive (set aside at a claim, or by a settlement), and drops the oldest.
///
/// [`dead_letter_limit`]: huey_core::storage::DeadLetterStorage::dead_letter_limit
pub async fn test_dead_letter_retention(s: &dyn Storage) {
    let Some(limit) = s.dead_letter_limit() else {
        return;
    };
    let name = |i: usize| b(&format!("r{i:06}"));
    let items: Vec<_> = (0..limit + 2).map(|i| (name(i), 0)).collect();
    s.enqueue_many(items).await.unwrap();
    // Every message is over a limit of one byte: the claims set them all aside.
    let refuse_all = Dequeue::new(1000, NOW).max_message_size(Some(1));
    while s.queue_size().await.unwrap() > 0 {
        assert!(s.dequeue(refuse_all).await.unwrap().is_empty());
    }
    assert_eq!(s.dead_letter_count().await.unwrap(), limit);
    let oldest = s.dead_letters(Some(1)).await.unwrap();
    assert_eq!(oldest[0].data, name(2), "the two oldest were dropped");

    s.enqueue(b("settled"), 0).await.unwrap();
    let claimed = s.dequeue(Dequeue::new(1, NOW)).await.unwrap();
    s.dead_letter(&claimed[0], "bad").await.unwrap();
    let dead = s.dead_letters(None).await.unwrap();
    assert_eq!(dead.len(), limit);
    assert_eq!(dead[0].data, name(3));
    assert_eq!(dead[limit - 1].data, b("settled"), "the newest is kept");
}
