//! The application's tasks, in a library of their own.

use huey::prelude::*;

/// Adds two numbers.
#[task(retries = 2)]
pub async fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Shouts.
#[task]
pub fn shout(text: String) -> String {
    text.to_uppercase()
}
