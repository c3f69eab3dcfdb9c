//! The storage contract, modelled on Huey's storage API and extended for reliable delivery.
//!
//! A consumer never *pops* a message: [`QueueStorage::dequeue`] **claims** it, and the consumer later
//! [`settle`](QueueStorage::settle)s it: one call that writes the attempt's whole outcome (results,
//! follow-up messages, a retry copy) together with the claim's disposition (acknowledged,
//! requeued at an immediate shutdown, or dead-lettered when it cannot run). See
//! [`settlement`]. A backend that also notices dead consumers and puts their claims back can
//! therefore offer at-least-once delivery, with every outcome written exactly once.
//!
//! # The contract, by concern
//!
//! A backend implements seven small traits; [`Storage`] is all of them together (a blanket
//! impl), and is what a [`Huey`](crate::Huey) takes. Each trait says what is required; the
//! rest have defaults built from those, where that costs no correctness. Anything that must
//! be atomic (a settlement, moving due messages, put-if-empty, delete-if-equal, semaphores,
//! chords) has no default.
//!
//! | trait | concern | required |
//! | --- | --- | --- |
//! | [`QueueStorage`] | the queue, claims and their settlement, a consumer's upkeep | `enqueue`, `dequeue`, `settle`, `queue_size`, `enqueued_items`, `flush_queue` |
//! | [`ScheduleStorage`] | messages due later | all six |
//! | [`ResultStorage`] | results and stored values | `put_data`, `peek_data`, `pop_data`, `delete_data`, `wait_result`, `result_store_size`, `result_items`, `flush_results` |
//! | [`CoordinationStorage`] | counters, put-if-empty, delete-if-equal, semaphores, chords | all |
//! | [`DeadLetterStorage`] | messages that cannot run | `dead_letters`, `requeue_dead_letters`, `delete_dead_letters` |
//! | [`RevocationStorage`] | revocation flags | `put_revocation`, `revocation`, `delete_revocation` |
//! | [`ControlStorage`] | consumer presence records, the queue's pause flag, its stats history | all seven |
//!
//! A backend is given its namespace when it is made (the Redis backend's
//! `RedisStorage::connect(namespace, url)`), so a storage can be shared by several handles
//! ([`HueyBuilder::build_shared`](crate::HueyBuilder::build_shared)). The behaviour every
//! backend must show is pinned by the conformance suite in the `huey-conformance` crate.

use chrono::{DateTime, Utc};

use crate::error::StorageError;

mod control;
mod coordination;
mod dead_letters;
pub mod memory;
mod queue;
mod results;
mod revocation;
mod schedule;
pub mod settlement;

pub use control::{ControlStorage, MinuteStats, minute_of, retention_horizon};
pub use coordination::CoordinationStorage;
pub use dead_letters::{DEFAULT_DEAD_LETTER_LIMIT, DeadLetterStorage};
pub use memory::MemoryStorage;
pub use queue::{Dequeue, QueueStorage, Upkeep, over_limit_reason};
pub use results::ResultStorage;
pub use revocation::{RevocationStorage, RevocationTarget};
pub use schedule::ScheduleStorage;
pub use settlement::{Disposition, Outgoing, Settled, Settlement};

/// A claimed message: its bytes and the backend's receipt for acknowledging it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The message bytes.
    pub data: Vec<u8>,
    /// The message's priority, as it was enqueued.
    pub priority: i32,
    /// The backend's handle on the claim.
    pub receipt: u64,
    /// Whether a revocation may apply to this message. A backend that saw no revocation flag
    /// at all when it claimed the message sets `false`, and the executor skips its check.
    pub revocations: bool,
    /// How many times this message has been claimed without being settled, this claim
    /// included: 1 on its first delivery. A claim given back by a settlement that requeues it,
    /// or recovered from a consumer that stopped, counts; a claim a consumer returns unstarted
    /// when it stops does not. The consumer dead-letters a message past its limit (see
    /// `HueyBuilder::max_deliveries`), so a message that can never settle cannot loop.
    pub deliveries: u32,
}

/// A message that could not be run, kept with the reason.
///
/// ```
/// use huey_core::storage::prelude::*;
/// use huey_core::storage::{Dequeue, MemoryStorage};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), huey_core::StorageError> {
/// let storage = MemoryStorage::new();
/// storage.enqueue(b"junk".to_vec(), 4).await?;
/// let claimed = storage.dequeue(Dequeue::new(1, Duration::ZERO)).await?;
/// storage.dead_letter(&claimed[0], "malformed").await?;
/// let dead = &storage.dead_letters(None).await?[0];
/// assert_eq!((dead.data.as_slice(), dead.priority, dead.reason.as_str()), (&b"junk"[..], 4, "malformed"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Identifies the entry for [`DeadLetterStorage::requeue_dead_letters`] and
    /// [`DeadLetterStorage::delete_dead_letters`]: a UUID given when the message was set aside.
    pub id: String,
    /// The message bytes, exactly as they were dequeued.
    pub data: Vec<u8>,
    /// The priority the message was enqueued with (0 on a storage without priorities); a
    /// requeue keeps it.
    pub priority: i32,
    /// Why it could not be run.
    pub reason: String,
    /// When it was set aside.
    pub at: DateTime<Utc>,
}

/// Which dead letters an operation applies to.
///
/// ```
/// use huey_core::DeadLetterSelection;
///
/// let ids = vec!["5f0c...".to_string()];
/// let some = DeadLetterSelection::Ids(&ids);
/// assert!(some.includes("5f0c..."));
/// assert!(DeadLetterSelection::All.includes("anything"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLetterSelection<'a> {
    /// Every dead letter.
    All,
    /// The entries with these ids; unknown ids are ignored.
    Ids(&'a [String]),
}

impl DeadLetterSelection<'_> {
    /// Whether the entry with id `id` is selected.
    pub fn includes(&self, id: &str) -> bool {
        match self {
            DeadLetterSelection::All => true,
            DeadLetterSelection::Ids(ids) => ids.iter().any(|i| i == id),
        }
    }
}

/// A storage result.
pub type StorageResult<T> = Result<T, StorageError>;

/// What a backend must provide. See the module docs for the delivery contract.
///
/// Every method is async and takes `&self`: a backend is shared by every worker of a consumer
/// and by producers.
/// Everything a [`Huey`](crate::Huey) needs from a backend: the seven traits of the
/// [contract](self), implemented for any type that implements them all.
///
/// ```
/// use huey_core::{Huey, MemoryStorage, Storage};
/// use std::sync::Arc;
///
/// fn shared() -> Arc<dyn Storage> {
///     Arc::new(MemoryStorage::new())
/// }
/// let huey = Huey::builder("app").build_shared(shared());
/// # let _ = huey;
/// ```
pub trait Storage:
    QueueStorage
    + ScheduleStorage
    + ResultStorage
    + CoordinationStorage
    + DeadLetterStorage
    + RevocationStorage
    + ControlStorage
{
}

impl<T> Storage for T where
    T: QueueStorage
        + ScheduleStorage
        + ResultStorage
        + CoordinationStorage
        + DeadLetterStorage
        + RevocationStorage
        + ControlStorage
{
}

/// The storage traits, for calling their methods on a concrete backend:
/// `use huey_core::storage::prelude::*;`. (Through `Arc<dyn Storage>` every method is there
/// already.)
pub mod prelude {
    pub use super::{
        ControlStorage, CoordinationStorage, DeadLetterStorage, QueueStorage, ResultStorage,
        RevocationStorage, ScheduleStorage, Storage,
    };
}
