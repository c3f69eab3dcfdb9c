//! `RedisStorage`: the `Storage` contract on Redis, with claims, heartbeats and recovery.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use huey_core::storage::{
    ControlStorage, CoordinationStorage, DEFAULT_DEAD_LETTER_LIMIT, DeadLetter,
    DeadLetterSelection, DeadLetterStorage, Delivery, Dequeue, Disposition, MinuteStats, Outgoing,
    QueueStorage, ResultStorage, RevocationStorage, RevocationTarget, ScheduleStorage, Settled,
    Settlement, StorageResult, Upkeep,
};
use huey_core::{StorageError, async_trait};
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncCommands, AsyncConnectionConfig, Client, RedisError};

use crate::errors::backend;
use crate::scripts::{
    CHORD_RECORD, CLAIM_LIST, CLAIM_ZSET, DELETE_IF, PRESENCE, PROMOTE, PUT_IF_EMPTY,
    READ_SCHEDULE, REAP, REQUEUE_DEAD, RETURN_ENTRY, SEMAPHORE_ACQUIRE, SEMAPHORE_HOLDERS,
    SEMAPHORE_RELEASE, SEMAPHORE_RENEW,
};
use crate::settler::{self, Packed, SettleKeys};
use crate::stats::{self, StatsKeys};

/// Messages moved per script call when promoting or reading the schedule, and per command when
/// enqueueing in bulk: small enough to keep each call short, large enough to amortise the
/// round trip.
const BATCH: usize = 1000;

/// Options of a [`RedisStorage`].
///
/// ```
/// use huey_redis::RedisOptions;
/// use std::time::Duration;
///
/// let options = RedisOptions::default()
///     .priority(true)
///     .result_ttl(Some(Duration::from_secs(3600)))
///     .consumer_timeout(Duration::from_secs(30));
/// assert!(options.is_priority());
/// ```
#[derive(Debug, Clone)]
pub struct RedisOptions {
    priority: bool,
    result_ttl: Option<Duration>,
    heartbeat: Duration,
    consumer_timeout: Duration,
    notify_ttl: Duration,
    clean_name: bool,
    response_timeout: Duration,
    dead_letter_limit: Option<usize>,
    #[cfg(feature = "tls")]
    tls_root_certificate: Option<Vec<u8>>,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            priority: false,
            result_ttl: None,
            heartbeat: Duration::from_secs(2),
            consumer_timeout: Duration::from_secs(10),
            notify_ttl: Duration::from_secs(60),
            clean_name: true,
            response_timeout: Duration::from_secs(60),
            dead_letter_limit: Some(DEFAULT_DEAD_LETTER_LIMIT),
            #[cfg(feature = "tls")]
            tls_root_certificate: None,
        }
    }
}

impl RedisOptions {
    /// Use a sorted-set queue that honours task priorities (Huey's PriorityRedisHuey). The
    /// default is a list, which ignores priorities. Pick one per queue name: the two layouts
    /// cannot share a key.
    #[must_use]
    pub fn priority(mut self, on: bool) -> Self {
        self.priority = on;
        self
    }

    /// Whether the queue honours priorities.
    pub fn is_priority(&self) -> bool {
        self.priority
    }

    /// Give every stored result a time to live (Huey's RedisExpireHuey), so results nobody reads
    /// cannot fill Redis. Reads still remove a result unless the reader preserves it.
    #[must_use]
    pub fn result_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.result_ttl = ttl;
        self
    }

    /// How often a consumer heartbeats and looks for dead consumers (default 2 s).
    #[must_use]
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = interval.max(Duration::from_millis(10));
        self
    }

    /// How long a consumer may go without a heartbeat before its claims are put back on the
    /// queue (default 10 s). Keep it several heartbeats long.
    #[must_use]
    pub fn consumer_timeout(mut self, timeout: Duration) -> Self {
        self.consumer_timeout = timeout;
        self
    }

    /// Trust this CA certificate (PEM) for `rediss://` URLs instead of the system's roots.
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn tls_root_certificate(mut self, pem: Vec<u8>) -> Self {
        self.tls_root_certificate = Some(pem);
        self
    }

    /// How long a command may wait for its reply (default 60 s). Blocking waits use connections
    /// of their own and are not bound by it. A bulk enqueue that times out still reports exactly
    /// whether all or none of its tasks landed.
    #[must_use]
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// Keep at most `limit` dead letters (default
    /// [`DEFAULT_DEAD_LETTER_LIMIT`](huey_core::storage::DEFAULT_DEAD_LETTER_LIMIT), 10,000):
    /// the script that adds one trims the list to the newest `limit`, in the same step. `None`
    /// keeps them all.
    ///
    /// ```
    /// let options = huey_redis::RedisOptions::default().dead_letter_limit(Some(500));
    /// assert_eq!(options.dead_letters_kept(), Some(500));
    /// ```
    #[must_use]
    pub fn dead_letter_limit(mut self, limit: Option<usize>) -> Self {
        self.dead_letter_limit = limit;
        self
    }

    /// How many dead letters are kept (see [`dead_letter_limit`](Self::dead_letter_limit)).
    pub fn dead_letters_kept(&self) -> Option<usize> {
        self.dead_letter_limit
    }

    /// Keep the namespace as given in key names instead of removing characters outside
    /// `[A-Za-z0-9_]` (Huey's `clean_name=False`).
    #[must_use]
    pub fn raw_name(mut self) -> Self {
        self.clean_name = false;
        self
    }
}

/// Removes every character outside `[A-Za-z0-9_]`, as Huey does for key names.
///
/// ```
/// assert_eq!(huey_redis::clean_name("demo-app v1"), "demoappv1");
/// ```
pub fn clean_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

#[derive(Debug, Clone)]
struct Keys {
    name: String,
    queue: String,
    schedule: String,
    results: String,
    counters: String,
    consumers: String,
    reaper: String,
    reaped: String,
    dead: String,
    dead_seq: String,
    wake: String,
    revoked: String,
    processing_prefix: String,
    /// Consumer presence: a hash of id -> record, and a ZSET of id -> heartbeat (ms).
    presence: String,
    presence_beats: String,
    /// The pause flag: exists while the queue is paused.
    paused: String,
    stats: StatsKeys,
}

impl Keys {
    fn new(name: &str) -> Keys {
        Keys {
            name: name.to_owned(),
            queue: format!("huey.redis.{name}"),
            schedule: format!("huey.schedule.{name}"),
            results: format!("huey.results.{name}"),
            counters: format!("huey.counters.{name}"),
            consumers: format!("huey.consumers.{name}"),
            reaper: format!("huey.reaper.{name}"),
            reaped: format!("huey.reaped.{name}"),
            dead: format!("huey.dead.{name}"),
            dead_seq: format!("huey.deadseq.{name}"),
            wake: format!("huey.wake.{name}"),
            revoked: format!("huey.revoked.{name}"),
            processing_prefix: format!("huey.processing.{name}."),
            presence: format!("huey.presence.{name}"),
            presence_beats: format!("huey.presence_beats.{name}"),
            paused: format!("huey.paused.{name}"),
            stats: StatsKeys {
                prefix: format!("huey.stats.{name}."),
                minutes: format!("huey.stats_minutes.{name}"),
            },
        }
    }

    /// A chord's member outcomes, a hash of member index -> outcome.
    fn chord(&self, chord: &str) -> String {
        format!("huey.chord.{}.{chord}", self.name)
    }

    /// A semaphore's slots, a ZSET of holder -> expiry (ms). Its own prefix keeps it apart
    /// from a task lock of the same name (a field of the results hash, or a `huey.kv` string).
    fn semaphore(&self, key: &str) -> String {
        format!("huey.semaphore.{}.{key}", self.name)
    }

    fn kv(&self, key: &str) -> String {
        format!("huey.kv.{}.{key}", self.name)
    }

    fn kv_pattern(&self) -> String {
        format!("huey.kv.{}.*", self.name)
    }

    fn notify(&self, key: &str) -> String {
        format!("huey.notify.{}.{key}", self.name)
    }

    fn waiting(&self, key: &str) -> String {
        format!("huey.waiting.{}.{key}", self.name)
    }
}

/// Dedicated connections for blocking commands (`BLMOVE`, `BLPOP`): a blocking command holds
/// its connection, so it must never run on the shared multiplexed one.
struct BlockingPool {
    client: Client,
    idle: Mutex<Vec<MultiplexedConnection>>,
}

impl BlockingPool {
    async fn take(&self) -> Result<MultiplexedConnection, RedisError> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(conn);
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(None);
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }

    /// Returns a connection that is known good; a failed one is dropped instead.
    fn give_back(&self, conn: MultiplexedConnection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < 32 {
            idle.push(conn);
        }
    }
}

/// The claims this storage handed to its consumer and has not settled yet. An entry of the
/// processing list that was never handed out belongs to a claim whose reply a broken connection
/// lost; one that stays so for two heartbeats goes back on the queue, so even a live consumer
/// loses nothing to a dropped reply.
///
/// Claims are kept by a fingerprint of their processing-list entry (see [`Fingerprint`]), not
/// by a copy of it: the tracker is touched twice per task, and copying and hashing whole
/// messages showed in profiles.
#[derive(Default)]
struct Held {
    entries: HashMap<u64, usize>,
    suspects: HashSet<u64>,
}

impl Held {
    fn add(&mut self, entry: u64) {
        *self.entries.entry(entry).or_insert(0) += 1;
    }

    fn remove(&mut self, entry: u64) {
        if let Some(count) = self.entries.get_mut(&entry) {
            *count -= 1;
            if *count == 0 {
                self.entries.remove(&entry);
            }
        }
    }

    /// Which listed entries to return now: those unheld at this check and the previous one.
    fn orphans(&mut self, listed: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        let unheld: Vec<(u64, Vec<u8>)> = listed
            .into_iter()
            .map(|e| (Fingerprint::of(&[&e]), e))
            .filter(|(print, _)| !self.entries.contains_key(print))
            .collect();
        let (now, later): (Vec<_>, Vec<_>) = unheld
            .into_iter()
            .partition(|(print, _)| self.suspects.contains(print));
        self.suspects = later.into_iter().map(|(print, _)| print).collect();
        now.into_iter().map(|(_, entry)| entry).collect()
    }
}

/// A 64-bit fingerprint of a processing-list entry, computed from its parts without joining
/// them: SipHash is a streaming hash, so the parts give the same value as the whole entry read
/// back from Redis. A collision could only delay the return of a lost claim, never lose one.
struct Fingerprint;

impl Fingerprint {
    fn of(parts: &[&[u8]]) -> u64 {
        use std::hash::Hasher;
        let mut hasher = std::hash::DefaultHasher::new();
        for part in parts {
            hasher.write(part);
        }
        hasher.finish()
    }
}

/// Redis storage: see the crate docs for keys and the delivery protocol.
pub struct RedisStorage {
    conn: ConnectionManager,
    blocking: BlockingPool,
    keys: Keys,
    options: RedisOptions,
    consumer_id: String,
    processing: String,
    held: Mutex<Held>,
    settler: tokio::sync::mpsc::UnboundedSender<settler::Job>,
    settle_keys: std::sync::Arc<SettleKeys>,
}

impl std::fmt::Debug for RedisStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStorage")
            .field("queue", &self.keys.queue)
            .field("consumer_id", &self.consumer_id)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Microseconds since the epoch, strictly increasing within the process: the FIFO order of the
/// priority queue.
fn next_order() -> u64 {
    next_orders(1)
}

/// Reserves `count` consecutive orders and returns the first.
fn next_orders(count: u64) -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = u64::try_from(Utc::now().timestamp_micros()).unwrap_or(0);
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let first = now.max(last + 1);
        let end = first + count - 1;
        match LAST.compare_exchange_weak(last, end, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return first,
            Err(seen) => last = seen,
        }
    }
}

fn epoch_seconds(at: DateTime<Utc>) -> f64 {
    at.timestamp_micros() as f64 / 1e6
}

/// A TTL in whole milliseconds, at least 1: Redis reads 0 as "already expired".
fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn settle_keys(keys: &Keys, processing: &str, options: &RedisOptions) -> SettleKeys {
    SettleKeys {
        results: keys.results.clone(),
        processing: processing.to_owned(),
        revoked: keys.revoked.clone(),
        queue: keys.queue.clone(),
        schedule: keys.schedule.clone(),
        dead: keys.dead.clone(),
        wake: keys.wake.clone(),
        notify_prefix: keys.notify(""),
        waiting_prefix: keys.waiting(""),
        kv_prefix: keys.kv(""),
        chord_prefix: keys.chord(""),
        mode: if options.priority { "zset" } else { "list" },
        dead_letter_limit: options
            .dead_letter_limit
            .map(|n| n.to_string())
            .unwrap_or_default(),
        notify_ttl_ms: options.notify_ttl.as_millis() as u64,
        result_ttl_ms: options
            .result_ttl
            .map_or(0, |t| t.as_millis().max(1) as u64),
    }
}

/// A priority-queue member: 8-byte order, then `<priority>|`, then the message.
fn zset_member(order: u64, priority: i32, data: &[u8]) -> Vec<u8> {
    let mut member = Vec::with_capacity(data.len() + 20);
    member.extend_from_slice(&order.to_be_bytes());
    member.extend_from_slice(schedule_member(priority, data).as_slice());
    member
}

/// A priority-mode schedule member: `<priority>|<message>`.
fn schedule_member(priority: i32, data: &[u8]) -> Vec<u8> {
    let mut member = format!("{priority}|").into_bytes();
    member.extend_from_slice(data);
    member
}

/// Splits `<priority>|<message>`.
fn split_priority(body: &[u8]) -> (i32, Vec<u8>) {
    match body.iter().position(|b| *b == b'|') {
        Some(sep) => {
            let priority = std::str::from_utf8(&body[..sep])
                .ok()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            (priority, body[sep + 1..].to_vec())
        }
        None => (0, body.to_vec()),
    }
}

/// The mark of an entry that went back to the queue unsettled (see the scripts'
/// `returned_fn`): `\0R<returns>\0` before the message.
const RETURNED: &[u8] = b"\0R";

/// Splits a claimed message from its returned mark: (deliveries, message).
fn take_returns(mut data: Vec<u8>) -> (u32, Vec<u8>) {
    let Some(rest) = data.strip_prefix(RETURNED) else {
        return (1, data);
    };
    let Some(end) = rest.iter().position(|b| *b == 0) else {
        return (1, data);
    };
    let Some(returns) = std::str::from_utf8(&rest[..end])
        .ok()
        .and_then(|n| n.parse::<u32>().ok())
    else {
        return (1, data);
    };
    data.drain(..RETURNED.len() + end + 1);
    (returns.saturating_add(1), data)
}

/// The returned mark of a delivery, empty on a first delivery.
fn returns_mark(delivery: &Delivery) -> Vec<u8> {
    match delivery.deliveries {
        0 | 1 => Vec::new(),
        n => {
            let mut mark = RETURNED.to_vec();
            mark.extend_from_slice(format!("{}\0", n - 1).as_bytes());
            mark
        }
    }
}

/// A claim script's reply: the number of revocation flags, how many messages it set aside for
/// their size, then the claimed items. Returns whether revocations may apply, the number set
/// aside, and the items.
fn split_claim_reply(reply: Vec<Vec<u8>>) -> (bool, u64, Vec<Vec<u8>>) {
    let number = |item: Option<&Vec<u8>>| {
        item.and_then(|n| std::str::from_utf8(n).ok())
            .and_then(|n| n.parse::<u64>().ok())
    };
    let flags = number(reply.first());
    let aside = number(reply.get(1)).unwrap_or(0);
    // Taking the items by value, without shifting them down one by one.
    let items = reply.into_iter().skip(2).collect();
    (flags != Some(0), aside, items)
}

fn parse_zset_member(member: &[u8]) -> (u64, i32, Vec<u8>) {
    if member.len() < 8 {
        return (0, 0, member.to_vec());
    }
    let mut order = [0u8; 8];
    order.copy_from_slice(&member[..8]);
    let (priority, data) = split_priority(&member[8..]);
    (u64::from_be_bytes(order), priority, data)
}

/// The first line of a dead-letter record; the raw message follows the newline, so a record
/// costs the message's own size plus this line (no escaping, no hex). The claim scripts write
/// the same line for a message over the size limit (see `dead_letter_lua!` in scripts.rs).
/// [`parse_zset_member`] of a member the caller owns: the message keeps the member's buffer
/// (its prefix moved out in place), so a big message is not copied.
fn take_zset_member(mut member: Vec<u8>) -> (u64, i32, Vec<u8>) {
    let Some(order) = member.get(..8).and_then(|o| <[u8; 8]>::try_from(o).ok()) else {
        return (0, 0, member);
    };
    let (priority, prefix) = match member[8..].iter().position(|b| *b == b'|') {
        Some(sep) => {
            let priority = std::str::from_utf8(&member[8..8 + sep])
                .ok()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            (priority, 8 + sep + 1)
        }
        None => (0, 8),
    };
    member.drain(..prefix);
    (u64::from_be_bytes(order), priority, member)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct DeadHeader {
    id: String,
    priority: i32,
    reason: String,
    /// When it was set aside, in milliseconds since the epoch (what a script can write).
    at_ms: i64,
}

/// A dead-letter record in the JSON-only format of earlier versions, still read so that their
/// dead letters can be listed, requeued and deleted.
#[derive(serde::Deserialize)]
struct LegacyDeadLetter {
    /// Records written before ids existed have none; they are still read, and moved or deleted
    /// with [`DeadLetterSelection::All`].
    #[serde(default)]
    id: String,
    #[serde(default)]
    priority: i32,
    reason: String,
    at: DateTime<Utc>,
    /// The message as text when it is UTF-8 ...
    #[serde(default)]
    data: Option<String>,
    /// ... or as hex when it is not.
    #[serde(default)]
    data_hex: Option<String>,
}

/// Reads a dead-letter record of either format; `None` when it is neither.
fn parse_dead_record(record: &[u8]) -> Option<DeadLetter> {
    // A header is compact JSON, which never holds a raw newline: the first one ends it. A
    // legacy record is compact JSON too, so it has none.
    if let Some(newline) = record.iter().position(|b| *b == b'\n')
        && let Ok(header) = serde_json::from_slice::<DeadHeader>(&record[..newline])
    {
        return Some(DeadLetter {
            id: header.id,
            data: record[newline + 1..].to_vec(),
            priority: header.priority,
            reason: header.reason,
            at: DateTime::from_timestamp_millis(header.at_ms).unwrap_or_default(),
        });
    }
    let legacy: LegacyDeadLetter = serde_json::from_slice(record).ok()?;
    let data = match (legacy.data, legacy.data_hex) {
        (Some(text), _) => text.into_bytes(),
        (None, Some(h)) => unhex(&h)?,
        (None, None) => Vec::new(),
    };
    Some(DeadLetter {
        id: legacy.id,
        data,
        priority: legacy.priority,
        reason: legacy.reason,
        at: legacy.at,
    })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The header line (with its newline) of the record of a claimed message that cannot run;
/// the settle script appends the message itself from the processing entry.
fn dead_letter_header(delivery: &Delivery, reason: &str) -> StorageResult<Vec<u8>> {
    let mut header = serde_json::to_vec(&DeadHeader {
        id: uuid::Uuid::new_v4().to_string(),
        priority: delivery.priority,
        reason: reason.to_owned(),
        at_ms: Utc::now().timestamp_millis(),
    })
    .map_err(|e| StorageError::Backend(Box::new(e)))?;
    header.push(b'\n');
    Ok(header)
}

impl RedisStorage {
    /// Connects to `url` with default options, keeping this queue's keys under `namespace`
    /// (use the name of the `Huey` it serves; see the crate docs for the URL forms and the key
    /// layout).
    pub async fn connect(namespace: &str, url: &str) -> Result<RedisStorage, StorageError> {
        RedisStorage::connect_with(namespace, url, RedisOptions::default()).await
    }

    /// Connects to the URL in `HUEY_REDIS_URL`, or `redis://127.0.0.1:6379/0`.
    pub async fn from_env(namespace: &str) -> Result<RedisStorage, StorageError> {
        let url = std::env::var("HUEY_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned());
        RedisStorage::connect(namespace, &url).await
    }

    /// Connects with `options`.
    pub async fn connect_with(
        namespace: &str,
        url: &str,
        options: RedisOptions,
    ) -> Result<RedisStorage, StorageError> {
        #[cfg(feature = "tls")]
        // rustls needs a process-wide crypto provider; keep the application's if it chose one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        #[cfg(feature = "tls")]
        let client = match &options.tls_root_certificate {
            Some(pem) => Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.clone()),
                },
            ),
            None => Client::open(url),
        }
        .map_err(backend)?;
        #[cfg(not(feature = "tls"))]
        let client = Client::open(url).map_err(backend)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(options.response_timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let conn = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(backend)?;
        let consumer_id = format!(
            "{}-{}-{}",
            std::process::id(),
            Utc::now().timestamp_millis(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let keys = Keys::new(&if options.clean_name {
            clean_name(namespace)
        } else {
            namespace.to_owned()
        });
        let processing = format!("{}{consumer_id}", keys.processing_prefix);
        let settle_keys = std::sync::Arc::new(settle_keys(&keys, &processing, &options));
        let settler = settler::spawn(conn.clone());
        Ok(RedisStorage {
            conn,
            blocking: BlockingPool {
                client,
                idle: Mutex::new(Vec::new()),
            },
            keys,
            options,
            consumer_id,
            processing,
            held: Mutex::new(Held::default()),
            settler,
            settle_keys,
        })
    }

    /// This storage's consumer id: unique per process start, it names the processing list
    /// and the heartbeat.
    pub fn consumer_id(&self) -> &str {
        &self.consumer_id
    }

    /// The options in force.
    pub fn options(&self) -> &RedisOptions {
        &self.options
    }

    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn hand_out(&self, deliveries: Vec<Delivery>) -> Vec<Delivery> {
        let mut held = self.held();
        for delivery in &deliveries {
            held.add(self.entry_fingerprint(delivery));
        }
        deliveries
    }

    fn settled(&self, delivery: &Delivery) {
        let print = self.entry_fingerprint(delivery);
        self.held().remove(print);
    }

    /// [`Fingerprint`] of [`processing_entry`](Self::processing_entry), without building it.
    fn entry_fingerprint(&self, delivery: &Delivery) -> u64 {
        let mark = returns_mark(delivery);
        if self.options.priority {
            let order = delivery.receipt.to_be_bytes();
            let priority = format!("{}|", delivery.priority);
            Fingerprint::of(&[&order, priority.as_bytes(), &mark, &delivery.data])
        } else {
            Fingerprint::of(&[&mark, &delivery.data])
        }
    }

    fn mode(&self) -> &'static str {
        if self.options.priority {
            "zset"
        } else {
            "list"
        }
    }

    /// Runs a blocking command on a dedicated connection.
    async fn blocking<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, RedisError> {
        self.blocking_keeping(cmd, |_| true).await
    }

    /// [`blocking`](Self::blocking), giving the connection back to the pool only if `keep`
    /// says so of the reply.
    async fn blocking_keeping<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
        keep: impl FnOnce(&T) -> bool,
    ) -> Result<T, RedisError> {
        let mut conn = self.blocking.take().await?;
        let value = cmd.query_async(&mut conn).await?;
        if keep(&value) {
            self.blocking.give_back(conn);
        }
        Ok(value)
    }

    /// Claims up to `max` messages; the claim script sets aside those over `limit` itself.
    /// Returns the claims and how many were set aside.
    async fn claim(&self, max: usize, limit: Option<usize>) -> StorageResult<(Vec<Delivery>, u64)> {
        let script = if self.options.priority {
            &*CLAIM_ZSET
        } else {
            &*CLAIM_LIST
        };
        let reply: Vec<Vec<u8>> = script
            .key(&self.keys.queue)
            .key(&self.processing)
            .key(&self.keys.consumers)
            .key(&self.keys.revoked)
            .key(&self.keys.dead)
            .key(&self.keys.dead_seq)
            .key(&self.keys.wake)
            .arg(max)
            .arg(&self.consumer_id)
            .arg(now_ms())
            .arg(limit.map(|n| n.to_string()).unwrap_or_default())
            .arg(&self.settle_keys.dead_letter_limit)
            .invoke_async(&mut self.conn())
            .await
            .map_err(backend)?;
        let (revocations, aside, items) = split_claim_reply(reply);
        if aside > 0 {
            tracing::warn!(
                count = aside,
                limit,
                "moved messages over the size limit to the dead-letter list unread"
            );
        }
        let claimed = items
            .into_iter()
            .map(|item| {
                let (receipt, priority, data) = if self.options.priority {
                    take_zset_member(item)
                } else {
                    (0, 0, item)
                };
                let (deliveries, data) = take_returns(data);
                Delivery {
                    data,
                    priority,
                    receipt,
                    revocations,
                    deliveries,
                }
            })
            .collect();
        Ok((claimed, aside))
    }

    /// Keys of values with a TTL, found with SCAN (never KEYS, which blocks the server).
    async fn kv_keys(&self) -> StorageResult<Vec<String>> {
        self.scan(&self.keys.kv_pattern()).await
    }

    /// Keys matching `pattern`, found with SCAN (never KEYS, which blocks the server).
    async fn scan(&self, pattern: &str) -> StorageResult<Vec<String>> {
        let mut conn = self.conn();
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(BATCH)
                .query_async(&mut conn)
                .await
                .map_err(backend)?;
            keys.extend(batch);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }

    /// Lays `settlement` out as the settle script's arguments (see
    /// [`SETTLE_MANY`](crate::scripts::SETTLE_MANY)): the common shapes (an acknowledgement
    /// with one result, or with none) in a short form, anything else in full.
    fn settle_args(
        &self,
        claim: Option<&Delivery>,
        settlement: &Settlement,
    ) -> StorageResult<Packed> {
        let revoke = settlement
            .clear_revocation
            .as_deref()
            .map(|id| flag_field(RevocationTarget::Instance(id)))
            .unwrap_or_default();
        let data_len = claim.map_or(0, |d| d.data.len() + 20);
        let simple = settlement.disposition == Disposition::Ack
            && settlement.messages.is_empty()
            && settlement.chords_fired.is_empty();
        let single = match (&settlement.results[..], &settlement.if_awaited[..]) {
            ([], []) => Some((&b"A"[..], None)),
            ([result], []) => Some((&b"S"[..], Some(result))),
            ([], [awaited]) => Some((&b"W"[..], Some(awaited))),
            _ => None,
        };
        if simple && let Some((shape, result)) = single {
            let mut args = Packed::with_capacity(data_len + revoke.len() + 128, 5);
            args.push(shape);
            self.push_entry(&mut args, claim);
            if let Some((field, value)) = result {
                args.push(field.as_bytes());
                args.push(value);
            }
            args.push(revoke.as_bytes());
            return Ok(args);
        }
        let (code, record) = match (&settlement.disposition, claim) {
            (Disposition::DeadLetter { reason }, Some(delivery)) => {
                ("d", dead_letter_header(delivery, reason)?)
            }
            (Disposition::Requeue, _) => ("r", Vec::new()),
            (Disposition::Release, _) => ("u", Vec::new()),
            _ => ("a", Vec::new()),
        };
        let mut args = Packed::with_capacity(data_len + record.len() + 256, 16);
        args.push(b"G");
        self.push_entry(&mut args, claim);
        args.push(code.as_bytes());
        args.push(&record);
        args.push(revoke.as_bytes());
        args.push_number(settlement.results.len());
        for (field, value) in &settlement.results {
            args.push(field.as_bytes());
            args.push(value);
        }
        args.push_number(settlement.messages.len());
        for Outgoing {
            data,
            priority,
            eta,
            ..
        } in &settlement.messages
        {
            let prefix = format!("{priority}|");
            match (eta, self.options.priority) {
                (Some(at), true) => {
                    args.push(b"s");
                    args.push_parts(&[prefix.as_bytes(), data]);
                    args.push_number(epoch_seconds(*at));
                }
                (Some(at), false) => {
                    args.push(b"s");
                    args.push(data);
                    args.push_number(epoch_seconds(*at));
                }
                (None, true) => {
                    args.push(b"q");
                    let order = next_order().to_be_bytes();
                    args.push_parts(&[&order, prefix.as_bytes(), data]);
                    args.push_number(-f64::from(*priority));
                }
                (None, false) => {
                    args.push(b"q");
                    args.push(data);
                    args.push(b"0");
                }
            }
        }
        args.push_number(settlement.chords_fired.len());
        for chord in &settlement.chords_fired {
            args.push(chord.as_bytes());
        }
        args.push_number(settlement.if_awaited.len());
        for (field, value) in &settlement.if_awaited {
            args.push(field.as_bytes());
            args.push(value);
        }
        Ok(args)
    }

    /// The claim's processing-list entry (the message, behind its order and priority in
    /// priority mode), or '' for a settlement without a claim.
    fn push_entry(&self, args: &mut Packed, claim: Option<&Delivery>) {
        match claim {
            Some(d) if self.options.priority => {
                let priority = format!("{}|", d.priority);
                let mark = returns_mark(d);
                args.push_parts(&[
                    &d.receipt.to_be_bytes(),
                    priority.as_bytes(),
                    &mark,
                    &d.data,
                ]);
            }
            Some(d) if d.deliveries > 1 => args.push_parts(&[&returns_mark(d), &d.data]),
            Some(d) => args.push(&d.data),
            None => args.push(b""),
        }
    }

    /// After a failed bulk enqueue: the transaction either ran whole (its marker exists) or not
    /// at all. Commands on one connection run in order, so the check sees the outcome of a
    /// transaction that was still running when the client gave up waiting.
    async fn bulk_outcome(
        &self,
        marker: &str,
        count: usize,
        error: RedisError,
    ) -> StorageResult<()> {
        let mut backoff = Duration::from_millis(50);
        for _ in 0..20 {
            match self.conn().exists::<_, bool>(marker).await {
                Ok(true) => {
                    tracing::warn!(count, %error, "bulk enqueue reply lost, but all tasks were enqueued");
                    return Ok(());
                }
                Ok(false) => {
                    return Err(StorageError::Backend(
                        format!(
                            "bulk enqueue failed and enqueued none of its {count} tasks: {error}"
                        )
                        .into(),
                    ));
                }
                Err(_) => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
        Err(StorageError::Backend(
            format!("bulk enqueue of {count} tasks failed and Redis stayed unreachable, so whether it landed is unknown: {error}").into(),
        ))
    }

    /// Puts back the entries of this consumer's processing list that it never handed out (see
    /// [`Held`]).
    async fn return_orphans(&self) -> StorageResult<()> {
        let listed: Vec<Vec<u8>> = self
            .conn()
            .lrange(&self.processing, 0, -1)
            .await
            .map_err(backend)?;
        let orphans = self.held().orphans(listed);
        for entry in orphans {
            let returned: i64 = RETURN_ENTRY
                .key(&self.processing)
                .key(&self.keys.queue)
                .key(&self.keys.wake)
                .arg(&entry)
                .arg(self.mode())
                .invoke_async(&mut self.conn())
                .await
                .map_err(backend)?;
            if returned == 1 {
                tracing::warn!("returned a claim whose reply was lost to the queue");
            }
        }
        Ok(())
    }

    /// Runs a schedule script (at most [`BATCH`] members per call) until it takes fewer than a
    /// full batch, returning the messages it took, soonest first.
    async fn drain_due(
        &self,
        mut call: impl FnMut() -> redis::ScriptInvocation<'static>,
    ) -> StorageResult<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        loop {
            let batch: Vec<Vec<u8>> = call()
                .invoke_async(&mut self.conn())
                .await
                .map_err(backend)?;
            let done = batch.len() < BATCH;
            out.extend(batch.into_iter().map(|m| self.strip_schedule_member(m)));
            if done {
                return Ok(out);
            }
        }
    }

    /// The first `limit` dead-letter records, raw (to remove exactly that record later) and
    /// parsed. A record that does not parse is left alone.
    async fn dead_records(
        &self,
        limit: Option<usize>,
    ) -> StorageResult<Vec<(Vec<u8>, DeadLetter)>> {
        if limit == Some(0) {
            return Ok(Vec::new());
        }
        let end = limit.map_or(-1, |n| isize::try_from(n).unwrap_or(isize::MAX) - 1);
        let records: Vec<Vec<u8>> = self
            .conn()
            .lrange(&self.keys.dead, 0, end)
            .await
            .map_err(backend)?;
        Ok(records
            .into_iter()
            .filter_map(|bytes| {
                let letter = parse_dead_record(&bytes)?;
                Some((bytes, letter))
            })
            .collect())
    }

    fn strip_schedule_member(&self, member: Vec<u8>) -> Vec<u8> {
        if self.options.priority {
            split_priority(&member).1
        } else {
            member
        }
    }
}

#[async_trait]
impl QueueStorage for RedisStorage {
    fn supports_priority(&self) -> bool {
        self.options.priority
    }

    async fn enqueue(&self, data: Vec<u8>, priority: i32) -> StorageResult<()> {
        self.enqueue_many(vec![(data, priority)]).await
    }

    async fn enqueue_many(&self, items: Vec<(Vec<u8>, i32)>) -> StorageResult<()> {
        if items.is_empty() {
            return Ok(());
        }
        let single = items.len() <= BATCH;
        let mut pipe = redis::pipe();
        // One command is atomic by itself; several go in a transaction that also leaves a
        // marker, so that a failed call can tell exactly whether everything or nothing landed.
        let marker = (!single).then(|| {
            format!(
                "huey.batch.{}.{}",
                self.keys.name,
                uuid::Uuid::new_v4().simple()
            )
        });
        if marker.is_some() {
            pipe.atomic();
        }
        for chunk in items.chunks(BATCH) {
            if self.options.priority {
                let cmd = pipe.cmd("ZADD").arg(&self.keys.queue);
                for (data, priority) in chunk {
                    cmd.arg(-f64::from(*priority))
                        .arg(zset_member(next_order(), *priority, data));
                }
            } else {
                let cmd = pipe.cmd("LPUSH").arg(&self.keys.queue);
                for (data, _) in chunk {
                    cmd.arg(data.as_slice());
                }
            }
            pipe.ignore();
        }
        if let Some(marker) = &marker {
            pipe.cmd("SET")
                .arg(marker)
                .arg("1")
                .arg("EX")
                .arg(3600)
                .ignore();
        }
        // In list mode too: a consumer with a size limit waits on the wake list (see dequeue).
        pipe.cmd("LPUSH").arg(&self.keys.wake).arg("1").ignore();
        pipe.cmd("LTRIM")
            .arg(&self.keys.wake)
            .arg(0)
            .arg(1023)
            .ignore();
        let sent = pipe.query_async::<()>(&mut self.conn()).await;
        match (sent, marker) {
            (Ok(()), _) => Ok(()),
            (Err(error), None) => Err(backend(error)),
            (Err(error), Some(marker)) => self.bulk_outcome(&marker, items.len(), error).await,
        }
    }

    async fn dequeue(&self, request: Dequeue) -> StorageResult<Vec<Delivery>> {
        let (max, wait, limit) = (request.max.max(1), request.wait, request.max_message_size);
        let (claimed, aside) = self.claim(max, limit).await?;
        let claimed = self.hand_out(claimed);
        // After setting messages aside, return at once: more may be waiting behind them.
        if !claimed.is_empty() || aside > 0 || wait.is_zero() {
            return Ok(claimed);
        }
        // Sorted sets have no blocking move, and a BLMOVE would download a message of any
        // size before the limit could be checked: sleep on the wake list, then claim. (With a
        // limit, a list-mode message pushed by a producer that sends no wake-up, such as Python
        // Huey, waits for the end of this wait.)
        if self.options.priority || limit.is_some() {
            let _: Option<(String, String)> = self
                .blocking(
                    redis::cmd("BLPOP")
                        .arg(&self.keys.wake)
                        .arg(wait.as_secs_f64()),
                )
                .await
                .map_err(backend)?;
            return Ok(self.hand_out(self.claim(max, limit).await?.0));
        }
        // A connection that read a big message keeps a read buffer of its size: drop it.
        let small = |item: &Option<Vec<u8>>| item.as_ref().is_none_or(|i| i.len() <= 1 << 20);
        let item: Option<Vec<u8>> = self
            .blocking_keeping(
                redis::cmd("BLMOVE")
                    .arg(&self.keys.queue)
                    .arg(&self.processing)
                    .arg("RIGHT")
                    .arg("LEFT")
                    .arg(wait.as_secs_f64()),
                small,
            )
            .await
            .map_err(backend)?;
        // Hand the woken message over at once; the next claim takes whatever else arrived.
        Ok(self.hand_out(
            item.map(|item| {
                let (deliveries, data) = take_returns(item);
                Delivery {
                    data,
                    priority: 0,
                    receipt: 0,
                    // Claimed by BLMOVE, which cannot count flags: let the executor check.
                    revocations: true,
                    deliveries,
                }
            })
            .into_iter()
            .collect(),
        ))
    }

    async fn settle(
        &self,
        claim: Option<&Delivery>,
        settlement: &Settlement,
    ) -> StorageResult<Settled> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let job = settler::Job {
            keys: std::sync::Arc::clone(&self.settle_keys),
            args: self.settle_args(claim, settlement)?,
            done,
        };
        let applied = match self.settler.send(job) {
            Ok(()) => outcome.await.ok(),
            Err(_) => None,
        };
        let applied = match applied {
            Some(Ok(applied)) => applied,
            Some(Err(message)) => return Err(StorageError::Backend(message.into())),
            // The settle task is gone: the runtime that connected this storage has ended.
            None => return Err(StorageError::Backend("the settle task has stopped".into())),
        };
        if let Some(delivery) = claim {
            self.settled(delivery);
        }
        Ok(if applied {
            Settled::Applied
        } else {
            Settled::NotHeld
        })
    }

    async fn queue_size(&self) -> StorageResult<usize> {
        let mut conn = self.conn();
        if self.options.priority {
            conn.zcard(&self.keys.queue).await.map_err(backend)
        } else {
            conn.llen(&self.keys.queue).await.map_err(backend)
        }
    }

    async fn enqueued_items(&self, limit: Option<usize>) -> StorageResult<Vec<Vec<u8>>> {
        let mut conn = self.conn();
        if limit == Some(0) {
            return Ok(Vec::new());
        }
        if self.options.priority {
            let stop = limit.map_or(-1, |n| n as isize - 1);
            let members: Vec<Vec<u8>> = conn
                .zrange(&self.keys.queue, 0, stop)
                .await
                .map_err(backend)?;
            Ok(members
                .into_iter()
                .map(|m| take_returns(parse_zset_member(&m).2).1)
                .collect())
        } else {
            let start = limit.map_or(0, |n| -(n as isize));
            let mut items: Vec<Vec<u8>> = conn
                .lrange(&self.keys.queue, start, -1)
                .await
                .map_err(backend)?;
            items.reverse();
            Ok(items.into_iter().map(|m| take_returns(m).1).collect())
        }
    }

    async fn flush_queue(&self) -> StorageResult<()> {
        self.conn()
            .del::<_, ()>(&[&self.keys.queue, &self.keys.wake])
            .await
            .map_err(backend)
    }

    fn maintenance_interval(&self) -> Option<Duration> {
        Some(self.options.heartbeat)
    }

    async fn maintain(&self) -> StorageResult<Upkeep> {
        let mut conn = self.conn();
        let lock_ms = (self.options.heartbeat.as_millis() as u64).max(10);
        // One transaction: a reaper's note is read together with the beat that follows it.
        let (reaped, locked): (i64, Option<String>) = redis::pipe()
            .atomic()
            .cmd("ZREM")
            .arg(&self.keys.reaped)
            .arg(&self.consumer_id)
            .cmd("ZADD")
            .arg(&self.keys.consumers)
            .arg(now_ms())
            .arg(&self.consumer_id)
            .ignore()
            .cmd("SET")
            .arg(&self.keys.reaper)
            .arg(&self.consumer_id)
            .arg("NX")
            .arg("PX")
            .arg(lock_ms)
            .query_async(&mut conn)
            .await
            .map_err(backend)?;
        let upkeep = if reaped > 0 {
            Upkeep::Lost
        } else {
            Upkeep::Kept
        };
        self.return_orphans().await?;
        if locked.is_none() {
            return Ok(upkeep);
        }
        let cutoff = now_ms() - self.options.consumer_timeout.as_millis() as i64;
        let moved: i64 = REAP
            .key(&self.keys.consumers)
            .key(&self.keys.queue)
            .key(&self.keys.wake)
            .key(&self.keys.reaped)
            .arg(cutoff)
            .arg(&self.keys.processing_prefix)
            .arg(self.mode())
            .arg("")
            .arg(now_ms())
            .invoke_async(&mut conn)
            .await
            .map_err(backend)?;
        if moved > 0 {
            tracing::warn!(
                moved,
                "put the claims of stopped consumers back on the queue"
            );
        }
        Ok(upkeep)
    }

    fn claim_lease(&self) -> Option<Duration> {
        Some(self.options.consumer_timeout)
    }

    async fn retire(&self) -> StorageResult<()> {
        let moved: i64 = REAP
            .key(&self.keys.consumers)
            .key(&self.keys.queue)
            .key(&self.keys.wake)
            .key(&self.keys.reaped)
            .arg("+inf")
            .arg(&self.keys.processing_prefix)
            .arg(self.mode())
            .arg(&self.consumer_id)
            .arg(now_ms())
            .invoke_async(&mut self.conn())
            .await
            .map_err(backend)?;
        if moved > 0 {
            tracing::info!(moved, "returned unfinished claims to the queue");
        }
        Ok(())
    }
}

#[async_trait]
impl ScheduleStorage for RedisStorage {
    async fn add_to_schedule(
        &self,
        data: Vec<u8>,
        at: DateTime<Utc>,
        priority: i32,
    ) -> StorageResult<()> {
        let member = if self.options.priority {
            schedule_member(priority, &data)
        } else {
            data
        };
        self.conn()
            .zadd::<_, _, _, ()>(&self.keys.schedule, member, epoch_seconds(at))
            .await
            .map_err(backend)
    }

    async fn read_schedule(&self, now: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>> {
        self.drain_due(|| {
            let mut call = READ_SCHEDULE.key(&self.keys.schedule);
            call.arg(epoch_seconds(now)).arg(BATCH);
            call
        })
        .await
    }

    async fn promote_due(&self, now: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>> {
        self.drain_due(|| {
            let mut call = PROMOTE.key(&self.keys.schedule);
            call.key(&self.keys.queue)
                .key(&self.keys.wake)
                .arg(epoch_seconds(now))
                .arg(BATCH)
                .arg(self.mode())
                // A block of orders: the script numbers this batch base, base + 1, ...
                .arg(next_orders(BATCH as u64));
            call
        })
        .await
    }

    async fn schedule_size(&self) -> StorageResult<usize> {
        self.conn()
            .zcard(&self.keys.schedule)
            .await
            .map_err(backend)
    }

    async fn scheduled_items(&self, limit: Option<usize>) -> StorageResult<Vec<Vec<u8>>> {
        if limit == Some(0) {
            return Ok(Vec::new());
        }
        let stop = limit.map_or(-1, |n| n as isize - 1);
        let members: Vec<Vec<u8>> = self
            .conn()
            .zrange(&self.keys.schedule, 0, stop)
            .await
            .map_err(backend)?;
        Ok(members
            .into_iter()
            .map(|m| self.strip_schedule_member(m))
            .collect())
    }

    async fn flush_schedule(&self) -> StorageResult<()> {
        self.conn()
            .del::<_, ()>(&self.keys.schedule)
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl ResultStorage for RedisStorage {
    async fn put_result(&self, key: &str, value: Vec<u8>) -> StorageResult<()> {
        // Through the settle script, which wakes a registered waiter.
        let settlement = Settlement::ack().result(key, value);
        self.settle(None, &settlement).await.map(drop)
    }

    async fn put_data(&self, key: &str, value: Vec<u8>) -> StorageResult<()> {
        self.conn()
            .hset::<_, _, _, ()>(&self.keys.results, key, value)
            .await
            .map_err(backend)
    }

    async fn peek_data(&self, key: &str) -> StorageResult<Option<Vec<u8>>> {
        let (hashed, ttl): (Option<Vec<u8>>, Option<Vec<u8>>) = redis::pipe()
            .hget(&self.keys.results, key)
            .get(self.keys.kv(key))
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(hashed.or(ttl))
    }

    async fn pop_data(&self, key: &str) -> StorageResult<Option<Vec<u8>>> {
        let kv = self.keys.kv(key);
        // Taking the value also takes its wake-up token, so no later waiter wakes for nothing.
        let (hashed, _, ttl, _, _): (Option<Vec<u8>>, i64, Option<Vec<u8>>, i64, i64) =
            redis::pipe()
                .atomic()
                .hget(&self.keys.results, key)
                .hdel(&self.keys.results, key)
                .get(&kv)
                .del(&kv)
                .del(self.keys.notify(key))
                .query_async(&mut self.conn())
                .await
                .map_err(backend)?;
        Ok(hashed.or(ttl))
    }

    async fn peek_many(&self, keys: &[&str]) -> StorageResult<Vec<Option<Vec<u8>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let kv: Vec<String> = keys.iter().map(|k| self.keys.kv(k)).collect();
        let (hashed, ttl): (Vec<Option<Vec<u8>>>, Vec<Option<Vec<u8>>>) = redis::pipe()
            .cmd("HMGET")
            .arg(&self.keys.results)
            .arg(keys)
            .cmd("MGET")
            .arg(&kv)
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(hashed.into_iter().zip(ttl).map(|(h, t)| h.or(t)).collect())
    }

    async fn delete_data(&self, key: &str) -> StorageResult<bool> {
        let (hashed, ttl): (i64, i64) = redis::pipe()
            .atomic()
            .hdel(&self.keys.results, key)
            .del(self.keys.kv(key))
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(hashed + ttl > 0)
    }

    async fn has_data_for_key(&self, key: &str) -> StorageResult<bool> {
        let (hashed, ttl): (bool, bool) = redis::pipe()
            .hexists(&self.keys.results, key)
            .exists(self.keys.kv(key))
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(hashed || ttl)
    }

    async fn wait_result(&self, key: &str, timeout: Duration) -> StorageResult<bool> {
        if timeout.is_zero() {
            return self.has_data_for_key(key).await;
        }
        // Say that someone waits (so the result's writer pushes a wake-up), then look: a result
        // written before the interest is seen here, one written after wakes the wait below.
        let interest_ms = (timeout + Duration::from_secs(1)).as_millis() as u64;
        let (_, hashed, ttl): ((), bool, bool) = redis::pipe()
            .cmd("SET")
            .arg(self.keys.waiting(key))
            .arg("1")
            .arg("PX")
            .arg(interest_ms)
            .ignore()
            .hexists(&self.keys.results, key)
            .exists(self.keys.kv(key))
            .query_async(&mut self.conn())
            .await
            .map(|(h, t): (bool, bool)| ((), h, t))
            .map_err(backend)?;
        if hashed || ttl {
            return Ok(true);
        }
        // Rotating the token (source = destination) wakes every waiter in turn, not just one.
        let notify = self.keys.notify(key);
        let token: Option<Vec<u8>> = self
            .blocking(
                redis::cmd("BLMOVE")
                    .arg(&notify)
                    .arg(&notify)
                    .arg("RIGHT")
                    .arg("LEFT")
                    .arg(timeout.as_secs_f64()),
            )
            .await
            .map_err(backend)?;
        match token {
            // A token is pushed with the value and taken with it: the value is there.
            Some(_) => Ok(true),
            None => self.has_data_for_key(key).await,
        }
    }

    async fn watch_results(&self, keys: &[&str], ttl: Duration) -> StorageResult<()> {
        let interest_ms = (ttl + Duration::from_secs(1)).as_millis() as u64;
        for chunk in keys.chunks(BATCH) {
            let mut pipe = redis::pipe();
            for key in chunk {
                pipe.cmd("SET")
                    .arg(self.keys.waiting(key))
                    .arg("1")
                    .arg("PX")
                    .arg(interest_ms)
                    .ignore();
            }
            pipe.query_async::<()>(&mut self.conn())
                .await
                .map_err(backend)?;
        }
        Ok(())
    }

    async fn result_store_size(&self) -> StorageResult<usize> {
        let hashed: usize = self
            .conn()
            .hlen(&self.keys.results)
            .await
            .map_err(backend)?;
        Ok(hashed + self.kv_keys().await?.len())
    }

    async fn result_items(&self) -> StorageResult<HashMap<String, Vec<u8>>> {
        let mut items: HashMap<String, Vec<u8>> = self
            .conn()
            .hgetall(&self.keys.results)
            .await
            .map_err(backend)?;
        let kv = self.kv_keys().await?;
        let prefix_len = self.keys.kv("").len();
        for chunk in kv.chunks(BATCH) {
            let values: Vec<Option<Vec<u8>>> = self.conn().mget(chunk).await.map_err(backend)?;
            for (key, value) in chunk.iter().zip(values) {
                if let Some(value) = value {
                    items.insert(key[prefix_len..].to_owned(), value);
                }
            }
        }
        Ok(items)
    }

    async fn flush_results(&self) -> StorageResult<()> {
        let mut doomed = self.kv_keys().await?;
        doomed.extend(self.scan(&self.keys.semaphore("*")).await?);
        doomed.push(self.keys.results.clone());
        doomed.push(self.keys.revoked.clone());
        for chunk in doomed.chunks(BATCH) {
            self.conn().del::<_, ()>(chunk).await.map_err(backend)?;
        }
        Ok(())
    }
}

#[async_trait]
impl CoordinationStorage for RedisStorage {
    async fn incr(&self, key: &str, amount: i64) -> StorageResult<i64> {
        self.conn()
            .hincr(&self.keys.counters, key, amount)
            .await
            .map_err(backend)
    }

    async fn delete_counter(&self, key: &str) -> StorageResult<bool> {
        self.conn()
            .hdel(&self.keys.counters, key)
            .await
            .map_err(backend)
    }

    async fn flush_counters(&self) -> StorageResult<()> {
        let mut keys = self.scan(&self.keys.chord("*")).await?;
        keys.push(self.keys.counters.clone());
        self.conn().del::<_, ()>(keys).await.map_err(backend)
    }

    async fn put_if_empty(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> StorageResult<bool> {
        let stored: i64 = PUT_IF_EMPTY
            .key(&self.keys.results)
            .key(self.keys.kv(key))
            .arg(key)
            .arg(value)
            .arg(ttl.map_or(0, |t| t.as_millis().max(1) as u64))
            .invoke_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(stored == 1)
    }

    async fn delete_data_if(&self, key: &str, value: &[u8]) -> StorageResult<bool> {
        let deleted: i64 = DELETE_IF
            .key(&self.keys.results)
            .key(self.keys.kv(key))
            .arg(key)
            .arg(value)
            .invoke_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(deleted == 1)
    }

    async fn semaphore_acquire(
        &self,
        key: &str,
        holder: &str,
        value: u32,
        ttl: Duration,
    ) -> StorageResult<bool> {
        let admitted: i64 = SEMAPHORE_ACQUIRE
            .key(self.keys.semaphore(key))
            .arg(holder)
            .arg(value)
            .arg(ttl_ms(ttl))
            .invoke_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(admitted == 1)
    }

    async fn semaphore_renew(&self, key: &str, holder: &str, ttl: Duration) -> StorageResult<bool> {
        let renewed: i64 = SEMAPHORE_RENEW
            .key(self.keys.semaphore(key))
            .arg(holder)
            .arg(ttl_ms(ttl))
            .invoke_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(renewed == 1)
    }

    async fn semaphore_release(&self, key: &str, holder: &str) -> StorageResult<bool> {
        let released: i64 = SEMAPHORE_RELEASE
            .key(self.keys.semaphore(key))
            .arg(holder)
            .invoke_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(released == 1)
    }

    async fn semaphore_holders(&self, key: &str) -> StorageResult<Vec<String>> {
        SEMAPHORE_HOLDERS
            .key(self.keys.semaphore(key))
            .invoke_async(&mut self.conn())
            .await
            .map_err(backend)
    }

    async fn chord_record(
        &self,
        chord: &str,
        index: usize,
        size: usize,
        outcome: Vec<u8>,
    ) -> StorageResult<Option<Vec<Vec<u8>>>> {
        CHORD_RECORD
            .key(self.keys.chord(chord))
            .arg(index)
            .arg(size)
            .arg(outcome)
            .invoke_async(&mut self.conn())
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl DeadLetterStorage for RedisStorage {
    fn dead_letter_limit(&self) -> Option<usize> {
        self.options.dead_letter_limit
    }

    async fn dead_letters(&self, limit: Option<usize>) -> StorageResult<Vec<DeadLetter>> {
        Ok(self
            .dead_records(limit)
            .await?
            .into_iter()
            .map(|(_, letter)| letter)
            .collect())
    }

    async fn dead_letter_count(&self) -> StorageResult<usize> {
        self.conn().llen(&self.keys.dead).await.map_err(backend)
    }

    async fn requeue_dead_letters(
        &self,
        which: DeadLetterSelection<'_>,
    ) -> StorageResult<Vec<DeadLetter>> {
        let mut moved = Vec::new();
        for (record, letter) in self.dead_records(None).await? {
            if !which.includes(&letter.id) {
                continue;
            }
            let (member, score) = if self.options.priority {
                let member = zset_member(next_order(), letter.priority, &letter.data);
                (member, -f64::from(letter.priority))
            } else {
                (letter.data.clone(), 0.0)
            };
            // One script per entry: the record leaves the list exactly when its message joins
            // the queue, and a record another caller took meanwhile is skipped.
            let done: i64 = REQUEUE_DEAD
                .key(&self.keys.dead)
                .key(&self.keys.queue)
                .key(&self.keys.wake)
                .arg(record)
                .arg(self.mode())
                .arg(member)
                .arg(score)
                .invoke_async(&mut self.conn())
                .await
                .map_err(backend)?;
            if done == 1 {
                moved.push(letter);
            }
        }
        Ok(moved)
    }

    async fn delete_dead_letters(&self, which: DeadLetterSelection<'_>) -> StorageResult<usize> {
        if which == DeadLetterSelection::All {
            let (count,): (usize,) = redis::pipe()
                .atomic()
                .llen(&self.keys.dead)
                .del(&self.keys.dead)
                .ignore()
                .query_async(&mut self.conn())
                .await
                .map_err(backend)?;
            return Ok(count);
        }
        let mut deleted = 0;
        for (record, letter) in self.dead_records(None).await? {
            if which.includes(&letter.id) {
                let removed: usize = self
                    .conn()
                    .lrem(&self.keys.dead, 1, record)
                    .await
                    .map_err(backend)?;
                deleted += removed;
            }
        }
        Ok(deleted)
    }
}

#[async_trait]
impl RevocationStorage for RedisStorage {
    async fn put_revocation(
        &self,
        target: RevocationTarget<'_>,
        flag: Vec<u8>,
    ) -> StorageResult<()> {
        let field = flag_field(target);
        // Indexed in a set as well, so a claim can tell that no flag exists at all.
        redis::pipe()
            .atomic()
            .hset(&self.keys.results, &field, flag)
            .ignore()
            .sadd(&self.keys.revoked, &field)
            .ignore()
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(backend)
    }

    async fn revocation(&self, target: RevocationTarget<'_>) -> StorageResult<Option<Vec<u8>>> {
        self.conn()
            .hget(&self.keys.results, flag_field(target))
            .await
            .map_err(backend)
    }

    async fn revocations(&self, id: &str, name: &str) -> StorageResult<[Option<Vec<u8>>; 2]> {
        let fields = [
            flag_field(RevocationTarget::Instance(id)),
            flag_field(RevocationTarget::Type(name)),
        ];
        let (instance, of_type): (Option<Vec<u8>>, Option<Vec<u8>>) = redis::cmd("HMGET")
            .arg(&self.keys.results)
            .arg(&fields)
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok([instance, of_type])
    }

    async fn delete_revocation(&self, target: RevocationTarget<'_>) -> StorageResult<bool> {
        let field = flag_field(target);
        let (deleted, _): (i64, i64) = redis::pipe()
            .atomic()
            .hdel(&self.keys.results, &field)
            .srem(&self.keys.revoked, &field)
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(deleted == 1)
    }
}

#[async_trait]
impl ControlStorage for RedisStorage {
    async fn put_presence(
        &self,
        id: &str,
        record: Vec<u8>,
        heartbeat: DateTime<Utc>,
    ) -> StorageResult<()> {
        redis::pipe()
            .atomic()
            .hset(&self.keys.presence, id, record)
            .ignore()
            .zadd(&self.keys.presence_beats, id, heartbeat.timestamp_millis())
            .ignore()
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(backend)
    }

    async fn delete_presence(&self, id: &str) -> StorageResult<bool> {
        let (deleted, _): (i64, i64) = redis::pipe()
            .atomic()
            .hdel(&self.keys.presence, id)
            .zrem(&self.keys.presence_beats, id)
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(deleted == 1)
    }

    async fn presence(&self, since: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>> {
        let pairs: Vec<(String, Vec<u8>)> = PRESENCE
            .key(&self.keys.presence)
            .key(&self.keys.presence_beats)
            .arg(since.timestamp_millis())
            .invoke_async(&mut self.conn())
            .await
            .map_err(backend)?;
        let mut pairs = pairs;
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(pairs.into_iter().map(|(_, record)| record).collect())
    }

    async fn set_paused(&self, paused: bool) -> StorageResult<()> {
        let mut conn = self.conn();
        if paused {
            conn.set::<_, _, ()>(&self.keys.paused, 1).await
        } else {
            conn.del::<_, ()>(&self.keys.paused).await
        }
        .map_err(backend)
    }

    async fn paused(&self) -> StorageResult<bool> {
        self.conn().exists(&self.keys.paused).await.map_err(backend)
    }

    async fn record_stats(&self, rows: &[MinuteStats], keep: Duration) -> StorageResult<()> {
        stats::record(self.conn(), &self.keys.stats, rows, keep).await
    }

    async fn stats(&self, since: DateTime<Utc>) -> StorageResult<Vec<MinuteStats>> {
        stats::read(self.conn(), &self.keys.stats, since).await
    }
}

/// Huey's field for a revocation flag in the results hash: `r:<id>` or `rt:<name>`.
fn flag_field(target: RevocationTarget<'_>) -> String {
    match target {
        RevocationTarget::Instance(id) => format!("r:{id}"),
        RevocationTarget::Type(name) => format!("rt:{name}"),
        // A target this build does not know applies to nothing it stores.
        _ => String::new(),
    }
}
