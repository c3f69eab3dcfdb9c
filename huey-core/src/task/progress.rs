//! Progress that a running task reports about itself, as BullMQ's `updateProgress` and
//! Celery's `update_state` do: a fraction and a short message. The worker keeps the latest
//! report beside the task in its consumer's presence record, so the admin command's `status`
//! and `top` show it (see [`Task::report_progress`](super::Task::report_progress)).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The longest progress message kept, in characters; a longer one is cut there. Progress
/// travels in every presence record, so it stays a status line, not a log.
pub const MAX_PROGRESS_MESSAGE: usize = 200;

/// A task's latest progress report.
///
/// ```
/// use huey_core::Progress;
///
/// let json = r#"{"fraction":0.5,"message":"page 5 of 10","at":"2026-12-01T12:00:00Z"}"#;
/// let progress: Progress = serde_json::from_str(json).unwrap();
/// assert_eq!((progress.fraction, progress.message.as_str()), (0.5, "page 5 of 10"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Progress {
    /// How far along the task is, from 0.0 (started) to 1.0 (done).
    pub fraction: f64,
    /// What it is doing, briefly (at most [`MAX_PROGRESS_MESSAGE`] characters).
    pub message: String,
    /// When it was reported.
    pub at: DateTime<Utc>,
}

impl Progress {
    /// A report made now: `fraction` clamped to 0.0..=1.0 (a NaN reads as 0.0), `message`
    /// cut to [`MAX_PROGRESS_MESSAGE`] characters.
    pub(crate) fn now(fraction: f64, message: &str) -> Progress {
        let fraction = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        Progress {
            fraction,
            message: message.chars().take(MAX_PROGRESS_MESSAGE).collect(),
            at: Utc::now(),
        }
    }
}

/// Where a running task's latest report is kept: shared by the task and its worker's note of
/// it, which the presence record reads.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProgressSlot(Arc<Mutex<Option<Progress>>>);

impl ProgressSlot {
    pub fn set(&self, progress: Progress) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(progress);
    }

    pub fn get(&self) -> Option<Progress> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_clamped_and_cut() {
        let long = "x".repeat(MAX_PROGRESS_MESSAGE + 50);
        let p = Progress::now(1.5, &long);
        assert_eq!(p.fraction, 1.0);
        assert_eq!(p.message.chars().count(), MAX_PROGRESS_MESSAGE);
        assert_eq!(Progress::now(-0.2, "").fraction, 0.0);
        assert_eq!(Progress::now(f64::NAN, "").fraction, 0.0);
    }

    #[test]
    fn a_message_is_cut_on_a_character_boundary() {
        let wide = "é".repeat(MAX_PROGRESS_MESSAGE + 1);
        assert_eq!(
            Progress::now(0.5, &wide).message,
            "é".repeat(MAX_PROGRESS_MESSAGE)
        );
    }
}
