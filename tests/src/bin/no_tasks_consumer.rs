//! A consumer binary that forgets to link the crate defining its tasks (the `tests` crate's
//! own tasks are not referenced, so the linker drops them): it must say so and exit 1.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), huey_cli::Report> {
    huey_cli::run_cli(huey_core::Huey::memory("forgot")).await
}
