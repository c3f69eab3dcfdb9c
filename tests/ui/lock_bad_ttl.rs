use huey_core::prelude::*;

#[task(lock(name = "reports", ttl = "30 winks"))]
fn report() {}

fn main() {}
