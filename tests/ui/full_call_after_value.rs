use huey_core::prelude::*;

#[task]
fn count(items: Vec<String>) -> usize {
    items.len()
}

#[task]
fn double(n: usize) -> usize {
    n * 2
}

fn main() {
    // A full call cannot take `count`'s value: it needs `double::partial()`.
    let _ = count::call(vec![]).then(double::call(2));
}
