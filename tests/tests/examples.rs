//! The consumer, producer and shared-resources examples, run as users run them: separate
//! processes against a test-started Redis and the machine's PostgreSQL (`DATABASE_URL`), and the
//! consumer and producer on one SQLite file (`HUEY_SQLITE`).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use huey_core::Huey;
use huey_core::message::Message;
use huey_redis::RedisStorage;
use huey_tests::redis_server::RedisServer;

const WAIT: Duration = Duration::from_secs(30);

/// The path of an example binary, building it if this test run did not.
fn example(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_BIN_EXE_test_consumer"))
        .parent()
        .expect("target dir")
        .join("examples");
    let path = dir.join(name);
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .args(["build", "--quiet", "--example", name])
            .status()
            .expect("run cargo build");
        assert!(status.success());
    }
    path
}

fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// An example consumer process, stopped with SIGINT (graceful) when dropped.
struct Running(Child);

impl Running {
    fn start(name: &str, server: &RedisServer, args: &[&str]) -> Running {
        let child = Command::new(example(name))
            .args(args)
            .env("HUEY_REDIS_URL", server.url())
            .env_remove("HUEY_SQLITE")
            .env("DATABASE_URL", database_url())
            .stdout(Stdio::null())
            .spawn()
            .expect("start the example");
        Running(child)
    }

    /// The example on the SQLite file at `path` (`HUEY_SQLITE`), with no Redis in sight.
    fn start_on_sqlite(name: &str, path: &std::path::Path, args: &[&str]) -> Running {
        let child = Command::new(example(name))
            .args(args)
            .env("HUEY_SQLITE", path)
            .env_remove("HUEY_REDIS_URL")
            .stdout(Stdio::null())
            .spawn()
            .expect("start the example");
        Running(child)
    }

    fn stop(mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        self.0.wait().map(|s| s.success()).unwrap_or(false)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn test_consumer_and_producer_examples() {
    let server = RedisServer::start();
    let consumer = Running::start("consumer", &server, &["-w", "2", "-q"]);
    let output = tokio::task::spawn_blocking({
        let url = server.url();
        move || {
            Command::new(example("producer"))
                .env("HUEY_REDIS_URL", url)
                .env_remove("HUEY_SQLITE")
                .output()
                .expect("run the producer")
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in PRODUCER_LINES {
        assert!(stdout.contains(line), "missing {line:?} in {stdout}");
    }
    assert!(
        consumer.stop(),
        "the consumer example stops gracefully with SIGINT"
    );
}

/// The lines the producer example prints when every task ran.
const PRODUCER_LINES: [&str; 4] = [
    "add(40, 2) = 42",
    "fibonacci(50) = 12586269025",
    "flaky: succeeded with 2 retries left",
    "add over 1..=5 = [11, 22, 33, 44, 55]",
];

#[tokio::test]
async fn test_consumer_and_producer_examples_on_sqlite() {
    let dir = huey_tests::temp::TempDir::new("examples");
    let path = dir.path().join("huey.db");
    let consumer = Running::start_on_sqlite("consumer", &path, &["-w", "2", "-q"]);
    let output = tokio::task::spawn_blocking({
        let path = path.clone();
        move || {
            Command::new(example("producer"))
                .env("HUEY_SQLITE", path)
                .env_remove("HUEY_REDIS_URL")
                .output()
                .expect("run the producer")
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for line in PRODUCER_LINES {
        assert!(stdout.contains(line), "missing {line:?} in {stdout}");
    }
    assert!(
        consumer.stop(),
        "the consumer example stops gracefully with SIGINT"
    );
}

async fn enqueue(huey: &Huey, id: &str, name: &str, args: &str) {
    let message = Message::decode(
        format!(r#"{{"v":1,"id":"{id}","name":"{name}","args":{args}}}"#).as_bytes(),
    )
    .unwrap();
    huey.storage().enqueue(message.encode(), 0).await.unwrap();
}

async fn result(huey: &Huey, id: &str) -> serde_json::Value {
    huey.result::<serde_json::Value>(id)
        .wait(WAIT)
        .await
        .unwrap()
}

/// These tests use the machine's PostgreSQL; without one they fail, saying so, rather than
/// pass without having run.
async fn require_postgres() {
    let url = database_url();
    if let Err(error) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
        panic!(
            "the shared_resources example tests need PostgreSQL at DATABASE_URL={url}, and it \
             is not reachable: {error}. Start it (the CI machine runs one on 127.0.0.1:5432) \
             or point DATABASE_URL at one.",
            error = huey_core::error_chain(&error)
        );
    }
}

async fn each_worker_holds_its_own_connection(kind: &str) {
    require_postgres().await;
    let server = RedisServer::start();
    let huey = Huey::new(
        "shared-resources",
        RedisStorage::connect("shared-resources", &server.url())
            .await
            .unwrap(),
    );
    for i in 0..16 {
        enqueue(
            &huey,
            &format!("q{i}"),
            "shared_resources::run_query",
            "[0.2]",
        )
        .await;
    }
    enqueue(&huey, "own", "shared_resources::own_connection", "[]").await;
    enqueue(&huey, "report", "shared_resources::report", "[7]").await;
    let consumer = Running::start(
        "shared_resources",
        &server,
        &["-w", "4", "-k", kind, "-n", "-q"],
    );

    let mut backend_of_worker: HashMap<u64, HashSet<i64>> = HashMap::new();
    let mut processes = HashSet::new();
    for i in 0..16 {
        let slept = result(&huey, &format!("q{i}")).await;
        let worker = slept["worker"].as_u64().unwrap();
        let backend = slept["backend_pid"].as_i64().unwrap();
        backend_of_worker.entry(worker).or_default().insert(backend);
        processes.insert(slept["pid"].as_u64().unwrap());
    }
    assert_eq!(
        backend_of_worker.len(),
        4,
        "all four workers ran queries: {backend_of_worker:?}"
    );
    for (worker, backends) in &backend_of_worker {
        assert_eq!(
            backends.len(),
            1,
            "worker {worker} reused one connection: {backends:?}"
        );
    }
    let distinct: HashSet<i64> = backend_of_worker.values().flatten().copied().collect();
    assert_eq!(distinct.len(), 4, "each worker held its own connection");
    let expected_processes = if kind == "process" { 4 } else { 1 };
    assert_eq!(processes.len(), expected_processes);

    let own = result(&huey, "own").await.as_i64().unwrap();
    assert!(
        !distinct.contains(&own),
        "own_connection opened a connection of its own"
    );
    let report = result(&huey, "report").await;
    assert_eq!(report[0], 700);
    assert!(
        !distinct.contains(&report[1].as_i64().unwrap()),
        "closing_task opened its own"
    );
    assert!(consumer.stop());
}

#[tokio::test]
async fn test_shared_resources_async_workers() {
    each_worker_holds_its_own_connection("async").await;
}

#[tokio::test]
async fn test_shared_resources_thread_workers() {
    each_worker_holds_its_own_connection("thread").await;
}

#[tokio::test]
async fn test_shared_resources_process_workers() {
    each_worker_holds_its_own_connection("process").await;
}
