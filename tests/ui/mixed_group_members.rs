use huey_core::group::group;
use huey_core::prelude::*;

#[task]
fn count(items: Vec<String>) -> usize {
    items.len()
}

#[task]
fn name(id: u64) -> String {
    format!("user-{id}")
}

fn main() {
    // Members of one group must produce the same type.
    let _ = group([count::call(vec![])]).push(name::call(7));
}
