use huey_core::prelude::*;

#[task(lock(ttl = "30s"))]
fn report() {}

fn main() {}
