use huey_core::prelude::*;

#[periodic_task(crontab(minute = "61"))]
fn every_hour() {}

fn main() {}
