use huey_core::prelude::*;

struct Opaque;

#[task]
fn consume(value: Opaque) {
    let _ = value;
}

fn main() {}
