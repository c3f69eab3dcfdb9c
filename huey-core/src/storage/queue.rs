//! The queue and its claims, and the upkeep of a consumer's view of them.

use std::time::Duration;

use async_trait::async_trait;

use super::settlement::{Settled, Settlement};
use super::{Delivery, StorageResult};

/// What a [`QueueStorage::dequeue`] asks for. New fields may be added, so it is built with
/// [`Dequeue::new`] and its builder methods.
///
/// ```
/// use huey_core::storage::Dequeue;
/// use std::time::Duration;
///
/// let request = Dequeue::new(8, Duration::from_secs(1)).max_message_size(Some(1 << 20));
/// assert_eq!((request.max, request.max_message_size), (8, Some(1 << 20)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dequeue {
    /// The most messages to claim (at least one is asked for, whatever this says).
    pub max: usize,
    /// How long to wait for the first message; zero does not wait.
    pub wait: Duration,
    /// Messages longer than this many bytes are dead-lettered by the backend instead of being
    /// handed out; `None` hands out any size.
    pub max_message_size: Option<usize>,
}

impl Dequeue {
    /// Up to `max` messages, waiting up to `wait`, of any size.
    pub fn new(max: usize, wait: Duration) -> Dequeue {
        Dequeue {
            max,
            wait,
            max_message_size: None,
        }
    }

    /// Dead-letters, instead of handing out, messages longer than `limit` bytes.
    #[must_use]
    pub fn max_message_size(mut self, limit: Option<usize>) -> Dequeue {
        self.max_message_size = limit;
        self
    }

    /// Whether a message of `len` bytes is over this request's size limit.
    pub fn refuses(&self, len: usize) -> bool {
        self.max_message_size.is_some_and(|limit| len > limit)
    }
}

/// The dead-letter reason of a message that a dequeue refused for its size. Every backend
/// words it so (the Redis claim scripts build the same text).
///
/// ```
/// assert_eq!(
///     huey_core::storage::over_limit_reason(20, 16),
///     "message of 20 bytes is over the limit of 16 bytes"
/// );
/// ```
pub fn over_limit_reason(size: usize, limit: usize) -> String {
    format!("message of {size} bytes is over the limit of {limit} bytes")
}

/// The queue and its claims. Required: `enqueue`, `dequeue`, `settle`, `queue_size`,
/// `enqueued_items`, `flush_queue`; the rest have defaults.
///
/// A dequeue **claims** messages; each claim is settled once with [`settle`](Self::settle),
/// in one atomic step together with everything its attempt produced (see
/// [`settlement`](super::settlement)). A backend shared between processes notices consumers
/// that stopped and returns their claims, which is what makes delivery at-least-once.
#[async_trait]
pub trait QueueStorage: Send + Sync + std::fmt::Debug + 'static {
    /// Whether the queue honours priorities.
    fn supports_priority(&self) -> bool {
        true
    }

    /// Whether several processes can share this storage (process workers need it).
    fn shared_between_processes(&self) -> bool {
        true
    }

    /// Adds a message to the queue.
    async fn enqueue(&self, data: Vec<u8>, priority: i32) -> StorageResult<()>;

    /// Adds many messages; a backend may batch them.
    async fn enqueue_many(&self, items: Vec<(Vec<u8>, i32)>) -> StorageResult<()> {
        for (data, priority) in items {
            self.enqueue(data, priority).await?;
        }
        Ok(())
    }

    /// Claims up to `request.max` messages, highest priority first and FIFO within a priority,
    /// waiting up to `request.wait` for the first one. Returns an empty list when nothing arrived
    /// in time.
    ///
    /// A message longer than `request.max_message_size` is not handed out: the backend moves it
    /// to the dead-letter list itself, with the reason [`over_limit_reason`], without sending it
    /// to the caller (that is the point: a consumer never holds a message it refuses), and goes
    /// on claiming. A refused message may count towards `max`, so a call may return fewer
    /// messages than were waiting, or none, before its wait is over.
    async fn dequeue(&self, request: Dequeue) -> StorageResult<Vec<Delivery>>;

    /// Applies `settlement` together with the disposition of `claim`, atomically: all of it
    /// happens, or none of it. With a claim, it applies only while the claim is still held
    /// (not settled already, not taken over by another consumer), and otherwise writes nothing
    /// and returns [`Settled::NotHeld`]. Without one (immediate mode, a bare result write) it
    /// always applies, and the disposition is ignored. See [`settlement`](super::settlement) for the contract.
    async fn settle(
        &self,
        claim: Option<&Delivery>,
        settlement: &Settlement,
    ) -> StorageResult<Settled>;

    /// Acknowledges a claim: the message is done and forgotten.
    async fn ack(&self, delivery: &Delivery) -> StorageResult<()> {
        self.settle(Some(delivery), &Settlement::ack())
            .await
            .map(drop)
    }

    /// Gives a claim back: the message returns to the queue.
    async fn requeue(&self, delivery: &Delivery) -> StorageResult<()> {
        self.settle(Some(delivery), &Settlement::requeue())
            .await
            .map(drop)
    }

    /// Gives an unstarted claim back: the message returns to the queue, and this delivery
    /// does not count towards its [`deliveries`](Delivery::deliveries).
    async fn release(&self, delivery: &Delivery) -> StorageResult<()> {
        self.settle(Some(delivery), &Settlement::release())
            .await
            .map(drop)
    }

    /// Moves a claimed message to the dead-letter list with a reason.
    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> StorageResult<()> {
        self.settle(Some(delivery), &Settlement::dead_letter(reason))
            .await
            .map(drop)
    }

    /// Messages waiting in the queue (claimed ones excluded).
    async fn queue_size(&self) -> StorageResult<usize>;

    /// The next `limit` messages to be dequeued, in order.
    async fn enqueued_items(&self, limit: Option<usize>) -> StorageResult<Vec<Vec<u8>>>;

    /// Empties the queue.
    async fn flush_queue(&self) -> StorageResult<()>;

    /// How often a running consumer must call [`maintain`](Self::maintain); `None` (the
    /// default) when the backend needs no upkeep.
    fn maintenance_interval(&self) -> Option<Duration> {
        None
    }

    /// How long this consumer's claims stay its own without [`maintain`](Self::maintain):
    /// past it, another consumer may take them over (the consumer timeout). `None` (the
    /// default) when claims never move. A consumer that went this long without upkeep (it was
    /// frozen, say) renews it before it starts another claim, and does not start claims made
    /// before upkeep reported them [`Upkeep::Lost`].
    fn claim_lease(&self) -> Option<Duration> {
        None
    }

    /// Periodic upkeep while a consumer runs: for a shared backend, a heartbeat that keeps this
    /// consumer's claims its own, and recovery of the claims of consumers that stopped beating.
    /// Reports [`Upkeep::Lost`] when it finds that this consumer had been presumed dead and
    /// its claims given to others (it is registered afresh).
    async fn maintain(&self) -> StorageResult<Upkeep> {
        Ok(Upkeep::Kept)
    }

    /// Called when a consumer stops: give back any claim still held and unregister.
    async fn retire(&self) -> StorageResult<()> {
        Ok(())
    }
}

/// What [`QueueStorage::maintain`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Upkeep {
    /// This consumer's claims are still its own.
    Kept,
    /// This consumer had been presumed dead (it missed its heartbeats for longer than the
    /// consumer timeout) and every claim it held was given to other consumers. Claims made
    /// from now on are its own again.
    Lost,
}
