//! A user's project outside the workspace (`tests/user-app`: a task library and a binary with
//! subcommands, depending on the `huey` crate alone, as the README shows), built and driven
//! here: its consumer subcommand runs process workers, which must re-run that subcommand.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use huey_tests::consumer_process::ConsumerProcess;
use huey_tests::redis_server::RedisServer;

/// Builds the project (with its own lock file) and returns its binary.
fn build() -> PathBuf {
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("user-app");
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/user-app");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--locked", "--quiet", "--manifest-path"])
        .arg(project.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("run cargo");
    assert!(status.success(), "the user's project builds");
    target.join("debug").join("app")
}

/// Runs `app <args>` against `server` and returns what it printed.
fn app(exe: &Path, server: &RedisServer, args: &[&str]) -> String {
    let output = Command::new(exe)
        .args(args)
        .env("HUEY_REDIS_URL", server.url())
        .stderr(Stdio::inherit())
        .output()
        .expect("run app");
    assert!(output.status.success(), "app {args:?} failed");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn test_a_users_binary_with_subcommands_runs_process_workers() {
    let exe = build();
    let server = RedisServer::start();
    let mut worker = ConsumerProcess::spawn_unready(
        exe.to_str().unwrap(),
        &server,
        &["worker", "-w", "2", "-k", "process", "-n", "-q"],
    );
    // The parent of process workers runs none itself: a result means a child re-ran
    // `app worker` and took the task.
    assert_eq!(app(&exe, &server, &["add", "20", "22"]), "42\n");
    assert_eq!(app(&exe, &server, &["shout", "hello"]), "HELLO\n");
    worker.signal("INT");
    let status = worker.wait_timeout(std::time::Duration::from_secs(30));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}
