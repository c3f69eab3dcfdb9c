use huey_core::prelude::*;

#[pre_execute]
fn check() {}

fn main() {}
