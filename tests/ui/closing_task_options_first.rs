use huey_core::prelude::*;

#[closing_task(crate = huey_core)]
fn report() {}

fn main() {}
