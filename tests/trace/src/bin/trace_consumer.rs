//! The consumer of the trace tests: `huey_cli::run_cli` over the tasks of `huey_tests::tasks`
//! on the Redis at `HUEY_REDIS_URL`, queue `HUEY_TEST_NAME`, as `test_consumer` is, with an
//! OpenTelemetry pipeline that records spans in memory (and logs to stderr at `info`). It
//! prints `ready <consumer id>` first, and writes the finished spans as JSON to the file
//! `HUEY_TEST_SPANS` names when it stops gracefully; a process worker, to that name with
//! `.worker-<id>` appended.

use huey_core::{Huey, HueyError};
use huey_redis::RedisStorage;
use huey_trace_tests::spans::SpanRecorder;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

huey_core::link_tasks!(huey_tests);

/// An environment variable the tests set.
fn setting(name: &str) -> Result<String, HueyError> {
    std::env::var(name).map_err(|_| HueyError::Configuration(format!("{name} is not set")))
}

#[tokio::main]
async fn main() -> Result<(), huey_cli::Report> {
    let name = setting("HUEY_TEST_NAME")?;
    // A process worker (a child re-running this binary) writes a file of its own beside it.
    let worker = std::env::var("HUEY_CONSUMER_WORKER").ok();
    let spans = match &worker {
        None => setting("HUEY_TEST_SPANS")?,
        Some(id) => format!("{}.worker-{id}", setting("HUEY_TEST_SPANS")?),
    };
    let spans = std::path::PathBuf::from(spans);
    // Installed before run_cli, which keeps a subscriber it finds.
    let recorder = SpanRecorder::new();
    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    tracing_subscriber::registry()
        .with(recorder.layer())
        .with(log)
        .init();
    let storage = RedisStorage::connect(&name, &setting("HUEY_REDIS_URL")?).await?;
    if worker.is_none() {
        println!("ready {}", storage.consumer_id());
    }
    huey_cli::run_cli(Huey::builder(name).build(storage)).await?;
    recorder
        .write(&spans)
        .map_err(|e| HueyError::Configuration(format!("write {}: {e}", spans.display())))?;
    Ok(())
}
