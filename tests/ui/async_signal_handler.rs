use huey_core::prelude::*;

#[signal(complete)]
async fn on_complete(signal: Signal, task: &Task) {
    let _ = (signal, task);
}

fn main() {}
