//! Dispatch: what enqueueing does, whatever the engine. Messages are encoded by the queue's
//! codec, handed to its engine (or to a [`MessageSink`] the caller gives), and announced with
//! [`Signal::Enqueued`].

use async_trait::async_trait;

use super::huey::Huey;
use crate::error::{HueyError, StorageError};
use crate::task::Task;
use crate::task::message::Message;
use crate::task::signal::Signal;
use crate::trace::Enqueue;

/// Where an enqueue writes its encoded messages instead of the queue's storage: for example
/// an application's own database transaction, so that a message is queued exactly when the
/// transaction commits (a backend crate provides the sink for its database).
///
/// `enqueue_into` on [`TaskCall`](crate::TaskCall), [`Pipeline`](crate::Pipeline),
/// [`Group`](crate::Group) and [`Chord`](crate::group::Chord) (all four behind the
/// [`EnqueueInto`](crate::EnqueueInto) trait) encode with the [`Huey`]'s codec, check its
/// [`max_message_size`](Huey::max_message_size), hand the messages to [`put`](Self::put) in
/// one call, fire [`Signal::Enqueued`] once it returns (the message is then written to the
/// sink, which does not mean its transaction will commit), and return the usual result
/// handles. In immediate mode they run the messages as any enqueue does and leave the sink
/// untouched.
///
/// ```
/// use huey_core::prelude::*;
/// use huey_core::{MessageSink, StorageError};
///
/// #[task]
/// fn add(a: i64, b: i64) -> i64 {
///     a + b
/// }
///
/// /// Collects messages, as a transaction would hold them until its commit.
/// #[derive(Default)]
/// struct Collect(Vec<(Vec<u8>, i32)>);
///
/// #[huey_core::async_trait]
/// impl MessageSink for Collect {
///     async fn put(&mut self, items: Vec<(Vec<u8>, i32)>) -> Result<(), StorageError> {
///         self.0.extend(items);
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), HueyError> {
/// let huey = Huey::memory("sink-docs");
/// let mut sink = Collect::default();
/// let _handle = add::call(1, 2).enqueue_into(&huey, &mut sink).await?;
/// assert_eq!(sink.0.len(), 1);
/// assert_eq!(huey.pending_count().await?, 0, "nothing reached the storage itself");
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait MessageSink: Send {
    /// Stores `items` (each an encoded message and its priority) in order, all or none.
    async fn put(&mut self, items: Vec<(Vec<u8>, i32)>) -> Result<(), StorageError>;
}

impl Huey {
    /// Enqueues `messages` in one storage call (in immediate mode, runs them one by one).
    pub(crate) async fn enqueue_batch(&self, mut messages: Vec<Message>) -> Result<(), HueyError> {
        if messages.is_empty() {
            return Ok(());
        }
        let trace = Enqueue::begin(self.name(), &mut messages);
        let encode = |message: &Message| self.encode_message(message);
        let enqueued = |message: Message| {
            self.emit(Signal::Enqueued, &Task::from_message(message), None);
        };
        trace
            .run(self.engine().insert(messages, &encode, &enqueued))
            .await
    }

    /// Enqueues one message.
    pub(crate) async fn enqueue_raw(&self, message: Message) -> Result<(), HueyError> {
        self.enqueue_batch(vec![message]).await
    }

    /// Writes `messages` to `sink` in one call (see [`MessageSink`]).
    pub(crate) async fn enqueue_batch_into(
        &self,
        mut messages: Vec<Message>,
        sink: &mut (dyn MessageSink + '_),
    ) -> Result<(), HueyError> {
        if messages.is_empty() {
            return Ok(());
        }
        if self.is_immediate() {
            return self.enqueue_batch(messages).await;
        }
        let trace = Enqueue::begin(self.name(), &mut messages);
        let items: Vec<(Vec<u8>, i32)> = messages
            .iter()
            .map(|m| (self.encode_message(m), m.priority))
            .collect();
        super::engine::check_size(&items, self.max_message_size())?;
        trace.run(sink.put(items)).await?;
        for message in messages {
            self.emit(Signal::Enqueued, &Task::from_message(message), None);
        }
        Ok(())
    }
}
