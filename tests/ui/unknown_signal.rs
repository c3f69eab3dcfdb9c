use huey_core::prelude::*;

#[signal(completed)]
fn on_complete(signal: Signal, task: &Task) {
    let _ = (signal, task);
}

fn main() {}
