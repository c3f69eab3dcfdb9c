//! Process workers: child processes that run the same consumer binary as one worker each. The
//! parent keeps the scheduler, replaces children that exit at each health check, and relays
//! stop requests as signals. Children live in their own process group, so a terminal's Ctrl-C
//! reaches only the parent, which decides what the children are told.

use std::time::Duration;

use nix::sys::signal::{Signal as UnixSignal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::sync::watch;

use super::{ConsumerBuilder, Stop, stopped};

/// Set in a child's environment to the worker id it runs.
pub(crate) const WORKER_ENV: &str = "HUEY_CONSUMER_WORKER";

/// How long children get to stop after an immediate stop before they are killed.
const KILL_AFTER: Duration = Duration::from_secs(2);

pub(super) struct ProcessPool {
    children: Vec<Option<Child>>,
    args: Vec<String>,
    first_id: usize,
    graceful: UnixSignal,
    immediate: UnixSignal,
}

impl ProcessPool {
    pub(super) fn start(config: &ConsumerBuilder) -> ProcessPool {
        let (graceful, immediate) = if config.graceful_term {
            (UnixSignal::SIGTERM, UnixSignal::SIGINT)
        } else {
            (UnixSignal::SIGINT, UnixSignal::SIGTERM)
        };
        let mut pool = ProcessPool {
            children: Vec::new(),
            args: config.process_args.clone(),
            first_id: config.first_worker_id,
            graceful,
            immediate,
        };
        pool.children = (0..config.workers)
            .map(|i| pool.spawn(config.first_worker_id + i))
            .collect();
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
    pub(super) fn replace_exited(&mut self) {
        for i in 0..self.children.len() {
            let id = self.first_id + i;
            let exited = match &mut self.children[i] {
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
                self.children[i] = self.spawn(id);
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

    async fn wait_all(children: &mut [Option<Child>]) {
        for child in children.iter_mut().flatten() {
            let _ = child.wait().await;
        }
    }

    /// Relays the stop to the children and waits for them; an immediate stop (asked for now or
    /// later) is relayed too, and children that still run after it are killed.
    pub(super) async fn stop(mut self, mut stop: watch::Receiver<Stop>) {
        let immediate = *stop.borrow() == Stop::Immediate;
        self.signal(if immediate {
            self.immediate
        } else {
            self.graceful
        });
        if !immediate {
            tokio::select! {
                _ = ProcessPool::wait_all(&mut self.children) => return,
                _ = stopped(&mut stop, Stop::Immediate) => {}
            }
            self.signal(self.immediate);
        }
        if tokio::time::timeout(KILL_AFTER, ProcessPool::wait_all(&mut self.children))
            .await
            .is_err()
        {
            tracing::warn!("worker processes did not stop; killing them");
            self.signal(UnixSignal::SIGKILL);
            ProcessPool::wait_all(&mut self.children).await;
        }
    }
}
