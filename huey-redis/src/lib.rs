//! # huey-redis
//!
//! The Redis storage backend for huey-rs. **Not implemented yet**: this crate is a placeholder
//! in the workspace so that its API can land without reshaping the project; until it does, use
//! [`huey_core::MemoryStorage`].

pub use huey_core::Storage;
