//! Signals (Huey's `huey.signals`): what happened to a task, as its handlers hear it.

use std::fmt;

/// What happened to a task. Handlers registered with `#[signal(...)]` or
/// [`Huey::connect_signal`](crate::Huey::connect_signal) receive it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// Put on the queue (by a producer, a retry, the scheduler or the periodic scheduler).
    Enqueued,
    /// About to run: fired before the pre-execute hooks.
    Executing,
    /// Finished; the result is stored and the post hooks have run.
    Complete,
    /// Failed with an ordinary error (the error is passed along).
    Error,
    /// Cancelled by `CancelExecution`.
    Canceled,
    /// Failed and will be retried.
    Retrying,
    /// Put in the schedule (an ETA in the future or a delayed retry).
    Scheduled,
    /// Dequeued but revoked, so not run.
    Revoked,
    /// Dequeued after its expiry, so not run.
    Expired,
    /// Could not take its lock (the [`TaskLocked`](crate::TaskLocked) error is passed along).
    Locked,
    /// Ran past its timeout.
    Timeout,
    /// Hit its rate limit (the [`RateLimitExceeded`](crate::RateLimitExceeded) error is passed
    /// along).
    RateLimited,
    /// Stopped by an immediate shutdown; it goes back on the queue.
    Interrupted,
}

impl Signal {
    /// Every signal.
    pub const ALL: [Signal; 13] = [
        Signal::Enqueued,
        Signal::Executing,
        Signal::Complete,
        Signal::Error,
        Signal::Canceled,
        Signal::Retrying,
        Signal::Scheduled,
        Signal::Revoked,
        Signal::Expired,
        Signal::Locked,
        Signal::Timeout,
        Signal::RateLimited,
        Signal::Interrupted,
    ];

    /// Huey's name for the signal (`"enqueued"`, `"rate-limited"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Enqueued => "enqueued",
            Signal::Executing => "executing",
            Signal::Complete => "complete",
            Signal::Error => "error",
            Signal::Canceled => "canceled",
            Signal::Retrying => "retrying",
            Signal::Scheduled => "scheduled",
            Signal::Revoked => "revoked",
            Signal::Expired => "expired",
            Signal::Locked => "locked",
            Signal::Timeout => "timeout",
            Signal::RateLimited => "rate-limited",
            Signal::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
