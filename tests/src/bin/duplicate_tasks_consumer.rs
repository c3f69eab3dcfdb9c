//! A consumer binary with two tasks registered under one name: it must say which and exit 1.

#[huey_core::task(name = "reports::build")]
fn build_report() {}

#[huey_core::task(name = "reports::build")]
fn build_summary() {}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), huey_cli::Report> {
    huey_cli::run_cli(huey_core::Huey::memory("twice")).await
}
