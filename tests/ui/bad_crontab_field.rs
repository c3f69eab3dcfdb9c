use huey_core::prelude::*;

#[periodic_task(crontab(minutes = "*/5"))]
fn sweep() {}

fn main() {}
