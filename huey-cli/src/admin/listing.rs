//! The listings of pending, scheduled and dead tasks: rows decoded from the stored messages,
//! the filters that select them, and their two forms (aligned text, and JSON).
//!
//! The JSON form is stable: an array of objects with the fields of [`TaskRow`] or
//! [`DeadRow`]; fields may be added, none is renamed or removed.

use chrono::{DateTime, Utc};
use huey_core::TaskFilter;
use huey_core::message::Message;
use huey_core::storage::DeadLetter;
use serde::Serialize;
use serde_json::value::RawValue;

use super::table::{clip, render};

/// Which tasks a listing shows: every given filter must match (huey-core's [`TaskFilter`]
/// does the matching, for the dashboard too).
///
/// ```
/// use huey_cli::admin::listing::{Filter, select_tasks};
/// use huey_core::message::Message;
///
/// let message: Message = serde_json::from_str(
///     r#"{"v":1,"id":"t1","name":"app::send","args":["bob@example.com"]}"#,
/// )?;
/// let bob = Filter { search: Some("BOB".into()), ..Filter::default() };
/// assert_eq!(select_tasks(vec![message], &bob, 10)[0].id, "t1");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct Filter {
    /// Only tasks with this registered name.
    #[arg(long = "task", value_name = "NAME")]
    pub task: Option<String>,
    /// Only the task with this id (for dead letters, the dead letter's id or its task's).
    #[arg(long = "id", value_name = "ID")]
    pub id: Option<String>,
    /// Only tasks whose arguments' JSON contains this text, ignoring case (for dead letters,
    /// the reason too).
    #[arg(long = "search", value_name = "TEXT")]
    pub search: Option<String>,
}

impl From<&Filter> for TaskFilter {
    fn from(filter: &Filter) -> TaskFilter {
        TaskFilter::new(
            filter.task.clone(),
            filter.id.clone(),
            filter.search.clone(),
        )
    }
}

/// A pending or scheduled task, as listed.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRow {
    /// The task's id.
    pub id: String,
    /// Its registered name.
    pub name: String,
    /// Its arguments, as the JSON they were enqueued with.
    pub args: Box<RawValue>,
    /// Its priority.
    pub priority: i32,
    /// Retries left.
    pub retries: u32,
    /// When it is due, if it was scheduled.
    pub eta: Option<DateTime<Utc>>,
    /// When it was enqueued, if the producer said.
    pub enqueued_at: Option<DateTime<Utc>>,
}

impl TaskRow {
    /// The row of `message`.
    pub fn new(message: Message) -> TaskRow {
        TaskRow {
            id: message.id,
            name: message.name,
            args: message.args,
            priority: message.priority,
            retries: message.retries,
            eta: message.eta,
            enqueued_at: message.enqueued_at,
        }
    }
}

/// A dead letter, as listed; the task fields are absent when its message does not decode.
#[derive(Debug, Clone, Serialize)]
pub struct DeadRow {
    /// The dead letter's id (what `dead requeue` and `dead delete` take).
    pub id: String,
    /// Why it could not run.
    pub reason: String,
    /// When it was set aside.
    pub at: DateTime<Utc>,
    /// Its priority.
    pub priority: i32,
    /// Its task's id.
    pub task_id: Option<String>,
    /// Its task's name.
    pub name: Option<String>,
    /// Its task's arguments.
    pub args: Option<Box<RawValue>>,
}

impl DeadRow {
    /// The row of `letter`, whose message decoded to `message` (if it did).
    pub fn new(letter: DeadLetter, message: Option<Message>) -> DeadRow {
        let (task_id, name, args) = match message {
            Some(m) => (Some(m.id), Some(m.name), Some(m.args)),
            None => (None, None, None),
        };
        DeadRow {
            id: letter.id,
            reason: letter.reason,
            at: letter.at,
            priority: letter.priority,
            task_id,
            name,
            args,
        }
    }
}

/// The rows of the `messages` that `filter` selects, at most `limit`.
pub fn select_tasks(messages: Vec<Message>, filter: &Filter, limit: usize) -> Vec<TaskRow> {
    let filter = TaskFilter::from(filter);
    messages
        .into_iter()
        .filter(|m| filter.matches(m))
        .take(limit)
        .map(TaskRow::new)
        .collect()
}

/// The rows of the dead letters (each with its message, if it decoded) that `filter`
/// selects, at most `limit`.
pub fn select_dead(
    letters: Vec<(DeadLetter, Option<Message>)>,
    filter: &Filter,
    limit: usize,
) -> Vec<DeadRow> {
    let filter = TaskFilter::from(filter);
    letters
        .into_iter()
        .filter(|(letter, message)| filter.matches_dead_letter(letter, message.as_ref()))
        .take(limit)
        .map(|(letter, message)| DeadRow::new(letter, message))
        .collect()
}

/// Pending or scheduled rows as text (`scheduled` adds the ETA column).
pub fn tasks_text(rows: &[TaskRow], scheduled: bool) -> String {
    if rows.is_empty() {
        return "no tasks\n".to_owned();
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut row = vec![r.id.clone(), r.name.clone(), r.priority.to_string()];
            if scheduled {
                row.push(r.eta.map(time).unwrap_or_default());
            }
            row.push(clip(r.args.get(), 80));
            row
        })
        .collect();
    let header: &[&str] = if scheduled {
        &["ID", "TASK", "PRIORITY", "ETA", "ARGS"]
    } else {
        &["ID", "TASK", "PRIORITY", "ARGS"]
    };
    render(header, &cells)
}

/// Dead rows as text.
pub fn dead_text(rows: &[DeadRow]) -> String {
    if rows.is_empty() {
        return "no dead letters\n".to_owned();
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.task_id.clone().unwrap_or_else(|| "-".into()),
                r.name.clone().unwrap_or_else(|| "-".into()),
                time(r.at),
                clip(&r.reason, 100),
            ]
        })
        .collect();
    render(&["ID", "TASK ID", "TASK", "AT", "REASON"], &cells)
}

/// A time as the listings show it: UTC, to the second.
pub(super) fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, name: &str, args: &str) -> TaskRow {
        TaskRow {
            id: id.into(),
            name: name.into(),
            args: RawValue::from_string(args.into()).unwrap(),
            priority: 0,
            retries: 0,
            eta: None,
            enqueued_at: None,
        }
    }

    fn dead(id: &str, reason: &str, task: Option<(&str, &str, &str)>) -> DeadRow {
        DeadRow {
            id: id.into(),
            reason: reason.into(),
            at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            priority: 0,
            task_id: task.map(|t| t.0.into()),
            name: task.map(|t| t.1.into()),
            args: task.map(|t| RawValue::from_string(t.2.into()).unwrap()),
        }
    }

    fn ids(rows: &[TaskRow]) -> Vec<&str> {
        rows.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn selections_filter_then_limit() {
        let message = |id: &str, args: &str| -> Message {
            serde_json::from_str(&format!(
                r#"{{"v":1,"id":"{id}","name":"app::send","args":{args}}}"#
            ))
            .unwrap()
        };
        let messages = vec![
            message("a", "[1]"),
            message("b", "[2]"),
            message("c", "[2]"),
        ];
        let two = Filter {
            search: Some("2".into()),
            ..Filter::default()
        };
        let rows = select_tasks(messages.clone(), &two, 1);
        assert_eq!(ids(&rows), ["b"]);
        let letter = DeadLetter {
            id: "d1".into(),
            data: Vec::new(),
            priority: 0,
            reason: "malformed message".into(),
            at: Utc::now(),
        };
        let by_task_id = Filter {
            id: Some("c".into()),
            ..Filter::default()
        };
        let pairs = vec![(letter.clone(), Some(messages[2].clone())), (letter, None)];
        let rows = select_dead(pairs, &by_task_id, 10);
        assert_eq!(rows.len(), 1, "a task id finds its dead letter");
        assert_eq!(rows[0].task_id.as_deref(), Some("c"));
    }

    #[test]
    fn json_rows_keep_their_field_names_and_raw_arguments() {
        let json = serde_json::to_value(vec![row("a", "app::send", r#"{"to":"x"}"#)]).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{
                "id": "a", "name": "app::send", "args": {"to": "x"}, "priority": 0,
                "retries": 0, "eta": null, "enqueued_at": null,
            }])
        );
        let json = serde_json::to_value(vec![dead("d1", "why", None)]).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{
                "id": "d1", "reason": "why", "at": "2023-11-14T22:13:20Z", "priority": 0,
                "task_id": null, "name": null, "args": null,
            }])
        );
    }

    #[test]
    fn text_listings_are_aligned_columns() {
        let text = tasks_text(&[row("a", "app::send", "[1]"), row("bb", "x", "[]")], false);
        assert_eq!(
            text,
            "ID  TASK       PRIORITY  ARGS\n\
             a   app::send  0         [1]\n\
             bb  x          0         []\n"
        );
        assert_eq!(tasks_text(&[], false), "no tasks\n");
        assert!(
            dead_text(&[dead("d1", "why", None)])
                .contains("d1  -        -     2023-11-14 22:13:20  why")
        );
    }
}
