//! The fetcher: claims as many messages as there are idle workers, in one storage call, and
//! hands them to the workers.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};

use super::{Stop, stopped};
use crate::storage::{Delivery, Storage};

const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub(super) async fn run(
    storage: Arc<dyn Storage>,
    idle: Arc<Semaphore>,
    deliveries: async_channel::Sender<Delivery>,
    wait: Duration,
    mut stop: watch::Receiver<Stop>,
) {
    let mut backoff = Duration::from_millis(100);
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
        let claimed = tokio::select! {
            biased;
            _ = stopped(&mut stop, Stop::Graceful) => {
                idle.add_permits(wanted);
                return;
            }
            claimed = storage.dequeue(wanted, wait) => claimed,
        };
        match claimed {
            Ok(batch) => {
                backoff = Duration::from_millis(100);
                idle.add_permits(wanted - batch.len());
                for delivery in batch {
                    if deliveries.send(delivery).await.is_err() {
                        return;
                    }
                }
            }
            Err(error) => {
                idle.add_permits(wanted);
                tracing::error!(%error, ?backoff, "dequeue failed; retrying");
                tokio::select! {
                    _ = stopped(&mut stop, Stop::Graceful) => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
