//! [`ControlStorage`](huey_core::storage::ControlStorage): consumer presence records, the
//! queue's pause flag and its stats history.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, DurationRound, Utc};
use huey_core::storage::minute_of;
use huey_core::{MinuteStats, Storage};

use crate::support::{b, flush_all};

/// Now, to the millisecond: the precision every bundled backend keeps a heartbeat with.
fn now() -> DateTime<Utc> {
    Utc::now()
        .duration_trunc(Duration::milliseconds(1))
        .unwrap_or_else(|_| Utc::now())
}

/// Records are kept by consumer id, replaced by a newer put, returned by id, and deleted once.
pub async fn test_presence_methods(s: &dyn Storage) {
    let t = now();
    let since = t - Duration::seconds(10);
    assert!(s.presence(since).await.unwrap().is_empty());
    s.put_presence("c2", b("two"), t).await.unwrap();
    s.put_presence("c1", b("one"), t).await.unwrap();
    assert_eq!(
        s.presence(since).await.unwrap(),
        [b("one"), b("two")],
        "by id"
    );
    s.put_presence("c1", b("one again"), t + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(
        s.presence(since).await.unwrap(),
        [b("one again"), b("two")],
        "replaced"
    );
    assert!(s.delete_presence("c1").await.unwrap());
    assert!(!s.delete_presence("c1").await.unwrap());
    assert_eq!(s.presence(since).await.unwrap(), [b("two")]);
}

/// A record whose heartbeat is older than the cutoff is not returned; one exactly at it is.
pub async fn test_presence_drops_stale(s: &dyn Storage) {
    let t = now();
    s.put_presence("old", b("old"), t - Duration::seconds(60))
        .await
        .unwrap();
    s.put_presence("edge", b("edge"), t - Duration::seconds(10))
        .await
        .unwrap();
    s.put_presence("new", b("new"), t).await.unwrap();
    assert_eq!(
        s.presence(t - Duration::seconds(10)).await.unwrap(),
        [b("edge"), b("new")]
    );
    s.put_presence("old", b("back"), t).await.unwrap();
    assert!(
        s.presence(t).await.unwrap().contains(&b("back")),
        "a fresh heartbeat brings a consumer back"
    );
}

/// The pause flag starts off, is set and cleared idempotently.
pub async fn test_pause_flag(s: &dyn Storage) {
    assert!(!s.paused().await.unwrap(), "a new queue is not paused");
    s.set_paused(true).await.unwrap();
    s.set_paused(true).await.unwrap();
    assert!(s.paused().await.unwrap());
    s.set_paused(false).await.unwrap();
    assert!(!s.paused().await.unwrap());
    s.set_paused(false).await.unwrap();
    assert!(!s.paused().await.unwrap());
}

/// Presence records and the pause flag are not stored values: they are neither counted nor
/// listed among the results, and no flush removes them (a flush during a deploy must not
/// un-pause the queue, nor hide its consumers).
pub async fn test_control_apart_from_results(s: &dyn Storage) {
    let t = now();
    s.put_presence("c1", b("one"), t).await.unwrap();
    s.set_paused(true).await.unwrap();
    assert_eq!(s.result_store_size().await.unwrap(), 0);
    assert!(s.result_items().await.unwrap().is_empty());
    flush_all(s).await;
    assert_eq!(
        s.presence(t - Duration::seconds(10)).await.unwrap(),
        [b("one")]
    );
    assert!(s.paused().await.unwrap());
}

fn row(at: DateTime<Utc>, task: &str, outcome: &str, count: u64, run_ms: u64) -> MinuteStats {
    MinuteStats::new(
        at,
        task,
        outcome,
        count,
        StdDuration::from_millis(run_ms),
        StdDuration::from_micros(count * 7),
    )
}

const A_WEEK: StdDuration = StdDuration::from_secs(7 * 24 * 3600);

/// Rows add up by minute, task and outcome, across calls (two consumers counting one minute),
/// and are read back from a minute on, ordered by minute, task and outcome, with microsecond
/// sums.
pub async fn test_stats_add_up(s: &dyn Storage) {
    let minute = minute_of(Utc::now()) - Duration::minutes(5);
    let next = minute + Duration::minutes(1);
    assert!(s.stats(minute).await.unwrap().is_empty());
    s.record_stats(
        &[
            row(minute, "b", "complete", 2, 30),
            row(minute, "a", "error", 1, 5),
            row(next, "a", "complete", 4, 8),
        ],
        A_WEEK,
    )
    .await
    .unwrap();
    s.record_stats(
        &[row(minute + Duration::seconds(59), "b", "complete", 3, 1)],
        A_WEEK,
    )
    .await
    .unwrap();
    assert_eq!(
        s.stats(minute).await.unwrap(),
        [
            row(minute, "a", "error", 1, 5),
            row(minute, "b", "complete", 5, 31),
            row(next, "a", "complete", 4, 8)
        ]
    );
    // From within a minute: that minute on.
    assert_eq!(
        s.stats(next + Duration::seconds(30)).await.unwrap(),
        [row(next, "a", "complete", 4, 8)]
    );
    // A task name with separators, and a sub-millisecond sum, are kept as they are.
    let odd = MinuteStats::new(
        next,
        "app:tasks.x y",
        "rate-limited",
        1,
        StdDuration::from_micros(3),
        StdDuration::ZERO,
    );
    s.record_stats(std::slice::from_ref(&odd), A_WEEK)
        .await
        .unwrap();
    assert!(s.stats(next).await.unwrap().contains(&odd));
}

/// Rows older than the retention are not kept: those given, and those stored, once more is
/// added.
pub async fn test_stats_retention(s: &dyn Storage) {
    let now = minute_of(Utc::now());
    let old = now - Duration::hours(3);
    let keep = StdDuration::from_secs(3600);
    s.record_stats(&[row(old, "t", "complete", 1, 1)], A_WEEK)
        .await
        .unwrap();
    assert_eq!(s.stats(old).await.unwrap().len(), 1);
    s.record_stats(
        &[
            row(now, "t", "complete", 1, 1),
            row(old, "t", "error", 1, 1),
        ],
        keep,
    )
    .await
    .unwrap();
    assert_eq!(
        s.stats(old).await.unwrap(),
        [row(now, "t", "complete", 1, 1)],
        "the three-hour-old rows are past a one-hour retention"
    );
}

/// The history is not among the stored values, and no flush removes it.
pub async fn test_stats_apart_from_results(s: &dyn Storage) {
    let now = minute_of(Utc::now());
    s.record_stats(&[row(now, "t", "complete", 1, 1)], A_WEEK)
        .await
        .unwrap();
    assert_eq!(s.result_store_size().await.unwrap(), 0);
    flush_all(s).await;
    assert_eq!(s.stats(now).await.unwrap().len(), 1);
}
