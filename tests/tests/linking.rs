//! A task defined in a library crate is registered when the binary links that crate.
//!
//! This test binary never calls into `huey_task_lib`; `link_tasks!` alone keeps it linked.
//! `linking_absent.rs` is the control: the same dependency without the macro registers nothing.

use huey_core::message::Message;
use huey_core::{Executed, Huey, Registry, WorkerState};

huey_core::link_tasks!(huey_task_lib);

#[tokio::test]
async fn test_library_task_is_registered_and_runs() {
    let registry = Registry::global().unwrap();
    let descriptor = registry
        .get("task_lib::reverse")
        .expect("linked by link_tasks!");
    assert!(descriptor.blocking, "a sync fn runs on the blocking pool");

    let huey = Huey::memory("linking");
    let message =
        Message::decode(br#"{"v":1,"id":"lib-1","name":"task_lib::reverse","args":["stressed"]}"#)
            .unwrap();
    huey.storage().enqueue(message.encode(), 0).await.unwrap();
    let ran = huey.run_next(&WorkerState::default()).await.unwrap();
    assert_eq!(ran, Some(Executed::Completed));
    let mut result = huey.result::<String>("lib-1");
    assert_eq!(result.get().await.unwrap(), Some("desserts".to_string()));
}
