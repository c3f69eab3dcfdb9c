use huey_core::prelude::*;

#[periodic_task(crontab(minute = "*/5"))]
fn sweep(limit: u32) {
    let _ = limit;
}

fn main() {}
