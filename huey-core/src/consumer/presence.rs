//! The consumer's presence record: who it is and what it runs, published to the storage every
//! [`ConsumerInfo::HEARTBEAT`] (and at once when the pause flag changes), removed at a clean
//! stop. Workers note the tasks they start in [`InFlight`]; the publisher only reads it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::pause::Paused;
use crate::runtime::{ConsumerInfo, InFlightTask};
use crate::storage::Storage;
use crate::task::ProgressSlot;

/// The tasks this consumer's workers are running, each with where it reports its progress.
#[derive(Default)]
pub(crate) struct InFlight {
    tasks: Mutex<BTreeMap<u64, (InFlightTask, ProgressSlot)>>,
    next: AtomicU64,
}

/// A task noted in [`InFlight`] for as long as this lives.
pub(crate) struct Running<'a> {
    set: &'a InFlight,
    key: u64,
    progress: ProgressSlot,
}

impl Running<'_> {
    /// Where the task reports its progress (see [`Task::report_progress`](crate::Task::report_progress)).
    pub(crate) fn progress(&self) -> ProgressSlot {
        self.progress.clone()
    }
}

impl InFlight {
    fn tasks(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, (InFlightTask, ProgressSlot)>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes task `id` (`name`) as started now, until the returned guard is dropped.
    pub(crate) fn start(&self, id: &str, name: &str) -> Running<'_> {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        let task = InFlightTask::new(id.to_owned(), name.to_owned(), Utc::now());
        let progress = ProgressSlot::default();
        self.tasks().insert(key, (task, progress.clone()));
        Running {
            set: self,
            key,
            progress,
        }
    }

    /// The tasks running, oldest first, with their latest progress.
    fn snapshot(&self) -> Vec<InFlightTask> {
        self.tasks()
            .values()
            .map(|(task, progress)| {
                let mut task = task.clone();
                task.progress = progress.get();
                task
            })
            .collect()
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.set.tasks().remove(&self.key);
    }
}

/// What does not change while the consumer runs.
pub(super) struct Identity {
    pub queue: String,
    pub worker_kind: String,
    pub workers: usize,
}

/// Publishes the record until `done`, then removes it.
pub(super) async fn run(
    storage: Arc<dyn Storage>,
    identity: Identity,
    in_flight: Arc<InFlight>,
    mut paused: Paused,
    mut done: watch::Receiver<bool>,
) {
    let id = uuid::Uuid::new_v4().to_string();
    let started_at = Utc::now();
    let hostname = hostname();
    let mut ticker = tokio::time::interval(ConsumerInfo::HEARTBEAT);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Once the pause watch has ended (the consumer is stopping) only the ticker remains.
    let mut watching = true;
    loop {
        tokio::select! {
            biased;
            _ = done.wait_for(|d| *d) => break,
            changed = paused.changed(), if watching => watching = changed.is_ok(),
            _ = ticker.tick() => {}
        }
        let now = Utc::now();
        let info = ConsumerInfo {
            id: id.clone(),
            hostname: hostname.clone(),
            pid: std::process::id(),
            queue: identity.queue.clone(),
            started_at,
            heartbeat: now,
            worker_kind: identity.worker_kind.clone(),
            workers: identity.workers,
            paused: super::pause::is_paused(&paused),
            in_flight: in_flight.snapshot(),
        };
        if let Err(error) = publish(&*storage, &info, now).await {
            tracing::warn!(error = %crate::error_chain(&error), "could not publish this consumer's presence record; will retry");
        }
    }
    if let Err(error) = storage.delete_presence(&id).await {
        tracing::warn!(error = %crate::error_chain(&error), "could not remove this consumer's presence record; it goes stale on its own");
    }
}

async fn publish(
    storage: &dyn Storage,
    info: &ConsumerInfo,
    now: DateTime<Utc>,
) -> Result<(), crate::StorageError> {
    // A record of plain strings and numbers always serializes.
    let record = serde_json::to_vec(info).unwrap_or_default();
    storage.put_presence(&info.id, record, now).await
}

/// The host's name, from the kernel on Linux, else the environment; "unknown" when neither
/// says (a dependency for one string would cost more than it gives).
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}
