//! The macros' `crate = path` option. `huey_renamed_lib` depends on huey-core renamed to
//! `queue`, so its tasks and hooks compile only if the expansion uses the given path; here
//! they register and run like any other.

use std::sync::atomic::Ordering;
use std::time::Duration;

use huey_core::{Consumer, Executed, Huey, Registry, WorkerState};
use huey_renamed_lib as lib;

async fn run(h: &Huey) -> Option<Executed> {
    h.run_next(&WorkerState::default()).await.unwrap()
}

#[tokio::test]
async fn test_task_and_hooks_run_through_the_renamed_crate() {
    let h = Huey::memory("renamed-plain");
    let mut r = lib::shout::enqueue(&h, "quiet".to_owned()).await.unwrap();
    assert_eq!(run(&h).await, Some(Executed::Completed));
    assert_eq!(r.get().await.unwrap(), Some("QUIET".to_owned()));
    assert_eq!(
        lib::events(r.id()),
        ["pre", "post:\"QUIET\"", "signal:complete"],
        "pre_execute, signal and post_execute declared with `crate = queue` all ran"
    );
}

#[tokio::test]
async fn test_options_and_wrappers_through_the_renamed_crate() {
    let h = Huey::memory("renamed-options");
    let mut me = lib::whoami::enqueue(&h).await.unwrap();
    let mut resource = lib::with_resource::enqueue(&h, 1).await.unwrap();
    let mut context = lib::in_context::enqueue(&h, 5).await.unwrap();
    for _ in 0..3 {
        assert_eq!(run(&h).await, Some(Executed::Completed));
    }
    assert_eq!(
        me.get().await.unwrap(),
        Some("huey_renamed_lib::whoami".to_owned())
    );
    assert_eq!(
        resource.get().await.unwrap(),
        Some(2),
        "opened once, plus 1"
    );
    assert_eq!(context.get().await.unwrap(), Some(15), "entered 10, plus 5");

    let registry = Registry::global().unwrap();
    let whoami = registry.get(lib::whoami::NAME).expect("registered");
    assert_eq!(whoami.options.retries, 1);
    let nightly = registry.get(lib::nightly::NAME).expect("registered");
    assert!(
        nightly.periodic.is_some(),
        "periodic through `crate = ::queue`"
    );
}

#[tokio::test]
async fn test_worker_hooks_run_through_the_renamed_crate() {
    let h = Huey::memory("renamed-workers");
    let consumer = Consumer::builder(&h).workers(1).start().unwrap();
    let mut r = lib::shout::enqueue(&h, "up".to_owned()).await.unwrap();
    assert_eq!(
        r.wait(Duration::from_secs(10)).await.unwrap(),
        "UP".to_owned()
    );
    consumer.shutdown().await.unwrap();
    assert!(lib::STARTUPS.load(Ordering::SeqCst) >= 1);
    assert!(lib::SHUTDOWNS.load(Ordering::SeqCst) >= 1);
}
