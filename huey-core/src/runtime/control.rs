//! Seeing and steering a running queue: the consumers' presence records, and pausing the queue.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::huey::Huey;
use crate::error::HueyError;
use crate::storage::MinuteStats;
use crate::task::Progress;

/// What a running consumer publishes about itself, refreshed every
/// [`HEARTBEAT`](Self::HEARTBEAT) and removed when it stops cleanly; read with
/// [`Huey::consumers`]. Its JSON form (these field names) is stable: the admin command prints
/// it with `--json`, and fields may be added.
///
/// ```
/// # #[huey_core::task] fn ping() {}
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), huey_core::HueyError> {
/// let huey = huey_core::Huey::memory("docs");
/// let consumer = huey_core::Consumer::builder(&huey).workers(2).start()?;
/// let seen = loop {
///     match huey.consumers().await?.pop() {
///         Some(info) => break info,
///         None => tokio::task::yield_now().await,
///     }
/// };
/// assert_eq!((seen.queue.as_str(), seen.workers, seen.pid), ("docs", 2, std::process::id()));
/// consumer.shutdown().await?;
/// assert!(huey.consumers().await?.is_empty(), "a clean stop removes the record");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConsumerInfo {
    /// A UUID given when the consumer started.
    pub id: String,
    /// The host it runs on.
    pub hostname: String,
    /// Its process id.
    pub pid: u32,
    /// The queue (the Huey's name) it consumes.
    pub queue: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it last published this record.
    pub heartbeat: DateTime<Utc>,
    /// How its workers run: `async` or `thread`.
    pub worker_kind: String,
    /// How many workers it runs (0 for a consumer that only schedules, such as the parent of
    /// process workers; each worker process publishes a record of its own).
    pub workers: usize,
    /// Whether it has stopped claiming because the queue is paused.
    #[serde(default)]
    pub paused: bool,
    /// The tasks it is running, oldest first.
    #[serde(default)]
    pub in_flight: Vec<InFlightTask>,
}

impl ConsumerInfo {
    /// How often a consumer refreshes its record. It also publishes at once when it sees the
    /// queue paused or resumed.
    pub const HEARTBEAT: Duration = Duration::from_secs(2);

    /// How old a heartbeat may be before its record is dropped as stale (its consumer stopped
    /// without a clean stop): five missed heartbeats, so a consumer busy for a moment is not
    /// taken for dead.
    pub const STALE_AFTER: Duration = Duration::from_secs(10);
}

/// A task a consumer is running, in its [`ConsumerInfo`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InFlightTask {
    /// The task's id.
    pub id: String,
    /// The task's registered name.
    pub name: String,
    /// When its worker started it.
    pub started_at: DateTime<Utc>,
    /// Its latest [`Task::report_progress`](crate::Task::report_progress), if it made one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
}

impl InFlightTask {
    pub(crate) fn new(id: String, name: String, started_at: DateTime<Utc>) -> InFlightTask {
        InFlightTask {
            id,
            name,
            started_at,
            progress: None,
        }
    }
}

impl Huey {
    /// The live consumers of this queue, by id: those whose heartbeat is younger than
    /// [`ConsumerInfo::STALE_AFTER`]. A record that does not decode is skipped with a warning.
    /// See [`ConsumerInfo`] for an example.
    pub async fn consumers(&self) -> Result<Vec<ConsumerInfo>, HueyError> {
        let stale =
            chrono::Duration::from_std(ConsumerInfo::STALE_AFTER).unwrap_or(chrono::Duration::MAX);
        let since = Utc::now() - stale;
        let records = self.storage().presence(since).await?;
        Ok(records
            .iter()
            .filter_map(|bytes| match serde_json::from_slice(bytes) {
                Ok(info) => Some(info),
                Err(error) => {
                    tracing::warn!(%error, "skipping a consumer presence record that does not decode");
                    None
                }
            })
            .collect())
    }

    /// Pauses the queue: from within a second, no consumer claims from it, and a claim that
    /// was already on its way is given back unstarted (its delivery not counted). Tasks
    /// running go on. The pause is kept in the storage, so it outlives consumer restarts;
    /// enqueueing still works. Undo it with [`resume`](Self::resume).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let huey = huey_core::Huey::memory("docs");
    /// huey.pause().await?;
    /// assert!(huey.is_paused().await?);
    /// huey.resume().await?;
    /// assert!(!huey.is_paused().await?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn pause(&self) -> Result<(), HueyError> {
        self.storage().set_paused(true).await?;
        tracing::info!(queue = self.name(), "queue paused");
        Ok(())
    }

    /// Resumes a paused queue: consumers claim from it again within a second.
    pub async fn resume(&self) -> Result<(), HueyError> {
        self.storage().set_paused(false).await?;
        tracing::info!(queue = self.name(), "queue resumed");
        Ok(())
    }

    /// Whether the queue is paused.
    pub async fn is_paused(&self) -> Result<bool, HueyError> {
        Ok(self.storage().paused().await?)
    }

    /// The stats history from the minute of `since` on: a row per minute, task and outcome,
    /// ordered so, as the consumers of this queue counted them (see
    /// [`ConsumerBuilder::stats_history`](crate::ConsumerBuilder::stats_history)). A
    /// consumer adds its counts every two seconds and when it stops, so the current minute
    /// fills in as it goes.
    ///
    /// ```
    /// use huey_core::prelude::*;
    /// use chrono::{Duration, Utc};
    ///
    /// #[task]
    /// fn double(n: i64) -> i64 {
    ///     n * 2
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("stats-docs");
    /// let since = Utc::now() - Duration::minutes(1);
    /// let consumer = Consumer::builder(&huey).start()?;
    /// for n in 0..3 {
    ///     double::enqueue(&huey, n).await?.wait(std::time::Duration::from_secs(5)).await?;
    /// }
    /// consumer.shutdown().await?; // a stop adds what it counted
    ///
    /// let rows = huey.stats(since).await?;
    /// let completed: u64 = rows.iter().filter(|r| r.outcome == "complete").map(|r| r.count).sum();
    /// assert_eq!(completed, 3);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn stats(&self, since: DateTime<Utc>) -> Result<Vec<MinuteStats>, HueyError> {
        Ok(self.storage().stats(since).await?)
    }
}
