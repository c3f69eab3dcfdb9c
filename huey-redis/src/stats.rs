//! The stats history on Redis: a hash per minute (`huey.stats.<name>.<unix minute>`) whose
//! fields are `<sum>:<outcome>:<task>` (`n` the count, `r` the run time and `w` the queue
//! latency, in microseconds), added to with HINCRBY and expiring when the retention ends, and
//! a ZSET of the minutes stored, so that a read visits only those.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use huey_core::StorageError;
use huey_core::storage::{MinuteStats, StorageResult, retention_horizon};
use redis::aio::ConnectionManager;

use crate::errors::backend;

/// Where one namespace keeps its history.
#[derive(Debug, Clone)]
pub(crate) struct StatsKeys {
    /// The minutes' hashes: this, then the Unix minute.
    pub prefix: String,
    /// A ZSET of the stored minutes, scored by the Unix minute.
    pub minutes: String,
}

impl StatsKeys {
    fn minute(&self, minute: i64) -> String {
        format!("{}{minute}", self.prefix)
    }
}

fn unix_minute(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

/// Adds `rows` in one MULTI; rows already past the retention are not written.
pub(crate) async fn record(
    mut conn: ConnectionManager,
    keys: &StatsKeys,
    rows: &[MinuteStats],
    keep: Duration,
) -> StorageResult<()> {
    let now = Utc::now();
    let horizon = unix_minute(retention_horizon(now, keep));
    let mut pipe = redis::pipe();
    pipe.atomic();
    for row in rows {
        let minute = unix_minute(row.minute);
        if minute < horizon {
            continue;
        }
        let key = keys.minute(minute);
        let field = |sum: &str| format!("{sum}:{}:{}", row.outcome, row.task);
        let [count, run_us, wait_us] = row.stored();
        pipe.hincr(&key, field("n"), count).ignore();
        pipe.hincr(&key, field("r"), run_us).ignore();
        pipe.hincr(&key, field("w"), wait_us).ignore();
        // The hash lives until its minute leaves the retention.
        let ttl = (minute - horizon + 1) * 60;
        pipe.expire(&key, ttl).ignore();
        pipe.zadd(&keys.minutes, minute, minute).ignore();
    }
    pipe.zrembyscore(&keys.minutes, "-inf", format!("({horizon}"))
        .ignore();
    let ttl = i64::try_from(keep.as_secs())
        .unwrap_or(i64::MAX)
        .saturating_add(60);
    pipe.expire(&keys.minutes, ttl).ignore();
    pipe.query_async::<()>(&mut conn).await.map_err(backend)
}

/// The rows from `since`'s minute on, ordered by minute, task and outcome.
pub(crate) async fn read(
    mut conn: ConnectionManager,
    keys: &StatsKeys,
    since: DateTime<Utc>,
) -> StorageResult<Vec<MinuteStats>> {
    let minutes: Vec<i64> = redis::cmd("ZRANGEBYSCORE")
        .arg(&keys.minutes)
        .arg(unix_minute(since))
        .arg("+inf")
        .query_async(&mut conn)
        .await
        .map_err(backend)?;
    let mut rows = Vec::new();
    // Pipelined in chunks, so that a week's history is a few round trips, not ten thousand.
    for chunk in minutes.chunks(500) {
        let mut pipe = redis::pipe();
        for minute in chunk {
            pipe.hgetall(keys.minute(*minute));
        }
        let hashes: Vec<Vec<(String, i64)>> = pipe.query_async(&mut conn).await.map_err(backend)?;
        for (minute, fields) in chunk.iter().zip(hashes) {
            rows.extend(parse_minute(*minute, fields)?);
        }
    }
    Ok(rows)
}

fn invalid(what: String) -> StorageError {
    StorageError::Invalid(what.into())
}

/// One minute's hash as rows, ordered by task and outcome.
fn parse_minute(minute: i64, fields: Vec<(String, i64)>) -> StorageResult<Vec<MinuteStats>> {
    let at = DateTime::<Utc>::from_timestamp(minute * 60, 0)
        .ok_or_else(|| invalid(format!("stats minute {minute} is out of range")))?;
    let mut sums: BTreeMap<(String, String), [i64; 3]> = BTreeMap::new();
    for (field, value) in fields {
        let mut parts = field.splitn(3, ':');
        let (Some(sum), Some(outcome), Some(task)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid(format!("stats field `{field}` is malformed")));
        };
        let slot = match sum {
            "n" => 0,
            "r" => 1,
            "w" => 2,
            _ => return Err(invalid(format!("stats field `{field}` is malformed"))),
        };
        sums.entry((task.to_owned(), outcome.to_owned()))
            .or_default()[slot] = value;
    }
    Ok(sums
        .into_iter()
        .map(|((task, outcome), stored)| MinuteStats::from_stored(at, task, outcome, stored))
        .collect())
}
