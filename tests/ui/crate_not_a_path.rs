use huey_core::prelude::*;

#[task(crate = 5)]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[on_shutdown(crate = huey_core::<u8>)]
fn stop() {}

fn main() {}
