//! Retry rules (Huey 3.5.4, a.12): how a failure changes the retry count and when the task
//! runs again.

use chrono::{DateTime, Utc};

use crate::error::TaskError;
use crate::task::{Task, chrono_duration};

/// What a failure means for the next attempt.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RetryPlan {
    /// Retries left after applying the failure's rule, before the requeue takes one.
    pub retries: u32,
    /// An explicit time for the retry (from `RetryTask` or a rate limit), overriding
    /// `retry_delay` and its backoff.
    pub eta: Option<DateTime<Utc>>,
    /// Whether the failure is one that is not surfaced while a retry is pending.
    pub retrying_error: bool,
}

pub(crate) fn plan_retry(task: &Task, error: &TaskError, now: DateTime<Utc>) -> RetryPlan {
    let retries = task.retries();
    match error {
        // RetryTask always retries and does not use one up: +1 now, -1 at the requeue.
        TaskError::Retry(retry) => RetryPlan {
            retries: retries + 1,
            eta: retry
                .eta
                .or_else(|| retry.delay.map(|d| now + chrono_duration(d))),
            retrying_error: true,
        },
        TaskError::Cancelled(cancel) => RetryPlan {
            retries: match cancel.retry {
                None => retries,
                Some(false) => 0,
                // Huey's retry=True: keeps at least one, so it retries while the task cancels.
                Some(true) => retries.max(1),
            },
            eta: None,
            retrying_error: false,
        },
        // A lock rejection is a failure like any other, except that it is not surfaced while
        // a retry is pending (Huey 3.5).
        TaskError::Locked(_) => RetryPlan {
            retries,
            eta: None,
            retrying_error: true,
        },
        // Huey's rule: with `retry` (or retries left) run again after the task's retry_delay,
        // or else when the window ends; with `retry` the attempt does not use up a retry.
        TaskError::RateLimited(limited) => {
            let delay = match task.retry_delay() {
                d if d.is_zero() => limited.delay,
                d => d,
            };
            RetryPlan {
                retries: retries.saturating_add(u32::from(limited.retry)),
                eta: (limited.retry || retries > 0).then(|| now + chrono_duration(delay)),
                retrying_error: true,
            }
        }
        TaskError::Failed { .. } | TaskError::Panicked { .. } | TaskError::Timeout(_) => {
            RetryPlan {
                retries,
                eta: None,
                retrying_error: false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{CancelExecution, RateLimitExceeded, RetryTask, TaskLocked};
    use crate::task::message::{MESSAGE_VERSION, Message};
    use std::time::Duration;

    fn task(retries: u32) -> Task {
        task_with_delay(retries, 0.0)
    }

    fn task_with_delay(retries: u32, retry_delay: f64) -> Task {
        Task::from_message(Message {
            v: MESSAGE_VERSION,
            id: "t".into(),
            name: "n".into(),
            args: serde_json::value::RawValue::from_string("[]".into()).unwrap(),
            eta: None,
            enqueued_at: None,
            trace: None,
            retries,
            retry_delay,
            retry_backoff: 0.0,
            priority: 0,
            expires_at: None,
            timeout: None,
            periodic: false,
            takes_parent: false,
            on_complete: None,
            on_error: None,
            chord: None,
        })
    }

    #[test]
    fn test_cancel_execution_task_retries() {
        let now = Utc::now();
        let cancel = |r| {
            TaskError::Cancelled(CancelExecution {
                message: None,
                retry: r,
            })
        };
        assert_eq!(plan_retry(&task(2), &cancel(Some(false)), now).retries, 0);
        assert_eq!(plan_retry(&task(2), &cancel(None), now).retries, 2);
        assert_eq!(plan_retry(&task(2), &cancel(Some(true)), now).retries, 2);
        assert_eq!(plan_retry(&task(0), &cancel(Some(true)), now).retries, 1);
    }

    #[test]
    fn test_retrytask_eta_delay() {
        let now = Utc::now();
        let plan = plan_retry(
            &task(0),
            &TaskError::Retry(RetryTask::after(Duration::from_secs(10))),
            now,
        );
        assert_eq!(plan.retries, 1);
        assert_eq!(plan.eta, Some(now + chrono::TimeDelta::seconds(10)));
        assert!(plan.retrying_error);
        let at = now + chrono::TimeDelta::seconds(99);
        assert_eq!(
            plan_retry(&task(0), &TaskError::Retry(RetryTask::at(at)), now).eta,
            Some(at)
        );
        assert_eq!(
            plan_retry(&task(0), &TaskError::Retry(RetryTask::new()), now).eta,
            None
        );
    }

    #[test]
    fn test_locked_is_a_retrying_failure() {
        let plan = plan_retry(&task(2), &TaskLocked::new("l").into(), Utc::now());
        assert_eq!(plan.retries, 2, "the requeue uses one up");
        assert_eq!(plan.eta, None);
        assert!(plan.retrying_error);
    }

    #[test]
    fn test_rate_limited_retry_rules() {
        let now = Utc::now();
        let limited = |retry| {
            TaskError::RateLimited(RateLimitExceeded {
                key: "k".into(),
                delay: Duration::from_secs(30),
                retry,
            })
        };
        let secs = chrono::TimeDelta::seconds;
        // retry=true: one retry added back, the window's end.
        let plan = plan_retry(&task(0), &limited(true), now);
        assert_eq!((plan.retries, plan.eta), (1, Some(now + secs(30))));
        // The task's retry_delay wins over the window.
        let plan = plan_retry(&task_with_delay(2, 5.0), &limited(true), now);
        assert_eq!((plan.retries, plan.eta), (3, Some(now + secs(5))));
        // retry=false with retries: a normal retry, at the delay.
        let plan = plan_retry(&task(2), &limited(false), now);
        assert_eq!((plan.retries, plan.eta), (2, Some(now + secs(30))));
        // retry=false without retries: final.
        let plan = plan_retry(&task(0), &limited(false), now);
        assert_eq!((plan.retries, plan.eta), (0, None));
        assert!(plan.retrying_error);
    }
}
