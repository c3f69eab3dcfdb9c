//! The storage behaviour suite. Every backend must pass it; each function takes a fresh, empty
//! storage.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use huey_core::storage::{Delivery, RevocationTarget, Settled, Settlement};
use huey_core::{DeadLetterSelection, Storage};

/// Defines one `#[tokio::test]` per behaviour for the storage that `$make` builds (an
/// expression, which may `.await`, evaluated once per test, giving a [`StorageFixture`]).
#[macro_export]
macro_rules! storage_suite {
    ($make:expr) => {
        $crate::storage_suite!(@tests $make;
            test_queue_methods, test_priority, test_schedule_methods, test_read_schedule,
            test_promote_due, test_result_store_methods, test_peek_many, test_put_if_empty_ttl,
            test_delete_data_if,
            test_wait_result, test_counter, test_claim_ack_contract, test_requeue_returns_claim,
            test_dead_letter_keeps_message, test_dead_letter_requeue_selected,
            test_dead_letter_requeue_all, test_dead_letter_delete, test_dequeue_batch,
            test_dequeue_wakes_on_enqueue, test_flush_all, test_chord_record,
            test_semaphore_methods, test_semaphore_expiry,
            test_settle_success_with_next_stage, test_settle_final_failure_with_error_handler,
            test_settle_retry_without_delay, test_settle_retry_with_delay,
            test_settle_chord_member_fires_once, test_settle_dead_letter, test_settle_requeue,
            test_settle_not_held_writes_nothing, test_settle_without_claim,
            test_settle_wakes_result_waiter, test_revocation_methods
        );
    };
    (@tests $make:expr; $($name:ident),*) => {
        $(
            #[tokio::test]
            async fn $name() {
                let fixture = $make;
                $crate::storage_suite::$name($crate::storage_suite::StorageFixture::storage(&fixture)).await;
            }
        )*
    };
}

/// What a suite test holds for its duration: a storage, and whatever keeps it alive (a server).
pub trait StorageFixture {
    /// The storage under test.
    fn storage(&self) -> &dyn Storage;
}

impl<S: Storage> StorageFixture for S {
    fn storage(&self) -> &dyn Storage {
        self
    }
}

const NOW: Duration = Duration::ZERO;

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

async fn drain(s: &dyn Storage) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let batch = s.dequeue(1, NOW).await.unwrap();
        if batch.is_empty() {
            return out;
        }
        for d in batch {
            s.ack(&d).await.unwrap();
            out.push(d.data);
        }
    }
}

/// FIFO order, `enqueued_items(limit)`, empty dequeue, `flush_queue`.
pub async fn test_queue_methods(s: &dyn Storage) {
    for item in ["a", "b", "c"] {
        s.enqueue(b(item), 0).await.unwrap();
    }
    assert_eq!(s.queue_size().await.unwrap(), 3);
    assert_eq!(s.enqueued_items(Some(2)).await.unwrap(), [b("a"), b("b")]);
    assert_eq!(s.enqueued_items(None).await.unwrap().len(), 3);
    assert_eq!(drain(s).await, [b("a"), b("b"), b("c")]);
    assert!(s.dequeue(1, NOW).await.unwrap().is_empty());
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

/// `scheduled_items(limit)` soonest first, `schedule_size`, `flush_schedule`.
pub async fn test_schedule_methods(s: &dyn Storage) {
    let now = Utc::now();
    s.add_to_schedule(b("later"), now + TimeDelta::seconds(20), 0)
        .await
        .unwrap();
    s.add_to_schedule(b("soon"), now + TimeDelta::seconds(10), 0)
        .await
        .unwrap();
    s.add_to_schedule(b("latest"), now + TimeDelta::seconds(30), 0)
        .await
        .unwrap();
    assert_eq!(s.schedule_size().await.unwrap(), 3);
    assert_eq!(
        s.scheduled_items(Some(2)).await.unwrap(),
        [b("soon"), b("later")]
    );
    s.flush_schedule().await.unwrap();
    assert_eq!(s.schedule_size().await.unwrap(), 0);
}

/// `read_schedule(ts)` is inclusive, destructive and time-ordered.
pub async fn test_read_schedule(s: &dyn Storage) {
    let now = Utc::now();
    let at = |n| now + TimeDelta::seconds(n);
    s.add_to_schedule(b("t2"), at(2), 0).await.unwrap();
    s.add_to_schedule(b("t1"), at(1), 0).await.unwrap();
    s.add_to_schedule(b("t3"), at(3), 0).await.unwrap();
    assert!(s.read_schedule(now).await.unwrap().is_empty());
    assert_eq!(s.read_schedule(at(2)).await.unwrap(), [b("t1"), b("t2")]);
    assert!(
        s.read_schedule(at(2)).await.unwrap().is_empty(),
        "destructive"
    );
    assert_eq!(s.schedule_size().await.unwrap(), 1);
}

/// `promote_due` moves due messages to the queue with their priority.
pub async fn test_promote_due(s: &dyn Storage) {
    let now = Utc::now();
    s.add_to_schedule(b("low"), now, 0).await.unwrap();
    s.add_to_schedule(b("high"), now, 5).await.unwrap();
    s.add_to_schedule(b("future"), now + TimeDelta::hours(1), 9)
        .await
        .unwrap();
    let moved = s.promote_due(now).await.unwrap();
    assert_eq!(moved.len(), 2);
    assert_eq!(s.schedule_size().await.unwrap(), 1);
    assert_eq!(s.queue_size().await.unwrap(), 2);
    if s.supports_priority() {
        assert_eq!(drain(s).await, [b("high"), b("low")]);
    }
}

/// put, peek, pop, overwrite, missing keys, `has_data_for_key`, `put_if_empty`, `delete_data`,
/// `result_items`, `flush_results`.
pub async fn test_result_store_methods(s: &dyn Storage) {
    s.put_data("k1", b("v1")).await.unwrap();
    assert_eq!(s.peek_data("k1").await.unwrap(), Some(b("v1")));
    assert_eq!(s.peek_data("k1").await.unwrap(), Some(b("v1")));
    s.put_data("k1", b("v1b")).await.unwrap();
    assert_eq!(s.pop_data("k1").await.unwrap(), Some(b("v1b")));
    assert_eq!(s.pop_data("k1").await.unwrap(), None);
    assert_eq!(s.peek_data("missing").await.unwrap(), None);
    assert!(!s.has_data_for_key("k1").await.unwrap());
    assert!(s.put_if_empty("k2", b("first"), None).await.unwrap());
    assert!(!s.put_if_empty("k2", b("second"), None).await.unwrap());
    assert_eq!(s.peek_data("k2").await.unwrap(), Some(b("first")));
    assert!(s.has_data_for_key("k2").await.unwrap());
    s.put_data("k3", Vec::new()).await.unwrap();
    assert_eq!(
        s.peek_data("k3").await.unwrap(),
        Some(Vec::new()),
        "empty values round-trip"
    );
    let items = s.result_items().await.unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items["k2"], b("first"));
    assert_eq!(s.result_store_size().await.unwrap(), 2);
    assert!(s.delete_data("k2").await.unwrap());
    assert!(!s.delete_data("k2").await.unwrap());
    s.flush_results().await.unwrap();
    assert_eq!(s.result_store_size().await.unwrap(), 0);
}

/// `peek_many` returns values aligned with the keys, `None` where missing.
pub async fn test_peek_many(s: &dyn Storage) {
    s.put_data("a", b("1")).await.unwrap();
    s.put_data("c", b("3")).await.unwrap();
    assert_eq!(
        s.peek_many(&["a", "b", "c"]).await.unwrap(),
        [Some(b("1")), None, Some(b("3"))]
    );
}

/// `delete_data_if` removes a value only while it is the expected one, with or without a TTL
/// (how a lock holder releases only its own acquisition).
pub async fn test_delete_data_if(s: &dyn Storage) {
    assert!(
        !s.delete_data_if("k", b"mine").await.unwrap(),
        "missing key"
    );
    s.put_data("k", b("theirs")).await.unwrap();
    assert!(!s.delete_data_if("k", b"mine").await.unwrap());
    assert_eq!(s.peek_data("k").await.unwrap(), Some(b("theirs")));
    assert!(s.delete_data_if("k", b"theirs").await.unwrap());
    assert!(!s.has_data_for_key("k").await.unwrap());

    let ttl = Some(Duration::from_secs(60));
    assert!(s.put_if_empty("lock", b("token-a"), ttl).await.unwrap());
    assert!(!s.delete_data_if("lock", b"token-b").await.unwrap());
    assert!(s.has_data_for_key("lock").await.unwrap());
    assert!(s.delete_data_if("lock", b"token-a").await.unwrap());
    assert!(!s.has_data_for_key("lock").await.unwrap());
}

/// A `put_if_empty` with a ttl expires, after which the key can be taken again.
pub async fn test_put_if_empty_ttl(s: &dyn Storage) {
    let ttl = Duration::from_millis(100);
    assert!(s.put_if_empty("lock", b("1"), Some(ttl)).await.unwrap());
    assert!(!s.put_if_empty("lock", b("2"), Some(ttl)).await.unwrap());
    // Expiry is the behaviour under test, so this waits out the ttl itself.
    tokio::time::sleep(ttl * 3).await;
    assert!(!s.has_data_for_key("lock").await.unwrap());
    assert!(s.put_if_empty("lock", b("3"), Some(ttl)).await.unwrap());
}

/// `wait_result` is false on timeout and true once a value lands, waking the waiter.
pub async fn test_wait_result(s: &dyn Storage) {
    assert!(!s.wait_result("r", Duration::from_millis(20)).await.unwrap());
    let (woke, ()) = tokio::join!(s.wait_result("r", Duration::from_secs(10)), async {
        tokio::task::yield_now().await;
        s.put_result("r", b("done")).await.unwrap();
    });
    assert!(woke.unwrap());
    assert!(s.wait_result("r", Duration::ZERO).await.unwrap());
}

/// `incr` by amounts, `delete_counter`, `flush_counters`; counters are their own namespace.
pub async fn test_counter(s: &dyn Storage) {
    assert_eq!(s.incr("c", 1).await.unwrap(), 1);
    assert_eq!(s.incr("c", 5).await.unwrap(), 6);
    assert_eq!(s.incr("c", -2).await.unwrap(), 4);
    assert_eq!(s.incr("c", 0).await.unwrap(), 4);
    assert!(
        !s.has_data_for_key("c").await.unwrap(),
        "counters are not kv data"
    );
    assert!(s.delete_counter("c").await.unwrap());
    assert!(!s.delete_counter("c").await.unwrap());
    assert_eq!(s.incr("c", 1).await.unwrap(), 1);
    s.incr("d", 1).await.unwrap();
    s.flush_counters().await.unwrap();
    assert_eq!(s.incr("d", 1).await.unwrap(), 1);
}

/// A dequeue claims: the message leaves the queue, and an ack forgets it.
pub async fn test_claim_ack_contract(s: &dyn Storage) {
    s.enqueue(b("job"), 0).await.unwrap();
    let claimed = s.dequeue(1, NOW).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].data, b("job"));
    assert_eq!(s.queue_size().await.unwrap(), 0);
    assert!(
        s.dequeue(1, NOW).await.unwrap().is_empty(),
        "a claim is not handed out twice"
    );
    s.ack(&claimed[0]).await.unwrap();
    assert_eq!(s.queue_size().await.unwrap(), 0);
}

/// `requeue` gives a claim back to the queue.
pub async fn test_requeue_returns_claim(s: &dyn Storage) {
    s.enqueue(b("job"), 3).await.unwrap();
    let claimed = s.dequeue(1, NOW).await.unwrap();
    s.requeue(&claimed[0]).await.unwrap();
    assert_eq!(s.queue_size().await.unwrap(), 1);
    let again = s.dequeue(1, NOW).await.unwrap();
    assert_eq!(again[0].data, b("job"));
    if s.supports_priority() {
        assert_eq!(again[0].priority, 3);
    }
    s.ack(&again[0]).await.unwrap();
}

/// `dead_letter` keeps the message and the reason; it is not on the queue.
pub async fn test_dead_letter_keeps_message(s: &dyn Storage) {
    s.enqueue(b"\xffbad".to_vec(), 0).await.unwrap();
    let claimed = s.dequeue(1, NOW).await.unwrap();
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
async fn make_dead(s: &dyn Storage, items: &[(&str, i32)]) -> Vec<huey_core::storage::DeadLetter> {
    for (data, priority) in items {
        s.enqueue(b(data), *priority).await.unwrap();
        let claimed = s.dequeue(1, NOW).await.unwrap();
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
    let claimed = s.dequeue(5, NOW).await.unwrap();
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

/// One dequeue can claim several messages, in queue order.
pub async fn test_dequeue_batch(s: &dyn Storage) {
    for item in ["1", "2", "3"] {
        s.enqueue(b(item), 0).await.unwrap();
    }
    let batch = s.dequeue(2, NOW).await.unwrap();
    let data: Vec<_> = batch.iter().map(|d| d.data.clone()).collect();
    assert_eq!(data, [b("1"), b("2")]);
    let rest = s.dequeue(5, NOW).await.unwrap();
    assert_eq!(rest.len(), 1);
    for d in batch.iter().chain(&rest) {
        s.ack(d).await.unwrap();
    }
}

/// A waiting dequeue returns as soon as a message arrives, not at its timeout.
pub async fn test_dequeue_wakes_on_enqueue(s: &dyn Storage) {
    let started = std::time::Instant::now();
    let (claimed, ()) = tokio::join!(s.dequeue(1, Duration::from_secs(30)), async {
        tokio::task::yield_now().await;
        s.enqueue(b("wake"), 0).await.unwrap();
    });
    let claimed = claimed.unwrap();
    assert_eq!(claimed[0].data, b("wake"));
    assert!(started.elapsed() < Duration::from_secs(30));
    s.ack(&claimed[0]).await.unwrap();
}

/// `flush_all` empties queue, schedule, results and counters.
pub async fn test_flush_all(s: &dyn Storage) {
    s.enqueue(b("q"), 0).await.unwrap();
    s.add_to_schedule(b("s"), Utc::now(), 0).await.unwrap();
    s.put_data("k", b("v")).await.unwrap();
    s.incr("c", 5).await.unwrap();
    flush_all(s).await;
    assert_eq!(s.queue_size().await.unwrap(), 0);
    assert_eq!(s.schedule_size().await.unwrap(), 0);
    assert_eq!(s.result_store_size().await.unwrap(), 0);
    assert_eq!(s.incr("c", 1).await.unwrap(), 1);
}

/// Chord bookkeeping: recording twice for one member never completes a chord early, the
/// completing member gets every outcome (again on a re-run), others get nothing, and once a
/// settlement has fired the chord, nobody gets anything again.
pub async fn test_chord_record(s: &dyn Storage) {
    assert_eq!(s.chord_record("c1", 0, 3, b("a")).await.unwrap(), None);
    // A duplicate run of member 0 (at-least-once delivery) is not a second member.
    assert_eq!(s.chord_record("c1", 0, 3, b("a")).await.unwrap(), None);
    assert_eq!(s.chord_record("c1", 2, 3, b("c")).await.unwrap(), None);
    let all = s.chord_record("c1", 1, 3, b("b")).await.unwrap();
    assert_eq!(all, Some(vec![b("a"), b("b"), b("c")]));
    // The completing member again (a re-run before its callback was enqueued): same answer.
    let again = s.chord_record("c1", 1, 3, b("b")).await.unwrap();
    assert_eq!(again, Some(vec![b("a"), b("b"), b("c")]));
    // Any other member late: nothing, so the callback is not enqueued twice by it.
    assert_eq!(s.chord_record("c1", 0, 3, b("a")).await.unwrap(), None);
    // Chords are independent.
    assert_eq!(
        s.chord_record("c2", 0, 1, b("x")).await.unwrap(),
        Some(vec![b("x")])
    );
    let fired = s.settle(None, Settlement::ack().chord_fired("c1")).await;
    assert_eq!(fired.unwrap(), Settled::Applied);
    assert_eq!(s.chord_record("c1", 1, 3, b("b")).await.unwrap(), None);
    s.flush_counters().await.unwrap();
    assert_eq!(s.chord_record("c2", 0, 2, b("x")).await.unwrap(), None);
}

/// The semaphore methods: at most `value` holders, idempotent re-acquire, renew and release
/// report whether the holder had a live slot, semaphores are independent of each other and of
/// kv data of the same key, and `flush_all` clears them.
pub async fn test_semaphore_methods(s: &dyn Storage) {
    // Distinct ttls, so the expiry order (and `semaphore_holders`) never rests on a tie.
    let ttl = Duration::from_secs(60);
    assert!(s.semaphore_holders("sem").await.unwrap().is_empty());
    assert!(s.semaphore_acquire("sem", "a", 2, ttl).await.unwrap());
    assert!(s.semaphore_acquire("sem", "b", 2, ttl * 2).await.unwrap());
    assert!(
        !s.semaphore_acquire("sem", "c", 2, ttl).await.unwrap(),
        "full"
    );
    assert_eq!(s.semaphore_holders("sem").await.unwrap(), ["a", "b"]);
    assert!(
        s.semaphore_acquire("sem", "a", 2, ttl * 3).await.unwrap(),
        "a holder already in is admitted again"
    );
    assert_eq!(
        s.semaphore_holders("sem").await.unwrap(),
        ["b", "a"],
        "one slot for a, its expiry refreshed"
    );

    assert!(s.semaphore_renew("sem", "b", ttl * 4).await.unwrap());
    assert_eq!(s.semaphore_holders("sem").await.unwrap(), ["a", "b"]);
    assert!(
        !s.semaphore_renew("sem", "c", ttl).await.unwrap(),
        "renewing takes no slot"
    );
    assert_eq!(s.semaphore_holders("sem").await.unwrap().len(), 2);

    assert!(s.semaphore_release("sem", "a").await.unwrap());
    assert!(!s.semaphore_release("sem", "a").await.unwrap());
    assert!(s.semaphore_acquire("sem", "c", 2, ttl).await.unwrap());
    assert!(
        !s.semaphore_acquire("sem", "d", 1, ttl).await.unwrap(),
        "a smaller value admits fewer"
    );

    assert!(s.semaphore_acquire("other", "a", 1, ttl).await.unwrap());
    assert!(!s.has_data_for_key("sem").await.unwrap(), "not kv data");
    s.put_data("sem", b("v")).await.unwrap();
    assert_eq!(s.semaphore_holders("sem").await.unwrap().len(), 2);
    assert!(
        !s.semaphore_acquire("none", "a", 0, ttl).await.unwrap(),
        "a value of 0 admits nobody"
    );

    flush_all(s).await;
    assert!(s.semaphore_holders("sem").await.unwrap().is_empty());
    assert!(s.semaphore_holders("other").await.unwrap().is_empty());
}

/// A slot not renewed expires: it frees room, can no longer be renewed or released, and
/// a renewed one outlives its first expiry.
pub async fn test_semaphore_expiry(s: &dyn Storage) {
    let short = Duration::from_millis(100);
    let long = Duration::from_secs(60);
    let taken = tokio::time::Instant::now();
    assert!(s.semaphore_acquire("sem", "a", 2, short).await.unwrap());
    assert!(s.semaphore_acquire("sem", "b", 2, short).await.unwrap());
    assert!(s.semaphore_renew("sem", "b", long).await.unwrap());
    assert!(!s.semaphore_acquire("sem", "c", 2, long).await.unwrap());
    // Expiry is the behaviour under test, so this waits out the ttl itself.
    tokio::time::sleep_until(taken + short * 2).await;
    assert_eq!(s.semaphore_holders("sem").await.unwrap(), ["b"]);
    assert!(!s.semaphore_renew("sem", "a", long).await.unwrap());
    assert!(!s.semaphore_release("sem", "a").await.unwrap());
    assert!(s.semaphore_acquire("sem", "c", 2, long).await.unwrap());
}

/// Empties everything a `Huey::flush` empties.
async fn flush_all(s: &dyn Storage) {
    s.flush_queue().await.unwrap();
    s.flush_schedule().await.unwrap();
    s.flush_results().await.unwrap();
    s.flush_counters().await.unwrap();
}

/// Enqueues `data` and claims it, as a worker's fetcher does.
async fn claim(s: &dyn Storage, data: &str, priority: i32) -> Delivery {
    s.enqueue(b(data), priority).await.unwrap();
    let mut claimed = s.dequeue(1, NOW).await.unwrap();
    assert_eq!(claimed.len(), 1, "the message is claimed");
    claimed.remove(0)
}

/// A claim is gone once settled: dequeue finds nothing, and settling it again is refused.
async fn assert_claim_gone(s: &dyn Storage, claim: &Delivery) {
    let again = s.settle(Some(claim), Settlement::ack()).await.unwrap();
    assert_eq!(
        again,
        Settled::NotHeld,
        "a settled claim is not held any more"
    );
}

/// Success: the result, the next pipeline stage and the removal of a revocation flag that
/// arrived while the task ran land together with the acknowledgement.
pub async fn test_settle_success_with_next_stage(s: &dyn Storage) {
    let job = claim(s, "stage-1", 0).await;
    let revoked = RevocationTarget::Instance("t1");
    s.put_revocation(revoked, b("flag")).await.unwrap();
    let settlement = Settlement::ack()
        .result("t1", b("one"))
        .clear_revocation("t1")
        .enqueue(b("stage-2"), 0);
    assert_eq!(
        s.settle(Some(&job), settlement).await.unwrap(),
        Settled::Applied
    );
    assert_eq!(s.peek_data("t1").await.unwrap(), Some(b("one")));
    assert_eq!(s.revocation(revoked).await.unwrap(), None, "flag removed");
    assert_eq!(s.enqueued_items(None).await.unwrap(), [b("stage-2")]);
    assert_claim_gone(s, &job).await;
    assert_eq!(drain(s).await, [b("stage-2")]);
}

/// Final failure: the failure as the task's result and every later stage's, and the error
/// handler enqueued.
pub async fn test_settle_final_failure_with_error_handler(s: &dyn Storage) {
    let job = claim(s, "failing", 0).await;
    let settlement = Settlement::ack()
        .result("t1", b("failure"))
        .result("t2", b("failure"))
        .result("t3", b("failure"))
        .enqueue(b("handler"), 0);
    assert_eq!(
        s.settle(Some(&job), settlement).await.unwrap(),
        Settled::Applied
    );
    let stored = s.peek_many(&["t1", "t2", "t3"]).await.unwrap();
    assert_eq!(stored, vec![Some(b("failure")); 3]);
    assert_eq!(s.enqueued_items(None).await.unwrap(), [b("handler")]);
    assert_claim_gone(s, &job).await;
}

/// A retry without a delay: the copy is on the queue exactly when the claim is gone.
pub async fn test_settle_retry_without_delay(s: &dyn Storage) {
    let job = claim(s, "attempt-1", 5).await;
    let settlement = Settlement::ack()
        .result("t1", b("error"))
        .enqueue(b("attempt-2"), 5);
    assert_eq!(
        s.settle(Some(&job), settlement).await.unwrap(),
        Settled::Applied
    );
    let copy = s.dequeue(1, NOW).await.unwrap();
    assert_eq!(copy.len(), 1);
    assert_eq!(copy[0].data, b("attempt-2"));
    if s.supports_priority() {
        assert_eq!(copy[0].priority, 5, "the copy keeps its priority");
    }
    assert_claim_gone(s, &job).await;
}

/// A retry with a delay: the copy is in the schedule, due at its ETA, and the claim is gone.
pub async fn test_settle_retry_with_delay(s: &dyn Storage) {
    let job = claim(s, "attempt-1", 2).await;
    let eta = Utc::now() + TimeDelta::seconds(30);
    let settlement = Settlement::ack().schedule(b("attempt-2"), 2, eta);
    assert_eq!(
        s.settle(Some(&job), settlement).await.unwrap(),
        Settled::Applied
    );
    assert_eq!(s.queue_size().await.unwrap(), 0);
    assert_eq!(s.schedule_size().await.unwrap(), 1);
    assert_eq!(s.scheduled_items(None).await.unwrap(), [b("attempt-2")]);
    assert!(
        s.read_schedule(Utc::now()).await.unwrap().is_empty(),
        "not due yet"
    );
    let due = s.read_schedule(eta + TimeDelta::seconds(1)).await.unwrap();
    assert_eq!(due, [b("attempt-2")]);
    assert_claim_gone(s, &job).await;
}

/// A chord member: recording its outcome completes the chord, and the settlement that
/// enqueues the callback fires it. A re-run of that member, before the settlement (a crash)
/// gets the outcomes again; after it, nothing, so the callback is enqueued once.
pub async fn test_settle_chord_member_fires_once(s: &dyn Storage) {
    assert_eq!(s.chord_record("ch", 0, 2, b("a")).await.unwrap(), None);
    let job = claim(s, "member-1", 0).await;
    let outcomes = Some(vec![b("a"), b("b")]);
    assert_eq!(s.chord_record("ch", 1, 2, b("b")).await.unwrap(), outcomes);
    // The member crashed before its settlement: the re-run records again.
    assert_eq!(s.chord_record("ch", 1, 2, b("b")).await.unwrap(), outcomes);
    let settlement = Settlement::ack()
        .result("m1", b("b"))
        .enqueue(b("callback"), 0)
        .chord_fired("ch");
    assert_eq!(
        s.settle(Some(&job), settlement).await.unwrap(),
        Settled::Applied
    );
    assert_eq!(s.enqueued_items(None).await.unwrap(), [b("callback")]);
    for index in [0, 1] {
        let late = s.chord_record("ch", index, 2, b("x")).await.unwrap();
        assert_eq!(late, None, "a fired chord completes nobody again");
    }
    assert_claim_gone(s, &job).await;
}

/// A message that cannot run: the claim becomes a dead letter with its reason and priority.
pub async fn test_settle_dead_letter(s: &dyn Storage) {
    let job = claim(s, "poison", 4).await;
    let settlement = Settlement::dead_letter("cannot decode");
    assert_eq!(
        s.settle(Some(&job), settlement).await.unwrap(),
        Settled::Applied
    );
    let dead = s.dead_letters(None).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].data.as_slice(), dead[0].reason.as_str()),
        (&b"poison"[..], "cannot decode")
    );
    if s.supports_priority() {
        assert_eq!(dead[0].priority, 4);
    }
    assert_eq!(s.queue_size().await.unwrap(), 0);
    assert_claim_gone(s, &job).await;
}

/// An interrupted task: the claim goes back to the queue, with its priority.
pub async fn test_settle_requeue(s: &dyn Storage) {
    s.enqueue(b("low"), 0).await.unwrap();
    let job = claim(s, "high", 9).await;
    let job = if job.data == b("high") {
        job
    } else {
        // A FIFO queue hands out "low" first; settle it and take "high".
        s.ack(&job).await.unwrap();
        s.dequeue(1, NOW).await.unwrap().remove(0)
    };
    assert_eq!(
        s.settle(Some(&job), Settlement::requeue()).await.unwrap(),
        Settled::Applied
    );
    assert_claim_gone(s, &job).await;
    let again = s.dequeue(1, NOW).await.unwrap();
    assert_eq!(again[0].data, b("high"), "the requeued message is next");
    if s.supports_priority() {
        assert_eq!(again[0].priority, 9);
    }
}

/// Fencing: a settlement for a claim that is no longer held (settled already, or taken over by
/// another consumer) writes nothing at all.
pub async fn test_settle_not_held_writes_nothing(s: &dyn Storage) {
    let job = claim(s, "once", 0).await;
    s.ack(&job).await.unwrap();
    let eta = Utc::now() + TimeDelta::seconds(30);
    let settlement = Settlement::ack()
        .result("late", b("stale"))
        .enqueue(b("next"), 0)
        .schedule(b("retry"), 0, eta);
    assert_eq!(
        s.settle(Some(&job), settlement).await.unwrap(),
        Settled::NotHeld
    );
    assert!(
        !s.has_data_for_key("late").await.unwrap(),
        "no stale result"
    );
    assert_eq!(s.queue_size().await.unwrap(), 0, "no follow-up");
    assert_eq!(s.schedule_size().await.unwrap(), 0, "no retry copy");
}

/// Without a claim (immediate mode, a bare result) a settlement always applies.
pub async fn test_settle_without_claim(s: &dyn Storage) {
    let settlement = Settlement::ack().result("r1", b("v")).enqueue(b("m"), 0);
    assert_eq!(s.settle(None, settlement).await.unwrap(), Settled::Applied);
    assert_eq!(s.peek_data("r1").await.unwrap(), Some(b("v")));
    assert_eq!(drain(s).await, [b("m")]);
}

/// A result written by a settlement wakes whoever waits for it.
pub async fn test_settle_wakes_result_waiter(s: &dyn Storage) {
    let job = claim(s, "job", 0).await;
    let (woken, settled) = tokio::join!(s.wait_result("w1", Duration::from_secs(10)), async {
        tokio::task::yield_now().await;
        s.settle(Some(&job), Settlement::ack().result("w1", b("done")))
            .await
    });
    assert_eq!(settled.unwrap(), Settled::Applied);
    assert!(woken.unwrap(), "the waiter saw the result");
}

/// Revocation flags: per instance and per type, read together, deleted once, cleared by a
/// flush of the results (as in Huey, whose flags live in the result store).
pub async fn test_revocation_methods(s: &dyn Storage) {
    let instance = RevocationTarget::Instance("t1");
    let of_type = RevocationTarget::Type("app::send");
    assert_eq!(s.revocation(instance).await.unwrap(), None);
    s.put_revocation(instance, b("once")).await.unwrap();
    s.put_revocation(of_type, b("forever")).await.unwrap();
    let [by_id, by_name] = s.revocations("t1", "app::send").await.unwrap();
    assert_eq!((by_id, by_name), (Some(b("once")), Some(b("forever"))));
    let [other, _] = s.revocations("t2", "app::send").await.unwrap();
    assert_eq!(other, None, "flags are per instance");
    s.put_revocation(instance, b("until")).await.unwrap();
    assert_eq!(
        s.revocation(instance).await.unwrap(),
        Some(b("until")),
        "replaced"
    );
    assert!(s.delete_revocation(instance).await.unwrap());
    assert!(!s.delete_revocation(instance).await.unwrap());
    s.flush_results().await.unwrap();
    assert_eq!(s.revocation(of_type).await.unwrap(), None);
}
