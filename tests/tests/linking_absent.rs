//! The control for `linking.rs`: `huey_task_lib` is a dependency of this test binary too, but
//! nothing refers to it, so the linker drops it and its task is not registered. This is the
//! rule `link_tasks!` exists for.

use huey_core::{Consumer, Huey, HueyError, Registry, RegistryError};

#[test]
fn test_unreferenced_library_registers_nothing() {
    let registry = Registry::global().unwrap();
    assert!(registry.get("task_lib::reverse").is_none());
    assert!(registry.is_empty());
}

#[tokio::test]
async fn test_consumer_refuses_to_start_with_no_tasks() {
    let huey = Huey::memory("empty");
    match Consumer::builder(&huey).start() {
        Err(HueyError::Registry(RegistryError::Empty)) => {}
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a consumer started with no task registered"),
    }
    let message = RegistryError::Empty.to_string();
    assert!(message.contains("link_tasks!"), "{message}");
}
