use huey_core::prelude::*;

#[pre_execute(retries = 1)]
fn before(task: &Task) {
    let _ = task;
}

#[signal(complete, name = "handler")]
fn on_complete(signal: Signal, task: &Task) {
    let _ = (signal, task);
}

fn main() {}
