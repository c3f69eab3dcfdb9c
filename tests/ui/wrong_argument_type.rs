use huey_core::prelude::*;

#[task]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {
    let _call = add::call("one", 2);
}
