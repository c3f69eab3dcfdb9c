use huey_core::prelude::*;

struct Audit;

// The state comes in addition to the task, value and error, not instead of them.
#[post_execute]
fn audit(task: &Task, log: State<Audit>) {}

fn main() {}
