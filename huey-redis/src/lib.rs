//! # huey-redis
//!
//! The Redis storage for huey-rs, with **at-least-once delivery**: a task that is running when
//! its consumer dies is run again by another consumer, instead of being lost as in Huey.
//!
//! ```no_run
//! use huey_core::prelude::*;
//! use huey_redis::RedisStorage;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The namespace keeps this queue's keys apart: give it the queue's name.
//! let storage = RedisStorage::connect("my-app", "redis://127.0.0.1:6379/0").await?;
//! let huey = Huey::new("my-app", storage);
//! let consumer = Consumer::builder(&huey).workers(8).start()?;
//! # consumer.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! URLs: `redis://[user:password@]host[:port][/db]`, `redis+unix:///path/to.sock[?db=N]`, and
//! `rediss://` with the `tls` feature.
//!
//! ## Keys
//!
//! `<n>` is the namespace given to [`RedisStorage::connect`] with every character outside
//! `[A-Za-z0-9_]` removed, as Huey does with its name (`demo-app` → `demoapp`).
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `huey.redis.<n>` | LIST, or ZSET with [`RedisOptions::priority`] | the queue (ZSET: score `-priority`, member = 8-byte big-endian order prefix + message, FIFO within a priority, Huey's PriorityRedisHuey model) |
//! | `huey.schedule.<n>` | ZSET | scheduled messages, score = ETA as epoch seconds |
//! | `huey.results.<n>` | HASH | results, revocation flags (`r:<task id>`, `rt:<task name>`, Huey's fields) and other values by key, including task locks without a ttl (`<name>.lock.<lock>`, `<name>` being the `Huey` name as given) and rate-limit window numbers (`<name>.rl.<limit>.w`) |
//! | `huey.kv.<n>.<key>` | STRING | values with a TTL: `put_if_empty` with a ttl (periodic-tick claims, locks with a ttl: a millisecond `PX` expiry, so no need for Redis 7.4's hash-field expiry) and, with [`RedisOptions::result_ttl`], results (the RedisExpireHuey model); a `()` result, stored only when someone waits for it, lives here as long as its wake-up token |
//! | `huey.counters.<n>` | HASH | counters, including rate-limit counts (`<name>.rl.<limit>`) |
//! | `huey.semaphore.<n>.<name>.lock.<sem>` | ZSET, expires with its last slot | a counting semaphore's slots (`TaskSemaphore`): member = holder id, score = the slot's expiry in ms by the server's clock (`TIME`), so holders whose clocks disagree still agree. One Lua script per operation drops expired slots first. The tail is Huey's `<name>.lock.<sem>` key; the prefix keeps it out of the results hash and away from the `huey.kv` string of a task lock of the same name |
//! | `huey.notify.<n>.<key>` | LIST, 60 s TTL | a token pushed with a result that someone waits for, so the waiter blocks instead of polling |
//! | `huey.waiting.<n>.<key>` | STRING, the wait's TTL | set by a waiter before it blocks (or by a result group for each member before it waits): results nobody waits for push no token, and `()` results nobody waits for are not stored at all |
//! | `huey.revoked.<n>` | SET | the revocation flags held in the results hash, so a claim can tell that none applies |
//! | `huey.processing.<n>.<consumer>` | LIST | the messages a consumer has claimed and not yet settled |
//! | `huey.consumers.<n>` | ZSET | live consumers, score = last heartbeat (ms) |
//! | `huey.reaper.<n>` | STRING, short TTL | the lock held by whichever consumer is recovering dead consumers' claims |
//! | `huey.reaped.<n>` | ZSET | consumers whose claims were recovered, score = when (ms), kept a day: a consumer that was only frozen finds itself here at its next heartbeat, and starts none of the claims it still has in hand |
//! | `huey.dead.<n>` | LIST | dead letters, oldest first: messages that cannot run, each a JSON header line (id, priority, reason, time in ms) then the raw message; the newest [`RedisOptions::dead_letter_limit`] are kept; requeued (one script call per record: gone from the list exactly when back on the queue) or deleted by id. Records of earlier versions (JSON with `data` or `data_hex`) are still read |
//! | `huey.deadseq.<n>` | STRING | a counter giving ids to the dead letters that claim scripts set aside (messages over the size limit) |
//! | `huey.presence.<n>` | HASH | consumer presence records by consumer id (JSON, see `huey_core::ConsumerInfo`) |
//! | `huey.presence_beats.<n>` | ZSET | each presence record's last heartbeat (ms); reading the records drops those older than the staleness, in the same script |
//! | `huey.paused.<n>` | STRING | exists while the queue is paused (`Huey::pause`); no consumer claims then |
//! | `huey.wake.<n>` | LIST | wake-up tokens for consumers blocked on an empty priority queue, or on any queue when they claim with a message size limit |
//!
//! ## Delivery
//!
//! A dequeue moves messages atomically from the queue into the consumer's processing list
//! (`LMOVE`/`BLMOVE`, or a Lua `ZPOPMIN` for the priority queue). Storing the result, cleaning
//! up a revocation and acknowledging the claim are one script call. Every consumer heartbeats into
//! `huey.consumers.<n>`; the first consumer to take the short reaper lock puts the processing
//! lists of consumers silent for longer than [`RedisOptions::consumer_timeout`] back on the
//! queue, each entry marked with how often it was returned that way (the message's
//! `Delivery::deliveries`, which the consumer caps). Consumer ids are unique per process
//! start, so a restarted consumer never inherits — or waits for — the registration of the
//! one that died. A consumer that was only frozen learns at its next heartbeat that it was
//! presumed dead: it starts none of the claims it had prefetched, and its settles of the
//! claims it was running write nothing (a settle applies only while its claim is still in
//! this consumer's processing list). A message that cannot be decoded, or names no
//! registered task, goes to `huey.dead.<n>` with the reason; it is never dropped. A message
//! longer than the consumer's size limit goes there from inside the claim script, so the
//! consumer never downloads it.
//!
//! Scripts address the per-consumer processing lists by name, so this backend targets a single
//! Redis server (or a primary), not Redis Cluster.

mod errors;
mod scripts;
mod settler;
mod stats;
mod storage;

pub use storage::{RedisOptions, RedisStorage, clean_name};
