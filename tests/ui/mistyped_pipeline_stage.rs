use huey_core::prelude::*;

#[task]
fn count(items: Vec<String>) -> usize {
    items.len()
}

#[task]
fn greet(greeting: String, name: String) -> String {
    format!("{greeting}, {name}")
}

fn main() {
    // `count` returns a `usize`, but `greet`'s last parameter is a `String`.
    let _ = count::call(vec![]).then(greet::partial("hello".to_owned()));
}
