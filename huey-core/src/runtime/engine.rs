//! Engines: where a queue's messages go and how its finished attempts are settled (Oban's
//! engines). The queued engine is the storage itself; the inline engine (immediate mode, in
//! [`inline`](super::inline)) runs each message as it is enqueued. The handle and the
//! executor talk to whichever is in force and never ask which one it is.

use std::sync::Arc;

use async_trait::async_trait;

use crate::storage::{Delivery, Settled, Settlement, Storage, StorageResult};
use crate::task::message::Message;

/// Where messages go and attempts settle.
#[async_trait]
pub(crate) trait Engine: Send + Sync + std::fmt::Debug + 'static {
    /// The storage behind the engine: results, revocations, locks and introspection read it.
    fn storage(&self) -> Arc<dyn Storage>;

    /// Puts `messages` where they will run, stored as `encode` makes them, calling `enqueued`
    /// with each once it is there (so the handle fires [`Signal::Enqueued`](crate::Signal)).
    async fn insert(
        &self,
        messages: Vec<Message>,
        encode: &(dyn for<'m> Fn(&'m Message) -> Vec<u8> + Send + Sync),
        enqueued: &(dyn Fn(Message) + Send + Sync),
    ) -> Result<(), crate::HueyError>;

    /// Applies a finished attempt's settlement together with its claim.
    async fn settle(&self, claim: &Delivery, settlement: &Settlement) -> StorageResult<Settled>;
}

/// The engine of a running queue: messages wait in the storage for a consumer.
#[derive(Debug)]
pub(crate) struct Queued {
    storage: Arc<dyn Storage>,
    max_message_size: Option<usize>,
}

impl Queued {
    pub(crate) fn new(storage: Arc<dyn Storage>, max_message_size: Option<usize>) -> Queued {
        Queued {
            storage,
            max_message_size,
        }
    }
}

#[async_trait]
impl Engine for Queued {
    fn storage(&self) -> Arc<dyn Storage> {
        Arc::clone(&self.storage)
    }

    async fn insert(
        &self,
        messages: Vec<Message>,
        encode: &(dyn for<'m> Fn(&'m Message) -> Vec<u8> + Send + Sync),
        enqueued: &(dyn Fn(Message) + Send + Sync),
    ) -> Result<(), crate::HueyError> {
        let items: Vec<(Vec<u8>, i32)> = messages.iter().map(|m| (encode(m), m.priority)).collect();
        check_size(&items, self.max_message_size)?;
        self.storage.enqueue_many(items).await?;
        messages.into_iter().for_each(enqueued);
        Ok(())
    }

    async fn settle(&self, claim: &Delivery, settlement: &Settlement) -> StorageResult<Settled> {
        self.storage.settle(Some(claim), settlement).await
    }
}

/// Refuses a batch with a message over `limit`, before anything is sent: a batch with one
/// message over the limit enqueues none.
pub(crate) fn check_size(
    items: &[(Vec<u8>, i32)],
    limit: Option<usize>,
) -> Result<(), crate::HueyError> {
    if let Some(limit) = limit
        && let Some(size) = items.iter().map(|(d, _)| d.len()).find(|n| *n > limit)
    {
        return Err(crate::HueyError::MessageTooLarge { size, limit });
    }
    Ok(())
}
