//! The pause watch: reads the queue's pause flag from the storage every [`POLL`] and tells the
//! fetcher (and the presence record) when it changes. A cached flag read a few times a second
//! costs one cheap storage read per poll, where reading it before every claim would cost one
//! per dequeue on the hot path; [`POLL`] keeps a pause well within its promised second.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{Stop, stopped};
use crate::storage::Storage;

/// How often the flag is read.
pub(super) const POLL: Duration = Duration::from_millis(200);

/// What the consumer knows of the flag: `None` until the first read, so that a consumer
/// started on a paused queue claims nothing before it knows.
pub(super) type Paused = watch::Receiver<Option<bool>>;

/// Whether the queue is known to be paused now.
pub(super) fn is_paused(paused: &Paused) -> bool {
    *paused.borrow() == Some(true)
}

/// Reads the flag until the consumer stops; a failed read keeps the last state (a storage
/// that cannot be read cannot be claimed from either).
pub(super) async fn run(
    storage: Arc<dyn Storage>,
    queue: String,
    state: watch::Sender<Option<bool>>,
    mut stop: watch::Receiver<Stop>,
) {
    let mut ticker = tokio::time::interval(POLL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = stopped(&mut stop, Stop::Graceful) => return,
            _ = ticker.tick() => {}
        }
        let paused = match storage.paused().await {
            Ok(paused) => paused,
            Err(error) => {
                tracing::warn!(error = %crate::error_chain(&error), "could not read the queue's pause flag; will retry");
                continue;
            }
        };
        let before = *state.borrow();
        // Only a change wakes the watchers: the presence record is republished on each.
        state.send_if_modified(|known| known.replace(paused) != Some(paused));
        match (before, paused) {
            (Some(false) | None, true) => {
                tracing::info!(
                    queue,
                    "queue is paused: claiming nothing until it is resumed"
                );
            }
            (Some(true), false) => tracing::info!(queue, "queue resumed: claiming again"),
            _ => {}
        }
    }
}
