//! The benchmark consumer, written as the README's "The consumer binary" shows a user's: the
//! task crate linked, the queue built, `run_cli` (`huey-bench-consumer -w 8 -k async -q`).

huey_core::link_tasks!(huey_bench);

// As the consumer example: async workers on one runtime thread.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), huey_cli::Report> {
    let huey = huey_bench::connect(huey_core::Huey::builder("bench")).await?;
    huey_cli::run_cli(huey).await
}
