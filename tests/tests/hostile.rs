//! The consumer binary treated as production would: a task that kills its consumer on every
//! delivery, and a consumer frozen past its timeout (a zombie) that wakes up.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use huey_core::prelude::*;
use huey_redis::RedisStorage;
use huey_tests::consumer_process::ConsumerProcess;
use huey_tests::redis_server::RedisServer;
use huey_tests::tasks::{add, crash, tracked_sleep};
use redis::AsyncCommands;

const WAIT: Duration = Duration::from_secs(30);
const EXE: &str = env!("CARGO_BIN_EXE_test_consumer");

/// Consumers declared dead 600 ms after their last heartbeat.
const QUICK_DEATH: &[(&str, &str)] = &[
    ("HUEY_TEST_HEARTBEAT_MS", "100"),
    ("HUEY_TEST_CONSUMER_TIMEOUT_MS", "600"),
];

async fn huey_on(server: &RedisServer, name: &str) -> Huey {
    let storage = RedisStorage::connect(name, &server.url())
        .await
        .expect("connect");
    Huey::new(name, storage)
}

async fn runs(server: &RedisServer) -> HashMap<String, u32> {
    let mut conn = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    conn.hgetall("huey.test.runs").await.unwrap()
}

/// A task that aborts its consumer on every delivery runs `max_deliveries` times (each
/// consumer started after the last one died), and then is dead-lettered, and the consumer
/// that set it aside keeps working.
#[tokio::test]
async fn test_task_that_crashes_its_consumer_every_time_is_dead_lettered() {
    let server = RedisServer::start();
    let name = "crash-loop";
    let huey = huey_on(&server, name).await;
    let poison = crash::enqueue(&huey).await.unwrap();
    let mut env = QUICK_DEATH.to_vec();
    env.push(("HUEY_TEST_MAX_DELIVERIES", "2"));
    let start = || ConsumerProcess::spawn_with(EXE, &server, name, &["-w", "1", "-n", "-q"], &env);

    let mut crashes = 0;
    let survivor = loop {
        let mut consumer = start();
        match consumer.wait_timeout(Duration::from_secs(5)) {
            Some(status) => {
                assert!(!status.success(), "the task aborts its consumer");
                crashes += 1;
                assert!(crashes <= 2, "a third run means the cap did not hold");
            }
            None => break consumer,
        }
    };
    // The survivor took the message over from the dead consumer once its timeout passed:
    // polled, as the dead letter has no event a test can await from outside the process.
    let deadline = Instant::now() + WAIT;
    while huey.dead_letter_count().await.unwrap() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    assert_eq!(crashes, 2);
    assert_eq!(runs(&server).await.get(poison.id()), Some(&2));
    let dead = huey.dead_letters(None).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].reason, "delivered 2 times without settling");
    let mut next = add::enqueue(&huey, 1, 2).await.unwrap();
    assert_eq!(next.wait(WAIT).await.unwrap(), 3, "the survivor carries on");
    survivor.signal("TERM");
    assert!(survivor.wait().success());
}

/// Claims in a consumer's processing list.
async fn claims_of(server: &RedisServer, name: &str, consumer: &str) -> usize {
    let mut conn = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let key = format!("huey.processing.{name}.{consumer}");
    conn.llen(key).await.unwrap()
}

/// A consumer frozen (SIGSTOP) past the consumer timeout is presumed dead and its claims run
/// elsewhere. Woken (SIGCONT), it says it was presumed dead, starts none of the claims it had
/// prefetched, and writes no result for the tasks the other consumer settled: at most the
/// bodies that were running at the freeze run twice.
#[tokio::test]
async fn test_zombie_consumer_starts_no_prefetched_claim_and_writes_no_stale_result() {
    const WORKERS: usize = 4;
    let server = RedisServer::start();
    let name = "zombie";
    let huey = huey_on(&server, name).await;
    let log = std::env::temp_dir().join(format!("huey-zombie-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let log_arg = log.to_string_lossy().into_owned();
    let args = ["-w", "4", "-n", "-q", "-l", &log_arg];
    let mut zombie = ConsumerProcess::spawn_with(EXE, &server, name, &args, QUICK_DEATH);
    let mut handles = tracked_sleep::map(&huey, vec![1000u64; 16]).await.unwrap();

    // Frozen once it holds more claims than it has workers: some running, some prefetched.
    let deadline = Instant::now() + WAIT;
    while claims_of(&server, name, zombie.id()).await <= WORKERS {
        assert!(Instant::now() < deadline, "the consumer never prefetched");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    zombie.signal("STOP");
    let held_at_freeze = claims_of(&server, name, zombie.id()).await;
    let rescuer =
        ConsumerProcess::spawn_with(EXE, &server, name, &["-w", "16", "-n", "-q"], QUICK_DEATH);
    for handle in &mut handles {
        assert_eq!(handle.wait(WAIT).await.unwrap(), 1000);
    }
    assert_eq!(
        huey.result_count().await.unwrap(),
        0,
        "every result was read"
    );

    zombie.signal("CONT");
    // Its running bodies finish and are discarded; a graceful stop waits for them.
    zombie.signal("INT");
    assert!(zombie.wait_timeout(WAIT).is_some_and(|s| s.success()));

    let runs = runs(&server).await;
    assert_eq!(runs.len(), 16, "every task ran");
    let duplicates: u32 = runs.values().map(|n| n - 1).sum();
    println!("held {held_at_freeze} claims at the freeze; {duplicates} bodies ran twice");
    assert!(
        duplicates as usize <= WORKERS,
        "only bodies running at the freeze may run again: {runs:?}"
    );
    assert_eq!(
        huey.result_count().await.unwrap(),
        0,
        "the zombie wrote no result for tasks the rescuer settled"
    );
    let said = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        said.matches("this consumer was presumed dead").count(),
        1,
        "{said}"
    );
    assert!(huey.dead_letter_count().await.unwrap() == 0);
    assert_eq!(
        huey.pending_count().await.unwrap(),
        0,
        "nothing left behind"
    );
    rescuer.signal("TERM");
    assert!(rescuer.wait().success());
    let _ = std::fs::remove_file(&log);
}
