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

/// What one minute of one task's executions that ended one way added up to.
struct Counted {
    /// Unix minutes.
    minute: i64,
    /// A registered task's name (or the unknown-task label): `'static`, so compared by address.
    task: &'static str,
    outcome: Ending,
    count: u64,
    sums: Measured,
}

/// What a consumer has counted since its last flush.
#[derive(Default)]
pub(crate) struct Tally {
    /// A few entries (the tasks and outcomes of the last seconds), searched from the newest:
    /// cheaper per task than hashing a name.
    counted: Mutex<Vec<Counted>>,
    /// Rows a flush could not write; also what serialises flushes.
    unwritten: tokio::sync::Mutex<Vec<MinuteStats>>,
}

impl Tally {
    fn counted(&self) -> MutexGuard<'_, Vec<Counted>> {
        self.counted.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one execution of `task` that ended as `outcome` now. Its timings count only
    /// when its body ran: a lock or rate limit that refused it timed just its admission.
    pub(crate) fn count(&self, task: &'static str, outcome: Ending, measured: Measured) {
        let measured = if outcome.ran_body() {
            measured
        } else {
            Measured::default()
        };
        let minute = Utc::now().timestamp().div_euclid(60);
        let mut counted = self.counted();
        let found = counted
            .iter_mut()
            .rev()
            .find(|c| c.minute == minute && c.outcome == outcome && std::ptr::eq(c.task, task));
        match found {
            Some(entry) => {
                entry.count += 1;
                entry.sums.run_time += measured.run_time;
                entry.sums.queue_latency += measured.queue_latency;
            }
            None => counted.push(Counted {
                minute,
                task,
                outcome,
                count: 1,
                sums: measured,
            }),
        }
    }

    /// Takes what was counted, as stats rows (one name may sit at two addresses: the rows
    /// are merged before they are written).
    fn take(&self) -> Vec<MinuteStats> {
        let counted = std::mem::take(&mut *self.counted());
        counted
            .into_iter()
            .map(|c| {
                let at = DateTime::<Utc>::from_timestamp(c.minute * 60, 0).unwrap_or_default();
                MinuteStats::new(
                    at,
                    c.task,
                    c.outcome.as_str(),
                    c.count,
                    c.sums.run_time,
                    c.sums.queue_latency,
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
