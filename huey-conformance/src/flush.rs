//! The flushes of every trait together: what `Huey::flush` empties, and that each flush
//! empties its own part only.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use huey_core::Storage;
use huey_core::storage::RevocationTarget;

use crate::support::{b, flush_all};

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

/// Each flush empties its own part only: the queue, the schedule, the results (with
/// semaphore slots and revocation flags), the counters (with chord bookkeeping).
pub async fn test_flushes_are_independent(s: &dyn Storage) {
    let ttl = Duration::from_secs(60);
    s.enqueue(b("q"), 0).await.unwrap();
    s.add_to_schedule(b("s"), Utc::now() + TimeDelta::hours(1), 0)
        .await
        .unwrap();
    s.put_data("k", b("v")).await.unwrap();
    s.incr("c", 5).await.unwrap();
    assert!(s.semaphore_acquire("sem", "a", 1, ttl).await.unwrap());
    s.put_revocation(RevocationTarget::Type("app::t"), b("flag"))
        .await
        .unwrap();
    assert_eq!(s.chord_record("ch", 0, 2, b("a")).await.unwrap(), None);

    s.flush_queue().await.unwrap();
    assert_eq!(s.queue_size().await.unwrap(), 0);
    assert_eq!(
        s.schedule_size().await.unwrap(),
        1,
        "flush_queue keeps the schedule"
    );
    assert!(s.has_data_for_key("k").await.unwrap(), "and the results");

    s.flush_schedule().await.unwrap();
    assert_eq!(s.schedule_size().await.unwrap(), 0);
    assert!(
        s.has_data_for_key("k").await.unwrap(),
        "flush_schedule keeps the results"
    );

    s.flush_results().await.unwrap();
    assert_eq!(s.result_store_size().await.unwrap(), 0);
    assert!(
        s.semaphore_holders("sem").await.unwrap().is_empty(),
        "slots go with results"
    );
    let flag = s
        .revocation(RevocationTarget::Type("app::t"))
        .await
        .unwrap();
    assert_eq!(flag, None, "flags go with results");
    assert_eq!(
        s.incr("c", 0).await.unwrap(),
        5,
        "flush_results keeps the counters"
    );

    s.flush_counters().await.unwrap();
    assert_eq!(s.incr("c", 0).await.unwrap(), 0);
    assert_eq!(
        s.chord_record("ch", 1, 2, b("b")).await.unwrap(),
        None,
        "chord bookkeeping goes with the counters: member 0 is forgotten"
    );
}
