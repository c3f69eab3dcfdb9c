//! The consumer's Prometheus endpoint (`--metrics`), scraped over HTTP during a run of the
//! command-line consumer against a test-started Redis: the task counters equal the tasks run,
//! by outcome, the histograms have samples, and the gauges follow the queue.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use huey_core::prelude::*;
use huey_redis::RedisStorage;
use huey_tests::consumer_process::ConsumerProcess;
use huey_tests::redis_server::RedisServer;
use huey_tests::tasks::{add, refuse};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(30);
const EXE: &str = env!("CARGO_BIN_EXE_test_consumer");

/// A port nobody listens on now (the consumer binds it next).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// One plain HTTP GET of the endpoint; `None` while it does not answer yet.
async fn scrape(port: u16) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain"), "{head}");
    Some(body.to_owned())
}

/// The samples of a scrape: `name{labels}` to value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn counter(samples: &HashMap<String, f64>, task: &str, outcome: &str) -> f64 {
    let key = format!("huey_tasks_total{{task=\"{task}\",outcome=\"{outcome}\"}}");
    samples.get(&key).copied().unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_the_endpoint_counts_tasks_by_outcome_and_samples_their_times() {
    let server = RedisServer::start();
    let name = "metrics";
    let storage = RedisStorage::connect(name, &server.url()).await.unwrap();
    let huey = Huey::new(name, storage);

    // Known outcomes, all queued before the consumer starts.
    for i in 0..3 {
        add::enqueue(&huey, i, 1).await.unwrap();
    }
    refuse::call("no".into())
        .retries(0)
        .enqueue(&huey)
        .await
        .unwrap();
    // Fails, is retried at once, fails for good: one `retrying`, one `error`.
    refuse::call("again".into())
        .retries(1)
        .enqueue(&huey)
        .await
        .unwrap();
    let revoked = add::call(7, 7).id("revoked").enqueue(&huey).await.unwrap();
    revoked.revoke().await.unwrap();
    let past = chrono::Utc::now() - chrono::Duration::seconds(60);
    add::call(8, 8)
        .expires_at(past)
        .enqueue(&huey)
        .await
        .unwrap();
    // Names no registered task: dead-lettered.
    huey.storage()
        .enqueue(b"not a message".to_vec(), 0)
        .await
        .unwrap();

    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let consumer = ConsumerProcess::spawn(
        EXE,
        &server,
        name,
        &[
            "-w",
            "2",
            "-q",
            "-n",
            "--metrics",
            &address,
            "--metrics-interval-ms",
            "50",
        ],
    );

    let expected: [(&str, &str, f64); 6] = [
        (add::NAME, "complete", 3.0),
        (refuse::NAME, "error", 2.0),
        (refuse::NAME, "retrying", 1.0),
        (add::NAME, "revoked", 1.0),
        (add::NAME, "expired", 1.0),
        ("unknown", "dead-lettered", 1.0),
    ];
    // The consumer's work has no event a test can await from outside its process: poll the
    // endpoint until the counts (and the sampled gauges) settle, with a deadline.
    let deadline = Instant::now() + WAIT;
    let seen = loop {
        let seen = scrape(port).await.map(|text| samples(&text));
        if let Some(seen) = &seen
            && expected
                .iter()
                .all(|(task, outcome, n)| counter(seen, task, outcome) == *n)
            && seen.get(&format!("huey_dead_letters{{queue=\"{name}\"}}")) == Some(&1.0)
            && seen.get(&format!("huey_queue_depth{{queue=\"{name}\"}}")) == Some(&0.0)
            // This consumer's own presence record.
            && seen.get(&format!("huey_consumers_live{{queue=\"{name}\"}}")) == Some(&1.0)
            // The last outcome is counted just before its worker lets go of it: the in-flight
            // and busy gauges reach zero a moment later.
            && ["huey_scheduled_tasks", "huey_tasks_in_flight", "huey_workers_busy"]
                .iter()
                .all(|gauge| seen.get(&format!("{gauge}{{queue=\"{name}\"}}")) == Some(&0.0))
        {
            break seen.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the counts did not settle: {seen:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // Nothing else was counted: every execution is one of the expected outcomes.
    let total: f64 = seen
        .iter()
        .filter(|(key, _)| key.starts_with("huey_tasks_total{"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(total, 9.0, "{seen:#?}");
    // Bodies ran for the three adds and the three failing attempts; each has a run time and
    // a queue latency, in buckets.
    let count = |metric: &str, task: &str| {
        seen.get(&format!("{metric}_count{{task=\"{task}\"}}"))
            .copied()
    };
    assert_eq!(count("huey_task_run_seconds", add::NAME), Some(3.0));
    assert_eq!(count("huey_task_run_seconds", refuse::NAME), Some(3.0));
    assert_eq!(
        count("huey_task_queue_latency_seconds", add::NAME),
        Some(3.0)
    );
    assert_eq!(
        count("huey_task_queue_latency_seconds", refuse::NAME),
        Some(3.0)
    );
    let inf = format!(
        "huey_task_run_seconds_bucket{{task=\"{}\",le=\"+Inf\"}}",
        add::NAME
    );
    assert_eq!(seen.get(&inf), Some(&3.0), "{seen:#?}");
    assert!(seen[&format!("huey_task_run_seconds_sum{{task=\"{}\"}}", add::NAME)] >= 0.0);
    assert_eq!(
        seen.get(&format!("huey_workers{{queue=\"{name}\"}}")),
        Some(&2.0)
    );
    drop(consumer);
}
