use huey_core::prelude::*;

struct Timer;

static TIMER: Timer = Timer;

#[context_task(TIMER)]
async fn timed() {}

fn main() {}
