//! The README's main command works: `cargo run --example quickstart` with no server, and with
//! `--redis URL` against a test-started server, and with `--sqlite PATH` on a temporary file.

use std::process::Command;

use huey_tests::redis_server::RedisServer;

fn quickstart(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = Command::new(cargo)
        .current_dir(workspace)
        .args(["run", "--quiet", "--example", "quickstart", "--"])
        .args(args)
        .env_remove("HUEY_REDIS_URL")
        .output()
        .expect("run cargo");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "quickstart failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn assert_prints_every_result(stdout: &str) {
    for line in [
        "add(1, 2) = 3",
        "add(20, 22) after 300ms = 42",
        "word_count(..) = 4",
        "word_count(\"\") failed: nothing to count",
        "add(1, 2) then add(10, _) = 13",
        "word counts [2, 3, 1], total 6",
        "generate_report(acme) = report for acme",
        "report db opened 1 time(s), closed 1 time(s)",
        "maintenance was cancelled by the pre_execute hook",
        "done",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
}

#[test]
fn test_quickstart_runs_with_no_server() {
    let stdout = quickstart(&[]);
    assert!(stdout.contains("storage: in memory"));
    assert_prints_every_result(&stdout);
}

#[test]
fn test_quickstart_runs_on_redis() {
    let server = RedisServer::start();
    let stdout = quickstart(&["--redis", &server.url()]);
    assert!(stdout.contains("storage: redis"));
    assert_prints_every_result(&stdout);
}

#[test]
fn test_quickstart_runs_on_sqlite() {
    let dir = huey_tests::temp::TempDir::new("quickstart");
    let path = dir.path().join("huey.db");
    let stdout = quickstart(&["--sqlite", path.to_str().expect("a UTF-8 path")]);
    assert!(stdout.contains("storage: sqlite file"));
    assert_prints_every_result(&stdout);
    assert!(path.exists(), "the queue lives in the file");
}
