use huey_core::prelude::*;

#[task]
fn identity<T>(value: T) -> T {
    value
}

fn main() {}
