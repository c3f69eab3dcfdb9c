//! A result wait registered while the settlement that completes it is already running (its
//! statement's snapshot taken, so it cannot see the registration) still wakes promptly, and
//! a `()` result offered by that settlement is still stored for it. The test makes the race
//! certain: it holds the claimed row locked, so the settle statement waits mid-way, and
//! registers the wait meanwhile. The fallback poll is set far beyond the waits here, so only
//! a notification can wake them in time.

mod support;

use std::time::{Duration, Instant};

use huey_core::storage::prelude::*;
use huey_core::storage::{Dequeue, Settled, Settlement};
use huey_postgres::PostgresOptions;

const WAIT: Duration = Duration::from_secs(5);

/// Polls `sql` (a count) until it is at least 1.
async fn until_some(pool: &sqlx::PgPool, sql: &str, what: &str) {
    let started = Instant::now();
    loop {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(pool).await.unwrap();
        if n > 0 {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Settles `settlement` for a fresh claim while a wait on `key` registers mid-statement;
/// returns whether the wait saw the value, and how long it took after the settlement ended.
async fn race(settlement: impl Fn(&str) -> Settlement, key: &str) -> (bool, Duration) {
    let options = PostgresOptions::default().fallback_poll(Duration::from_secs(600));
    let f = support::fixture(options).await;
    let s = std::sync::Arc::new(f.storage);
    let schema = f.guard.schema.clone();
    let pool = s.pool().clone();
    s.enqueue(b"job".to_vec(), 0).await.unwrap();
    let claim = s
        .dequeue(Dequeue::new(1, Duration::ZERO))
        .await
        .unwrap()
        .remove(0);

    // Hold the claimed row: the settle statement will wait on it after taking its snapshot.
    let mut blocker = pool.begin().await.unwrap();
    sqlx::query(&format!(
        "SELECT 1 FROM {schema}.claims WHERE claim = $1 FOR UPDATE"
    ))
    .bind(claim.receipt as i64)
    .execute(&mut *blocker)
    .await
    .unwrap();
    let settling = {
        let (s, settlement) = (s.clone(), settlement(key));
        tokio::spawn(async move { s.settle(Some(&claim), &settlement).await.unwrap() })
    };
    until_some(
        &pool,
        &format!(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
             AND query LIKE '%DELETE FROM {schema}.claims c USING jobs%'"
        ),
        "the settle statement waits on the row",
    )
    .await;
    let waiting = {
        let (s, key) = (s.clone(), key.to_owned());
        tokio::spawn(async move { s.wait_result(&key, WAIT).await.unwrap() })
    };
    until_some(
        &pool,
        &format!("SELECT count(*) FROM {schema}.waiting WHERE key = '{key}'"),
        "the wait registered",
    )
    .await;
    // Let the wait look (and find nothing) before the settlement goes on.
    tokio::time::sleep(Duration::from_millis(50)).await;
    blocker.rollback().await.unwrap();
    assert_eq!(settling.await.unwrap(), Settled::Applied);
    let settled = Instant::now();
    let woke = waiting.await.unwrap();
    (woke, settled.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_registered_during_its_settlement_wakes() {
    let (woke, after) = race(|key| Settlement::ack().result(key, vec![1]), "r").await;
    assert!(woke, "the wait saw its result");
    assert!(
        after < Duration::from_secs(2),
        "woken by the notification, after {after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_result_offered_during_a_wait_registration_is_stored() {
    let offer = |key: &str| Settlement::ack().result_if_awaited(key, b"unit".to_vec());
    let (woke, after) = race(offer, "u").await;
    assert!(woke, "the `()` result was stored for the wait");
    assert!(
        after < Duration::from_secs(2),
        "and woke it, after {after:?}"
    );
}
