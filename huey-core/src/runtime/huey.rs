//! The `Huey` handle: a named queue with its options, its hooks, its codec and the engine
//! its messages go through.
//!
//! Where `Huey`'s methods live follows one rule: this file holds the handle itself and what
//! reads or configures its own parts (name, options, storage, codec, hooks and signal
//! handlers); [`builder`](super::builder) makes it; every other concern's methods are in an
//! `impl Huey` block in the module that owns that concern, above this one: dispatch,
//! revocation, admin (kv, introspection, dead letters), coordination (locks, rate limits,
//! semaphores), the inline engine (immediate mode), the workflow handles and the consumer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, Weak};

use super::engine::Engine;
use super::hooks::{HandlerId, Hooks};
use crate::codec::Codec;
use crate::error::TaskError;
use crate::storage::{Delivery, Settled, Settlement, Storage, StorageResult};
use crate::task::message::{DecodeError, Message};
use crate::task::signal::Signal;
use crate::task::{Task, TaskValue};

/// A task queue: a name, a storage, the instance options of Huey (results, `store_none`,
/// intermediate errors, immediate mode) and the hooks that run around tasks.
///
/// `Huey` is cheap to clone; clones share everything.
///
/// ```
/// use huey_core::prelude::*;
///
/// #[task]
/// fn add(a: i64, b: i64) -> i64 {
///     a + b
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Immediate mode runs each task inside `enqueue`: handy in tests and scripts.
/// let huey = Huey::builder("docs").immediate(true).build(MemoryStorage::new());
/// let mut sum = add::blocking_enqueue(&huey, 1, 2)?;
/// assert_eq!(sum.blocking_get()?, Some(3));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Huey {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) name: String,
    /// The storage the handle was built on.
    pub(crate) storage: Arc<dyn Storage>,
    /// Where messages go and attempts settle: the storage itself, or the inline engine while
    /// immediate mode is on.
    pub(crate) engine: RwLock<Arc<dyn Engine>>,
    pub(crate) immediate: AtomicBool,
    pub(crate) immediate_use_memory: bool,
    pub(crate) results: bool,
    pub(crate) store_none: bool,
    pub(crate) store_intermediate_errors: bool,
    pub(crate) hooks: Hooks,
    /// The queue's codec, with its compression and signing layers.
    pub(crate) codec: Arc<dyn Codec>,
    /// Deliveries of a message that never settles before the consumer dead-letters it.
    pub(crate) max_deliveries: u32,
    /// See [`HueyBuilder::max_message_size`](crate::HueyBuilder::max_message_size).
    pub(crate) max_message_size: Option<usize>,
    /// A `()` result as stored, encoded once: settlements offer it to waiters (see
    /// [`Settlement::if_awaited`]).
    pub(crate) unit_result: Vec<u8>,
}

impl std::fmt::Debug for Huey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Huey")
            .field("name", &self.inner.name)
            .field("storage", &self.inner.storage)
            .field("immediate", &self.is_immediate())
            .finish_non_exhaustive()
    }
}

/// A handle that does not keep its queue alive (the inline engine's way back to its queue).
#[derive(Debug, Clone)]
pub(crate) struct WeakHuey(Weak<Inner>);

impl WeakHuey {
    pub(crate) fn upgrade(&self) -> Option<Huey> {
        self.0.upgrade().map(|inner| Huey { inner })
    }
}

impl Huey {
    pub(crate) fn from_inner(inner: Inner) -> Huey {
        Huey {
            inner: Arc::new(inner),
        }
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    pub(crate) fn downgrade(&self) -> WeakHuey {
        WeakHuey(Arc::downgrade(&self.inner))
    }

    /// The instance name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The storage in use (the inline engine's in-memory one while immediate mode uses memory).
    pub fn storage(&self) -> Arc<dyn Storage> {
        self.engine().storage()
    }

    /// The engine messages go through now.
    pub(crate) fn engine(&self) -> Arc<dyn Engine> {
        Arc::clone(&self.inner.engine.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Applies a finished attempt's settlement through the engine.
    pub(crate) async fn settle(
        &self,
        claim: &Delivery,
        settlement: &Settlement,
    ) -> StorageResult<Settled> {
        self.engine().settle(claim, settlement).await
    }

    /// The longest encoded message this queue enqueues or runs, in bytes (see
    /// [`HueyBuilder::max_message_size`](crate::HueyBuilder::max_message_size)).
    pub fn max_message_size(&self) -> Option<usize> {
        self.inner.max_message_size
    }

    /// Whether results are stored.
    pub fn results_enabled(&self) -> bool {
        self.inner.results
    }

    pub(crate) fn max_deliveries(&self) -> u32 {
        self.inner.max_deliveries
    }

    pub(crate) fn store_none(&self) -> bool {
        self.inner.store_none
    }

    pub(crate) fn store_intermediate_errors(&self) -> bool {
        self.inner.store_intermediate_errors
    }

    pub(crate) fn hooks(&self) -> &Hooks {
        &self.inner.hooks
    }

    /// Whether immediate mode is on.
    pub fn is_immediate(&self) -> bool {
        self.inner.immediate.load(Ordering::SeqCst)
    }

    /// Fires a signal to every handler, in Huey's order.
    pub(crate) fn emit(&self, signal: Signal, task: &Task, error: Option<&TaskError>) {
        self.inner.hooks.emit(signal, task, error);
    }

    /// Connects a signal handler at run time; an empty `signals` list means every signal.
    ///
    /// ```
    /// use huey_core::{Huey, Signal};
    /// let huey = Huey::memory("docs");
    /// let id = huey.connect_signal(&[Signal::Complete], |signal, task, _error| {
    ///     println!("{signal}: {}", task.id());
    /// });
    /// assert!(huey.disconnect(id));
    /// ```
    pub fn connect_signal(
        &self,
        signals: &[Signal],
        handler: impl Fn(Signal, &Task, Option<&TaskError>) + Send + Sync + 'static,
    ) -> HandlerId {
        self.inner.hooks.connect_signal(signals, Arc::new(handler))
    }

    /// Adds a pre-execute hook at run time (after the registered ones). Returning
    /// `Err(CancelExecution)` cancels the task; any other error is logged and ignored.
    pub fn add_pre_execute(
        &self,
        name: impl Into<String>,
        hook: impl Fn(&Task) -> Result<(), TaskError> + Send + Sync + 'static,
    ) -> HandlerId {
        self.inner.hooks.add_pre(name.into(), Arc::new(hook))
    }

    /// Adds a post-execute hook at run time (after the registered ones).
    pub fn add_post_execute(
        &self,
        name: impl Into<String>,
        hook: impl Fn(&Task, Option<&TaskValue>, Option<&TaskError>) + Send + Sync + 'static,
    ) -> HandlerId {
        self.inner.hooks.add_post(name.into(), Arc::new(hook))
    }

    /// Removes a handler or hook connected at run time; returns whether it was connected.
    pub fn disconnect(&self, id: HandlerId) -> bool {
        self.inner.hooks.disconnect(id)
    }

    /// The bytes that store `message`: its JSON, compressed and signed as this handle is
    /// configured. Every path that stores a message uses this (see
    /// [`codec`](crate::codec)).
    ///
    /// ```
    /// use huey_core::prelude::*;
    ///
    /// #[task]
    /// fn add(a: i64, b: i64) -> i64 { a + b }
    ///
    /// let huey = Huey::builder("docs").signing_secret("s3cret").build(MemoryStorage::new());
    /// let message = add::call(1, 2).into_message()?;
    /// let stored = huey.encode_message(&message);
    /// assert_eq!(huey.decode_message(&stored)?.args.get(), "[1,2]");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encode_message(&self, message: &Message) -> Vec<u8> {
        self.inner.codec.encode_message(message)
    }

    /// Reads stored bytes back into a message through the queue's codec: checks the signature
    /// when a secret is set, decompresses when the bytes are compressed, then decodes. The worker, the
    /// scheduler and [`pending`](Self::pending)/[`scheduled`](Self::scheduled) all read
    /// through this. See [`encode_message`](Self::encode_message) for an example.
    pub fn decode_message(&self, bytes: &[u8]) -> Result<Message, DecodeError> {
        self.inner.codec.decode_message(bytes)
    }

    /// How this queue stores messages, in words (for the command-line consumer's banner).
    pub fn describe_codec(&self) -> String {
        self.inner.codec.describe()
    }

    /// Stored bytes for a result or a `put` value: compressed as configured, never signed.
    /// A `()` result in its stored form.
    pub(crate) fn unit_result(&self) -> &[u8] {
        &self.inner.unit_result
    }

    pub(crate) fn encode_value(&self, json: Vec<u8>) -> Vec<u8> {
        self.inner.codec.encode_value(json)
    }

    /// Reads a value written by [`encode_value`](Self::encode_value) (or plain JSON), as JSON.
    pub(crate) fn decode_value<'a>(
        &self,
        bytes: &'a [u8],
    ) -> Result<std::borrow::Cow<'a, [u8]>, serde_json::Error> {
        self.inner
            .codec
            .decode_value(bytes)
            .map_err(|error| serde_json::Error::io(std::io::Error::other(error)))
    }
}
