//! A consumer running as a separate process (the `test_consumer` binary), for tests that need
//! a real second process: cross-process delivery, signals, `kill -9`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::redis_server::RedisServer;

/// A `test_consumer` process; killed on drop if the test did not stop it.
pub struct ConsumerProcess {
    child: Child,
    id: String,
    // Kept open: the consumer (and its worker processes) may still write to stdout.
    stdout: BufReader<std::process::ChildStdout>,
}

impl ConsumerProcess {
    /// Starts `exe` (the test's `env!("CARGO_BIN_EXE_test_consumer")`) with consumer flags
    /// `args`, on queue `name` of `server`, and waits until it is connected.
    pub fn spawn(exe: &str, server: &RedisServer, name: &str, args: &[&str]) -> ConsumerProcess {
        ConsumerProcess::spawn_with(exe, server, name, args, &[])
    }

    /// [`spawn`](Self::spawn) with extra environment variables (the binary's settings).
    pub fn spawn_with(
        exe: &str,
        server: &RedisServer,
        name: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> ConsumerProcess {
        ConsumerProcess::launch(exe, server, name, args, env, Stdio::inherit())
    }

    /// [`spawn_with`](Self::spawn_with), its standard error (the log) written to `stderr`.
    pub fn spawn_logging_to(
        exe: &str,
        server: &RedisServer,
        name: &str,
        args: &[&str],
        stderr: std::fs::File,
    ) -> ConsumerProcess {
        ConsumerProcess::launch(exe, server, name, args, &[], stderr.into())
    }

    /// Starts a binary that does not print `ready <id>` (a user's own), with `args`, on
    /// `server`; it is not waited for.
    pub fn spawn_unready(exe: &str, server: &RedisServer, args: &[&str]) -> ConsumerProcess {
        let mut child = Command::new(exe)
            .args(args)
            .env("HUEY_REDIS_URL", server.url())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the binary");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        ConsumerProcess {
            child,
            id: String::new(),
            stdout,
        }
    }

    /// Starts `exe` on queue `name` of the SQLite file at `path` (`HUEY_TEST_SQLITE`, no Redis),
    /// recording runs in the same file, with extra environment `env`, its standard error
    /// written to `stderr`; waits until it is connected.
    pub fn spawn_on_sqlite(
        exe: &str,
        path: &std::path::Path,
        name: &str,
        args: &[&str],
        env: &[(&str, &str)],
        stderr: std::fs::File,
    ) -> ConsumerProcess {
        let mut command = Command::new(exe);
        command
            .args(args)
            .envs(env.iter().copied())
            .stderr(stderr)
            .env_remove("HUEY_REDIS_URL")
            .env("HUEY_TEST_SQLITE", path)
            .env("HUEY_TEST_NAME", name)
            .env("HUEY_TEST_RUN_LOG", format!("sqlite:{}", path.display()));
        ConsumerProcess::ready(command)
    }

    fn launch(
        exe: &str,
        server: &RedisServer,
        name: &str,
        args: &[&str],
        env: &[(&str, &str)],
        stderr: Stdio,
    ) -> ConsumerProcess {
        let mut command = Command::new(exe);
        command
            .args(args)
            .envs(env.iter().copied())
            .stderr(stderr)
            .env("HUEY_REDIS_URL", server.url())
            .env_remove("HUEY_TEST_SQLITE")
            .env("HUEY_TEST_NAME", name)
            .env("HUEY_TEST_RUN_LOG", server.url());
        ConsumerProcess::ready(command)
    }

    /// Spawns `command` and waits for its `ready <id>` line.
    fn ready(mut command: Command) -> ConsumerProcess {
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("start test_consumer");
        // The process says "ready <consumer id>" once it is connected.
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the ready line");
        let id = line
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        ConsumerProcess { child, id, stdout }
    }

    /// The next line the process writes to stdout (the binary prints `ready <id>` at each
    /// start, including a restart in place).
    pub fn next_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read stdout");
        line
    }

    /// The consumer id of the process's storage.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`INT`, `TERM`, `KILL`, `HUP`).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for the process to exit.
    pub fn wait(mut self) -> ExitStatus {
        self.child.wait().expect("wait for test_consumer")
    }

    /// Waits up to `limit` for the process to exit; `None` if it is still running.
    pub fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("check test_consumer") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ConsumerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
