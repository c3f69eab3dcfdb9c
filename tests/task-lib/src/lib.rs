//! A library crate that only defines tasks: the test binary that depends on it must keep it
//! linked (see `huey_core::link_tasks!`).

use huey_core::prelude::*;

/// Reverses a string; registered as `task_lib::reverse`.
#[task(name = "task_lib::reverse")]
pub fn reverse(text: String) -> String {
    text.chars().rev().collect()
}
