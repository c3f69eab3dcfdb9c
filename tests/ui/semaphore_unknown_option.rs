use huey_core::prelude::*;

#[task(semaphore(name = "uploads", limit = 5))]
fn upload() {}

fn main() {}
