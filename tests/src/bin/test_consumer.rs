//! A consumer process for the cross-process tests: `test_consumer URL NAME WORKERS`.
//! Runs the tasks of `huey_tests::tasks` until SIGINT or SIGTERM, then stops gracefully.

use huey_core::{Consumer, Huey};
use huey_redis::RedisStorage;
use tokio::signal::unix::{SignalKind, signal};

huey_core::link_tasks!(huey_tests);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(name), Some(workers)) = (args.next(), args.next(), args.next()) else {
        anyhow::bail!("usage: test_consumer URL NAME WORKERS");
    };
    let storage = RedisStorage::connect(&url).await?;
    let id = storage.consumer_id().to_owned();
    let huey = Huey::new(name, storage);
    let consumer = Consumer::builder(&huey).workers(workers.parse()?).start()?;
    println!("ready {id}");
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    consumer.shutdown().await?;
    Ok(())
}
