//! The command-line consumer (`huey_cli::run_cli`) as a separate process against a test-started Redis:
//! worker types, per-worker start-up hooks, signals, health checks, periodic ticks across
//! consumers.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use huey_core::prelude::*;
use huey_redis::RedisStorage;
use huey_tests::consumer_process::ConsumerProcess;
use huey_tests::redis_server::RedisServer;
use huey_tests::tasks::{WorkerIdentity, announced_busy, busy, whoami};
use redis::AsyncCommands;

const WAIT: Duration = Duration::from_secs(30);
const EXE: &str = env!("CARGO_BIN_EXE_test_consumer");

async fn huey_on(server: &RedisServer, name: &str) -> Huey {
    Huey::new(
        name,
        RedisStorage::connect(name, &server.url()).await.unwrap(),
    )
}

async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn startups(server: &RedisServer) -> Vec<WorkerIdentity> {
    let entries: Vec<String> = raw(server)
        .await
        .lrange("huey.test.startups", 0, -1)
        .await
        .unwrap();
    entries
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect()
}

/// Waits until `count` worker starts are recorded: worker start-up has no event a test can
/// await from outside the process, so this polls.
async fn wait_for_startups(server: &RedisServer, count: usize) -> Vec<WorkerIdentity> {
    let deadline = Instant::now() + WAIT;
    loop {
        let seen = startups(server).await;
        if seen.len() >= count || Instant::now() > deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn startup_hook_runs_once_per_worker(kind: &str) {
    let server = RedisServer::start();
    let name = format!("kinds-{kind}");
    let huey = huey_on(&server, &name).await;
    let consumer = ConsumerProcess::spawn(EXE, &server, &name, &["-w", "4", "-k", kind, "-q"]);
    let started = wait_for_startups(&server, 4).await;
    assert_eq!(started.len(), 4, "one start per worker: {started:?}");

    let mut handles = whoami::map(&huey, vec![100u64; 16]).await.unwrap();
    let mut ran_on = HashSet::new();
    for handle in &mut handles {
        ran_on.insert(handle.wait(WAIT).await.unwrap());
    }
    let starts: HashSet<WorkerIdentity> = started.iter().cloned().collect();
    assert!(
        ran_on.is_subset(&starts),
        "tasks ran on started workers only"
    );
    assert_eq!(
        ran_on.len(),
        4,
        "every worker ran tasks with its own state: {ran_on:?}"
    );
    let workers: HashSet<usize> = started.iter().map(|w| w.worker).collect();
    assert_eq!(workers, HashSet::from([0, 1, 2, 3]));
    let pids: HashSet<u32> = started.iter().map(|w| w.pid).collect();
    let threads: HashSet<&str> = started.iter().map(|w| w.thread.as_str()).collect();
    match kind {
        "process" => {
            assert_eq!(pids.len(), 4, "one process per worker");
            assert!(
                !pids.contains(&consumer.pid()),
                "workers are children, not the parent"
            );
        }
        "thread" => {
            assert_eq!(pids, HashSet::from([consumer.pid()]));
            assert_eq!(threads.len(), 4, "one thread per worker");
        }
        _ => assert_eq!(pids, HashSet::from([consumer.pid()])),
    }
    consumer.signal("INT");
    assert!(consumer.wait().success());
    assert_eq!(startups(&server).await.len(), 4, "no worker restarted");
}

#[tokio::test]
async fn test_async_workers_each_run_the_startup_hook_once() {
    startup_hook_runs_once_per_worker("async").await;
}

#[tokio::test]
async fn test_thread_workers_each_run_the_startup_hook_once() {
    startup_hook_runs_once_per_worker("thread").await;
}

#[tokio::test]
async fn test_process_workers_each_run_the_startup_hook_once() {
    startup_hook_runs_once_per_worker("process").await;
}

async fn start_long_task(
    server: &RedisServer,
    name: &str,
    kind: &str,
) -> (Huey, ConsumerProcess, TaskResult<u64>) {
    let huey = huey_on(server, name).await;
    let consumer = ConsumerProcess::spawn(EXE, server, name, &["-w", "1", "-k", kind, "-n", "-q"]);
    let result = announced_busy::enqueue(&huey, 2000).await.unwrap();
    // The body says when it has started (a claim alone may still be given back unstarted):
    // polled, as the other process has no event to await.
    let deadline = Instant::now() + WAIT;
    let mut conn = raw(server).await;
    while conn.llen::<_, usize>("huey.test.started").await.unwrap() == 0 {
        assert!(Instant::now() < deadline, "the task never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (huey, consumer, result)
}

#[tokio::test]
async fn test_sigint_lets_the_running_task_finish() {
    let server = RedisServer::start();
    let (_huey, consumer, mut result) = start_long_task(&server, "sigint", "async").await;
    consumer.signal("INT");
    let status = consumer.wait();
    assert!(status.success(), "graceful stop exits 0: {status}");
    assert_eq!(
        result.get().await.unwrap(),
        Some(2000),
        "finished before the exit"
    );
}

#[tokio::test]
async fn test_immediate_signal_requeues_the_running_task() {
    let server = RedisServer::start();
    let (huey, mut consumer, mut result) = start_long_task(&server, "sigterm", "thread").await;
    let signalled = Instant::now();
    consumer.signal("TERM");
    let status = consumer
        .wait_timeout(Duration::from_secs(1))
        .expect("exits within a second");
    println!(
        "exited {:?} after the immediate signal",
        signalled.elapsed()
    );
    assert!(status.success(), "{status}");
    assert_eq!(
        huey.pending_count().await.unwrap(),
        1,
        "the task is back on the queue"
    );
    assert_eq!(result.get().await.unwrap(), None);

    let fresh = ConsumerProcess::spawn(EXE, &server, "sigterm", &["-w", "1", "-n", "-q"]);
    assert_eq!(
        result.wait(WAIT).await.unwrap(),
        2000,
        "a fresh consumer completes it"
    );
    fresh.signal("INT");
    assert!(fresh.wait().success());
}

#[tokio::test]
async fn test_graceful_signal_term_swaps_the_signals() {
    let server = RedisServer::start();
    let huey = huey_on(&server, "swap").await;
    let consumer = ConsumerProcess::spawn(EXE, &server, "swap", &["-w", "1", "-g", "term", "-q"]);
    let mut result = busy::enqueue(&huey, 300).await.unwrap();
    assert_eq!(result.wait(WAIT).await.unwrap(), 300);
    consumer.signal("TERM");
    assert!(
        consumer.wait().success(),
        "with -g term, SIGTERM is graceful"
    );
}

#[tokio::test]
async fn test_killed_process_worker_is_restarted_with_its_startup_hook() {
    let server = RedisServer::start();
    let consumer = ConsumerProcess::spawn(
        EXE,
        &server,
        "restart-worker",
        &["-w", "2", "-k", "process", "-c", "0.1", "-q"],
    );
    let started = wait_for_startups(&server, 2).await;
    assert_eq!(started.len(), 2);
    let victim = started[0].clone();
    let status = std::process::Command::new("kill")
        .args(["-KILL", &victim.pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    let after = wait_for_startups(&server, 3).await;
    assert_eq!(
        after.len(),
        3,
        "the health check started a new worker process"
    );
    let replacement = &after[2];
    assert_eq!(
        replacement.worker, victim.worker,
        "it took the dead worker's place"
    );
    assert_ne!(replacement.pid, victim.pid);
    consumer.signal("INT");
    assert!(consumer.wait().success());
}

#[tokio::test]
async fn test_max_tasks_recycles_a_worker() {
    let server = RedisServer::start();
    let huey = huey_on(&server, "recycle").await;
    let consumer = ConsumerProcess::spawn(
        EXE,
        &server,
        "recycle",
        &["-w", "1", "-M", "2", "-c", "0.1", "-q"],
    );
    let mut handles = whoami::map(&huey, vec![0u64; 6]).await.unwrap();
    let mut starts = HashSet::new();
    for handle in &mut handles {
        starts.insert(handle.wait(WAIT).await.unwrap().startup);
    }
    assert_eq!(starts.len(), 3, "a fresh worker (and state) every 2 tasks");
    consumer.signal("INT");
    assert!(consumer.wait().success());
}

#[tokio::test]
async fn test_periodic_ticks_run_once_across_two_consumers() {
    let server = RedisServer::start();
    let name = "periodic-twice";
    let args = ["-w", "2", "--periodic-tick-ms", "300", "-s", "1", "-q"];
    let first = ConsumerProcess::spawn(EXE, &server, name, &args);
    let second = ConsumerProcess::spawn(EXE, &server, name, &args);
    let mut conn = raw(&server).await;
    let deadline = Instant::now() + WAIT;
    while conn.llen::<_, usize>("huey.test.periodic").await.unwrap() < 5 {
        assert!(Instant::now() < deadline, "periodic tasks did not run");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.signal("INT");
    second.signal("INT");
    assert!(first.wait().success() && second.wait().success());

    let runs: Vec<String> = conn.lrange("huey.test.periodic", 0, -1).await.unwrap();
    let distinct: HashSet<&String> = runs.iter().collect();
    assert_eq!(distinct.len(), runs.len(), "each enqueued tick ran once");
    let mut claims = 0;
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("huey.kv.periodictwice.periodic:*")
            .query_async(&mut conn)
            .await
            .unwrap();
        claims += keys.len();
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let huey = huey_on(&server, name).await;
    let pending = huey.pending_count().await.unwrap();
    println!(
        "{claims} ticks claimed, {} runs, {pending} still queued",
        runs.len()
    );
    assert_eq!(
        runs.len() + pending,
        claims,
        "one run per claimed tick, two consumers or not"
    );
}

#[tokio::test]
async fn test_second_graceful_signal_stops_at_once() {
    let server = RedisServer::start();
    let (huey, mut consumer, mut result) = start_long_task(&server, "twice", "async").await;
    consumer.signal("INT");
    // Signals sent back to back may reach the process as one (the kernel and tokio both
    // coalesce a signal that is already pending), so repeat the second until it is seen; the
    // running task takes 2 s, so an exit within 1 s is the escalation.
    let started = Instant::now();
    let status = loop {
        consumer.signal("INT");
        if let Some(status) = consumer.wait_timeout(Duration::from_millis(100)) {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "a second SIGINT stops at once"
        );
    };
    assert!(status.success());
    assert_eq!(
        huey.pending_count().await.unwrap(),
        1,
        "the task is back on the queue"
    );
    assert_eq!(result.get().await.unwrap(), None);
}

#[tokio::test]
async fn test_shutdown_timeout_interrupts_and_requeues() {
    let server = RedisServer::start();
    let huey = huey_on(&server, "timeout").await;
    let mut consumer = ConsumerProcess::spawn(
        EXE,
        &server,
        "timeout",
        &["-w", "1", "-n", "-t", "0.2", "-q"],
    );
    busy::enqueue(&huey, 3000).await.unwrap();
    let mut conn = raw(&server).await;
    let processing = format!("huey.processing.timeout.{}", consumer.id());
    while conn.llen::<_, usize>(&processing).await.unwrap() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    consumer.signal("INT");
    let status = consumer
        .wait_timeout(Duration::from_secs(2))
        .expect("the timeout bounds the stop");
    assert!(status.success());
    assert_eq!(huey.pending_count().await.unwrap(), 1);
}

#[tokio::test]
async fn test_sighup_restarts_in_place() {
    let server = RedisServer::start();
    let huey = huey_on(&server, "hup").await;
    let mut consumer = ConsumerProcess::spawn(EXE, &server, "hup", &["-w", "1", "-n", "-q"]);
    let pid = consumer.pid();
    let before = consumer.id().to_owned();
    // A finished task shows the consumer is running (and so listening for signals).
    let mut first = huey_tests::tasks::add::enqueue(&huey, 2, 2).await.unwrap();
    assert_eq!(first.wait(WAIT).await.unwrap(), 4);
    consumer.signal("HUP");
    let line = consumer.next_line();
    let after = line.trim().strip_prefix("ready ").expect("started again");
    assert_ne!(after, before, "a fresh start, with a fresh consumer id");
    assert_eq!(consumer.pid(), pid, "the same process");
    let mut sum = huey_tests::tasks::add::enqueue(&huey, 1, 2).await.unwrap();
    assert_eq!(sum.wait(WAIT).await.unwrap(), 3);
    consumer.signal("INT");
    assert!(consumer.wait().success());
}

#[tokio::test]
async fn test_banner_logs_and_flush_locks() {
    let server = RedisServer::start();
    let huey = huey_on(&server, "banner").await;
    huey.put("banner.lock.stale", &1).await.unwrap();
    huey.put("banner.lock.other", &1).await.unwrap();
    let log = server.dir().join("consumer.log");
    let log_arg = log.display().to_string();
    let consumer = ConsumerProcess::spawn(
        EXE,
        &server,
        "banner",
        &["-w", "3", "-k", "thread", "-f", "-l", &log_arg, "-S"],
    );
    let mut sum = huey_tests::tasks::add::enqueue(&huey, 2, 2).await.unwrap();
    assert_eq!(sum.wait(WAIT).await.unwrap(), 4, "started after the banner");
    consumer.signal("INT");
    assert!(consumer.wait().success());

    let text = std::fs::read_to_string(&log).unwrap();
    for expected in [
        "Huey consumer started with 3 thread worker(s)",
        "periodic tasks are enabled",
        "The following tasks are available:",
        "Messages are JSON, unsigned",
        "+ huey_tests::tasks::add (async)",
        "+ huey_tests::tasks::busy (sync)",
        "+ huey_tests::tasks::periodic_probe (async, periodic: crontab(minute = \"*\"))",
        "Found stale locks",
    ] {
        assert!(
            text.contains(expected),
            "missing {expected:?} in the log:\n{text}"
        );
    }
    assert!(
        !text.contains(" INFO "),
        "-S logs time and message only:\n{text}"
    );
    let clock = |line: &str| {
        let b = line.as_bytes();
        b.len() > 9
            && [0, 1, 3, 4, 6, 7].iter().all(|&i| b[i].is_ascii_digit())
            && b[2] == b':'
            && b[5] == b':'
            && b[8] == b' '
    };
    assert!(
        text.lines().all(clock),
        "-S starts each line with the local time, HH:MM:SS:\n{text}"
    );
    assert!(
        !huey
            .storage()
            .has_data_for_key("banner.lock.stale")
            .await
            .unwrap()
    );
    assert!(
        !huey
            .storage()
            .has_data_for_key("banner.lock.other")
            .await
            .unwrap()
    );
}

/// Runs a consumer binary that cannot start; returns its exit code and what it wrote.
fn failed_start(exe: &str) -> (Option<i32>, String) {
    let output = std::process::Command::new(exe)
        .output()
        .expect("run the consumer binary");
    let said = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    (output.status.code(), said)
}

#[test]
fn test_a_binary_without_tasks_says_how_to_link_them_and_exits_1() {
    let (code, said) = failed_start(env!("CARGO_BIN_EXE_no_tasks_consumer"));
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("Error: no task is registered"), "{said}");
    assert!(said.contains("link_tasks!"), "{said}");
    assert!(!said.contains("Registry("), "no Debug dump: {said}");
    assert!(
        !said.contains("Huey consumer started"),
        "no banner first: {said}"
    );
}

#[test]
fn test_a_duplicate_task_name_is_reported_in_words() {
    let (code, said) = failed_start(env!("CARGO_BIN_EXE_duplicate_tasks_consumer"));
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("two tasks are registered as `reports::build`"),
        "{said}"
    );
    assert!(!said.contains("DuplicateName"), "{said}");
}

/// The log of a `-k process` consumer written to a pipe: no colour codes, one banner (the
/// parent's: its children announce nothing of their own), and each task's lines name the
/// worker that ran it.
#[tokio::test]
async fn test_process_consumer_log_is_plain_and_names_each_worker() {
    let server = RedisServer::start();
    let name = "plain-log";
    let huey = huey_on(&server, name).await;
    let path = std::env::temp_dir().join(format!("huey-plain-log-{}.txt", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    let args = ["-w", "2", "-k", "process", "-n", "-v"];
    let consumer = ConsumerProcess::spawn_logging_to(EXE, &server, name, &args, file);
    let mut ran = whoami::map(&huey, vec![0u64; 8]).await.unwrap();
    for handle in &mut ran {
        handle.wait(WAIT).await.unwrap();
    }
    consumer.signal("INT");
    assert!(consumer.wait().success());

    let log = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(!log.contains('\x1b'), "no ANSI codes in a pipe:\n{log}");
    assert_eq!(log.matches("Huey consumer started").count(), 1, "{log}");
    let announced = |l: &&str| l.contains("INFO") && l.contains("consumer starting");
    assert!(!log.lines().any(|l| announced(&l)), "{log}");
    let children = log.lines().filter(|l| l.contains("process{worker="));
    assert!(children.count() > 0, "the children's lines say so:\n{log}");
    let task_lines: Vec<&str> = log.lines().filter(|l| l.contains("task{")).collect();
    assert!(!task_lines.is_empty(), "-v logs each task:\n{log}");
    assert!(
        task_lines.iter().all(|l| l.contains("worker{id=")),
        "every task line names its worker:\n{log}"
    );
}
