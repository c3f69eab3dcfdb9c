//! The consumer on Redis, end to end: another process as producer or consumer, a consumer
//! killed with SIGKILL mid-run, a Redis restart, a large backlog, and bad messages.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use huey_core::prelude::*;
use huey_redis::RedisStorage;
use huey_tests::consumer_process::ConsumerProcess;
use huey_tests::redis_server::RedisServer;
use huey_tests::tasks::{add, noop, tracked_sleep};
use redis::AsyncCommands;

const WAIT: Duration = Duration::from_secs(60);

async fn huey_on(server: &RedisServer, name: &str) -> Huey {
    let storage = RedisStorage::connect(name, &server.url())
        .await
        .expect("connect");
    Huey::new(name, storage)
}

fn spawn_consumer(server: &RedisServer, name: &str, workers: usize) -> ConsumerProcess {
    ConsumerProcess::spawn(
        env!("CARGO_BIN_EXE_test_consumer"),
        server,
        name,
        &["-w", &workers.to_string(), "-q"],
    )
}

#[tokio::test]
async fn test_cross_process_producer_and_consumer() {
    let server = RedisServer::start();
    let huey = huey_on(&server, "cross-process").await;
    let consumer = spawn_consumer(&server, "cross-process", 2);

    let mut five = add::enqueue(&huey, 2, 3).await.unwrap();
    let mut many = add::map(&huey, (0..20).map(|i| (i, i))).await.unwrap();
    assert_eq!(five.wait(WAIT).await.unwrap(), 5);
    for (i, handle) in many.iter_mut().enumerate() {
        assert_eq!(handle.wait(WAIT).await.unwrap(), 2 * i as i64);
    }

    consumer.signal("INT");
    assert!(consumer.wait().success(), "a graceful stop exits 0");
}

#[tokio::test]
async fn test_kill_9_loses_nothing() {
    let server = RedisServer::start();
    let name = "kill-nine";
    let huey = huey_on(&server, name).await;
    let mut handles = tracked_sleep::map(&huey, vec![10; 1000]).await.unwrap();

    let first = spawn_consumer(&server, name, 8);
    // Let it get well into the work, then kill it without warning.
    handles[150].wait(WAIT).await.unwrap();
    let killed_at = Instant::now();
    first.signal("KILL");
    let dead_id = first.id().to_owned();
    assert!(!first.wait().success(), "killed, not stopped");

    let mut conn = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let in_flight: Vec<Vec<u8>> = conn
        .lrange(format!("huey.processing.killnine.{dead_id}"), 0, -1)
        .await
        .unwrap();
    println!("the killed consumer held {} claims", in_flight.len());
    assert!(!in_flight.is_empty(), "it was killed mid-task");
    let orphan_ids: Vec<String> = in_flight
        .iter()
        .map(|bytes| huey_core::message::Message::decode(bytes).unwrap().id)
        .collect();

    // A fresh consumer starts at once; it does not wait for the dead one's registration.
    let second = spawn_consumer(&server, name, 8);
    let by_id: HashMap<String, usize> = handles
        .iter()
        .enumerate()
        .map(|(i, h)| (h.id().to_owned(), i))
        .collect();
    for id in &orphan_ids {
        let index = by_id[id];
        handles[index].wait(WAIT).await.unwrap();
    }
    let recovered_after = killed_at.elapsed();
    println!("the dead consumer's claims ran again {recovered_after:?} after the kill");
    assert!(
        recovered_after < Duration::from_secs(15),
        "{recovered_after:?}"
    );

    for handle in &mut handles {
        assert_eq!(handle.wait(WAIT).await.unwrap(), 10);
    }
    let runs: HashMap<String, u32> = conn.hgetall("huey.test.runs").await.unwrap();
    assert_eq!(runs.len(), 1000, "every task ran");
    let duplicates = runs.values().filter(|n| **n > 1).count();
    println!("1000 tasks: every one has a result; {duplicates} ran more than once");
    second.signal("TERM");
    assert!(second.wait().success());
}

#[tokio::test]
async fn test_consumer_survives_a_redis_restart() {
    let mut server = RedisServer::start_persistent();
    let huey = huey_on(&server, "restart").await;
    let consumer = Consumer::builder(&huey).workers(4).start().unwrap();
    let mut handles = tracked_sleep::map(&huey, vec![5; 300]).await.unwrap();
    handles[40].wait(WAIT).await.unwrap();

    server.restart();

    for handle in &mut handles {
        assert_eq!(handle.wait(WAIT).await.unwrap(), 5);
    }
    consumer.shutdown().await.unwrap();
}

static DRAINED: AtomicUsize = AtomicUsize::new(0);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_backlog_of_500k_drains() {
    const N: u64 = 500_000;
    let server = RedisServer::start();
    let storage = RedisStorage::connect("backlog", &server.url())
        .await
        .unwrap();
    let huey = Huey::builder("backlog").results(false).build(storage);

    let started = Instant::now();
    for chunk in (0..N).collect::<Vec<_>>().chunks(100_000) {
        noop::map(&huey, chunk.iter().copied()).await.unwrap();
    }
    assert_eq!(huey.pending_count().await.unwrap(), N as usize);
    println!("enqueued {N} in {:?}", started.elapsed());

    let done = Arc::new(tokio::sync::Notify::new());
    let d = done.clone();
    huey.connect_signal(&[Signal::Complete], move |_, _, _| {
        if DRAINED.fetch_add(1, Ordering::Relaxed) + 1 == N as usize {
            d.notify_one();
        }
    });
    let started = Instant::now();
    let consumer = Consumer::builder(&huey)
        .workers(16)
        .periodic(false)
        .start()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(600), done.notified())
        .await
        .expect("the backlog drained");
    let elapsed = started.elapsed();
    println!(
        "drained {N} in {elapsed:?} ({:.0} tasks/s, debug build)",
        N as f64 / elapsed.as_secs_f64()
    );
    consumer.shutdown().await.unwrap();
    assert_eq!(huey.pending_count().await.unwrap(), 0);
    assert!(huey.dead_letters(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn test_bad_messages_go_to_the_dead_letter_key() {
    let server = RedisServer::start();
    let huey = huey_on(&server, "dead-letters").await;
    let storage = huey.storage();
    let mut valid = Vec::new();
    valid.push(add::enqueue(&huey, 1, 1).await.unwrap());
    storage
        .enqueue(b"\x00\xff not a message".to_vec(), 0)
        .await
        .unwrap();
    valid.push(add::enqueue(&huey, 2, 2).await.unwrap());
    let mut unknown = add::call(0, 0).into_message().unwrap();
    unknown.name = "nobody::registered_this".into();
    storage.enqueue(unknown.encode(), 0).await.unwrap();
    valid.push(add::enqueue(&huey, 3, 3).await.unwrap());

    let consumer = Consumer::builder(&huey).workers(2).start().unwrap();
    for (i, handle) in valid.iter_mut().enumerate() {
        assert_eq!(handle.wait(WAIT).await.unwrap(), 2 * (i as i64 + 1));
    }
    consumer.shutdown().await.unwrap();

    let mut dead = huey.dead_letters(None).await.unwrap();
    dead.sort_by(|a, b| a.reason.cmp(&b.reason));
    assert_eq!(dead.len(), 2);
    assert!(
        dead[0].reason.starts_with("malformed message"),
        "{}",
        dead[0].reason
    );
    assert_eq!(dead[0].data, b"\x00\xff not a message");
    assert!(dead[1].reason.contains("nobody::registered_this"));
    assert_eq!(dead[1].data, unknown.encode());
    let mut conn = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let kept: usize = conn.llen("huey.dead.deadletters").await.unwrap();
    assert_eq!(kept, 2, "kept under the documented key");
}

#[tokio::test]
async fn test_revocation_on_redis() {
    let server = RedisServer::start();
    let huey = huey_on(&server, "revoke").await;
    let revoked = Arc::new(tokio::sync::Notify::new());
    let r = revoked.clone();
    huey.connect_signal(&[Signal::Revoked], move |_, _, _| r.notify_one());
    let skipped = add::enqueue(&huey, 1, 1).await.unwrap();
    skipped.revoke().await.unwrap();
    let mut kept = add::enqueue(&huey, 2, 2).await.unwrap();
    let consumer = Consumer::builder(&huey)
        .workers(1)
        .periodic(false)
        .start()
        .unwrap();
    tokio::time::timeout(WAIT, revoked.notified())
        .await
        .expect("the revoked task was skipped");
    assert_eq!(kept.wait(WAIT).await.unwrap(), 4);
    assert!(
        !skipped.is_revoked().await.unwrap(),
        "a one-shot flag is consumed"
    );

    // With no flag left, claims tell the executor so, and tasks still run.
    let mut after = add::enqueue(&huey, 3, 3).await.unwrap();
    assert_eq!(after.wait(WAIT).await.unwrap(), 6);
    consumer.shutdown().await.unwrap();
    let mut conn = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let flags: usize = conn.scard("huey.revoked.revoke").await.unwrap();
    assert_eq!(flags, 0, "the flag index is kept in step with the flags");
}
