use huey_core::prelude::*;

#[task(rate_limit(limit = 0, per = "1s"))]
fn report() {}

fn main() {}
