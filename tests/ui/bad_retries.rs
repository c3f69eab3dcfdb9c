use huey_core::prelude::*;

#[task(retries = -1)]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
