use huey_core::prelude::*;

#[task(lock(name = "reports", timeout = "30s"))]
fn report() {}

fn main() {}
