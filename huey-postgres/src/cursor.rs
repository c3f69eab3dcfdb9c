//! Where a consumer's next claim starts reading the ready index.
//!
//! A claim deletes its rows from the queue table, and their index entries stay until a vacuum
//! removes them. A claim that reads the index from its start steps over every entry of the
//! rows claimed since the last vacuum, so during a long drain each claim gets slower (measured
//! on a drain of a million: the last 100,000 ran at 77% of the first's rate). While the queue
//! is draining, the next claim of a consumer can instead start after the last row it claimed:
//! the rows before it are gone, or claimed by others.
//!
//! A row can land before the cursor, though: a message of higher priority, or one given back
//! under its old id. Each of those notifies the queue, so a cursor lasts only while no
//! notification has come since the full read that set it (every queue notification bumps the
//! listener's counter; this storage's own writes to the queue drop it at once), and a second
//! at most, which bounds what a rolled-back claim of another
//! consumer can leave behind it. A claim that finds fewer rows than it asked for drops the
//! cursor too, so the next one reads from the start and sees the lower priorities.

use std::time::{Duration, Instant};

/// How long a cursor is trusted after the full read that set it.
const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// The consumer's claim cursor: see the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct PickCursor {
    after: Option<After>,
}

/// The last row claimed, and the full read the cursor comes from.
#[derive(Debug, Clone, Copy)]
struct After {
    priority: i32,
    id: i64,
    /// The listener's queue counter read before that full read.
    wakes: u64,
    since: Instant,
}

/// Where a claim reads from, and what it needs to move the cursor afterwards.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Start {
    /// The row to read after, or `None` to read from the start of the index.
    pub after: Option<(i32, i64)>,
    wakes: u64,
    since: Instant,
}

impl PickCursor {
    /// Where the next claim starts, given the listener's queue counter now.
    pub fn start(&mut self, wakes: u64) -> Start {
        match self.after {
            Some(a) if a.wakes == wakes && a.since.elapsed() < TRUSTED_FOR => Start {
                after: Some((a.priority, a.id)),
                wakes: a.wakes,
                since: a.since,
            },
            _ => {
                self.after = None;
                Start {
                    after: None,
                    wakes,
                    since: Instant::now(),
                }
            }
        }
    }

    /// Drops the cursor: this storage has just put rows on the queue, and its own
    /// notification of them may not have come back yet.
    pub fn reset(&mut self) {
        self.after = None;
    }

    /// Records a claim that started at `start` and took `last` (its last row in claim order)
    /// as the last of a full batch, or dropped the cursor when the batch came up short.
    pub fn claimed(&mut self, start: Start, full: bool, last: Option<(i32, i64)>) {
        self.after = match (full, last) {
            (true, Some((priority, id))) => Some(After {
                priority,
                id,
                wakes: start.wakes,
                since: start.since,
            }),
            _ => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_batch_moves_the_cursor_and_a_short_one_drops_it() {
        let mut cursor = PickCursor::default();
        let start = cursor.start(7);
        assert_eq!(start.after, None, "a fresh consumer reads from the start");
        cursor.claimed(start, true, Some((0, 10)));
        let start = cursor.start(7);
        assert_eq!(start.after, Some((0, 10)));
        cursor.claimed(start, true, Some((0, 20)));
        let start = cursor.start(7);
        assert_eq!(start.after, Some((0, 20)));
        cursor.claimed(start, false, Some((0, 25)));
        assert_eq!(
            cursor.start(7).after,
            None,
            "a short batch means the rest is elsewhere"
        );
    }

    #[test]
    fn a_queue_notification_sends_the_next_claim_to_the_start() {
        let mut cursor = PickCursor::default();
        let start = cursor.start(1);
        cursor.claimed(start, true, Some((5, 3)));
        assert_eq!(
            cursor.start(2).after,
            None,
            "something may have landed before the cursor"
        );
        let start = cursor.start(2);
        cursor.claimed(start, true, Some((5, 9)));
        assert_eq!(cursor.start(2).after, Some((5, 9)));
    }

    #[test]
    fn a_cursor_keeps_the_time_of_the_full_read_that_set_it() {
        let mut cursor = PickCursor::default();
        let first = cursor.start(0);
        cursor.claimed(first, true, Some((0, 1)));
        let next = cursor.start(0);
        assert_eq!(
            next.since, first.since,
            "moving the cursor does not extend its trust"
        );
    }
}
