//! One settlement: everything that must happen to a finished attempt, applied by the storage
//! together with the claim's acknowledgement in one step.
//!
//! The executor decides *what* happens to an attempt (its result, the failures written to later
//! pipeline stages, the next stage or error handler or chord callback, the retry copy and its
//! ETA, a dead letter or a requeue); the storage makes all of it true at once, or none of it: one
//! critical section in memory, one Lua script on Redis, one transaction on a SQL storage. So a
//! consumer that dies mid-settle leaves either the claim (the attempt runs again, nothing of
//! its outcome was written) or the whole outcome (the claim is gone), never half of each.
//!
//! A settlement for a claim applies only while the claim is still this consumer's. When
//! another consumer took it (this one was declared dead and its claims requeued), nothing is
//! written and the storage answers [`Settled::NotHeld`]: a follow-up message is therefore
//! enqueued once per finished attempt, even when a settle is retried after a lost reply.

use chrono::{DateTime, Utc};

/// What becomes of the claim itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Disposition {
    /// Done: the claim is forgotten.
    #[default]
    Ack,
    /// Given back after it was started (an interrupted task, a storage failure before the
    /// body): the message returns to the queue as it was claimed, and this delivery counts
    /// towards its [`deliveries`](super::Delivery::deliveries).
    Requeue,
    /// Given back unstarted (a prefetched claim at shutdown, or one a consumer that was
    /// presumed dead no longer trusts): the message returns to the queue and this delivery
    /// does not count.
    Release,
    /// Set aside with a reason: the message cannot run (see [`DeadLetter`](super::DeadLetter)).
    DeadLetter {
        /// Why it cannot run.
        reason: String,
    },
}

/// A message stored by a settlement: a follow-up (next pipeline stage, error handler, chord
/// callback) or a retry copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The encoded message.
    pub data: Vec<u8>,
    /// Its priority.
    pub priority: i32,
    /// `None`: onto the queue now. `Some(t)`: into the schedule, due at `t`.
    pub eta: Option<DateTime<Utc>>,
}

/// Everything that must happen to a finished attempt; see the [module docs](self).
///
/// ```
/// use huey_core::storage::prelude::*;
/// use huey_core::storage::{Dequeue, MemoryStorage, Settled, Settlement};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), huey_core::StorageError> {
/// let storage = MemoryStorage::new();
/// storage.enqueue(b"stage one".to_vec(), 0).await?;
/// let claim = storage.dequeue(Dequeue::new(1, Duration::ZERO)).await?.remove(0);
///
/// // The result and the next stage land together with the acknowledgement.
/// let settlement = Settlement::ack()
///     .result("id-1", b"42".to_vec())
///     .enqueue(b"stage two".to_vec(), 0);
/// assert_eq!(storage.settle(Some(&claim), &settlement).await?, Settled::Applied);
/// assert_eq!(storage.peek_data("id-1").await?, Some(b"42".to_vec()));
/// assert_eq!(storage.enqueued_items(None).await?, [b"stage two".to_vec()]);
///
/// // The claim is gone, so settling it again changes nothing.
/// assert_eq!(storage.settle(Some(&claim), &settlement).await?, Settled::NotHeld);
/// assert_eq!(storage.queue_size().await?, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use = "a settlement does nothing until a storage applies it"]
#[non_exhaustive]
pub struct Settlement {
    /// Results to store, by key; each wakes whoever waits for it.
    pub results: Vec<(String, Vec<u8>)>,
    /// Results to store only if someone waits for them: a task's `()` value, which is
    /// otherwise not stored (Huey's `store_none=False`). While a wait on the key is registered
    /// ([`ResultStorage::wait_result`](super::ResultStorage::wait_result),
    /// [`watch_results`](super::ResultStorage::watch_results)), the value is stored, replacing
    /// what the key held, for a short while (a backend's wake-up lifetime; a minute by
    /// default), and the waiter wakes; with no wait registered nothing at all is written, so a
    /// result nobody waits for costs nothing. A backend that ignores them keeps Huey's
    /// behaviour: a wait for such a result ends in a timeout.
    pub if_awaited: Vec<(String, Vec<u8>)>,
    /// The task id whose instance revocation flag to remove: a revoke that arrived while the
    /// task ran.
    pub clear_revocation: Option<String>,
    /// Messages to enqueue or schedule.
    pub messages: Vec<Outgoing>,
    /// Chords whose callback is among [`messages`](Self::messages): their bookkeeping ends
    /// here, and recording an outcome for them again returns nothing.
    pub chords_fired: Vec<String>,
    /// What becomes of the claim.
    pub disposition: Disposition,
}

impl Settlement {
    /// Acknowledges the claim (and, with the builder methods, writes the attempt's outcome).
    pub fn ack() -> Settlement {
        Settlement::default()
    }

    /// Gives the claim back to the queue, writing nothing else.
    pub fn requeue() -> Settlement {
        Settlement {
            disposition: Disposition::Requeue,
            ..Settlement::default()
        }
    }

    /// Gives the claim back unstarted, writing nothing else: not counted as a delivery.
    pub fn release() -> Settlement {
        Settlement {
            disposition: Disposition::Release,
            ..Settlement::default()
        }
    }

    /// Moves the claimed message to the dead-letter list with `reason`.
    pub fn dead_letter(reason: impl Into<String>) -> Settlement {
        Settlement {
            disposition: Disposition::DeadLetter {
                reason: reason.into(),
            },
            ..Settlement::default()
        }
    }

    /// Also stores `value` as the result under `key`.
    pub fn result(mut self, key: impl Into<String>, value: Vec<u8>) -> Settlement {
        self.results.push((key.into(), value));
        self
    }

    /// Also stores `value` under `key`, but only if someone waits for it (see
    /// [`if_awaited`](Self::if_awaited)).
    pub fn result_if_awaited(mut self, key: impl Into<String>, value: Vec<u8>) -> Settlement {
        self.if_awaited.push((key.into(), value));
        self
    }

    /// Also removes the revocation flag of task instance `id`.
    pub fn clear_revocation(mut self, id: impl Into<String>) -> Settlement {
        self.clear_revocation = Some(id.into());
        self
    }

    /// Also enqueues `data` with `priority`.
    pub fn enqueue(mut self, data: Vec<u8>, priority: i32) -> Settlement {
        self.messages.push(Outgoing {
            data,
            priority,
            eta: None,
        });
        self
    }

    /// Also puts `data` in the schedule, due at `eta`.
    pub fn schedule(mut self, data: Vec<u8>, priority: i32, eta: DateTime<Utc>) -> Settlement {
        self.messages.push(Outgoing {
            data,
            priority,
            eta: Some(eta),
        });
        self
    }

    /// Also ends the bookkeeping of chord `chord`, whose callback this settlement enqueues.
    pub fn chord_fired(mut self, chord: impl Into<String>) -> Settlement {
        self.chords_fired.push(chord.into());
        self
    }
}

/// Whether a settlement was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a settlement that was not applied must not be reported as done"]
pub enum Settled {
    /// Everything in it happened, together with the claim's disposition.
    Applied,
    /// The claim was no longer this consumer's (another consumer took it over, or it was
    /// settled already): nothing was written.
    NotHeld,
}
