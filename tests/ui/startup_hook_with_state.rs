use huey_core::prelude::*;

struct Db;

#[on_startup]
fn warm(db: State<Db>) {}

fn main() {}
