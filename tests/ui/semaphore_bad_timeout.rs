use huey_core::prelude::*;

#[task(semaphore(name = "uploads", value = 5, timeout = "5 fortnights"))]
fn upload() {}

fn main() {}
