use huey_core::prelude::*;

#[task]
fn who(task: &Task) -> String {
    task.id().to_owned()
}

fn main() {}
