//! The `Huey` handle: a named queue on a storage, with its options and hooks.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{HueyError, TaskError};
use crate::group::ResultGroup;
use crate::message::{DecodeError, Message};
use crate::registry::Registry;
use crate::result::TaskResult;
use crate::serializer::{Compression, Serializer, Signer};
use crate::signals::{HandlerId, Hooks, Signal};
use crate::storage::{DeadLetter, DeadLetterSelection, MemoryStorage, Storage};
use crate::task::{Revoke, Task, TaskValue};

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

struct Inner {
    name: String,
    storage: Arc<dyn Storage>,
    immediate_storage: RwLock<Option<Arc<dyn Storage>>>,
    immediate: AtomicBool,
    immediate_use_memory: bool,
    results: bool,
    store_none: bool,
    store_intermediate_errors: bool,
    hooks: Hooks,
    serializer: Serializer,
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

/// Builds a [`Huey`] with options other than the defaults.
#[derive(Debug, Clone)]
#[must_use = "call .build(storage) to get a Huey"]
pub struct HueyBuilder {
    name: String,
    results: bool,
    store_none: bool,
    store_intermediate_errors: bool,
    immediate: bool,
    immediate_use_memory: bool,
    registered_hooks: bool,
    compression: Compression,
    signing_secret: Option<Secret>,
    signing_salt: Vec<u8>,
}

/// A signing secret, kept out of `Debug` output.
#[derive(Clone)]
struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl HueyBuilder {
    /// Whether to store results (default true). Without results, handles report
    /// [`ResultError::Disabled`](crate::ResultError::Disabled).
    pub fn results(mut self, on: bool) -> Self {
        self.results = on;
        self
    }

    /// Whether to store `()`/`None` results (default false, as in Huey: a task that returns
    /// nothing stores nothing).
    pub fn store_none(mut self, on: bool) -> Self {
        self.store_none = on;
        self
    }

    /// Whether to store the error of an attempt that will be retried (default true).
    pub fn store_intermediate_errors(mut self, on: bool) -> Self {
        self.store_intermediate_errors = on;
        self
    }

    /// Runs tasks inside `enqueue` instead of queueing them (Huey's immediate mode).
    pub fn immediate(mut self, on: bool) -> Self {
        self.immediate = on;
        self
    }

    /// In immediate mode, use a fresh in-memory storage instead of the real one (default true).
    pub fn immediate_use_memory(mut self, on: bool) -> Self {
        self.immediate_use_memory = on;
        self
    }

    /// Whether the hooks registered with `#[pre_execute]`, `#[post_execute]` and `#[signal]`
    /// apply to this instance (default true). Turn it off for an instance that should only run
    /// the hooks connected to it at run time.
    pub fn registered_hooks(mut self, on: bool) -> Self {
        self.registered_hooks = on;
        self
    }

    /// Compresses stored messages and results (Huey's `compression=True`, `use_zlib`). Readers
    /// accept compressed and plain bytes alike, so producers and consumers can switch one at a
    /// time. See [`serializer`](crate::serializer) for the wire format.
    ///
    /// ```
    /// use huey_core::{Compression, Huey, MemoryStorage};
    ///
    /// let huey = Huey::builder("docs")
    ///     .compression(Compression::Gzip { level: 6 })
    ///     .build(MemoryStorage::new());
    /// let message = huey_core::message::Message::decode(br#"{"v":1,"id":"1","name":"t","args":[]}"#)?;
    /// let stored = huey.encode_message(&message);
    /// assert_eq!(&stored[..2], &[0x1f, 0x8b], "gzip magic");
    /// assert_eq!(huey.decode_message(&stored)?.id, "1");
    /// # Ok::<(), huey_core::message::DecodeError>(())
    /// ```
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Signs every stored message with HMAC-SHA256 under `secret` (Huey's `SignedSerializer`),
    /// and refuses to run messages whose signature is missing or wrong: the consumer moves them
    /// to the dead-letter list. Every producer and consumer of the queue needs the same secret
    /// and salt (a handle without a secret still reads signed messages, unchecked, so producers
    /// can start signing before consumers require it). Use a long random secret; an empty one
    /// is accepted but logged as a mistake.
    ///
    /// ```
    /// use huey_core::message::DecodeError;
    /// use huey_core::{Huey, MemoryStorage};
    ///
    /// let ours = Huey::builder("docs").signing_secret("s3cret").build(MemoryStorage::new());
    /// let theirs = Huey::builder("docs").signing_secret("guess").build(MemoryStorage::new());
    /// let message = huey_core::message::Message::decode(br#"{"v":1,"id":"1","name":"t","args":[]}"#)?;
    /// let stored = ours.encode_message(&message);
    /// assert_eq!(ours.decode_message(&stored)?.id, "1");
    /// assert!(matches!(theirs.decode_message(&stored), Err(DecodeError::Signature(_))));
    /// # Ok::<(), DecodeError>(())
    /// ```
    pub fn signing_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.signing_secret = Some(Secret(secret.as_ref().to_vec()));
        self
    }

    /// The salt mixed into the signing key (default `huey`, as in Huey). Lets several queues
    /// share a secret without accepting each other's messages.
    ///
    /// ```
    /// use huey_core::{Huey, MemoryStorage};
    ///
    /// let huey = Huey::builder("billing")
    ///     .signing_secret("s3cret")
    ///     .signing_salt("billing")
    ///     .build(MemoryStorage::new());
    /// # let _ = huey;
    /// ```
    pub fn signing_salt(mut self, salt: impl AsRef<[u8]>) -> Self {
        self.signing_salt = salt.as_ref().to_vec();
        self
    }

    /// Builds the handle on `storage`.
    pub fn build(self, storage: impl Storage) -> Huey {
        let mut storage = storage;
        storage.set_namespace(&self.name);
        let signer = self.signing_secret.map(|Secret(secret)| {
            if secret.is_empty() {
                tracing::error!(huey = %self.name, "the signing secret is empty: anyone can sign messages");
            }
            Signer::new(&secret, &self.signing_salt)
        });
        let huey = Huey {
            inner: Arc::new(Inner {
                name: self.name,
                storage: Arc::new(storage),
                immediate_storage: RwLock::new(None),
                immediate: AtomicBool::new(false),
                immediate_use_memory: self.immediate_use_memory,
                results: self.results,
                store_none: self.store_none,
                store_intermediate_errors: self.store_intermediate_errors,
                hooks: Hooks::new(self.registered_hooks),
                serializer: Serializer {
                    compression: self.compression,
                    signer,
                },
            }),
        };
        huey.set_immediate(self.immediate);
        huey
    }
}

#[derive(Serialize, Deserialize)]
struct RevokeFlag {
    until: Option<DateTime<Utc>>,
    once: bool,
    /// Set by `reschedule`: a copy with a new id carries on the task's pipeline and chord
    /// membership, so skipping this one must not end them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    superseded: bool,
}

/// Why a task is not to run (see [`Huey::revocation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Revocation {
    /// Revoked by a user.
    Revoked,
    /// Replaced by a rescheduled copy.
    Superseded,
}

impl Huey {
    /// A queue named `name` on `storage`, with Huey's default options.
    pub fn new(name: impl Into<String>, storage: impl Storage) -> Huey {
        Huey::builder(name).build(storage)
    }

    /// A queue on a fresh [`MemoryStorage`].
    pub fn memory(name: impl Into<String>) -> Huey {
        Huey::new(name, MemoryStorage::new())
    }

    /// A builder for the instance options.
    pub fn builder(name: impl Into<String>) -> HueyBuilder {
        HueyBuilder {
            name: name.into(),
            results: true,
            store_none: false,
            store_intermediate_errors: true,
            immediate: false,
            immediate_use_memory: true,
            registered_hooks: true,
            compression: Compression::None,
            signing_secret: None,
            signing_salt: b"huey".to_vec(),
        }
    }

    /// The instance name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The storage in use (the in-memory one while immediate mode uses memory).
    pub fn storage(&self) -> Arc<dyn Storage> {
        if let Some(s) = self
            .inner
            .immediate_storage
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            return Arc::clone(s);
        }
        Arc::clone(&self.inner.storage)
    }

    /// Whether results are stored.
    pub fn results_enabled(&self) -> bool {
        self.inner.results
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

    /// Switches immediate mode. Switching it on gives a fresh in-memory storage (unless the
    /// builder said `immediate_use_memory(false)`); switching it off returns to the real one.
    pub fn set_immediate(&self, on: bool) {
        let mut slot = self
            .inner
            .immediate_storage
            .write()
            .unwrap_or_else(|e| e.into_inner());
        *slot = (on && self.inner.immediate_use_memory)
            .then(|| Arc::new(MemoryStorage::new()) as Arc<dyn Storage>);
        self.inner.immediate.store(on, Ordering::SeqCst);
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

    /// Enqueues a built message; typed handles call this.
    pub async fn enqueue_message<O>(&self, message: Message) -> Result<TaskResult<O>, HueyError> {
        let handle = TaskResult::new(self.clone(), Arc::new(message.clone()));
        self.enqueue_raw(message).await?;
        Ok(handle)
    }

    /// Enqueues many messages in one storage call and returns a handle on each one's last
    /// pipeline stage (the message itself when it is not a pipeline).
    pub async fn enqueue_messages<O>(
        &self,
        messages: Vec<Message>,
    ) -> Result<ResultGroup<O>, HueyError> {
        let handles = messages
            .iter()
            .map(|m| TaskResult::new(self.clone(), Arc::new(m.tail().clone())))
            .collect();
        self.enqueue_batch(messages).await?;
        Ok(ResultGroup::from_handles(handles))
    }

    /// Enqueues `messages` in one storage call (in immediate mode, runs them one by one).
    pub(crate) async fn enqueue_batch(&self, messages: Vec<Message>) -> Result<(), HueyError> {
        if messages.is_empty() {
            return Ok(());
        }
        if self.is_immediate() {
            for m in messages {
                self.enqueue_raw(m).await?;
            }
        } else {
            let items = messages
                .iter()
                .map(|m| (self.encode_message(m), m.priority))
                .collect();
            self.storage().enqueue_many(items).await?;
            for m in messages {
                self.emit(Signal::Enqueued, &Task::from_message(m), None);
            }
        }
        Ok(())
    }

    /// Boxed, because in immediate mode it runs the task, which may enqueue others (pipeline
    /// stages, error handlers, tasks enqueued by the body).
    pub(crate) fn enqueue_raw(
        &self,
        message: Message,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), HueyError>> + Send + 'static>> {
        let huey = self.clone();
        Box::pin(async move {
            if huey.is_immediate() {
                huey.emit(Signal::Enqueued, &Task::from_message(message.clone()), None);
                return crate::executor::execute_immediate(&huey, message).await;
            }
            huey.storage()
                .enqueue(huey.encode_message(&message), message.priority)
                .await?;
            huey.emit(Signal::Enqueued, &Task::from_message(message), None);
            Ok(())
        })
    }

    /// The bytes that store `message`: its JSON, compressed and signed as this handle is
    /// configured. Every path that stores a message uses this (see
    /// [`serializer`](crate::serializer)).
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
        self.inner.serializer.seal(message.encode(), true)
    }

    /// Reads stored bytes back into a message: checks the signature when a secret is set,
    /// decompresses when the bytes are compressed, then decodes the JSON. The worker, the
    /// scheduler and [`pending`](Self::pending)/[`scheduled`](Self::scheduled) all read
    /// through this. See [`encode_message`](Self::encode_message) for an example.
    pub fn decode_message(&self, bytes: &[u8]) -> Result<Message, DecodeError> {
        let json = self.inner.serializer.open(bytes, true)?;
        Message::decode(&json)
    }

    /// Stored bytes for a result or a `put` value: compressed as configured, never signed.
    /// How this queue stores messages, in words (for the consumer's banner).
    pub(crate) fn describe_serializer(&self) -> String {
        self.inner.serializer.describe()
    }

    pub(crate) fn encode_value(&self, json: Vec<u8>) -> Vec<u8> {
        self.inner.serializer.seal(json, false)
    }

    /// Reads a value written by [`encode_value`](Self::encode_value) (or plain JSON), as JSON.
    pub(crate) fn decode_value<'a>(
        &self,
        bytes: &'a [u8],
    ) -> Result<std::borrow::Cow<'a, [u8]>, serde_json::Error> {
        self.inner
            .serializer
            .open(bytes, false)
            .map_err(|error| serde_json::Error::io(std::io::Error::other(error)))
    }

    /// A handle on the result of task `id` (Huey's `huey.result(id)`).
    pub fn result<O>(&self, id: impl Into<String>) -> TaskResult<O> {
        TaskResult::for_id(self.clone(), id.into())
    }

    // ---- revocation ----

    fn revoke_key(id: &str) -> String {
        format!("r:{id}")
    }

    fn revoke_all_key(name: &str) -> String {
        format!("rt:{name}")
    }

    async fn put_flag(&self, key: String, how: Revoke) -> Result<(), HueyError> {
        let (until, once) = match how {
            Revoke::Forever => (None, false),
            Revoke::Once => (None, true),
            Revoke::Until(t) => (Some(t), false),
        };
        let flag = RevokeFlag {
            until,
            once,
            superseded: false,
        };
        self.storage()
            .put_data(&key, serde_json::to_vec(&flag)?)
            .await?;
        Ok(())
    }

    /// Revokes one task instance by id.
    pub async fn revoke_by_id(&self, id: &str, how: Revoke) -> Result<(), HueyError> {
        self.put_flag(Huey::revoke_key(id), how).await
    }

    /// Restores a task instance; returns whether it was revoked.
    pub async fn restore_by_id(&self, id: &str) -> Result<bool, HueyError> {
        Ok(self.storage().delete_data(&Huey::revoke_key(id)).await?)
    }

    /// Whether task instance `id` is revoked (the task type's flag is not consulted, as in Huey).
    pub async fn is_revoked_by_id(&self, id: &str) -> Result<bool, HueyError> {
        let key = Huey::revoke_key(id);
        let flag = self.storage().peek_data(&key).await?;
        Ok(self
            .check_flag(&key, flag, Utc::now(), true)
            .await?
            .is_some())
    }

    /// Revokes every instance of the task named `name` (typed handles offer
    /// `my_task::revoke(&huey, ...)`).
    pub async fn revoke_all(&self, name: &str, how: Revoke) -> Result<(), HueyError> {
        self.put_flag(Huey::revoke_all_key(name), how).await
    }

    /// Restores a revoked task type; returns whether it was revoked.
    pub async fn restore_all(&self, name: &str) -> Result<bool, HueyError> {
        Ok(self
            .storage()
            .delete_data(&Huey::revoke_all_key(name))
            .await?)
    }

    /// Whether the task type `name` is revoked at this moment.
    pub async fn is_revoked_all(&self, name: &str) -> Result<bool, HueyError> {
        let key = Huey::revoke_all_key(name);
        let flag = self.storage().peek_data(&key).await?;
        Ok(self
            .check_flag(&key, flag, Utc::now(), true)
            .await?
            .is_some())
    }

    /// Whether `task` is revoked at `at`, by its instance flag or its type's flag. With
    /// `peek == false` (how the consumer checks) one-shot and expired flags are consumed.
    pub async fn is_revoked(
        &self,
        task: &Task,
        at: DateTime<Utc>,
        peek: bool,
    ) -> Result<bool, HueyError> {
        Ok(self.revocation(task, at, peek).await?.is_some())
    }

    /// Skips the next run of task `id` because a rescheduled copy replaces it.
    pub(crate) async fn supersede(&self, id: &str) -> Result<(), HueyError> {
        let flag = RevokeFlag {
            until: None,
            once: true,
            superseded: true,
        };
        self.storage()
            .put_data(&Huey::revoke_key(id), serde_json::to_vec(&flag)?)
            .await?;
        Ok(())
    }

    /// [`is_revoked`](Self::is_revoked), saying why.
    pub(crate) async fn revocation(
        &self,
        task: &Task,
        at: DateTime<Utc>,
        peek: bool,
    ) -> Result<Option<Revocation>, HueyError> {
        let instance = Huey::revoke_key(task.id());
        let all = Huey::revoke_all_key(task.name());
        let mut flags = self
            .storage()
            .peek_many(&[instance.as_str(), all.as_str()])
            .await?
            .into_iter();
        let instance_flag = flags.next().flatten();
        let all_flag = flags.next().flatten();
        let by_instance = self.check_flag(&instance, instance_flag, at, peek).await?;
        let by_type = self.check_flag(&all, all_flag, at, peek).await?;
        Ok(match (by_instance, by_type) {
            (Some(Revocation::Revoked), _) | (_, Some(Revocation::Revoked)) => {
                Some(Revocation::Revoked)
            }
            (Some(Revocation::Superseded), _) | (_, Some(Revocation::Superseded)) => {
                Some(Revocation::Superseded)
            }
            (None, None) => None,
        })
    }

    async fn check_flag(
        &self,
        key: &str,
        flag: Option<Vec<u8>>,
        at: DateTime<Utc>,
        peek: bool,
    ) -> Result<Option<Revocation>, HueyError> {
        let Some(bytes) = flag else { return Ok(None) };
        // A value that is not a flag (written with `put` under a revocation key, or by another
        // program) revokes nothing: treating it as an error would fail the task's every
        // delivery for ever.
        let flag: RevokeFlag = match serde_json::from_slice(&bytes) {
            Ok(flag) => flag,
            Err(error) => {
                tracing::warn!(key, %error, "ignoring a revocation flag that does not decode");
                return Ok(None);
            }
        };
        let (revoked, clear) = match flag.until {
            Some(until) if until <= at => (false, true),
            _ => (true, flag.once),
        };
        if clear && !peek {
            self.storage().delete_data(key).await?;
        }
        Ok(revoked.then_some(if flag.superseded {
            Revocation::Superseded
        } else {
            Revocation::Revoked
        }))
    }

    // ---- key-value and introspection ----

    /// Stores a serializable value under `key` (Huey's `huey.put`).
    pub async fn put<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), HueyError> {
        self.storage()
            .put_data(key, self.encode_value(serde_json::to_vec(value)?))
            .await?;
        Ok(())
    }

    /// Reads the value under `key`, removing it unless `peek` (Huey's `huey.get`).
    pub async fn get<T: DeserializeOwned>(
        &self,
        key: &str,
        peek: bool,
    ) -> Result<Option<T>, HueyError> {
        let storage = self.storage();
        let bytes = if peek {
            storage.peek_data(key).await?
        } else {
            storage.pop_data(key).await?
        };
        bytes
            .map(|b| serde_json::from_slice(&self.decode_value(&b)?))
            .transpose()
            .map_err(HueyError::from)
    }

    /// The queued messages, next first (at most `limit` are read). As in Huey, messages that do
    /// not decode are skipped with a warning, and messages whose task is not registered in this
    /// process are skipped too (logged at debug level: a producer-only process may well not
    /// link every task). [`pending_count`](Self::pending_count) counts them all.
    ///
    /// ```
    /// use huey_core::prelude::*;
    ///
    /// #[task]
    /// fn add(a: i64, b: i64) -> i64 { a + b }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("docs");
    /// add::enqueue(&huey, 1, 2).await?;
    /// huey.storage().enqueue(b"not a message".to_vec(), 0).await?;
    /// let pending = huey.pending(None).await?;
    /// assert_eq!(pending.len(), 1);
    /// assert_eq!(pending[0].name, add::NAME);
    /// assert_eq!(huey.pending_count().await?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn pending(&self, limit: Option<usize>) -> Result<Vec<Message>, HueyError> {
        let items = self.storage().enqueued_items(limit).await?;
        self.runnable(items)
    }

    /// Number of queued messages (Huey's `len(huey)`).
    pub async fn pending_count(&self) -> Result<usize, HueyError> {
        Ok(self.storage().queue_size().await?)
    }

    /// The scheduled messages, soonest first, skipping what does not decode or names no
    /// registered task, as [`pending`](Self::pending) does.
    ///
    /// ```
    /// use huey_core::prelude::*;
    /// use std::time::Duration;
    ///
    /// #[task]
    /// fn later() {}
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("docs");
    /// let mut message = later::call().delay(Duration::from_secs(60)).into_message()?;
    /// let eta = message.eta.ok_or("a delayed call has an eta")?;
    /// huey.storage().add_to_schedule(huey.encode_message(&message), eta, 0).await?;
    /// message.name = "nobody::registered".into();
    /// huey.storage().add_to_schedule(huey.encode_message(&message), eta, 0).await?;
    /// assert_eq!(huey.scheduled(None).await?.len(), 1);
    /// assert_eq!(huey.scheduled_count().await?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn scheduled(&self, limit: Option<usize>) -> Result<Vec<Message>, HueyError> {
        let items = self.storage().scheduled_items(limit).await?;
        self.runnable(items)
    }

    /// Number of scheduled messages.
    pub async fn scheduled_count(&self) -> Result<usize, HueyError> {
        Ok(self.storage().schedule_size().await?)
    }

    /// Number of stored values (results, revoke flags, ...).
    pub async fn result_count(&self) -> Result<usize, HueyError> {
        Ok(self.storage().result_store_size().await?)
    }

    /// Every stored value by key, raw.
    pub async fn all_results(&self) -> Result<HashMap<String, Vec<u8>>, HueyError> {
        Ok(self.storage().result_items().await?)
    }

    /// Messages that could not be run, oldest first, each with its id, the reason and when it
    /// was set aside. Messages that do not decode (including bad signatures) and messages that
    /// name no registered task end up here; they are never dropped.
    ///
    /// ```
    /// use huey_core::prelude::*;
    /// use huey_core::WorkerState;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("docs");
    /// huey.storage().enqueue(b"not a message".to_vec(), 0).await?;
    /// assert_eq!(huey.run_next(&WorkerState::default()).await?, None);
    /// let dead = huey.dead_letters(None).await?;
    /// assert!(dead[0].reason.starts_with("malformed message"));
    /// assert_eq!(huey.dead_letter_count().await?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn dead_letters(&self, limit: Option<usize>) -> Result<Vec<DeadLetter>, HueyError> {
        Ok(self.storage().dead_letters(limit).await?)
    }

    /// Number of dead letters.
    ///
    /// ```
    /// let huey = huey_core::Huey::memory("docs");
    /// assert_eq!(huey.blocking(|h| async move { h.dead_letter_count().await })??, 0);
    /// # Ok::<(), huey_core::HueyError>(())
    /// ```
    pub async fn dead_letter_count(&self) -> Result<usize, HueyError> {
        Ok(self.storage().dead_letter_count().await?)
    }

    /// Puts dead letters back on the queue, unchanged and with their priority: all of them, or
    /// those with the given ids. Each entry moves atomically (on Redis, one script call per
    /// entry), so two callers never queue one twice. Returns the entries moved. Use it once the
    /// cause is fixed (the task is deployed, the secret agreed); a message that still cannot
    /// run comes back to the list.
    ///
    /// ```
    /// use huey_core::prelude::*;
    /// use huey_core::storage::DeadLetterSelection;
    /// use huey_core::WorkerState;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("docs");
    /// huey.storage().enqueue(b"not yet a message".to_vec(), 0).await?;
    /// huey.run_next(&WorkerState::default()).await?;
    /// let id = huey.dead_letters(None).await?[0].id.clone();
    /// let moved = huey.requeue_dead_letters(DeadLetterSelection::Ids(&[id])).await?;
    /// assert_eq!(moved.len(), 1);
    /// assert_eq!(huey.pending_count().await?, 1);
    /// assert_eq!(huey.dead_letter_count().await?, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn requeue_dead_letters(
        &self,
        which: DeadLetterSelection<'_>,
    ) -> Result<Vec<DeadLetter>, HueyError> {
        let moved = self.storage().requeue_dead_letters(which).await?;
        for letter in &moved {
            if let Ok(message) = self.decode_message(&letter.data) {
                self.emit(Signal::Enqueued, &Task::from_message(message), None);
            }
        }
        Ok(moved)
    }

    /// Deletes dead letters: all, or those with the given ids. Returns how many were deleted.
    /// ([`flush`](Self::flush) leaves the dead letters alone.)
    ///
    /// ```
    /// use huey_core::prelude::*;
    /// use huey_core::storage::DeadLetterSelection;
    /// use huey_core::WorkerState;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("docs");
    /// huey.storage().enqueue(b"junk".to_vec(), 0).await?;
    /// huey.run_next(&WorkerState::default()).await?;
    /// assert_eq!(huey.delete_dead_letters(DeadLetterSelection::All).await?, 1);
    /// assert_eq!(huey.dead_letter_count().await?, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn delete_dead_letters(
        &self,
        which: DeadLetterSelection<'_>,
    ) -> Result<usize, HueyError> {
        Ok(self.storage().delete_dead_letters(which).await?)
    }

    /// Deletes task locks left behind by a crash: every stored `<name>.lock.*` key, plus the
    /// named ones (Huey's `flush_locks`, the consumer's `-f`/`-L`). Returns the lock names
    /// that existed.
    pub async fn flush_locks(&self, extra: &[String]) -> Result<Vec<String>, HueyError> {
        let prefix = crate::limits::lock_key(self.name(), "");
        let storage = self.storage();
        let mut names: Vec<String> = storage
            .result_items()
            .await?
            .into_keys()
            .filter_map(|key| key.strip_prefix(&prefix).map(str::to_owned))
            .collect();
        names.extend(extra.iter().cloned());
        names.sort();
        names.dedup();
        let mut flushed = Vec::new();
        for name in names {
            if storage.delete_data(&format!("{prefix}{name}")).await? {
                flushed.push(name);
            }
        }
        Ok(flushed)
    }

    /// Empties the queue, the schedule, the results and the counters (Huey's `flush`); dead
    /// letters stay, see [`delete_dead_letters`](Self::delete_dead_letters).
    ///
    /// ```
    /// let huey = huey_core::Huey::memory("docs");
    /// huey.blocking(|h| async move {
    ///     h.put("k", &1).await?;
    ///     h.flush().await?;
    ///     assert_eq!(h.result_count().await?, 0);
    ///     Ok::<_, huey_core::HueyError>(())
    /// })??;
    /// # Ok::<(), huey_core::HueyError>(())
    /// ```
    pub async fn flush(&self) -> Result<(), HueyError> {
        Ok(self.storage().flush_all().await?)
    }

    /// Runs `f` with this handle to completion from sync code, with no runtime of the caller's.
    ///
    /// ```
    /// let huey = huey_core::Huey::memory("docs");
    /// let pending = huey.blocking(|h| async move { h.pending_count().await })??;
    /// assert_eq!(pending, 0);
    /// # Ok::<(), huey_core::HueyError>(())
    /// ```
    pub fn blocking<F, Fut>(&self, f: F) -> Result<Fut::Output, HueyError>
    where
        F: FnOnce(Huey) -> Fut,
        Fut: Future + Send,
        Fut::Output: Send,
    {
        crate::blocking::block_on(f(self.clone()))
    }
}

impl Huey {
    /// Decodes stored messages for introspection, keeping those a consumer here could run.
    fn runnable(&self, items: Vec<Vec<u8>>) -> Result<Vec<Message>, HueyError> {
        let registry = Registry::global()?;
        Ok(items
            .into_iter()
            .filter_map(|bytes| match self.decode_message(&bytes) {
                Ok(m) if registry.get(&m.name).is_some() => Some(m),
                Ok(m) => {
                    tracing::debug!(id = %m.id, name = %m.name, "skipping a message whose task is not registered here");
                    None
                }
                Err(error) => {
                    tracing::warn!(%error, "skipping a message that does not decode");
                    None
                }
            })
            .collect())
    }
}
