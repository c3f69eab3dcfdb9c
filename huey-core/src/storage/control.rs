//! What operators see and steer: consumer presence records, the queue's pause flag and its
//! stats history.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use super::StorageResult;

/// Consumer presence, the pause flag and the stats history, kept apart from stored values: a presence record
/// counted among the results, or wiped by `flush_results`, would lie about both. All
/// required: a default that pretended to pause, or to list consumers, would mislead an
/// operator.
///
/// A **presence record** is the runtime's bytes (JSON: see `huey_core::ConsumerInfo`) under a
/// consumer's id, with the time of its last heartbeat. The storage needs the heartbeat only to
/// drop what is stale; it never reads the record.
///
/// The **pause flag** is one per namespace, and outlives every consumer: a paused queue stays
/// paused across restarts until it is resumed.
///
/// The **stats history** is a row per minute, task and outcome ([`MinuteStats`]). Consumers
/// add what they counted every few seconds; the storage adds it to the row already stored (two
/// consumers counting the same minute add up), and drops rows older than the retention it is
/// given, as a time-to-live.
///
/// ```
/// use huey_core::storage::{ControlStorage, MemoryStorage};
/// use chrono::{Duration, Utc};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), huey_core::StorageError> {
/// let storage = MemoryStorage::new();
/// let now = Utc::now();
/// storage.put_presence("c1", b"{}".to_vec(), now).await?;
/// assert_eq!(storage.presence(now - Duration::seconds(10)).await?, [b"{}".to_vec()]);
/// assert!(storage.presence(now + Duration::seconds(1)).await?.is_empty(), "stale");
///
/// storage.set_paused(true).await?;
/// assert!(storage.paused().await?);
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait ControlStorage: Send + Sync {
    /// Publishes (or replaces) the presence record of consumer `id`, with the time of its
    /// heartbeat.
    async fn put_presence(
        &self,
        id: &str,
        record: Vec<u8>,
        heartbeat: DateTime<Utc>,
    ) -> StorageResult<()>;

    /// Removes consumer `id`'s record (at a clean stop); returns whether there was one.
    async fn delete_presence(&self, id: &str) -> StorageResult<bool>;

    /// The records whose heartbeat is at or after `since`, ordered by consumer id. Older
    /// records are stale (their consumer stopped without a clean stop): they are not returned,
    /// and the storage may delete them.
    async fn presence(&self, since: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>>;

    /// Pauses (`true`) or resumes (`false`) the queue. Setting the state it already has
    /// changes nothing.
    async fn set_paused(&self, paused: bool) -> StorageResult<()>;

    /// Whether the queue is paused. Consumers read it often (a few times a second), so it
    /// must be cheap.
    async fn paused(&self) -> StorageResult<bool>;

    /// Adds each row's count and sums to the stored row of the same minute, task and outcome
    /// (creating it), in one atomic step per row. Rows whose minute is more than `keep` ago
    /// (these or stored ones) may be dropped now.
    async fn record_stats(&self, rows: &[MinuteStats], keep: Duration) -> StorageResult<()>;

    /// The stored rows whose minute starts at or after `since`, ordered by minute, task and
    /// outcome.
    async fn stats(&self, since: DateTime<Utc>) -> StorageResult<Vec<MinuteStats>>;
}

/// One minute of one task's executions that ended one way: a row of the stats history.
///
/// The sums cover the executions whose body ran: the outcomes `complete`, `retrying`, `error`
/// and `timeout` (see [`ran_body`](Self::ran_body)). The others (`revoked`, `locked`,
/// `dead-lettered`, ...) add to the count only, so a mean is taken over those four.
///
/// ```
/// use huey_core::MinuteStats;
/// use chrono::{TimeZone, Utc};
/// use std::time::Duration;
///
/// let at = Utc.with_ymd_and_hms(2026, 12, 2, 9, 30, 42).unwrap();
/// let row = MinuteStats::new(at, "resize", "complete", 4, Duration::from_millis(80), Duration::ZERO);
/// assert_eq!(row.minute, Utc.with_ymd_and_hms(2026, 12, 2, 9, 30, 0).unwrap());
/// assert_eq!(row.mean_run_time(), Some(Duration::from_millis(20)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct MinuteStats {
    /// The start of the minute (UTC).
    pub minute: DateTime<Utc>,
    /// The task's name (`unknown` for a dead letter that names no registered task).
    pub task: String,
    /// How the executions ended: the `outcome` label of [`huey_tasks_total`](crate::metrics)
    /// (`complete`, `retrying`, `error`, `timeout`, `locked`, `rate-limited`, `cancelled`,
    /// `revoked`, `expired`, `dead-lettered`, `interrupted`, `discarded`).
    pub outcome: String,
    /// How many executions.
    pub count: u64,
    /// Their time in the task body, summed.
    #[serde(with = "micros", rename = "run_time_us")]
    pub run_time: Duration,
    /// Their wait from enqueue (or the ETA, when later) to the start of the body, summed.
    #[serde(with = "micros", rename = "queue_latency_us")]
    pub queue_latency: Duration,
}

impl MinuteStats {
    /// A row for the minute that `at` falls in.
    pub fn new(
        at: DateTime<Utc>,
        task: impl Into<String>,
        outcome: impl Into<String>,
        count: u64,
        run_time: Duration,
        queue_latency: Duration,
    ) -> MinuteStats {
        MinuteStats {
            minute: minute_of(at),
            task: task.into(),
            outcome: outcome.into(),
            count,
            run_time,
            queue_latency,
        }
    }

    /// The count and the sums (in microseconds) as a storage keeps them in signed 64-bit
    /// integers, saturating; [`from_stored`](Self::from_stored) reads them back.
    ///
    /// ```
    /// use huey_core::MinuteStats;
    /// use std::time::Duration;
    ///
    /// let row = MinuteStats::new(chrono::Utc::now(), "t", "complete", 2, Duration::from_millis(3), Duration::ZERO);
    /// assert_eq!(row.stored(), [2, 3_000, 0]);
    /// assert_eq!(MinuteStats::from_stored(row.minute, "t", "complete", row.stored()), row);
    /// ```
    pub fn stored(&self) -> [i64; 3] {
        let micros = |d: Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
        [
            i64::try_from(self.count).unwrap_or(i64::MAX),
            micros(self.run_time),
            micros(self.queue_latency),
        ]
    }

    /// A row for the minute `at` falls in, from what [`stored`](Self::stored) gave (a
    /// negative number reads as zero).
    pub fn from_stored(
        at: DateTime<Utc>,
        task: impl Into<String>,
        outcome: impl Into<String>,
        [count, run_us, wait_us]: [i64; 3],
    ) -> MinuteStats {
        let unsigned = |n: i64| u64::try_from(n).unwrap_or(0);
        MinuteStats::new(
            at,
            task,
            outcome,
            unsigned(count),
            Duration::from_micros(unsigned(run_us)),
            Duration::from_micros(unsigned(wait_us)),
        )
    }

    /// Whether this row's executions ran their body, so that its sums mean something: its
    /// outcome is `complete`, `retrying`, `error` or `timeout`.
    pub fn ran_body(&self) -> bool {
        BODY_OUTCOMES.contains(&self.outcome.as_str())
    }

    /// The mean time in the body, when anything was counted.
    pub fn mean_run_time(&self) -> Option<Duration> {
        let count = u32::try_from(self.count).ok().filter(|c| *c > 0)?;
        Some(self.run_time / count)
    }

    /// The mean wait before the body started, when anything was counted.
    pub fn mean_queue_latency(&self) -> Option<Duration> {
        let count = u32::try_from(self.count).ok().filter(|c| *c > 0)?;
        Some(self.queue_latency / count)
    }

    /// Adds `other`'s count and sums to this row's (the same minute, task and outcome).
    pub fn add(&mut self, other: &MinuteStats) {
        self.count += other.count;
        self.run_time += other.run_time;
        self.queue_latency += other.queue_latency;
    }
}

/// The outcomes of executions that ran their body.
const BODY_OUTCOMES: [&str; 4] = ["complete", "retrying", "error", "timeout"];

/// The start of the minute that `at` falls in.
pub fn minute_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::minutes(1)).unwrap_or(at)
}

/// The first minute a stats history kept for `keep` holds at `now`: older rows may go.
///
/// ```
/// use huey_core::storage::retention_horizon;
/// use chrono::{TimeZone, Utc};
/// use std::time::Duration;
///
/// let now = Utc.with_ymd_and_hms(2026, 12, 2, 9, 30, 42).unwrap();
/// let horizon = retention_horizon(now, Duration::from_secs(3600));
/// assert_eq!(horizon, Utc.with_ymd_and_hms(2026, 12, 2, 8, 30, 0).unwrap());
/// assert_eq!(retention_horizon(now, Duration::MAX), chrono::DateTime::<Utc>::MIN_UTC);
/// ```
pub fn retention_horizon(now: DateTime<Utc>, keep: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(keep)
        .ok()
        .and_then(|keep| now.checked_sub_signed(keep))
        .map_or(DateTime::<Utc>::MIN_UTC, minute_of)
}

/// Durations as whole microseconds, the unit every backend stores.
mod micros {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_micros)
    }
}
