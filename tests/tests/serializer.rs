//! Serializer options (Huey's test_serializer.py and the signed-serializer API tests), and
//! introspection and dead letters (test_pending_scheduled_unregistered, TestStorageWrappers,
//! the result_count rows of test_workflow), on MemoryStorage and on a test-started Redis.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use huey_core::codec::SignatureError;
use huey_core::message::{DecodeError, Message};
use huey_core::storage::{DeadLetter, Dequeue};
use huey_core::{Compression, DeadLetterSelection, Executed, WorkerState, prelude::*};
use huey_redis::RedisStorage;
use huey_tests::redis_server::RedisServer;

const WAIT: Duration = Duration::from_secs(20);
const SECRET: &str = "correct horse battery staple";

#[task]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Every value a `record` call ran with, by queue: proof that a message did or did not run.
static RAN: Mutex<Vec<(String, i64)>> = Mutex::new(Vec::new());

#[task]
fn record(queue: String, n: i64) -> i64 {
    RAN.lock().unwrap().push((queue, n));
    n
}

fn ran(queue: &str) -> Vec<i64> {
    RAN.lock()
        .unwrap()
        .iter()
        .filter(|(q, _)| q == queue)
        .map(|(_, n)| *n)
        .collect()
}

static FLAKY_CALLS: Mutex<u32> = Mutex::new(0);

#[task(retries = 1)]
fn fails_once() -> anyhow::Result<u32> {
    let mut calls = FLAKY_CALLS.lock().unwrap();
    *calls += 1;
    anyhow::ensure!(*calls > 1, "first attempt fails");
    Ok(*calls)
}

#[periodic_task(crontab(minute = "*"))]
fn every_minute() {}

fn builder(name: &str) -> huey_core::HueyBuilder {
    Huey::builder(name)
}

fn signed(name: &str) -> Huey {
    builder(name)
        .signing_secret(SECRET)
        .build(MemoryStorage::new())
}

fn message() -> Message {
    let mut message = add::call(1, 2).id("fixed-id").into_message().unwrap();
    // Stamped with the time it is built: fixed here, so that two builds are the same message.
    message.enqueued_at = Some("2026-01-02T03:04:05Z".parse().unwrap());
    message
}

fn assert_same(a: &Message, b: &Message) {
    assert_eq!(a.encode(), b.encode(), "the message round-trips exactly");
}

async fn run(huey: &Huey) -> Option<Executed> {
    huey.run_next(&WorkerState::default()).await.unwrap()
}

// ---- round trips (test_serializer.py) ----

#[test]
fn test_serializer() {
    let h = Huey::memory("plain");
    let stored = h.encode_message(&message());
    assert_eq!(stored, message().encode(), "plain JSON by default");
    assert_same(&h.decode_message(&stored).unwrap(), &message());
}

#[test]
fn test_serializer_gzip() {
    let h = builder("gzip")
        .compression(Compression::Gzip { level: 6 })
        .build(MemoryStorage::new());
    let stored = h.encode_message(&message());
    assert_eq!(&stored[..2], &[0x1f, 0x8b]);
    assert_same(&h.decode_message(&stored).unwrap(), &message());
}

#[test]
fn test_serializer_zlib() {
    for level in [0, 1, 9, 42] {
        let h = builder("zlib")
            .compression(Compression::Zlib { level })
            .build(MemoryStorage::new());
        let stored = h.encode_message(&message());
        assert_eq!(stored[0], 0x78, "zlib header at level {level}");
        assert_same(&h.decode_message(&stored).unwrap(), &message());
    }
}

#[test]
fn test_serializer_signed() {
    let h = signed("signed");
    let stored = h.encode_message(&message());
    let json = message().encode();
    assert_eq!(
        &stored[..json.len()],
        json.as_slice(),
        "the body stays readable"
    );
    assert_eq!(stored.len(), json.len() + 65, "':' and 64 hex digits");
    assert_same(&h.decode_message(&stored).unwrap(), &message());
}

#[test]
fn test_serializer_signed_and_compressed() {
    for compression in [
        Compression::Gzip { level: 6 },
        Compression::Zlib { level: 6 },
    ] {
        let h = builder("both")
            .compression(compression)
            .signing_secret(SECRET)
            .build(MemoryStorage::new());
        let stored = h.encode_message(&message());
        assert_ne!(stored[0], b'{', "compressed");
        assert_eq!(
            stored[stored.len() - 65],
            b':',
            "signed over the compressed bytes"
        );
        assert_same(&h.decode_message(&stored).unwrap(), &message());
    }
}

#[test]
fn test_mismatched_compression() {
    let plain = Huey::memory("mixed");
    let gzip = builder("mixed")
        .compression(Compression::Gzip { level: 6 })
        .build(MemoryStorage::new());
    let zlib = builder("mixed")
        .compression(Compression::Zlib { level: 6 })
        .build(MemoryStorage::new());
    for writer in [&plain, &gzip, &zlib] {
        let stored = writer.encode_message(&message());
        for reader in [&plain, &gzip, &zlib] {
            assert_same(&reader.decode_message(&stored).unwrap(), &message());
        }
    }
}

#[test]
fn test_serialize_deserialize() {
    // TestHueyAPIs.test_serialize_deserialize: ordinary and periodic messages round-trip.
    let h = Huey::memory("serde");
    let mut periodic = every_minute::call().into_message().unwrap();
    periodic.periodic = true;
    let delayed = add::call(3, 4)
        .delay(Duration::from_secs(30))
        .priority(5)
        .retries(2)
        .into_message()
        .unwrap();
    for m in [message(), periodic, delayed] {
        assert_same(&h.decode_message(&h.encode_message(&m)).unwrap(), &m);
    }
}

#[test]
fn test_serialize_deserialize_signed() {
    let h = signed("serde-signed");
    let mut periodic = every_minute::call().into_message().unwrap();
    periodic.periodic = true;
    for m in [message(), periodic] {
        assert_same(&h.decode_message(&h.encode_message(&m)).unwrap(), &m);
    }
}

#[test]
fn test_signature_failures_are_distinct_errors() {
    let h = signed("sig-errors");
    let mut stored = h.encode_message(&message());

    // A tampered body: 1 + 2 becomes 9 + 2.
    let at = stored.windows(5).position(|w| w == b"[1,2]").unwrap();
    stored[at + 1] = b'9';
    assert!(matches!(
        h.decode_message(&stored),
        Err(DecodeError::Signature(SignatureError::Mismatch))
    ));

    let other_secret = builder("sig-errors")
        .signing_secret("another secret")
        .build(MemoryStorage::new());
    let other_salt = builder("sig-errors")
        .signing_secret(SECRET)
        .signing_salt("another salt")
        .build(MemoryStorage::new());
    let genuine = h.encode_message(&message());
    for wrong in [&other_secret, &other_salt] {
        assert!(matches!(
            wrong.decode_message(&genuine),
            Err(DecodeError::Signature(SignatureError::Mismatch))
        ));
    }

    assert!(matches!(
        h.decode_message(&message().encode()),
        Err(DecodeError::Signature(SignatureError::Missing))
    ));
}

#[test]
fn test_reader_without_secret_reads_signed_messages() {
    // Producers can start signing before consumers require it.
    let plain = Huey::memory("rollout");
    for compression in [Compression::None, Compression::Gzip { level: 6 }] {
        let producer = builder("rollout")
            .compression(compression)
            .signing_secret(SECRET)
            .build(MemoryStorage::new());
        let stored = producer.encode_message(&message());
        assert_same(&plain.decode_message(&stored).unwrap(), &message());
    }
}

#[test]
fn test_corrupt_compressed_body_is_a_decompress_error() {
    let h = Huey::memory("corrupt");
    assert!(matches!(
        h.decode_message(&[0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad]),
        Err(DecodeError::Decompress(_))
    ));
}

// ---- every path that stores a message signs it ----

/// Asserts that every stored message of `h`'s queue and schedule is signed: a reader with
/// another secret refuses them, and `h` reads them.
async fn assert_all_signed(h: &Huey) {
    let storage = h.storage();
    let stored = [
        storage.enqueued_items(None).await.unwrap(),
        storage.scheduled_items(None).await.unwrap(),
    ]
    .concat();
    assert!(!stored.is_empty());
    let other = builder("other-secret")
        .signing_secret("another secret")
        .build(MemoryStorage::new());
    for bytes in stored {
        assert!(matches!(
            other.decode_message(&bytes),
            Err(DecodeError::Signature(SignatureError::Mismatch))
        ));
        h.decode_message(&bytes).unwrap();
    }
}

#[tokio::test]
async fn test_enqueue_and_bulk_enqueue_sign() {
    let h = signed("sign-enqueue");
    add::enqueue(&h, 1, 1).await.unwrap();
    add::map(&h, [(1, 2), (3, 4)]).await.unwrap();
    assert_all_signed(&h).await;
    assert_eq!(h.pending(None).await.unwrap().len(), 3);
}

#[tokio::test]
async fn test_schedule_and_promotion_sign() {
    let h = signed("sign-schedule");
    let mut r = add::call(2, 3)
        .delay(Duration::from_secs(60))
        .enqueue(&h)
        .await
        .unwrap();
    assert_eq!(run(&h).await, Some(Executed::Scheduled));
    assert_all_signed(&h).await;
    assert_eq!(h.scheduled(None).await.unwrap()[0].id, r.id());
    let later = Utc::now() + TimeDelta::minutes(2);
    assert_eq!(h.storage().promote_due(later).await.unwrap().len(), 1);
    assert_eq!(
        h.run_next_at(&WorkerState::default(), later).await.unwrap(),
        Some(Executed::Completed)
    );
    assert_eq!(r.get().await.unwrap(), Some(5));
}

#[tokio::test]
async fn test_retry_reenqueue_signs() {
    let h = signed("sign-retry");
    let mut r = fails_once::enqueue(&h).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Retrying));
    assert_all_signed(&h).await;
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(r.get().await.unwrap(), Some(2));
}

#[tokio::test]
async fn test_periodic_enqueue_signs() {
    let h = signed("sign-periodic");
    let ids = h.enqueue_periodic(Utc::now()).await.unwrap();
    assert!(!ids.is_empty());
    assert_all_signed(&h).await;
    let pending = h.pending(None).await.unwrap();
    assert!(
        pending
            .iter()
            .any(|m| m.name == every_minute::NAME && m.periodic)
    );
}

// ---- results ----

#[tokio::test]
async fn test_results_are_compressed_and_read_back() {
    let h = builder("compressed-results")
        .compression(Compression::Gzip { level: 6 })
        .signing_secret(SECRET)
        .build(MemoryStorage::new());
    let mut r = add::enqueue(&h, 20, 22).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    let stored = h.all_results().await.unwrap();
    assert_eq!(&stored[r.id()][..2], &[0x1f, 0x8b], "the result is gzip");
    assert_eq!(r.get().await.unwrap(), Some(42));

    h.put("kv", &vec![1, 2, 3]).await.unwrap();
    assert_eq!(&h.all_results().await.unwrap()["kv"][..2], &[0x1f, 0x8b]);
    assert_eq!(h.get::<Vec<i32>>("kv").await.unwrap(), Some(vec![1, 2, 3]));
}

#[tokio::test]
async fn test_results_written_before_compression_still_read() {
    let storage = Arc::new(MemoryStorage::new());
    let before = Huey::builder("switch").build_shared(storage.clone());
    let after = builder("switch")
        .compression(Compression::Zlib { level: 6 })
        .build_shared(storage.clone());
    let r = add::enqueue(&before, 1, 1).await.unwrap();
    assert_eq!(run(&before).await, Some(Executed::Completed));
    assert_eq!(after.result::<i64>(r.id()).get().await.unwrap(), Some(2));
}

// ---- introspection ----

#[tokio::test]
async fn test_pending_scheduled_unregistered() {
    let h = Huey::memory("unregistered");
    let storage = h.storage();
    let kept = add::enqueue(&h, 1, 1).await.unwrap();
    let mut stray = add::call(2, 2).into_message().unwrap();
    stray.name = "nobody::registered_this".into();
    storage.enqueue(h.encode_message(&stray), 0).await.unwrap();
    let at = Utc::now() + TimeDelta::hours(1);
    storage
        .add_to_schedule(h.encode_message(&stray), at, 0)
        .await
        .unwrap();
    let mut due = add::call(3, 3).into_message().unwrap();
    due.eta = Some(at);
    storage
        .add_to_schedule(h.encode_message(&due), at, 0)
        .await
        .unwrap();

    let pending = h.pending(None).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, kept.id());
    let scheduled = h.scheduled(None).await.unwrap();
    assert_eq!(scheduled.len(), 1);
    assert_eq!(scheduled[0].id, due.id);
    assert_eq!(h.pending_count().await.unwrap(), 2, "counts include them");
    assert_eq!(h.scheduled_count().await.unwrap(), 2);
}

#[tokio::test]
async fn test_pending_scheduled_skip_undecodable() {
    let h = signed("undecodable");
    let storage = h.storage();
    let kept = add::enqueue(&h, 1, 1).await.unwrap();
    // Unsigned, forged, and garbage messages are all skipped.
    storage.enqueue(message().encode(), 0).await.unwrap();
    let mut forged = h.encode_message(&message());
    let n = forged.len();
    forged[n - 1] = if forged[n - 1] == b'0' { b'1' } else { b'0' };
    storage.enqueue(forged.clone(), 0).await.unwrap();
    storage.enqueue(b"garbage".to_vec(), 0).await.unwrap();
    storage
        .add_to_schedule(forged, Utc::now(), 0)
        .await
        .unwrap();
    let pending = h.pending(None).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, kept.id());
    assert!(h.scheduled(None).await.unwrap().is_empty());
    assert_eq!(h.pending(Some(1)).await.unwrap().len(), 1, "limit");
}

#[tokio::test]
async fn test_storage_wrappers() {
    // TestStorageWrappers.test_storage_wrappers: pending(), scheduled() and all_results().
    let h = Huey::memory("wrappers");
    let r1 = add::enqueue(&h, 1, 2).await.unwrap();
    let r2 = add::enqueue(&h, 3, 4).await.unwrap();
    let ids: Vec<_> = h
        .pending(None)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, [r1.id(), r2.id()]);
    assert_eq!(h.pending_count().await.unwrap(), 2);

    let r3 = add::call(5, 6)
        .delay(Duration::from_secs(60))
        .enqueue(&h)
        .await
        .unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(run(&h).await, Some(Executed::Scheduled));
    assert!(h.pending(None).await.unwrap().is_empty());
    let scheduled = h.scheduled(None).await.unwrap();
    assert_eq!(scheduled.len(), 1);
    assert_eq!(scheduled[0].id, r3.id());

    let results = h.all_results().await.unwrap();
    let mut keys: Vec<_> = results.keys().cloned().collect();
    keys.sort();
    let mut expected = vec![r1.id().to_owned(), r2.id().to_owned()];
    expected.sort();
    assert_eq!(keys, expected);
    assert_eq!(results[r1.id()], br#"{"ok":3}"#);
    assert_eq!(h.result_count().await.unwrap(), 2);
}

#[tokio::test]
async fn test_result_count_and_flush() {
    // test_workflow's result_count rows, with compression on: 1 after the run, 0 after a read.
    let h = builder("counts")
        .compression(Compression::Gzip { level: 1 })
        .build(MemoryStorage::new());
    let mut r = add::enqueue(&h, 1, 2).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(h.result_count().await.unwrap(), 1);
    assert_eq!(r.get().await.unwrap(), Some(3));
    assert_eq!(h.result_count().await.unwrap(), 0);

    add::enqueue(&h, 1, 1).await.unwrap();
    add::call(1, 1)
        .delay(Duration::from_secs(60))
        .enqueue(&h)
        .await
        .unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(run(&h).await, Some(Executed::Scheduled));
    add::enqueue(&h, 2, 2).await.unwrap();
    h.storage().enqueue(b"junk".to_vec(), 0).await.unwrap();
    h.storage()
        .dequeue(Dequeue::new(1, Duration::ZERO))
        .await
        .unwrap(); // the add
    let junk = h
        .storage()
        .dequeue(Dequeue::new(1, Duration::ZERO))
        .await
        .unwrap();
    h.storage().dead_letter(&junk[0], "junk").await.unwrap();
    h.flush().await.unwrap();
    assert_eq!(h.pending_count().await.unwrap(), 0);
    assert_eq!(h.scheduled_count().await.unwrap(), 0);
    assert_eq!(h.result_count().await.unwrap(), 0);
    assert_eq!(
        h.dead_letter_count().await.unwrap(),
        1,
        "flush keeps dead letters"
    );
}

// ---- consumers: bad signatures are dead-lettered and never run ----

/// Enqueues on `producer` a forged message (signed with the wrong secret) for `record(queue,
/// 666)`, an unsigned one for `record(queue, 667)`, then a genuine `record(queue, 1)`, runs a
/// one-worker consumer until the genuine one is done, and returns the dead letters.
async fn forged_messages_never_run(huey: &Huey, queue: &str) -> Vec<DeadLetter> {
    let forger = builder("forger")
        .signing_secret("not the secret")
        .build(MemoryStorage::new());
    let forged = record::call(queue.into(), 666).into_message().unwrap();
    let unsigned = record::call(queue.into(), 667).into_message().unwrap();
    let storage = huey.storage();
    storage
        .enqueue(forger.encode_message(&forged), 0)
        .await
        .unwrap();
    storage.enqueue(unsigned.encode(), 0).await.unwrap();
    let mut genuine = record::enqueue(huey, queue.into(), 1).await.unwrap();

    let consumer = Consumer::builder(huey)
        .workers(1)
        .periodic(false)
        .start()
        .unwrap();
    assert_eq!(genuine.wait(WAIT).await.unwrap(), 1);
    // The shutdown waits for everything in flight, dead-lettering included.
    consumer.shutdown().await.unwrap();

    assert_eq!(
        ran(queue),
        [1],
        "neither the forged nor the unsigned message ran"
    );
    let dead = huey.dead_letters(None).await.unwrap();
    assert_eq!(dead.len(), 2);
    assert!(
        dead[0].reason.contains("signature does not match"),
        "{}",
        dead[0].reason
    );
    assert_eq!(dead[0].data, forger.encode_message(&forged));
    assert!(dead[1].reason.contains("not signed"), "{}", dead[1].reason);
    assert_eq!(dead[1].data, unsigned.encode());
    dead
}

#[tokio::test]
async fn test_bad_signature_is_dead_lettered_and_never_runs() {
    forged_messages_never_run(&signed("forged-memory"), "forged-memory").await;
}

async fn redis_huey(server: &RedisServer, name: &str, secret: &str) -> Huey {
    let storage = RedisStorage::connect(name, &server.url())
        .await
        .expect("connect");
    builder(name)
        .compression(Compression::Zlib { level: 6 })
        .signing_secret(secret)
        .build(storage)
}

#[tokio::test]
async fn test_bad_signature_is_dead_lettered_on_redis() {
    let server = RedisServer::start();
    let huey = redis_huey(&server, "forged-redis", SECRET).await;
    forged_messages_never_run(&huey, "forged-redis").await;
}

// ---- dead letters: requeue once the cause is fixed ----

/// A consumer still on the old secret dead-letters messages signed with the new one; once it
/// has the new secret, requeueing them runs them.
async fn requeue_after_fixing_the_secret(misconfigured: &Huey, fixed: &Huey, queue: &str) {
    let mut first = record::enqueue(fixed, queue.into(), 10).await.unwrap();
    let mut second = record::call(queue.into(), 20)
        .priority(3)
        .enqueue(fixed)
        .await
        .unwrap();
    // Signed with the old secret, so the misconfigured consumer runs it: the sync point.
    let mut marker = add::enqueue(misconfigured, 0, 0).await.unwrap();
    let consumer = Consumer::builder(misconfigured)
        .workers(1)
        .periodic(false)
        .start()
        .unwrap();
    assert_eq!(marker.wait(WAIT).await.unwrap(), 0);
    consumer.shutdown().await.unwrap();

    let dead = fixed.dead_letters(None).await.unwrap();
    assert_eq!(dead.len(), 2);
    assert!(
        dead.iter()
            .all(|d| d.reason.contains("signature does not match")),
        "{dead:?}"
    );
    assert!(ran(queue).is_empty());

    // Requeue one by id, then the rest.
    let only = vec![dead[0].id.clone()];
    let moved = fixed
        .requeue_dead_letters(DeadLetterSelection::Ids(&only))
        .await
        .unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(fixed.dead_letter_count().await.unwrap(), 1);
    let moved = fixed
        .requeue_dead_letters(DeadLetterSelection::All)
        .await
        .unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(fixed.dead_letter_count().await.unwrap(), 0);
    assert_eq!(fixed.pending(None).await.unwrap().len(), 2);

    let consumer = Consumer::builder(fixed)
        .workers(1)
        .periodic(false)
        .start()
        .unwrap();
    assert_eq!(first.wait(WAIT).await.unwrap(), 10);
    assert_eq!(second.wait(WAIT).await.unwrap(), 20);
    consumer.shutdown().await.unwrap();
    let mut done = ran(queue);
    done.sort();
    assert_eq!(done, [10, 20]);
    assert_eq!(fixed.dead_letter_count().await.unwrap(), 0);
}

#[tokio::test]
async fn test_dead_letter_requeue_then_runs() {
    let storage = Arc::new(MemoryStorage::new());
    let misconfigured = builder("requeue")
        .signing_secret("the old secret")
        .build_shared(storage.clone());
    let fixed = builder("requeue")
        .signing_secret(SECRET)
        .build_shared(storage.clone());
    requeue_after_fixing_the_secret(&misconfigured, &fixed, "requeue-memory").await;
}

#[tokio::test]
async fn test_dead_letter_requeue_then_runs_on_redis() {
    let server = RedisServer::start();
    let misconfigured = redis_huey(&server, "requeue", "the old secret").await;
    let fixed = redis_huey(&server, "requeue", SECRET).await;
    requeue_after_fixing_the_secret(&misconfigured, &fixed, "requeue-redis").await;
}

/// A codec of its own: messages and values stored behind a format tag. It stands in for a
/// foreign wire format (Python Huey's pickle) plugged in at the codec seam.
#[derive(Debug)]
struct Tagged;

const TAG: &[u8] = b"T1|";

impl huey_core::codec::Codec for Tagged {
    fn encode_message(&self, message: &Message) -> Vec<u8> {
        [TAG, &message.encode()].concat()
    }

    fn decode_message(&self, bytes: &[u8]) -> Result<Message, DecodeError> {
        Message::decode(bytes.strip_prefix(TAG).unwrap_or(bytes))
    }

    fn encode_value(&self, json: Vec<u8>) -> Vec<u8> {
        [TAG, &json].concat()
    }

    fn decode_value<'a>(&self, bytes: &'a [u8]) -> Result<std::borrow::Cow<'a, [u8]>, DecodeError> {
        Ok(bytes.strip_prefix(TAG).unwrap_or(bytes).into())
    }

    fn describe(&self) -> String {
        "tagged JSON".into()
    }
}

/// The codec seam: a queue's own codec stores and reads every message and result, and
/// compression and signing layer over it.
#[tokio::test]
async fn test_custom_codec_with_compression_and_signing() {
    let storage = MemoryStorage::new();
    let huey = builder("codec").codec(Tagged).build(storage);
    let mut sum = add::enqueue(&huey, 2, 3).await.unwrap();
    let queued = huey.storage().enqueued_items(None).await.unwrap();
    assert!(
        queued[0].starts_with(TAG),
        "the message is in the codec's format"
    );
    assert_eq!(run(&huey).await, Some(Executed::Completed));
    let stored = huey.all_results().await.unwrap();
    assert!(
        stored.values().all(|v| v.starts_with(TAG)),
        "so is the result"
    );
    assert_eq!(sum.get().await.unwrap(), Some(5));

    let layered = builder("codec-layered")
        .codec(Tagged)
        .compression(Compression::Zlib { level: 6 })
        .signing_secret("s3cret")
        .build(MemoryStorage::new());
    let mut sum = add::enqueue(&layered, 4, 5).await.unwrap();
    let queued = layered.storage().enqueued_items(None).await.unwrap();
    assert_eq!(queued[0][0], 0x78, "zlib over the tagged bytes");
    assert_eq!(
        queued[0][queued[0].len() - 65],
        b':',
        "signed outside the compression"
    );
    assert_eq!(run(&layered).await, Some(Executed::Completed));
    assert_eq!(sum.get().await.unwrap(), Some(9));
}
