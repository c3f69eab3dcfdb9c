//! # huey-postgres
//!
//! The PostgreSQL storage for huey-rs, on sqlx. (Docs to follow.)

mod coordination;
mod dead_letters;
mod errors;
mod listener;
mod outbox;
mod queue;
mod results;
mod schedule;
mod schema;
mod settler;
mod storage;

pub use outbox::{EnqueueIn, Outbox, OutboxSink};
pub use schema::InvalidSchema;
pub use storage::{ConnectError, PostgresOptions, PostgresStorage};
