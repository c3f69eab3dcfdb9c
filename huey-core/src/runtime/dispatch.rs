//! Dispatch: what enqueueing does, whatever the engine. Messages are encoded by the queue's
//! codec, handed to its engine, and announced with [`Signal::Enqueued`].

use super::huey::Huey;
use crate::error::HueyError;
use crate::task::Task;
use crate::task::message::Message;
use crate::task::signal::Signal;

impl Huey {
    /// Enqueues `messages` in one storage call (in immediate mode, runs them one by one).
    pub(crate) async fn enqueue_batch(&self, messages: Vec<Message>) -> Result<(), HueyError> {
        if messages.is_empty() {
            return Ok(());
        }
        let encode = |message: &Message| self.encode_message(message);
        let enqueued = |message: Message| {
            self.emit(Signal::Enqueued, &Task::from_message(message), None);
        };
        self.engine().insert(messages, &encode, &enqueued).await
    }

    /// Enqueues one message.
    pub(crate) async fn enqueue_raw(&self, message: Message) -> Result<(), HueyError> {
        self.enqueue_batch(vec![message]).await
    }
}
