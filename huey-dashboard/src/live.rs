//! The queue's numbers at one moment, the stats history of the last half hour as chart
//! series, and the server-sent event stream that sends both to the overview every refresh
//! interval, so that it updates without a reload.

use std::collections::BTreeMap;
use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use futures::Stream;
use huey_core::storage::minute_of;
use huey_core::{Huey, HueyError, MinuteStats};
use serde::Serialize;

use crate::state::AppState;

/// The depths and the consumers' load at one moment.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Snapshot {
    pub(crate) at: DateTime<Utc>,
    pub(crate) pending: usize,
    pub(crate) scheduled: usize,
    pub(crate) results: usize,
    pub(crate) dead: usize,
    pub(crate) paused: bool,
    pub(crate) consumers: usize,
    pub(crate) workers: usize,
    pub(crate) running: usize,
}

impl Snapshot {
    pub(crate) async fn read(huey: &Huey) -> Result<Snapshot, HueyError> {
        let consumers = huey.consumers().await?;
        Ok(Snapshot {
            at: Utc::now(),
            pending: huey.pending_count().await?,
            scheduled: huey.scheduled_count().await?,
            results: huey.result_count().await?,
            dead: huey.dead_letter_count().await?,
            paused: huey.is_paused().await?,
            consumers: consumers.len(),
            workers: consumers.iter().map(|c| c.workers).sum(),
            running: consumers.iter().map(|c| c.in_flight.len()).sum(),
        })
    }
}

/// How many minutes the charts show, the current one included.
pub(crate) const CHART_MINUTES: usize = 30;

/// The stats history of the last [`CHART_MINUTES`] as the charts draw it: a value per minute
/// (oldest first, minutes without executions included) for each series.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Series {
    /// Each minute's start, `HH:MM` UTC.
    minutes: Vec<String>,
    /// Executions per minute by how they ended (the metrics' outcome labels).
    outcomes: BTreeMap<String, Vec<u64>>,
    /// The mean run time of the executions that ran their body, in milliseconds.
    mean_run_ms: Vec<Option<f64>>,
    /// Their mean wait from enqueue (or ETA) to start, in milliseconds.
    mean_wait_ms: Vec<Option<f64>>,
}

impl Series {
    pub(crate) async fn read(huey: &Huey, now: DateTime<Utc>) -> Result<Series, HueyError> {
        let first = minute_of(now) - chrono::Duration::minutes(CHART_MINUTES as i64 - 1);
        Ok(Series::of(first, &huey.stats(first).await?))
    }

    /// The series of `rows`, over the minutes from `first`.
    fn of(first: DateTime<Utc>, rows: &[MinuteStats]) -> Series {
        let slot = |minute: DateTime<Utc>| {
            usize::try_from((minute - first).num_minutes())
                .ok()
                .filter(|i| *i < CHART_MINUTES)
        };
        let mut outcomes: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        // Per minute, the executions that ran their body, merged into one row for its means.
        let mut timed: Vec<Option<MinuteStats>> = vec![None; CHART_MINUTES];
        for row in rows {
            let Some(i) = slot(row.minute) else { continue };
            outcomes
                .entry(row.outcome.clone())
                .or_insert_with(|| vec![0; CHART_MINUTES])[i] += row.count;
            if row.ran_body() {
                match &mut timed[i] {
                    Some(merged) => merged.add(row),
                    None => timed[i] = Some(row.clone()),
                }
            }
        }
        let millis = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        let mean = |pick: fn(&MinuteStats) -> Option<std::time::Duration>| {
            timed
                .iter()
                .map(|row| row.as_ref().and_then(pick).map(millis))
                .collect()
        };
        Series {
            minutes: (0..CHART_MINUTES)
                .map(|i| {
                    (first + chrono::Duration::minutes(i as i64))
                        .format("%H:%M")
                        .to_string()
                })
                .collect(),
            outcomes,
            mean_run_ms: mean(MinuteStats::mean_run_time),
            mean_wait_ms: mean(MinuteStats::mean_queue_latency),
        }
    }
}

/// `GET /events`: a `snapshot` and a `stats` event every refresh interval (a `storage-error`
/// event, with the message, when the storage fails; the stream goes on and the next tick
/// tries again).
pub(crate) async fn events(
    State(shared): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut ticker = tokio::time::interval(shared.refresh);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ticks = futures::stream::unfold((shared, ticker), |(shared, mut ticker)| async move {
        ticker.tick().await;
        let events = match read(&shared.huey).await {
            // Plain numbers, names and times: serializing cannot fail.
            Ok((snapshot, series)) => vec![
                Event::default()
                    .event("snapshot")
                    .data(serde_json::to_string(&snapshot).unwrap_or_default()),
                Event::default()
                    .event("stats")
                    .data(serde_json::to_string(&series).unwrap_or_default()),
            ],
            Err(error) => vec![
                Event::default()
                    .event("storage-error")
                    .data(huey_core::error_chain(&error).to_string()),
            ],
        };
        Some((
            futures::stream::iter(events.into_iter().map(Ok)),
            (shared, ticker),
        ))
    });
    let stream = futures::StreamExt::flatten(ticks);
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn read(huey: &Huey) -> Result<(Snapshot, Series), HueyError> {
    let snapshot = Snapshot::read(huey).await?;
    let series = Series::read(huey, snapshot.at).await?;
    Ok((snapshot, series))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn series_count_outcomes_per_minute_and_mean_only_body_runs() {
        let first: DateTime<Utc> = "2026-12-02T09:00:00Z".parse().unwrap();
        let at =
            |minute: i64| first + chrono::Duration::minutes(minute) + chrono::Duration::seconds(7);
        let ms = Duration::from_millis;
        let rows = [
            MinuteStats::new(at(0), "a", "complete", 3, ms(30), ms(6)),
            MinuteStats::new(at(0), "b", "complete", 1, ms(10), ms(2)),
            MinuteStats::new(at(0), "a", "revoked", 5, ms(0), ms(0)),
            MinuteStats::new(at(2), "a", "error", 2, ms(50), ms(0)),
            MinuteStats::new(at(-1), "a", "complete", 9, ms(9), ms(9)), // before the window
        ];
        let series = Series::of(first, &rows);
        assert_eq!(series.minutes.len(), CHART_MINUTES);
        assert_eq!(series.minutes[2], "09:02");
        assert_eq!(&series.outcomes["complete"][..3], [4, 0, 0]);
        assert_eq!(&series.outcomes["revoked"][..1], [5]);
        assert_eq!(&series.outcomes["error"][..3], [0, 0, 2]);
        assert_eq!(
            series.mean_run_ms[0],
            Some(10.0),
            "revoked runs are not timed"
        );
        assert_eq!(series.mean_wait_ms[0], Some(2.0));
        assert_eq!(series.mean_run_ms[1], None);
        assert_eq!(series.mean_run_ms[2], Some(25.0));
    }
}
