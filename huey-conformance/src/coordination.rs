//! [`CoordinationStorage`](huey_core::storage::CoordinationStorage): counters, put-if-empty,
//! delete-if-equal, semaphores and chords.

use std::time::Duration;

use huey_core::Storage;
use huey_core::storage::{Settled, Settlement};

use crate::support::{b, flush_all};

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
    let fired = s.settle(None, &Settlement::ack().chord_fired("c1")).await;
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
