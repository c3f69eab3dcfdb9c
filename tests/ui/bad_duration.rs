use huey_core::prelude::*;

#[task(retry_delay = "2 fortnights")]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
