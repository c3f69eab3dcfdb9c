use huey_core::prelude::*;

#[task(rate_limit(limit = 10, per = "0ms"))]
fn report() {}

fn main() {}
