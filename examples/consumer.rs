//! The consumer binary to copy: `huey_cli::run_cli` gives it `huey_consumer`'s flags.
//!
//! ```text
//! HUEY_REDIS_URL=redis://127.0.0.1:6379/0 cargo run --example consumer -- -w 4 -k thread
//! HUEY_SQLITE=huey.db cargo run --example consumer -- -w 4     # one file, no server
//! ```

mod app {
    pub mod storage;
    pub mod tasks;
}

use huey_core::Huey;

// One runtime thread: async workers share it without cross-thread wake-ups (measurably faster
// and leaner); sync task bodies still run on the blocking pool, and `-k thread`/`-k process`
// give CPU-bound async work more threads or processes.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), huey_cli::Report> {
    // Only a task's final outcome is stored: a waiter never sees the error of an attempt that
    // will be retried.
    let huey = Huey::builder("example")
        .store_intermediate_errors(false)
        .build_shared(app::storage::storage().await?);
    huey_cli::run_cli(huey).await
}
