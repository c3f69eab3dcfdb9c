use huey_core::prelude::*;

#[task(semaphore(value = 5, timeout = "1m"))]
fn upload() {}

fn main() {}
