use huey_core::prelude::*;

#[task(semaphore(name = "uploads", value = 0))]
fn upload() {}

fn main() {}
