use huey_core::prelude::*;
use std::sync::LazyLock;

struct Settings {
    url: String,
}

// Dereferences to a type that is not a resource.
static SETTINGS: LazyLock<Settings> = LazyLock::new(|| Settings { url: String::new() });

#[closing_task(SETTINGS)]
fn report() {}

fn main() {
    let _ = &SETTINGS.url;
}
