use huey_core::prelude::*;

#[on_startup]
fn open(state: WorkerState) {
    let _ = state;
}

fn main() {}
