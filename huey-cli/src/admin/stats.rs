//! `stats`: the stats history of the last minutes, summed per task (or per minute), from the
//! rows consumers keep in the storage ([`Huey::stats`]).
//!
//! The `--json` shape is the rows themselves, as huey-core serializes
//! [`MinuteStats`] (`minute`, `task`, `outcome`, `count`, `run_time_us`, `queue_latency_us`).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use huey_core::{Huey, HueyError, MinuteStats};

use super::table;

/// What `stats` shows.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct StatsArgs {
    /// How many minutes back, the current one included.
    #[arg(long, default_value_t = 60)]
    pub minutes: u32,
    /// Only this task (its registered name).
    #[arg(long, value_name = "NAME")]
    pub task: Option<String>,
    /// A line per minute instead of per task.
    #[arg(long)]
    pub by_minute: bool,
    /// The rows as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Executions summed over a group of rows, by how they ended.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Sums {
    complete: u64,
    failed: u64,
    retried: u64,
    skipped: u64,
    /// The executions that ran their body, with their time in it and their wait before it.
    timed: u64,
    run_time: Duration,
    queue_latency: Duration,
}

impl Sums {
    fn add(&mut self, row: &MinuteStats) {
        match row.outcome.as_str() {
            "complete" => self.complete += row.count,
            "retrying" => self.retried += row.count,
            // Ended for good without a result.
            "error" | "timeout" | "locked" | "rate-limited" | "cancelled" | "dead-lettered" => {
                self.failed += row.count
            }
            // Not run: revoked, expired, interrupted (and requeued), discarded.
            _ => self.skipped += row.count,
        }
        if row.ran_body() {
            self.timed += row.count;
            self.run_time += row.run_time;
            self.queue_latency += row.queue_latency;
        }
    }

    fn total(&self) -> u64 {
        self.complete + self.failed + self.retried + self.skipped
    }

    fn mean(&self, sum: Duration) -> String {
        match u32::try_from(self.timed) {
            Ok(n) if n > 0 => format!("{:.1?}", sum / n),
            _ => "-".to_owned(),
        }
    }

    fn cells(&self, first: String, minutes: u32) -> Vec<String> {
        let per_minute = self.total() as f64 / f64::from(minutes.max(1));
        vec![
            first,
            self.total().to_string(),
            self.complete.to_string(),
            self.failed.to_string(),
            self.retried.to_string(),
            self.skipped.to_string(),
            format!("{per_minute:.1}"),
            self.mean(self.run_time),
            self.mean(self.queue_latency),
        ]
    }
}

const HEADER: [&str; 9] = [
    "",
    "RUN",
    "OK",
    "FAILED",
    "RETRIED",
    "SKIPPED",
    "PER MIN",
    "MEAN RUN",
    "MEAN WAIT",
];

/// The start of the window `args` asks for.
fn since(args: &StatsArgs, now: DateTime<Utc>) -> DateTime<Utc> {
    let back = chrono::Duration::minutes(i64::from(args.minutes.saturating_sub(1)));
    huey_core::storage::minute_of(now) - back
}

/// Reads the window and renders it.
pub(super) async fn show(huey: &Huey, args: &StatsArgs) -> Result<String, HueyError> {
    let mut rows = huey.stats(since(args, Utc::now())).await?;
    if let Some(task) = &args.task {
        rows.retain(|row| &row.task == task);
    }
    Ok(if args.json {
        super::to_json(&rows)
    } else {
        text(huey.name(), &rows, args)
    })
}

/// The table: a line per task (or minute), then the total.
fn text(queue: &str, rows: &[MinuteStats], args: &StatsArgs) -> String {
    let mut groups: BTreeMap<String, Sums> = BTreeMap::new();
    let mut total = Sums::default();
    for row in rows {
        let group = if args.by_minute {
            row.minute.format("%Y-%m-%d %H:%M").to_string()
        } else {
            row.task.clone()
        };
        groups.entry(group).or_default().add(row);
        total.add(row);
    }
    let minutes = args.minutes;
    // A minute's line is a rate over one minute.
    let span = if args.by_minute { 1 } else { minutes };
    let mut lines: Vec<Vec<String>> = groups
        .into_iter()
        .map(|(group, sums)| sums.cells(group, span))
        .collect();
    lines.push(total.cells("total".to_owned(), minutes));
    let mut header = HEADER;
    header[0] = if args.by_minute {
        "MINUTE (UTC)"
    } else {
        "TASK"
    };
    format!(
        "stats of {queue}, the last {minutes} minutes\n{}",
        table::render(&header, &lines)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn args(by_minute: bool) -> StatsArgs {
        StatsArgs {
            minutes: 2,
            task: None,
            by_minute,
            json: false,
        }
    }

    fn rows() -> Vec<MinuteStats> {
        let at = Utc.with_ymd_and_hms(2026, 12, 2, 9, 30, 0).unwrap();
        let ms = Duration::from_millis;
        vec![
            MinuteStats::new(at, "a", "complete", 3, ms(30), ms(3)),
            MinuteStats::new(at, "a", "error", 1, ms(10), ms(1)),
            MinuteStats::new(at, "b", "revoked", 2, ms(0), ms(0)),
            MinuteStats::new(
                at + chrono::Duration::minutes(1),
                "b",
                "retrying",
                2,
                ms(4),
                ms(0),
            ),
        ]
    }

    #[test]
    fn test_per_task_lines_sum_outcomes_and_mean_only_timed_runs() {
        let out = text("q", &rows(), &args(false));
        let lines: Vec<Vec<&str>> = out
            .lines()
            .skip(2)
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            lines[0],
            ["a", "4", "3", "1", "0", "0", "2.0", "10.0ms", "1.0ms"]
        );
        // The revoked runs count, but only the retried ones are timed.
        assert_eq!(
            lines[1],
            ["b", "4", "0", "0", "2", "2", "2.0", "2.0ms", "0.0ns"]
        );
        assert_eq!(lines[2][..2], ["total", "8"]);
    }

    #[test]
    fn test_per_minute_lines_are_rates_over_one_minute() {
        let out = text("q", &rows(), &args(true));
        assert!(out.contains("MINUTE (UTC)"), "{out}");
        let first: Vec<&str> = out.lines().nth(2).unwrap().split_whitespace().collect();
        assert_eq!(first[..4], ["2026-12-02", "09:30", "6", "3"]);
        assert_eq!(first[7], "6.0", "six runs in that minute");
    }
}
