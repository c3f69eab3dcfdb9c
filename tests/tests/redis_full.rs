//! A full Redis (`maxmemory` reached, `noeviction`): producers get a readable refusal, and a
//! consumer started against it drains the whole queue, after which enqueueing works again.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use huey_core::prelude::*;
use huey_redis::RedisStorage;
use huey_tests::redis_server::RedisServer;
use tokio::sync::Notify;

#[task]
fn weigh(payload: String) -> usize {
    payload.len()
}

async fn config_set(conn: &mut redis::aio::MultiplexedConnection, key: &str, value: &str) {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(key)
        .arg(value)
        .query_async(conn)
        .await
        .unwrap();
}

async fn used_memory(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory in INFO")
}

#[tokio::test]
async fn test_a_full_redis_drains_and_then_accepts_again() {
    let server = RedisServer::start();
    let mut admin = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let storage = RedisStorage::connect("full", &server.url()).await.unwrap();
    let huey = Huey::new("full", storage);

    // Two more MiB than now, then fill it with 2 KiB messages until Redis refuses one.
    let limit = used_memory(&mut admin).await + 2 * 1024 * 1024;
    config_set(&mut admin, "maxmemory-policy", "noeviction").await;
    config_set(&mut admin, "maxmemory", &limit.to_string()).await;
    let payload = "x".repeat(2048);
    let mut enqueued = 0;
    let refusal = loop {
        match weigh::enqueue(&huey, payload.clone()).await {
            Ok(_) => enqueued += 1,
            Err(error) => break huey_core::error_chain(&error).to_string(),
        }
        assert!(enqueued < 10_000, "Redis never filled up");
    };
    assert!(enqueued > 100, "the queue holds a backlog: {enqueued}");
    assert!(
        refusal.contains("Redis is full") && refusal.contains("maxmemory"),
        "a readable refusal: {refusal}"
    );

    // A consumer started now drains everything: claims and settlements free what they write.
    let done = Arc::new(AtomicUsize::new(0));
    let all_done = Arc::new(Notify::new());
    let (count, wake) = (Arc::clone(&done), Arc::clone(&all_done));
    huey.connect_signal(&[Signal::Complete], move |_, _, _| {
        if count.fetch_add(1, Ordering::SeqCst) + 1 == enqueued {
            wake.notify_one();
        }
    });
    let consumer = Consumer::builder(&huey).workers(4).start().unwrap();
    tokio::time::timeout(Duration::from_secs(60), all_done.notified())
        .await
        .expect("the full queue drains");
    consumer.shutdown().await.unwrap();
    assert_eq!(done.load(Ordering::SeqCst), enqueued, "each task ran once");
    assert_eq!(huey.pending_count().await.unwrap(), 0);

    // Room again: a producer is accepted.
    let mut again = weigh::enqueue(&huey, "after".to_owned()).await.unwrap();
    huey.run_next(&WorkerState::new(0)).await.unwrap();
    assert_eq!(again.get().await.unwrap(), Some(5));
}
