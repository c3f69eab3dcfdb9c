//! One binary, many commands: `app worker <consumer flags>` runs the consumer (its process
//! workers re-run `app worker ...`), `app add A B` and `app shout TEXT` enqueue and print the
//! result.

use std::time::Duration;

use clap::{Parser, Subcommand};
use huey::Huey;
use huey::redis::RedisStorage;

// The tasks live in another crate that nothing else here names: link it, so they register.
huey::link_tasks!(tasks);

#[derive(Parser)]
struct App {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the consumer (Huey's huey_consumer flags).
    Worker(huey::cli::Cli),
    /// Enqueues `add` and prints its result.
    Add { a: i64, b: i64 },
    /// Enqueues `shout` and prints its result.
    Shout { text: String },
}

const WAIT: Duration = Duration::from_secs(30);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), huey::cli::Report> {
    let huey = Huey::new("app", RedisStorage::from_env("app").await?);
    match App::parse().command {
        Command::Worker(cli) => huey::cli::run_cli_with(huey, cli).await?,
        Command::Add { a, b } => {
            let mut sum = tasks::add::enqueue(&huey, a, b).await?;
            println!("{}", sum.wait(WAIT).await?);
        }
        Command::Shout { text } => {
            let mut loud = tasks::shout::enqueue(&huey, text).await?;
            println!("{}", loud.wait(WAIT).await?);
        }
    }
    Ok(())
}
