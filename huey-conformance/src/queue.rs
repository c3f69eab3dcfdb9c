//! [`QueueStorage`](huey_core::storage::QueueStorage): the queue, claims, and upkeep.

use std::time::Duration;

use huey_core::Storage;
use huey_core::storage::{Dequeue, Settled, Settlement, over_limit_reason};

use crate::support::{NOW, assert_claim_gone, b, claim, drain};

/// FIFO order, `enqueued_items(limit)` without claiming, empty dequeue, `flush_queue`.
pub async fn test_queue_methods(s: &dyn Storage) {
    for item in ["a", "b", "c"] {
        s.enqueue(b(item), 0).await.unwrap();
    }
    assert_eq!(s.queue_size().await.unwrap(), 3);
    assert_eq!(s.enqueued_items(Some(2)).await.unwrap(), [b("a"), b("b")]);
    assert_eq!(s.enqueued_items(None).await.unwrap().len(), 3);
    assert!(s.enqueued_items(Some(0)).await.unwrap().is_empty());
    assert_eq!(s.queue_size().await.unwrap(), 3, "listing claims nothing");
    assert_eq!(drain(s).await, [b("a"), b("b"), b("c")]);
    assert!(s.dequeue(Dequeue::new(1, NOW)).await.unwrap().is_empty());
    s.enqueue(b("x"), 0).await.unwrap();
    s.flush_queue().await.unwrap();
    assert_eq!(s.queue_size().await.unwrap(), 0);
}

/// Higher priority first, FIFO within a priority (Huey: 9, 7, 5, 3, 1, then 0s in order).
pub async fn test_priority(s: &dyn Storage) {
    if !s.supports_priority() {
        return;
    }
    for (item, priority) in [
        ("p1", 1),
        ("z1", 0),
        ("p5", 5),
        ("p9", 9),
        ("z2", 0),
        ("p3", 3),
        ("p7", 7),
        ("n", -1),
    ] {
        s.enqueue(b(item), priority).await.unwrap();
    }
    assert_eq!(s.enqueued_items(Some(2)).await.unwrap(), [b("p9"), b("p7")]);
    assert_eq!(
        drain(s).await,
        [
            b("p9"),
            b("p7"),
            b("p5"),
            b("p3"),
            b("p1"),
            b("z1"),
            b("z2"),
            b("n")
        ]
    );
}

/// A dequeue claims: the message leaves the queue, and an ack forgets it.
pub async fn test_claim_ack_contract(s: &dyn Storage) {
    s.enqueue(b("job"), 0).await.unwrap();
    let claimed = s.dequeue(Dequeue::new(1, NOW)).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].data, b("job"));
    assert_eq!(s.queue_size().await.unwrap(), 0);
    assert!(
        s.dequeue(Dequeue::new(1, NOW)).await.unwrap().is_empty(),
        "a claim is not handed out twice"
    );
    s.ack(&claimed[0]).await.unwrap();
    assert_eq!(s.queue_size().await.unwrap(), 0);
}

/// `requeue` gives a claim back to the queue.
pub async fn test_requeue_returns_claim(s: &dyn Storage) {
    s.enqueue(b("job"), 3).await.unwrap();
    let claimed = s.dequeue(Dequeue::new(1, NOW)).await.unwrap();
    s.requeue(&claimed[0]).await.unwrap();
    assert_eq!(s.queue_size().await.unwrap(), 1);
    let again = s.dequeue(Dequeue::new(1, NOW)).await.unwrap();
    assert_eq!(again[0].data, b("job"));
    if s.supports_priority() {
        assert_eq!(again[0].priority, 3);
    }
    s.ack(&again[0]).await.unwrap();
}

/// Each claim says how often its message was delivered without settling: 1 at first, one
/// more after each requeue, and the message itself never changes. A message that settles is
/// forgotten, count and all; a claim given back unstarted by `retire` is not counted.
pub async fn test_delivery_count(s: &dyn Storage) {
    s.enqueue(b("job"), 2).await.unwrap();
    let first = s.dequeue(Dequeue::new(1, NOW)).await.unwrap().remove(0);
    assert_eq!(first.deliveries, 1, "a first delivery");
    s.requeue(&first).await.unwrap();
    assert_eq!(s.enqueued_items(None).await.unwrap(), [b("job")]);
    let second = s.dequeue(Dequeue::new(1, NOW)).await.unwrap().remove(0);
    assert_eq!(
        (second.data.as_slice(), second.deliveries),
        (&b"job"[..], 2)
    );
    s.requeue(&second).await.unwrap();
    let third = s.dequeue(Dequeue::new(1, NOW)).await.unwrap().remove(0);
    assert_eq!(third.deliveries, 3);
    if s.supports_priority() {
        assert_eq!(third.priority, 2, "a requeue keeps the priority");
    }
    if s.maintenance_interval().is_some() {
        s.retire().await.unwrap();
        let back = s.dequeue(Dequeue::new(1, NOW)).await.unwrap().remove(0);
        assert_eq!(
            back.deliveries, 3,
            "a retired claim is given back uncounted"
        );
        s.ack(&back).await.unwrap();
    } else {
        assert_eq!(
            s.settle(Some(&third), &Settlement::ack()).await.unwrap(),
            Settled::Applied,
            "a redelivered claim settles like any other"
        );
    }
    s.enqueue(b("job"), 2).await.unwrap();
    let fresh = s.dequeue(Dequeue::new(1, NOW)).await.unwrap().remove(0);
    assert_eq!(
        fresh.deliveries, 1,
        "a settled message's count is gone with it"
    );
    s.ack(&fresh).await.unwrap();
}

/// `release` gives an unstarted claim back without counting it as a delivery.
pub async fn test_release_is_uncounted(s: &dyn Storage) {
    s.enqueue(b("job"), 1).await.unwrap();
    let first = s.dequeue(Dequeue::new(1, NOW)).await.unwrap().remove(0);
    s.release(&first).await.unwrap();
    assert_eq!(s.queue_size().await.unwrap(), 1);
    let again = s.dequeue(Dequeue::new(1, NOW)).await.unwrap().remove(0);
    assert_eq!((again.data.as_slice(), again.deliveries), (&b"job"[..], 1));
    s.ack(&again).await.unwrap();
    assert_eq!(s.queue_size().await.unwrap(), 0);
}

/// One dequeue can claim several messages, in queue order.
pub async fn test_dequeue_batch(s: &dyn Storage) {
    for item in ["1", "2", "3"] {
        s.enqueue(b(item), 0).await.unwrap();
    }
    let batch = s.dequeue(Dequeue::new(2, NOW)).await.unwrap();
    let data: Vec<_> = batch.iter().map(|d| d.data.clone()).collect();
    assert_eq!(data, [b("1"), b("2")]);
    let rest = s.dequeue(Dequeue::new(5, NOW)).await.unwrap();
    assert_eq!(rest.len(), 1);
    for d in batch.iter().chain(&rest) {
        s.ack(d).await.unwrap();
    }
}

/// A waiting dequeue returns as soon as a message arrives, not at its timeout.
pub async fn test_dequeue_wakes_on_enqueue(s: &dyn Storage) {
    let started = std::time::Instant::now();
    let (claimed, ()) = tokio::join!(s.dequeue(Dequeue::new(1, Duration::from_secs(30))), async {
        tokio::task::yield_now().await;
        s.enqueue(b("wake"), 0).await.unwrap();
    });
    let claimed = claimed.unwrap();
    assert_eq!(claimed[0].data, b("wake"));
    assert!(started.elapsed() < Duration::from_secs(30));
    s.ack(&claimed[0]).await.unwrap();
}

/// Every byte value, repeated to `len` bytes: a message that is not UTF-8.
fn binary(len: usize) -> Vec<u8> {
    (0..=255u8).cycle().take(len).collect()
}

/// A dequeue with a size limit hands out messages up to the limit (one exactly at it
/// included) and moves a longer one to the dead-letter list itself, byte for byte, with its
/// priority and the reason [`over_limit_reason`]; the queue then goes on as before.
pub async fn test_dequeue_size_limit(s: &dyn Storage) {
    let big = binary(300);
    s.enqueue(b("small"), 0).await.unwrap();
    s.enqueue(big.clone(), 3).await.unwrap();
    s.enqueue(vec![b'x'; 100], 0).await.unwrap();
    let request = Dequeue::new(10, NOW).max_message_size(Some(100));
    let mut claimed = Vec::new();
    // A refused message may count towards `max`, and a call may return none: ask until empty.
    for _ in 0..10 {
        for d in s.dequeue(request).await.unwrap() {
            s.ack(&d).await.unwrap();
            claimed.push(d.data);
        }
        if s.queue_size().await.unwrap() == 0 {
            break;
        }
    }
    assert_eq!(claimed, [b("small"), vec![b'x'; 100]], "the rest in order");
    assert!(s.dequeue(request).await.unwrap().is_empty());
    let dead = s.dead_letters(None).await.unwrap();
    assert_eq!(dead.len(), 1, "the long message is a dead letter");
    assert!(dead[0].data == big, "its bytes, exactly");
    assert_eq!(dead[0].reason, over_limit_reason(300, 100));
    assert!(!dead[0].id.is_empty());
    if s.supports_priority() {
        assert_eq!(dead[0].priority, 3);
    }
    // Requeued, it is an ordinary message again to a dequeue without a limit.
    s.requeue_dead_letters(huey_core::DeadLetterSelection::All)
        .await
        .unwrap();
    let again = s.dequeue(Dequeue::new(1, NOW)).await.unwrap();
    assert!(again.len() == 1 && again[0].data == big);
    s.ack(&again[0]).await.unwrap();
}

/// A waiting dequeue with a size limit still wakes when a message arrives, and a message over
/// the limit that arrives meanwhile is dead-lettered, not handed out.
pub async fn test_dequeue_size_limit_while_waiting(s: &dyn Storage) {
    let request = Dequeue::new(1, Duration::from_secs(30)).max_message_size(Some(10));
    let started = std::time::Instant::now();
    let (claimed, ()) = tokio::join!(s.dequeue(request), async {
        tokio::task::yield_now().await;
        s.enqueue(binary(50), 0).await.unwrap();
        s.enqueue(b("wake"), 0).await.unwrap();
    });
    let mut claimed = claimed.unwrap();
    if claimed.is_empty() {
        // It returned after setting the long one aside; the next call finds the short one.
        claimed = s.dequeue(request).await.unwrap();
    }
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].data, b("wake"));
    assert!(started.elapsed() < Duration::from_secs(30));
    s.ack(&claimed[0]).await.unwrap();
    let dead = s.dead_letters(None).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].data == binary(50));
}

/// `enqueue_many` queues every message, in order and with its priority; an empty batch is a
/// no-op.
pub async fn test_enqueue_many(s: &dyn Storage) {
    s.enqueue_many(Vec::new()).await.unwrap();
    assert_eq!(s.queue_size().await.unwrap(), 0);
    let items: Vec<_> = (0..5).map(|i| (b(&format!("m{i}")), 0)).collect();
    s.enqueue_many(items).await.unwrap();
    s.enqueue_many(vec![(b("urgent"), 8)]).await.unwrap();
    assert_eq!(s.queue_size().await.unwrap(), 6);
    let mut expected: Vec<_> = (0..5).map(|i| b(&format!("m{i}"))).collect();
    if s.supports_priority() {
        expected.insert(0, b("urgent"));
        let first = s.dequeue(Dequeue::new(1, NOW)).await.unwrap().remove(0);
        assert_eq!(first.priority, 8, "the batch keeps each message's priority");
        s.requeue(&first).await.unwrap();
    } else {
        expected.push(b("urgent"));
    }
    assert_eq!(drain(s).await, expected);
}

/// Upkeep never takes a live consumer's own claims away: after `maintain` (twice, as a
/// backend may need two beats to judge a claim), a claim handed out is still held.
pub async fn test_maintain_keeps_own_claims(s: &dyn Storage) {
    let job = claim(s, "held", 0).await;
    s.maintain().await.unwrap();
    s.maintain().await.unwrap();
    assert_eq!(s.queue_size().await.unwrap(), 0, "the claim stayed claimed");
    assert_eq!(
        s.settle(Some(&job), &Settlement::ack()).await.unwrap(),
        Settled::Applied,
        "and is still this consumer's to settle"
    );
}

/// `retire` gives every claim still held back to the queue, with its priority, and those
/// claims can no longer be settled. A backend without upkeep (no
/// [`maintenance_interval`](huey_core::storage::QueueStorage::maintenance_interval)) has no
/// consumers to retire, and this case does not apply to it.
pub async fn test_retire_gives_claims_back(s: &dyn Storage) {
    if s.maintenance_interval().is_none() {
        return;
    }
    let first = claim(s, "a", 7).await;
    let second = claim(s, "b", 1).await;
    s.retire().await.unwrap();
    assert_eq!(s.queue_size().await.unwrap(), 2, "both claims came back");
    assert_claim_gone(s, &first).await;
    assert_claim_gone(s, &second).await;
    let mut back: Vec<_> = s
        .dequeue(Dequeue::new(2, NOW))
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.data, d.priority))
        .collect();
    back.sort();
    let mut expected = vec![(b("a"), 7), (b("b"), 1)];
    if !s.supports_priority() {
        expected = vec![(b("a"), 0), (b("b"), 0)];
    }
    assert_eq!(back, expected);
}
