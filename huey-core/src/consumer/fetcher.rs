//! The fetcher: claims as many messages as there are idle workers, in one storage call, and
//! hands them to the workers.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Semaphore, watch};

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
    mut stop: watch::Receiver<Stop>,
) {
    let mut backoff = backoff_policy.initial;
    loop {
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
