//! A PostgreSQL restart while a consumer runs: the consumer survives and finishes every task.
//! The server is a private one this test starts (`initdb` in a temporary folder, run as the
//! `postgres` user, on a free port) and stops; the machine's own server is never touched.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use huey_core::prelude::*;
use huey_postgres::{PostgresOptions, PostgresStorage};

const BIN: &str = "/usr/lib/postgresql/15/bin";
const TASKS: i32 = 600;

/// A private PostgreSQL server, stopped and deleted on drop.
struct PrivateServer {
    dir: PathBuf,
    port: u16,
}

/// Runs a PostgreSQL program as the `postgres` user (the server refuses to run as root).
fn as_postgres(program: &str, args: &[&str]) {
    let status = Command::new("runuser")
        .args(["-u", "postgres", "--", &format!("{BIN}/{program}")])
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("run {program} as postgres: {e}"));
    assert!(status.success(), "{program} {args:?} failed: {status}");
}

impl PrivateServer {
    fn start() -> PrivateServer {
        let dir = std::env::temp_dir().join(format!("huey-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temporary folder");
        let chown = Command::new("chown").arg("postgres").arg(&dir).status();
        assert!(
            chown.is_ok_and(|s| s.success()),
            "chown the folder to postgres"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let server = PrivateServer { dir, port };
        as_postgres(
            "initdb",
            &[
                "-D",
                &server.data(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        server.pg_ctl_start();
        server
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn pg_ctl_start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log").display().to_string();
        as_postgres(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    fn stop(&self, mode: &str) {
        as_postgres("pg_ctl", &["-D", &self.data(), "-m", mode, "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--", &format!("{BIN}/pg_ctl")])
            .args(["-D", &self.data(), "-m", "immediate", "-w", "stop"])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static RAN: Mutex<Option<HashSet<i32>>> = Mutex::new(None);

fn ran() -> usize {
    RAN.lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map_or(0, HashSet::len)
}

#[task]
async fn step(n: i32) {
    tokio::time::sleep(Duration::from_millis(20)).await;
    RAN.lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashSet::new)
        .insert(n);
}

async fn until(within: Duration, what: &str, check: impl Fn() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_while_a_consumer_runs() {
    let server = PrivateServer::start();
    let storage =
        PostgresStorage::connect_with("restart", &server.url(), PostgresOptions::default())
            .await
            .expect("connect to the private server");
    let huey = Huey::new("restart", storage);
    let messages = (0..TASKS)
        .map(|n| step::call(n).into_message())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let _handles = huey.enqueue_messages::<()>(messages).await.unwrap();
    let consumer = Consumer::builder(&huey)
        .workers(4)
        .start()
        .expect("consumer");
    until(Duration::from_secs(60), "100 tasks ran", || ran() >= 100).await;

    // A real outage: the server goes down with tasks running, stays down a moment, returns.
    server.stop("fast");
    let down_at = ran();
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.pg_ctl_start();
    eprintln!("restarted the server after {down_at} of {TASKS} tasks");
    assert!(down_at < TASKS as usize, "the restart came in the middle");

    until(
        Duration::from_secs(90),
        "every task ran after the restart",
        || ran() == TASKS as usize,
    )
    .await;
    let mut left = huey.pending_count().await;
    // Settlements delayed by the outage may still be landing: the queue empties.
    let emptied = Instant::now();
    while !matches!(left, Ok(0)) {
        assert!(
            emptied.elapsed() < Duration::from_secs(30),
            "the queue empties: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = huey.pending_count().await;
    }
    consumer
        .shutdown()
        .await
        .expect("the consumer survived and stops cleanly");
}
