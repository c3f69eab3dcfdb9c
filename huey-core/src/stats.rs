//! The stats history's recording side: a consumer counts each execution in a [`Tally`] (per
//! minute, task and outcome, with run-time and queue-latency sums) and adds the tally to the
//! storage every [`FLUSH_EVERY`] and when it stops, so a storage write is paid per flush,
//! not per task. Reading is [`Huey::stats`](crate::Huey::stats).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::metrics::Ending;
use crate::storage::{MinuteStats, Storage};

/// How often a consumer adds what it counted to the storage.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_secs(2);

/// The default retention of the stats history: a week.
pub(crate) const DEFAULT_KEEP: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// What one execution measured: its body's run time and its wait before it, when it ran one.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Measured {
    pub run_time: Duration,
    pub queue_latency: Duration,
}

/// A minute (as Unix minutes), a task name and an outcome.
type Key = (i64, &'static str, Ending);

/// What a consumer has counted since its last flush.
#[derive(Default)]
pub(crate) struct Tally {
    rows: Mutex<HashMap<Key, (u64, Measured)>>,
    /// Rows a flush could not write; also what serialises flushes.
    unwritten: tokio::sync::Mutex<Vec<MinuteStats>>,
}

impl Tally {
    fn rows(&self) -> MutexGuard<'_, HashMap<Key, (u64, Measured)>> {
        self.rows.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one execution of `task` that ended as `outcome` now.
    pub(crate) fn count(&self, task: &'static str, outcome: Ending, measured: Measured) {
        let minute = Utc::now().timestamp().div_euclid(60);
        let mut rows = self.rows();
        let (count, sums) = rows.entry((minute, task, outcome)).or_default();
        *count += 1;
        sums.run_time += measured.run_time;
        sums.queue_latency += measured.queue_latency;
    }

    /// Takes what was counted, as stats rows.
    fn take(&self) -> Vec<MinuteStats> {
        let rows = std::mem::take(&mut *self.rows());
        rows.into_iter()
            .map(|((minute, task, outcome), (count, sums))| {
                let at = DateTime::<Utc>::from_timestamp(minute * 60, 0).unwrap_or_default();
                MinuteStats::new(
                    at,
                    task,
                    outcome.as_str(),
                    count,
                    sums.run_time,
                    sums.queue_latency,
                )
            })
            .collect()
    }

    /// Adds what was counted to the storage, with what earlier flushes could not write; on
    /// failure keeps it all for the next flush.
    async fn flush(&self, storage: &dyn Storage, keep: Duration) {
        let mut unwritten = self.unwritten.lock().await;
        let rows = merged(unwritten.drain(..).chain(self.take()));
        if rows.is_empty() {
            return;
        }
        if let Err(error) = storage.record_stats(&rows, keep).await {
            tracing::warn!(error = %crate::error_chain(&error), "could not add to the stats history; will retry");
            *unwritten = rows;
            // A long outage must not grow the tally without bound: the oldest minutes go.
            if unwritten.len() > MAX_UNWRITTEN {
                unwritten.sort_by_key(|row| std::cmp::Reverse(row.minute));
                unwritten.truncate(MAX_UNWRITTEN);
            }
        }
    }
}

/// Rows an outage may hold back before the oldest are dropped.
const MAX_UNWRITTEN: usize = 100_000;

/// One row per minute, task and outcome: a storage may refuse to add to one row twice in one
/// call.
fn merged(rows: impl Iterator<Item = MinuteStats>) -> Vec<MinuteStats> {
    let mut by_key: HashMap<(DateTime<Utc>, String, String), MinuteStats> = HashMap::new();
    for row in rows {
        by_key
            .entry((row.minute, row.task.clone(), row.outcome.clone()))
            .and_modify(|kept| kept.add(&row))
            .or_insert(row);
    }
    by_key.into_values().collect()
}

/// Flushes `tally` every [`FLUSH_EVERY`] until `done`, then once more.
pub(crate) async fn flush_until(
    storage: Arc<dyn Storage>,
    tally: Arc<Tally>,
    keep: Duration,
    mut done: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(FLUSH_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            biased;
            _ = done.wait_for(|d| *d) => break,
            _ = ticker.tick() => {}
        }
        tally.flush(&*storage, keep).await;
    }
    tally.flush(&*storage, keep).await;
}
