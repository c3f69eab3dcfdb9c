//! `status` and `top`: the queue's counts and its consumers, as text or JSON.
//!
//! The JSON form is stable: an object with the fields of [`Status`], whose `consumers` are
//! `huey_core::ConsumerInfo`s; fields may be added, none is renamed or removed.

use chrono::{DateTime, Utc};
use huey_core::{ConsumerInfo, Huey, HueyError};
use serde::Serialize;

use super::table::render;

/// What `status` shows.
///
/// ```
/// use huey_cli::admin::status::Status;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), huey_core::HueyError> {
/// let huey = huey_core::Huey::memory("docs");
/// huey.pause().await?;
/// let status = Status::read(&huey).await?;
/// assert!(status.paused && status.consumers.is_empty());
/// assert!(status.text(chrono::Utc::now()).starts_with("queue         docs\npaused        yes\n"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The queue (the Huey's name).
    pub queue: String,
    /// Whether the queue is paused.
    pub paused: bool,
    /// Messages waiting in the queue.
    pub pending: usize,
    /// Messages scheduled for later.
    pub scheduled: usize,
    /// Stored values (results, locks, ...).
    pub results: usize,
    /// Dead letters.
    pub dead_letters: usize,
    /// The live consumers, by id.
    pub consumers: Vec<ConsumerInfo>,
}

impl Status {
    /// Reads the status of `huey`'s queue.
    pub async fn read(huey: &Huey) -> Result<Status, HueyError> {
        Ok(Status {
            queue: huey.name().to_owned(),
            paused: huey.is_paused().await?,
            pending: huey.pending_count().await?,
            scheduled: huey.scheduled_count().await?,
            results: huey.result_count().await?,
            dead_letters: huey.dead_letter_count().await?,
            consumers: huey.consumers().await?,
        })
    }

    /// The status as text, with ages counted back from `now`.
    pub fn text(&self, now: DateTime<Utc>) -> String {
        let counts = vec![
            vec!["queue".to_owned(), self.queue.clone()],
            vec![
                "paused".to_owned(),
                if self.paused { "yes" } else { "no" }.to_owned(),
            ],
            vec!["pending".to_owned(), self.pending.to_string()],
            vec!["scheduled".to_owned(), self.scheduled.to_string()],
            vec!["results".to_owned(), self.results.to_string()],
            vec!["dead letters".to_owned(), self.dead_letters.to_string()],
        ];
        // The counts' header line is left out: the names say what each is.
        let mut out: String = render(&["", ""], &counts)
            .lines()
            .skip(1)
            .map(|line| format!("{line}\n"))
            .collect();
        out.push('\n');
        if self.consumers.is_empty() {
            out.push_str("no live consumers\n");
            return out;
        }
        let rows: Vec<Vec<String>> = self
            .consumers
            .iter()
            .map(|c| {
                vec![
                    c.id.clone(),
                    c.hostname.clone(),
                    c.pid.to_string(),
                    format!("{} {}", c.workers, c.worker_kind),
                    format!("{} ago", age(c.heartbeat, now)),
                    format!("{} ago", age(c.started_at, now)),
                    if c.paused { "paused" } else { "claiming" }.to_owned(),
                ]
            })
            .collect();
        out.push_str(&render(
            &[
                "CONSUMER",
                "HOST",
                "PID",
                "WORKERS",
                "HEARTBEAT",
                "STARTED",
                "STATE",
            ],
            &rows,
        ));
        let running: Vec<Vec<String>> = self
            .consumers
            .iter()
            .flat_map(|c| {
                c.in_flight.iter().map(|t| {
                    vec![
                        c.id.clone(),
                        t.id.clone(),
                        t.name.clone(),
                        age(t.started_at, now),
                        t.progress.as_ref().map_or_else(String::new, |p| {
                            format!("{:.0}% {}", p.fraction * 100.0, p.message)
                                .trim_end()
                                .to_owned()
                        }),
                    ]
                })
            })
            .collect();
        out.push('\n');
        if running.is_empty() {
            out.push_str("no tasks running\n");
        } else {
            out.push_str(&render(
                &["CONSUMER", "TASK ID", "TASK", "RUNNING FOR", "PROGRESS"],
                &running,
            ));
        }
        out
    }
}

/// How long before `now` `then` was, in whole seconds (never negative: clocks of two hosts
/// may disagree a little).
fn age(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - then).num_seconds().max(0);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s => format!("{}h", s / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(consumers: Vec<ConsumerInfo>) -> Status {
        Status {
            queue: "app".into(),
            paused: true,
            pending: 3,
            scheduled: 1,
            results: 0,
            dead_letters: 2,
            consumers,
        }
    }

    fn consumer(now: DateTime<Utc>) -> ConsumerInfo {
        serde_json::from_value(serde_json::json!({
            "id": "c1", "hostname": "web1", "pid": 42, "queue": "app",
            "started_at": now - chrono::Duration::seconds(300),
            "heartbeat": now - chrono::Duration::seconds(1),
            "worker_kind": "async", "workers": 4, "paused": true,
            "in_flight": [{"id": "t1", "name": "app::send",
                           "started_at": now - chrono::Duration::seconds(12)},
                          {"id": "t2", "name": "app::import",
                           "started_at": now - chrono::Duration::seconds(3),
                           "progress": {"fraction": 0.25, "message": "page 1 of 4",
                                        "at": now}}],
        }))
        .unwrap()
    }

    #[test]
    fn text_shows_counts_consumers_and_running_tasks() {
        let now = Utc::now();
        let text = status(vec![consumer(now)]).text(now);
        assert_eq!(
            text,
            "queue         app\n\
             paused        yes\n\
             pending       3\n\
             scheduled     1\n\
             results       0\n\
             dead letters  2\n\
             \n\
             CONSUMER  HOST  PID  WORKERS  HEARTBEAT  STARTED  STATE\n\
             c1        web1  42   4 async  1s ago     5m ago   paused\n\
             \n\
             CONSUMER  TASK ID  TASK         RUNNING FOR  PROGRESS\n\
             c1        t1       app::send    12s\n\
             c1        t2       app::import  3s           25% page 1 of 4\n"
        );
        assert!(status(vec![]).text(now).ends_with("\nno live consumers\n"));
    }

    #[test]
    fn json_has_the_documented_fields() {
        let now = Utc::now();
        let json = serde_json::to_value(status(vec![consumer(now)])).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "consumers",
                "dead_letters",
                "paused",
                "pending",
                "queue",
                "results",
                "scheduled"
            ]
        );
        let consumer = &json["consumers"][0];
        assert_eq!(consumer["in_flight"][0]["name"], "app::send");
        assert!(
            consumer["in_flight"][0].get("progress").is_none(),
            "none reported"
        );
        assert_eq!(consumer["in_flight"][1]["progress"]["fraction"], 0.25);
        assert_eq!(consumer["workers"], 4);
    }
}
