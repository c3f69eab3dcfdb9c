//! [`ResultStorage`](huey_core::storage::ResultStorage): results and stored values.

use std::collections::HashMap;
use std::time::Duration;

use huey_core::Storage;
use huey_core::storage::RevocationTarget;

use crate::support::b;

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

/// `peek_many` returns values aligned with the keys, `None` where missing, and removes nothing.
pub async fn test_peek_many(s: &dyn Storage) {
    s.put_data("a", b("1")).await.unwrap();
    s.put_data("c", b("3")).await.unwrap();
    assert_eq!(
        s.peek_many(&["a", "b", "c"]).await.unwrap(),
        [Some(b("1")), None, Some(b("3"))]
    );
    assert_eq!(
        s.peek_many(&["c", "c"]).await.unwrap(),
        [Some(b("3")), Some(b("3"))],
        "a key asked twice is answered twice"
    );
    assert!(s.peek_many(&[]).await.unwrap().is_empty());
    assert_eq!(
        s.result_store_size().await.unwrap(),
        2,
        "peeking removes nothing"
    );
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
    s.put_data("plain", b("v")).await.unwrap();
    assert!(
        s.wait_result("plain", Duration::ZERO).await.unwrap(),
        "a value stored by put_data counts as there"
    );
}

/// The result store holds values: counters and semaphore slots of the same key are neither
/// counted, listed nor read as values. Revocation flags may be counted and listed with them
/// (Huey keeps its flags in the result store), but are no value under the task's id.
pub async fn test_result_store_holds_values_only(s: &dyn Storage) {
    let ttl = Duration::from_secs(60);
    s.put_data("v1", b("one")).await.unwrap();
    s.put_data("v2", Vec::new()).await.unwrap();
    s.incr("v1", 3).await.unwrap();
    s.incr("counter", 1).await.unwrap();
    assert!(s.semaphore_acquire("slot", "a", 1, ttl).await.unwrap());
    assert_eq!(s.result_store_size().await.unwrap(), 2);
    let expected = HashMap::from([("v1".to_string(), b("one")), ("v2".to_string(), Vec::new())]);
    assert_eq!(s.result_items().await.unwrap(), expected);
    s.put_revocation(RevocationTarget::Instance("flagged"), b("flag"))
        .await
        .unwrap();
    for key in ["counter", "slot", "flagged"] {
        assert!(
            !s.has_data_for_key(key).await.unwrap(),
            "{key} is not a value"
        );
        assert_eq!(s.peek_data(key).await.unwrap(), None);
        assert_eq!(s.pop_data(key).await.unwrap(), None);
    }
    assert_eq!(s.incr("v1", 0).await.unwrap(), 3, "the counter is its own");
    assert_eq!(s.pop_data("v1").await.unwrap(), Some(b("one")));
    assert!(!s.has_data_for_key("v1").await.unwrap());
    assert_eq!(s.result_items().await.unwrap().get("v2"), Some(&Vec::new()));
}
