//! [`ControlStorage`](huey_core::storage::ControlStorage): consumer presence records and the
//! queue's pause flag.

use chrono::{DateTime, Duration, DurationRound, Utc};
use huey_core::Storage;

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
