//! # huey-sqlite
//!
//! The SQLite storage for huey-rs: a durable queue in one file, with no server.
#![warn(missing_docs)]

#[macro_use]
mod db;
mod checkpoint;
mod coordination;
mod dead_letters;
mod errors;
mod options;
mod queue;
mod results;
mod revocation;
mod rows;
mod schedule;
mod schema;
mod settle;
mod settler;
mod shared;
mod storage;

pub use options::SqliteOptions;
pub use storage::SqliteStorage;
