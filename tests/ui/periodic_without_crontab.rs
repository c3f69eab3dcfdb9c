use huey_core::prelude::*;

#[periodic_task(retries = 1)]
fn sweep() {}

fn main() {}
