use huey_core::prelude::*;

#[closing_task]
fn report() {}

fn main() {}
