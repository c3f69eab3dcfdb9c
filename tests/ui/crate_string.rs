use huey_core::prelude::*;

#[task(crate = "huey_core")]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
