use huey_core::prelude::*;

struct Audit;

#[signal(complete)]
fn audit(signal: Signal, task: &Task, log: State<Audit>) {}

fn main() {}
