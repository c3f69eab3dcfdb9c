//! Making a `Huey`: the defaults, the builder for Huey's instance options, and the codec
//! options (compression, signing).

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};

use super::engine::Queued;
use super::hooks::Hooks;
use super::huey::{Huey, Inner};
use crate::codec::{Codec, Compressed, Compression, JsonCodec, Signed};
use crate::storage::{MemoryStorage, Storage};
use crate::task::StoredResult;

/// Deliveries of a message that never settles before it is dead-lettered: enough that a run of
/// consumer restarts or a storage outage does not set healthy work aside (each of those ends
/// one delivery at most), few enough that a message that crashes its consumer stops soon.
const DEFAULT_MAX_DELIVERIES: u32 = 20;

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
    codec: Arc<dyn Codec>,
    compression: Compression,
    signing_secret: Option<Secret>,
    signing_salt: Vec<u8>,
    max_deliveries: u32,
    max_message_size: Option<usize>,
}

/// The default of [`HueyBuilder::max_message_size`]: 16 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 << 20;

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

    /// How many times a consumer may be handed one message that never settles before it gives
    /// up on it (default 20): the next delivery goes to the dead-letter list with the reason
    /// "delivered N times without settling" instead of running. A delivery that ends without
    /// settling is one whose consumer died or was killed while holding it (a task that crashes
    /// its process every time, say), or that went back to the queue because the storage failed
    /// before the task ran. Retries are new deliveries of a new copy and do not count. See
    /// [`Delivery::deliveries`](crate::storage::Delivery::deliveries).
    ///
    /// ```
    /// use huey_core::{Huey, MemoryStorage};
    ///
    /// let huey = Huey::builder("docs").max_deliveries(5).build(MemoryStorage::new());
    /// # let _ = huey;
    /// ```
    pub fn max_deliveries(mut self, deliveries: u32) -> Self {
        self.max_deliveries = deliveries.max(1);
        self
    }

    /// The format of stored messages and values (default [`JsonCodec`]). The compression and
    /// signing options layer over it.
    ///
    /// ```
    /// use huey_core::codec::JsonCodec;
    /// use huey_core::{Huey, MemoryStorage};
    ///
    /// let huey = Huey::builder("docs").codec(JsonCodec).build(MemoryStorage::new());
    /// # let _ = huey;
    /// ```
    pub fn codec(mut self, codec: impl Codec) -> Self {
        self.codec = Arc::new(codec);
        self
    }

    /// Compresses stored messages and results (Huey's `compression=True`, `use_zlib`). Readers
    /// accept compressed and plain bytes alike, so producers and consumers can switch one at a
    /// time. See [`codec`](crate::codec) for the wire format.
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

    /// The longest encoded message (after compression and signing) this queue accepts, in
    /// bytes; `None` accepts any size. Default [`DEFAULT_MAX_MESSAGE_SIZE`] (16 MiB).
    ///
    /// Enforced twice. An enqueue of a longer message fails with
    /// [`HueyError::MessageTooLarge`](crate::HueyError::MessageTooLarge) and enqueues nothing
    /// (of a bulk enqueue, nothing of the batch). A consumer claims with the same limit, and the
    /// storage moves a longer message that reached the queue anyway (another producer, an older
    /// version) to the dead-letter list, with its size in the reason, without handing it to the
    /// consumer: running a message costs a consumer several times its size in memory, so one
    /// huge message must not be able to take a consumer down.
    ///
    /// Why 16 MiB: far above what task arguments should carry (pass a reference to the data,
    /// not the data), and low enough that a consumer running a few such messages at once stays
    /// within an ordinary container's memory. It is also well inside Redis's 512 MB string
    /// limit.
    ///
    /// ```
    /// use huey_core::{Huey, HueyError, MemoryStorage};
    /// use huey_core::message::Message;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::builder("docs").max_message_size(Some(64)).build(MemoryStorage::new());
    /// let big = Message::decode(format!(r#"{{"v":1,"id":"1","name":"t","args":["{}"]}}"#, "x".repeat(100)).as_bytes())?;
    /// let refused = huey.enqueue_message::<()>(big).await.unwrap_err();
    /// assert!(matches!(refused, HueyError::MessageTooLarge { limit: 64, .. }));
    /// assert_eq!(huey.pending_count().await?, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_message_size(mut self, limit: Option<usize>) -> Self {
        self.max_message_size = limit;
        self
    }

    /// Builds the handle on `storage`.
    pub fn build(self, storage: impl Storage) -> Huey {
        self.build_shared(Arc::new(storage))
    }

    /// Builds the handle on a storage that other handles (or the application) share.
    ///
    /// ```
    /// use huey_core::{Huey, MemoryStorage, Storage};
    /// use std::sync::Arc;
    ///
    /// let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    /// let producer = Huey::builder("app").build_shared(Arc::clone(&storage));
    /// let consumer = Huey::builder("app").build_shared(storage);
    /// # let _ = (producer, consumer);
    /// ```
    pub fn build_shared(self, storage: Arc<dyn Storage>) -> Huey {
        let compressed = Compressed::new(self.codec, self.compression);
        let codec: Arc<dyn Codec> = match self.signing_secret {
            Some(Secret(secret)) => {
                if secret.is_empty() {
                    tracing::error!(huey = %self.name, "the signing secret is empty: anyone can sign messages");
                }
                Arc::new(Signed::new(compressed, &secret, &self.signing_salt))
            }
            None => Arc::new(Signed::unsigned(compressed)),
        };
        let null = serde_json::value::RawValue::NULL.to_owned();
        let unit_result = codec.encode_value(StoredResult::Ok(null).encode());
        let huey = Huey::from_inner(Inner {
            name: self.name,
            engine: RwLock::new(Arc::new(Queued::new(
                Arc::clone(&storage),
                self.max_message_size,
            ))),
            storage,
            immediate: AtomicBool::new(false),
            immediate_use_memory: self.immediate_use_memory,
            results: self.results,
            store_none: self.store_none,
            store_intermediate_errors: self.store_intermediate_errors,
            hooks: Hooks::new(self.registered_hooks),
            codec,
            max_deliveries: self.max_deliveries,
            max_message_size: self.max_message_size,
            unit_result,
        });
        if self.immediate {
            super::inline::switch(&huey, true);
        }
        huey
    }
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
            codec: Arc::new(JsonCodec),
            compression: Compression::None,
            signing_secret: None,
            signing_salt: b"huey".to_vec(),
            max_deliveries: DEFAULT_MAX_DELIVERIES,
            max_message_size: Some(DEFAULT_MAX_MESSAGE_SIZE),
        }
    }
}
