//! `RedisStorage` specifics, each on a test-started `redis-server`. The conformance suite runs
//! on its three layouts from huey-redis's own tests (`huey-redis/tests/conformance.rs`).

use huey_core::storage::Dequeue;
use huey_core::storage::prelude::*;
use huey_core::storage::{Settled, Settlement, Upkeep};
use std::collections::HashMap;
use std::time::Duration;

use huey_redis::{RedisOptions, RedisStorage};
use huey_tests::redis_server::RedisServer;

async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn storage_on(server: &RedisServer, name: &str, options: RedisOptions) -> RedisStorage {
    RedisStorage::connect_with(name, &server.url(), options)
        .await
        .unwrap()
}

#[tokio::test]
async fn test_wait_result_wakes_every_waiter() {
    let server = RedisServer::start();
    let storage = storage_on(&server, "waiters", RedisOptions::default()).await;
    let mut conn = raw(&server).await;
    let (a, b, ()) = tokio::join!(
        storage.wait_result("r", Duration::from_secs(10)),
        storage.wait_result("r", Duration::from_secs(10)),
        async {
            // Put the result once the waiters have said they wait (they have no event to
            // await from here, so poll for their interest key).
            while !redis::cmd("EXISTS")
                .arg("huey.waiting.waiters.r")
                .query_async::<bool>(&mut conn)
                .await
                .unwrap()
            {
                tokio::task::yield_now().await;
            }
            storage.put_result("r", b"done".to_vec()).await.unwrap();
        }
    );
    assert!(a.unwrap() && b.unwrap());
    let ttl: i64 = redis::cmd("PTTL")
        .arg("huey.notify.waiters.r")
        .query_async(&mut raw(&server).await)
        .await
        .unwrap();
    assert!(
        ttl > 0 && ttl <= 60_000,
        "the notify key expires within 60 s: {ttl}"
    );
}

#[tokio::test]
async fn test_keys_use_the_cleaned_name() {
    let server = RedisServer::start();
    assert_eq!(huey_redis::clean_name("app-v1"), "appv1");
    let storage = storage_on(&server, "app-v1", RedisOptions::default()).await;
    storage.enqueue(b"m".to_vec(), 0).await.unwrap();
    storage.put_data("k", b"v".to_vec()).await.unwrap();
    let mut conn = raw(&server).await;
    let queued: usize = redis::cmd("LLEN")
        .arg("huey.redis.appv1")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(queued, 1);
    let stored: bool = redis::cmd("HEXISTS")
        .arg("huey.results.appv1")
        .arg("k")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(stored);

    let raw_name = storage_on(&server, "app-v1", RedisOptions::default().raw_name()).await;
    raw_name.enqueue(b"m".to_vec(), 0).await.unwrap();
    let queued: usize = redis::cmd("LLEN")
        .arg("huey.redis.app-v1")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(queued, 1);
}

#[tokio::test]
async fn test_claims_of_a_silent_consumer_are_reaped() {
    let server = RedisServer::start();
    let options = RedisOptions::default()
        .heartbeat(Duration::from_millis(20))
        .consumer_timeout(Duration::from_millis(100));
    let dead = storage_on(&server, "reap", options.clone()).await;
    let alive = storage_on(&server, "reap", options).await;
    assert_ne!(
        dead.consumer_id(),
        alive.consumer_id(),
        "ids are unique per storage"
    );
    dead.enqueue(b"job".to_vec(), 0).await.unwrap();
    let claimed = dead.dequeue(Dequeue::new(1, Duration::ZERO)).await.unwrap();
    assert_eq!(claimed.len(), 1);

    // The live consumer's own claims survive its heartbeat.
    alive.enqueue(b"mine".to_vec(), 0).await.unwrap();
    let mine = alive
        .dequeue(Dequeue::new(1, Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(mine[0].data, b"mine");

    alive.maintain().await.unwrap();
    assert_eq!(
        alive.queue_size().await.unwrap(),
        0,
        "not yet silent for long enough"
    );
    // Silence is the behaviour under test: let the dead consumer's heartbeat go stale.
    tokio::time::sleep(Duration::from_millis(250)).await;
    alive.maintain().await.unwrap();
    let back = alive
        .dequeue(Dequeue::new(5, Duration::ZERO))
        .await
        .unwrap();
    let data: Vec<_> = back.iter().map(|d| d.data.clone()).collect();
    assert_eq!(
        data,
        [b"job".to_vec()],
        "only the silent consumer's claim came back"
    );
    let processing: usize = redis::cmd("LLEN")
        .arg(format!("huey.processing.reap.{}", dead.consumer_id()))
        .query_async(&mut raw(&server).await)
        .await
        .unwrap();
    assert_eq!(processing, 0);
}

/// A consumer whose claims were recovered learns it at its next heartbeat (once), its late
/// settle writes nothing, and the recovered claim counts one more delivery; in both layouts.
#[tokio::test]
async fn test_a_reaped_consumer_learns_it_was_presumed_dead() {
    let server = RedisServer::start();
    for priority in [false, true] {
        let name = format!("presumed-dead-{priority}");
        let options = RedisOptions::default()
            .priority(priority)
            .heartbeat(Duration::from_millis(20))
            .consumer_timeout(Duration::from_millis(100));
        let zombie = storage_on(&server, &name, options.clone()).await;
        let rescuer = storage_on(&server, &name, options).await;
        assert_eq!(zombie.maintain().await.unwrap(), Upkeep::Kept);
        zombie.enqueue(b"job".to_vec(), 3).await.unwrap();
        let held = zombie
            .dequeue(Dequeue::new(1, Duration::ZERO))
            .await
            .unwrap()
            .remove(0);
        // Silence is the behaviour under test: let the zombie's heartbeat go stale.
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(rescuer.maintain().await.unwrap(), Upkeep::Kept);
        let rescued = rescuer
            .dequeue(Dequeue::new(1, Duration::ZERO))
            .await
            .unwrap()
            .remove(0);
        assert_eq!(
            (rescued.data.as_slice(), rescued.deliveries),
            (&b"job"[..], 2)
        );

        assert_eq!(zombie.maintain().await.unwrap(), Upkeep::Lost);
        assert_eq!(zombie.maintain().await.unwrap(), Upkeep::Kept, "told once");
        let late = Settlement::ack().result("late", b"stale".to_vec());
        assert_eq!(
            zombie.settle(Some(&held), &late).await.unwrap(),
            Settled::NotHeld
        );
        assert_eq!(zombie.peek_data("late").await.unwrap(), None);
        rescuer.ack(&rescued).await.unwrap();
    }
}

#[tokio::test]
async fn test_retire_returns_own_claims() {
    let server = RedisServer::start();
    let storage = storage_on(&server, "retire", RedisOptions::default().priority(true)).await;
    storage.enqueue(b"a".to_vec(), 7).await.unwrap();
    storage.enqueue(b"b".to_vec(), 1).await.unwrap();
    let claimed = storage
        .dequeue(Dequeue::new(2, Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    storage.retire().await.unwrap();
    let again = storage
        .dequeue(Dequeue::new(2, Duration::ZERO))
        .await
        .unwrap();
    let got: Vec<_> = again.iter().map(|d| (d.data.clone(), d.priority)).collect();
    assert_eq!(
        got,
        [(b"a".to_vec(), 7), (b"b".to_vec(), 1)],
        "priorities kept"
    );
}

#[tokio::test]
async fn test_url_with_password_and_database() {
    let server = RedisServer::start_tcp_with_password("s3cret");
    let port = server.port().unwrap();
    let url = format!("redis://:s3cret@127.0.0.1:{port}/3");
    let storage = RedisStorage::connect("auth", &url).await.unwrap();
    storage.put_data("k", b"v".to_vec()).await.unwrap();

    let admin = redis::Client::open(format!("redis://:s3cret@127.0.0.1:{port}/3")).unwrap();
    let mut conn = admin.get_multiplexed_async_connection().await.unwrap();
    let in_db3: bool = redis::cmd("HEXISTS")
        .arg("huey.results.auth")
        .arg("k")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(in_db3);

    // A named ACL user.
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "worker", "on", ">pw", "~*", "&*", "+@all"][..])
        .query_async(&mut conn)
        .await
        .unwrap();
    let as_user = RedisStorage::connect("auth", &format!("redis://worker:pw@127.0.0.1:{port}/3"))
        .await
        .unwrap();
    assert_eq!(as_user.peek_data("k").await.unwrap(), Some(b"v".to_vec()));

    assert!(
        RedisStorage::connect("auth", &format!("redis://:wrong@127.0.0.1:{port}/0"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn test_claim_with_a_lost_reply_returns_to_the_queue() {
    let server = RedisServer::start();
    let storage = storage_on(&server, "lost", RedisOptions::default()).await;
    // A claim whose reply never arrived: in the processing list, never handed out.
    let processing = format!("huey.processing.lost.{}", storage.consumer_id());
    let _: () = redis::cmd("LPUSH")
        .arg(&processing)
        .arg("orphan")
        .query_async(&mut raw(&server).await)
        .await
        .unwrap();
    // A claim that was handed out stays put.
    storage.enqueue(b"held".to_vec(), 0).await.unwrap();
    let held = storage
        .dequeue(Dequeue::new(1, Duration::ZERO))
        .await
        .unwrap();

    storage.maintain().await.unwrap();
    assert_eq!(
        storage.queue_size().await.unwrap(),
        0,
        "one heartbeat is not enough to judge"
    );
    storage.maintain().await.unwrap();
    assert_eq!(
        storage.enqueued_items(None).await.unwrap(),
        [b"orphan".to_vec()]
    );
    let listed: Vec<Vec<u8>> = redis::cmd("LRANGE")
        .arg(&processing)
        .arg(0)
        .arg(-1)
        .query_async(&mut raw(&server).await)
        .await
        .unwrap();
    assert_eq!(listed, [held[0].data.clone()]);
}

/// The same with the priority queue, whose processing entries carry an order and a priority:
/// a claim handed out is recognised as held, so only the orphan goes back.
#[tokio::test]
async fn test_claim_with_a_lost_reply_returns_to_the_priority_queue() {
    let server = RedisServer::start();
    let options = RedisOptions::default().priority(true);
    let storage = storage_on(&server, "lostzset", options).await;
    let processing = format!("huey.processing.lostzset.{}", storage.consumer_id());
    let mut orphan = 7u64.to_be_bytes().to_vec();
    orphan.extend_from_slice(b"3|orphan");
    let _: () = redis::cmd("LPUSH")
        .arg(&processing)
        .arg(&orphan)
        .query_async(&mut raw(&server).await)
        .await
        .unwrap();
    storage.enqueue(b"held".to_vec(), 5).await.unwrap();
    let held = storage
        .dequeue(Dequeue::new(1, Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(held[0].data, b"held");

    storage.maintain().await.unwrap();
    storage.maintain().await.unwrap();
    assert_eq!(
        storage.enqueued_items(None).await.unwrap(),
        [b"orphan".to_vec()]
    );
    let listed: Vec<Vec<u8>> = redis::cmd("LRANGE")
        .arg(&processing)
        .arg(0)
        .arg(-1)
        .query_async(&mut raw(&server).await)
        .await
        .unwrap();
    assert_eq!(
        listed.len(),
        1,
        "the held claim stays in the processing list"
    );
    assert!(listed[0].ends_with(b"5|held"));
    storage.ack(&held[0]).await.unwrap();
}

#[tokio::test]
async fn test_bulk_enqueue_reports_exactly_what_it_did() {
    let server = RedisServer::start();
    // A reply timeout far below what 200,000 tasks take to write.
    let options = RedisOptions::default().response_timeout(Duration::from_millis(1));
    let storage = storage_on(&server, "bulk", options).await;
    let items: Vec<(Vec<u8>, i32)> = (0..200_000)
        .map(|i| (format!("task {i}").into_bytes(), 0))
        .collect();
    let outcome = storage.enqueue_many(items).await;
    let checker = storage_on(&server, "bulk", RedisOptions::default()).await;
    let queued = checker.queue_size().await.unwrap();
    match outcome {
        Ok(()) => assert_eq!(queued, 200_000, "reported done: everything landed"),
        Err(error) => {
            assert_eq!(queued, 0, "reported failed: nothing landed");
            let shown = huey_core::error_chain(&error).to_string();
            assert!(shown.contains("none of its 200000"), "{shown}");
        }
    }
    println!("bulk enqueue under a 1 ms reply timeout: {queued} queued");
}

/// Calls per command since the server started, from `INFO commandstats` (the `INFO` calls
/// themselves left out).
async fn command_calls(conn: &mut redis::aio::MultiplexedConnection) -> HashMap<String, u64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .filter_map(|line| {
            let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = stats
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            (name != "info").then(|| (name.to_owned(), calls))
        })
        .collect()
}

#[huey_core::task(retries = 2, retry_delay = "60s")]
fn always_fails() -> Result<(), huey_core::TaskError> {
    Err(huey_core::TaskError::msg("not yet"))
}

/// A retry is atomic: the script call that settles the failed attempt stores its error, puts
/// the copy in the schedule and removes the claim. The attempt costs two commands in all, the
/// claim script and the settle script.
#[tokio::test]
async fn test_retry_is_settled_in_one_script_call() {
    let server = RedisServer::start();
    let storage = storage_on(&server, "retry", RedisOptions::default()).await;
    let consumer_id = storage.consumer_id().to_owned();
    let huey = huey_core::Huey::new("retry", storage);
    let mut conn = raw(&server).await;
    // Load both scripts first, so the measured attempt runs them without a SCRIPT LOAD.
    let _ = always_fails::enqueue(&huey).await.unwrap();
    huey.run_next(&huey_core::WorkerState::new(0))
        .await
        .unwrap();
    huey.flush().await.unwrap();

    let mut result = always_fails::enqueue(&huey).await.unwrap();
    let before = command_calls(&mut conn).await;
    let ran = huey
        .run_next(&huey_core::WorkerState::new(0))
        .await
        .unwrap();
    let after = command_calls(&mut conn).await;
    assert_eq!(ran, Some(huey_core::Executed::Retrying));

    let delta: HashMap<&str, u64> = after
        .iter()
        .map(|(name, calls)| {
            (
                name.as_str(),
                calls - before.get(name).copied().unwrap_or(0),
            )
        })
        .filter(|(_, calls)| *calls > 0)
        .collect();
    // `INFO commandstats` also counts the commands that scripts run, so the expected set is
    // the two scripts and their insides: a separate write outside them would show up as an
    // extra call (a schedule ZADD or processing-list LREM of its own, say).
    let expected = HashMap::from([
        ("evalsha", 2), // the claim script and the settle script
        ("zadd", 2),    // claim: the heartbeat; settle: the copy into the schedule
        ("scard", 2),   // both: are there revocation flags?
        ("lmove", 1),   // claim: queue -> processing list
        ("llen", 1),    // claim (with a size limit): anything left for another consumer?
        ("lrem", 1),    // settle: the claim leaves the processing list
        ("hset", 1),    // settle: the attempt's error
        ("exists", 1),  // settle: does anyone wait for the result?
    ]);
    assert_eq!(delta, expected, "claim + settle, and nothing else");
    assert_eq!(
        huey.scheduled_count().await.unwrap(),
        1,
        "the copy is scheduled"
    );
    let processing: u64 = redis::cmd("LLEN")
        .arg(format!("huey.processing.retry.{consumer_id}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(processing, 0, "the claim is gone");
    assert!(
        matches!(result.get().await, Ok(None)),
        "an attempt's error is no outcome"
    );
    assert_eq!(
        result.last_attempt().map(|f| f.retries),
        Some(2),
        "the attempt's error is stored"
    );
}

/// Every byte value, repeated to `len` bytes.
fn binary(len: usize) -> Vec<u8> {
    (0..=255u8).cycle().take(len).collect()
}

/// A dead letter is stored as a short header line and the message's raw bytes, in both queue
/// layouts and both ways in (a settlement, a claim over the size limit): no hex, no escaping.
#[tokio::test]
async fn test_dead_letter_record_is_not_inflated() {
    let server = RedisServer::start();
    let mut conn = raw(&server).await;
    for priority in [false, true] {
        let name = format!("compact{priority}");
        let storage = storage_on(&server, &name, RedisOptions::default().priority(priority)).await;
        let message = binary(100_000);
        storage.enqueue(message.clone(), 2).await.unwrap();
        let claimed = storage
            .dequeue(Dequeue::new(1, Duration::ZERO))
            .await
            .unwrap();
        storage.dead_letter(&claimed[0], "bad").await.unwrap();
        storage.enqueue(message.clone(), 2).await.unwrap();
        let refused = Dequeue::new(1, Duration::ZERO).max_message_size(Some(99_999));
        assert!(storage.dequeue(refused).await.unwrap().is_empty());

        let records: Vec<Vec<u8>> = redis::cmd("LRANGE")
            .arg(format!("huey.dead.{name}"))
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(records.len(), 2);
        for record in &records {
            assert!(
                record.len() < message.len() + 200,
                "a record costs the message and a short header, not {} bytes",
                record.len()
            );
            assert!(record.ends_with(&message), "the raw bytes end the record");
        }
        let dead = storage.dead_letters(None).await.unwrap();
        assert!(dead.iter().all(|d| d.data == message));
        assert_ne!(dead[0].id, dead[1].id);
        let expected = if priority { 2 } else { 0 };
        assert!(dead.iter().all(|d| d.priority == expected));
    }
}

/// Dead letters written as JSON records by earlier versions (`data` for UTF-8, `data_hex`
/// otherwise) are still listed, requeued and deleted.
#[tokio::test]
async fn test_old_dead_letter_records_still_read() {
    let server = RedisServer::start();
    let storage = storage_on(&server, "legacy", RedisOptions::default()).await;
    let mut conn = raw(&server).await;
    let records = [
        r#"{"id":"text-1","priority":0,"reason":"old text","at":"2025-01-02T03:04:05Z","data":"{\"v\":1}"}"#,
        r#"{"id":"hex-1","priority":0,"reason":"old hex","at":"2025-01-02T03:04:05Z","data_hex":"ff00c3"}"#,
        r#"{"id":"gone","priority":0,"reason":"old","at":"2025-01-02T03:04:05Z","data":"x"}"#,
    ];
    for record in records {
        redis::cmd("RPUSH")
            .arg("huey.dead.legacy")
            .arg(record)
            .query_async::<()>(&mut conn)
            .await
            .unwrap();
    }
    let dead = storage.dead_letters(None).await.unwrap();
    let read: Vec<_> = dead
        .iter()
        .map(|d| (d.id.as_str(), d.data.as_slice(), d.reason.as_str()))
        .collect();
    assert_eq!(
        read,
        [
            ("text-1", &b"{\"v\":1}"[..], "old text"),
            ("hex-1", &b"\xff\x00\xc3"[..], "old hex"),
            ("gone", &b"x"[..], "old"),
        ]
    );
    let gone = vec!["gone".to_owned()];
    assert_eq!(
        storage
            .delete_dead_letters(huey_core::DeadLetterSelection::Ids(&gone))
            .await
            .unwrap(),
        1
    );
    let hex = vec!["hex-1".to_owned()];
    let moved = storage
        .requeue_dead_letters(huey_core::DeadLetterSelection::Ids(&hex))
        .await
        .unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(
        storage.enqueued_items(None).await.unwrap(),
        [b"\xff\x00\xc3"]
    );
    assert_eq!(storage.dead_letter_count().await.unwrap(), 1);
}

/// `RedisOptions::dead_letter_limit` keeps the newest that many, dropping the oldest, for dead
/// letters from settlements and from claims alike; `None` keeps all.
#[tokio::test]
async fn test_dead_letter_limit_keeps_newest() {
    let server = RedisServer::start();
    let storage = storage_on(
        &server,
        "keep",
        RedisOptions::default().dead_letter_limit(Some(3)),
    )
    .await;
    for i in 0..4 {
        storage.enqueue(format!("s{i}").into(), 0).await.unwrap();
        let claimed = storage
            .dequeue(Dequeue::new(1, Duration::ZERO))
            .await
            .unwrap();
        storage.dead_letter(&claimed[0], "bad").await.unwrap();
    }
    storage.enqueue(b"long".to_vec(), 0).await.unwrap();
    let refused = Dequeue::new(1, Duration::ZERO).max_message_size(Some(2));
    assert!(storage.dequeue(refused).await.unwrap().is_empty());
    let kept: Vec<_> = storage
        .dead_letters(None)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.data)
        .collect();
    assert_eq!(kept, [b"s2".to_vec(), b"s3".to_vec(), b"long".to_vec()]);

    let unbounded = storage_on(
        &server,
        "all",
        RedisOptions::default().dead_letter_limit(None),
    )
    .await;
    for i in 0..5 {
        unbounded.enqueue(format!("u{i}").into(), 0).await.unwrap();
    }
    let refuse_all = Dequeue::new(10, Duration::ZERO).max_message_size(Some(1));
    assert!(unbounded.dequeue(refuse_all).await.unwrap().is_empty());
    assert_eq!(unbounded.dead_letter_count().await.unwrap(), 5);
}
