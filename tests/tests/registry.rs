//! Huey's `test_registry.py`: two tasks with one name fail at start-up with an error naming
//! both. This binary registers a duplicate on purpose, so it holds only these tests.

use huey_core::prelude::*;
use huey_core::{Registry, RegistryError};

mod billing {
    use huey_core::prelude::*;

    #[task(name = "shared::send")]
    pub fn send() {}
}

mod email {
    use huey_core::prelude::*;

    #[task(name = "shared::send")]
    pub fn send() {}
}

fn assert_names_both(error: &RegistryError) {
    match error {
        RegistryError::DuplicateName {
            name,
            first,
            second,
        } => {
            assert_eq!(name, "shared::send");
            let both = format!("{first} / {second}");
            assert!(both.contains("registry::billing::send"), "{both}");
            assert!(both.contains("registry::email::send"), "{both}");
        }
        other => panic!("expected a duplicate-name error, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("#[task(name = \"...\")]"), "{message}");
}

#[test]
fn test_register_unique() {
    assert_eq!(billing::send::NAME, email::send::NAME);
    let error = Registry::global().unwrap_err();
    assert_names_both(&error);
}

#[tokio::test]
async fn test_consumer_refuses_to_start_with_duplicate_names() {
    let huey = Huey::memory("duplicates");
    match Consumer::builder(&huey).start() {
        Err(HueyError::Registry(error)) => assert_names_both(&error),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("the consumer started with a duplicate task name"),
    }
}
