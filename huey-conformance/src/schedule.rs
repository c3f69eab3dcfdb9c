//! [`ScheduleStorage`](huey_core::storage::ScheduleStorage): messages due later.

use chrono::{TimeDelta, Utc};
use huey_core::Storage;

use crate::support::{b, drain};

/// `scheduled_items(limit)` soonest first whatever the order of adding, without removing
/// anything; `schedule_size`, `flush_schedule`.
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
    assert_eq!(
        s.scheduled_items(None).await.unwrap(),
        [b("soon"), b("later"), b("latest")]
    );
    assert!(s.scheduled_items(Some(0)).await.unwrap().is_empty());
    assert_eq!(
        s.schedule_size().await.unwrap(),
        3,
        "listing removes nothing"
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

/// `promote_due` moves a batch larger than a backend's likely chunk size (thousands of
/// messages) completely, each message once, and leaves the future ones.
pub async fn test_promote_due_large_batch(s: &dyn Storage) {
    const DUE: usize = 2_500;
    let now = Utc::now();
    for i in 0..DUE {
        let at = now - TimeDelta::milliseconds(i as i64);
        s.add_to_schedule(b(&format!("due-{i:04}")), at, 0)
            .await
            .unwrap();
    }
    for i in 0..3 {
        s.add_to_schedule(b(&format!("later-{i}")), now + TimeDelta::hours(1), 0)
            .await
            .unwrap();
    }
    let mut moved = s.promote_due(now).await.unwrap();
    assert_eq!(moved.len(), DUE, "every due message moved");
    moved.sort();
    moved.dedup();
    assert_eq!(moved.len(), DUE, "each of them once");
    assert_eq!(s.queue_size().await.unwrap(), DUE);
    assert_eq!(s.schedule_size().await.unwrap(), 3);
    assert!(
        s.promote_due(now).await.unwrap().is_empty(),
        "nothing due left"
    );
    let mut queued = s.enqueued_items(None).await.unwrap();
    queued.sort();
    assert_eq!(queued, moved, "the queue holds exactly what moved");
}
