//! Immediate mode as an engine of its own (Huey's `immediate`, Oban's inline engine): each
//! message runs as it is enqueued, before `enqueue` returns, on a fresh in-memory storage (or
//! the real one, with `immediate_use_memory(false)`).
//!
//! The executor runs exactly as it does for a consumer and settles through this engine. The
//! settlement's results, revocation clean-up and scheduled messages are written to the
//! storage; the follow-ups that would have gone onto the queue (the next pipeline stage, an
//! error handler, a chord callback) run instead, once the attempt that produced them has
//! finished, which is Huey's order. A retry copy stays in the storage: run at once, a task
//! that keeps asking to be retried would never return. A task enqueued from inside a body
//! runs at once, as in Huey.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;
use futures::future::BoxFuture;

use super::engine::{Engine, Queued};
use super::executor::{Claim, execute};
use super::huey::{Huey, WeakHuey};
use super::registry::Registry;
use crate::error::HueyError;
use crate::storage::{Delivery, MemoryStorage, Settled, Settlement, Storage, StorageResult};
use crate::task::message::Message;
use crate::task::state::WorkerState;

tokio::task_local! {
    /// The attempt running inline in this task.
    static ATTEMPT: Arc<Attempt>;
}

/// An attempt running inline: its task id, and the follow-ups its settlement left to run once
/// it has finished.
#[derive(Debug)]
struct Attempt {
    id: String,
    follow_ups: Mutex<Vec<(Message, Vec<u8>)>>,
}

impl Huey {
    /// Switches immediate mode. Switching it on gives a fresh in-memory storage (unless the
    /// builder said `immediate_use_memory(false)`); switching it off returns to the real one.
    ///
    /// ```
    /// use huey_core::prelude::*;
    ///
    /// #[task]
    /// fn shout(text: String) -> String { text.to_uppercase() }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("docs");
    /// huey.set_immediate(true);
    /// let mut loud = shout::blocking_enqueue(&huey, "hi".into())?;
    /// assert_eq!(loud.blocking_get()?, Some("HI".to_string()));
    /// huey.set_immediate(false);
    /// assert!(!huey.is_immediate());
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_immediate(&self, on: bool) {
        switch(self, on);
    }
}

/// Puts `huey` on the inline engine (`on`) or back on its storage.
pub(crate) fn switch(huey: &Huey, on: bool) {
    let inner = huey.inner();
    let engine: Arc<dyn Engine> = if on {
        let storage: Arc<dyn Storage> = if inner.immediate_use_memory {
            Arc::new(MemoryStorage::new())
        } else {
            Arc::clone(&inner.storage)
        };
        Arc::new(Inline {
            storage,
            huey: huey.downgrade(),
        })
    } else {
        Arc::new(Queued::new(
            Arc::clone(&inner.storage),
            inner.max_message_size,
        ))
    };
    *inner.engine.write().unwrap_or_else(|e| e.into_inner()) = engine;
    inner
        .immediate
        .store(on, std::sync::atomic::Ordering::SeqCst);
}

/// The inline engine; see the [module docs](self).
#[derive(Debug)]
struct Inline {
    storage: Arc<dyn Storage>,
    /// Weak: the queue holds its engine.
    huey: WeakHuey,
}

impl Inline {
    /// Runs `message` (stored as `data`) and then, in order, what it left to run.
    fn run<'a>(
        &'a self,
        huey: &'a Huey,
        message: Message,
        data: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), HueyError>> {
        Box::pin(async move {
            let registry = Registry::global()?;
            let descriptor = registry.get(&message.name).ok_or_else(|| {
                HueyError::Configuration(format!("no task is registered as `{}`", message.name))
            })?;
            // No workers, so no startup hooks: the state holds only the queue.
            let mut state = WorkerState::new(0);
            state.insert(huey.clone());
            let delivery = Delivery {
                data,
                priority: message.priority,
                receipt: 0,
                revocations: true,
                deliveries: 1,
            };
            let claim = Claim {
                delivery: &delivery,
                body: None,
                progress: None,
                // Immediate mode runs no consumer, so it keeps no stats history.
                stats: None,
            };
            let attempt = Arc::new(Attempt {
                id: message.id.clone(),
                follow_ups: Mutex::new(Vec::new()),
            });
            let executed = execute(huey, descriptor, &state, message, Utc::now(), &claim);
            match ATTEMPT.scope(Arc::clone(&attempt), executed).await {
                Ok(_) => {}
                Err(unsettled) => return Err(unsettled.into_error().into()),
            }
            let follow_ups = std::mem::take(&mut *lock(&attempt.follow_ups));
            for (message, data) in follow_ups {
                self.run(huey, message, data).await?;
            }
            Ok(())
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[async_trait]
impl Engine for Inline {
    fn storage(&self) -> Arc<dyn Storage> {
        Arc::clone(&self.storage)
    }

    async fn insert(
        &self,
        messages: Vec<Message>,
        encode: &(dyn for<'m> Fn(&'m Message) -> Vec<u8> + Send + Sync),
        enqueued: &(dyn Fn(Message) + Send + Sync),
    ) -> Result<(), HueyError> {
        let huey = self.huey.upgrade().ok_or_else(|| {
            HueyError::Configuration("the queue of this immediate-mode engine is gone".into())
        })?;
        for message in messages {
            let data = encode(&message);
            enqueued(message.clone());
            self.run(&huey, message, data).await?;
        }
        Ok(())
    }

    async fn settle(&self, _claim: &Delivery, settlement: &Settlement) -> StorageResult<Settled> {
        let attempt = ATTEMPT.try_with(Arc::clone).ok();
        let huey = self.huey.upgrade();
        let (Some(attempt), Some(huey)) = (attempt, huey) else {
            // Settled outside an inline run (a worker step on an immediate-mode queue): it
            // applies like any other, and nothing runs.
            let _applied_without_a_claim = self.storage.settle(None, settlement).await?;
            return Ok(Settled::Applied);
        };
        // To run now: the queue-bound messages of another task (a message with the attempt's
        // own id is its retry copy, which is stored).
        // Encoded by this queue a moment ago, so each decodes; decoded once, here.
        let mut settlement = settlement.clone();
        let mut run = Vec::new();
        settlement.messages.retain(|m| {
            let follow_up = m
                .eta
                .is_none()
                .then(|| huey.decode_message(&m.data).ok())
                .flatten()
                .filter(|message| message.id != attempt.id);
            match follow_up {
                Some(message) => {
                    run.push((message, m.data.clone()));
                    false
                }
                None => true,
            }
        });
        let _applied_without_a_claim = self.storage.settle(None, &settlement).await?;
        lock(&attempt.follow_ups).extend(run);
        Ok(Settled::Applied)
    }
}
