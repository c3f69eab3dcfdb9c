//! A 50 MB message against the real consumer binary: with the size limit on (the default) the
//! storage dead-letters it without the consumer downloading it, and the consumer goes on; with
//! the limit off it runs. Prints the consumer's peak RSS both ways.

use std::time::Duration;

use huey_core::Huey;
use huey_redis::RedisStorage;
use huey_tests::consumer_process::ConsumerProcess;
use huey_tests::redis_server::RedisServer;
use huey_tests::tasks::{add, byte_len};

const EXE: &str = env!("CARGO_BIN_EXE_test_consumer");
const WAIT: Duration = Duration::from_secs(60);
const HUGE: usize = 50 << 20;

/// A field of `/proc/<pid>/status`, in kB.
fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// A producer with no limit of its own, so it can queue what the consumer refuses.
async fn producer(server: &RedisServer, name: &str) -> Huey {
    let storage = RedisStorage::connect(name, &server.url()).await.unwrap();
    Huey::builder(name).max_message_size(None).build(storage)
}

/// Starts a one-worker consumer, runs one small task through it, and returns it with its
/// peak RSS so far (kB): the baseline of a consumer that has done work.
async fn warmed_consumer(server: &RedisServer, huey: &Huey, limit: &str) -> (ConsumerProcess, u64) {
    let consumer = ConsumerProcess::spawn_with(
        EXE,
        server,
        huey.name(),
        &["-w", "1", "-q"],
        &[("HUEY_TEST_MAX_MESSAGE_SIZE", limit)],
    );
    let mut warm = add::enqueue(huey, 1, 2).await.unwrap();
    assert_eq!(warm.wait(WAIT).await.unwrap(), 3);
    let idle = status_kb(consumer.pid(), "VmHWM:");
    (consumer, idle)
}

#[tokio::test]
async fn test_consumer_dead_letters_huge_message_unread() {
    let server = RedisServer::start();

    // Limit on (the default 16 MiB): set aside by the claim script, never downloaded.
    let huey = producer(&server, "huge-on").await;
    let (consumer, idle_on) = warmed_consumer(&server, &huey, "16777216").await;
    let _refused = byte_len::enqueue(&huey, "z".repeat(HUGE)).await.unwrap();
    let mut next = add::enqueue(&huey, 2, 3).await.unwrap();
    assert_eq!(
        next.wait(WAIT).await.unwrap(),
        5,
        "the consumer keeps working"
    );
    let dead = huey.dead_letters(None).await.unwrap();
    assert_eq!(dead.len(), 1, "the huge message is a dead letter");
    assert!(dead[0].data.len() > HUGE);
    assert!(
        dead[0]
            .reason
            .ends_with("bytes is over the limit of 16777216 bytes"),
        "{}",
        dead[0].reason
    );
    let peak_on = status_kb(consumer.pid(), "VmHWM:");
    consumer.signal("INT");
    assert!(consumer.wait().success());

    // Limit off: the message runs.
    let huey = producer(&server, "huge-off").await;
    let (consumer, idle_off) = warmed_consumer(&server, &huey, "off").await;
    let mut ran = byte_len::enqueue(&huey, "z".repeat(HUGE)).await.unwrap();
    assert_eq!(ran.wait(WAIT).await.unwrap(), HUGE);
    let peak_off = status_kb(consumer.pid(), "VmHWM:");
    consumer.signal("INT");
    assert!(consumer.wait().success());

    println!(
        "consumer peak RSS with a {} MB message: limit on {} kB (idle {} kB), limit off {} kB (idle {} kB)",
        HUGE >> 20,
        peak_on,
        idle_on,
        peak_off,
        idle_off
    );
    assert!(
        peak_on < 4 * idle_on + 8 * 1024,
        "dead-lettering must not load the message: peak {peak_on} kB, idle {idle_on} kB"
    );
}
