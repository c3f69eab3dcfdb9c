//! The consumer's hold on its claims. On a shared storage a claim stays this consumer's only
//! while its heartbeat does: a consumer that stops beating for the storage's claim lease (it
//! was frozen, or cut off) may be presumed dead and its claims given to others. The lease
//! remembers when upkeep last confirmed the claims and when it found them lost, so a worker
//! never starts a claim that may belong to another consumer by now.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::storage::{Storage, StorageResult, Upkeep};

pub(super) struct Lease {
    storage: Arc<dyn Storage>,
    /// The storage's claim lease; `None` when claims never move.
    length: Option<Duration>,
    state: Mutex<State>,
    /// One renewal at a time: the workers that find the lease stale all wait for it.
    renewing: tokio::sync::Mutex<()>,
}

struct State {
    /// When the last upkeep that found the claims this consumer's own started.
    kept_at: Instant,
    /// When the last upkeep that found them lost started: claims made before it are not
    /// this consumer's.
    lost_at: Option<Instant>,
}

impl Lease {
    pub fn new(storage: Arc<dyn Storage>) -> Lease {
        Lease {
            length: storage.claim_lease(),
            storage,
            state: Mutex::new(State {
                kept_at: Instant::now(),
                lost_at: None,
            }),
            renewing: tokio::sync::Mutex::new(()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs the storage's upkeep once and records what it found.
    pub async fn renew(&self) -> StorageResult<()> {
        let _one = self.renewing.lock().await;
        self.renew_locked().await
    }

    async fn renew_locked(&self) -> StorageResult<()> {
        let started = Instant::now();
        let upkeep = self.storage.maintain().await?;
        let mut state = self.state();
        if upkeep == Upkeep::Lost {
            let silent = started.saturating_duration_since(state.kept_at);
            tracing::warn!(
                ?silent,
                "this consumer was presumed dead (no heartbeat for longer than the consumer \
                 timeout) and its claims went to other consumers: claims it had not started \
                 are given up, and outcomes of tasks it was running are discarded"
            );
            state.lost_at = Some(started);
        }
        state.kept_at = started;
        Ok(())
    }

    /// Whether a claim made at `claimed_at` (when its dequeue began) is still this
    /// consumer's to start. When upkeep has not confirmed the claims for half the lease (the
    /// process was frozen, say), it is renewed first; if that fails, the claim is not trusted.
    pub async fn trusts(&self, claimed_at: Instant) -> bool {
        let Some(length) = self.length else {
            return true;
        };
        if self.state().kept_at.elapsed() > length / 2 {
            let _one = self.renewing.lock().await;
            if self.state().kept_at.elapsed() > length / 2
                && let Err(error) = self.renew_locked().await
            {
                tracing::warn!(error = %crate::error_chain(&error), "could not renew this consumer's claims; not starting a claim that may have moved");
                return false;
            }
        }
        self.state().lost_at.is_none_or(|lost| lost < claimed_at)
    }
}
