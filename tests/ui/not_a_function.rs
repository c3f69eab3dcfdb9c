use huey_core::prelude::*;

#[task]
struct NotATask;

fn main() {}
