//! [`QueueStorage::settle`](huey_core::storage::QueueStorage::settle): the one atomic settlement
//! of a claim, on every path an attempt can end on (see [`huey_core::storage::settlement`]).

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use huey_core::Storage;
use huey_core::storage::{Dequeue, RevocationTarget, Settled, Settlement};

use crate::support::{NOW, assert_claim_gone, b, claim, drain};

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
        s.settle(Some(&job), &settlement).await.unwrap(),
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
        s.settle(Some(&job), &settlement).await.unwrap(),
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
        s.settle(Some(&job), &settlement).await.unwrap(),
        Settled::Applied
    );
    let copy = s.dequeue(Dequeue::new(1, NOW)).await.unwrap();
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
        s.settle(Some(&job), &settlement).await.unwrap(),
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
        s.settle(Some(&job), &settlement).await.unwrap(),
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
        s.settle(Some(&job), &settlement).await.unwrap(),
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
        s.dequeue(Dequeue::new(1, NOW)).await.unwrap().remove(0)
    };
    assert_eq!(
        s.settle(Some(&job), &Settlement::requeue()).await.unwrap(),
        Settled::Applied
    );
    assert_claim_gone(s, &job).await;
    let again = s.dequeue(Dequeue::new(1, NOW)).await.unwrap();
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
        s.settle(Some(&job), &settlement).await.unwrap(),
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
    assert_eq!(s.settle(None, &settlement).await.unwrap(), Settled::Applied);
    assert_eq!(s.peek_data("r1").await.unwrap(), Some(b("v")));
    assert_eq!(drain(s).await, [b("m")]);
}

/// A result written by a settlement wakes whoever waits for it.
pub async fn test_settle_wakes_result_waiter(s: &dyn Storage) {
    let job = claim(s, "job", 0).await;
    let (woken, settled) = tokio::join!(s.wait_result("w1", Duration::from_secs(10)), async {
        tokio::task::yield_now().await;
        s.settle(Some(&job), &Settlement::ack().result("w1", b("done")))
            .await
    });
    assert_eq!(settled.unwrap(), Settled::Applied);
    assert!(woken.unwrap(), "the waiter saw the result");
}

/// A result offered only to waiters (a task's `()` value): stored when a wait registered for
/// its key, by `watch_results` or by a `wait_result` (which stays registered a little past its
/// end), replacing what the key held and waking the waiter; with no wait registered, nothing is
/// written at all.
pub async fn test_settle_result_if_awaited(s: &dyn Storage) {
    let offer = |key: &str| Settlement::ack().result_if_awaited(key, b("unit"));
    let job = claim(s, "nobody waits", 0).await;
    assert_eq!(
        s.settle(Some(&job), &offer("u0")).await.unwrap(),
        Settled::Applied
    );
    assert_claim_gone(s, &job).await;
    assert_eq!(s.peek_data("u0").await.unwrap(), None, "nobody waited");
    assert_eq!(s.result_store_size().await.unwrap(), 0);

    s.watch_results(&["u1", "u1b"], Duration::from_secs(10))
        .await
        .unwrap();
    let job = claim(s, "watched", 0).await;
    assert_eq!(
        s.settle(Some(&job), &offer("u1")).await.unwrap(),
        Settled::Applied
    );
    assert!(s.wait_result("u1", Duration::ZERO).await.unwrap());
    assert_eq!(s.pop_data("u1").await.unwrap(), Some(b("unit")));
    assert_eq!(s.peek_data("u1b").await.unwrap(), None, "not settled yet");

    assert!(
        !s.wait_result("u2", Duration::from_millis(30))
            .await
            .unwrap()
    );
    let job = claim(s, "a wait just ended", 0).await;
    assert_eq!(
        s.settle(Some(&job), &offer("u2")).await.unwrap(),
        Settled::Applied
    );
    assert!(
        s.wait_result("u2", Duration::from_secs(10)).await.unwrap(),
        "a wait that ended a moment ago still counts"
    );
    assert_eq!(s.peek_data("u2").await.unwrap(), Some(b("unit")));

    s.put_data("u3", b("an attempt's error")).await.unwrap();
    s.watch_results(&["u3"], Duration::from_secs(10))
        .await
        .unwrap();
    let job = claim(s, "retried", 0).await;
    let settled = s.settle(Some(&job), &offer("u3")).await.unwrap();
    assert_eq!(settled, Settled::Applied);
    assert_eq!(s.pop_data("u3").await.unwrap(), Some(b("unit")), "replaced");
    assert_eq!(s.peek_data("u3").await.unwrap(), None);

    let job = claim(s, "woken", 0).await;
    let (woken, settled) = tokio::join!(s.wait_result("u4", Duration::from_secs(10)), async {
        tokio::task::yield_now().await;
        // Registered for certain before the settlement, whenever the wait above registers.
        s.watch_results(&["u4"], Duration::from_secs(10)).await?;
        s.settle(Some(&job), &offer("u4")).await
    });
    assert_eq!(settled.unwrap(), Settled::Applied);
    assert!(woken.unwrap(), "the waiter saw the result");
}
