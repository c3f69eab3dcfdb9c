use huey_core::prelude::*;

#[task(rate_limit(limit = 10))]
fn report() {}

fn main() {}
