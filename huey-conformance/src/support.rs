//! What the cases share: byte strings, claiming, draining and flushing.

use std::time::Duration;

use huey_core::Storage;
use huey_core::storage::{Delivery, Dequeue, Settled, Settlement};

/// A dequeue that does not wait.
pub(crate) const NOW: Duration = Duration::ZERO;

/// The bytes of `s`.
pub(crate) fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

pub(crate) async fn drain(s: &dyn Storage) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let batch = s.dequeue(Dequeue::new(1, NOW)).await.unwrap();
        if batch.is_empty() {
            return out;
        }
        for d in batch {
            s.ack(&d).await.unwrap();
            out.push(d.data);
        }
    }
}

/// Empties everything a `Huey::flush` empties.
pub(crate) async fn flush_all(s: &dyn Storage) {
    s.flush_queue().await.unwrap();
    s.flush_schedule().await.unwrap();
    s.flush_results().await.unwrap();
    s.flush_counters().await.unwrap();
}

/// Enqueues `data` and claims it, as a worker's fetcher does.
pub(crate) async fn claim(s: &dyn Storage, data: &str, priority: i32) -> Delivery {
    s.enqueue(b(data), priority).await.unwrap();
    let mut claimed = s.dequeue(Dequeue::new(1, NOW)).await.unwrap();
    assert_eq!(claimed.len(), 1, "the message is claimed");
    claimed.remove(0)
}

/// A claim is gone once settled: dequeue finds nothing, and settling it again is refused.
pub(crate) async fn assert_claim_gone(s: &dyn Storage, claim: &Delivery) {
    let again = s.settle(Some(claim), &Settlement::ack()).await.unwrap();
    assert_eq!(
        again,
        Settled::NotHeld,
        "a settled claim is not held any more"
    );
}
