//! Process workers (unix): child processes that run the same consumer binary as one worker
//! each. The parent runs a consumer with no worker (the scheduler), replaces children that exit
//! at each health check, and relays stop requests as signals. Children live in their own process
//! group, so a terminal's Ctrl-C reaches only the parent, which decides what the children are
//! told.

use std::time::Duration;

use nix::sys::signal::{Signal as UnixSignal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

/// Set in a child's environment to the worker id it runs.
pub(crate) const WORKER_ENV: &str = "HUEY_CONSUMER_WORKER";

/// The worker id this process runs, when it is a process worker started by a parent.
pub(crate) fn worker_id() -> Option<usize> {
    std::env::var(WORKER_ENV).ok()?.parse().ok()
}

/// In a process worker: stop (and give back the claims) if the parent dies without telling us,
/// by asking the kernel for the immediate signal then (Linux only; elsewhere the child runs on).
pub(crate) fn stop_with_parent(graceful_term: bool) {
    #[cfg(target_os = "linux")]
    {
        let immediate = if graceful_term {
            UnixSignal::SIGINT
        } else {
            UnixSignal::SIGTERM
        };
        let _ = nix::sys::prctl::set_pdeathsig(immediate);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = graceful_term;
}

/// How long children get to stop after an immediate stop before they are killed.
const KILL_AFTER: Duration = Duration::from_secs(2);

pub(crate) struct ProcessPool {
    children: Vec<Option<Child>>,
    args: Vec<String>,
    graceful: UnixSignal,
    immediate: UnixSignal,
}

impl ProcessPool {
    /// Starts `workers` children with ids from 0, each running this binary with `args`.
    pub(crate) fn start(workers: usize, args: Vec<String>, graceful_term: bool) -> ProcessPool {
        let (graceful, immediate) = if graceful_term {
            (UnixSignal::SIGTERM, UnixSignal::SIGINT)
        } else {
            (UnixSignal::SIGINT, UnixSignal::SIGTERM)
        };
        let mut pool = ProcessPool {
            children: Vec::new(),
            args,
            graceful,
            immediate,
        };
        pool.children = (0..workers).map(|id| pool.spawn(id)).collect();
        pool
    }

    fn spawn(&self, id: usize) -> Option<Child> {
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(error) => {
                tracing::error!(worker = id, %error, "cannot find the consumer binary");
                return None;
            }
        };
        let spawned = Command::new(exe)
            .args(&self.args)
            .env(WORKER_ENV, id.to_string())
            .process_group(0)
            .spawn();
        match spawned {
            Ok(child) => {
                tracing::info!(worker = id, pid = child.id(), "worker process started");
                Some(child)
            }
            Err(error) => {
                tracing::error!(worker = id, %error, "cannot start a worker process");
                None
            }
        }
    }

    /// The health check: a child that exited is replaced.
    pub(crate) fn replace_exited(&mut self) {
        for id in 0..self.children.len() {
            let exited = match &mut self.children[id] {
                Some(child) => match child.try_wait() {
                    Ok(Some(status)) => {
                        tracing::warn!(worker = id, %status, "worker process died; restarting it");
                        true
                    }
                    Ok(None) => false,
                    Err(error) => {
                        tracing::warn!(worker = id, %error, "cannot check a worker process");
                        false
                    }
                },
                None => true,
            };
            if exited {
                self.children[id] = self.spawn(id);
            }
        }
    }

    fn signal(&self, signal: UnixSignal) {
        for child in self.children.iter().flatten() {
            if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                let _ = kill(Pid::from_raw(pid), signal);
            }
        }
    }

    /// Waits for every child to exit.
    pub(crate) async fn wait_all(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.wait().await;
        }
    }

    /// Relays a graceful stop to the children; [`wait_all`](Self::wait_all) waits for them.
    pub(crate) fn stop_gracefully(&self) {
        self.signal(self.graceful);
    }

    /// Relays an immediate stop (now, or to escalate a graceful one) and waits for the children;
    /// those that still run after [`KILL_AFTER`] are killed.
    pub(crate) async fn stop_now(&mut self) {
        self.signal(self.immediate);
        if tokio::time::timeout(KILL_AFTER, self.wait_all())
            .await
            .is_err()
        {
            tracing::warn!("worker processes did not stop; killing them");
            self.signal(UnixSignal::SIGKILL);
            self.wait_all().await;
        }
    }
}
