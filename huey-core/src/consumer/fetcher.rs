//! The fetcher: claims as many messages as there are idle workers, in one storage call, and
//! hands them to the workers. While the queue is paused it claims nothing; a claim that a
//! dequeue already waiting made after the pause landed is given back with `release`, which
//! does not count it as a delivery (it never started).

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Semaphore, watch};

use super::pause::{Paused, is_paused};
use super::{Backoff, Stop, stopped};
use crate::storage::{Delivery, Dequeue, Storage};

/// A claim on its way to a worker, with the time its dequeue began (see
/// [`Lease::trusts`](super::lease::Lease::trusts)).
pub(super) struct Claimed {
    pub delivery: Delivery,
    pub at: Instant,
}

/// `request` gives the wait and the size limit of every dequeue; its `max` is set per call.
pub(super) async fn run(
    storage: Arc<dyn Storage>,
    idle: Arc<Semaphore>,
    deliveries: async_channel::Sender<Claimed>,
    mut request: Dequeue,
    backoff_policy: Backoff,
    mut paused: Paused,
    mut stop: watch::Receiver<Stop>,
) {
    let mut backoff = backoff_policy.initial;
    loop {
        // Nothing is claimed while paused, nor before the flag was first read.
        let resumed = tokio::select! {
            biased;
            _ = stopped(&mut stop, Stop::Graceful) => return,
            resumed = paused.wait_for(|p| *p == Some(false)) => resumed.is_ok(),
        };
        if !resumed {
            return;
        }
        let permit = tokio::select! {
            biased;
            _ = stopped(&mut stop, Stop::Graceful) => return,
            permit = idle.acquire() => permit,
        };
        let Ok(permit) = permit else { return };
        permit.forget();
        let mut wanted = 1;
        while let Ok(permit) = idle.try_acquire() {
            permit.forget();
            wanted += 1;
        }
        request.max = wanted;
        let at = Instant::now();
        let claimed = tokio::select! {
            biased;
            _ = stopped(&mut stop, Stop::Graceful) => {
                idle.add_permits(wanted);
                return;
            }
            claimed = storage.dequeue(request) => claimed,
        };
        match claimed {
            Ok(batch) if is_paused(&paused) => {
                idle.add_permits(wanted);
                for delivery in batch {
                    if let Err(error) = storage.release(&delivery).await {
                        tracing::error!(error = %crate::error_chain(&error), "could not give back a claim made as the queue was paused; it returns when this consumer stops");
                    }
                }
            }
            Ok(batch) => {
                backoff = backoff_policy.initial;
                idle.add_permits(wanted - batch.len());
                for delivery in batch {
                    if deliveries.send(Claimed { delivery, at }).await.is_err() {
                        return;
                    }
                }
            }
            Err(error) => {
                idle.add_permits(wanted);
                tracing::error!(error = %crate::error_chain(&error), ?backoff, "dequeue failed; retrying");
                tokio::select! {
                    _ = stopped(&mut stop, Stop::Graceful) => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = backoff_policy.next(backoff);
            }
        }
    }
}
