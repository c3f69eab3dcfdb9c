//! The benchmark consumer on PostgreSQL (`HUEY_BENCH_URL=postgres://…`), as
//! `huey-bench-consumer` is on Redis: a binary of its own, so that the Redis consumer, whose
//! memory W5 measures, links no SQL code.

huey_core::link_tasks!(huey_bench);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), huey_cli::Report> {
    let url = std::env::var("HUEY_BENCH_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let huey = huey_bench::connect_postgres(huey_core::Huey::builder("bench"), &url).await?;
    huey_cli::run_cli(huey).await
}
