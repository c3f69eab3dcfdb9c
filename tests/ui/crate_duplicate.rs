use huey_core::prelude::*;

#[task(crate = huey_core, retries = 1, crate = ::huey_core)]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[signal(complete, crate = huey_core, crate = huey_core)]
fn on_complete(signal: Signal, task: &Task) {
    let _ = (signal, task);
}

fn main() {}
