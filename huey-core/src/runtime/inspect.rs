//! Looking tasks up for the admin tools: the filter that listings select stored messages with
//! (the CLI's `--task/--id/--search`, the dashboard's search box), and finding one task by id
//! wherever it is.

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;

use super::huey::Huey;
use crate::error::{HueyError, TaskFailure};
use crate::storage::DeadLetter;
use crate::task::Progress;
use crate::task::message::Message;
use crate::task::outcome::StoredResult;

/// Which tasks a listing shows: every filter given must match; the default matches all.
///
/// ```
/// use huey_core::TaskFilter;
/// use huey_core::message::Message;
///
/// let message: Message = serde_json::from_str(
///     r#"{"v":1,"id":"t1","name":"app::send","args":["bob@example.com"]}"#,
/// )?;
/// let bob = TaskFilter::new(None, None, Some("BOB".into()));
/// assert!(bob.matches(&message));
/// let bills = TaskFilter::new(Some("app::bill".into()), None, Some("bob".into()));
/// assert!(!bills.matches(&message), "every filter given must match");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskFilter {
    /// Only tasks with this registered name (matched whole).
    pub task: Option<String>,
    /// Only the task with this id (for dead letters, the dead letter's id or its task's).
    pub id: Option<String>,
    /// Only tasks whose arguments' JSON contains this text, ignoring case (for dead letters,
    /// the reason too).
    pub search: Option<String>,
}

impl TaskFilter {
    /// A filter from its three parts; an empty string counts as not given (as from a form's
    /// empty field).
    pub fn new(task: Option<String>, id: Option<String>, search: Option<String>) -> TaskFilter {
        let given = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        TaskFilter {
            task: given(task),
            id: given(id),
            search: given(search),
        }
    }

    /// Whether it matches nothing in particular (every task passes).
    pub fn is_empty(&self) -> bool {
        self == &TaskFilter::default()
    }

    /// Whether a queued or scheduled `message` passes.
    pub fn matches(&self, message: &Message) -> bool {
        self.fields_match(
            Some(&message.name),
            &[Some(&message.id)],
            &[Some(message.args.get())],
        )
    }

    /// Whether a dead letter passes, given its message if that decoded: its id or its task's
    /// id match `id`, and `search` looks at the reason as well as the arguments.
    pub fn matches_dead_letter(&self, letter: &DeadLetter, message: Option<&Message>) -> bool {
        self.fields_match(
            message.map(|m| m.name.as_str()),
            &[Some(&letter.id), message.map(|m| m.id.as_str())],
            &[message.map(|m| m.args.get()), Some(&letter.reason)],
        )
    }

    fn fields_match(
        &self,
        name: Option<&str>,
        ids: &[Option<&str>],
        texts: &[Option<&str>],
    ) -> bool {
        let task = self.task.as_deref().is_none_or(|want| name == Some(want));
        let id = self
            .id
            .as_deref()
            .is_none_or(|want| ids.contains(&Some(want)));
        let search = self.search.as_deref().is_none_or(|want| {
            let want = want.to_lowercase();
            texts
                .iter()
                .flatten()
                .any(|text| text.to_lowercase().contains(&want))
        });
        task && id && search
    }
}

/// Where a task found by [`Huey::find_task`] is now.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TaskLocation {
    /// On the queue, waiting for a worker.
    Pending,
    /// On the schedule, due at its `eta`.
    Scheduled,
    /// A live consumer's worker is running it.
    Running {
        /// The consumer's id.
        consumer: String,
        /// When the worker started it.
        started_at: DateTime<Utc>,
        /// Its latest progress report.
        progress: Option<Progress>,
    },
    /// Set aside in the dead-letter list.
    Dead(DeadLetter),
    /// Nowhere but the result store: it ran, and its result or failure is kept.
    Finished,
}

/// What the result store holds for a task: its value or its latest failure.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StoredOutcome {
    /// The value it returned, as JSON.
    Value(Box<RawValue>),
    /// The failure of its latest attempt (`retries` above 0: it will be retried).
    Failure(TaskFailure),
}

/// A task found by [`Huey::find_task`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FoundTask {
    /// Where it is.
    pub location: TaskLocation,
    /// Its message, when the queue, the schedule or the dead letters hold it (a running task's
    /// message is with its worker).
    pub message: Option<Message>,
    /// Its stored result or failure, if the result store keeps one (read without taking it).
    pub outcome: Option<StoredOutcome>,
    /// Whether its id is revoked.
    pub revoked: bool,
}

impl Huey {
    /// Finds the task `id` wherever it is: on the queue, the schedule, with a running
    /// consumer, in the dead letters (by its id or the dead letter's), or only in the result
    /// store. `None` when nothing knows it. It reads the whole queue and schedule, so it is
    /// for a person looking, not for a loop.
    ///
    /// ```
    /// use huey_core::prelude::*;
    /// use huey_core::TaskLocation;
    ///
    /// #[task]
    /// fn add(a: i64, b: i64) -> i64 { a + b }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("docs");
    /// let handle = add::enqueue(&huey, 1, 2).await?;
    /// let found = huey.find_task(handle.id()).await?.ok_or("it is queued")?;
    /// assert!(matches!(found.location, TaskLocation::Pending));
    /// assert_eq!(found.message.map(|m| m.args.get().to_owned()), Some("[1,2]".into()));
    /// assert!(huey.find_task("nobody").await?.is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn find_task(&self, id: &str) -> Result<Option<FoundTask>, HueyError> {
        let storage = self.storage();
        let revoked = self.is_revoked_by_id(id).await?;
        let outcome = match storage.peek_data(id).await? {
            Some(bytes) => self.stored_outcome(&bytes),
            None => None,
        };
        let found = |location, message| {
            Ok(Some(FoundTask {
                location,
                message,
                outcome: outcome.clone(),
                revoked,
            }))
        };
        let wanted = |bytes: &Vec<u8>| self.decode_message(bytes).ok().filter(|m| m.id == id);
        if let Some(message) = storage.enqueued_items(None).await?.iter().find_map(wanted) {
            return found(TaskLocation::Pending, Some(message));
        }
        if let Some(message) = storage.scheduled_items(None).await?.iter().find_map(wanted) {
            return found(TaskLocation::Scheduled, Some(message));
        }
        for consumer in self.consumers().await? {
            if let Some(task) = consumer.in_flight.into_iter().find(|t| t.id == id) {
                let location = TaskLocation::Running {
                    consumer: consumer.id,
                    started_at: task.started_at,
                    progress: task.progress,
                };
                return found(location, None);
            }
        }
        for (letter, message) in self.dead_letters_decoded(None).await? {
            if letter.id == id || message.as_ref().is_some_and(|m| m.id == id) {
                return found(TaskLocation::Dead(letter), message);
            }
        }
        match outcome {
            Some(_) => found(TaskLocation::Finished, None),
            None => Ok(None),
        }
    }

    /// A stored value read as a task's outcome; other values (a revoke flag, a lock) are not.
    fn stored_outcome(&self, bytes: &[u8]) -> Option<StoredOutcome> {
        let json = self.decode_value(bytes).ok()?;
        Some(match serde_json::from_slice::<StoredResult>(&json).ok()? {
            StoredResult::Ok(value) => StoredOutcome::Value(value),
            StoredResult::Err(failure) => StoredOutcome::Failure(failure),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Revoke;
    use crate::task::new_task_id;

    fn message(id: &str, name: &str, args: &str) -> Message {
        serde_json::from_str(&format!(
            r#"{{"v":1,"id":"{id}","name":"{name}","args":{args}}}"#
        ))
        .unwrap()
    }

    fn letter(id: &str, reason: &str) -> DeadLetter {
        DeadLetter {
            id: id.into(),
            data: Vec::new(),
            priority: 0,
            reason: reason.into(),
            at: Utc::now(),
        }
    }

    #[test]
    fn filters_select_by_name_id_and_argument_text() {
        let alice = message("a", "app::send", r#"{"to":"Alice@example.com"}"#);
        let bill = message("c", "app::bill", r#"{"amount":12}"#);
        let filter = |task: &str, id: &str, search: &str| {
            TaskFilter::new(Some(task.into()), Some(id.into()), Some(search.into()))
        };
        assert!(filter("", "", "").is_empty(), "empty fields are not given");
        assert!(filter("", "", "").matches(&alice));
        assert!(filter("app::send", "", "").matches(&alice));
        assert!(
            !filter("app::", "", "").matches(&alice),
            "names match whole"
        );
        assert!(filter("", "c", "").matches(&bill));
        assert!(!filter("", "c", "").matches(&alice));
        assert!(filter("", "", "alice").matches(&alice), "ignoring case");
        assert!(
            !filter("app::bill", "", "example").matches(&bill),
            "every filter must match"
        );
    }

    #[test]
    fn dead_letter_filters_match_either_id_and_the_reason() {
        let gone = message("t2", "app::gone", "[1]");
        let filter =
            |id: &str, search: &str| TaskFilter::new(None, Some(id.into()), Some(search.into()));
        let bad = letter("d1", "malformed message: bad signature");
        let unregistered = letter("d2", "no task is registered");
        assert!(filter("d2", "").matches_dead_letter(&unregistered, Some(&gone)));
        assert!(
            filter("t2", "").matches_dead_letter(&unregistered, Some(&gone)),
            "by task id"
        );
        assert!(filter("", "SIGNATURE").matches_dead_letter(&bad, None));
        assert!(!filter("", "SIGNATURE").matches_dead_letter(&unregistered, Some(&gone)));
        let by_name = TaskFilter::new(Some("app::gone".into()), None, None);
        assert!(
            !by_name.matches_dead_letter(&bad, None),
            "no message, no name"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn find_task_reads_the_schedule_the_dead_letters_and_the_results() {
        let huey = Huey::memory("find");
        let mut later = message(&new_task_id(), "app::later", "[]");
        let eta = Utc::now() + chrono::Duration::hours(1);
        later.eta = Some(eta);
        huey.storage()
            .add_to_schedule(huey.encode_message(&later), eta, 0)
            .await
            .unwrap();
        huey.revoke_by_id(&later.id, Revoke::Forever).await.unwrap();
        let found = huey.find_task(&later.id).await.unwrap().unwrap();
        assert!(matches!(found.location, TaskLocation::Scheduled));
        assert!(found.revoked);

        let dead = message("dead-task", "app::gone", "[]");
        huey.storage()
            .enqueue(huey.encode_message(&dead), 0)
            .await
            .unwrap();
        huey.run_next(&crate::WorkerState::default()).await.unwrap();
        let letter_id = huey.dead_letters(None).await.unwrap()[0].id.clone();
        for id in ["dead-task", letter_id.as_str()] {
            let found = huey.find_task(id).await.unwrap().unwrap();
            let TaskLocation::Dead(letter) = found.location else {
                panic!("{id} is a dead letter");
            };
            assert!(letter.reason.contains("app::gone"), "{}", letter.reason);
            assert_eq!(found.message.unwrap().id, "dead-task");
        }

        let stored = StoredResult::Ok(RawValue::from_string("42".into()).unwrap());
        huey.storage()
            .put_data("done", huey.encode_value(stored.encode()))
            .await
            .unwrap();
        let found = huey.find_task("done").await.unwrap().unwrap();
        assert!(matches!(found.location, TaskLocation::Finished));
        let Some(StoredOutcome::Value(value)) = found.outcome else {
            panic!("the result is stored");
        };
        assert_eq!(value.get(), "42");
        assert!(huey.find_task("nobody").await.unwrap().is_none());
    }
}
